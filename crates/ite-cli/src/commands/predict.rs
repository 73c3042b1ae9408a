//! `ite predict`: apply a saved model (from `ite fit` or `ite transfer`) to a CSV file and write
//! `[id,]mu0,mu1,ite` for every row, after the model's saved encoding (categorical levels,
//! imputation values; `crate::preprocess`).

use std::path::PathBuf;

use anyhow::{Result, bail};
use ite_core::{MISSING_HINT, MissingPolicy};
use serde_json::json;

use crate::args::{ColumnArgs, ReportArgs, parse_missing};
use crate::commands::fit::load_model;
use crate::output::{self, Ui};
use crate::preprocess;

/// Arguments of `ite predict`. The shared report and column flags get help texts true of
/// `predict`, which writes no summary.json and takes the model's covariates.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("quiet", |a| a.help("No progress and no notes (e.g. of dropped rows) on stderr")),
    mut_arg("covariates", |a| a.help(
        "Covariate columns of --data, comma-separated; they must be the model's covariates [default: every \
         column except treatment, outcome, mu0, mu1 and id, which must then be the model's covariates]"
    )),
)]
pub struct Args {
    /// The --out directory of `ite fit` or `ite transfer` (or a model directory with model.json).
    #[arg(long, value_name = "OUT")]
    pub model: PathBuf,
    /// Rows to predict (CSV with the model's covariates; treatment and outcome optional; mu0,
    /// mu1 used for PEHE when present).
    #[arg(long, value_name = "F.csv")]
    pub data: PathBuf,
    /// Output file, `[id,]mu0,mu1,ite` (written only when everything succeeded).
    #[arg(long, value_name = "FILE.csv")]
    pub out: PathBuf,
    /// Unused (predictions of a saved model are deterministic); accepted so that older scripts
    /// passing it still run.
    #[arg(long, default_value_t = 1, hide = true)]
    pub seed: u64,
    /// What a missing value in --data does [default: the model's --missing]: `error`, `drop`
    /// (the row is left out of the predictions; the others keep their order and ids, or their
    /// 1-based row numbers as ids when the file has no id column), or `impute` (the training
    /// means and levels saved with a model fitted with --missing impute).
    #[arg(long, value_name = "error|drop|impute", value_parser = parse_missing)]
    pub missing: Option<MissingPolicy>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

/// Why the mean predicted ITE of `ite predict` has no interval.
const PREDICT_NO_INTERVAL: &str = "no interval: the mean of one model's predictions carries neither outcome noise \
     nor fitting error (`ite fit` and `ite transfer` report AIPW intervals of the ATE, ATT and ATC)";

/// A missing-value error's hint with only what works for this model: without the imputation
/// values of a fit with --missing impute, gaps can only be dropped.
fn only_what_works(e: anyhow::Error, fitted: MissingPolicy) -> anyhow::Error {
    let message = format!("{e:#}");
    if fitted == MissingPolicy::Impute || !message.contains(MISSING_HINT) {
        return e;
    }
    anyhow::anyhow!(message.replace(
        MISSING_HINT,
        &format!(
            "rows with gaps can be left out (--missing drop); the model was fitted with --missing {}, so it has \
             no values to impute them with",
            fitted.name()
        )
    ))
}

/// Loads the model, predicts and writes the predictions file.
pub fn run(args: Args) -> Result<()> {
    output::check_out_file(&args.out, "--out")?;
    output::check_file_not_input(&args.out, "--out", &[("--data", &args.data), ("--model", &args.model)])?;
    output::guard_temps(&output::parent_of(&args.out));
    let ui = Ui::new("predict", &args.report);
    let (model, model_dir) = load_model(&args.model)?;
    let mut encoding = preprocess::load(&model_dir, model.feature_names())?;
    let fitted = encoding.missing;
    if let Some(missing) = args.missing {
        if missing == MissingPolicy::Impute && fitted != MissingPolicy::Impute {
            bail!(
                "--missing impute: the model was fitted with --missing {}, so it has no training values to fill \
                 gaps with; give --missing drop to leave out the rows with gaps, or refit the model with --missing \
                 impute",
                fitted.name()
            );
        }
        encoding = encoding.with_missing(missing).map_err(|e| anyhow::anyhow!("--missing: {e}"))?;
    }
    // The fit's --cluster column is not a covariate: set aside where the file still has it.
    let mut layout = args.columns.layout();
    layout.cluster = preprocess::saved_cluster(&model_dir)?;
    let (tab, rows) = preprocess::predict_rows(("--data", &args.data), &layout, &encoding, "the model")
        .map_err(|e| only_what_works(e, fitted))?;
    let files = [("--data", args.data.as_path(), rows)];
    preprocess::note_dropped(&ui, &encoding, &files);
    let phase = ui.phase(format!("predicting {} units", tab.x.n_rows()));
    let pred = model.predict(&tab.x).map_err(|e| anyhow::anyhow!("--data {}: {e}", args.data.display()))?;
    phase.done();
    let mut report = json!({
        "n_predicted": tab.x.n_rows(),
        "outcome_type": model.outcome_type().name(),
        "out": args.out.display().to_string(),
    });
    output::merge(&mut report, preprocess::json(&encoding, &files));
    output::merge(&mut report, output::plugin_summary(&pred, tab.truth.as_ref(), 0.95, PREDICT_NO_INTERVAL)?);
    output::write_predictions(&args.out, &pred, tab.ids.as_deref(), None)?;
    let human = [
        format!("predicted {} units", tab.x.n_rows()),
        output::plugin_line(&report),
        format!("wrote {}", args.out.display()),
    ];
    ui.report(&report, &human)
}

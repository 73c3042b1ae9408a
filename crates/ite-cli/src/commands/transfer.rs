//! `ite transfer`: fit (or load) a source model, adapt it to a target sample with a transfer
//! strategy, and write predictions, a summary with CITA and an ATE interval, and the models.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ite_core::{Covariates, Fit, IteModel, Seed, TransferInput, Truth};
use ite_eval::{BootstrapParams, ate_interval, effect_metrics};
use ite_nets::{FittedTarNet, TarNetParams};
use ite_transfer::{CitaParams, STRATEGY_NAMES, strategy_by_name, transfer_with_cita};
use serde_json::json;

use crate::args::ColumnArgs;

/// Arguments of `ite transfer`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The large source sample (CSV).
    #[arg(long, value_name = "SRC.csv")]
    pub source: PathBuf,
    /// The small target sample (CSV), with the same covariates as the source.
    #[arg(long, value_name = "TGT.csv")]
    pub target: PathBuf,
    /// Transfer strategy: source-only, target-only, fine-tune, freeze-representation, l2-sp,
    /// staged-alignment (the study's TL-TARNet), pooled.
    #[arg(long, default_value = "staged-alignment")]
    pub strategy: String,
    /// A source model saved by an earlier run (OUT/source_model), instead of training one.
    #[arg(long, value_name = "DIR")]
    pub source_model: Option<PathBuf>,
    /// The network trained on the source when no --source-model is given: `study` (the study's
    /// CFR-Wasserstein, α = 10, 20 epochs) or `ihdp` (the TARNet paper's IHDP configuration).
    #[arg(long, default_value = "study", value_parser = ["study", "ihdp"])]
    pub net: String,
    /// Rows to predict (CSV with the same covariates; treatment and outcome optional; mu0, mu1
    /// used for PEHE when present). Default: the target.
    #[arg(long, value_name = "P.csv")]
    pub predict: Option<PathBuf>,
    /// Root seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory, created only when everything succeeded.
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

/// Runs the transfer and writes OUT/{predictions.csv, summary.json, model/, source_model/}.
pub fn run(args: Args) -> Result<()> {
    if !STRATEGY_NAMES.contains(&args.strategy.as_str()) {
        bail!("--strategy: unknown strategy `{}`; valid strategies: {}", args.strategy, STRATEGY_NAMES.join(", "));
    }
    if args.out.is_file() {
        bail!("--out {}: is a file, expected a directory", args.out.display());
    }
    let say = |msg: &str| {
        if !args.quiet {
            eprintln!("[ite transfer] {msg}");
        }
    };
    let layout = args.columns.layout();
    let source = ite_core::read_csv(&args.source, &layout)?;
    let target = ite_core::read_csv(&args.target, &layout)?;
    source.require_both_arms(&format!("{} (source)", args.source.display()))?;
    target.require_both_arms(&format!("{} (target)", args.target.display()))?;
    source.x().check_same_columns(
        &format!("source {}", args.source.display()),
        target.x(),
        &format!("target {}", args.target.display()),
    )?;
    let seed = Seed::new(args.seed);

    let (source_model, trained_source) = match &args.source_model {
        Some(dir) => {
            let m = FittedTarNet::load(dir).with_context(|| format!("--source-model {}", dir.display()))?;
            m.check_features(source.x()).with_context(|| format!("--source-model {}", dir.display()))?;
            say(&format!("loaded source model from {}", dir.display()));
            (m, false)
        }
        None => {
            let params = if args.net == "ihdp" { TarNetParams::ihdp() } else { TarNetParams::study_source() };
            say(&format!("training the source model ({} net) on {} units", args.net, source.n()));
            (params.fit(&source, seed.stream("source"))?, true)
        }
    };

    let strategy = strategy_by_name(&args.strategy)?;
    say(&format!("adapting to {} target units with `{}`", target.n(), args.strategy));
    let input = TransferInput::new(&source_model, &source, &target)?;
    let outcome = transfer_with_cita(strategy.as_ref(), input, &CitaParams::default(), seed.stream("transfer"))?;

    let (x, truth, ids, t): (Covariates, Option<Truth>, Option<Vec<String>>, Vec<u8>) = match &args.predict {
        Some(p) => {
            let tab = ite_core::read_covariates_csv(p, &layout)?;
            source.x().check_same_columns(
                &format!("source {}", args.source.display()),
                &tab.x,
                &format!("--predict {}", p.display()),
            )?;
            let n = tab.x.n_rows();
            (tab.x, tab.truth, tab.ids, vec![0; n])
        }
        None => {
            (target.x().clone(), target.truth().cloned(), target.ids().map(<[String]>::to_vec), target.t().to_vec())
        }
    };
    let pred = outcome.model.predict(&x)?;
    let ite = pred.ite();
    let ci = ate_interval(&ite, &t, &BootstrapParams::default(), seed.stream("interval"))?;
    let mut summary = json!({
        "strategy": args.strategy,
        "cita": outcome.cita,
        "ate": { "estimate": ci.estimate, "lower": ci.lower, "upper": ci.upper, "level": ci.level },
        "n_source": source.n(),
        "n_target": target.n(),
        "n_predicted": x.n_rows(),
        "seed": args.seed,
    });
    if let Some(truth) = &truth {
        let m = effect_metrics(&pred, truth)?;
        summary["pehe"] = json!(m.pehe);
        summary["sqrt_pehe"] = json!(m.sqrt_pehe);
        summary["ate_bias"] = json!(m.ate_bias);
        summary["ate_true"] = json!(m.ate_true);
    }

    // Everything computed: only now does OUT appear.
    std::fs::create_dir_all(&args.out).with_context(|| format!("--out {}", args.out.display()))?;
    write_predictions(&args.out.join("predictions.csv"), &pred.mu0, &pred.mu1, &ite, ids.as_deref())?;
    ite_core::write_atomic(args.out.join("summary.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, &summary).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    outcome.model.save(args.out.join("model"))?;
    if trained_source {
        source_model.save(args.out.join("source_model"))?;
    }
    say(&format!(
        "ATE {:.4} [{:.4}, {:.4}], CITA {:.4}; wrote {}",
        ci.estimate,
        ci.lower,
        ci.upper,
        outcome.cita,
        args.out.display()
    ));
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// Writes `[id,]mu0,mu1,ite`, one row per unit, atomically.
fn write_predictions(path: &Path, mu0: &[f32], mu1: &[f32], ite: &[f32], ids: Option<&[String]>) -> Result<()> {
    ite_core::write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let mut header = vec!["mu0", "mu1", "ite"];
        if ids.is_some() {
            header.insert(0, "id");
        }
        csv.write_record(&header)?;
        for i in 0..mu0.len() {
            let mut row = vec![mu0[i].to_string(), mu1[i].to_string(), ite[i].to_string()];
            if let Some(ids) = ids {
                row.insert(0, ids[i].clone());
            }
            csv.write_record(&row)?;
        }
        csv.flush()
    })?;
    Ok(())
}

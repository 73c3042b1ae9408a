//! `ite describe`: read a CSV file with the project's validation and print what it holds, with
//! the overlap diagnostics of its arms (propensity quantiles per arm, the share of units outside
//! [0.05, 0.95], standardised mean differences, effective sample sizes) and their warnings; the
//! levels of `--categorical` columns and the rows `--missing` drops or imputes.

use std::path::PathBuf;

use anyhow::Result;
use ite_core::Seed;
use serde_json::json;

use crate::args::{ColumnArgs, EncodingArgs};
use crate::inference::{Clusters, Overlap, few_clusters_warning, repeated_ids_warning};
use crate::preprocess;

/// Arguments of `ite describe`. The shared column and encoding flags get help texts true of
/// `describe`, which saves no model, writes no file and predicts nothing.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("categorical", |a| a.help(
        "Categorical covariate columns, comma-separated: each is described as `ite fit` would encode it, \
         one-hot against its first level (levels sorted as text; the first is the reference and gets no \
         column, the others a 0/1 column `NAME=LEVEL`); the levels are listed. A text column not named here \
         is an error."
    )),
    mut_arg("missing", |a| a.help(
        "What a missing value (an empty field or `NA`) does: `error` stops; `drop` drops every row with a \
         missing treatment, outcome, covariate or --cluster label (counted in the description and noted on \
         stderr); `impute` describes the data as `ite fit --missing impute` would fit it: a covariate filled \
         with its mean (most frequent level when categorical) and a 0/1 column `NAME_missing` for each \
         covariate with a gap; rows missing the treatment, outcome or cluster label are then dropped."
    )),
    mut_arg("id", |a| a.help(
        "Identifier column (not a covariate; named in the description, and repeated ids are warned about) \
         [default: the column named `id` when the file has one and --covariates is not given; with \
         --covariates and no --id, no column is the id]"
    )),
)]
pub struct Args {
    /// The CSV file to check.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Column of cluster labels (households, schools, a person's repeated rows): not a covariate;
    /// the propensity model's folds keep a cluster together.
    #[arg(long, value_name = "COL")]
    pub cluster: Option<String>,
    /// Print the description as one JSON object on stdout (plain lines otherwise).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub encoding: EncodingArgs,
}

/// Reads and validates the file, estimates the propensity for the overlap diagnostics, then
/// prints a short description.
pub fn run(args: Args) -> Result<()> {
    let mut layout = args.columns.layout();
    layout.cluster.clone_from(&args.cluster);
    let (encoding, mut samples) = preprocess::read_samples(&[("--data", &args.data)], &layout, &args.encoding, None)?;
    let sample = samples.pop().ok_or_else(|| anyhow::anyhow!("--data: nothing read"))?;
    let clusters = Clusters::read(args.cluster.as_deref(), &sample.raw, &sample.rows.kept)?;
    let id_column = sample.raw.id_column().map(str::to_string);
    let data = sample.data;
    let files = [("--data", args.data.as_path(), sample.rows)];
    for note in preprocess::dropped_notes(&encoding, &files) {
        eprintln!("[ite describe] {note}");
    }
    let treated = data.n_treated();
    let overlap = if treated > 0 && treated < data.n() {
        Some(Overlap::estimate(data.x(), data.t(), clusters.as_ref(), Seed::new(1)))
    } else {
        None
    };
    let mut warnings = Vec::new();
    match &overlap {
        Some(Ok(o)) => warnings.extend(o.report.warnings()),
        Some(Err(e)) => warnings.push(format!("no overlap diagnostics: the propensity model failed: {e}")),
        None => warnings.push("one arm is empty: no effect can be estimated from this file".into()),
    }
    warnings.extend(repeated_ids_warning(data.ids(), clusters.as_ref()));
    warnings.extend(few_clusters_warning(data.t(), clusters.as_ref()));
    let overlap = overlap.and_then(Result::ok);
    if args.json {
        let mut v = json!({
            "file": args.data.display().to_string(),
            "n": data.n(),
            "n_treated": treated,
            "n_control": data.n() - treated,
            "covariates": data.feature_names(),
            "ate_true": data.truth().map(|t| t.ate()),
            "id_column": id_column,
            "clusters": clusters.as_ref().map(|c| c.count),
            "cluster_column": args.cluster,
            "overlap": overlap.as_ref().map(Overlap::json),
            "warnings": warnings,
        });
        crate::output::merge(&mut v, preprocess::json(&encoding, &files));
        outln!("{}", serde_json::to_string(&v)?)?;
        return Ok(());
    }
    outln!("file        {}", args.data.display())?;
    outln!("units       {}", data.n())?;
    outln!("treated     {treated} ({:.1}%)", 100.0 * data.treated_share())?;
    outln!("control     {}", data.n() - treated)?;
    outln!("covariates  {} [{}]", data.p(), data.feature_names().join(", "))?;
    for (column, levels) in encoding.levels() {
        outln!(
            "levels      `{column}`: {} (reference `{}`)",
            levels.join(", "),
            levels.first().map_or("", String::as_str)
        )?;
    }
    if !encoding.indicators().is_empty() {
        outln!(
            "imputed     {} (mean or most frequent level, with a NAME_missing column)",
            encoding.indicators().join(", ")
        )?;
    }
    if !files[0].2.dropped_lines.is_empty() {
        let n = files[0].2.dropped_lines.len();
        outln!("dropped     {n} row{} with a missing value", if n == 1 { "" } else { "s" })?;
    }
    match data.truth() {
        Some(tr) => outln!("truth       mu0, mu1 present; true ATE {:.4}", tr.ate())?,
        None => outln!("truth       none")?,
    }
    if let Some(id) = &id_column {
        outln!("ids         column `{id}`")?;
    }
    if let Some(c) = &clusters {
        outln!("clusters    {} in column `{}`", c.count, c.column)?;
    }
    for line in overlap.iter().flat_map(Overlap::lines) {
        outln!("{line}")?;
    }
    for w in &warnings {
        outln!("warning     {w}")?;
    }
    Ok(())
}

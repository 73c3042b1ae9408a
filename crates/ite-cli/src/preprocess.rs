//! The command-line side of categorical covariates and missing values: reads the training
//! files of `ite fit`, `ite transfer` and `ite describe` under one shared [`Encoding`]
//! (`ite_core::encoding` holds the rules), saves it beside a model as `encoding.json`, reads it
//! back for `ite predict`, and reports the rows `--missing drop` or `impute` left out.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use ite_core::{CausalData, CovariateTable, CsvLayout, Encoding, KeptRows, RawCsv};
use serde_json::{Value, json};

use crate::args::EncodingArgs;

/// The file beside a saved model that holds its encoding.
pub const ENCODING_FILE: &str = "encoding.json";

/// How many dropped lines a note and summary.json list.
const LINES_SHOWN: usize = 20;

/// One training file after encoding.
pub struct Sample {
    /// The file as read, for its cluster labels.
    pub raw: RawCsv,
    /// The kept rows, encoded.
    pub data: CausalData,
    /// Which rows were kept.
    pub rows: KeptRows,
}

/// Reads the training `files` (flag, path), fits one encoding on all of them — or adopts
/// `fixed` (an encoding and where it came from, e.g. a loaded source model's) — and encodes
/// each file with it. The covariates of every file must be the first file's (by name).
pub fn read_samples(
    files: &[(&'static str, &Path)],
    layout: &CsvLayout,
    args: &EncodingArgs,
    fixed: Option<(&Encoding, &str)>,
) -> Result<(Encoding, Vec<Sample>)> {
    let params = args.params()?;
    for (flag, path) in files {
        check_file(flag, path)?;
    }
    let raws: Vec<RawCsv> = files.iter().map(|(_, p)| RawCsv::read(p, layout, true)).collect::<Result<_, _>>()?;
    same_covariates(files, &raws)?;
    let (encoding, what) = match fixed {
        Some((enc, from)) => (adopt(enc, from, args)?, from.to_string()),
        None => {
            let refs: Vec<&RawCsv> = raws.iter().collect();
            let (flag, path) = files.first().ok_or_else(|| anyhow!("no training file"))?;
            (Encoding::fit(&refs, &params)?, format!("{flag} {}", path.display()))
        }
    };
    let mut samples = Vec::with_capacity(raws.len());
    for raw in raws {
        let encoded = encoding.encode_data(&raw, &what)?;
        let data = with_row_ids(encoded.data, &encoded.rows)?;
        samples.push(Sample { raw, data, rows: encoded.rows });
    }
    Ok((encoding, samples))
}

/// Errors unless every file has the first file's covariate columns (in any order); the message
/// names both files (`source S.csv`, `target T.csv`) and their columns.
fn same_covariates(files: &[(&'static str, &Path)], raws: &[RawCsv]) -> Result<()> {
    let (Some((flag, path)), Some(first)) = (files.first(), raws.first()) else { return Ok(()) };
    let names = first.covariate_names()?;
    for ((other_flag, other_path), raw) in files.iter().zip(raws).skip(1) {
        let other = raw.covariate_names()?;
        if other.len() != names.len() || other.iter().any(|c| !names.contains(c)) {
            let (a, b) = (flag.trim_start_matches('-'), other_flag.trim_start_matches('-'));
            let (a, b) = (format!("{a} {}", path.display()), format!("{b} {}", other_path.display()));
            bail!(
                "{a} and {b} covariates differ: {a} has {} [{}], {b} has {} [{}]",
                names.len(),
                names.join(", "),
                other.len(),
                other.join(", ")
            );
        }
    }
    Ok(())
}

/// A saved encoding under the user's flags: `--categorical`, when given, must name the same
/// columns; `--missing` replaces the policy (`impute` only when the encoding has fill values).
fn adopt(encoding: &Encoding, from: &str, args: &EncodingArgs) -> Result<Encoding> {
    let mut saved: Vec<&str> = encoding.levels().iter().map(|(c, _)| *c).collect();
    let mut given: Vec<&str> = args.categorical.iter().map(String::as_str).collect();
    saved.sort_unstable();
    given.sort_unstable();
    if !given.is_empty() && given != saved {
        bail!(
            "--categorical {}: {from} was fitted with categorical columns [{}]; give the same, or leave --categorical out",
            args.categorical.join(","),
            saved.join(",")
        );
    }
    encoding.with_missing(args.missing).map_err(|e| anyhow!("--missing: {e}"))
}

/// Errors, naming `flag`, unless `path` is a file that exists (a missing file's OS error
/// alone does not say which flag gave it).
pub fn check_file(flag: &str, path: &Path) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    let what = if path.is_dir() {
        "is a directory"
    } else if path.exists() {
        "is not a regular file"
    } else {
        "no such file"
    };
    anyhow::bail!("{flag} {}: {what}, expected a CSV file", path.display())
}

/// Rows to predict from `path` (given by `flag`), encoded as `encoding` says; `what` names
/// where the encoding came from in the messages.
pub fn predict_rows(
    (flag, path): (&str, &Path),
    layout: &CsvLayout,
    encoding: &Encoding,
    what: &str,
) -> Result<(CovariateTable, KeptRows)> {
    check_file(flag, path)?;
    let raw = RawCsv::read(path, layout, false)?;
    let encoded = encoding.encode_covariates(&raw, what)?;
    let mut table = encoded.table;
    if table.ids.is_none() && !encoded.rows.dropped_lines.is_empty() {
        table.ids = Some(row_numbers(&encoded.rows));
    }
    Ok((table, encoded.rows))
}

/// With rows dropped and no id column, the 1-based data-row numbers of the kept rows serve as
/// ids, so that predictions say which input rows they are.
fn row_numbers(rows: &KeptRows) -> Vec<String> {
    rows.kept.iter().map(|i| (i + 1).to_string()).collect()
}

/// `data` with row numbers as ids when rows were dropped and the file has no id column.
fn with_row_ids(data: CausalData, rows: &KeptRows) -> Result<CausalData> {
    if data.ids().is_some() || rows.dropped_lines.is_empty() {
        return Ok(data);
    }
    let ids = Some(row_numbers(rows));
    Ok(CausalData::from_parts(data.x().clone(), data.t().to_vec(), data.y().to_vec(), data.truth().cloned(), ids)?)
}

/// Writes `dir/encoding.json`, with the fit's `--cluster` column (`cluster`), which is not a
/// covariate: `ite predict` then sets that column aside in a file that still has it.
pub fn save(dir: &Path, encoding: &Encoding, cluster: Option<&str>) -> Result<()> {
    let mut value = serde_json::to_value(encoding)?;
    if let (Some(c), Some(map)) = (cluster, value.as_object_mut()) {
        map.insert("cluster".into(), c.into());
    }
    crate::output::write_json(&dir.join(ENCODING_FILE), &value)
}

/// The `--cluster` column of the fit that saved the model in `model_dir` (see [`save`]).
pub fn saved_cluster(model_dir: &Path) -> Result<Option<String>> {
    let Some((text, path)) = read_saved(model_dir)? else { return Ok(None) };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: malformed encoding: {e}", path.display()))?;
    Ok(value["cluster"].as_str().map(str::to_string))
}

/// The text of `model_dir/encoding.json`, with its path for messages; `None` when there is none.
fn read_saved(model_dir: &Path) -> Result<Option<(String, std::path::PathBuf)>> {
    let path = model_dir.join(ENCODING_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(Some((text, path)))
}

/// The encoding saved beside the model in `model_dir`, checked against the model's features;
/// a model saved without one gets [`Encoding::identity`] of its features.
pub fn load(model_dir: &Path, features: &[String]) -> Result<Encoding> {
    let path = model_dir.join(ENCODING_FILE);
    let Some(encoding) = load_saved(model_dir)? else {
        return Ok(Encoding::identity(features));
    };
    if encoding.feature_names() != features {
        bail!(
            "{}: the encoding makes features [{}] but the model has [{}]",
            path.display(),
            encoding.feature_names().join(", "),
            features.join(", ")
        );
    }
    Ok(encoding)
}

/// The encoding saved in `model_dir`, validated; `None` when there is none.
pub fn load_saved(model_dir: &Path) -> Result<Option<Encoding>> {
    let Some((text, path)) = read_saved(model_dir)? else { return Ok(None) };
    let encoding: Encoding =
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: malformed encoding: {e}", path.display()))?;
    encoding.validate().map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(Some(encoding))
}

/// summary.json's `rows_dropped` (all files together) and `preprocessing`: the policy, the
/// categorical columns' levels (the first is the reference), the indicator columns, and the
/// dropped rows of each file (count and first lines).
pub fn json(encoding: &Encoding, files: &[(&str, &Path, KeptRows)]) -> Value {
    let levels: serde_json::Map<String, Value> =
        encoding.levels().into_iter().map(|(c, l)| (c.to_string(), json!(l))).collect();
    let dropped: serde_json::Map<String, Value> = files
        .iter()
        .map(|(flag, _, rows)| {
            let lines: Vec<u64> = rows.dropped_lines.iter().take(LINES_SHOWN).copied().collect();
            (flag.to_string(), json!({ "rows_read": rows.kept.len() + rows.dropped_lines.len(), "rows_dropped": rows.dropped_lines.len(), "lines": lines }))
        })
        .collect();
    json!({
        "rows_dropped": files.iter().map(|(.., r)| r.dropped_lines.len()).sum::<usize>(),
        "preprocessing": {
            "missing": encoding.missing.name(),
            "categorical": levels,
            "missing_indicators": encoding.indicators(),
            "files": dropped,
        },
    })
}

/// Each line of [`dropped_notes`] as a note on stderr (unless `--quiet`).
pub fn note_dropped(ui: &crate::output::Ui, encoding: &Encoding, files: &[(&str, &Path, KeptRows)]) {
    for note in dropped_notes(encoding, files) {
        ui.note(&note);
    }
}

/// One line per file that lost rows: how many, of how many, and the first lines.
pub fn dropped_notes(encoding: &Encoding, files: &[(&str, &Path, KeptRows)]) -> Vec<String> {
    files
        .iter()
        .filter(|(.., rows)| !rows.dropped_lines.is_empty())
        .map(|(flag, path, rows)| {
            let n = rows.dropped_lines.len();
            let shown: Vec<String> = rows.dropped_lines.iter().take(LINES_SHOWN).map(u64::to_string).collect();
            let more = if n > LINES_SHOWN { ", …" } else { "" };
            format!(
                "{flag} {}: dropped {n} of {} rows with a missing value (--missing {}), {} {}{more}",
                path.display(),
                n + rows.kept.len(),
                encoding.missing.name(),
                if n == 1 { "line" } else { "lines" },
                shown.join(", ")
            )
        })
        .collect()
}

/// The plain lines about the encoding: each categorical column's levels, and the imputed
/// columns.
pub fn lines(encoding: &Encoding) -> Vec<String> {
    let mut out: Vec<String> = encoding
        .levels()
        .into_iter()
        .map(|(c, l)| {
            format!("levels of `{c}`: {} (reference `{}`)", l.join(", "), l.first().map_or("", |s| s.as_str()))
        })
        .collect();
    let ind = encoding.indicators();
    if !ind.is_empty() {
        out.push(format!("imputed (with a NAME_missing column): {}", ind.join(", ")));
    }
    out
}

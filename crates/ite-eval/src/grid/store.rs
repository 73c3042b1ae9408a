//! A grid's output directory: `run.json` (the run's parameters), `results.csv` (appended one
//! row per finished task, repaired and resumed after an interruption), `summary.csv` (per cell
//! and method), and merging shards' directories into one.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::EvalError;
use crate::grid::experiment::GridSpec;
use crate::grid::lock::GridLock;
use crate::grid::selection::write_selection_outputs;
use crate::grid::shard::Shard;
use crate::results::{ResultRow, TaskKey, read_results, row_line, write_results_to};
use crate::summary::Summary;

/// File names inside an output directory.
pub const RUN_FILE: &str = "run.json";
/// Results, one row per finished task.
pub const RESULTS_FILE: &str = "results.csv";
/// Summaries per cell and method.
pub const SUMMARY_FILE: &str = "summary.csv";

/// What `run.json` records: everything that decides a run's rows. A run resumes only into a
/// directory whose `run.json` is equal; shards merge only when equal but for `shard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// Root seed.
    pub seed: u64,
    /// Whether the grid is the quick one (a label; `grid` is what counts).
    pub quick: bool,
    /// The grid, with its methods, replications and test set.
    pub grid: GridSpec,
    /// The share of the grid this directory holds (`0/1` = all of it).
    pub shard: Shard,
    /// The `ite` version that wrote the directory.
    pub version: String,
    /// What a reader must know about the run's protocol (`crate::grid::Protocol::warning`):
    /// absent for the `clean` protocol; a label, like `version` (`grid.protocol` is what counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> EvalError {
    EvalError::GridFile { path: path.display().to_string(), message: e.to_string() }
}

fn mismatch(path: &Path, message: String) -> EvalError {
    EvalError::GridMismatch { path: path.display().to_string(), message }
}

impl RunManifest {
    /// Reads `dir/run.json`; `Ok(None)` when it does not exist.
    pub fn read(dir: &Path) -> Result<Option<RunManifest>, EvalError> {
        let path = dir.join(RUN_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| file_err(&path, format!("not a run description: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(file_err(&path, e)),
        }
    }

    /// Writes `dir/run.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<(), EvalError> {
        ite_core::write_atomic(dir.join(RUN_FILE), |w| {
            serde_json::to_writer_pretty(&mut *w, self).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        })?;
        Ok(())
    }

    /// The fields in which `self` and `other` differ (by top-level and grid field name).
    pub fn differences(&self, other: &RunManifest, ignore_shard: bool) -> Vec<String> {
        let (a, b) = (serde_json::to_value(self).ok(), serde_json::to_value(other).ok());
        let (Some(serde_json::Value::Object(a)), Some(serde_json::Value::Object(b))) = (a, b) else {
            return vec!["(unreadable)".into()];
        };
        let mut out = Vec::new();
        for (k, va) in &a {
            if (ignore_shard && k == "shard") || k == "version" || k == "warning" {
                continue;
            }
            let vb = b.get(k).cloned().unwrap_or(serde_json::Value::Null);
            match (va, &vb) {
                (serde_json::Value::Object(ga), serde_json::Value::Object(gb)) => {
                    for (gk, gva) in ga {
                        let gvb = gb.get(gk).cloned().unwrap_or(serde_json::Value::Null);
                        if *gva != gvb {
                            out.push(format!("{k}.{gk}: {gva} vs {gvb}"));
                        }
                    }
                }
                _ if *va != vb => out.push(format!("{k}: {va} vs {vb}")),
                _ => {}
            }
        }
        out
    }
}

/// Whether two rows of the same task agree in every value, the wall-clock fields
/// (`fit_seconds`, `aipw_seconds`, `selection_seconds`) aside.
pub fn same_measurements(a: &ResultRow, b: &ResultRow) -> bool {
    a.without_timings() == b.without_timings()
}

/// Sorts rows by task key (the order of a finished `results.csv`).
pub fn sort_rows(rows: &mut [ResultRow]) {
    rows.sort_by_cached_key(ResultRow::key);
}

/// Writes `rows` sorted by task key to `path`, atomically.
pub fn write_sorted_results(path: &Path, rows: &[ResultRow]) -> Result<(), EvalError> {
    let mut rows = rows.to_vec();
    sort_rows(&mut rows);
    ite_core::write_atomic(path, |w| write_results_to(w, &rows))?;
    Ok(())
}

/// `results.csv` opened for appending, shared by worker threads.
#[derive(Debug)]
pub struct ResultsFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl ResultsFile {
    /// Opens `path` for a (possibly resumed) run: reads the finished rows (a torn last line is
    /// dropped, a task written twice is kept once), rewrites the file without the torn tail, and
    /// opens it for appending. A new file gets the header.
    pub fn open(path: &Path) -> Result<(ResultsFile, Vec<ResultRow>), EvalError> {
        let rows = read_results(path)?;
        let mut seen = std::collections::HashSet::new();
        let mut unique = Vec::with_capacity(rows.len());
        for r in rows {
            if seen.insert(r.key()) {
                unique.push(r);
            }
        }
        // Rewrite whole (header + complete rows): drops a torn tail, creates a new file.
        ite_core::write_atomic(path, |w| write_results_to(w, &unique))?;
        let file = OpenOptions::new().append(true).open(path).map_err(|e| file_err(path, e))?;
        Ok((ResultsFile { path: path.to_path_buf(), file: Mutex::new(file) }, unique))
    }

    /// Appends one row and flushes it, so a finished task survives a kill.
    pub fn append(&self, row: &ResultRow) -> Result<(), EvalError> {
        let line = row_line(row).map_err(|e| file_err(&self.path, e))?;
        let mut f = self.file.lock().map_err(|_| file_err(&self.path, "a writer thread panicked"))?;
        f.write_all(&line).and_then(|_| f.flush()).map_err(|e| file_err(&self.path, e))
    }
}

/// One line of `summary.csv`: a metric family summarised over replications for one cell and
/// method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// `sim1` or `sim2`.
    pub experiment: String,
    /// Source sample size.
    pub source_n: usize,
    /// Target sample size.
    pub target_n: usize,
    /// Target assignment.
    pub assignment: String,
    /// Shift kind.
    pub shift: String,
    /// Shift level.
    pub level: f64,
    /// Method.
    pub method: String,
    /// Replications summarised.
    pub count: usize,
    /// Mean ε_PEHE (mean square).
    pub pehe_mean: f64,
    /// Standard error of the mean ε_PEHE.
    pub pehe_se: f64,
    /// Median ε_PEHE.
    pub pehe_median: f64,
    /// Mean ATE bias.
    pub ate_bias_mean: f64,
    /// Standard error of the mean ATE bias.
    pub ate_bias_se: f64,
    /// Mean of the true ATE on the test units.
    pub ate_true_mean: f64,
    /// Mean over replications of mean(τ̂).
    pub ite_mean_mean: f64,
    /// Its standard error.
    pub ite_mean_se: f64,
    /// Mean over replications of sd(τ̂).
    pub ite_sd_mean: f64,
    /// Its standard error.
    pub ite_sd_se: f64,
    /// Mean CITA (empty for methods without a source).
    pub cita_mean: Option<f64>,
    /// Share of replications whose AIPW interval holds the target's sample ATE (mean of
    /// `ate_covers`; a replication without an interval counts as not covering). Empty without
    /// intervals.
    pub coverage: Option<f64>,
    /// Mean width `ate_upper − ate_lower` of the AIPW intervals (over replications that have
    /// one; outcome units). Empty without intervals.
    pub ci_width_mean: Option<f64>,
}

/// Summaries per (cell, method), in task-key order. Each is computed over its rows sorted by
/// task key (replication), whatever the order of `rows`, so that a run with any number of jobs,
/// a resumed run and a merge of shards write byte-identical summaries.
pub fn summarize(rows: &[ResultRow]) -> Vec<SummaryRow> {
    let mut sorted: Vec<(TaskKey, &ResultRow)> = rows.iter().map(|r| (r.key(), r)).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut by_cell: BTreeMap<TaskKey, Vec<&ResultRow>> = BTreeMap::new();
    for (key, r) in sorted {
        by_cell.entry(TaskKey { replication: 0, ..key }).or_default().push(r);
    }
    let of =
        |v: Vec<f64>| Summary::of(&v).unwrap_or(Summary { count: 0, mean: f64::NAN, se: f64::NAN, median: f64::NAN });
    by_cell
        .into_values()
        .map(|rs| {
            let get = |f: fn(&ResultRow) -> f64| of(rs.iter().map(|r| f(r)).collect());
            let (pehe, bias, truth, mean, sd) =
                (get(|r| r.pehe), get(|r| r.ate_bias), get(|r| r.ate_true), get(|r| r.ite_mean), get(|r| r.ite_sd));
            let citas: Vec<f64> = rs.iter().filter_map(|r| r.cita).collect();
            let covers: Vec<f64> = rs.iter().filter_map(|r| r.ate_covers.map(f64::from)).collect();
            let widths: Vec<f64> = rs.iter().filter_map(|r| Some(r.ate_upper? - r.ate_lower?)).collect();
            let r0 = rs[0];
            SummaryRow {
                experiment: r0.experiment.clone(),
                source_n: r0.source_n,
                target_n: r0.target_n,
                assignment: r0.assignment.clone(),
                shift: r0.shift.clone(),
                level: r0.level,
                method: r0.method.clone(),
                count: rs.len(),
                pehe_mean: pehe.mean,
                pehe_se: pehe.se,
                pehe_median: pehe.median,
                ate_bias_mean: bias.mean,
                ate_bias_se: bias.se,
                ate_true_mean: truth.mean,
                ite_mean_mean: mean.mean,
                ite_mean_se: mean.se,
                ite_sd_mean: sd.mean,
                ite_sd_se: sd.se,
                cita_mean: Summary::of(&citas).map(|s| s.mean),
                coverage: Summary::of(&covers).map(|s| s.mean),
                ci_width_mean: Summary::of(&widths).map(|s| s.mean),
            }
        })
        .collect()
}

/// Writes `summary.csv` for `rows`, atomically.
pub fn write_summary(path: &Path, rows: &[ResultRow]) -> Result<Vec<SummaryRow>, EvalError> {
    let summary = summarize(rows);
    ite_core::write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        for s in &summary {
            csv.serialize(s).map_err(std::io::Error::other)?;
        }
        csv.flush()
    })?;
    Ok(summary)
}

/// What [`merge_runs`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeReport {
    /// The merged rows, sorted by task key.
    pub rows: Vec<ResultRow>,
    /// The merged run's parameters (shard `0/1`).
    pub manifest: RunManifest,
    /// Tasks of the grid that no input holds (0 when the shards cover the grid).
    pub missing: usize,
    /// Rows the output directory held before that no input holds (kept).
    pub kept: usize,
}

type Merged = BTreeMap<TaskKey, (ResultRow, PathBuf)>;

/// Adds the rows of `dir/results.csv` to `merged`; a task already there must have the same
/// values. Returns how many rows were new.
fn add_rows(merged: &mut Merged, dir: &Path) -> Result<usize, EvalError> {
    let mut added = 0;
    for row in read_results(&dir.join(RESULTS_FILE))? {
        match merged.get(&row.key()) {
            Some((prev, prev_dir)) if !same_measurements(prev, &row) => {
                return Err(mismatch(
                    &dir.join(RESULTS_FILE),
                    format!(
                        "task {} {} target_n={} {} {} level={} rep {} has other values than in {}",
                        row.method,
                        row.source_n,
                        row.target_n,
                        row.assignment,
                        row.shift,
                        row.level,
                        row.replication,
                        prev_dir.display()
                    ),
                ));
            }
            Some(_) => {}
            None => {
                merged.insert(row.key(), (row, dir.to_path_buf()));
                added += 1;
            }
        }
    }
    Ok(added)
}

/// Refuses an output directory that is one of the inputs (compared as canonical paths).
fn check_out_apart(inputs: &[PathBuf], out: &Path) -> Result<(), EvalError> {
    if out.is_file() {
        return Err(file_err(out, "is a file; expected an output directory"));
    }
    let Ok(out_c) = out.canonicalize() else { return Ok(()) };
    match inputs.iter().find(|d| d.canonicalize().is_ok_and(|c| c == out_c)) {
        Some(d) => Err(mismatch(
            out,
            format!("is the input directory {}: the output must differ from the inputs", d.display()),
        )),
        None => Ok(()),
    }
}

/// Reads the inputs' parameters and rows (each under a shared lock, so that none is a grid still
/// running).
fn read_inputs(inputs: &[PathBuf]) -> Result<(RunManifest, Merged), EvalError> {
    let Some(first_dir) = inputs.first() else {
        return Err(EvalError::Empty("directories to merge".into()));
    };
    let mut manifest: Option<RunManifest> = None;
    let mut merged = Merged::new();
    let mut locks = Vec::with_capacity(inputs.len());
    for dir in inputs {
        locks.push(GridLock::shared(dir)?);
        let m = RunManifest::read(dir)?
            .ok_or_else(|| mismatch(dir, format!("no {RUN_FILE}: not an output directory of `ite reproduce`")))?;
        if let Some(m0) = &manifest {
            let diff = m0.differences(&m, true);
            if !diff.is_empty() {
                return Err(mismatch(
                    dir,
                    format!("run parameters differ from {}'s: {}", first_dir.display(), diff.join("; ")),
                ));
            }
        } else {
            manifest = Some(m);
        }
        add_rows(&mut merged, dir)?;
    }
    let mut manifest = manifest.ok_or_else(|| EvalError::Empty("directories to merge".into()))?;
    manifest.shard = Shard::WHOLE;
    Ok((manifest, merged))
}

/// Merges the output directories of shards (or of any runs of the same grid) into `out`:
/// `run.json` (shard `0/1`), `results.csv` sorted by task key, `summary.csv` (and, for a grid with
/// selection methods, `selection.csv` and `cita.csv`). The rows equal,
/// row for row, those of one run of the whole grid (`fit_seconds` aside).
///
/// `out` is locked for the merge ([`GridLock`]) and each input while it is read, so a merge
/// is refused ([`EvalError::GridBusy`]) while a grid runs in an input or in `out`. An `out` that
/// already holds a merge or a whole run of the same grid keeps its rows: they are merged with
/// the inputs' (the same task with other values is refused), never dropped.
///
/// Errors when an input lacks `run.json`, when the inputs' parameters differ (shard aside), when
/// two inputs hold the same task with different values, when a row lies outside the grid, when
/// `out` is an input, or when `out` holds another run or results without a `run.json`.
pub fn merge_runs(inputs: &[PathBuf], out: &Path) -> Result<MergeReport, EvalError> {
    check_out_apart(inputs, out)?;
    let (manifest, mut merged) = read_inputs(inputs)?;
    std::fs::create_dir_all(out).map_err(|e| file_err(out, e))?;
    let _lock = GridLock::exclusive(out, "a merge")?;
    let kept = match RunManifest::read(out)? {
        Some(existing) => {
            let diff = existing.differences(&manifest, false);
            if !diff.is_empty() {
                return Err(mismatch(out, format!("already holds another run: {}", diff.join("; "))));
            }
            add_rows(&mut merged, out)?
        }
        None if out.join(RESULTS_FILE).exists() || out.join(SUMMARY_FILE).exists() => {
            return Err(mismatch(out, format!("holds results but no {RUN_FILE}; choose another --out")));
        }
        None => 0,
    };
    let keys: std::collections::HashSet<TaskKey> = manifest.grid.task_keys()?.into_iter().collect();
    if let Some((k, (_, dir))) = merged.iter().find(|(k, _)| !keys.contains(k)) {
        return Err(mismatch(dir, format!("a row outside the grid of run.json: {k:?}")));
    }
    let missing = keys.len() - merged.len();
    let rows: Vec<ResultRow> = merged.into_values().map(|(r, _)| r).collect();
    write_sorted_results(&out.join(RESULTS_FILE), &rows)?;
    write_summary(&out.join(SUMMARY_FILE), &rows)?;
    if manifest.grid.has_selection() {
        write_selection_outputs(out, &rows, &manifest.grid.methods)?;
    }
    manifest.write(out)?;
    Ok(MergeReport { rows, manifest, missing, kept })
}

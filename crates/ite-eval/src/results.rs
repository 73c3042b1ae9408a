//! The result rows of experiment grids: one row per (cell, method, replication), and the
//! `results.csv` format that stores them (appendable, so interrupted runs resume).
//!
//! Columns, in order: `experiment,source_n,target_n,assignment,shift,level,method,replication,
//! pehe,ate_bias,ate_true,ite_mean,ite_median,ite_sd,cita,fit_seconds,ate_sample,ate_aipw,ate_se,
//! ate_lower,ate_upper,ate_covers,aipw_seconds,chosen,selection_seconds`. `pehe` is ε_PEHE, the *mean square* ITE error.
//! Simulation 1 rows have `shift = none`, `level = 0`. `cita` is empty where it does not apply
//! (methods that use no source model). The `ate_*` columns after `fit_seconds` hold the
//! cross-fitted AIPW interval of the target's ATE of a grid run with intervals
//! ([`crate::grid::Intervals`]); they are empty otherwise, so every run has one schema.
//! `chosen` and `selection_seconds` are filled on the rows of a grid's selection methods
//! (`auto-*`, `oracle`, [`crate::grid::SELECTION_METHODS`]) only. Files written before these
//! columns existed read with them empty.

use std::io::{Read, Write};
use std::path::Path;

use ite_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::EvalError;

/// One task's outcome: a method on one cell in one replication, measured on a test draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// `sim1` or `sim2`.
    pub experiment: String,
    /// Source sample size.
    pub source_n: usize,
    /// Target sample size (before the test split).
    pub target_n: usize,
    /// Target assignment: `randomized` or `biased`.
    pub assignment: String,
    /// Shift kind (`none`, `covariate`, `effect`, `prognostic`).
    pub shift: String,
    /// Shift level c.
    pub level: f64,
    /// Method: a strategy name (`target-only`, `staged-alignment`, …).
    pub method: String,
    /// Replication index (0-based).
    pub replication: u64,
    /// ε_PEHE = mean((τ̂ − τ)²) on the test units.
    pub pehe: f64,
    /// mean(τ̂) − mean(τ) on the test units.
    pub ate_bias: f64,
    /// mean(τ) on the test units.
    pub ate_true: f64,
    /// Mean of τ̂ on the test units.
    pub ite_mean: f64,
    /// Median of τ̂ on the test units.
    pub ite_median: f64,
    /// Standard deviation of τ̂ on the test units.
    pub ite_sd: f64,
    /// CITA of source and target, when the method uses a source model.
    pub cita: Option<f64>,
    /// Wall-clock seconds of the method's fit (not of the source model); for a fit trained in a
    /// pack with others (`grid.batched_targets`), its share of the pack's training time plus its
    /// own earlier phases (`ite_transfer::Transferred::seconds`).
    pub fit_seconds: f64,
    /// The target sample's true ATE, mean(mu1 − mu0) over the units the AIPW interval was
    /// computed on (the *sample* ATE; empty without intervals).
    #[serde(default)]
    pub ate_sample: Option<f64>,
    /// The cross-fitted AIPW estimate of the target's ATE (outcome units; empty without
    /// intervals or when the target cannot give one, e.g. an arm smaller than the folds).
    #[serde(default)]
    pub ate_aipw: Option<f64>,
    /// Its influence-function standard error.
    #[serde(default)]
    pub ate_se: Option<f64>,
    /// Lower limit of its normal interval at the grid's level.
    #[serde(default)]
    pub ate_lower: Option<f64>,
    /// Upper limit of its normal interval.
    #[serde(default)]
    pub ate_upper: Option<f64>,
    /// 1 when the interval holds `ate_sample`, 0 when it does not or there is no interval
    /// (empty without intervals).
    #[serde(default)]
    pub ate_covers: Option<u8>,
    /// Wall-clock seconds of the cross-fitting (K fits of the method and the propensity model).
    #[serde(default)]
    pub aipw_seconds: Option<f64>,
    /// On a selection method's row (`auto-*`, `oracle`): the fixed method it chose, whose
    /// measurements (and `fit_seconds`, intervals, CITA) the row repeats. Empty on fixed
    /// methods' rows.
    #[serde(default)]
    pub chosen: Option<String>,
    /// On an `auto-*` row: wall-clock seconds of the selection (every fixed method fitted on K−1
    /// folds K times, and the scores; one selection serves the three `auto-*` rows of a cell and
    /// replication). Empty elsewhere, and on an `auto-*` row whose selection could not run
    /// (then `chosen` is the first fixed method).
    #[serde(default)]
    pub selection_seconds: Option<f64>,
}

impl ResultRow {
    /// A row of zeros and empty strings with empty interval fields: a base for struct update
    /// syntax in tests and for rows of runs without intervals.
    pub fn without_intervals() -> ResultRow {
        ResultRow {
            experiment: String::new(),
            source_n: 0,
            target_n: 0,
            assignment: String::new(),
            shift: String::new(),
            level: 0.0,
            method: String::new(),
            replication: 0,
            pehe: 0.0,
            ate_bias: 0.0,
            ate_true: 0.0,
            ite_mean: 0.0,
            ite_median: 0.0,
            ite_sd: 0.0,
            cita: None,
            fit_seconds: 0.0,
            ate_sample: None,
            ate_aipw: None,
            ate_se: None,
            ate_lower: None,
            ate_upper: None,
            ate_covers: None,
            aipw_seconds: None,
            chosen: None,
            selection_seconds: None,
        }
    }

    /// The row with its wall-clock fields (`fit_seconds`, `aipw_seconds`,
    /// `selection_seconds`) zeroed: what must agree between runs of the same task.
    pub fn without_timings(&self) -> ResultRow {
        ResultRow {
            fit_seconds: 0.0,
            aipw_seconds: self.aipw_seconds.map(|_| 0.0),
            selection_seconds: self.selection_seconds.map(|_| 0.0),
            ..self.clone()
        }
    }

    /// The key that identifies the task this row finished (everything but the measurements).
    pub fn key(&self) -> TaskKey {
        TaskKey {
            experiment: self.experiment.clone(),
            source_n: self.source_n,
            target_n: self.target_n,
            assignment: self.assignment.clone(),
            shift: self.shift.clone(),
            level_bits: self.level.to_bits(),
            method: self.method.clone(),
            replication: self.replication,
        }
    }
}

/// Identity of a task (cell × method × replication), hashable and ordered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskKey {
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
    /// Shift level, as `f64::to_bits` (exact).
    pub level_bits: u64,
    /// Method name.
    pub method: String,
    /// Replication index.
    pub replication: u64,
}

/// Reads result rows from CSV text; `name` stands for the file in messages. A last line cut
/// short by an interrupted write is ignored (it is the task that did not finish).
pub fn read_results_from(reader: impl Read, name: &str) -> Result<Vec<ResultRow>, EvalError> {
    let mut text = String::new();
    let mut reader = reader;
    reader
        .read_to_string(&mut text)
        .map_err(|e| CoreError::CsvFile { file: name.into(), message: format!("cannot read: {e}") })?;
    // Only complete lines count: a row is finished once its newline is written.
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(complete.as_bytes());
    let mut rows = Vec::new();
    for rec in rdr.deserialize::<ResultRow>() {
        let row = rec.map_err(|e| CoreError::Csv {
            file: name.into(),
            line: e.position().map_or(0, |p| p.line()),
            column: None,
            message: format!("not a result row: {e}"),
        })?;
        rows.push(row);
    }
    Ok(rows)
}

/// Reads `results.csv`; a missing file is no rows.
pub fn read_results(path: &Path) -> Result<Vec<ResultRow>, EvalError> {
    match std::fs::File::open(path) {
        Ok(f) => read_results_from(f, &path.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(CoreError::CsvFile { file: path.display().to_string(), message: e.to_string() }.into()),
    }
}

/// Writes rows as CSV with the header.
pub fn write_results_to(writer: &mut dyn Write, rows: &[ResultRow]) -> std::io::Result<()> {
    let mut w = csv::WriterBuilder::new().has_headers(true).from_writer(writer);
    for r in rows {
        w.serialize(r).map_err(std::io::Error::other)?;
    }
    if rows.is_empty() {
        w.write_record(HEADER)?;
    }
    w.flush()
}

/// Column names of `results.csv`.
pub const HEADER: [&str; 25] = [
    "experiment",
    "source_n",
    "target_n",
    "assignment",
    "shift",
    "level",
    "method",
    "replication",
    "pehe",
    "ate_bias",
    "ate_true",
    "ite_mean",
    "ite_median",
    "ite_sd",
    "cita",
    "fit_seconds",
    "ate_sample",
    "ate_aipw",
    "ate_se",
    "ate_lower",
    "ate_upper",
    "ate_covers",
    "aipw_seconds",
    "chosen",
    "selection_seconds",
];

/// Formats one row as a CSV line (with its newline), for appending to an existing file.
pub fn row_line(row: &ResultRow) -> std::io::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    w.serialize(row).map_err(std::io::Error::other)?;
    w.into_inner().map_err(|e| std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(method: &str, rep: u64, cita: Option<f64>) -> ResultRow {
        ResultRow {
            experiment: "sim1".into(),
            source_n: 5000,
            target_n: 100,
            assignment: "biased".into(),
            shift: "none".into(),
            level: 0.0,
            method: method.into(),
            replication: rep,
            pehe: 0.123456789,
            ate_bias: -0.5,
            ate_true: 1.0,
            ite_mean: 0.5,
            ite_median: 0.49,
            ite_sd: 0.1,
            cita,
            fit_seconds: 1.5,
            ..ResultRow::without_intervals()
        }
    }

    #[test]
    fn round_trip_append_and_torn_last_line() {
        let rows = vec![row("target-only", 0, None), row("staged-alignment", 0, Some(0.25))];
        let mut buf = Vec::new();
        write_results_to(&mut buf, &rows).unwrap();
        let header = String::from_utf8(buf.clone()).unwrap().lines().next().unwrap().to_string();
        assert_eq!(header, HEADER.join(","));
        buf.extend(row_line(&row("pooled", 3, Some(0.5))).unwrap());
        let back = read_results_from(buf.as_slice(), "r.csv").unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[..2], rows[..]);
        assert_eq!(back[2].method, "pooled");
        // A torn last line (no newline yet) is ignored, not an error.
        let mut torn = buf.clone();
        torn.extend_from_slice(b"sim1,5000,100,bia");
        assert_eq!(read_results_from(torn.as_slice(), "r.csv").unwrap(), back);
        // Keys identify tasks.
        assert_ne!(back[0].key(), back[1].key());
        assert_eq!(back[0].key(), rows[0].key());
        // A malformed complete line is an error naming the file.
        let mut bad = buf.clone();
        bad.extend_from_slice(b"sim1,x\n");
        assert!(read_results_from(bad.as_slice(), "r.csv").unwrap_err().to_string().contains("r.csv"));
    }

    #[test]
    fn interval_columns_round_trip_and_old_files_read_them_empty() {
        let with = ResultRow {
            ate_sample: Some(1.02),
            ate_aipw: Some(0.9),
            ate_se: Some(0.2),
            ate_lower: Some(0.508),
            ate_upper: Some(1.292),
            ate_covers: Some(1),
            aipw_seconds: Some(3.0),
            ..row("fine-tune", 1, Some(0.3))
        };
        let mut buf = Vec::new();
        write_results_to(&mut buf, &[with.clone(), row("target-only", 0, None)]).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.lines().nth(1).unwrap().ends_with(",1.02,0.9,0.2,0.508,1.292,1,3.0,,"), "{text}");
        assert!(text.lines().nth(2).unwrap().ends_with(",1.5,,,,,,,,,"), "{text}");
        assert_eq!(read_results_from(buf.as_slice(), "r.csv").unwrap()[0], with);
        // A file of the 16 columns before intervals existed.
        let old = "experiment,source_n,target_n,assignment,shift,level,method,replication,pehe,ate_bias,ate_true,\
                   ite_mean,ite_median,ite_sd,cita,fit_seconds\nsim1,5000,100,biased,none,0.0,target-only,0,\
                   0.123456789,-0.5,1.0,0.5,0.49,0.1,,1.5\n";
        assert_eq!(read_results_from(old.as_bytes(), "r.csv").unwrap(), vec![row("target-only", 0, None)]);
        assert_eq!(with.without_timings().aipw_seconds, Some(0.0));
        // A file of the 23 columns before the selection columns existed.
        let header23 = HEADER[..23].join(",");
        let old = format!(
            "{header23}\nsim1,5000,100,biased,none,0.0,target-only,0,0.123456789,-0.5,1.0,0.5,0.49,0.1,,1.5,,,,,,,\n"
        );
        assert_eq!(read_results_from(old.as_bytes(), "r.csv").unwrap(), vec![row("target-only", 0, None)]);
    }

    #[test]
    fn selection_columns_round_trip() {
        let auto = ResultRow {
            chosen: Some("fine-tune".into()),
            selection_seconds: Some(2.5),
            ..row("auto-r-loss", 0, Some(0.3))
        };
        let mut buf = Vec::new();
        write_results_to(&mut buf, std::slice::from_ref(&auto)).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.lines().nth(1).unwrap().ends_with(",fine-tune,2.5"), "{text}");
        assert_eq!(read_results_from(buf.as_slice(), "r.csv").unwrap(), vec![auto.clone()]);
        assert_eq!(auto.without_timings().selection_seconds, Some(0.0));
    }
}

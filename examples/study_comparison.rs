//! Puts our Simulation 1 and 2 grid results beside the study's published numbers (Aydın & Brandt,
//! arXiv 2512.16489; the result files of the authors' repository TL_TARNet, copied to
//! `docs/reproduction/study/`), for docs/reproduction.md. Run with:
//!
//! ```sh
//! cargo run --release --example study_comparison -- \
//!     --sim1 out/sim1[,out/sim1-extra] --sim2 out/sim2[,out/sim2-study] \
//!     [--study docs/reproduction/study] --out out/comparison
//! ```
//!
//! Each DIR is an output directory of `ite reproduce sim1|sim2 --out DIR` (its `run.json` gives
//! the protocol, its `summary.csv` the rows). Several DIRs per simulation are read together
//! (the default methods and a run with extra methods, or a `clean` and a `study` run); rows are
//! keyed by (protocol, cell, method) and a key read twice is an error. Either of `--sim1` and
//! `--sim2` may be left out.
//!
//! Written into OUT:
//!
//! - `sim1_comparison.csv`, `sim2_comparison.csv`: a row per (protocol, study cell, our method that
//!   has a study counterpart: `staged-alignment` ↔ `TL-TARNet`, `target-only` ↔ `target-only
//!   (TARNet)`, `source-only` ↔ `source-only`) with both means and standard errors, the ratio
//!   ours / study, z = (ours − study) / √(se_ours² + se_study²) (Simulation 1: the study published
//!   no standard errors, so z uses ours alone), and the best (lowest-mean) fixed strategy of ours
//!   in the cell (selection rows `auto-*` and `oracle` are not candidates) with the study's TL-TARNet
//!   beside it (`study_tl_mean`). A cell the study has without that method (Simulation 1's TL-TARNet
//!   at 5000/non-randomized/500) keeps its row with the study's columns empty; cells of ours the
//!   study lacks are left out.
//! - `comparison.md`: a summary block (fractions of cells where ours ≤ the study, within 1.5× or
//!   within 2 se; which strategies beat the study's TL where) and markdown tables per simulation
//!   and protocol.
//! - Figures (PNG and SVG): `sim1_vs_study_{protocol}` (ε_PEHE against target n, a panel per
//!   assignment × source n) and `sim2_vs_study_{protocol}_s{n}_t{m}` (ε_PEHE against shift level,
//!   a panel per assignment × shift kind); our methods as lines with ±1 se bars, the study's as
//!   hollow markers (with ±1 se bars in Simulation 2).
//!
//! ε_PEHE is the mean *squared* ITE error in both sources. Assignment names follow the study
//! (`non-randomized` = our `biased`), shift names too (`covshift` = our `covariate`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use ite::eval::figures::Ticked;
use ite::eval::grid::{RunManifest, SELECTION_METHODS, SUMMARY_FILE, SummaryRow};
use ite::transfer::STRATEGY_NAMES;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Deserialize;

/// The font of every figure (the one the library's figures use).
static FONT: &[u8] = include_bytes!("../crates/ite-eval/assets/DejaVuSans.ttf");

/// Our grids beside the study's published numbers: CSV and markdown tables, figures.
#[derive(Debug, Parser)]
struct Args {
    /// Output directories of `ite reproduce sim1` (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "DIR")]
    sim1: Vec<PathBuf>,
    /// Output directories of `ite reproduce sim2` (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "DIR")]
    sim2: Vec<PathBuf>,
    /// The folder with the study's `sim1_study.csv` and `sim2_study.csv`.
    #[arg(long, value_name = "DIR", default_value = "docs/reproduction/study")]
    study: PathBuf,
    /// Where the tables and figures go (created when missing).
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
}

/// Our methods with a counterpart in the study: (ours, the study's).
const METHOD_PAIRS: [(&str, &str); 3] =
    [("staged-alignment", "TL-TARNet"), ("target-only", "target-only (TARNet)"), ("source-only", "source-only")];
/// The study's transfer method.
const STUDY_TL: &str = "TL-TARNet";
/// Our version of it.
const OURS_TL: &str = "staged-alignment";

/// The study's name of our method, when it has one.
fn study_method(ours: &str) -> Option<&'static str> {
    METHOD_PAIRS.iter().find(|(o, _)| *o == ours).map(|(_, s)| *s)
}

/// Our name of a study method, when we have one.
fn our_method(study: &str) -> Option<&'static str> {
    METHOD_PAIRS.iter().find(|(_, s)| *s == study).map(|(o, _)| *o)
}

/// The study's name of our assignment (`biased` → `non-randomized`).
fn study_assignment(ours: &str) -> Option<&'static str> {
    match ours {
        "biased" => Some("non-randomized"),
        "randomized" => Some("randomized"),
        _ => None,
    }
}

/// The study's name of our shift kind (`covariate` → `covshift`; Simulation 1's `none` stays).
fn study_shift(ours: &str) -> Option<&'static str> {
    match ours {
        "covariate" => Some("covshift"),
        "effect" => Some("effect"),
        "prognostic" => Some("prognostic"),
        "none" => Some("none"),
        _ => None,
    }
}

/// Whether a fixed strategy (not a selection row: `auto-*`, `oracle`).
fn is_fixed(method: &str) -> bool {
    !SELECTION_METHODS.contains(&method)
}

/// The two simulations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sim {
    One,
    Two,
}

impl Sim {
    fn name(self) -> &'static str {
        match self {
            Sim::One => "sim1",
            Sim::Two => "sim2",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Sim::One => "Simulation 1",
            Sim::Two => "Simulation 2",
        }
    }
}

/// A cell of the grid in the study's naming. `level_milli` is the shift level × 1000.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Cell {
    source_n: usize,
    target_n: usize,
    assignment: String,
    shift: String,
    level_milli: i64,
}

impl Cell {
    fn new(source_n: usize, target_n: usize, assignment: &str, shift: &str, level: f64) -> Cell {
        Cell {
            source_n,
            target_n,
            assignment: assignment.to_string(),
            shift: shift.to_string(),
            level_milli: (level * 1000.0).round() as i64,
        }
    }
    fn level(&self) -> f64 {
        self.level_milli as f64 / 1000.0
    }
    fn describe(&self) -> String {
        format!(
            "source n {}, target n {}, {}, shift {} {}",
            self.source_n,
            self.target_n,
            self.assignment,
            self.shift,
            self.level()
        )
    }
}

/// A mean ε_PEHE with its standard error (`None`: not published).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Value {
    mean: f64,
    se: Option<f64>,
}

/// Our rows: (protocol, cell, method) → (value, the summary.csv it came from).
type Ours = BTreeMap<(String, Cell, String), (Value, PathBuf)>;
/// The study's rows: (cell, study method) → value.
type Study = BTreeMap<(Cell, String), Value>;

/// Columns of summary.csv this program needs.
const SUMMARY_COLUMNS: [&str; 10] =
    ["experiment", "source_n", "target_n", "assignment", "shift", "level", "method", "count", "pehe_mean", "pehe_se"];

/// Fails naming the file when a needed column is missing.
fn require_columns(path: &Path, headers: &csv::StringRecord, needed: &[&str]) -> Result<()> {
    for col in needed {
        if !headers.iter().any(|h| h == *col) {
            bail!("{}: no column `{col}` (expected the columns {})", path.display(), needed.join(", "));
        }
    }
    Ok(())
}

/// Reads our output directories of one simulation.
fn read_ours(sim: Sim, dirs: &[PathBuf]) -> Result<(Ours, Vec<String>)> {
    let mut out = Ours::new();
    let mut described = Vec::new();
    for dir in dirs {
        let manifest = RunManifest::read(dir)
            .with_context(|| format!("--{} {}", sim.name(), dir.display()))?
            .ok_or_else(|| {
                anyhow!(
                    "{}: no run.json (expected the output directory of `ite reproduce {} --out DIR`)",
                    dir.display(),
                    sim.name()
                )
            })?;
        if manifest.grid.experiment.as_str() != sim.name() {
            bail!(
                "{}: run.json describes a `{}` grid, expected `{}` (given to --{})",
                dir.display(),
                manifest.grid.experiment,
                sim.name(),
                sim.name()
            );
        }
        let protocol = manifest.grid.protocol.to_string();
        described.push(format!(
            "`{}`: protocol `{protocol}`, {} replications, methods {}",
            dir.display(),
            manifest.grid.replications,
            manifest.grid.methods.join(", ")
        ));
        let path = dir.join(SUMMARY_FILE);
        if !path.is_file() {
            bail!(
                "{}: no {SUMMARY_FILE} (expected the summary of a finished `ite reproduce {} --out DIR` run)",
                dir.display(),
                sim.name()
            );
        }
        let mut reader = csv::Reader::from_path(&path).with_context(|| format!("{}", path.display()))?;
        let headers = reader.headers().with_context(|| format!("{}: no header line", path.display()))?.clone();
        require_columns(&path, &headers, &SUMMARY_COLUMNS)?;
        for (i, record) in reader.deserialize::<SummaryRow>().enumerate() {
            let line = i + 2;
            let row = record.with_context(|| format!("{}: line {line}: not a summary row", path.display()))?;
            if row.experiment != sim.name() {
                bail!("{}: line {line}: experiment `{}`, expected `{}`", path.display(), row.experiment, sim.name());
            }
            if !STRATEGY_NAMES.contains(&row.method.as_str()) && !SELECTION_METHODS.contains(&row.method.as_str()) {
                bail!(
                    "{}: line {line}: unknown method `{}` (expected a strategy: {}; or a selection method: {})",
                    path.display(),
                    row.method,
                    STRATEGY_NAMES.join(", "),
                    SELECTION_METHODS.join(", ")
                );
            }
            let assignment = study_assignment(&row.assignment).ok_or_else(|| {
                anyhow!(
                    "{}: line {line}: unknown assignment `{}` (expected `randomized` or `biased`)",
                    path.display(),
                    row.assignment
                )
            })?;
            let shift = study_shift(&row.shift).ok_or_else(|| {
                anyhow!(
                    "{}: line {line}: unknown shift `{}` (expected `none`, `covariate`, `effect` or `prognostic`)",
                    path.display(),
                    row.shift
                )
            })?;
            let cell = Cell::new(row.source_n, row.target_n, assignment, shift, row.level);
            let value = Value { mean: row.pehe_mean, se: Some(row.pehe_se) };
            let key = (protocol.clone(), cell, row.method.clone());
            if let Some((_, first)) = out.get(&key) {
                bail!(
                    "`{}` in cell ({}) of protocol `{protocol}` is in both {} and {} (give each protocol, cell \
                     and method once)",
                    row.method,
                    key.1.describe(),
                    first.display(),
                    path.display()
                );
            }
            out.insert(key, (value, path.clone()));
        }
    }
    Ok((out, described))
}

/// A row of `sim1_study.csv`.
#[derive(Debug, Deserialize)]
struct Sim1StudyRow {
    source_n: usize,
    target_n: usize,
    assignment: String,
    method: String,
    pehe: f64,
}

/// A row of `sim2_study.csv`.
#[derive(Debug, Deserialize)]
struct Sim2StudyRow {
    source_n: usize,
    target_n: usize,
    assignment: String,
    shift: String,
    level: f64,
    method: String,
    pehe_mean: f64,
    pehe_sem: f64,
}

/// Checks a study row's names; the error names the file and line.
fn check_study_names(path: &Path, line: usize, assignment: &str, shift: &str, method: &str) -> Result<()> {
    if !["non-randomized", "randomized"].contains(&assignment) {
        bail!(
            "{}: line {line}: unknown assignment `{assignment}` (expected non-randomized or randomized)",
            path.display()
        );
    }
    if !["none", "covshift", "effect", "prognostic"].contains(&shift) {
        bail!("{}: line {line}: unknown shift `{shift}` (expected covshift, effect or prognostic)", path.display());
    }
    if our_method(method).is_none() {
        let known: Vec<&str> = METHOD_PAIRS.iter().map(|(_, s)| *s).collect();
        bail!("{}: line {line}: unknown method `{method}` (expected one of: {})", path.display(), known.join(", "));
    }
    Ok(())
}

/// Reads the study's numbers of one simulation from `dir`.
fn read_study(sim: Sim, dir: &Path) -> Result<Study> {
    let path = dir.join(format!("{}_study.csv", sim.name()));
    let mut reader = csv::Reader::from_path(&path)
        .with_context(|| format!("{} (expected the study's numbers; see --study)", path.display()))?;
    let headers = reader.headers().with_context(|| format!("{}: no header line", path.display()))?.clone();
    let mut out = Study::new();
    let mut insert = |line: usize, cell: Cell, method: String, value: Value| -> Result<()> {
        if out.insert((cell.clone(), method.clone()), value).is_some() {
            bail!("{}: line {line}: `{method}` in cell ({}) appears twice", path.display(), cell.describe());
        }
        Ok(())
    };
    match sim {
        Sim::One => {
            require_columns(&path, &headers, &["source_n", "target_n", "assignment", "method", "pehe"])?;
            for (i, r) in reader.deserialize::<Sim1StudyRow>().enumerate() {
                let line = i + 2;
                let r = r.with_context(|| format!("{}: line {line}", path.display()))?;
                check_study_names(&path, line, &r.assignment, "none", &r.method)?;
                let cell = Cell::new(r.source_n, r.target_n, &r.assignment, "none", 0.0);
                insert(line, cell, r.method, Value { mean: r.pehe, se: None })?;
            }
        }
        Sim::Two => {
            require_columns(
                &path,
                &headers,
                &["source_n", "target_n", "assignment", "shift", "level", "method", "pehe_mean", "pehe_sem"],
            )?;
            for (i, r) in reader.deserialize::<Sim2StudyRow>().enumerate() {
                let line = i + 2;
                let r = r.with_context(|| format!("{}: line {line}", path.display()))?;
                check_study_names(&path, line, &r.assignment, &r.shift, &r.method)?;
                let cell = Cell::new(r.source_n, r.target_n, &r.assignment, &r.shift, r.level);
                insert(line, cell, r.method, Value { mean: r.pehe_mean, se: Some(r.pehe_sem) })?;
            }
        }
    }
    if out.is_empty() {
        bail!("{}: no rows", path.display());
    }
    Ok(out)
}

/// z = (ours − study) / √(se_ours² + se_study²); a missing se counts as 0 (Simulation 1's study
/// numbers have none, so z then uses ours alone). `None` when the denominator is 0.
fn z_score(ours: Value, study: Value) -> Option<f64> {
    let var = ours.se.unwrap_or(0.0).powi(2) + study.se.unwrap_or(0.0).powi(2);
    let z = (ours.mean - study.mean) / var.sqrt();
    (var > 0.0 && z.is_finite()).then_some(z)
}

/// Whether `ours` lies within a factor `factor` of `study` (study/factor ≤ ours ≤ study·factor).
fn within_factor(ours: f64, study: f64, factor: f64) -> bool {
    study / factor <= ours && ours <= study * factor
}

/// Counts over pairs (ours, study): how many, how many with ours ≤ study, how many within a
/// factor of the study.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    total: usize,
    le: usize,
    within: usize,
}

fn tally(pairs: &[(f64, f64)], factor: f64) -> Tally {
    let mut t = Tally::default();
    for &(ours, study) in pairs {
        t.total += 1;
        t.le += usize::from(ours <= study);
        t.within += usize::from(within_factor(ours, study, factor));
    }
    t
}

/// The lowest-mean fixed strategy among `(method, value)` (ties: the first).
fn best_fixed<'a>(methods: impl Iterator<Item = (&'a str, Value)>) -> Option<(&'a str, Value)> {
    methods.filter(|(m, v)| is_fixed(m) && v.mean.is_finite()).fold(None, |best, (m, v)| match best {
        Some((_, b)) if b.mean <= v.mean => best,
        _ => Some((m, v)),
    })
}

/// One line of a comparison table.
#[derive(Debug, Clone)]
struct CmpRow {
    protocol: String,
    cell: Cell,
    method: String,
    study_method: &'static str,
    ours: Value,
    study: Option<Value>,
    /// Our best fixed strategy in the cell.
    best: Option<(String, Value)>,
    /// The study's TL in the cell.
    study_tl: Option<Value>,
}

impl CmpRow {
    fn ratio(&self) -> Option<f64> {
        self.study.map(|s| self.ours.mean / s.mean).filter(|r| r.is_finite())
    }
    fn z(&self) -> Option<f64> {
        self.study.and_then(|s| z_score(self.ours, s))
    }
}

/// Our (protocol, cell) groups: each with its methods' values.
type Groups<'a> = BTreeMap<(&'a str, &'a Cell), Vec<(&'a str, Value)>>;

fn groups(ours: &Ours) -> Groups<'_> {
    let mut g = Groups::new();
    for ((protocol, cell, method), (value, _)) in ours {
        g.entry((protocol.as_str(), cell)).or_default().push((method.as_str(), *value));
    }
    g
}

/// The comparison rows: a row per (protocol, cell of ours the study also has, our method with a
/// study counterpart that the study reports somewhere in this simulation).
fn compare(ours: &Ours, study: &Study) -> Vec<CmpRow> {
    let study_cells: BTreeSet<&Cell> = study.keys().map(|(c, _)| c).collect();
    let study_methods: BTreeSet<&str> = study.keys().map(|(_, m)| m.as_str()).collect();
    let mut rows = Vec::new();
    for ((protocol, cell), methods) in groups(ours) {
        if !study_cells.contains(cell) {
            continue;
        }
        let best = best_fixed(methods.iter().copied()).map(|(m, v)| (m.to_string(), v));
        let study_tl = study.get(&(cell.clone(), STUDY_TL.to_string())).copied();
        for (ours_m, study_m) in METHOD_PAIRS {
            if !study_methods.contains(study_m) {
                continue;
            }
            let Some((_, value)) = methods.iter().find(|(m, _)| *m == ours_m) else { continue };
            rows.push(CmpRow {
                protocol: protocol.to_string(),
                cell: cell.clone(),
                method: ours_m.to_string(),
                study_method: study_m,
                ours: *value,
                study: study.get(&(cell.clone(), study_m.to_string())).copied(),
                best: best.clone(),
                study_tl,
            });
        }
    }
    rows
}

/// A number for a CSV field (empty when missing).
fn field(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| x.to_string())
}

/// Writes `rows` as CSV to `path`, all or nothing (a temporary file renamed over `path`).
fn write_csv(path: &Path, rows: &[CmpRow]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "protocol",
        "source_n",
        "target_n",
        "assignment",
        "shift",
        "level",
        "method",
        "study_method",
        "ours_mean",
        "ours_se",
        "study_mean",
        "study_se",
        "ratio",
        "z",
        "best_ours",
        "best_ours_mean",
        "best_ours_se",
        "study_tl_mean",
    ])?;
    for r in rows {
        w.write_record([
            r.protocol.clone(),
            r.cell.source_n.to_string(),
            r.cell.target_n.to_string(),
            r.cell.assignment.clone(),
            r.cell.shift.clone(),
            r.cell.level().to_string(),
            r.method.clone(),
            r.study_method.to_string(),
            r.ours.mean.to_string(),
            field(r.ours.se),
            field(r.study.map(|s| s.mean)),
            field(r.study.and_then(|s| s.se)),
            field(r.ratio()),
            field(r.z()),
            r.best.as_ref().map_or(String::new(), |b| b.0.clone()),
            field(r.best.as_ref().map(|b| b.1.mean)),
            field(r.best.as_ref().and_then(|b| b.1.se)),
            field(r.study_tl.map(|s| s.mean)),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow!("{}: {e}", path.display()))?;
    ite::core::write_atomic(path, |f| f.write_all(&bytes)).with_context(|| format!("{}", path.display()))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Markdown

/// A number with 3 significant digits (at most 4 decimals for small numbers).
fn sig(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 4) as usize;
    format!("{v:.digits$}")
}

/// A standard error with 2 significant digits.
fn sig2(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return sig(v);
    }
    let digits = (1 - v.abs().log10().floor() as i32).clamp(0, 5) as usize;
    format!("{v:.digits$}")
}

/// `mean ± se` (or `mean` without se).
fn pm(v: Value) -> String {
    match v.se {
        Some(se) => format!("{} ± {}", sig(v.mean), sig2(se)),
        None => sig(v.mean),
    }
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "–".into())
}

/// `count/total (pct %)`.
fn frac(k: usize, n: usize) -> String {
    if n == 0 { "–/0".into() } else { format!("{k}/{n} ({:.0} %)", 100.0 * k as f64 / n as f64) }
}

/// The matched methods present in `rows`, in [`METHOD_PAIRS`] order.
fn matched_methods(rows: &[&CmpRow]) -> Vec<(&'static str, &'static str)> {
    METHOD_PAIRS.iter().copied().filter(|(o, _)| rows.iter().any(|r| r.method == *o)).collect()
}

/// Cells of `rows` (one entry per cell), sorted.
fn cells_of<'a>(rows: &[&'a CmpRow]) -> Vec<&'a CmpRow> {
    let mut seen = BTreeSet::new();
    rows.iter().copied().filter(|r| seen.insert(&r.cell)).collect()
}

/// (ours, study) pairs of `method` against its study counterpart over the rows passing `keep`.
fn pairs(rows: &[&CmpRow], method: &str, keep: impl Fn(&CmpRow) -> bool) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.method == method && keep(r))
        .filter_map(|r| r.study.map(|s| (r.ours.mean, s.mean)))
        .collect()
}

/// (best of ours, study TL) pairs over the cells passing `keep`.
fn best_pairs(rows: &[&CmpRow], keep: impl Fn(&CmpRow) -> bool) -> Vec<(f64, f64)> {
    cells_of(rows)
        .into_iter()
        .filter(|r| keep(r))
        .filter_map(|r| Some((r.best.as_ref()?.1.mean, r.study_tl?.mean)))
        .collect()
}

/// Short name of a cell for the lists: `1000/50` (Simulation 1) or `1000/50 @0.25`.
fn short_cell(sim: Sim, c: &Cell) -> String {
    match sim {
        Sim::One => format!("{}/{}", c.source_n, c.target_n),
        Sim::Two => format!("{}/{} @{}", c.source_n, c.target_n, c.level()),
    }
}

/// For every fixed strategy of ours and cell of `rows` (with a study TL): whether it is ≤ the
/// study's TL; and which strategy is our best. `ours` has every method's value.
struct StrategyCells {
    /// strategy → cells (in order) where it is ≤ the study's TL.
    le_tl: BTreeMap<String, Vec<Cell>>,
    /// strategy → cells where it is our best.
    best: BTreeMap<String, usize>,
    /// strategy → cells where it is present alongside a study TL value.
    present: BTreeMap<String, usize>,
}

fn strategy_cells(protocol: &str, rows: &[&CmpRow], ours: &Ours) -> StrategyCells {
    let mut s = StrategyCells { le_tl: BTreeMap::new(), best: BTreeMap::new(), present: BTreeMap::new() };
    for r in cells_of(rows) {
        let Some(tl) = r.study_tl else { continue };
        if let Some((b, _)) = &r.best {
            *s.best.entry(b.clone()).or_default() += 1;
        }
        for ((p, c, m), (v, _)) in ours.range((protocol.to_string(), r.cell.clone(), String::new())..) {
            if p != protocol || *c != r.cell {
                break;
            }
            if !is_fixed(m) {
                continue;
            }
            *s.present.entry(m.clone()).or_default() += 1;
            let list = s.le_tl.entry(m.clone()).or_default();
            if v.mean <= tl.mean {
                list.push(c.clone());
            }
        }
    }
    s
}

/// Strategy names: those with a study counterpart first (in [`METHOD_PAIRS`] order), then the
/// others in registry order.
fn strategy_order(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = names.collect::<BTreeSet<_>>().into_iter().collect();
    v.sort_by_key(|m| {
        let matched = METHOD_PAIRS.iter().position(|(o, _)| o == m);
        let builtin = STRATEGY_NAMES.iter().position(|s| s == m).unwrap_or(STRATEGY_NAMES.len());
        (matched.unwrap_or(METHOD_PAIRS.len()), builtin)
    });
    v
}

/// The summary block of one simulation and protocol.
fn summary_block(sim: Sim, protocol: &str, rows: &[&CmpRow], ours: &Ours, study: &Study) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### {}, protocol `{protocol}`\n", sim.title());
    let assignments = ["randomized", "non-randomized"];
    let by_assignment = |method: &str, f: &dyn Fn(Tally) -> usize| -> String {
        assignments
            .iter()
            .map(|a| {
                let t = tally(&pairs(rows, method, |r| r.cell.assignment == *a), 1.5);
                format!("{a} {}", frac(f(t), t.total))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let methods = matched_methods(rows);
    // How many of the study's cells with a value of `study_m` the comparison covers.
    let coverage = |study_m: &str, covered: usize| -> String {
        let n = study.keys().filter(|(_, m)| m == study_m).count();
        if covered == n {
            format!("all {n} of the study's cells with a value")
        } else {
            format!("{covered} of the study's {n} cells with a value are in our grid")
        }
    };
    match sim {
        Sim::One => {
            for (o, s) in &methods {
                let t = tally(&pairs(rows, o, |_| true), 1.5);
                if t.total == 0 {
                    continue;
                }
                let _ = writeln!(
                    md,
                    "- our `{o}` ≤ the study's {s}: **{}** ({}; {})",
                    frac(t.le, t.total),
                    by_assignment(o, &|t| t.le),
                    coverage(s, t.total)
                );
                let _ = writeln!(
                    md,
                    "- our `{o}` within 1.5× of the study's {s} (study/1.5 ≤ ours ≤ 1.5·study): **{}** ({})",
                    frac(t.within, t.total),
                    by_assignment(o, &|t| t.within)
                );
            }
            let t = tally(&best_pairs(rows, |_| true), 1.5);
            let _ = writeln!(md, "- best of ours ≤ the study's {STUDY_TL}: **{}**", frac(t.le, t.total));
        }
        Sim::Two => {
            let t = tally(&best_pairs(rows, |_| true), 2.0);
            let per_a = assignments
                .iter()
                .map(|a| {
                    let t = tally(&best_pairs(rows, |r| r.cell.assignment == *a), 2.0);
                    format!("{a} {}", frac(t.le, t.total))
                })
                .collect::<Vec<_>>()
                .join("; ");
            let _ = writeln!(md, "- best of ours ≤ the study's {STUDY_TL}: **{}** ({per_a})", frac(t.le, t.total));
            for (o, s) in &methods {
                let t = tally(&pairs(rows, o, |_| true), 1.5);
                if t.total == 0 {
                    continue;
                }
                let _ = writeln!(
                    md,
                    "- our `{o}` ≤ the study's {s}: **{}** ({}); within 1.5×: {} ({})",
                    frac(t.le, t.total),
                    by_assignment(o, &|t| t.le),
                    frac(t.within, t.total),
                    coverage(s, t.total)
                );
            }
            for (o, s) in &methods {
                let zs: Vec<f64> = rows.iter().filter(|r| r.method == *o).filter_map(|r| r.z()).collect();
                if zs.is_empty() {
                    continue;
                }
                let within = zs.iter().filter(|z| z.abs() <= 2.0).count();
                let above = zs.iter().filter(|z| **z > 2.0).count();
                let _ = writeln!(
                    md,
                    "- our `{o}` within 2 se of the study's {s} (|z| ≤ 2): **{}**; ours higher by more than 2 se: {}; \
                     lower: {}",
                    frac(within, zs.len()),
                    above,
                    zs.len() - within - above
                );
            }
        }
    }
    md.push_str(&strategy_block(sim, protocol, rows, ours));
    md
}

/// The per-strategy part of a summary block: in how many cells each of our strategies is the
/// best of ours and at or below the study's TL, and where.
fn strategy_block(sim: Sim, protocol: &str, rows: &[&CmpRow], ours: &Ours) -> String {
    let mut md = String::new();
    let sc = strategy_cells(protocol, rows, ours);
    let strategies = strategy_order(sc.present.keys().cloned());
    if !strategies.is_empty() {
        let _ = writeln!(md, "\n| our strategy | cells | the best of ours in | ≤ the study's {STUDY_TL} in |");
        let _ = writeln!(md, "|---|---:|---:|---:|");
        for m in &strategies {
            let n = sc.present.get(m).copied().unwrap_or(0);
            let _ = writeln!(
                md,
                "| {m} | {n} | {} | {} |",
                sc.best.get(m).copied().unwrap_or(0),
                sc.le_tl.get(m).map_or(0, Vec::len)
            );
        }
        let _ = writeln!(md, "\n(cells with a study {STUDY_TL} value; ties for the best go to the earlier strategy)\n");
        let _ = writeln!(
            md,
            "Which of our strategies are ≤ the study's {STUDY_TL}, where (source n/target n{}):\n",
            if sim == Sim::Two { " @level" } else { "" }
        );
        let mut group_keys: Vec<(String, String)> = Vec::new();
        for r in cells_of(rows) {
            let k = (r.cell.assignment.clone(), r.cell.shift.clone());
            if !group_keys.contains(&k) {
                group_keys.push(k);
            }
        }
        for (a, s) in &group_keys {
            let in_group = |c: &Cell| c.assignment == *a && c.shift == *s;
            let total = cells_of(rows).iter().filter(|r| in_group(&r.cell) && r.study_tl.is_some()).count();
            let head = if sim == Sim::One { a.clone() } else { format!("{a} × {s}") };
            let mut parts = Vec::new();
            for m in &strategies {
                let cells: Vec<&Cell> =
                    sc.le_tl.get(m).map(|v| v.iter().filter(|c| in_group(c)).collect()).unwrap_or_default();
                if !cells.is_empty() {
                    parts.push(format!("`{m}` {} ({})", cells.len(), compact_cells(sim, &cells)));
                }
            }
            let list = if parts.is_empty() { "none of ours".to_string() } else { parts.join("; ") };
            let _ = writeln!(md, "- **{head}** ({total} cells): {list}");
        }
        md.push('\n');
    }
    md
}

/// Cells listed compactly: Simulation 1 `1000/50, 1000/100`; Simulation 2 grouped by size pair,
/// `1000/50 @0, 0.25; 5000/500 @1`.
fn compact_cells(sim: Sim, cells: &[&Cell]) -> String {
    match sim {
        Sim::One => cells.iter().map(|c| short_cell(sim, c)).collect::<Vec<_>>().join(", "),
        Sim::Two => {
            let mut by_size: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
            for c in cells {
                by_size.entry((c.source_n, c.target_n)).or_default().push(c.level().to_string());
            }
            by_size.into_iter().map(|((s, t), l)| format!("{s}/{t} @{}", l.join(", "))).collect::<Vec<_>>().join("; ")
        }
    }
}

/// The detailed tables of one simulation and protocol.
fn tables(sim: Sim, protocol: &str, rows: &[&CmpRow]) -> String {
    let mut md = String::new();
    let methods = matched_methods(rows);
    let _ = writeln!(md, "### {}, protocol `{protocol}`\n", sim.title());
    let lead: &[&str] = match sim {
        Sim::One => &["source n", "target n", "assignment"],
        Sim::Two => &["assignment", "shift", "level"],
    };
    let mut header: Vec<String> = lead.iter().map(|s| s.to_string()).collect();
    for (o, s) in &methods {
        header.push(format!("ours: {o}"));
        header.push(format!("study: {s}"));
        header.push("ratio".into());
        header.push("z".into());
    }
    header.push("best of ours".into());
    header.push(format!("best / study {STUDY_TL}"));
    let head_line = format!("| {} |", header.join(" | "));
    let rule = format!(
        "|{}",
        header.iter().enumerate().map(|(i, _)| if i < lead.len() { "---|" } else { "---:|" }).collect::<String>()
    );
    let line_of = |c: &CmpRow| -> String {
        let mut cols: Vec<String> = match sim {
            Sim::One => vec![c.cell.source_n.to_string(), c.cell.target_n.to_string(), c.cell.assignment.clone()],
            Sim::Two => vec![c.cell.assignment.clone(), c.cell.shift.clone(), c.cell.level().to_string()],
        };
        for (o, _) in &methods {
            match rows.iter().find(|r| r.cell == c.cell && r.method == *o) {
                Some(r) => {
                    cols.push(pm(r.ours));
                    cols.push(opt(r.study.map(pm)));
                    cols.push(opt(r.ratio().map(|x| format!("{x:.2}"))));
                    cols.push(opt(r.z().map(|x| format!("{x:.1}"))));
                }
                None => cols.extend(std::iter::repeat_n("–".to_string(), 4)),
            }
        }
        cols.push(opt(c.best.as_ref().map(|(m, v)| format!("{m} {}", pm(*v)))));
        cols.push(opt(c.best.as_ref().zip(c.study_tl).map(|((_, b), s)| format!("{:.2}", b.mean / s.mean))));
        format!("| {} |", cols.join(" | "))
    };
    let cells = cells_of(rows);
    match sim {
        Sim::One => {
            let _ = writeln!(md, "{head_line}\n{rule}");
            for c in &cells {
                let _ = writeln!(md, "{}", line_of(c));
            }
        }
        Sim::Two => {
            let sizes: BTreeSet<(usize, usize)> = cells.iter().map(|c| (c.cell.source_n, c.cell.target_n)).collect();
            for (s, t) in sizes {
                let _ = writeln!(md, "#### source n = {s}, target n = {t}\n\n{head_line}\n{rule}");
                for c in cells.iter().filter(|c| c.cell.source_n == s && c.cell.target_n == t) {
                    let _ = writeln!(md, "{}", line_of(c));
                }
                md.push('\n');
            }
        }
    }
    md.push('\n');
    md
}

/// The protocols of `rows`, in order.
fn protocols(rows: &[CmpRow]) -> Vec<String> {
    rows.iter().map(|r| r.protocol.clone()).collect::<BTreeSet<_>>().into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// Figures

/// A point: mean ± se at x (se 0 or missing: no bar).
#[derive(Debug, Clone, Copy)]
struct Pt {
    x: f64,
    mean: f64,
    se: Option<f64>,
}

/// Ours: a line with dots; the study's: hollow markers of a shape (0 square, 1 triangle, 2 cross).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mark {
    Line,
    Study(usize),
}

#[derive(Debug, Clone)]
struct Series {
    label: String,
    color: RGBColor,
    mark: Mark,
    points: Vec<Pt>,
}

#[derive(Debug, Clone)]
struct Panel {
    title: String,
    x_label: &'static str,
    x_log: bool,
    x_ticks: Vec<f64>,
    series: Vec<Series>,
}

#[derive(Debug, Clone)]
struct Figure {
    name: String,
    title: String,
    note: String,
    cols: usize,
    size: (u32, u32),
    panels: Vec<Panel>,
}

/// Okabe–Ito colours, as the library's figures use them per method.
fn method_color(method: &str) -> RGBColor {
    match method {
        "staged-alignment" => RGBColor(0, 114, 178),
        "target-only" => RGBColor(213, 94, 0),
        "fine-tune" => RGBColor(0, 158, 115),
        "freeze-representation" => RGBColor(204, 121, 167),
        "l2-sp" => RGBColor(230, 159, 0),
        "pooled" => RGBColor(86, 180, 233),
        "source-only" => RGBColor(120, 120, 120),
        _ => BLACK,
    }
}

/// The study's marker shape of a study method.
fn study_shape(study_method: &str) -> usize {
    METHOD_PAIRS.iter().position(|(_, s)| *s == study_method).unwrap_or(0)
}

/// A number as a short tick label.
fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.fract() == 0.0 && v.abs() < 1e7 {
        return format!("{v:.0}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// Ticks m × 10^k inside [lo, hi] for m in 1, 2, 5 (only powers of ten when too many; more
/// multiples when the range is narrow).
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let ticks = |multiples: &[f64]| {
        let mut out = Vec::new();
        let mut k = lo.log10().floor() as i32 - 1;
        while 10f64.powi(k) <= hi {
            for m in multiples {
                let v = m * 10f64.powi(k);
                if v >= lo && v <= hi {
                    out.push(v);
                }
            }
            k += 1;
        }
        out
    };
    let mut out = ticks(&[1.0, 2.0, 5.0]);
    if out.len() > 9 {
        out.retain(|v| (v.log10() - v.log10().round()).abs() < 1e-9);
    }
    if out.len() < 3 {
        out = ticks(&[1.0, 1.5, 2.0, 3.0, 5.0, 7.0]);
    }
    if out.len() < 2 {
        out = vec![lo, hi];
    }
    out
}

fn derr<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing: {e}")
}

fn render<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<()> {
    root.fill(&WHITE).map_err(derr)?;
    let body = root.titled(&fig.title, ("sans-serif", 20)).map_err(derr)?;
    let body = body.titled(&fig.note, ("sans-serif", 13)).map_err(derr)?;
    let mut entries: Vec<(String, RGBColor, Mark)> = Vec::new();
    for p in &fig.panels {
        for s in &p.series {
            if !entries.iter().any(|e| e.0 == s.label) {
                entries.push((s.label.clone(), s.color, s.mark));
            }
        }
    }
    let font: TextStyle = ("sans-serif", 14).into();
    let (width, height) = body.dim_in_pixel();
    let mut placed = Vec::new();
    let (mut x, mut row) = (12i32, 0i32);
    for e in &entries {
        let (tw, _) = body.estimate_text_size(&e.0, &font).map_err(derr)?;
        let w = 28 + tw as i32 + 22;
        if x + w > width as i32 && x > 12 {
            x = 12;
            row += 1;
        }
        placed.push((x, row, e));
        x += w;
    }
    let legend_h = if entries.is_empty() { 0 } else { 22 * (row as u32 + 1) + 8 };
    let (charts, legend) = body.split_vertically(height.saturating_sub(legend_h));
    for (x, row, (label, color, mark)) in placed {
        let y = 12 + 22 * row;
        match mark {
            Mark::Line => {
                legend.draw(&PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2))).map_err(derr)?;
                legend.draw(&Circle::new((x + 11, y), 3, color.filled())).map_err(derr)?;
            }
            Mark::Study(shape) => draw_shape(&legend, (x + 11, y), *shape, *color)?,
        }
        legend
            .draw(&Text::new(label.clone(), (x + 28, y), font.pos(Pos::new(HPos::Left, VPos::Center))))
            .map_err(derr)?;
    }
    let cols = fig.cols.clamp(1, fig.panels.len().max(1));
    let rows = fig.panels.len().div_ceil(cols).max(1);
    for (panel, area) in fig.panels.iter().zip(charts.split_evenly((rows, cols)).iter()) {
        draw_panel(area, panel)?;
    }
    root.present().map_err(derr)
}

/// A hollow study marker at a pixel position of `area`.
fn draw_shape<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    shape: usize,
    color: RGBColor,
) -> Result<()> {
    let style = color.stroke_width(2);
    let (x, y) = at;
    match shape {
        0 => area.draw(&Rectangle::new([(x - 5, y - 5), (x + 5, y + 5)], style)).map_err(derr),
        1 => area
            .draw(&PathElement::new(vec![(x, y - 6), (x + 6, y + 5), (x - 6, y + 5), (x, y - 6)], style))
            .map_err(derr),
        _ => {
            area.draw(&PathElement::new(vec![(x - 5, y - 5), (x + 5, y + 5)], style)).map_err(derr)?;
            area.draw(&PathElement::new(vec![(x - 5, y + 5), (x + 5, y - 5)], style)).map_err(derr)
        }
    }
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> Result<()> {
    let xs: Vec<f64> =
        p.series.iter().flat_map(|s| s.points.iter().map(|q| q.x)).chain(p.x_ticks.iter().copied()).collect();
    let means: Vec<f64> = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.mean)).filter(|v| *v > 0.0).collect();
    let floor = means.iter().copied().fold(f64::INFINITY, f64::min) / 2.0;
    let mut ys = means.clone();
    for s in &p.series {
        for q in &s.points {
            if let Some(se) = q.se.filter(|se| *se > 0.0) {
                ys.push((q.mean - se).max(floor));
                ys.push(q.mean + se);
            }
        }
    }
    let range = |v: &[f64], log: bool| -> (f64, f64) {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() || !hi.is_finite() {
            return if log { (0.1, 10.0) } else { (0.0, 1.0) };
        }
        if log {
            let (l, h) = (lo.ln(), hi.ln());
            let pad = if h > l { (h - l) * 0.08 } else { 2f64.ln() };
            ((l - pad).exp(), (h + pad).exp())
        } else {
            let pad = if hi > lo { (hi - lo) * 0.08 } else { 0.5 };
            (lo - pad, hi + pad)
        }
    };
    let xr = range(&xs, p.x_log);
    let yr = range(&ys, true);
    let y = Ticked { inner: LogCoord::from((yr.0..yr.1).log_scale()), ticks: log_ticks(yr.0, yr.1) };
    if p.x_log {
        let x = Ticked { inner: LogCoord::from((xr.0..xr.1).log_scale()), ticks: p.x_ticks.clone() };
        chart(area, p, xr, true, floor.max(yr.0), x, y)
    } else {
        let x = Ticked { inner: RangedCoordf64::from(xr.0..xr.1), ticks: p.x_ticks.clone() };
        chart(area, p, xr, false, floor.max(yr.0), x, y)
    }
}

fn chart<DB, X, Y>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    xr: (f64, f64),
    x_log: bool,
    floor: f64,
    x: X,
    y: Y,
) -> Result<()>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut c = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(44)
        .y_label_area_size(62)
        .build_cartesian_2d(x, y)
        .map_err(derr)?;
    let fmt = |v: &f64| fmt_num(*v);
    c.configure_mesh()
        .x_desc(p.x_label)
        .y_desc("ε_PEHE (mean squared ITE error)")
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(WHITE)
        .draw()
        .map_err(derr)?;
    let n = p.series.len();
    for (k, s) in p.series.iter().enumerate() {
        // Dodge the error bars sideways a little.
        let off = if n > 1 { (k as f64 - (n - 1) as f64 / 2.0) * 0.01 } else { 0.0 };
        let shift = |v: f64| if x_log { v * ((xr.1 / xr.0).ln() * off).exp() } else { v + (xr.1 - xr.0) * off };
        let pts: Vec<(f64, f64)> = s.points.iter().filter(|q| q.mean > 0.0).map(|q| (shift(q.x), q.mean)).collect();
        if s.mark == Mark::Line && pts.len() > 1 {
            c.draw_series(LineSeries::new(pts.clone(), s.color.stroke_width(2))).map_err(derr)?;
        }
        let thin = s.color.stroke_width(1);
        let bars: Vec<(f64, f64, f64)> = s
            .points
            .iter()
            .filter(|q| q.mean > 0.0)
            .filter_map(|q| q.se.filter(|se| *se > 0.0).map(|se| (shift(q.x), (q.mean - se).max(floor), q.mean + se)))
            .collect();
        c.draw_series(bars.iter().map(|&(x, lo, hi)| PathElement::new(vec![(x, lo), (x, hi)], thin))).map_err(derr)?;
        c.draw_series(bars.iter().flat_map(|&(x, lo, hi)| {
            [lo, hi].map(|y| EmptyElement::at((x, y)) + PathElement::new(vec![(-4, 0), (4, 0)], thin))
        }))
        .map_err(derr)?;
        match s.mark {
            Mark::Line => {
                c.draw_series(pts.iter().map(|&q| Circle::new(q, 3, s.color.filled()))).map_err(derr)?;
            }
            Mark::Study(shape) => {
                let style = s.color.stroke_width(2);
                for &q in &pts {
                    match shape {
                        0 => c
                            .draw_series(std::iter::once(
                                EmptyElement::at(q) + Rectangle::new([(-5, -5), (5, 5)], style),
                            ))
                            .map_err(derr)?,
                        1 => c
                            .draw_series(std::iter::once(
                                EmptyElement::at(q) + PathElement::new(vec![(0, -6), (6, 5), (-6, 5), (0, -6)], style),
                            ))
                            .map_err(derr)?,
                        _ => c
                            .draw_series(std::iter::once(
                                EmptyElement::at(q)
                                    + PathElement::new(vec![(-5, -5), (5, 5)], style)
                                    + PathElement::new(vec![(-5, 5), (5, -5)], style),
                            ))
                            .map_err(derr)?,
                    };
                }
            }
        }
    }
    Ok(())
}

/// Writes `fig` as `dir/{name}.png` and `.svg`, each all or nothing (via a temporary file in
/// `dir`); returns both paths.
fn write_figure(fig: &Figure, dir: &Path) -> Result<Vec<PathBuf>> {
    let png = dir.join(format!("{}.png", fig.name));
    // The bitmap encoder picks the format from the extension, so the temporary name ends in .png.
    let tmp = dir.join(format!(".tmp-{}-{}.png", std::process::id(), fig.name));
    let drawn = (|| -> Result<()> {
        let root = BitMapBackend::new(&tmp, fig.size).into_drawing_area();
        render(&root, fig)?;
        root.present().map_err(|e| anyhow!("{e}"))?;
        Ok(())
    })();
    if let Err(e) = drawn.and_then(|()| std::fs::rename(&tmp, &png).map_err(Into::into)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("{}", png.display())));
    }
    let svg = dir.join(format!("{}.svg", fig.name));
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, fig.size).into_drawing_area();
        render(&root, fig).with_context(|| format!("{}", svg.display()))?;
    }
    ite::core::write_atomic(&svg, |f| f.write_all(text.as_bytes())).with_context(|| format!("{}", svg.display()))?;
    Ok(vec![png, svg])
}

/// Our series of `method` over the cells passing `keep`, x from the cell.
fn our_series(
    ours: &Ours,
    protocol: &str,
    method: &str,
    keep: impl Fn(&Cell) -> bool,
    x: impl Fn(&Cell) -> f64,
) -> Series {
    let points = ours
        .iter()
        .filter(|((p, c, m), _)| p == protocol && m == method && keep(c))
        .map(|((_, c, _), (v, _))| Pt { x: x(c), mean: v.mean, se: v.se })
        .collect();
    Series { label: format!("ours: {method}"), color: method_color(method), mark: Mark::Line, points }
}

/// The study's series of `study_method` over the cells passing `keep`.
fn study_series(study: &Study, study_method: &str, keep: impl Fn(&Cell) -> bool, x: impl Fn(&Cell) -> f64) -> Series {
    let points = study
        .iter()
        .filter(|((c, m), _)| m == study_method && keep(c))
        .map(|((c, _), v)| Pt { x: x(c), mean: v.mean, se: v.se })
        .collect();
    let color = our_method(study_method).map_or(BLACK, method_color);
    Series { label: format!("study: {study_method}"), color, mark: Mark::Study(study_shape(study_method)), points }
}

fn sim1_figures(ours: &Ours, study: &Study) -> Vec<Figure> {
    let mut figs = Vec::new();
    for protocol in ours.keys().map(|k| k.0.clone()).collect::<BTreeSet<_>>() {
        let mine: Vec<&Cell> = ours.keys().filter(|k| k.0 == protocol).map(|k| &k.1).collect();
        let sources: BTreeSet<usize> = mine.iter().map(|c| c.source_n).collect();
        let targets: BTreeSet<usize> = mine.iter().map(|c| c.target_n).collect();
        let mut panels = Vec::new();
        for a in ["randomized", "non-randomized"] {
            for &s in &sources {
                let keep = |c: &Cell| c.assignment == a && c.source_n == s && targets.contains(&c.target_n);
                let x = |c: &Cell| c.target_n as f64;
                let mut series = Vec::new();
                for o in [OURS_TL, "target-only"] {
                    series.push(our_series(ours, &protocol, o, keep, x));
                    if let Some(sm) = study_method(o) {
                        series.push(study_series(study, sm, keep, x));
                    }
                }
                series.retain(|s| !s.points.is_empty());
                if series.is_empty() {
                    continue;
                }
                panels.push(Panel {
                    title: format!("{a} target, source n = {s}"),
                    x_label: "target n",
                    x_log: true,
                    x_ticks: targets.iter().map(|t| *t as f64).collect(),
                    series,
                });
            }
        }
        if panels.is_empty() {
            continue;
        }
        figs.push(Figure {
            name: format!("sim1_vs_study_{protocol}"),
            title: format!("Simulation 1, protocol {protocol}: ε_PEHE (mean squared ITE error) against target n"),
            note: "lines: our grid (mean over replications ± 1 se); hollow markers: the study's published numbers \
                   (no se published)"
                .into(),
            cols: sources.len().max(1),
            size: ((340 * sources.len() as u32).max(1000), 820),
            panels,
        });
    }
    figs
}

fn sim2_figures(ours: &Ours, study: &Study) -> Vec<Figure> {
    let mut figs = Vec::new();
    for protocol in ours.keys().map(|k| k.0.clone()).collect::<BTreeSet<_>>() {
        let mine: Vec<(&Cell, &str)> = ours.keys().filter(|k| k.0 == protocol).map(|k| (&k.1, k.2.as_str())).collect();
        let sizes: BTreeSet<(usize, usize)> = mine.iter().map(|(c, _)| (c.source_n, c.target_n)).collect();
        let levels: BTreeSet<i64> = mine.iter().map(|(c, _)| c.level_milli).collect();
        let methods = strategy_order(mine.iter().filter(|(_, m)| is_fixed(m)).map(|(_, m)| m.to_string()));
        for (s, t) in sizes {
            let mut panels = Vec::new();
            for a in ["randomized", "non-randomized"] {
                for shift in ["covshift", "effect", "prognostic"] {
                    let keep = |c: &Cell| {
                        c.source_n == s
                            && c.target_n == t
                            && c.assignment == a
                            && c.shift == shift
                            && levels.contains(&c.level_milli)
                    };
                    let x = |c: &Cell| c.level();
                    let mut series: Vec<Series> =
                        methods.iter().map(|m| our_series(ours, &protocol, m, keep, x)).collect();
                    for (_, sm) in METHOD_PAIRS {
                        series.push(study_series(study, sm, keep, x));
                    }
                    series.retain(|s| !s.points.is_empty());
                    if series.is_empty() {
                        continue;
                    }
                    let kind = match shift {
                        "covshift" => "covariate shift",
                        "effect" => "effect shift",
                        _ => "prognostic shift",
                    };
                    panels.push(Panel {
                        title: format!("{a} target, {kind}"),
                        x_label: "shift level",
                        x_log: false,
                        x_ticks: levels.iter().map(|l| *l as f64 / 1000.0).collect(),
                        series,
                    });
                }
            }
            if panels.is_empty() {
                continue;
            }
            figs.push(Figure {
                name: format!("sim2_vs_study_{protocol}_s{s}_t{t}"),
                title: format!(
                    "Simulation 2, protocol {protocol}, source n = {s}, target n = {t}: ε_PEHE (mean squared ITE error)"
                ),
                note: "lines: our grid (mean over replications ± 1 se); hollow markers: the study's published numbers \
                       (± 1 se)"
                    .into(),
                cols: 3,
                size: (1350, 820),
                panels,
            });
        }
    }
    figs
}

// ---------------------------------------------------------------------------------------------

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args = Args::parse();
    if args.sim1.is_empty() && args.sim2.is_empty() {
        bail!("nothing to compare: give --sim1 DIR[,DIR...] and/or --sim2 DIR[,DIR...]");
    }
    let mut inputs = Vec::new();
    for (sim, dirs) in [(Sim::One, &args.sim1), (Sim::Two, &args.sim2)] {
        if dirs.is_empty() {
            continue;
        }
        let (ours, described) = read_ours(sim, dirs)?;
        let study = read_study(sim, &args.study)?;
        let rows = compare(&ours, &study);
        if rows.is_empty() {
            bail!(
                "--{}: no cell of {} is in the study's {}_study.csv with a method the study has",
                sim.name(),
                dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "),
                sim.name()
            );
        }
        inputs.push((sim, described, ours, study, rows));
    }
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow!("the bundled font DejaVuSans.ttf is not a valid font"))?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("--out {}", args.out.display()))?;

    let mut summary = String::new();
    let mut detail = String::new();
    let mut written = Vec::new();
    for (sim, described, ours, study, rows) in &inputs {
        let csv_path = args.out.join(format!("{}_comparison.csv", sim.name()));
        write_csv(&csv_path, rows)?;
        written.push(csv_path);
        let _ = writeln!(detail, "## {}: per cell\n", sim.title());
        for d in described {
            let _ = writeln!(detail, "- input {d}");
        }
        detail.push('\n');
        for protocol in protocols(rows) {
            let of_p: Vec<&CmpRow> = rows.iter().filter(|r| r.protocol == protocol).collect();
            summary.push_str(&summary_block(*sim, &protocol, &of_p, ours, study));
            detail.push_str(&tables(*sim, &protocol, &of_p));
        }
        let figs = match sim {
            Sim::One => sim1_figures(ours, study),
            Sim::Two => sim2_figures(ours, study),
        };
        for f in &figs {
            written.extend(write_figure(f, &args.out)?);
        }
    }
    let mut md = String::new();
    let _ = writeln!(md, "# Our grids beside the study's published numbers\n");
    let _ = writeln!(
        md,
        "ε_PEHE is the mean **squared** ITE error in both. The study's numbers are the result files of the authors' \
         repository TL_TARNet (docs/reproduction/study/). Pairs: our `staged-alignment` ↔ the study's `TL-TARNet`, \
         `target-only` ↔ `target-only (TARNet)`, `source-only` ↔ `source-only`. Ours: mean ± se over replications. \
         ratio = ours / study. z = (ours − study) / √(se_ours² + se_study²); Simulation 1's study numbers have no \
         standard errors, so there z uses our se alone (and overstates how sure a difference is). \"Best of ours\" is \
         our lowest-mean fixed strategy of the cell among those run (selection rows `auto-*`/`oracle` excluded). \
         Assignment names are the study's (`non-randomized` = our `biased`); `covshift` = our covariate shift. \
         Only cells present in both are counted.\n"
    );
    let args_line: Vec<String> = std::env::args().skip(1).collect();
    let _ = writeln!(md, "Written by `cargo run --release --example study_comparison -- {}`.\n", args_line.join(" "));
    let _ = writeln!(md, "## Summary\n\n{summary}{detail}");
    let md_path = args.out.join("comparison.md");
    ite::core::write_atomic(&md_path, |f| f.write_all(md.as_bytes()))
        .with_context(|| format!("{}", md_path.display()))?;
    written.push(md_path);
    println!("{summary}");
    for w in &written {
        println!("wrote {}", w.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_map_both_ways() {
        assert_eq!(study_method("staged-alignment"), Some("TL-TARNet"));
        assert_eq!(study_method("target-only"), Some("target-only (TARNet)"));
        assert_eq!(study_method("source-only"), Some("source-only"));
        assert_eq!(study_method("fine-tune"), None);
        assert_eq!(our_method("TL-TARNet"), Some("staged-alignment"));
        assert_eq!(study_assignment("biased"), Some("non-randomized"));
        assert_eq!(study_shift("covariate"), Some("covshift"));
        assert_eq!(study_shift("sideways"), None);
        assert!(is_fixed("pooled") && !is_fixed("auto-r-loss") && !is_fixed("oracle"));
    }

    #[test]
    fn counts_on_a_toy_table() {
        // ours ≤ study; ours 1.4× study (within 1.5×, not ≤); ours 0.5× study (≤, not within).
        let t = tally(&[(1.0, 1.0), (1.4, 1.0), (0.5, 1.0)], 1.5);
        assert_eq!(t, Tally { total: 3, le: 2, within: 2 });
        assert!(within_factor(1.5, 1.0, 1.5) && within_factor(1.0 / 1.5, 1.0, 1.5));
        assert!(!within_factor(1.51, 1.0, 1.5));
    }

    #[test]
    fn z_uses_both_errors_or_ours_alone() {
        let ours = Value { mean: 1.5, se: Some(0.3) };
        let z = z_score(ours, Value { mean: 1.0, se: Some(0.4) }).unwrap_or(f64::NAN);
        assert!((z - 1.0).abs() < 1e-12);
        let z = z_score(ours, Value { mean: 0.9, se: None }).unwrap_or(f64::NAN);
        assert!((z - 2.0).abs() < 1e-12);
        assert_eq!(z_score(Value { mean: 1.0, se: Some(0.0) }, Value { mean: 1.0, se: None }), None);
    }

    #[test]
    fn best_skips_selection_rows() {
        let v = |m| Value { mean: m, se: Some(0.1) };
        let rows = [("target-only", v(2.0)), ("oracle", v(0.1)), ("staged-alignment", v(0.5)), ("pooled", v(0.5))];
        assert_eq!(best_fixed(rows.iter().copied()).map(|b| b.0), Some("staged-alignment"));
    }
}

//! What a grid's selection methods achieved and how CITA read, from its result rows:
//! `selection.csv` (mean ε_PEHE of every method against the best fixed method and the oracle,
//! and which strategy each selection method picked) and `cita.csv` (by CITA bin, how often
//! transfer beat target-only). A grid run with selection methods writes both into its output
//! directory, and so does `ite merge` ([`write_selection_outputs`]).
//!
//! Both tables count *cell-replications* (a cell of the grid in one replication) and use only
//! those where every method of the grid has a row, so that every mean compares the same tasks
//! (a merge with a shard missing leaves the incomplete cell-replications out). ε_PEHE is the
//! mean square ITE error (`pehe` of [`ResultRow`]).
//!
//! `selection.csv` columns:
//!
//! | column | meaning |
//! |---|---|
//! | `assignment` | target assignment |
//! | `shift` | the shift kind; empty on the lines over every shift |
//! | `source_n`, `target_n` | the sizes; both empty on the lines over every size |
//! | `method` | a method of the grid, in the grid's order |
//! | `kind` | `fixed` (a strategy), `auto` (chosen from the target data) or `oracle` |
//! | `count` | cell-replications |
//! | `pehe_mean`, `pehe_se` | mean ε_PEHE and its standard error over the cell-replications |
//! | `best_fixed`, `best_fixed_pehe` | the fixed method of the lowest mean ε_PEHE on these cell-replications, and that mean |
//! | `ratio_to_best_fixed` | `pehe_mean / best_fixed_pehe` (empty when that is 0) |
//! | `ratio_to_oracle` | `pehe_mean /` the oracle's mean (empty without an `oracle` method) |
//! | `picks` | on selection methods: `strategy=count` for each strategy picked, `;`-separated, in the grid's order |
//!
//! `cita.csv` columns (CITA in [0, 1], bins of width 0.1, the last one closed):
//!
//! | column | meaning |
//! |---|---|
//! | `assignment` | target assignment, or `all` |
//! | `target_n` | target sample size; empty on the lines over every size |
//! | `cita_lower`, `cita_upper` | the bin [lower, upper) |
//! | `count` | cell-replications whose CITA falls in the bin (those with a `target-only` row and a CITA) |
//! | `cita_mean` | their mean CITA |
//! | `staged_beats_target_only` | share where `staged-alignment` had a lower ε_PEHE than `target-only` (empty without `staged-alignment`) |
//! | `best_source_beats_target_only` | share where the best method that uses the source (a fixed method with a CITA) beat `target-only` |
//! | `best_source_gap_mean` | mean of ε_PEHE(best source-using) − ε_PEHE(target-only) |

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::EvalError;
use crate::grid::experiment::{ORACLE, SelectionMethod};
use crate::results::{ResultRow, TaskKey};
use crate::summary::Summary;

/// The file of the selection table in an output directory.
pub const SELECTION_FILE: &str = "selection.csv";
/// The file of the CITA reading table.
pub const CITA_FILE: &str = "cita.csv";

/// One line of `selection.csv` (columns in the module's table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectionRow {
    /// Target assignment.
    pub assignment: String,
    /// Shift kind (`None`: every shift).
    pub shift: Option<String>,
    /// Source sample size (`None`: every size).
    pub source_n: Option<usize>,
    /// Target sample size (`None`: every size).
    pub target_n: Option<usize>,
    /// The method.
    pub method: String,
    /// `fixed`, `auto` or `oracle`.
    pub kind: String,
    /// Cell-replications.
    pub count: usize,
    /// Mean ε_PEHE.
    pub pehe_mean: f64,
    /// Its standard error (empty with one cell-replication).
    pub pehe_se: Option<f64>,
    /// The fixed method of the lowest mean ε_PEHE.
    pub best_fixed: String,
    /// Its mean ε_PEHE.
    pub best_fixed_pehe: f64,
    /// `pehe_mean / best_fixed_pehe`.
    pub ratio_to_best_fixed: Option<f64>,
    /// `pehe_mean /` the oracle's mean ε_PEHE.
    pub ratio_to_oracle: Option<f64>,
    /// `strategy=count;…` on selection methods, empty on fixed ones.
    pub picks: String,
}

/// One line of `cita.csv` (columns in the module's table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CitaRow {
    /// Target assignment, or `all`.
    pub assignment: String,
    /// Target sample size (`None`: every size).
    pub target_n: Option<usize>,
    /// Lower edge of the bin.
    pub cita_lower: f64,
    /// Upper edge of the bin.
    pub cita_upper: f64,
    /// Cell-replications in the bin.
    pub count: usize,
    /// Their mean CITA.
    pub cita_mean: f64,
    /// Share where staged alignment beat target-only.
    pub staged_beats_target_only: Option<f64>,
    /// Share where the best source-using method beat target-only.
    pub best_source_beats_target_only: Option<f64>,
    /// Mean gap of the best source-using method to target-only.
    pub best_source_gap_mean: Option<f64>,
}

/// The rows of one cell-replication, by method.
type CellRows<'a> = BTreeMap<&'a str, &'a ResultRow>;

/// The cell-replications where every one of `methods` has a row, in task-key order.
fn complete<'a>(rows: &'a [ResultRow], methods: &[String]) -> Vec<CellRows<'a>> {
    let mut cells: BTreeMap<TaskKey, CellRows<'a>> = BTreeMap::new();
    for r in rows {
        cells.entry(TaskKey { method: String::new(), ..r.key() }).or_default().insert(r.method.as_str(), r);
    }
    cells.into_values().filter(|c| methods.iter().all(|m| c.contains_key(m.as_str()))).collect()
}

fn kind(method: &str) -> &'static str {
    match SelectionMethod::of(method) {
        None => "fixed",
        Some(SelectionMethod::Auto(_)) => "auto",
        Some(SelectionMethod::Oracle) => "oracle",
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    let r = a / b;
    r.is_finite().then_some(r)
}

/// The lines of `selection.csv` for `rows` of a grid whose methods are `methods` (grid order):
/// per assignment, first over every size, then per (source n, target n).
pub fn selection_table(rows: &[ResultRow], methods: &[String]) -> Vec<SelectionRow> {
    type Key = (String, Option<String>, Option<usize>, Option<usize>);
    let mut groups: BTreeMap<Key, Vec<CellRows<'_>>> = BTreeMap::new();
    for cell in complete(rows, methods) {
        let Some(r0) = cell.values().next() else { continue };
        let a = r0.assignment.clone();
        groups.entry((a.clone(), None, None, None)).or_default().push(cell.clone());
        groups.entry((a.clone(), Some(r0.shift.clone()), None, None)).or_default().push(cell.clone());
        groups.entry((a, None, Some(r0.source_n), Some(r0.target_n))).or_default().push(cell);
    }
    let mut out = Vec::new();
    for ((assignment, shift, source_n, target_n), cells) in groups {
        let means: Vec<(String, Summary)> = methods
            .iter()
            .filter_map(|m| {
                let v: Vec<f64> = cells.iter().filter_map(|c| c.get(m.as_str()).map(|r| r.pehe)).collect();
                Summary::of(&v).map(|s| (m.clone(), s))
            })
            .collect();
        let mut best: Option<&(String, Summary)> = None;
        for e in means.iter().filter(|(m, _)| kind(m) == "fixed") {
            if best.is_none_or(|b| e.1.mean < b.1.mean) {
                best = Some(e);
            }
        }
        let Some((best_name, best_s)) = best else { continue };
        let oracle = means.iter().find(|(m, _)| m == ORACLE).map(|(_, s)| s.mean);
        for (m, s) in &means {
            out.push(SelectionRow {
                assignment: assignment.clone(),
                shift: shift.clone(),
                source_n,
                target_n,
                method: m.clone(),
                kind: kind(m).into(),
                count: s.count,
                pehe_mean: s.mean,
                pehe_se: Some(s.se).filter(|v| v.is_finite() && s.count > 1),
                best_fixed: best_name.clone(),
                best_fixed_pehe: best_s.mean,
                ratio_to_best_fixed: ratio(s.mean, best_s.mean),
                ratio_to_oracle: oracle.and_then(|o| ratio(s.mean, o)),
                picks: picks(&cells, m, methods),
            });
        }
    }
    out
}

/// `strategy=count;…` of the strategies selection method `m` picked, in `methods` order.
fn picks(cells: &[CellRows<'_>], m: &str, methods: &[String]) -> String {
    if kind(m) == "fixed" {
        return String::new();
    }
    let chosen: Vec<&str> = cells.iter().filter_map(|c| c.get(m).and_then(|r| r.chosen.as_deref())).collect();
    methods
        .iter()
        .filter_map(|f| {
            let n = chosen.iter().filter(|c| **c == f.as_str()).count();
            (n > 0).then(|| format!("{f}={n}"))
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Bins of CITA: [0, 0.1), …, [0.9, 1.0].
const BINS: usize = 10;

/// What one cell-replication says about CITA: its CITA, whether staged alignment beat
/// target-only, and the gap of the best source-using fixed method to target-only.
struct CitaCase {
    assignment: String,
    target_n: usize,
    cita: f64,
    staged_wins: Option<bool>,
    best_gap: Option<f64>,
}

fn cita_case(cell: &CellRows<'_>) -> Option<CitaCase> {
    let target_only = cell.get("target-only")?;
    let using: Vec<&&ResultRow> =
        cell.iter().filter(|(m, r)| kind(m) == "fixed" && r.cita.is_some()).map(|(_, r)| r).collect();
    let cita = using.first()?.cita?;
    let best = using.iter().map(|r| r.pehe).fold(f64::INFINITY, f64::min);
    Some(CitaCase {
        assignment: target_only.assignment.clone(),
        target_n: target_only.target_n,
        cita,
        staged_wins: cell.get("staged-alignment").map(|s| s.pehe < target_only.pehe),
        best_gap: Some(best - target_only.pehe).filter(|g| g.is_finite()),
    })
}

/// The lines of `cita.csv` for `rows` of a grid whose methods are `methods`: per assignment and
/// then over all (`all`), a line per CITA bin that holds a cell-replication.
pub fn cita_table(rows: &[ResultRow], methods: &[String]) -> Vec<CitaRow> {
    let cases: Vec<CitaCase> = complete(rows, methods).iter().filter_map(cita_case).collect();
    let mut assigns: Vec<String> = Vec::new();
    for c in &cases {
        if !assigns.contains(&c.assignment) {
            assigns.push(c.assignment.clone());
        }
    }
    assigns.sort();
    assigns.push("all".into());
    let mut sizes: Vec<Option<usize>> = vec![None];
    for c in &cases {
        if !sizes.contains(&Some(c.target_n)) {
            sizes.push(Some(c.target_n));
        }
    }
    sizes[1..].sort();
    let share = |v: Vec<bool>| (!v.is_empty()).then(|| v.iter().filter(|b| **b).count() as f64 / v.len() as f64);
    let mut out = Vec::new();
    for (a, n) in assigns.iter().flat_map(|a| sizes.iter().map(move |n| (a, *n))) {
        for b in 0..BINS {
            let here: Vec<&CitaCase> = cases
                .iter()
                .filter(|c| (a == "all" || &c.assignment == a) && n.is_none_or(|n| c.target_n == n) && bin(c.cita) == b)
                .collect();
            if here.is_empty() {
                continue;
            }
            let gaps: Vec<f64> = here.iter().filter_map(|c| c.best_gap).collect();
            out.push(CitaRow {
                assignment: a.clone(),
                target_n: n,
                cita_lower: b as f64 / BINS as f64,
                cita_upper: (b + 1) as f64 / BINS as f64,
                count: here.len(),
                cita_mean: here.iter().map(|c| c.cita).sum::<f64>() / here.len() as f64,
                staged_beats_target_only: share(here.iter().filter_map(|c| c.staged_wins).collect()),
                best_source_beats_target_only: share(gaps.iter().map(|g| *g < 0.0).collect()),
                best_source_gap_mean: Summary::of(&gaps).map(|s| s.mean),
            });
        }
    }
    out
}

/// The bin of a CITA value (values outside [0, 1] go to the nearest end bin).
fn bin(cita: f64) -> usize {
    ((cita * BINS as f64).floor().max(0.0) as usize).min(BINS - 1)
}

fn write_csv<T: Serialize>(path: &Path, lines: &[T]) -> Result<(), EvalError> {
    ite_core::write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        for l in lines {
            csv.serialize(l).map_err(std::io::Error::other)?;
        }
        csv.flush()
    })?;
    Ok(())
}

/// Writes `dir/selection.csv` and `dir/cita.csv` for `rows` of a grid whose methods are
/// `methods`, atomically (a table without lines is a file without lines, header included only
/// when there is a line).
pub fn write_selection_outputs(dir: &Path, rows: &[ResultRow], methods: &[String]) -> Result<(), EvalError> {
    write_csv(&dir.join(SELECTION_FILE), &selection_table(rows, methods))?;
    write_csv(&dir.join(CITA_FILE), &cita_table(rows, methods))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(method: &str, assignment: &str, target_n: usize, rep: u64, pehe: f64, cita: Option<f64>) -> ResultRow {
        ResultRow {
            experiment: "sim2".into(),
            source_n: 1000,
            target_n,
            assignment: assignment.into(),
            shift: "covariate".into(),
            level: 0.5,
            method: method.into(),
            replication: rep,
            pehe,
            cita,
            ..ResultRow::without_intervals()
        }
    }

    fn auto(method: &str, of: &ResultRow) -> ResultRow {
        ResultRow { method: method.into(), chosen: Some(of.method.clone()), ..of.clone() }
    }

    fn methods() -> Vec<String> {
        ["target-only", "staged-alignment", "auto-r-loss", "oracle"].iter().map(|s| s.to_string()).collect()
    }

    /// Two replications on one cell: target-only 1.0 / 4.0, staged 2.0 / 1.0; auto picks
    /// target-only twice, the oracle picks the lower.
    fn rows() -> Vec<ResultRow> {
        let mut v = Vec::new();
        for (rep, to, st) in [(0, 1.0, 2.0), (1, 4.0, 1.0)] {
            let a = row("target-only", "randomized", 100, rep, to, None);
            let b = row("staged-alignment", "randomized", 100, rep, st, Some(0.05 + 0.5 * rep as f64));
            v.push(auto("auto-r-loss", &a));
            v.push(auto("oracle", if to <= st { &a } else { &b }));
            v.push(a);
            v.push(b);
        }
        // An incomplete cell-replication (no oracle): left out.
        v.push(row("target-only", "randomized", 100, 2, 100.0, None));
        v
    }

    #[test]
    fn selection_table_compares_with_best_fixed_and_oracle() {
        let t = selection_table(&rows(), &methods());
        // Per assignment over everything, per shift, then per size: 4 methods each.
        assert_eq!(t.len(), 12);
        let get = |m: &str| t.iter().find(|r| r.method == m && r.source_n.is_none() && r.shift.is_none()).unwrap();
        let by_shift = t.iter().find(|r| r.method == "oracle" && r.shift.as_deref() == Some("covariate")).unwrap();
        assert_eq!((by_shift.pehe_mean, by_shift.count), (1.0, 2));
        assert_eq!(get("target-only").pehe_mean, 2.5);
        assert_eq!(get("staged-alignment").pehe_mean, 1.5);
        assert_eq!(get("oracle").pehe_mean, 1.0);
        let a = get("auto-r-loss");
        assert_eq!((a.kind.as_str(), a.count, a.pehe_mean), ("auto", 2, 2.5));
        assert_eq!(a.best_fixed, "staged-alignment");
        assert_eq!(a.ratio_to_best_fixed, Some(2.5 / 1.5));
        assert_eq!(a.ratio_to_oracle, Some(2.5));
        assert_eq!(a.picks, "target-only=2");
        assert_eq!(get("oracle").picks, "target-only=1;staged-alignment=1");
        assert_eq!(get("target-only").picks, "");
        assert!(t.iter().any(|r| r.source_n == Some(1000) && r.target_n == Some(100)));
    }

    #[test]
    fn cita_table_bins_and_shares() {
        let t = cita_table(&rows(), &methods());
        // Bins 0 and 5, for `randomized` and `all`, over every size and at n = 100.
        assert_eq!(t.len(), 8);
        assert_eq!((t[0].target_n, t[2].target_n), (None, Some(100)));
        let low = &t[0];
        assert_eq!((low.assignment.as_str(), low.cita_lower, low.count), ("randomized", 0.0, 1));
        assert_eq!(low.staged_beats_target_only, Some(0.0));
        assert_eq!(low.best_source_gap_mean, Some(1.0));
        let high = &t[1];
        assert_eq!((high.cita_lower, high.cita_upper), (0.5, 0.6));
        assert_eq!(high.best_source_beats_target_only, Some(1.0));
        assert_eq!((t[3].assignment.as_str(), t[4].assignment.as_str()), ("randomized", "all"));
        assert_eq!(bin(1.0), 9);
        assert_eq!(bin(-0.1), 0);
    }

    #[test]
    fn no_nan_in_files() {
        let dir = tempfile::tempdir().unwrap();
        // One cell-replication: no standard error, written empty.
        let one: Vec<ResultRow> = rows().into_iter().filter(|r| r.replication == 0).collect();
        write_selection_outputs(dir.path(), &one, &methods()).unwrap();
        for f in [SELECTION_FILE, CITA_FILE] {
            let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
            assert!(text.lines().count() > 1 && !text.to_lowercase().contains("nan"), "{f}: {text}");
        }
    }
}

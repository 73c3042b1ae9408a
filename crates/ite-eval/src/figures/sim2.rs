//! Simulation 2 figures: ε_PEHE against the mismatch level for each shift kind, and the gap
//! ε_PEHE(transfer) − ε_PEHE(target-only) against CITA.

use std::collections::BTreeMap;

use super::style::{Figure, HLine, Panel, Point, Scale, Series, color};
use super::{
    PEHE_LABEL, assignment_title, assignments, is_selection, method_series, methods, order_key, ordered, sizes, stem,
};
use crate::results::ResultRow;
use crate::summary::Summary;

/// Shift kinds in the order of the study.
const SHIFTS: [&str; 4] = ["covariate", "effect", "prognostic", "none"];

/// All Simulation 2 figures of `rows` (already filtered to the experiment).
pub(super) fn figures(rows: &[&ResultRow]) -> Vec<Figure> {
    let axes = Axes::of(rows);
    let mut out = Vec::new();
    // ε_PEHE against level: a figure per (source n, target n), a panel per (assignment, shift).
    for s in sizes(rows, |r| r.source_n) {
        for t in sizes(rows, |r| r.target_n) {
            let cell: Vec<&ResultRow> = rows.iter().copied().filter(|r| r.source_n == s && r.target_n == t).collect();
            if !cell.is_empty() {
                out.push(pehe_by_level(&cell, s, t, &axes));
            }
        }
    }
    // Gap to target-only against CITA, paired by replication within each cell.
    let baseline: BTreeMap<CellRep, f64> =
        rows.iter().filter(|r| r.method == "target-only").map(|r| (CellRep::of(r), r.pehe)).collect();
    if baseline.is_empty() {
        return out;
    }
    for m in axes.methods.iter().filter(|m| !matches!(m.as_str(), "target-only" | "source-only") && !is_selection(m)) {
        out.extend(gap_vs_cita(rows, m, &baseline, &axes));
    }
    out
}

/// The assignments, methods, shift kinds and levels present, each in the order they are drawn.
struct Axes {
    assigns: Vec<String>,
    methods: Vec<String>,
    shifts: Vec<String>,
    levels: Vec<f64>,
}

impl Axes {
    fn of(rows: &[&ResultRow]) -> Axes {
        let mut levels: Vec<f64> = rows.iter().map(|r| r.level).filter(|l| l.is_finite()).collect();
        levels.sort_by_key(|l| order_key(*l));
        levels.dedup();
        Axes {
            assigns: assignments(rows),
            methods: methods(rows),
            shifts: ordered(rows.iter().map(|r| r.shift.clone()), &SHIFTS),
            levels,
        }
    }
}

/// ε_PEHE against shift level for the cell (source n `s`, target n `t`), a line per method, a
/// panel per (assignment, shift).
fn pehe_by_level(cell: &[&ResultRow], s: usize, t: usize, axes: &Axes) -> Figure {
    let mut panels = Vec::new();
    for a in &axes.assigns {
        for sh in &axes.shifts {
            let here: Vec<&ResultRow> = cell.iter().copied().filter(|r| &r.assignment == a && &r.shift == sh).collect();
            panels.push(Panel {
                title: format!("{sh} shift, {}", assignment_title(a)),
                x_label: "shift level c".into(),
                y_label: PEHE_LABEL.into(),
                x_scale: Scale::Linear,
                y_scale: Scale::Auto,
                x_ticks: axes.levels.clone(),
                series: method_series(&here, &axes.methods, |r| r.level, |r| r.pehe),
                hlines: Vec::new(),
            });
        }
    }
    Figure {
        name: format!("sim2_pehe_by_level_s{s}_t{t}"),
        title: format!("Simulation 2: ε_PEHE by mismatch level, source n = {s}, target n = {t}"),
        cols: axes.shifts.len(),
        panels,
    }
}

/// The gap ε_PEHE(`m`) − ε_PEHE(target-only) against CITA, a point per cell, a series per shift
/// kind, a panel per assignment; `None` when no panel has a point.
fn gap_vs_cita(rows: &[&ResultRow], m: &str, baseline: &BTreeMap<CellRep, f64>, axes: &Axes) -> Option<Figure> {
    let panels: Vec<Panel> = axes
        .assigns
        .iter()
        .map(|a| {
            let series = axes
                .shifts
                .iter()
                .enumerate()
                .filter_map(|(i, sh)| {
                    let of_shift =
                        rows.iter().copied().filter(|r| r.method == m && &r.assignment == a && &r.shift == sh);
                    let points = gap_points(of_shift, baseline);
                    (!points.is_empty()).then(|| Series {
                        label: format!("{sh} shift"),
                        color: color(i),
                        line: false,
                        points,
                    })
                })
                .collect();
            Panel {
                title: assignment_title(a),
                x_label: "CITA of source and target (mean over replications)".into(),
                y_label: format!("ε_PEHE({m}) − ε_PEHE(target-only)"),
                x_scale: Scale::Linear,
                y_scale: Scale::Linear,
                x_ticks: Vec::new(),
                series,
                hlines: vec![HLine { y: 0.0, label: "no gap".into() }],
            }
        })
        .filter(|p: &Panel| !p.series.is_empty())
        .collect();
    (!panels.is_empty()).then(|| Figure {
        name: format!("sim2_gap_vs_cita_{}", stem(m)),
        title: format!("Simulation 2: gap of {m} to target-only against CITA (a point per cell)"),
        cols: 2,
        panels,
    })
}

/// A point per cell of `rows`: x the mean CITA, y the mean ± se of the gaps to the target-only
/// fit of the same replication (rows without CITA or without a baseline are skipped).
fn gap_points<'a>(rows: impl Iterator<Item = &'a ResultRow>, baseline: &BTreeMap<CellRep, f64>) -> Vec<Point> {
    // Per cell: paired gaps and the CITA values.
    let mut cells: BTreeMap<CellRep, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in rows {
        let (Some(cita), Some(base)) = (r.cita, baseline.get(&CellRep::of(r))) else {
            continue;
        };
        let e = cells.entry(CellRep { replication: 0, ..CellRep::of(r) }).or_default();
        e.0.push(r.pehe - base);
        e.1.push(cita);
    }
    cells
        .values()
        .filter_map(|(gaps, citas)| {
            let g = Summary::of(gaps)?;
            let c = Summary::of(citas)?;
            (g.mean.is_finite() && c.mean.is_finite()).then_some(Point { x: c.mean, mean: g.mean, se: g.se })
        })
        .collect()
}

/// A cell of the Simulation 2 grid and a replication (the pairing key of the gap).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CellRep {
    source_n: usize,
    target_n: usize,
    assignment: String,
    shift: String,
    level: u64,
    replication: u64,
}

impl CellRep {
    fn of(r: &ResultRow) -> CellRep {
        CellRep {
            source_n: r.source_n,
            target_n: r.target_n,
            assignment: r.assignment.clone(),
            shift: r.shift.clone(),
            level: order_key(r.level),
            replication: r.replication,
        }
    }
}

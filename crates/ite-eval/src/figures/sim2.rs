//! Simulation 2 figures: ε_PEHE against the mismatch level for each shift kind, and the gap
//! ε_PEHE(transfer) − ε_PEHE(target-only) against CITA.

use std::collections::BTreeMap;

use super::style::{Figure, HLine, Panel, Point, Scale, Series, color, method_color};
use super::{PEHE_LABEL, assignment_title, assignments, methods, order_key, ordered, points_by, sizes, stem};
use crate::results::ResultRow;
use crate::summary::Summary;

/// Shift kinds in the order of the study.
const SHIFTS: [&str; 4] = ["covariate", "effect", "prognostic", "none"];

/// All Simulation 2 figures of `rows` (already filtered to the experiment).
pub(super) fn figures(rows: &[&ResultRow]) -> Vec<Figure> {
    let mut out = Vec::new();
    let assigns = assignments(rows);
    let methods = methods(rows);
    let shifts = ordered(rows.iter().map(|r| r.shift.clone()), &SHIFTS);
    let mut levels: Vec<f64> = rows.iter().map(|r| r.level).filter(|l| l.is_finite()).collect();
    levels.sort_by_key(|l| order_key(*l));
    levels.dedup();

    // ε_PEHE against level: a figure per (source n, target n), a panel per (assignment, shift).
    for s in sizes(rows, |r| r.source_n) {
        for t in sizes(rows, |r| r.target_n) {
            let cell: Vec<&ResultRow> = rows.iter().copied().filter(|r| r.source_n == s && r.target_n == t).collect();
            if cell.is_empty() {
                continue;
            }
            let mut panels = Vec::new();
            for a in &assigns {
                for sh in &shifts {
                    let here: Vec<&ResultRow> =
                        cell.iter().copied().filter(|r| &r.assignment == a && &r.shift == sh).collect();
                    let series = methods
                        .iter()
                        .filter_map(|m| {
                            let of_m: Vec<&ResultRow> = here.iter().copied().filter(|r| &r.method == m).collect();
                            let points = points_by(&of_m, |r| r.level, |r| r.pehe);
                            (!points.is_empty()).then(|| Series {
                                label: m.clone(),
                                color: method_color(m),
                                line: true,
                                points,
                            })
                        })
                        .collect();
                    panels.push(Panel {
                        title: format!("{sh} shift, {}", assignment_title(a)),
                        x_label: "shift level c".into(),
                        y_label: PEHE_LABEL.into(),
                        x_scale: Scale::Linear,
                        y_scale: Scale::Auto,
                        x_ticks: levels.clone(),
                        series,
                        hlines: Vec::new(),
                    });
                }
            }
            out.push(Figure {
                name: format!("sim2_pehe_by_level_s{s}_t{t}"),
                title: format!("Simulation 2: ε_PEHE by mismatch level, source n = {s}, target n = {t}"),
                cols: shifts.len(),
                panels,
            });
        }
    }

    // Gap to target-only against CITA, paired by replication within each cell.
    let baseline: BTreeMap<CellRep, f64> =
        rows.iter().filter(|r| r.method == "target-only").map(|r| (CellRep::of(r), r.pehe)).collect();
    if baseline.is_empty() {
        return out;
    }
    for m in methods.iter().filter(|m| !matches!(m.as_str(), "target-only" | "source-only")) {
        let panels: Vec<Panel> = assigns
            .iter()
            .map(|a| {
                let series = shifts
                    .iter()
                    .enumerate()
                    .filter_map(|(i, sh)| {
                        // Per cell: paired gaps and the CITA values.
                        let mut cells: BTreeMap<CellRep, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
                        for r in rows.iter().filter(|r| &r.method == m && &r.assignment == a && &r.shift == sh) {
                            let (Some(cita), Some(base)) = (r.cita, baseline.get(&CellRep::of(r))) else {
                                continue;
                            };
                            let e = cells.entry(CellRep { replication: 0, ..CellRep::of(r) }).or_default();
                            e.0.push(r.pehe - base);
                            e.1.push(cita);
                        }
                        let points: Vec<Point> = cells
                            .values()
                            .filter_map(|(gaps, citas)| {
                                let g = Summary::of(gaps)?;
                                let c = Summary::of(citas)?;
                                (g.mean.is_finite() && c.mean.is_finite()).then_some(Point {
                                    x: c.mean,
                                    mean: g.mean,
                                    se: g.se,
                                })
                            })
                            .collect();
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
        if !panels.is_empty() {
            out.push(Figure {
                name: format!("sim2_gap_vs_cita_{}", stem(m)),
                title: format!("Simulation 2: gap of {m} to target-only against CITA (a point per cell)"),
                cols: 2,
                panels,
            });
        }
    }
    out
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

//! Simulation 1 figures: ε_PEHE by source size (a line per target size) and by target size (a
//! line per method), and the mean and sd of the predicted ITE by target size.

use super::style::{Figure, HLine, Panel, Scale, Series, color, method_color};
use super::{PEHE_LABEL, assignment_title, assignments, methods, points_by, sizes, stem};
use crate::results::ResultRow;

/// All Simulation 1 figures of `rows` (already filtered to the experiment).
pub(super) fn figures(rows: &[&ResultRow]) -> Vec<Figure> {
    let mut out = Vec::new();
    let assigns = assignments(rows);
    let methods = methods(rows);
    let sources = sizes(rows, |r| r.source_n);
    let source_ticks: Vec<f64> = sources.iter().map(|&s| s as f64).collect();

    // ε_PEHE against source size, one line per target size, for each method that uses a source.
    for m in methods.iter().filter(|m| m.as_str() != "target-only") {
        let of_m: Vec<&ResultRow> = rows.iter().copied().filter(|r| &r.method == m).collect();
        let targets = sizes(&of_m, |r| r.target_n);
        let panels = assigns
            .iter()
            .map(|a| {
                let series = targets
                    .iter()
                    .enumerate()
                    .filter_map(|(i, &t)| {
                        let cell: Vec<&ResultRow> =
                            of_m.iter().copied().filter(|r| &r.assignment == a && r.target_n == t).collect();
                        let points = points_by(&cell, |r| r.source_n as f64, |r| r.pehe);
                        (!points.is_empty()).then(|| Series {
                            label: format!("target n = {t}"),
                            color: color(i),
                            line: true,
                            points,
                        })
                    })
                    .collect();
                Panel {
                    title: assignment_title(a),
                    x_label: "source sample size (log scale)".into(),
                    y_label: PEHE_LABEL.into(),
                    x_scale: Scale::Log,
                    y_scale: Scale::Auto,
                    x_ticks: source_ticks.clone(),
                    series,
                    hlines: Vec::new(),
                }
            })
            .collect();
        out.push(Figure {
            name: format!("sim1_pehe_by_source_{}", stem(m)),
            title: format!("Simulation 1: ε_PEHE by source size, {m}"),
            cols: 2,
            panels,
        });
    }

    // By target size, one figure family per source size.
    for &s in &sources {
        let at_s: Vec<&ResultRow> = rows.iter().copied().filter(|r| r.source_n == s).collect();
        let target_ticks: Vec<f64> = sizes(&at_s, |r| r.target_n).iter().map(|&t| t as f64).collect();
        let by_target = |metric: fn(&ResultRow) -> f64, y_label: &str, y_scale: Scale, true_ate: bool| -> Vec<Panel> {
            assigns
                .iter()
                .map(|a| {
                    let cell: Vec<&ResultRow> = at_s.iter().copied().filter(|r| &r.assignment == a).collect();
                    let series = methods
                        .iter()
                        .filter_map(|m| {
                            let of_m: Vec<&ResultRow> = cell.iter().copied().filter(|r| &r.method == m).collect();
                            let points = points_by(&of_m, |r| r.target_n as f64, metric);
                            (!points.is_empty()).then(|| Series {
                                label: m.clone(),
                                color: method_color(m),
                                line: true,
                                points,
                            })
                        })
                        .collect();
                    let hlines = if true_ate && !cell.is_empty() {
                        let ate = cell.iter().map(|r| r.ate_true).sum::<f64>() / cell.len() as f64;
                        vec![HLine { y: ate, label: "true ATE (mean over test sets)".into() }]
                    } else {
                        Vec::new()
                    };
                    Panel {
                        title: assignment_title(a),
                        x_label: "target sample size (log scale)".into(),
                        y_label: y_label.into(),
                        x_scale: Scale::Log,
                        y_scale,
                        x_ticks: target_ticks.clone(),
                        series,
                        hlines,
                    }
                })
                .collect()
        };
        out.push(Figure {
            name: format!("sim1_pehe_by_target_s{s}"),
            title: format!("Simulation 1: ε_PEHE by target size, source n = {s}"),
            cols: 2,
            panels: by_target(|r| r.pehe, PEHE_LABEL, Scale::Auto, false),
        });
        out.push(Figure {
            name: format!("sim1_ite_mean_s{s}"),
            title: format!("Simulation 1: mean predicted ITE by target size, source n = {s}"),
            cols: 2,
            panels: by_target(|r| r.ite_mean, "mean predicted ITE on test units", Scale::Linear, true),
        });
        out.push(Figure {
            name: format!("sim1_ite_sd_s{s}"),
            title: format!("Simulation 1: sd of predicted ITE by target size, source n = {s}"),
            cols: 2,
            panels: by_target(|r| r.ite_sd, "sd of predicted ITE on test units", Scale::Auto, false),
        });
    }
    out
}

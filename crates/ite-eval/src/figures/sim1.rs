//! Simulation 1 figures: ε_PEHE by source size (a line per target size) and by target size (a
//! line per method), and the mean and sd of the predicted ITE by target size.

use super::style::{Figure, HLine, Panel, Scale, Series, color};
use super::{PEHE_LABEL, assignment_title, assignments, is_selection, method_series, methods, points_by, sizes, stem};
use crate::results::ResultRow;

/// All Simulation 1 figures of `rows` (already filtered to the experiment).
pub(super) fn figures(rows: &[&ResultRow]) -> Vec<Figure> {
    let assigns = assignments(rows);
    let methods = methods(rows);
    let sources = sizes(rows, |r| r.source_n);
    let mut out = Vec::new();
    // ε_PEHE against source size, one line per target size, for each method that uses a source.
    for m in methods.iter().filter(|m| m.as_str() != "target-only" && !is_selection(m)) {
        out.push(pehe_by_source(rows, m, &assigns, &sources));
    }
    // By target size, one figure family per source size.
    for &s in &sources {
        let at_s: Vec<&ResultRow> = rows.iter().copied().filter(|r| r.source_n == s).collect();
        let by_target = ByTarget::new(&at_s, &assigns, &methods);
        out.push(Figure {
            name: format!("sim1_pehe_by_target_s{s}"),
            title: format!("Simulation 1: ε_PEHE by target size, source n = {s}"),
            cols: 2,
            panels: by_target.panels(|r| r.pehe, PEHE_LABEL, Scale::Auto, false),
        });
        out.push(Figure {
            name: format!("sim1_ite_mean_s{s}"),
            title: format!("Simulation 1: mean predicted ITE by target size, source n = {s}"),
            cols: 2,
            panels: by_target.panels(|r| r.ite_mean, "mean predicted ITE on test units", Scale::Linear, true),
        });
        out.push(Figure {
            name: format!("sim1_ite_sd_s{s}"),
            title: format!("Simulation 1: sd of predicted ITE by target size, source n = {s}"),
            cols: 2,
            panels: by_target.panels(|r| r.ite_sd, "sd of predicted ITE on test units", Scale::Auto, false),
        });
    }
    out
}

/// ε_PEHE of method `m` against source size, a line per target size, a panel per assignment.
fn pehe_by_source(rows: &[&ResultRow], m: &str, assigns: &[String], sources: &[usize]) -> Figure {
    let of_m: Vec<&ResultRow> = rows.iter().copied().filter(|r| r.method == m).collect();
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
                x_ticks: sources.iter().map(|&s| s as f64).collect(),
                series,
                hlines: Vec::new(),
            }
        })
        .collect();
    Figure {
        name: format!("sim1_pehe_by_source_{}", stem(m)),
        title: format!("Simulation 1: ε_PEHE by source size, {m}"),
        cols: 2,
        panels,
    }
}

/// The rows of one source size, drawn against target size with a line per method.
struct ByTarget<'a> {
    at_s: &'a [&'a ResultRow],
    assigns: &'a [String],
    methods: &'a [String],
    target_ticks: Vec<f64>,
}

impl<'a> ByTarget<'a> {
    fn new(at_s: &'a [&'a ResultRow], assigns: &'a [String], methods: &'a [String]) -> Self {
        let target_ticks = sizes(at_s, |r| r.target_n).iter().map(|&t| t as f64).collect();
        ByTarget { at_s, assigns, methods, target_ticks }
    }

    /// A panel per assignment of `metric` against target size; `true_ate` adds the mean true ATE
    /// of the panel's rows as a horizontal line.
    fn panels(&self, metric: fn(&ResultRow) -> f64, y_label: &str, y_scale: Scale, true_ate: bool) -> Vec<Panel> {
        self.assigns
            .iter()
            .map(|a| {
                let cell: Vec<&ResultRow> = self.at_s.iter().copied().filter(|r| &r.assignment == a).collect();
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
                    x_ticks: self.target_ticks.clone(),
                    series: method_series(&cell, self.methods, |r| r.target_n as f64, metric),
                    hlines,
                }
            })
            .collect()
    }
}

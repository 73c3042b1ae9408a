//! The study's figures drawn from result rows, as PNG and SVG files: Simulation 1 (ε_PEHE by
//! source and target size, mean and sd of the predicted ITE) and Simulation 2 (ε_PEHE against
//! the mismatch level per shift kind, the transfer − target-only gap against CITA).
//!
//! Every point is a mean over replications with an error bar of ±1 standard error
//! ([`Summary`]). ε_PEHE is the *mean square* ITE error throughout (not its
//! root). Text is drawn with the DejaVu Sans font shipped inside the crate, so no system font is
//! needed.
//!
//! Files written by [`draw_all`] (stems; each as `.png` and `.svg`):
//!
//! | experiment | stem | content |
//! |---|---|---|
//! | sim1 | `sim1_pehe_by_source_{method}` | ε_PEHE against source n, a line per target n; a panel per assignment; one file per method that uses a source model |
//! | sim1 | `sim1_pehe_by_target_s{n}` | ε_PEHE against target n, a line per method; one file per source n |
//! | sim1 | `sim1_ite_mean_s{n}` | mean predicted ITE against target n, with the true ATE as a line |
//! | sim1 | `sim1_ite_sd_s{n}` | sd of the predicted ITE against target n |
//! | sim2 | `sim2_pehe_by_level_s{n}_t{m}` | ε_PEHE against shift level, a line per method; a panel per (assignment, shift) |
//! | sim2 | `sim2_gap_vs_cita_{method}` | ε_PEHE(method) − ε_PEHE(target-only), paired by replication, against mean CITA; one point per cell |
//!
//! A grid's selection methods (`auto-r-loss`, `auto-dr`, `auto-pehe-nn`, `oracle`) are drawn as
//! lines next to the fixed strategies (after them in the legend; `oracle` in black), but get no
//! per-method figure of their own (`sim1_pehe_by_source_*`, `sim2_gap_vs_cita_*`): their rows
//! mix strategies, and `cita.csv` reads CITA instead.
//!
//! [`draw_distribution`] draws overlaid histograms with marked estimates ([`Distribution`]):
//! the ITE distribution and propensity overlap figures of `ite fit` and `ite transfer`.

mod dist;
mod sim1;
mod sim2;
mod style;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ite_core::CoreError;
use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingBackend, IntoDrawingArea, SVGBackend};

use crate::error::EvalError;
use crate::grid::SELECTION_METHODS;
use crate::results::ResultRow;
use crate::summary::Summary;
use style::{Figure, Point, Series};

pub use dist::{Distribution, Marker, Sample, draw_distribution};
pub use style::Ticked;

/// A figure that can be drawn on any plotters backend (the grid figures and the distributions).
trait Drawable {
    /// File stem.
    fn name(&self) -> &str;
    /// Draws the figure onto `root`; the error is a message.
    fn render<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

impl Drawable for Figure {
    fn name(&self) -> &str {
        &self.name
    }

    fn render<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        style::render(root, self)
    }
}

/// Draws every figure of `experiment` (`sim1` or `sim2`) from `rows` into `dir` as PNG and SVG
/// files (900 × 600 pixels) and returns their paths, PNG before SVG for each figure.
///
/// Rows of other experiments are ignored. `dir` is created when missing; each file is written
/// under a temporary name and renamed, so a file that exists is complete. Grids with a single
/// size or level, or a single replication (no error bar), are drawn too.
///
/// # Errors
/// [`EvalError::Settings`] for an unknown experiment, [`EvalError::Empty`] when no row
/// belongs to the experiment, [`EvalError::Core`] when `dir` or a file cannot be written, and
/// [`EvalError::Figure`] when drawing fails.
///
/// ```no_run
/// # fn main() -> Result<(), ite_eval::EvalError> {
/// let rows = ite_eval::read_results(std::path::Path::new("out/results.csv"))?;
/// let files = ite_eval::figures::draw_all(&rows, "sim1", std::path::Path::new("out/figures"))?;
/// assert!(files.iter().all(|f| f.exists()));
/// # Ok(()) }
/// ```
pub fn draw_all(rows: &[ResultRow], experiment: &str, dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let figures = build(rows, experiment)?;
    style::register_font().map_err(|message| EvalError::Figure { path: dir.display().to_string(), message })?;
    std::fs::create_dir_all(dir).map_err(|e| CoreError::Io { path: dir.to_path_buf(), error: e })?;
    let mut out = Vec::with_capacity(figures.len() * 2);
    for fig in &figures {
        out.push(write_png(fig, dir)?);
        out.push(write_svg(fig, dir)?);
    }
    Ok(out)
}

/// The figures of `experiment` (without drawing them).
fn build(rows: &[ResultRow], experiment: &str) -> Result<Vec<Figure>, EvalError> {
    let builder: fn(&[&ResultRow]) -> Vec<Figure> = match experiment {
        "sim1" => sim1::figures,
        "sim2" => sim2::figures,
        other => {
            return Err(ite_core::SettingsError::text("experiment", other, "sim1 or sim2").into());
        }
    };
    let mine: Vec<&ResultRow> =
        rows.iter().filter(|r| r.experiment == experiment && r.pehe.is_finite() && r.ite_mean.is_finite()).collect();
    if mine.is_empty() {
        return Err(EvalError::Empty(format!(
            "figures of `{experiment}`: no result rows of that experiment ({} rows given)",
            rows.len()
        )));
    }
    let figs = builder(&mine);
    if figs.is_empty() {
        return Err(EvalError::Empty(format!("figures of `{experiment}`: the rows make no figure")));
    }
    Ok(figs)
}

/// Writes `fig` as `dir/{name}.png` via a temporary file in `dir`.
fn write_png(fig: &impl Drawable, dir: &Path) -> Result<PathBuf, EvalError> {
    let path = dir.join(format!("{}.png", fig.name()));
    // The bitmap encoder picks the format from the extension, so the temporary name ends in .png.
    let tmp = dir.join(format!(".tmp-{}-{}.png", std::process::id(), fig.name()));
    let drawn = {
        let root = BitMapBackend::new(&tmp, style::SIZE).into_drawing_area();
        fig.render(&root)
    };
    if let Err(message) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(EvalError::Figure { path: path.display().to_string(), message });
    }
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CoreError::Io { path: path.clone(), error: e }
    })?;
    Ok(path)
}

/// Writes `fig` as `dir/{name}.svg` atomically.
fn write_svg(fig: &impl Drawable, dir: &Path) -> Result<PathBuf, EvalError> {
    let path = dir.join(format!("{}.svg", fig.name()));
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, style::SIZE).into_drawing_area();
        fig.render(&root).map_err(|message| EvalError::Figure { path: path.display().to_string(), message })?;
    }
    ite_core::write_atomic(&path, |w| w.write_all(text.as_bytes()))?;
    Ok(path)
}

/// A name made safe for a file stem (letters, digits, `-`, `_`).
fn stem(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// Distinct values in first-seen order, then sorted by `order` (unknown values last, in order).
fn ordered(values: impl Iterator<Item = String>, order: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out.sort_by_key(|v| order.iter().position(|o| o == v).unwrap_or(order.len()));
    out
}

/// Methods in the order of the strategy registry, unknown names (user-registered strategies)
/// after, alphabetically, then a grid's selection methods (`auto-*`, `oracle`, in the order of
/// [`SELECTION_METHODS`]), so that they sit next to the fixed strategies in every legend.
fn methods(rows: &[&ResultRow]) -> Vec<String> {
    let mut m = ordered(rows.iter().map(|r| r.method.clone()), &[]);
    m.sort_by_key(|v| {
        let builtin = ite_transfer::STRATEGY_NAMES.iter().position(|o| o == v);
        let selection = SELECTION_METHODS.iter().position(|o| o == v);
        let class = if builtin.is_some() {
            0
        } else if selection.is_some() {
            2
        } else {
            1
        };
        (class, builtin.or(selection).unwrap_or(0), v.clone())
    });
    m
}

/// Whether `method` is a grid's selection method (drawn among the methods, left out of the
/// per-method figures of a source-using strategy).
fn is_selection(method: &str) -> bool {
    SELECTION_METHODS.contains(&method)
}

/// Assignments present, randomized first.
fn assignments(rows: &[&ResultRow]) -> Vec<String> {
    ordered(rows.iter().map(|r| r.assignment.clone()), &["randomized", "biased"])
}

/// Sorted distinct values of an integer column.
fn sizes(rows: &[&ResultRow], f: impl Fn(&ResultRow) -> usize) -> Vec<usize> {
    let mut v: Vec<usize> = rows.iter().map(|r| f(r)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A readable name of an assignment.
fn assignment_title(a: &str) -> String {
    match a {
        "randomized" => "randomized target".into(),
        "biased" => "non-randomized target".into(),
        other => format!("{other} target"),
    }
}

/// Points (x, mean ± se of `metric`) over the rows grouped by `x`, sorted by x.
fn points_by(rows: &[&ResultRow], x: impl Fn(&ResultRow) -> f64, metric: impl Fn(&ResultRow) -> f64) -> Vec<Point> {
    let mut groups: BTreeMap<u64, (f64, Vec<f64>)> = BTreeMap::new();
    for r in rows {
        let xv = x(r);
        let v = metric(r);
        if v.is_finite() && xv.is_finite() {
            groups.entry(order_key(xv)).or_insert_with(|| (xv, Vec::new())).1.push(v);
        }
    }
    groups
        .into_values()
        .filter_map(|(xv, vals)| Summary::of(&vals).map(|s| Point { x: xv, mean: s.mean, se: s.se }))
        .collect()
}

/// A line per method (in `methods` order, colored by method) of `metric` against `x` over
/// `rows`; methods without a point are left out.
fn method_series(
    rows: &[&ResultRow],
    methods: &[String],
    x: impl Fn(&ResultRow) -> f64 + Copy,
    metric: impl Fn(&ResultRow) -> f64 + Copy,
) -> Vec<Series> {
    methods
        .iter()
        .filter_map(|m| {
            let of_m: Vec<&ResultRow> = rows.iter().copied().filter(|r| &r.method == m).collect();
            let points = points_by(&of_m, x, metric);
            (!points.is_empty()).then(|| Series { label: m.clone(), color: style::method_color(m), line: true, points })
        })
        .collect()
}

/// A u64 that sorts like the f64 (total order).
fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// Axis label of ε_PEHE.
const PEHE_LABEL: &str = "ε_PEHE (mean squared ITE error)";

#[cfg(test)]
mod tests;

//! Figure model (panels, series, error bars) and its rendering with plotters: shared by the
//! Simulation 1 and 2 figures. Text uses the DejaVu Sans font shipped in `assets/`, so no system
//! font or fontconfig is needed.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The font every figure uses, registered as plotters' `sans-serif` family.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Subtitle of every figure: what the points and bars are.
pub(crate) const NOTE: &str = "points: mean over replications; bars: ±1 standard error";

/// Width and height of every figure, in pixels.
pub(crate) const SIZE: (u32, u32) = (900, 600);

/// Registers the shipped font once; the error is a message.
pub(crate) fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the shipped font DejaVuSans.ttf is not a valid font".to_string())
    })
    .clone()
}

/// One point of a series: x, the mean of the metric and its standard error (0 = no bar).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub x: f64,
    pub mean: f64,
    pub se: f64,
}

/// A line (or a cloud of points) with a legend label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub label: String,
    pub color: RGBColor,
    /// Join the points with a line (false: scatter).
    pub line: bool,
    pub points: Vec<Point>,
}

/// How an axis is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    Linear,
    Log,
    /// Log when every value is positive and they span more than a factor 10, else linear.
    Auto,
}

/// A horizontal reference line with a legend label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HLine {
    pub y: f64,
    pub label: String,
}

/// One chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_scale: Scale,
    pub y_scale: Scale,
    /// Tick at exactly these x values (the grid's sizes or levels); empty: nice ticks.
    pub x_ticks: Vec<f64>,
    pub series: Vec<Series>,
    pub hlines: Vec<HLine>,
}

/// A figure: panels on a grid with `cols` columns, one shared legend below them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    /// File stem (`sim1_pehe_by_target_s5000`).
    pub name: String,
    pub title: String,
    pub cols: usize,
    pub panels: Vec<Panel>,
}

/// Okabe–Ito colours (distinct for colour-blind readers), black last.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(0, 0, 0),
];

/// The i-th palette colour (wrapping).
pub(crate) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A fixed colour per strategy name, so a method looks the same in every figure.
pub(crate) fn method_color(method: &str) -> RGBColor {
    match method {
        "staged-alignment" => PALETTE[0],
        "target-only" => PALETTE[1],
        "fine-tune" => PALETTE[2],
        "freeze-representation" => PALETTE[3],
        "l2-sp" => PALETTE[4],
        "pooled" => PALETTE[5],
        "source-only" => PALETTE[6],
        // A grid's selection methods: dark shades apart from the strategies', the oracle black.
        "auto-r-loss" => RGBColor(153, 0, 0),
        "auto-dr" => RGBColor(102, 51, 153),
        "auto-pehe-nn" => RGBColor(140, 90, 30),
        "oracle" => PALETTE[7],
        other => PALETTE[other.bytes().map(usize::from).sum::<usize>() % PALETTE.len()],
    }
}

/// A number as a short tick label: integers plainly, others with 3 significant digits.
pub(crate) fn fmt_num(v: f64) -> String {
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

/// About `n` round ticks (1, 2, 5 × 10^k steps) covering [lo, hi].
pub(crate) fn linear_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 {
        return vec![lo];
    }
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// Ticks 1, 2, 5 × 10^k inside [lo, hi] (all of them, or only powers of ten when too many).
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut k = lo.log10().floor() as i32 - 1;
    while 10f64.powi(k) <= hi {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(k);
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        k += 1;
    }
    if out.len() > 9 {
        out.retain(|v| (v.log10() - v.log10().round()).abs() < 1e-9);
    }
    if out.len() < 2 {
        out = vec![lo, hi];
    }
    out
}

/// Resolves `Auto` given the values on the axis.
fn resolve(scale: Scale, values: &[f64]) -> bool {
    match scale {
        Scale::Linear => false,
        Scale::Log => values.iter().all(|v| *v > 0.0),
        Scale::Auto => {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            min > 0.0 && max / min > 10.0
        }
    }
}

/// Range of an axis from its values, padded; a single value gets a range around it.
fn axis_range(values: &[f64], log: bool) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let (l, h) = (lo.ln(), hi.ln());
        let pad = if h > l { (h - l) * 0.08 } else { 2f64.ln() };
        ((l - pad).exp(), (h + pad).exp())
    } else {
        let pad = if hi > lo { (hi - lo) * 0.08 } else { (lo.abs() * 0.2).max(0.5) };
        (lo - pad, hi + pad)
    }
}

/// A drawing error as text.
pub(crate) fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draws `fig` onto `root` (any plotters backend); the error is a message.
pub(crate) fn render<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<(), String> {
    root.fill(&WHITE).map_err(err)?;
    let body = root.titled(&fig.title, ("sans-serif", 20)).map_err(err)?;
    let body = body.titled(NOTE, ("sans-serif", 13)).map_err(err)?;
    // Legend entries: every distinct series label (first colour wins), then reference lines.
    // (label, colour, line, marker)
    let mut entries: Vec<(String, RGBColor, bool, bool)> = Vec::new();
    for p in &fig.panels {
        for s in &p.series {
            if !entries.iter().any(|e| e.0 == s.label) {
                entries.push((s.label.clone(), s.color, s.line, true));
            }
        }
    }
    for p in &fig.panels {
        for h in &p.hlines {
            if !entries.iter().any(|e| e.0 == h.label) {
                entries.push((h.label.clone(), BLACK, true, false));
            }
        }
    }
    let font: TextStyle = ("sans-serif", 14).into();
    let (width, height) = body.dim_in_pixel();
    // Lay the legend out in rows.
    let mut placed = Vec::new();
    let (mut x, mut row) = (12i32, 0i32);
    for e in &entries {
        let (tw, _) = body.estimate_text_size(&e.0, &font).map_err(err)?;
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
    for (x, row, (label, colour, line, marker)) in placed {
        let y = 12 + 22 * row;
        if *line {
            legend.draw(&PathElement::new(vec![(x, y), (x + 22, y)], colour.stroke_width(2))).map_err(err)?;
        }
        if *marker {
            legend.draw(&Circle::new((x + 11, y), 4, colour.filled())).map_err(err)?;
        }
        legend
            .draw(&Text::new(label.clone(), (x + 28, y), font.pos(Pos::new(HPos::Left, VPos::Center))))
            .map_err(err)?;
    }
    let cols = fig.cols.clamp(1, fig.panels.len().max(1));
    let rows = fig.panels.len().div_ceil(cols).max(1);
    let areas = charts.split_evenly((rows, cols));
    for (panel, area) in fig.panels.iter().zip(areas.iter()) {
        draw_panel(area, panel)?;
    }
    root.present().map_err(err)
}

/// Draws one panel, choosing linear or log axes.
fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> Result<(), String> {
    let xs: Vec<f64> =
        p.series.iter().flat_map(|s| s.points.iter().map(|q| q.x)).chain(p.x_ticks.iter().copied()).collect();
    let x_log = resolve(p.x_scale, &xs);
    let means: Vec<f64> = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.mean)).collect();
    let y_log = resolve(p.y_scale, &means);
    // Error-bar ends; on a log axis a lower end at or below zero is cut at the smallest mean / 2.
    let floor = means.iter().copied().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min) / 2.0;
    let mut ys: Vec<f64> = Vec::new();
    for s in &p.series {
        for q in &s.points {
            ys.push(q.mean);
            if q.se > 0.0 {
                let lo = q.mean - q.se;
                ys.push(if y_log && lo <= 0.0 { floor } else { lo });
                ys.push(q.mean + q.se);
            }
        }
    }
    ys.extend(p.hlines.iter().map(|h| h.y).filter(|y| !y_log || *y > 0.0));
    let xr = axis_range(&xs, x_log);
    let yr = axis_range(&ys, y_log);
    let x_ticks: Vec<f64> = if p.x_ticks.is_empty() {
        if x_log { log_ticks(xr.0, xr.1) } else { linear_ticks(xr.0, xr.1, 8) }
    } else {
        p.x_ticks.clone()
    };
    let y_ticks = if y_log { log_ticks(yr.0, yr.1) } else { linear_ticks(yr.0, yr.1, 8) };
    let geo = Geometry { xr, yr, x_log, y_log, floor };
    let lin = |r: (f64, f64), ticks: Vec<f64>| Ticked { inner: RangedCoordf64::from(r.0..r.1), ticks };
    let log = |r: (f64, f64), ticks: Vec<f64>| Ticked { inner: LogCoord::from((r.0..r.1).log_scale()), ticks };
    match (x_log, y_log) {
        (false, false) => chart(area, p, &geo, lin(xr, x_ticks), lin(yr, y_ticks)),
        (true, false) => chart(area, p, &geo, log(xr, x_ticks), lin(yr, y_ticks)),
        (false, true) => chart(area, p, &geo, lin(xr, x_ticks), log(yr, y_ticks)),
        (true, true) => chart(area, p, &geo, log(xr, x_ticks), log(yr, y_ticks)),
    }
}

/// An axis (linear or log) with ticks at given values and no minor grid lines: wraps a
/// plotters coordinate (`RangedCoordf64`, `LogCoord<f64>`) and replaces its key points by
/// `ticks`. Used by the grid figures and by `examples/study_comparison.rs`.
pub struct Ticked<R> {
    /// The coordinate that maps values to pixels.
    pub inner: R,
    /// The values that get a tick and a grid line (in axis units).
    pub ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> std::ops::Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

/// Axis ranges and scales of a panel.
struct Geometry {
    xr: (f64, f64),
    yr: (f64, f64),
    x_log: bool,
    y_log: bool,
    /// Where error bars that would reach zero on a log axis stop.
    floor: f64,
}

/// Draws a panel on the given coordinate system.
fn chart<DB, X, Y>(area: &DrawingArea<DB, Shift>, p: &Panel, g: &Geometry, x: X, y: Y) -> Result<(), String>
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
        .map_err(err)?;
    let fmt = |v: &f64| fmt_num(*v);
    c.configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    for h in &p.hlines {
        if g.y_log && h.y <= 0.0 {
            continue;
        }
        c.draw_series(std::iter::once(PathElement::new(vec![(g.xr.0, h.y), (g.xr.1, h.y)], BLACK.stroke_width(1))))
            .map_err(err)?;
    }
    let n = p.series.len();
    for (k, s) in p.series.iter().enumerate() {
        // Dodge overlapping error bars: shift series sideways by a little of the axis width.
        let off = if n > 1 && s.line { (k as f64 - (n - 1) as f64 / 2.0) * 0.008 } else { 0.0 };
        let shift = |x: f64| {
            if g.x_log { x * ((g.xr.1 / g.xr.0).ln() * off).exp() } else { x + (g.xr.1 - g.xr.0) * off }
        };
        let pts: Vec<(f64, f64)> = s.points.iter().map(|q| (shift(q.x), q.mean)).collect();
        let style = s.color.stroke_width(2);
        if s.line && pts.len() > 1 {
            c.draw_series(LineSeries::new(pts.clone(), style)).map_err(err)?;
        }
        let bars: Vec<(f64, f64, f64)> = s
            .points
            .iter()
            .filter(|q| q.se > 0.0)
            .map(|q| {
                let lo = q.mean - q.se;
                (shift(q.x), if g.y_log && lo <= 0.0 { g.floor.max(g.yr.0) } else { lo }, q.mean + q.se)
            })
            .collect();
        let thin = s.color.stroke_width(1);
        c.draw_series(bars.iter().map(|&(x, lo, hi)| PathElement::new(vec![(x, lo), (x, hi)], thin))).map_err(err)?;
        c.draw_series(bars.iter().flat_map(|&(x, lo, hi)| {
            [lo, hi].map(|y| EmptyElement::at((x, y)) + PathElement::new(vec![(-4, 0), (4, 0)], thin))
        }))
        .map_err(err)?;
        c.draw_series(pts.iter().map(|&q| Circle::new(q, if s.line { 3 } else { 4 }, s.color.filled())))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short_and_exact() {
        assert_eq!(fmt_num(5000.0), "5000");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(0.1234), "0.123");
        assert_eq!(fmt_num(2.0), "2");
        assert_eq!(fmt_num(-0.5), "-0.5");
    }

    #[test]
    fn ticks_cover_the_range() {
        assert_eq!(linear_ticks(0.0, 1.0, 4), vec![0.0, 0.5, 1.0]);
        assert_eq!(log_ticks(0.05, 3.0), vec![0.05, 0.1, 0.2, 0.5, 1.0, 2.0]);
        assert!(resolve(Scale::Auto, &[0.05, 2.0]));
        assert!(!resolve(Scale::Auto, &[0.5, 2.0]));
        assert!(!resolve(Scale::Auto, &[-0.5, 20.0]));
    }
}

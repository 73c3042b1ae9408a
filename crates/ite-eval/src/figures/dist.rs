//! Distribution figures: overlaid histograms of one or more samples (predicted ITEs of a fit or
//! of several transfer strategies, estimated propensities per arm), with vertical markers (an
//! estimate, with its interval shaded). Drawn by `ite fit` and `ite transfer` into
//! `OUT/figures/`.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::style::{self, Ticked, color, err, fmt_num, linear_ticks};
use crate::error::EvalError;
use ite_core::CoreError;

/// One sample drawn as a histogram (its share of values per bin, so samples of different sizes
/// compare).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Legend label (the number of values is appended).
    pub label: String,
    /// The values; values that are not finite are left out.
    pub values: Vec<f64>,
}

/// A vertical line at `at` with a legend label, and optionally an interval shaded around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Legend label (empty: no legend entry, e.g. the second of two limits).
    pub label: String,
    /// Where the line is, in axis units.
    pub at: f64,
    /// The interval shaded behind the line (lower, upper).
    pub interval: Option<(f64, f64)>,
}

/// A figure of overlaid histograms with markers.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// File stem (`ite_distribution`).
    pub name: String,
    /// Title.
    pub title: String,
    /// A line under the title (what the bars and lines are).
    pub subtitle: String,
    /// Label of the x axis.
    pub x_label: String,
    /// The samples, drawn in order (colours of the figures' palette).
    pub samples: Vec<Sample>,
    /// The markers, drawn over the bars.
    pub markers: Vec<Marker>,
    /// Fixed x range (e.g. [0, 1] for propensities); `None`: the range of values and markers.
    pub range: Option<(f64, f64)>,
}

/// Number of bins: Sturges' rule on the largest sample, between 10 and 50.
fn bin_count(n: usize) -> usize {
    ((n.max(1) as f64).log2().ceil() as usize + 1).clamp(10, 50)
}

/// The finite values of `s`.
fn finite(s: &Sample) -> Vec<f64> {
    s.values.iter().copied().filter(|v| v.is_finite()).collect()
}

/// The x range: `fig.range`, or the values' and markers' range padded by 5% (a single value
/// gets ±0.5).
fn x_range(fig: &Distribution, samples: &[Vec<f64>]) -> (f64, f64) {
    if let Some(r) = fig.range {
        return r;
    }
    let marks = fig.markers.iter().flat_map(|m| {
        let (lo, hi) = m.interval.unwrap_or((m.at, m.at));
        [m.at, lo, hi]
    });
    let all = samples.iter().flatten().copied().chain(marks).filter(|v| v.is_finite());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi > lo {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

/// Shares of `values` per bin of `[lo, hi]` (`bins` equal bins; values outside the range go to
/// the nearest end bin).
fn shares(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let mut counts = vec![0usize; bins];
    let width = (hi - lo) / bins as f64;
    for &v in values {
        let k = ((v - lo) / width).floor();
        let k = if k.is_finite() { (k.max(0.0) as usize).min(bins - 1) } else { 0 };
        counts[k] += 1;
    }
    let n = values.len().max(1) as f64;
    counts.into_iter().map(|c| c as f64 / n).collect()
}

/// Checks that `fig` has something to draw.
fn check(fig: &Distribution) -> Result<Vec<Vec<f64>>, EvalError> {
    let samples: Vec<Vec<f64>> = fig.samples.iter().map(finite).collect();
    if samples.iter().all(Vec::is_empty) {
        return Err(EvalError::Empty(format!("figure `{}`: no finite value to draw", fig.name)));
    }
    if let Some((lo, hi)) = fig.range
        && !(lo.is_finite() && hi.is_finite() && lo < hi)
    {
        return Err(EvalError::Empty(format!("figure `{}`: range [{lo}, {hi}] is empty", fig.name)));
    }
    Ok(samples)
}

/// Draws `fig` into `dir` as `{name}.png` and `{name}.svg` (900 × 600 pixels, each written
/// under a temporary name and renamed; `dir` is created when missing) and returns their paths,
/// PNG first.
///
/// # Errors
/// [`EvalError::Empty`] when no sample has a finite value or the fixed range is empty,
/// [`EvalError::Core`] when `dir` or a file cannot be written, [`EvalError::Figure`] when
/// drawing fails.
///
/// ```
/// use ite_eval::figures::{Distribution, Marker, Sample, draw_distribution};
/// let fig = Distribution {
///     name: "ite_distribution".into(),
///     title: "Predicted ITE".into(),
///     subtitle: "bars: share of units per bin".into(),
///     x_label: "ITE".into(),
///     samples: vec![Sample { label: "tarnet".into(), values: vec![0.5, 1.0, 1.2, 2.0] }],
///     markers: vec![Marker { label: "ATE 1.1 [0.4, 1.8]".into(), at: 1.1, interval: Some((0.4, 1.8)) }],
///     range: None,
/// };
/// let dir = tempfile::tempdir()?;
/// let files = draw_distribution(&fig, dir.path())?;
/// assert_eq!(files.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn draw_distribution(fig: &Distribution, dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    check(fig)?;
    style::register_font().map_err(|message| EvalError::Figure { path: dir.display().to_string(), message })?;
    std::fs::create_dir_all(dir).map_err(|e| CoreError::Io { path: dir.to_path_buf(), error: e })?;
    Ok(vec![super::write_png(fig, dir)?, super::write_svg(fig, dir)?])
}

impl super::Drawable for Distribution {
    fn name(&self) -> &str {
        &self.name
    }

    fn render<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        render(root, self)
    }
}

/// Draws `fig` onto `root`.
fn render<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Distribution) -> Result<(), String> {
    let samples = check(fig).map_err(|e| e.to_string())?;
    let (lo, hi) = x_range(fig, &samples);
    let bins = bin_count(samples.iter().map(Vec::len).max().unwrap_or(1));
    let width = (hi - lo) / bins as f64;
    let heights: Vec<Vec<f64>> = samples.iter().map(|v| shares(v, lo, hi, bins)).collect();
    // Headroom above the tallest bar for the legend (upper right), one band per entry, so that
    // the legend never covers a bar.
    let entries = fig.samples.len() + fig.markers.iter().filter(|m| !m.label.is_empty()).count();
    let headroom = (0.06 + 0.055 * entries as f64).min(0.5);
    let top = heights.iter().flatten().copied().fold(0.0f64, f64::max).max(1e-9) / (1.0 - headroom);
    root.fill(&WHITE).map_err(err)?;
    let body = root.titled(&fig.title, ("sans-serif", 20)).map_err(err)?;
    let body = body.titled(&fig.subtitle, ("sans-serif", 13)).map_err(err)?;
    let x = Ticked { inner: RangedCoordf64::from(lo..hi), ticks: linear_ticks(lo, hi, 8) };
    let y = Ticked { inner: RangedCoordf64::from(0.0..top), ticks: linear_ticks(0.0, top, 6) };
    let mut c = ChartBuilder::on(&body)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(62)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    let fmt = |v: &f64| fmt_num(*v);
    c.configure_mesh()
        .x_desc(fig.x_label.as_str())
        .y_desc("share of units per bin")
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    for m in &fig.markers {
        if let Some((a, b)) = m.interval {
            let shade = RGBColor(120, 120, 120).mix(0.18).filled();
            c.draw_series(std::iter::once(Rectangle::new([(a.max(lo), 0.0), (b.min(hi), top)], shade))).map_err(err)?;
        }
    }
    for (k, (s, h)) in fig.samples.iter().zip(&heights).enumerate() {
        let col = color(k);
        let bars = h.iter().enumerate().map(|(j, &v)| {
            let x0 = lo + width * j as f64;
            Rectangle::new([(x0, 0.0), (x0 + width, v)], col.mix(0.25).filled())
        });
        c.draw_series(bars).map_err(err)?;
        let mut outline = vec![(lo, 0.0)];
        for (j, &v) in h.iter().enumerate() {
            let x0 = lo + width * j as f64;
            outline.extend([(x0, v), (x0 + width, v)]);
        }
        outline.push((hi, 0.0));
        let n = samples[k].len();
        c.draw_series(std::iter::once(PathElement::new(outline, col.stroke_width(2))))
            .map_err(err)?
            .label(format!("{} (n = {n})", s.label))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], col.mix(0.5).filled()));
    }
    // A marker without a label continues the one before it (same colour, e.g. a second limit).
    let mut labelled = 0usize;
    for m in &fig.markers {
        labelled += usize::from(!m.label.is_empty());
        let col = if labelled <= 1 { BLACK } else { RGBColor(153, 0, 0) };
        let line = c
            .draw_series(std::iter::once(PathElement::new(vec![(m.at, 0.0), (m.at, top)], col.stroke_width(2))))
            .map_err(err)?;
        if !m.label.is_empty() {
            line.label(m.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
        }
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(samples: Vec<Sample>, range: Option<(f64, f64)>) -> Distribution {
        Distribution {
            name: "d".into(),
            title: "t".into(),
            subtitle: "s".into(),
            x_label: "x".into(),
            samples,
            markers: vec![Marker { label: "m".into(), at: 0.5, interval: Some((0.2, 0.8)) }],
            range,
        }
    }

    #[test]
    fn shares_sum_to_one_and_outliers_land_in_the_end_bins() {
        let s = shares(&[-5.0, 0.05, 0.55, 0.95, 7.0], 0.0, 1.0, 10);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(s[0], 0.4);
        assert_eq!(s[9], 0.4);
        assert_eq!(s[5], 0.2);
    }

    #[test]
    fn writes_png_and_svg_and_refuses_nothing_to_draw() {
        let dir = tempfile::tempdir().unwrap();
        let a = Sample { label: "a".into(), values: vec![0.1, 0.2, 0.25, f64::NAN] };
        let b = Sample { label: "b".into(), values: vec![0.7, 0.8] };
        let files = draw_distribution(&fig(vec![a, b], Some((0.0, 1.0))), dir.path()).unwrap();
        let png = std::fs::read(&files[0]).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(&files[1]).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("a (n = 3)") && svg.contains("b (n = 2)"), "{svg:.300}");
        let empty = Sample { label: "e".into(), values: vec![f64::NAN] };
        assert!(matches!(draw_distribution(&fig(vec![empty], None), dir.path()), Err(EvalError::Empty(_))));
        let one = Sample { label: "o".into(), values: vec![1.0] };
        assert!(draw_distribution(&fig(vec![one], Some((1.0, 1.0))), dir.path()).is_err());
    }
}

//! The figures `ite fit` and `ite transfer` write into `OUT/figures/` (PNG and SVG, drawn by
//! `ite_eval::figures::draw_distribution`; `--no-figures` skips them):
//!
//! | stem | content |
//! |---|---|
//! | `ite_distribution` | histogram of the predicted ITEs (for `transfer`: the transferred model's, the target-only model's and the source model's, overlaid), the AIPW ATE with its interval shaded and the mean predicted ITE marked |
//! | `propensity_overlap` | histogram of the estimated propensity per arm (the cross-fitted propensities of the AIPW estimates), with the overlap limits marked |

use std::path::Path;

use anyhow::{Result, anyhow};
use ite_eval::figures::{Distribution, Marker, Sample, draw_distribution};
use serde_json::Value;

use crate::inference::{Overlap, percent};

/// The folder of OUT that holds the figures.
pub const DIR: &str = "figures";

/// `--no-figures`.
#[derive(Debug, Clone, clap::Args)]
pub struct FigureArgs {
    /// Write no figures (by default OUT/figures/ holds the ITE distribution and the propensity
    /// overlap by arm, each as PNG and SVG).
    #[arg(long)]
    pub no_figures: bool,
}

/// The markers of an ITE figure from the summary: the AIPW ATE with its interval (when there is
/// one) and the mean predicted ITE.
fn ate_markers(summary: &Value) -> Vec<Marker> {
    let mut out = Vec::new();
    let ate = &summary["ate"];
    if let Some(est) = ate["estimate"].as_f64() {
        let interval = ate["lower"].as_f64().zip(ate["upper"].as_f64());
        let d = crate::inference::decimals(ate["se"].as_f64().unwrap_or(est.abs()));
        let label = match interval {
            Some((lo, hi)) => format!(
                "ATE (AIPW) {est:.d$}, {} interval [{lo:.d$}, {hi:.d$}]",
                percent(ate["level"].as_f64().unwrap_or(0.95))
            ),
            None => format!("ATE (AIPW) {est:.d$}, no interval"),
        };
        out.push(Marker { label, at: est, interval });
    }
    if let Some(plugin) = summary["ate_plugin"]["estimate"].as_f64() {
        out.push(Marker { label: format!("mean predicted ITE {plugin:.4}"), at: plugin, interval: None });
    }
    out
}

/// The ITE distribution figure: `samples` (label, ITEs) overlaid, the estimates of `summary`
/// marked. `what` says whose ITEs they are (title). With a binary outcome (summary.json's
/// `outcome_type`) the axis says the ITEs are risk differences.
pub fn ite_figure(what: &str, samples: Vec<(String, Vec<f64>)>, summary: &Value) -> Distribution {
    let unit = if summary["outcome_type"] == "binary" { "risk difference" } else { "outcome units" };
    Distribution {
        name: "ite_distribution".into(),
        title: format!("Predicted individual treatment effects: {what}"),
        subtitle: "bars: share of predicted rows per bin; line: the ATE (AIPW) with its interval shaded".into(),
        x_label: format!("predicted ITE, μ̂1(x) − μ̂0(x) ({unit})"),
        samples: samples.into_iter().map(|(label, values)| Sample { label, values }).collect(),
        markers: ate_markers(summary),
        range: None,
    }
}

/// The propensity overlap figure of `t` with the overlap's propensities, or `None` without an
/// overlap report.
pub fn overlap_figure(overlap: Option<&Overlap>, t: &[u8]) -> Option<Distribution> {
    let o = overlap?;
    let arm = |a: u8| -> Vec<f64> { o.e.iter().zip(t).filter(|(_, ti)| **ti == a).map(|(e, _)| *e).collect() };
    let (lo, hi) = o.report.limits;
    Some(Distribution {
        name: "propensity_overlap".into(),
        title: "Propensity overlap by arm".into(),
        subtitle: format!("estimated propensity ê(x): {}", o.propensity_model),
        x_label: "estimated propensity ê(x) = P(t = 1 | x)".into(),
        samples: vec![
            Sample { label: "treated".into(), values: arm(1) },
            Sample { label: "control".into(), values: arm(0) },
        ],
        markers: vec![
            Marker { label: format!("overlap limits {lo}, {hi}"), at: lo, interval: None },
            Marker { label: String::new(), at: hi, interval: None },
        ],
        range: Some((0.0, 1.0)),
    })
}

/// The files the figures make, relative to OUT (`figures/NAME.png`, `figures/NAME.svg`), for
/// summary.json's `figures`.
pub fn files(figs: &[Distribution]) -> Vec<String> {
    figs.iter().flat_map(|f| ["png", "svg"].map(|ext| format!("{DIR}/{}.{ext}", f.name))).collect()
}

/// Draws the figures into `out/figures/` (`out`: the staging directory of OUT).
pub fn write(out: &Path, figs: &[Distribution]) -> Result<()> {
    for f in figs {
        draw_distribution(f, &out.join(DIR))
            .map_err(|e| anyhow!("figure {DIR}/{}: {e} (--no-figures skips the figures)", f.name))?;
    }
    Ok(())
}

//! Bootstrap percentile interval of the mean of per-unit values, resampling within arms.
//!
//! The interval resamples units *within arms* (so each bootstrap sample keeps the sample's
//! numbers of treated and control units) and recomputes the mean of the given values. It
//! reflects the sampling variability of those values and nothing else.
//!
//! **Not an interval for the ATE of a fitted model.** Applied to a model's predicted ITEs it
//! carries neither outcome noise nor fitting error (the predictions of one fit vary far less
//! across units than the estimate varies across samples), and it covers the true ATE a small
//! fraction of the time. It is valid when the values are unbiased per-unit estimates with
//! independent errors, such as doubly robust pseudo-outcomes. For the ATE/ATT/ATC of a model use
//! `ite_inference` (cross-fitted AIPW, or its refit bootstrap); see docs/inference.md.

use ite_core::stats::{mean_of, quantile_sorted};
use ite_core::{Params, Seed, SettingsError};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::error::MetricsError;

/// Settings of the ATE bootstrap.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `resamples` | 2000 | bootstrap samples | ≥ 100 |
/// | `level` | 0.95 | coverage of the interval | (0, 1) |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapParams {
    /// Number of bootstrap samples.
    pub resamples: usize,
    /// Coverage of the percentile interval.
    pub level: f64,
}

impl Default for BootstrapParams {
    fn default() -> Self {
        BootstrapParams { resamples: 2000, level: 0.95 }
    }
}

impl Params for BootstrapParams {
    type Error = MetricsError;
    fn validate(&self) -> Result<(), MetricsError> {
        if self.resamples < 100 {
            return Err(SettingsError::new("resamples", self.resamples, "at least 100").into());
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(SettingsError::new("level", self.level, "a number strictly between 0 and 1").into());
        }
        Ok(())
    }
}

/// An estimate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Point estimate (mean of τ̂ over the sample).
    pub estimate: f64,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Coverage level.
    pub level: f64,
}

/// Percentile bootstrap interval for mean(τ̂), resampling within arms of `t` (the percentile
/// method of Efron and Tibshirani 1993, ch. 13): `params.resamples` resamples, each drawn with
/// replacement within the treated and the control units, and the type-7 quantiles
/// ([`quantile_sorted`]) at `(1 − level)/2` and `(1 + level)/2` of their means. Valid for the
/// ATE only when the values are unbiased per-unit estimates with independent errors (see the
/// module doc); not for the predicted ITEs of one fitted model.
///
/// `ite_hat` (τ̂ per unit) and `t` (0/1 per unit) have one entry per unit. Errors:
/// [`MetricsError::Settings`] for invalid `params`, [`MetricsError::LengthMismatch`] when
/// the lengths differ, [`MetricsError::Empty`] for no units.
///
/// ```
/// use ite_core::Seed;
/// use ite_metrics::{ate_interval, BootstrapParams};
/// let ite: Vec<f64> = (0..200).map(|i| (i % 7) as f64).collect();
/// let t: Vec<u8> = (0..200).map(|i| (i % 2) as u8).collect();
/// let ci = ate_interval(&ite, &t, &BootstrapParams::default(), Seed::new(1))?;
/// assert!(ci.lower < ci.estimate && ci.estimate < ci.upper);
/// # Ok::<(), ite_metrics::MetricsError>(())
/// ```
pub fn ate_interval(ite_hat: &[f64], t: &[u8], params: &BootstrapParams, seed: Seed) -> Result<Interval, MetricsError> {
    params.validate()?;
    if ite_hat.len() != t.len() {
        return Err(MetricsError::LengthMismatch {
            what: "predicted ITE and treatment".into(),
            left: ite_hat.len(),
            right: t.len(),
        });
    }
    if ite_hat.is_empty() {
        return Err(MetricsError::Empty("predicted ITE".into()));
    }
    let arms: Vec<Vec<f64>> =
        [0u8, 1].iter().map(|&a| (0..t.len()).filter(|&i| t[i] == a).map(|i| ite_hat[i]).collect()).collect();
    let n = ite_hat.len() as f64;
    let estimate = mean_of(ite_hat.iter().copied());
    let mut rng = seed.stream("ate-bootstrap").rng();
    let mut means = Vec::with_capacity(params.resamples);
    for _ in 0..params.resamples {
        let mut s = 0.0;
        for arm in arms.iter().filter(|a| !a.is_empty()) {
            for _ in 0..arm.len() {
                s += arm[rng.random_range(0..arm.len())];
            }
        }
        means.push(s / n);
    }
    means.sort_by(f64::total_cmp);
    let alpha = (1.0 - params.level) / 2.0;
    Ok(Interval {
        estimate,
        lower: quantile_sorted(&means, alpha),
        upper: quantile_sorted(&means, 1.0 - alpha),
        level: params.level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_covers_and_has_normal_width() {
        // τ̂ with sd 1 in each arm, n = 400: the se of the mean is ≈ 1/√400 = 0.05,
        // so a 95% interval is ≈ 2 × 1.96 × 0.05 = 0.196 wide.
        let mut rng = Seed::new(3).rng();
        let ite: Vec<f64> =
            (0..400).map(|_| rand_distr::Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng)).collect();
        let t: Vec<u8> = (0..400).map(|i| u8::from(i < 150)).collect();
        let ci = ate_interval(&ite, &t, &BootstrapParams::default(), Seed::new(9)).unwrap();
        assert!(ci.lower < ci.estimate && ci.estimate < ci.upper);
        let width = ci.upper - ci.lower;
        assert!((0.16..0.24).contains(&width), "width {width}");
        // Same seed, same interval; another seed, another one.
        assert_eq!(ci, ate_interval(&ite, &t, &BootstrapParams::default(), Seed::new(9)).unwrap());
        assert_ne!(ci, ate_interval(&ite, &t, &BootstrapParams::default(), Seed::new(10)).unwrap());
    }

    #[test]
    fn constant_effects_give_a_point_interval_and_params_validate() {
        let ci = ate_interval(&[2.0; 50], &[0, 1].repeat(25), &BootstrapParams::default(), Seed::new(1)).unwrap();
        assert_eq!((ci.lower, ci.estimate, ci.upper), (2.0, 2.0, 2.0));
        let bad = BootstrapParams { level: 1.0, ..BootstrapParams::default() };
        assert!(ate_interval(&[1.0], &[1], &bad, Seed::new(1)).unwrap_err().to_string().contains("`level`"));
        let bad = BootstrapParams { resamples: 5, ..BootstrapParams::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("`resamples`"));
    }
}

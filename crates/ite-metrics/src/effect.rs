//! Metrics of ITE estimates against the truth, as plain functions.
//!
//! ε_PEHE ("precision in estimating heterogeneous effects") is the *mean
//! squared* error of the individual effects, `mean((τ̂ − τ)²)`; the TARNet paper
//! reports its root, √ε_PEHE. Functions and fields always say which:
//! [`pehe`] is the mean square, [`sqrt_pehe`] the root. All accumulate in `f64`.
//!
//! Every function errors with [`MetricsError::LengthMismatch`] when its per-unit inputs have
//! different lengths and [`MetricsError::Empty`] when they have no units.

use ite_core::PotentialOutcomes;
use ite_core::stats::{mean, mean_of, median, sd};

use crate::error::MetricsError;

fn check_len(what: &str, a: usize, b: usize) -> Result<(), MetricsError> {
    if a != b {
        return Err(MetricsError::LengthMismatch { what: what.into(), left: a, right: b });
    }
    if a == 0 {
        return Err(MetricsError::Empty(what.into()));
    }
    Ok(())
}

/// ε_PEHE = mean((τ̂ − τ)²), the mean squared error of individual effects.
///
/// ```
/// use ite_metrics::{pehe, sqrt_pehe};
/// let (est, truth) = ([1.0, 2.0], [1.0, 4.0]);
/// assert_eq!(pehe(&est, &truth)?, 2.0);
/// assert_eq!(sqrt_pehe(&est, &truth)?, 2f64.sqrt());
/// # Ok::<(), ite_metrics::MetricsError>(())
/// ```
pub fn pehe(ite_hat: &[f64], ite_true: &[f64]) -> Result<f64, MetricsError> {
    check_len("estimated and true ITE", ite_hat.len(), ite_true.len())?;
    Ok(mean_of(ite_hat.iter().zip(ite_true).map(|(a, b)| (a - b).powi(2))))
}

/// √ε_PEHE, the root of [`pehe`] (the TARNet paper's figure).
pub fn sqrt_pehe(ite_hat: &[f64], ite_true: &[f64]) -> Result<f64, MetricsError> {
    Ok(pehe(ite_hat, ite_true)?.sqrt())
}

/// ATE bias = mean(τ̂) − mean(τ).
pub fn ate_bias(ite_hat: &[f64], ite_true: &[f64]) -> Result<f64, MetricsError> {
    check_len("estimated and true ITE", ite_hat.len(), ite_true.len())?;
    Ok(mean_of(ite_hat.iter().copied()) - mean_of(ite_true.iter().copied()))
}

/// |ATE error| = |mean(τ̂) − mean(τ)|.
pub fn ate_abs_error(ite_hat: &[f64], ite_true: &[f64]) -> Result<f64, MetricsError> {
    Ok(ate_bias(ite_hat, ite_true)?.abs())
}

/// Location and spread of a set of predicted effects.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IteStats {
    /// Mean of τ̂ (the estimated ATE).
    pub mean: f64,
    /// Median of τ̂.
    pub median: f64,
    /// Sample standard deviation of τ̂ (n − 1 denominator; 0 for one value).
    pub sd: f64,
}

/// Mean, median and standard deviation of predicted effects.
pub fn ite_stats(ite_hat: &[f64]) -> Result<IteStats, MetricsError> {
    if ite_hat.is_empty() {
        return Err(MetricsError::Empty("predicted ITE".into()));
    }
    let v: Vec<f64> = ite_hat.to_vec();
    Ok(IteStats { mean: mean(&v), median: median(&v), sd: sd(&v) })
}

/// All effect metrics of predictions against the truth, in one record.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EffectMetrics {
    /// ε_PEHE, mean squared ITE error.
    pub pehe: f64,
    /// √ε_PEHE.
    pub sqrt_pehe: f64,
    /// mean(τ̂) − mean(τ).
    pub ate_bias: f64,
    /// |mean(τ̂) − mean(τ)|.
    pub ate_abs_error: f64,
    /// The true ATE, mean(τ).
    pub ate_true: f64,
    /// Statistics of τ̂.
    pub ite: IteStats,
}

/// Every effect metric of `predicted` against `truth`.
///
/// ```
/// use ite_core::PotentialOutcomes;
/// use ite_metrics::effect_metrics;
/// let truth = PotentialOutcomes::new(vec![0.0, 0.0], vec![1.0, 1.0])?;
/// let pred = PotentialOutcomes::new(vec![0.0, 0.0], vec![1.5, 0.5])?;
/// let m = effect_metrics(&pred, &truth)?;
/// assert_eq!((m.pehe, m.ate_bias), (0.25, 0.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn effect_metrics(predicted: &PotentialOutcomes, truth: &PotentialOutcomes) -> Result<EffectMetrics, MetricsError> {
    let (est, tru) = (predicted.ite(), truth.ite());
    let p = pehe(&est, &tru)?;
    let bias = ate_bias(&est, &tru)?;
    Ok(EffectMetrics {
        pehe: p,
        sqrt_pehe: p.sqrt(),
        ate_bias: bias,
        ate_abs_error: bias.abs(),
        ate_true: truth.ate(),
        ite: ite_stats(&est)?,
    })
}

/// Policy risk (Shalit et al. 2017) for a randomized sample: one minus the
/// expected outcome of the policy "treat when τ̂(x) > 0", estimated from the
/// units whose observed treatment agrees with the policy. Meant for outcomes
/// where larger is better (binary outcomes in the original use).
///
/// `R = 1 − [E(Y(1) | π=1, t=1)·p(π=1) + E(Y(0) | π=0, t=0)·p(π=0)]`.
/// Where no unit agrees with the policy in one arm, that term is 0, as in the
/// reference implementation.
pub fn policy_risk(ite_hat: &[f64], t: &[u8], y: &[f64]) -> Result<f64, MetricsError> {
    check_len("predicted ITE and treatment", ite_hat.len(), t.len())?;
    check_len("predicted ITE and outcome", ite_hat.len(), y.len())?;
    let n = ite_hat.len() as f64;
    let policy: Vec<bool> = ite_hat.iter().map(|v| *v > 0.0).collect();
    let p_treat = policy.iter().filter(|p| **p).count() as f64 / n;
    let arm_mean = |pol: bool, arm: u8| {
        let v: Vec<f64> = (0..t.len()).filter(|&i| policy[i] == pol && t[i] == arm).map(|i| y[i]).collect();
        if v.is_empty() { 0.0 } else { mean(&v) }
    };
    Ok(1.0 - (arm_mean(true, 1) * p_treat + arm_mean(false, 0) * (1.0 - p_treat)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pehe_is_mean_square_and_root() {
        let truth = [1.0, 2.0, 3.0, 4.0];
        let est = [1.5, 2.0, 2.0, 5.0];
        // squared errors 0.25, 0, 1, 1 → mean 0.5625
        assert_eq!(pehe(&est, &truth).unwrap(), 0.5625);
        assert_eq!(sqrt_pehe(&est, &truth).unwrap(), 0.75);
        assert_eq!(ate_bias(&est, &truth).unwrap(), 0.125);
        assert_eq!(ate_abs_error(&[0.0], &[0.5]).unwrap(), 0.5);
        assert!(matches!(pehe(&est, &truth[..3]), Err(MetricsError::LengthMismatch { left: 4, right: 3, .. })));
        assert!(matches!(pehe(&[], &[]), Err(MetricsError::Empty(_))));
    }

    #[test]
    fn ite_stats_match_hand_values() {
        let s = ite_stats(&[1.0, 2.0, 3.0, 10.0]).unwrap();
        assert_eq!(s.mean, 4.0);
        assert_eq!(s.median, 2.5);
        // deviations -3,-2,-1,6 → 9+4+1+36 = 50 / 3
        assert!((s.sd - (50.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(ite_stats(&[7.0]).unwrap().sd, 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    }

    #[test]
    fn policy_risk_by_hand() {
        // policy treats units 0 and 1 (τ̂ > 0); unit 0 treated (y=1), unit 1 control (disagrees);
        // units 2, 3 not treated by policy; unit 2 control (y=0.5), unit 3 treated (disagrees).
        let r = policy_risk(&[1.0, 0.5, -1.0, -0.2], &[1, 0, 0, 1], &[1.0, 9.0, 0.5, 9.0]).unwrap();
        assert!((r - (1.0 - (1.0 * 0.5 + 0.5 * 0.5))).abs() < 1e-12);
    }
}

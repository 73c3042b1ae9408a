//! Per-unit conformal intervals for the individual treatment effect, by the conformal
//! meta-learner of Alaa, Ahmad and van der Laan (2023, "Conformal meta-learners for predictive
//! inference of individual treatment effects", NeurIPS).
//!
//! # Method
//!
//! The ITE `τ(x) = E[Y(1) − Y(0) | X = x]` is never observed, so its residuals cannot be
//! conformalised directly. The meta-learner replaces it by the doubly robust pseudo-outcome
//! ([`dr_pseudo_outcomes`])
//!
//! ```text
//! φ_i = μ̂1(x_i) − μ̂0(x_i) + t_i (y_i − μ̂1(x_i)) / ê_i − (1 − t_i)(y_i − μ̂0(x_i)) / (1 − ê_i),
//! ```
//!
//! whose conditional mean is `τ(x_i)` when either the outcome models or the propensity are right.
//! On `n` calibration units it takes the nonconformity scores `R_i = |φ_i − τ̂(x_i)|` and, for a
//! test unit, returns `τ̂(x) ± q` where `q` is the `k = ⌈(n + 1)·level⌉`-th smallest score
//! ([`conformal_ite_intervals`]): split conformal prediction (Vovk, Gammerman and Shafer 2005;
//! Lei et al. 2018, "Distribution-free predictive inference for regression") applied to φ.
//!
//! # Which τ̂ where: a held-out calibration split
//!
//! The guarantee needs the test unit's score to be exchangeable with the calibration scores.
//! This module is built for the **split** scheme, which gives it exactly:
//!
//! 1. fit the nuisances μ̂0, μ̂1, ê and the CATE model τ̂ on a *training* split only (τ̂ may be
//!    μ̂1 − μ̂0 of the same outcome model, or a second-stage regression of φ on x as in the
//!    paper's DR-learner);
//! 2. on the disjoint *calibration* split, predict μ̂0, μ̂1, ê and τ̂ with those models (these are
//!    the `mu0`, `mu1`, `e`, `tau_hat` of [`CalibrationSet`]; out-of-sample for every unit);
//! 3. for test units, pass `τ̂(x)` of the *same* τ̂ model (`tau_hat_test`).
//!
//! Conditionally on the training split, calibration and test units are then i.i.d. and their
//! scores are computed by one fixed function, so for a new unit from the same population
//! `P(φ ∈ [τ̂(x) − q, τ̂(x) + q]) ≥ level`, where φ is that unit's pseudo-outcome with the same
//! nuisances (and `≤ level + 1/(n + 1)` when scores have no ties). This holds in finite samples
//! whatever the quality of the models.
//!
//! The function accepts out-of-fold values from K-fold cross-fitting as well (`mu0`, `mu1`, `e`,
//! `tau_hat` of unit i from the models that did not see fold k(i)), with `tau_hat_test` the
//! average of the K fold models. That reuses all the data but breaks exact exchangeability: each
//! calibration score comes from a model fitted on (K − 1)/K of the data, the test prediction from
//! an average of K such models, which is usually at least as accurate, so coverage is usually at
//! or above nominal — but not guaranteed. (The CV+ construction of Barber, Candès, Ramdas and
//! Tibshirani (2021, "Predictive inference with the jackknife+") guarantees `1 − 2(1 − level)` for
//! ordinary responses; a cross-fitted pseudo-outcome is itself computed from the other folds'
//! models, so even that bound does not carry over exactly, which is why the split is the scheme
//! with a guarantee here.)
//!
//! # What the interval covers
//!
//! * The **pseudo-outcome** φ of a new unit, at the nominal rate (above), marginally over
//!   calibration and test units — not conditionally on x.
//! * The **true ITE τ(x)**, conservatively (coverage ≥ level), under the paper's conditions: φ is
//!   τ(x) plus noise with conditional mean zero (accurate nuisances, overlap), so the scores of φ
//!   dominate those of τ and the interval for φ is wide enough for τ. With badly wrong nuisances
//!   there is no such guarantee. The interval is not for the unit's realised effect
//!   `Y_i(1) − Y_i(0)`.
//!
//! Expect conservative intervals for τ(x): their width is set by the spread of φ around τ̂, that
//! is by the outcome noise inflated by `1/ê` and `1/(1 − ê)` (about `±2·z·σ` in a trial with
//! `e = 1/2` and noise sd `σ`), not by the error of τ̂. In the crate's tests (noise sd 1, τ(x)
//! spread over about ±1.5) the 95% interval is about 8 wide and covers τ(x) for nearly every unit.
//!
//! # Why not weighted split conformal
//!
//! Lei and Candès (2021, "Conformal inference of counterfactuals and individual treatment
//! effects", JRSS-B) conformalise the observed outcomes of each arm with covariate-shift weights
//! `ê(x)/(1 − ê(x))` and combine the two counterfactual intervals (or nest a second split) into an
//! interval for the ITE. Its guarantee is for the counterfactual outcomes (so intervals include
//! the outcome noise of both arms and are wider than needed for τ(x)), it is exact only with the
//! true propensity, its weighted quantiles become unstable where the weights are extreme, and the
//! nested version needs a further split. The meta-learner targets τ(x) directly and reuses the
//! nuisances the AIPW estimate already has.

use serde::{Deserialize, Serialize};

use crate::error::{InferenceError, Result};
use crate::estimate::check_level;

/// The calibration units: observed data, out-of-sample nuisance predictions and the CATE
/// model's prediction, one value per calibration unit in every slice (equal lengths).
#[derive(Debug, Clone, Copy)]
pub struct CalibrationSet<'a> {
    /// Observed outcomes `y_i` (outcome units, finite).
    pub y: &'a [f64],
    /// Treatment `t_i` ∈ {0, 1}.
    pub t: &'a [u8],
    /// μ̂0(x_i) from a model that did not see unit i (finite).
    pub mu0: &'a [f64],
    /// μ̂1(x_i) from a model that did not see unit i (finite).
    pub mu1: &'a [f64],
    /// ê(x_i), the propensity from a model that did not see unit i, strictly in (0, 1) (clip it,
    /// e.g. to [0.01, 0.99]).
    pub e: &'a [f64],
    /// τ̂(x_i) of the CATE model whose test predictions are interval centres (finite).
    pub tau_hat: &'a [f64],
}

/// Per-unit ITE intervals of [`conformal_ite_intervals`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalIntervals {
    /// Lower limit `τ̂(x_j) − q` for each test unit j (outcome units).
    pub lower: Vec<f64>,
    /// Upper limit `τ̂(x_j) + q` for each test unit j (outcome units).
    pub upper: Vec<f64>,
    /// `q`, the common half-width: the `rank`-th smallest calibration score.
    pub half_width: f64,
    /// Nominal coverage, in (0, 1).
    pub level: f64,
    /// Number of calibration units n.
    pub n_calibration: usize,
    /// `k = ⌈(n + 1)·level⌉`, the rank of `q` among the sorted scores (1-based).
    pub rank: usize,
}

fn mismatch(what: &str, left: usize, right: usize) -> InferenceError {
    InferenceError::LengthMismatch { what: what.into(), left, right }
}

fn check_finite(what: &str, v: &[f64]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => {
            Err(InferenceError::data(format!("{what} of unit {} is {} (expected a finite number)", i + 1, v[i])))
        }
        None => Ok(()),
    }
}

/// Doubly robust (AIPW) pseudo-outcomes
/// `φ_i = μ̂1_i − μ̂0_i + t_i (y_i − μ̂1_i)/e_i − (1 − t_i)(y_i − μ̂0_i)/(1 − e_i)`, one per unit
/// (outcome units). Their mean is the AIPW estimate of the ATE; `E[φ | x] = τ(x)` when μ̂ or ê
/// is right.
///
/// ```
/// let phi = ite_inference::dr_pseudo_outcomes(&[3.0, 1.0], &[1, 0], &[1.0, 0.5], &[2.0, 2.5], &[0.5, 0.5])?;
/// assert_eq!(phi, vec![1.0 + 1.0 / 0.5, 2.0 - 0.5 / 0.5]);
/// # Ok::<(), ite_inference::InferenceError>(())
/// ```
///
/// # Errors
/// [`InferenceError::LengthMismatch`] when the slices differ in length;
/// [`InferenceError::Data`] when a value is not finite, a treatment is not 0 or 1, or a
/// propensity is not strictly between 0 and 1.
pub fn dr_pseudo_outcomes(y: &[f64], t: &[u8], mu0: &[f64], mu1: &[f64], e: &[f64]) -> Result<Vec<f64>> {
    let n = y.len();
    for (what, len) in [("treatment", t.len()), ("mu0", mu0.len()), ("mu1", mu1.len()), ("propensity", e.len())] {
        if len != n {
            return Err(mismatch(&format!("{what} and outcome"), len, n));
        }
    }
    check_finite("outcome", y)?;
    check_finite("mu0", mu0)?;
    check_finite("mu1", mu1)?;
    if let Some(i) = t.iter().position(|&a| a > 1) {
        return Err(InferenceError::data(format!("treatment of unit {} is {} (expected 0 or 1)", i + 1, t[i])));
    }
    if let Some(i) = e.iter().position(|&p| !(p > 0.0 && p < 1.0)) {
        return Err(InferenceError::data(format!(
            "propensity of unit {} is {} (expected a number strictly between 0 and 1; clip it)",
            i + 1,
            e[i]
        )));
    }
    Ok((0..n)
        .map(|i| {
            let base = mu1[i] - mu0[i];
            if t[i] == 1 { base + (y[i] - mu1[i]) / e[i] } else { base - (y[i] - mu0[i]) / (1.0 - e[i]) }
        })
        .collect())
}

/// The split-conformal quantile of nonnegative `scores`: the `k = ⌈(n + 1)·level⌉`-th smallest,
/// returned with `k`. `(n + 1)·level` is rounded up after subtracting 1e-9, so a product that
/// is an integer up to rounding error (20 × 0.95) is not pushed to the next rank.
///
/// ```
/// let scores: Vec<f64> = (1..=19).map(f64::from).collect();
/// assert_eq!(ite_inference::conformal_quantile(&scores, 0.95)?, (19.0, 19));
/// assert_eq!(ite_inference::conformal_quantile(&scores, 0.5)?, (10.0, 10));
/// assert!(ite_inference::conformal_quantile(&scores[..18], 0.95).is_err());
/// # Ok::<(), ite_inference::InferenceError>(())
/// ```
///
/// # Errors
/// [`InferenceError::Settings`] when `level` is not in (0, 1); [`InferenceError::Data`] when a
/// score is not finite, or when `k > n` (fewer than `level/(1 − level)` scores: the interval
/// would be unbounded).
pub fn conformal_quantile(scores: &[f64], level: f64) -> Result<(f64, usize)> {
    check_level("level", level)?;
    check_finite("nonconformity score", scores)?;
    let n = scores.len();
    let k = (((n + 1) as f64) * level - 1e-9).ceil().max(1.0) as usize;
    if k > n {
        let needed = (level / (1.0 - level) - 1e-9).ceil();
        return Err(InferenceError::data(format!(
            "{n} calibration units are too few for conformal intervals at level {level}: at least {needed} are \
             needed (the interval would be unbounded)"
        )));
    }
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    Ok((sorted[k - 1], k))
}

/// Conformal ITE intervals `τ̂(x_j) ± q` for the test units whose CATE predictions are
/// `tau_hat_test`, calibrated on `cal` (see the module documentation for which τ̂ to pass where,
/// and for what the intervals cover).
///
/// `q` is the `⌈(n + 1)·level⌉`-th smallest of the scores `|φ_i − τ̂(x_i)|` of the `n`
/// calibration units, φ from [`dr_pseudo_outcomes`].
///
/// ```
/// use ite_inference::{CalibrationSet, conformal_ite_intervals};
/// let n = 39;
/// let y: Vec<f64> = (0..n).map(|i| f64::from(i % 7)).collect();
/// let t: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
/// let (zero, half, one) = (vec![0.0; 39], vec![0.5; 39], vec![1.0; 39]);
/// let cal = CalibrationSet { y: &y, t: &t, mu0: &zero, mu1: &one, e: &half, tau_hat: &one };
/// let iv = conformal_ite_intervals(&cal, &[1.0, 2.0], 0.9)?;
/// assert_eq!(iv.rank, 36);
/// assert_eq!(iv.upper[1] - iv.lower[1], 2.0 * iv.half_width);
/// # Ok::<(), ite_inference::InferenceError>(())
/// ```
///
/// # Errors
/// As [`dr_pseudo_outcomes`] and [`conformal_quantile`]; [`InferenceError::LengthMismatch`]
/// when `cal.tau_hat` and `cal.y` differ in length; [`InferenceError::Data`] when a τ̂ is not
/// finite.
pub fn conformal_ite_intervals(
    cal: &CalibrationSet<'_>,
    tau_hat_test: &[f64],
    level: f64,
) -> Result<ConformalIntervals> {
    check_level("level", level)?;
    if cal.tau_hat.len() != cal.y.len() {
        return Err(mismatch("calibration CATE predictions and outcome", cal.tau_hat.len(), cal.y.len()));
    }
    check_finite("calibration CATE prediction", cal.tau_hat)?;
    check_finite("test CATE prediction", tau_hat_test)?;
    let phi = dr_pseudo_outcomes(cal.y, cal.t, cal.mu0, cal.mu1, cal.e)?;
    let scores: Vec<f64> = phi.iter().zip(cal.tau_hat).map(|(p, tau)| (p - tau).abs()).collect();
    let (q, rank) = conformal_quantile(&scores, level)?;
    Ok(ConformalIntervals {
        lower: tau_hat_test.iter().map(|tau| tau - q).collect(),
        upper: tau_hat_test.iter().map(|tau| tau + q).collect(),
        half_width: q,
        level,
        n_calibration: scores.len(),
        rank,
    })
}

//! Scores of a CATE model that need no ground truth, only the target's own outcomes: the R-loss,
//! the doubly robust pseudo-outcome loss and PEHE_nn. Each is a mean of per-unit losses
//! ([`unit_losses`]), so it comes with a standard error over units ([`mean_se`]); lower is better.
//!
//! | score | per-unit loss | source |
//! |---|---|---|
//! | `r-loss` | `((yᵢ − m̂ᵢ) − (tᵢ − êᵢ)·τ̂ᵢ)²`, `m̂ = ê·μ̂1 + (1 − ê)·μ̂0` | Nie & Wager (2021), "Quasi-oracle estimation of heterogeneous treatment effects"; EconML's `RScorer` |
//! | `dr` | `(φᵢ − τ̂ᵢ)²`, φ the AIPW pseudo-outcome ([`crate::dr_pseudo_outcomes`]) | Kennedy (2023), "Towards optimal doubly robust estimation of heterogeneous causal effects" (the DR-learner's target) |
//! | `pehe-nn` | `(τ̂ᵢ − (2tᵢ − 1)·(yᵢ − y_{j(i)}))²`, j(i) the nearest unit of the other arm | Johansson, Shalit & Sontag (2016), "Learning representations for counterfactual inference" (cfrnet's PEHE_nn) |
//!
//! **Assumptions.** All three read the target's outcomes as if treatment were assigned at random
//! given the covariates (unconfoundedness) and both arms were possible for every unit (overlap).
//! With those, and a propensity model that is right, the R-loss and DR loss differ from the true
//! PEHE (the mean of (τ̂ − τ)²) by a term that does not depend on τ̂ (up to weights, for the
//! R-loss), whatever the outcome nuisance: they rank models as PEHE would, on average.
//! PEHE_nn needs no model at all, but is biased wherever the nearest neighbour's covariates differ
//! (more so in many dimensions). When assignment depends on the outcome itself (as in the study's
//! non-randomized targets), every one of them is biased toward the confounded fit.

use std::str::FromStr;

use ite_core::{Covariates, SettingsError};
use serde::{Deserialize, Serialize};

use crate::conformal::dr_pseudo_outcomes;
use crate::error::{InferenceError, Result};

/// A score that ranks CATE models on data without ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Score {
    /// The R-loss of Nie & Wager (2021).
    RLoss,
    /// The doubly robust pseudo-outcome loss (Kennedy 2023).
    Dr,
    /// The nearest-neighbour PEHE of Johansson, Shalit & Sontag (2016).
    PeheNn,
}

impl Score {
    /// The three scores, in the order tables list them.
    pub const ALL: [Score; 3] = [Score::RLoss, Score::Dr, Score::PeheNn];

    /// `r-loss`, `dr` or `pehe-nn`, as on the command line and in output files.
    pub fn as_str(self) -> &'static str {
        match self {
            Score::RLoss => "r-loss",
            Score::Dr => "dr",
            Score::PeheNn => "pehe-nn",
        }
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Score {
    type Err = InferenceError;
    fn from_str(s: &str) -> Result<Self> {
        Score::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| SettingsError::text("score", s, "`r-loss`, `dr` or `pehe-nn`").into())
    }
}

/// What the scores need besides the data and the model's CATE: per unit, out-of-fold outcome
/// means μ̂0, μ̂1 (outcome units), the propensity ê in (0, 1), and the index of the nearest unit of
/// the other arm ([`nearest_other_arm`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreNuisances {
    /// μ̂0(xᵢ).
    pub mu0: Vec<f64>,
    /// μ̂1(xᵢ).
    pub mu1: Vec<f64>,
    /// ê(xᵢ), strictly between 0 and 1.
    pub e: Vec<f64>,
    /// j(i): the nearest unit of the other arm.
    pub neighbour: Vec<usize>,
}

/// Per-unit losses of the CATE predictions `tau` (one per unit, outcome units) under `score`;
/// their mean is the score. `y` and `t` are the units' outcomes and treatments.
///
/// ```
/// use ite_inference::{Score, ScoreNuisances, unit_losses};
/// let nu = ScoreNuisances { mu0: vec![0.0, 0.0], mu1: vec![1.0, 1.0], e: vec![0.5, 0.5], neighbour: vec![1, 0] };
/// // y = μ exactly: the true effect 1 has loss 0 under every score.
/// for s in Score::ALL {
///     let l = unit_losses(s, &[1.0, 0.0], &[1, 0], &[1.0, 1.0], &nu)?;
///     assert!(l.iter().all(|v| v.abs() < 1e-12), "{s}");
/// }
/// # Ok::<(), ite_inference::InferenceError>(())
/// ```
///
/// # Errors
/// [`InferenceError::LengthMismatch`] when the inputs differ in length; [`InferenceError::Data`]
/// for a non-finite value, a treatment other than 0/1, a propensity outside (0, 1), or a
/// neighbour index out of range.
pub fn unit_losses(score: Score, y: &[f64], t: &[u8], tau: &[f64], nu: &ScoreNuisances) -> Result<Vec<f64>> {
    let n = y.len();
    if tau.len() != n {
        return Err(InferenceError::LengthMismatch { what: "CATE and outcome".into(), left: tau.len(), right: n });
    }
    if nu.neighbour.len() != n {
        return Err(InferenceError::LengthMismatch {
            what: "neighbours and outcome".into(),
            left: nu.neighbour.len(),
            right: n,
        });
    }
    if let Some(i) = tau.iter().position(|v| !v.is_finite()) {
        return Err(InferenceError::data(format!(
            "the CATE of unit {} is {} (expected a finite number)",
            i + 1,
            tau[i]
        )));
    }
    // Checks lengths, finiteness, treatments and propensities of the nuisances.
    let phi = dr_pseudo_outcomes(y, t, &nu.mu0, &nu.mu1, &nu.e)?;
    Ok(match score {
        Score::Dr => phi.iter().zip(tau).map(|(p, tv)| (p - tv).powi(2)).collect(),
        Score::RLoss => (0..n)
            .map(|i| {
                let e = nu.e[i];
                let m = e * nu.mu1[i] + (1.0 - e) * nu.mu0[i];
                ((y[i] - m) - (f64::from(t[i]) - e) * tau[i]).powi(2)
            })
            .collect(),
        Score::PeheNn => {
            if let Some(i) = nu.neighbour.iter().position(|&j| j >= n) {
                return Err(InferenceError::data(format!(
                    "the neighbour of unit {} is unit {} of {n}",
                    i + 1,
                    nu.neighbour[i] + 1
                )));
            }
            (0..n)
                .map(|i| {
                    let sign = if t[i] == 1 { 1.0 } else { -1.0 };
                    (tau[i] - sign * (y[i] - y[nu.neighbour[i]])).powi(2)
                })
                .collect()
        }
    })
}

/// For every unit, the index of the nearest unit of the other arm, by Euclidean distance over
/// covariates scaled to unit standard deviation (a column without spread is ignored; ties go to
/// the lower index). O(n²·p).
///
/// ```
/// use ite_core::Covariates;
/// let x = Covariates::with_default_names(vec![0.0, 0.1, 5.0, 5.2], 1)?;
/// let nn = ite_inference::nearest_other_arm(&x, &[0, 1, 0, 1])?;
/// assert_eq!(nn, vec![1, 0, 3, 2]);
/// # Ok::<(), ite_inference::InferenceError>(())
/// ```
///
/// # Errors
/// [`InferenceError::LengthMismatch`] when `t` and `x` differ in length; [`InferenceError::Data`]
/// when an arm is empty.
pub fn nearest_other_arm(x: &Covariates, t: &[u8]) -> Result<Vec<usize>> {
    let n = x.n_rows();
    if t.len() != n {
        return Err(InferenceError::LengthMismatch {
            what: "treatment and covariates".into(),
            left: t.len(),
            right: n,
        });
    }
    let p = x.n_cols();
    let mut scale = vec![0.0; p];
    for (c, s) in scale.iter_mut().enumerate() {
        let mean = x.rows().map(|r| r[c]).sum::<f64>() / n.max(1) as f64;
        let var = x.rows().map(|r| (r[c] - mean).powi(2)).sum::<f64>() / n.max(1) as f64;
        *s = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
    }
    let arms: [Vec<usize>; 2] = [0u8, 1].map(|a| (0..n).filter(|&i| t[i] == a).collect());
    if arms.iter().any(Vec::is_empty) {
        return Err(InferenceError::data("nearest neighbours of the other arm need units in both arms"));
    }
    Ok((0..n)
        .map(|i| {
            let other = &arms[usize::from(t[i] == 0)];
            let xi = x.row(i);
            let mut best = (f64::INFINITY, other[0]);
            for &j in other {
                let d: f64 = x.row(j).iter().zip(xi).zip(&scale).map(|((a, b), s)| ((a - b) * s).powi(2)).sum();
                if d < best.0 {
                    best = (d, j);
                }
            }
            best.1
        })
        .collect())
}

/// The mean of per-unit `values` and its standard error: `sd/√n`, or cluster-robust when
/// `clusters` holds one code per value (the variance of cluster sums, with the G/(G − 1)
/// correction). The standard error is NaN with fewer than two units (or clusters).
///
/// ```
/// let (m, se) = ite_inference::mean_se(&[1.0, 2.0, 3.0, 4.0], None);
/// assert_eq!(m, 2.5);
/// assert!((se - (5.0f64 / 3.0 / 4.0).sqrt()).abs() < 1e-12);
/// ```
pub fn mean_se(values: &[f64], clusters: Option<&[usize]>) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let se = match clusters {
        None if values.len() >= 2 => (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt(),
        Some(c) => {
            let mut sums = std::collections::BTreeMap::<usize, f64>::new();
            for (&g, &v) in c.iter().zip(values) {
                *sums.entry(g).or_default() += v - mean;
            }
            let g = sums.len() as f64;
            if sums.len() >= 2 {
                (g / (g - 1.0) * sums.values().map(|s| s * s).sum::<f64>() / (n * n)).sqrt()
            } else {
                f64::NAN
            }
        }
        None => f64::NAN,
    };
    (mean, se)
}

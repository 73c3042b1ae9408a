//! The propensity model e(x) = P(T = 1 | X = x): L2-regularised logistic regression
//! (`linfa-logistic`), fitted on standardised covariates and cross-fitted on the same folds as
//! the outcome model, so no unit's propensity comes from a model that saw it.
//!
//! Any model of e(x) plugs into cross-fitting through [`PropensityLearner`]: it fits on the
//! training rows of a fold and returns probabilities for the held-out rows; the caller clips them
//! to [`PropensityParams::clip`]. [`PropensityParams`] is one (the default, ignoring the seed);
//! `ite_nets::MlpPropensityParams` is a small network for propensities that are not linear in
//! the logit. [`cross_fit_propensity`] runs any of them on given folds, folds in parallel.
//!
//! Reference: Rosenbaum & Rubin (1983), "The central role of the propensity score in
//! observational studies for causal effects", Biometrika 70(1).

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use rayon::prelude::*;

use ite_core::{Covariates, Params, Seed, SettingsError};

use crate::error::{InferenceError, Result};
use crate::folds::Folds;
use crate::learner::BoxError;

/// A propensity model e(x) = P(T = 1 | X = x) that cross-fitting can refit on each fold.
///
/// Implementations must be deterministic for a given `seed` (whatever the thread count) and
/// `Sync`: folds are fitted in parallel.
pub trait PropensityLearner: Sync {
    /// Fits on the units `train` of (`x`, `t`) (both arms present) and returns P(T = 1 | x) for
    /// each unit of `test`, in that order, unclipped (the caller clips).
    ///
    /// # Errors
    /// Whatever the model's fit returns, boxed.
    fn fit_predict(
        &self,
        x: &Covariates,
        t: &[u8],
        train: &[usize],
        test: &[usize],
        seed: Seed,
    ) -> std::result::Result<Vec<f64>, BoxError>;
}

impl PropensityLearner for PropensityParams {
    /// [`PropensityParams::fit`] on `train`, probabilities of `test` (the seed is not used: the
    /// fit is deterministic).
    fn fit_predict(
        &self,
        x: &Covariates,
        t: &[u8],
        train: &[usize],
        test: &[usize],
        _seed: Seed,
    ) -> std::result::Result<Vec<f64>, BoxError> {
        Ok(self.fit(x, t, train)?.probabilities_rows(x, test))
    }
}

/// Cross-fitted propensities of every unit with any [`PropensityLearner`]: fold `f`'s units are
/// predicted by a model fitted on the other folds with the seed `seed.index(f)`, then clipped to
/// [`clip`, 1 − `clip`]. Folds run in parallel and are collected by index, so the result does not
/// depend on the thread count.
///
/// # Errors
/// [`InferenceError::LengthMismatch`] when the folds, covariates and treatment differ in length;
/// the learner's error of the first failing fold (an [`InferenceError`] it returns is passed on as
/// it is, any other error becomes [`InferenceError::Propensity`] naming the fold); a learner that
/// returns the wrong number of probabilities gives [`InferenceError::LengthMismatch`].
pub fn cross_fit_propensity<P: PropensityLearner + ?Sized>(
    learner: &P,
    x: &Covariates,
    t: &[u8],
    folds: &Folds,
    clip: f64,
    seed: Seed,
) -> Result<Vec<f64>> {
    for (what, len) in [("folds and covariates", folds.len()), ("treatment and covariates", t.len())] {
        if len != x.n_rows() {
            return Err(InferenceError::LengthMismatch { what: what.into(), left: len, right: x.n_rows() });
        }
    }
    let k = folds.k();
    let per_fold: Vec<(Vec<usize>, Vec<f64>)> = (0..k)
        .into_par_iter()
        .map(|f| {
            let test = folds.test(f);
            let e = learner.fit_predict(x, t, &folds.train(f), &test, seed.index(f as u64)).map_err(|e| {
                match e.downcast::<InferenceError>() {
                    Ok(e) => *e,
                    Err(e) => InferenceError::Propensity(format!("fold {} of {k}: {e}", f + 1)),
                }
            })?;
            if e.len() != test.len() {
                return Err(InferenceError::LengthMismatch {
                    what: format!("propensities of fold {}", f + 1),
                    left: e.len(),
                    right: test.len(),
                });
            }
            Ok((test, e))
        })
        .collect::<Result<_>>()?;
    let mut e = vec![0.0; x.n_rows()];
    for (rows, values) in per_fold {
        for (i, v) in rows.into_iter().zip(values) {
            e[i] = v.clamp(clip, 1.0 - clip);
        }
    }
    Ok(e)
}

/// The seeded folds of `data` (stratified, clusters kept whole: [`Folds::for_units`], seed
/// `seed.stream("folds")`) and every unit's cross-fitted propensity on them
/// ([`cross_fit_propensity`], seed `seed.stream("propensity")`, clipped to `clip`): the common
/// start of cross-fitted AIPW and of model selection.
///
/// # Errors
/// As [`Folds::for_units`] and [`cross_fit_propensity`].
pub(crate) fn folds_and_propensity<P: PropensityLearner + ?Sized>(
    data: &ite_core::CausalData,
    k: usize,
    clusters: Option<&[usize]>,
    (propensity, clip): (&P, f64),
    seed: Seed,
) -> Result<(Folds, Vec<f64>)> {
    let folds = Folds::for_units(data.t(), clusters, k, seed.stream("folds"))?;
    let e = cross_fit_propensity(propensity, data.x(), data.t(), &folds, clip, seed.stream("propensity"))?;
    Ok((folds, e))
}

/// Settings of the propensity model.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `ridge` | 1.0 | L2 penalty α of `0.5·α·‖w‖²`, added to the *summed* log-loss over standardised covariates (the intercept is not penalised) | finite, ≥ 0 |
/// | `max_iterations` | 200 | L-BFGS iterations of `linfa-logistic` | ≥ 1 |
/// | `clip` | 0.01 | cross-fitted propensities are clipped to [`clip`, 1 − `clip`] before they weight anything | [0, 0.5) |
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PropensityParams {
    /// L2 penalty of the logistic regression.
    pub ridge: f64,
    /// Maximum L-BFGS iterations.
    pub max_iterations: u64,
    /// Clipping of the propensities that enter weights.
    pub clip: f64,
}

impl Default for PropensityParams {
    fn default() -> Self {
        PropensityParams { ridge: 1.0, max_iterations: 200, clip: 0.01 }
    }
}

impl Params for PropensityParams {
    type Error = InferenceError;

    fn validate(&self) -> Result<()> {
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(SettingsError::new("propensity.ridge", self.ridge, "a finite number ≥ 0").into());
        }
        if self.max_iterations == 0 {
            return Err(SettingsError::new("propensity.max_iterations", self.max_iterations, "an integer ≥ 1").into());
        }
        if !(self.clip >= 0.0 && self.clip < 0.5) {
            return Err(SettingsError::new("propensity.clip", self.clip, "a number in [0, 0.5)").into());
        }
        Ok(())
    }
}

/// A fitted logistic propensity model (with the standardisation of its training covariates).
#[derive(Debug, Clone)]
pub struct FittedPropensity {
    mean: Vec<f64>,
    sd: Vec<f64>,
    model: linfa_logistic::FittedLogisticRegression<f64, u8>,
    clip: f64,
}

fn standardised(x: &Covariates, rows: &[usize], mean: &[f64], sd: &[f64]) -> Array2<f64> {
    let p = x.n_cols();
    let mut v = Vec::with_capacity(rows.len() * p);
    for &i in rows {
        v.extend(x.row(i).iter().zip(mean).zip(sd).map(|((a, m), s)| (a - m) / s));
    }
    Array2::from_shape_vec((rows.len(), p), v).unwrap_or_else(|_| Array2::zeros((rows.len(), p)))
}

impl PropensityParams {
    /// Fits e(x) on the units `rows` of (`x`, `t`).
    ///
    /// # Errors
    /// [`InferenceError::Settings`] for invalid settings; [`InferenceError::Data`] when the rows
    /// miss an arm; [`InferenceError::Propensity`] when the solver fails.
    pub fn fit(&self, x: &Covariates, t: &[u8], rows: &[usize]) -> Result<FittedPropensity> {
        self.validate()?;
        if t.len() != x.n_rows() {
            return Err(InferenceError::LengthMismatch {
                what: "treatment and covariates".into(),
                left: t.len(),
                right: x.n_rows(),
            });
        }
        let n1 = rows.iter().filter(|&&i| t[i] == 1).count();
        if n1 == 0 || n1 == rows.len() {
            return Err(InferenceError::data(
                "the propensity model needs treated and control units in its training rows",
            ));
        }
        let p = x.n_cols();
        let n = rows.len() as f64;
        let mut mean = vec![0.0; p];
        for &i in rows {
            for (m, v) in mean.iter_mut().zip(x.row(i)) {
                *m += v / n;
            }
        }
        let mut sd = vec![0.0; p];
        for &i in rows {
            for ((s, v), m) in sd.iter_mut().zip(x.row(i)).zip(&mean) {
                *s += (v - m).powi(2) / n;
            }
        }
        // A constant column carries no information: scaling it by 1 makes it all zeros.
        let sd: Vec<f64> = sd.into_iter().map(|v| if v.sqrt() > 0.0 { v.sqrt() } else { 1.0 }).collect();
        let xs = standardised(x, rows, &mean, &sd);
        let y: Array1<u8> = rows.iter().map(|&i| t[i]).collect();
        let model = LogisticRegression::default()
            .alpha(self.ridge)
            .max_iterations(self.max_iterations)
            .fit(&Dataset::new(xs, y))
            .map_err(|e| InferenceError::Propensity(e.to_string()))?;
        Ok(FittedPropensity { mean, sd, model, clip: self.clip })
    }

    /// Cross-fitted propensities of every unit: fold `f`'s units are predicted by a model fitted on
    /// the other folds; clipped to [`clip`, 1 − `clip`]. Folds are fitted in parallel; the result
    /// does not depend on the thread count.
    ///
    /// # Errors
    /// As [`PropensityParams::fit`], for any fold.
    pub fn cross_fit(&self, x: &Covariates, t: &[u8], folds: &Folds) -> Result<Vec<f64>> {
        if folds.len() != x.n_rows() {
            return Err(InferenceError::LengthMismatch {
                what: "folds and covariates".into(),
                left: folds.len(),
                right: x.n_rows(),
            });
        }
        let per_fold: Vec<(Vec<usize>, Vec<f64>)> = (0..folds.k())
            .into_par_iter()
            .map(|f| {
                let model = self.fit(x, t, &folds.train(f))?;
                let test = folds.test(f);
                let e = model.predict_rows(x, &test);
                Ok((test, e))
            })
            .collect::<Result<_>>()?;
        let mut e = vec![0.0; x.n_rows()];
        for (rows, values) in per_fold {
            for (i, v) in rows.into_iter().zip(values) {
                e[i] = v;
            }
        }
        Ok(e)
    }
}

impl FittedPropensity {
    /// Clipped propensities of the units `rows` of `x` (which must have the training columns).
    pub fn predict_rows(&self, x: &Covariates, rows: &[usize]) -> Vec<f64> {
        self.probabilities_rows(x, rows).into_iter().map(|e| e.clamp(self.clip, 1.0 - self.clip)).collect()
    }

    /// Unclipped propensities of the units `rows` of `x` (which must have the training columns).
    pub fn probabilities_rows(&self, x: &Covariates, rows: &[usize]) -> Vec<f64> {
        let xs = standardised(x, rows, &self.mean, &self.sd);
        let larger = self.model.predict_probabilities(&xs);
        // linfa reports the probability of the larger class seen in training.
        let treated_is_larger = self.model.labels().pos.class == 1;
        larger.iter().map(|&q| if treated_is_larger { q } else { 1.0 - q }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ite_core::Seed;
    use rand::RngExt;

    #[test]
    fn recovers_a_logistic_propensity() {
        let mut rng = Seed::new(5).rng();
        let n = 4000;
        let xv: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
        let truth: Vec<f64> = xv.iter().map(|x| 1.0 / (1.0 + (-(0.3 + 1.2 * x)).exp())).collect();
        let t: Vec<u8> = truth.iter().map(|e| u8::from(rng.random::<f64>() < *e)).collect();
        let x = Covariates::with_default_names(xv, 1).unwrap();
        let folds = Folds::stratified(&t, 5, Seed::new(1)).unwrap();
        let e = PropensityParams::default().cross_fit(&x, &t, &folds).unwrap();
        let mae = e.iter().zip(&truth).map(|(a, b)| (a - b).abs()).sum::<f64>() / n as f64;
        assert!(mae < 0.03, "mean |ê − e| = {mae}");
        // The minority arm being treated or control must not flip the probabilities.
        let t_flip: Vec<u8> = t.iter().map(|a| 1 - a).collect();
        let e_flip = PropensityParams::default().cross_fit(&x, &t_flip, &folds).unwrap();
        for (a, b) in e.iter().zip(&e_flip) {
            assert!((a + b - 1.0).abs() < 1e-3, "{a} + {b}");
        }
    }

    #[test]
    fn settings_are_validated() {
        let bad = PropensityParams { clip: 0.5, ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("propensity.clip"));
        let bad = PropensityParams { ridge: -1.0, ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("propensity.ridge"));
    }
}

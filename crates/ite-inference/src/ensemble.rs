//! Seed ensembles ([`EnsembleLearner`]): fit the same learner with several seeds and average
//! its predictions; report how much the ATE moves between seeds ([`EnsembleReport`]).
//!
//! A neural network's fit depends on its initialisation and minibatch order. Averaging
//! `M` seeds (Lakshminarayanan, Pritzel and Blundell 2017, "Simple and scalable predictive
//! uncertainty estimation using deep ensembles") removes part of that noise from μ̂0, μ̂1; the
//! between-seed standard deviation of the members' ATEs says how large it was. It is *not* a
//! standard error of the ATE: it ignores sampling variability of the data (use the refit
//! bootstrap or AIPW for that).

use ite_core::stats::sd;
use ite_core::{CausalData, Covariates, Params, PotentialOutcomes, Seed, SettingsError};
use serde::{Deserialize, Serialize};

use crate::error::{InferenceError, Result};
use crate::learner::{BoxError, FitJob, OutcomeLearner};

/// An [`OutcomeLearner`] that fits `members` copies of `inner`, member `m` (0-based) with seed
/// `seed.index(m)`, and averages their μ̂0 and μ̂1 row by row.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `inner` | — | the learner each member fits | any [`OutcomeLearner`] |
/// | `members` | — (5 is a common choice) | M, number of seeds averaged | integer ≥ 1 |
///
/// The average is `(Σ_m μ̂_m) / M`, summed in member order `m = 0, 1, …`, so it does not depend
/// on the thread count (members are fitted together through [`OutcomeLearner::fit_predict_many`]
/// and collected by index). With
/// `members = 1` the ensemble is `inner` with seed `seed.index(0)`.
///
/// ```
/// use ite_core::{CausalData, Covariates, Params, Seed};
/// use ite_inference::{EnsembleLearner, FitLearner, OutcomeLearner};
/// use ite_nets::baselines::OlsTLearnerParams;
/// let x = Covariates::with_default_names((0..40).map(f64::from).collect(), 1)?;
/// let t: Vec<u8> = (0..40).map(|i| (i % 2) as u8).collect();
/// let y: Vec<f64> = (0..40).map(|i| f64::from(i) + f64::from(i % 2)).collect();
/// let data = CausalData::new(x.clone(), t, y)?;
/// let ens = EnsembleLearner { inner: FitLearner(OlsTLearnerParams::default()), members: 3 };
/// let (po, report) = ens.fit_report(&data, &x, Seed::new(1))?;
/// assert!((po.ate() - 1.0).abs() < 1e-9);
/// assert_eq!(report.member_ates.len(), 3);
/// assert_eq!(report.between_seed_sd, 0.0); // OLS does not depend on the seed
/// assert_eq!(EnsembleLearner { inner: (), members: 0 }.validate().unwrap_err().name, "members");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleLearner<L> {
    /// The learner every member fits.
    pub inner: L,
    /// Number of members M (≥ 1).
    pub members: usize,
}

impl<L> Params for EnsembleLearner<L> {
    type Error = SettingsError;

    /// Checks `members ≥ 1` (the inner learner validates its own settings when it fits).
    fn validate(&self) -> Result<(), SettingsError> {
        if self.members < 1 {
            return Err(SettingsError::new("members", self.members, "an integer ≥ 1"));
        }
        Ok(())
    }
}

/// The spread of a seed ensemble's ATE over the prediction rows ([`EnsembleLearner::fit_report`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleReport {
    /// The ensemble's plug-in ATE: mean over the prediction rows of the averaged μ̂1 − μ̂0
    /// (outcome units).
    pub ate: f64,
    /// Each member's plug-in ATE over the same rows, in member order (length M).
    pub member_ates: Vec<f64>,
    /// Sample standard deviation of `member_ates` (n − 1 denominator; outcome units): 0 for one
    /// member, and exactly 0 when every member gives the same ATE.
    pub between_seed_sd: f64,
}

impl<L: OutcomeLearner> EnsembleLearner<L> {
    /// Each member's μ̂0, μ̂1 on `predict` (one [`PotentialOutcomes`] of `predict.n_rows()` values
    /// per member, in member order).
    ///
    /// # Errors
    /// [`InferenceError::Settings`] when `members` is 0; [`InferenceError::Learner`] when a
    /// member's fit fails (the first in member order is named); [`InferenceError::LengthMismatch`]
    /// when a member returns the wrong number of predictions; [`InferenceError::Learner`] when
    /// a member's predictions are not finite.
    pub fn member_predictions(
        &self,
        train: &CausalData,
        predict: &Covariates,
        seed: Seed,
    ) -> Result<Vec<PotentialOutcomes>> {
        self.validate()?;
        let m_total = self.members;
        let jobs: Vec<FitJob<'_>> =
            (0..m_total).map(|m| FitJob { train, predict, seed: seed.index(m as u64) }).collect();
        let fits: Vec<Result<PotentialOutcomes, BoxError>> = self.inner.fit_predict_many(&jobs);
        fits.into_iter()
            .enumerate()
            .map(|(m, r)| {
                let context = format!("ensemble member {} of {m_total}", m + 1);
                let po = r.map_err(|e| InferenceError::Learner { context: context.clone(), message: e.to_string() })?;
                if po.len() != predict.n_rows() || po.mu0.len() != po.mu1.len() {
                    return Err(InferenceError::LengthMismatch {
                        what: format!("{context}: predictions and prediction rows"),
                        left: po.mu0.len().min(po.mu1.len()),
                        right: predict.n_rows(),
                    });
                }
                po.validate().map_err(|e| InferenceError::Learner { context, message: e.to_string() })?;
                Ok(po)
            })
            .collect()
    }

    /// The averaged μ̂0, μ̂1 on `predict` and the [`EnsembleReport`] of the members' ATEs.
    ///
    /// # Errors
    /// As [`EnsembleLearner::member_predictions`].
    pub fn fit_report(
        &self,
        train: &CausalData,
        predict: &Covariates,
        seed: Seed,
    ) -> Result<(PotentialOutcomes, EnsembleReport)> {
        let members = self.member_predictions(train, predict, seed)?;
        let average = average(&members, predict.n_rows());
        let member_ates: Vec<f64> = members.iter().map(PotentialOutcomes::ate).collect();
        let all_equal = member_ates.windows(2).all(|w| w[0] == w[1]);
        let between_seed_sd = if all_equal { 0.0 } else { sd(&member_ates) };
        let ate = average.ate();
        Ok((average, EnsembleReport { ate, member_ates, between_seed_sd }))
    }
}

/// Row-wise `(Σ_m v_m) / M`, summed in member order.
fn average(members: &[PotentialOutcomes], rows: usize) -> PotentialOutcomes {
    let m = members.len() as f64;
    let mut mu0 = vec![0.0; rows];
    let mut mu1 = vec![0.0; rows];
    for po in members {
        for (acc, v) in mu0.iter_mut().zip(&po.mu0) {
            *acc += v;
        }
        for (acc, v) in mu1.iter_mut().zip(&po.mu1) {
            *acc += v;
        }
    }
    mu0.iter_mut().chain(mu1.iter_mut()).for_each(|v| *v /= m);
    PotentialOutcomes { mu0, mu1 }
}

impl<L: OutcomeLearner> OutcomeLearner for EnsembleLearner<L> {
    /// The members' averaged μ̂0, μ̂1 (see [`EnsembleLearner`]).
    fn fit_predict(&self, train: &CausalData, predict: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError> {
        let members = self.member_predictions(train, predict, seed)?;
        Ok(average(&members, predict.n_rows()))
    }
}

//! [`BatchedTarNet`]: TARNet / CFR as an `ite_inference::OutcomeLearner` whose many fits
//! (cross-fitting folds, bootstrap refits, ensemble members) train together through
//! [`TarNetParams::fit_many`].

use ite_core::{CausalData, Covariates, IteModel, PotentialOutcomes, Seed};
use ite_inference::{BoxError, FitJob, OutcomeLearner};

use crate::batched::{BatchOptions, BatchTask};
use crate::hyperparams::TarNetParams;

/// TARNet / CFR fitted by the batched trainer, as an outcome learner: `fit_predict` is
/// `fit_many` of one task, `fit_predict_many` is `fit_many` of all, so each result is the same
/// either way (and whatever the thread count). Its models are the batched trainer's, not
/// bit-identical to [`ite_core::Fit::fit`]'s (see [`crate::batched`]).
#[derive(Debug, Clone)]
pub struct BatchedTarNet(pub TarNetParams);

impl OutcomeLearner for BatchedTarNet {
    fn fit_predict(&self, train: &CausalData, predict: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError> {
        let job = FitJob { train, predict, seed };
        self.fit_predict_many(&[job]).pop().unwrap_or_else(|| Err("no result for one job".into()))
    }

    fn fit_predict_many(&self, jobs: &[FitJob<'_>]) -> Vec<Result<PotentialOutcomes, BoxError>> {
        let tasks: Vec<BatchTask<'_>> =
            jobs.iter().map(|j| BatchTask { data: j.train, seed: j.seed, prior: None }).collect();
        match self.0.fit_many(&tasks, &BatchOptions::default()) {
            Ok(models) => models.iter().zip(jobs).map(|(m, j)| m.predict(j.predict).map_err(BoxError::from)).collect(),
            // One failing task fails the batch: every job reports the error.
            Err(e) => {
                let text = e.to_string();
                jobs.iter().map(|_| Err(BoxError::from(text.clone()))).collect()
            }
        }
    }
}

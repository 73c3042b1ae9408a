//! The outcome model as inference sees it: anything that fits μ0(x), μ1(x) on some units and
//! predicts them on others ([`OutcomeLearner`]).
//!
//! Cross-fitting, the refit bootstrap, ensembles and conformal intervals refit the user's model
//! many times; they only need this one method. Any `ite_core::Fit` (TARNet, CFR, the OLS and MLP
//! learners) is one through [`FitLearner`]; a closure is one too, which is how `ite transfer`
//! re-runs a transfer strategy on each fold with the same source model.

use ite_core::{CausalData, Covariates, Fit, IteModel, PotentialOutcomes, Seed};
use rayon::prelude::*;

/// The error an outcome learner returns (any error type, boxed).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One fit of [`OutcomeLearner::fit_predict_many`]: train on `train`, predict on `predict`.
#[derive(Debug, Clone, Copy)]
pub struct FitJob<'a> {
    /// The training units (both arms present).
    pub train: &'a CausalData,
    /// The rows to predict μ̂0, μ̂1 on.
    pub predict: &'a Covariates,
    /// The fit's seed.
    pub seed: Seed,
}

/// Fits an outcome model on `train` and predicts the potential-outcome means on `predict`.
///
/// Implementations must be deterministic for a given `seed` (same seed → same predictions,
/// whatever the thread count), and `Sync`: callers fit folds and replicates in parallel.
pub trait OutcomeLearner: Sync {
    /// Fits on `train` (both arms present) and returns μ̂0, μ̂1 for each row of `predict`.
    ///
    /// # Errors
    /// Whatever the model's fit or prediction returns, boxed.
    fn fit_predict(&self, train: &CausalData, predict: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError>;

    /// Many independent fits, one result per job in the jobs' order. Cross-fitting, the refit
    /// bootstrap and ensembles hand all their fits over at once through this method.
    ///
    /// The default runs [`OutcomeLearner::fit_predict`] for each job in parallel on the rayon
    /// pool. A learner that trains many models together overrides it (as `ite_nets`'
    /// `BatchedTarNet` does); each result must then still equal `fit_predict` on that job
    /// alone.
    fn fit_predict_many(&self, jobs: &[FitJob<'_>]) -> Vec<Result<PotentialOutcomes, BoxError>> {
        fit_each(self, jobs)
    }
}

/// [`OutcomeLearner::fit_predict`] for each job, in parallel on the rayon pool, in the jobs'
/// order: the default `fit_predict_many`, for overrides that fall back to it.
pub fn fit_each<L: OutcomeLearner + ?Sized>(
    learner: &L,
    jobs: &[FitJob<'_>],
) -> Vec<Result<PotentialOutcomes, BoxError>> {
    jobs.par_iter().map(|j| learner.fit_predict(j.train, j.predict, j.seed)).collect()
}

impl<F> OutcomeLearner for F
where
    F: Fn(&CausalData, &Covariates, Seed) -> Result<PotentialOutcomes, BoxError> + Sync,
{
    fn fit_predict(&self, train: &CausalData, predict: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError> {
        self(train, predict, seed)
    }
}

/// Any hyperparameters that [`Fit`] a model, as an [`OutcomeLearner`].
///
/// ```
/// use ite_inference::{FitLearner, OutcomeLearner};
/// use ite_nets::baselines::OlsTLearnerParams;
/// # use ite_core::{CausalData, Covariates, Seed};
/// let x = Covariates::with_default_names((0..40).map(f64::from).collect(), 1)?;
/// let t: Vec<u8> = (0..40).map(|i| (i % 2) as u8).collect();
/// let y: Vec<f64> = (0..40).map(|i| f64::from(i) + f64::from(i % 2)).collect();
/// let data = CausalData::new(x.clone(), t, y)?;
/// let po = FitLearner(OlsTLearnerParams::default()).fit_predict(&data, &x, Seed::new(1)).unwrap();
/// assert!((po.ate() - 1.0).abs() < 1e-9);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FitLearner<P>(pub P);

impl<P> OutcomeLearner for FitLearner<P>
where
    P: Fit + Sync,
    P::Error: Send + Sync + 'static,
    <P::Model as IteModel>::Error: Send + Sync + 'static,
{
    fn fit_predict(&self, train: &CausalData, predict: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError> {
        let model = self.0.fit(train, seed)?;
        Ok(model.predict(predict)?)
    }
}

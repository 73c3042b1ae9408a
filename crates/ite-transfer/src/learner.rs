//! [`StrategyLearner`]: a transfer strategy, with its fitted source model and source sample, as
//! an [`ite_inference::OutcomeLearner`] — so cross-fitted AIPW, the refit bootstrap and
//! conformal intervals re-run the strategy on each fold of the *target*, with the same source.
//! [`EntryLearner`] does the same for a registered strategy, its many fits trained together
//! ([`crate::transfer_many`]).
//!
//! The source's knowledge then improves the outcome model, while the target's own held-out units
//! keep the doubly robust estimate honest (the correction term uses only target outcomes).

use ite_core::{CausalData, Covariates, IteModel, PotentialOutcomes, Seed, TransferInput, TransferStrategy};
use ite_inference::{BoxError, FitJob, OutcomeLearner};
use ite_nets::FittedTarNet;

use crate::entry::{StrategyConfig, StrategyEntry};
use crate::many::transfer_many;

/// A strategy, the source model it adapts and the source sample.
///
/// ```no_run
/// use ite_core::Seed;
/// use ite_inference::AipwParams;
/// use ite_transfer::{Registry, StrategyConfig, StrategyLearner};
/// # fn demo(source_model: &ite_nets::FittedTarNet, source: &ite_core::CausalData, target: &ite_core::CausalData) -> anyhow::Result<()> {
/// let strategy = Registry::builtin().build("fine-tune", &StrategyConfig::default())?;
/// let learner = StrategyLearner { strategy: &*strategy, source_model, source };
/// let report = AipwParams::default().estimate(target, &learner, None, Seed::new(1))?;
/// println!("ATE {:.3} ± {:.3}", report.effects.ate.estimate, 1.96 * report.effects.ate.se.unwrap_or(f64::NAN));
/// # Ok(()) }
/// ```
pub struct StrategyLearner<'a, S: ?Sized> {
    /// The strategy to re-run on each training split of the target.
    pub strategy: &'a S,
    /// The model fitted on the source sample.
    pub source_model: &'a FittedTarNet,
    /// The source sample.
    pub source: &'a CausalData,
}

impl<S> OutcomeLearner for StrategyLearner<'_, S>
where
    S: TransferStrategy<FittedTarNet> + Sync + ?Sized,
    <S::Model as IteModel>::Error: Send + Sync + 'static,
{
    fn fit_predict(&self, train: &CausalData, predict: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError> {
        let input = TransferInput::new(self.source_model, self.source, train)?;
        let model = self.strategy.transfer(input, seed)?;
        Ok(model.predict(predict)?)
    }
}

/// A registered strategy (its [`StrategyEntry`], built with `config`), the source model it
/// adapts and the source sample, as an outcome learner whose many fits — cross-fitting folds,
/// bootstrap refits, ensemble members, selection folds — run through [`transfer_many`]: a
/// strategy with a plan ([`StrategyEntry::net_fit`]) has their final fits trained together by
/// the batched trainer. `fit_predict` is `transfer_many` of one job, so a job's result is the
/// same alone or among others (and whatever the thread count); with a plan it is the batched
/// trainer's model, equal to the strategy's own `transfer` to f32 rounding.
///
/// ```no_run
/// use ite_core::Seed;
/// use ite_inference::AipwParams;
/// use ite_transfer::{EntryLearner, Registry, StrategyConfig};
/// # fn demo(source_model: &ite_nets::FittedTarNet, source: &ite_core::CausalData, target: &ite_core::CausalData) -> anyhow::Result<()> {
/// let registry = Registry::builtin();
/// let learner = EntryLearner { entry: registry.entry("fine-tune")?, config: StrategyConfig::default(), source_model, source };
/// let report = AipwParams::default().estimate(target, &learner, None, Seed::new(1))?;
/// println!("ATE {:.3}", report.effects.ate.estimate);
/// # Ok(()) }
/// ```
pub struct EntryLearner<'a> {
    /// The strategy's registry entry.
    pub entry: &'a StrategyEntry,
    /// What it is built with.
    pub config: StrategyConfig,
    /// The model fitted on the source sample.
    pub source_model: &'a FittedTarNet,
    /// The source sample.
    pub source: &'a CausalData,
}

impl OutcomeLearner for EntryLearner<'_> {
    fn fit_predict(&self, train: &CausalData, predict: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError> {
        let job = FitJob { train, predict, seed };
        self.fit_predict_many(&[job]).pop().unwrap_or_else(|| Err("no result for one job".into()))
    }

    fn fit_predict_many(&self, jobs: &[FitJob<'_>]) -> Vec<Result<PotentialOutcomes, BoxError>> {
        let fitted = jobs
            .iter()
            .map(|j| TransferInput::new(self.source_model, self.source, j.train).map(|i| (i, j.seed)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
            .and_then(|inputs| transfer_many(self.entry, &self.config, &inputs).map_err(|e| e.to_string()));
        match fitted {
            Ok(fits) => {
                fits.iter().zip(jobs).map(|(t, j)| t.model.predict(j.predict).map_err(BoxError::from)).collect()
            }
            // One failing job fails the batch: every job reports the error.
            Err(text) => jobs.iter().map(|_| Err(BoxError::from(text.clone()))).collect(),
        }
    }
}

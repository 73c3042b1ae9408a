//! [`StrategyLearner`]: a transfer strategy, with its fitted source model and source sample, as
//! an [`ite_inference::OutcomeLearner`] — so cross-fitted AIPW, the refit bootstrap and
//! conformal intervals re-run the strategy on each fold of the *target*, with the same source.
//!
//! The source's knowledge then improves the outcome model, while the target's own held-out units
//! keep the doubly robust estimate honest (the correction term uses only target outcomes).

use ite_core::{CausalData, Covariates, IteModel, PotentialOutcomes, Seed, TransferInput, TransferStrategy};
use ite_inference::{BoxError, OutcomeLearner};
use ite_nets::FittedTarNet;

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

//! [`StrategyEntry`]: one transfer strategy as a program finds it by name — name, one-line
//! description, constructor that applies the [`StrategyConfig`] — and [`BoxedStrategy`], what
//! the constructor returns. Each strategy module defines its entry next to its type; the
//! [`crate::Registry`] collects them.

use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_nets::FittedTarNet;

use crate::error::{Result, TransferError};
use crate::net_fit::NetFit;

/// A strategy behind a trait object, as a [`Registry`](crate::Registry) builds it.
pub type BoxedStrategy =
    Box<dyn TransferStrategy<FittedTarNet, Model = FittedTarNet, Error = TransferError> + Send + Sync>;

/// A strategy's plan ([`StrategyEntry::net_fit`]): from the config, the input and the seed
/// handed to `transfer`, its final network fit.
pub type NetFitPlan = fn(&StrategyConfig, TransferInput<'_, FittedTarNet>, Seed) -> Result<NetFit>;

/// What every strategy of a registry is built with.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `max_epochs` | `None` | caps the epochs (and the early-stopping patience) of every training phase of the strategy; for tests and smoke runs (changes the results) | `None` or ≥ 1 |
/// | `learning_rate` | `None` | the learning rate of the target training phase ([`crate::TargetTraining::learning_rate`]; `None`: the source's × the strategy's scale) | `None` or finite, > 0 |
/// | `batch_size` | `None` | the minibatch size of the target training phase ([`crate::TargetTraining::batch_size`]; `None`: the source's) | `None` or ≥ 1 |
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StrategyConfig {
    /// Cap on the epochs of every training phase.
    pub max_epochs: Option<usize>,
    /// Learning rate of the target training phase.
    pub learning_rate: Option<f64>,
    /// Minibatch size of the target training phase.
    pub batch_size: Option<usize>,
}

impl Params for StrategyConfig {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        if self.max_epochs == Some(0) {
            return Err(TransferError::param("max_epochs", self.max_epochs, "None or at least 1"));
        }
        if let Some(r) = self.learning_rate
            && !(r.is_finite() && r > 0.0)
        {
            return Err(TransferError::param("learning_rate", r, "a finite number > 0"));
        }
        if self.batch_size == Some(0) {
            return Err(TransferError::param("batch_size", 0, "at least 1"));
        }
        Ok(())
    }
}

/// One strategy of a [`Registry`](crate::Registry): how to find it, describe it and build it.
///
/// Each built-in strategy defines its entry once, next to its type (e.g.
/// [`crate::FineTune::ENTRY`]). A user's entry is made with [`StrategyEntry::new`]:
///
/// ```
/// use ite_transfer::{BoxedStrategy, Registry, StrategyConfig, StrategyEntry, TargetOnly, TargetTraining};
///
/// // A target-only fit at half the source's learning rate, under a name of its own.
/// fn build(config: &StrategyConfig) -> BoxedStrategy {
///     let training = TargetTraining { learning_rate_scale: 0.5, ..TargetTraining::default() };
///     Box::new(TargetOnly { training, ..TargetOnly::default() }.with_epoch_cap(config.max_epochs))
/// }
/// let entry = StrategyEntry::new("target-only-slow", "target-only at 0.5× the learning rate", build)
///     .without_source();
/// let mut registry = Registry::builtin();
/// registry.register(entry)?;
/// assert!(registry.contains("target-only-slow"));
/// # Ok::<(), ite_transfer::TransferError>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct StrategyEntry {
    /// The name the strategy is chosen by, and that its [`TransferStrategy::name`] returns.
    pub name: &'static str,
    /// One line for help texts and listings.
    pub description: &'static str,
    /// Builds the strategy with its default settings and the config applied (its epoch cap).
    pub build: fn(&StrategyConfig) -> BoxedStrategy,
    /// Whether the strategy reads the source model or sample (false: a grid records no task
    /// affinity for it).
    pub uses_source: bool,
    /// Whether the strategy has a training phase on the target that the [`StrategyConfig`]
    /// sets (false: `build` ignores the config, and `ite transfer` refuses target-training
    /// settings for it).
    pub trains_on_target: bool,
    /// For a strategy whose last training phase is one TARNet fit on the target: runs the
    /// phases before it and returns that fit ([`NetFit`]), exactly as the built strategy's
    /// `transfer(input, seed)` would run it; [`crate::transfer_many`] then trains the final
    /// fits of many targets together (`None`: it runs `transfer` on each).
    pub net_fit: Option<NetFitPlan>,
}

impl StrategyEntry {
    /// An entry for a strategy that uses the source (see [`StrategyEntry::without_source`]).
    /// `build` must apply the config's epoch cap to every training phase it runs.
    pub const fn new(
        name: &'static str,
        description: &'static str,
        build: fn(&StrategyConfig) -> BoxedStrategy,
    ) -> Self {
        StrategyEntry { name, description, build, uses_source: true, trains_on_target: true, net_fit: None }
    }

    /// The same entry, marked as ignoring the source model and sample.
    pub const fn without_source(self) -> Self {
        StrategyEntry { uses_source: false, ..self }
    }

    /// The same entry with its one-fit plan (see [`StrategyEntry::net_fit`]). The plan must be
    /// what `build`'s strategy fits: the built-in strategies' `transfer` runs
    /// [`NetFit::fit`] on the same plan.
    pub const fn with_net_fit(self, plan: NetFitPlan) -> Self {
        StrategyEntry { net_fit: Some(plan), ..self }
    }

    /// The same entry, marked as having no training phase on the target that a
    /// [`StrategyConfig`] sets (its `build` ignores the config).
    pub const fn without_target_training(self) -> Self {
        StrategyEntry { trains_on_target: false, ..self }
    }
}

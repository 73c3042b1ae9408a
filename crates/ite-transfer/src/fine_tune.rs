//! `fine-tune`: start from every source weight and keep training all of them on the target.
//!
//! **Helps** when the target differs from the source in ways the whole network must absorb
//! (effect or prognostic shift) and the target is not tiny. **Hurts** on very small or
//! non-randomized targets: with nothing holding it back the network drifts toward the
//! target's noise and selection bias (a lower learning rate and early stopping limit this).

use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_nets::FittedTarNet;

use crate::entry::{StrategyConfig, StrategyEntry};
use crate::error::{Result, TransferError};
use crate::net_fit::{NetFit, Start};
use crate::training::TargetTraining;

/// Fine-tuning of all weights.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `training` | [`TargetTraining::transfer`] (learning-rate scale 0.1) | target training settings | see [`TargetTraining`] |
#[derive(Debug, Clone, PartialEq)]
pub struct FineTune {
    /// Target training settings.
    pub training: TargetTraining,
}

impl Default for FineTune {
    fn default() -> Self {
        FineTune { training: TargetTraining::transfer() }
    }
}

impl FineTune {
    /// The strategy's name, `fine-tune`.
    pub const NAME: &str = "fine-tune";

    /// Its registry entry.
    pub const ENTRY: StrategyEntry =
        StrategyEntry::new(Self::NAME, "every source weight trained further on the target", |c| {
            Box::new(FineTune::configured(c))
        })
        .with_net_fit(|c, input, seed| Ok(FineTune::configured(c).net_fit(input, seed)));

    /// The default settings with `config` applied, as its registry entry builds them.
    pub fn configured(config: &StrategyConfig) -> Self {
        FineTune { training: FineTune::default().training.with_config(config) }
    }

    /// Its fit, which `transfer(input, seed)` runs: the source model's network with the target
    /// training settings, warm-started from the source model, all groups trainable, seed
    /// `seed.stream("fine-tune")`.
    pub fn net_fit(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> NetFit {
        let params = self.training.params_from(input.source_model.params());
        NetFit { params, seed: seed.stream("fine-tune"), start: Start::Source, trainable: None }
    }

    /// These settings with the target training's epochs and patience capped at `max_epochs`.
    pub fn with_epoch_cap(self, max_epochs: Option<usize>) -> Self {
        FineTune { training: self.training.with_epoch_cap(max_epochs) }
    }
}

impl Params for FineTune {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        self.training.validate()
    }
}

impl TransferStrategy<FittedTarNet> for FineTune {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        Self::NAME
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet> {
        self.validate()?;
        self.net_fit(input, seed).fit(input.source_model, input.target)
    }
}

//! `target-only`: no transfer — a fresh TARNet fitted on the target alone.
//!
//! **Helps** when the target is large and randomized (several hundred units), or when the
//! source is far from the target. **Hurts** on small targets (high variance) and on
//! non-randomized targets, whose selection bias it cannot remove.

use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_nets::{FittedTarNet, TarNetParams};

use crate::error::{Result, TransferError};
use crate::training::TargetTraining;

/// A fresh network on the target. With `params: None` it takes the source model's architecture
/// and the [`TargetTraining`] settings (learning rate, epochs, early stopping, no IPM).
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `params` | `None` | the network to fit; `None` = source architecture with `training` | valid [`TarNetParams`] |
/// | `training` | [`TargetTraining::default`] | used when `params` is `None` | see [`TargetTraining`] |
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetOnly {
    /// Explicit network hyperparameters, or `None` to derive them from the source.
    pub params: Option<TarNetParams>,
    /// Target training settings used when `params` is `None`.
    pub training: TargetTraining,
}

impl Params for TargetOnly {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        if let Some(p) = &self.params {
            p.validate()?;
        }
        self.training.validate()
    }
}

impl TransferStrategy<FittedTarNet> for TargetOnly {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        "target-only"
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet> {
        self.validate()?;
        let params = match &self.params {
            Some(p) => p.clone(),
            None => self.training.params_from(input.source_model.params()),
        };
        Ok(params.fit_on(input.target, seed.stream("target-only"), input.source_model.device())?)
    }
}

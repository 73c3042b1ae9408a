//! `freeze-representation`: keep the source's representation Φ fixed and refit the outcome
//! heads h0, h1 on the target.
//!
//! **Helps** when the source learned a representation that also describes the target
//! (same covariates, a large source) and the target is small: only the heads' few
//! parameters are estimated from it. **Hurts** when the target needs features the source
//! never needed (strong covariate or effect shift): Φ cannot adapt.

use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_nets::vars::VarGroup;
use ite_nets::{FittedTarNet, TrainOptions};

use crate::entry::StrategyEntry;
use crate::error::{Result, TransferError};
use crate::training::TargetTraining;

/// Frozen Φ, heads refit (starting from the source heads).
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `training` | [`TargetTraining::transfer`] (learning-rate scale 0.1) | target training settings | see [`TargetTraining`] |
#[derive(Debug, Clone, PartialEq)]
pub struct FreezeRepresentation {
    /// Target training settings.
    pub training: TargetTraining,
}

impl Default for FreezeRepresentation {
    fn default() -> Self {
        FreezeRepresentation { training: TargetTraining::transfer() }
    }
}

impl FreezeRepresentation {
    /// The strategy's name, `freeze-representation`.
    pub const NAME: &str = "freeze-representation";

    /// Its registry entry.
    pub const ENTRY: StrategyEntry = StrategyEntry::new(
        Self::NAME,
        "the source's representation Φ kept, the heads h0, h1 refit on the target",
        |c| Box::new(FreezeRepresentation { training: FreezeRepresentation::default().training.with_config(c) }),
    );

    /// These settings with the target training's epochs and patience capped at `max_epochs`.
    pub fn with_epoch_cap(self, max_epochs: Option<usize>) -> Self {
        FreezeRepresentation { training: self.training.with_epoch_cap(max_epochs) }
    }
}

impl Params for FreezeRepresentation {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        self.training.validate()
    }
}

/// Training options that train the heads only.
pub(crate) fn heads_only<'a>() -> TrainOptions<'a> {
    TrainOptions { trainable: Some(VarGroup::prefixes(&VarGroup::HEADS)), ..TrainOptions::default() }
}

impl TransferStrategy<FittedTarNet> for FreezeRepresentation {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        Self::NAME
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet> {
        self.validate()?;
        let source = input.source_model;
        let params = self.training.params_from(source.params());
        Ok(params.fit_with_options(input.target, seed.stream("freeze-representation"), Some(source), &heads_only())?)
    }
}

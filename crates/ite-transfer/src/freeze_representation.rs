//! `freeze-representation`: keep the source's representation Φ fixed and refit the outcome
//! heads h0, h1 on the target.
//!
//! **Helps** when the source learned a representation that also describes the target
//! (same covariates, a large source) and the target is small: only the heads' few
//! parameters are estimated from it. **Hurts** when the target needs features the source
//! never needed (strong covariate or effect shift): Φ cannot adapt.

use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_nets::{FittedTarNet, TrainOptions};

use crate::error::{Result, TransferError};
use crate::training::TargetTraining;

/// Variable-name prefixes of the outcome heads.
pub const HEAD_PREFIXES: [&str; 2] = ["h0.", "h1."];

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

impl Params for FreezeRepresentation {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        self.training.validate()
    }
}

/// Training options that train the heads only.
pub(crate) fn heads_only<'a>() -> TrainOptions<'a> {
    TrainOptions { trainable: Some(HEAD_PREFIXES.iter().map(|s| s.to_string()).collect()), ..TrainOptions::default() }
}

impl TransferStrategy<FittedTarNet> for FreezeRepresentation {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        "freeze-representation"
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet> {
        self.validate()?;
        let source = input.source_model;
        let params = self.training.params_from(source.params());
        Ok(params.fit_with_options(input.target, seed.stream("freeze-representation"), Some(source), &heads_only())?)
    }
}

//! `freeze-representation`: keep the source's representation Φ fixed and refit the outcome
//! heads h0, h1 on the target.
//!
//! **Helps** when the source learned a representation that also describes the target
//! (same covariates, a large source) and the target is small: only the heads' few
//! parameters are estimated from it. **Hurts** when the target needs features the source
//! never needed (strong covariate or effect shift): Φ cannot adapt.

use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_nets::FittedTarNet;
use ite_nets::vars::VarGroup;

use crate::entry::{StrategyConfig, StrategyEntry};
use crate::error::{Result, TransferError};
use crate::net_fit::{NetFit, Start};
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
        |c| Box::new(FreezeRepresentation::configured(c)),
    )
    .with_net_fit(|c, input, seed| Ok(FreezeRepresentation::configured(c).net_fit(input, seed)));

    /// The default settings with `config` applied, as its registry entry builds them.
    pub fn configured(config: &StrategyConfig) -> Self {
        FreezeRepresentation { training: FreezeRepresentation::default().training.with_config(config) }
    }

    /// Its fit, which `transfer(input, seed)` runs: the source model's network with the target
    /// training settings, warm-started from the source model, the heads `h0`, `h1` trainable
    /// and Φ frozen, seed `seed.stream("freeze-representation")`.
    pub fn net_fit(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> NetFit {
        let params = self.training.params_from(input.source_model.params());
        let (seed, trainable) = (seed.stream("freeze-representation"), Some(VarGroup::HEADS.to_vec()));
        NetFit { params, seed, start: Start::Source, trainable }
    }

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

impl TransferStrategy<FittedTarNet> for FreezeRepresentation {
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

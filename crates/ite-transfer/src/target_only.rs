//! `target-only`: no transfer — a fresh TARNet fitted on the target alone.
//!
//! **Helps** when the target is large and randomized (several hundred units), or when the
//! source is far from the target. **Hurts** on small targets (high variance) and on
//! non-randomized targets, whose selection bias it cannot remove.

use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_nets::{FittedTarNet, TarNetParams};

use crate::entry::{StrategyConfig, StrategyEntry};
use crate::error::{Result, TransferError};
use crate::net_fit::{NetFit, Start};
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

impl TargetOnly {
    /// The strategy's name, `target-only`.
    pub const NAME: &str = "target-only";

    /// Its registry entry (it ignores the source sample and model apart from their settings).
    pub const ENTRY: StrategyEntry =
        StrategyEntry::new(Self::NAME, "a fresh TARNet fitted on the target alone (no transfer)", |c| {
            Box::new(TargetOnly::configured(c))
        })
        .without_source()
        .with_net_fit(|c, input, seed| Ok(TargetOnly::configured(c).net_fit(input, seed)));

    /// The default settings with `config` applied, as its registry entry builds them.
    pub fn configured(config: &StrategyConfig) -> Self {
        let s = TargetOnly::default().with_epoch_cap(config.max_epochs);
        TargetOnly { training: s.training.with_config(config), ..s }
    }

    /// Its fit, which `transfer(input, seed)` runs: a fresh network (`params`, or the source
    /// model's with the target training settings), all groups trainable, seed
    /// `seed.stream("target-only")`.
    pub fn net_fit(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> NetFit {
        let params = self.params.clone().unwrap_or_else(|| self.training.params_from(input.source_model.params()));
        NetFit { params, seed: seed.stream("target-only"), start: Start::Fresh, trainable: None }
    }

    /// These settings with the epochs and patience of the fit capped at `max_epochs` (of the
    /// explicit `params` too, when given).
    pub fn with_epoch_cap(self, max_epochs: Option<usize>) -> Self {
        let params = match (self.params, max_epochs) {
            (Some(p), Some(cap)) => {
                let (e, pat) = (p.max_epochs.min(cap), p.patience.min(cap));
                Some(p.with_max_epochs(e).with_patience(pat))
            }
            (params, _) => params,
        };
        TargetOnly { params, training: self.training.with_epoch_cap(max_epochs) }
    }
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
        Self::NAME
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet> {
        self.validate()?;
        self.net_fit(input, seed).fit(input.source_model, input.target)
    }
}

//! `source-only`: apply the source model to the target unchanged.
//!
//! **Helps** when the target is drawn from the source's population (no shift) and is too
//! small to learn anything the source does not know; it is also the natural baseline for
//! how much the target moves the estimate. **Hurts** under any covariate, effect or
//! prognostic shift: nothing in it sees the target.

use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_nets::FittedTarNet;

use crate::entry::StrategyEntry;
use crate::error::{Result, TransferError};

/// The source model, copied (its weights are not shared with the source).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceOnly;

impl SourceOnly {
    /// The strategy's name, `source-only`.
    pub const NAME: &str = "source-only";

    /// Its registry entry. It trains nothing, so an epoch cap does not change it.
    pub const ENTRY: StrategyEntry =
        StrategyEntry::new(Self::NAME, "the source model unchanged (the no-adaptation baseline)", |_| {
            Box::new(SourceOnly)
        })
        .without_target_training();
}

impl Params for SourceOnly {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

impl TransferStrategy<FittedTarNet> for SourceOnly {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        Self::NAME
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, _seed: Seed) -> Result<FittedTarNet> {
        Ok(input.source_model.deep_clone()?)
    }
}

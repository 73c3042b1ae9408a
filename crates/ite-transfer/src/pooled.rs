//! `pooled`: one network trained on the source and target samples together, the target
//! optionally up-weighted by repeating its rows.
//!
//! **Helps** when source and target share one population and the target adds a few units
//! to a large sample. **Hurts** when they differ: the source dominates the fit unless the
//! target is up-weighted, and the network cannot tell the two apart (no sample indicator).
//! Unlike the other strategies it does not start from the source model's weights, only its
//! hyperparameters.

use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_nets::FittedTarNet;

use crate::entry::StrategyEntry;
use crate::error::{Result, TransferError};

/// Pooled training.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `target_weight` | 1 | each target row appears this many times in the pooled sample | 1..=1000 |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pooled {
    /// Repetitions of each target row.
    pub target_weight: usize,
}

impl Default for Pooled {
    fn default() -> Self {
        Pooled { target_weight: 1 }
    }
}

impl Pooled {
    /// The strategy's name, `pooled`.
    pub const NAME: &str = "pooled";

    /// Its registry entry. It trains with the source model's hyperparameters (a grid caps
    /// those), so the [`crate::StrategyConfig`] does not change it.
    pub const ENTRY: StrategyEntry =
        StrategyEntry::new(Self::NAME, "one network trained on the source and target samples together", |_| {
            Box::new(Pooled::default())
        })
        .without_target_training();
}

impl Params for Pooled {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        if !(1..=1000).contains(&self.target_weight) {
            return Err(TransferError::param("target_weight", self.target_weight, "an integer in 1..=1000"));
        }
        Ok(())
    }
}

impl TransferStrategy<FittedTarNet> for Pooled {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        Self::NAME
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet> {
        self.validate()?;
        let target = input.target;
        let repeated: Vec<usize> = (0..self.target_weight).flat_map(|_| 0..target.n()).collect();
        let pooled = input.source.concat(&target.select(&repeated)?)?;
        let device = input.source_model.device();
        Ok(input.source_model.params().fit_on(&pooled, seed.stream("pooled"), device)?)
    }
}

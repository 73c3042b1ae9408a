//! [`NetFit`]: the last (or only) training phase of a strategy when it is one TARNet fit on the
//! target — fresh, or warm-started from the source model or from a model the strategy made
//! first, with some groups trainable. `target-only`, `fine-tune`, `freeze-representation` and
//! `staged-alignment` (its heads phase) are of this kind; [`crate::transfer_many`] trains such
//! fits of many targets together.

use ite_core::{CausalData, Seed};
use ite_nets::{FittedTarNet, TarNetParams, TrainOptions, VarGroup};

use crate::error::Result;

/// Where a [`NetFit`] starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// The seeded initial weights (a fresh network).
    Fresh,
    /// The source model's weights and scalers.
    Source,
    /// A model the strategy made first (e.g. staged alignment's aligned representation).
    Model(Box<FittedTarNet>),
}

/// One TARNet fit on the target: a strategy's final training phase.
///
/// | name | meaning |
/// |---|---|
/// | `params` | the network and its training (validated by the fit) |
/// | `seed` | the fit's seed (initial weights, split, minibatch order) |
/// | `start` | where it starts ([`Start`]) |
/// | `trainable` | the groups that train (`None`: all); the others stay bit for bit as they start |
#[derive(Debug, Clone)]
pub struct NetFit {
    /// The network fitted on the target.
    pub params: TarNetParams,
    /// The seed of the fit.
    pub seed: Seed,
    /// Where it starts.
    pub start: Start,
    /// The groups that train (`None`: all).
    pub trainable: Option<Vec<VarGroup>>,
}

impl NetFit {
    /// The model it starts from (`None`: fresh).
    pub(crate) fn prior<'a>(&'a self, source_model: &'a FittedTarNet) -> Option<&'a FittedTarNet> {
        match &self.start {
            Start::Fresh => None,
            Start::Source => Some(source_model),
            Start::Model(m) => Some(m),
        }
    }

    /// The fit on `target` by the single-network trainer (`TarNetParams::fit_with_options`, on
    /// the source model's device): what the strategy's `transfer` returns.
    ///
    /// # Errors
    /// The fit's errors (invalid parameters, a target without both arms, a diverged loss).
    pub fn fit(&self, source_model: &FittedTarNet, target: &CausalData) -> Result<FittedTarNet> {
        let options = TrainOptions {
            trainable: self.trainable.as_deref().map(VarGroup::prefixes),
            device: Some(source_model.device().clone()),
            ..TrainOptions::default()
        };
        Ok(self.params.fit_with_options(target, self.seed, self.prior(source_model), &options)?)
    }

    /// Whether [`crate::transfer_many`] trains this fit batched: a network the batched trainer takes
    /// and small enough for it to pay (`TarNetParams::batching_pays`).
    pub fn batches(&self) -> bool {
        self.params.batching_pays()
    }

    /// Whether two fits can share a batch: the same network and trainable groups.
    pub(crate) fn batches_with(&self, other: &NetFit) -> bool {
        self.params == other.params && self.trainable == other.trainable
    }
}

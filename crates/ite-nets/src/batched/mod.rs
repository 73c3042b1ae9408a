//! Batched training: many TARNets / CFRs of one architecture trained together, each with its
//! own rows, seed, minibatch order, Adam state and early stopping
//! ([`TarNetParams::fit_many`]). For ensembles, cross-fitting folds, bootstrap refits and
//! simulation replications, which fit the same network many times.
//!
//! At the study's size a single network's step is bound by per-operation overhead (graph
//! building, the backward walk, one small kernel call per layer), not arithmetic. Here the
//! networks are packed [`PACK`] at a time, every parameter and activation stored lane by lane
//! (value `j` of network `k` next to value `j` of network `k + 1`), so that one vector
//! instruction advances every network of the pack, and there is no graph: the forward pass,
//! the gradients of the objective and the Adam update are written out by hand
//! (`kernels/lanes.rs`).
//!
//! **Reproducibility.** Each network's arithmetic is the same sequence of f32 operations
//! whether it is trained alone or among others, in any position, with any number of packs or
//! threads: a network's predictions are bit-identical across those (tested). The dot products
//! use exact-rounded fused multiply-add, so the bits are also the same on every CPU family.
//! They are *not* the bits of [`ite_core::Fit::fit`], whose candle graph sums in other orders:
//! the same initial weights, split, minibatches and objective give the same model up to f32
//! rounding (the first step's loss and gradients agree to 1e-5 relative, tested), except where
//! rounding decides a near tie of early stopping: then another epoch's weights are kept, a model
//! as different as another seed's (8 of 500 source models of the full Simulation 1 grid).
//!
//! **What is batched.** TARNet and CFR with the linear MMD² (α ≥ 0), ReLU or ELU, a continuous
//! outcome, on the CPU, with optional frozen groups and warm starts. Other settings (the RBF MMD,
//! the Sinkhorn divergence, unit-normed Φ, a binary outcome) fit one network at a time through [`ite_core::Fit::fit`]'s
//! trainer; [`TarNetParams::batch_support`] says which applies.

mod fit;
mod learner;
mod pack;
mod rows;
mod step;

use std::collections::BTreeMap;
use std::time::Instant;

use ite_core::{CausalData, Params, Seed};

use crate::error::Result;
use crate::hyperparams::{Ipm, TarNetParams};
use crate::kernels::lanes::LANES;
use crate::tarnet::FittedTarNet;
use crate::train::TrainOptions;
use crate::vars::VarGroup;

pub use learner::BatchedTarNet;

/// Networks trained per pack (one vector of f32 lanes).
pub const PACK: usize = LANES;

/// One network of a batched fit.
#[derive(Debug, Clone, Copy)]
pub struct BatchTask<'a> {
    /// Its training data (split into training and validation rows as [`ite_core::Fit::fit`] does).
    pub data: &'a CausalData,
    /// Its seed: initial weights (`init`), split (`split`) and minibatch order (`batches`).
    pub seed: Seed,
    /// A model to start from (its weights and scalers; same architecture and covariates), as
    /// [`ite_core::FitWith::fit_with`]; `None` starts from the seeded initial weights.
    pub prior: Option<&'a FittedTarNet>,
}

/// What a batched fit takes beyond the hyperparameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOptions {
    /// The groups that train (`None`: all). A frozen group's weights stay bit for bit as they
    /// start.
    pub trainable: Option<Vec<VarGroup>>,
}

impl TarNetParams {
    /// `Ok` when [`TarNetParams::fit_many`] trains these networks batched, else why not (it
    /// then fits them one at a time).
    pub fn batch_support(&self) -> std::result::Result<(), String> {
        if self.alpha > 0.0 && self.ipm != Ipm::LinearMmd {
            return Err(format!("the IPM {:?} is not batched (only the linear MMD² is)", self.ipm));
        }
        if self.unit_norm {
            return Err("a unit-normed representation is not batched".into());
        }
        if self.outcome_type == ite_core::OutcomeType::Binary {
            return Err("a binary outcome (cross-entropy loss) is not batched".into());
        }
        Ok(())
    }

    /// Whether training these networks batched is expected to be faster than one at a time:
    /// [`TarNetParams::batch_support`] holds and no layer is wider than 64 units. Measured
    /// (`ite bench train --models K`, docs/performance.md): at the study's size (widths ≤ 20)
    /// a pack of 8 runs about 6× the network-steps of the single-network trainer on one thread;
    /// at IHDP's (widths 200) the step is compute-bound and the two are even, so a pack that
    /// is not full is slower than single fits spread over the cores.
    pub fn batching_pays(&self) -> bool {
        let widest = self.phi_layers.iter().chain(&self.head_layers).copied().max().unwrap_or(0);
        self.batch_support().is_ok() && widest <= 64
    }

    /// Fits one network per task and returns them in the tasks' order.
    ///
    /// Tasks with the same number of covariates are trained [`PACK`] at a time as one batch
    /// (see the [module documentation](crate::batched)); packs run on the rayon thread pool.
    /// Each result is the same whatever the other tasks, their order, their number or the
    /// thread count. When [`TarNetParams::batch_support`] fails, each task is fitted alone by
    /// [`TarNetParams::fit_with_options`] instead (same results as that).
    ///
    /// # Errors
    /// Invalid parameters, a task's data without both arms, a prior with other covariates or
    /// architecture, or a diverged loss (naming the task's index).
    pub fn fit_many(&self, tasks: &[BatchTask<'_>], options: &BatchOptions) -> Result<Vec<FittedTarNet>> {
        Ok(self.fit_many_timed(tasks, options)?.into_iter().map(|(m, _)| m).collect())
    }

    /// [`TarNetParams::fit_many`], each model with the seconds its fit took: a batched
    /// network's share of its pack's training (the pack's wall-clock time divided by the
    /// networks in it), an unbatched one's own fit.
    ///
    /// # Errors
    /// As [`TarNetParams::fit_many`].
    pub fn fit_many_timed(&self, tasks: &[BatchTask<'_>], options: &BatchOptions) -> Result<Vec<(FittedTarNet, f64)>> {
        self.validate()?;
        if self.batch_support().is_err() {
            let train = TrainOptions {
                trainable: options.trainable.as_ref().map(|g| VarGroup::prefixes(g)),
                ..TrainOptions::default()
            };
            return tasks
                .iter()
                .map(|t| {
                    let start = Instant::now();
                    let m = self.fit_with_options(t.data, t.seed, t.prior, &train)?;
                    Ok((m, start.elapsed().as_secs_f64()))
                })
                .collect();
        }
        let mut by_p: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, t) in tasks.iter().enumerate() {
            by_p.entry(t.data.p()).or_default().push(i);
        }
        let packs: Vec<Vec<usize>> =
            by_p.into_values().flat_map(|ids| ids.chunks(PACK).map(<[usize]>::to_vec).collect::<Vec<_>>()).collect();
        use rayon::prelude::*;
        let fitted: Vec<Vec<(usize, (FittedTarNet, f64))>> = packs
            .par_iter()
            .map(|ids| {
                let pack: Vec<&BatchTask<'_>> = ids.iter().map(|&i| &tasks[i]).collect();
                let start = Instant::now();
                let models = fit::train_pack(self, &pack, options, ids)?;
                let share = start.elapsed().as_secs_f64() / ids.len() as f64;
                Ok(ids.iter().copied().zip(models.into_iter().map(|m| (m, share))).collect())
            })
            .collect::<Result<_>>()?;
        let mut out: Vec<Option<(FittedTarNet, f64)>> = (0..tasks.len()).map(|_| None).collect();
        for (i, m) in fitted.into_iter().flatten() {
            out[i] = Some(m);
        }
        Ok(out.into_iter().flatten().collect())
    }
}

//! [`transfer_many`]: a strategy run on many targets at once, the final fits of a strategy with
//! a plan ([`crate::StrategyEntry::net_fit`], a [`NetFit`]) trained together by the batched
//! trainer (`ite_nets::TarNetParams::fit_many`, [`ite_nets::batched`]); a grid trains the
//! replications of a cell together through it.

use std::time::Instant;

use ite_core::{Seed, TransferInput};
use ite_nets::{BatchOptions, BatchTask, FittedTarNet};
use rayon::prelude::*;

use crate::entry::{StrategyConfig, StrategyEntry};
use crate::error::Result;
use crate::net_fit::NetFit;

/// A model fitted by [`transfer_many`] and the time its fit took.
#[derive(Debug, Clone)]
pub struct Transferred {
    /// The fitted model.
    pub model: FittedTarNet,
    /// Seconds of wall clock: the strategy's own phases before its last, plus the last fit's
    /// share of its pack's training (the pack's time divided by its networks) when batched, or
    /// the whole `transfer` when not.
    pub seconds: f64,
}

/// Runs the strategy of `entry` (built with `config`) on every `(input, seed)`, in parallel on
/// the current rayon pool, returning the fitted models (with their times) in the inputs'
/// order.
///
/// When the entry has a plan ([`StrategyEntry::net_fit`]) and the source models are on the
/// CPU, each input's plan is made (the strategy's phases before its last, in parallel), and the
/// final fits that [batch](NetFit::batches) train together, [`ite_nets::batched::PACK`]
/// networks per pack. Each network's result is then the same whatever the other inputs, their
/// order or the thread count, and agrees with the strategy's own `transfer` (the
/// single-network trainer) to f32 rounding (see `ite_nets::batched`, "Reproducibility").
/// Otherwise each input runs the strategy's `transfer`.
///
/// # Errors
/// The strategy's or the fit's errors (invalid settings, a target without both arms, a
/// diverged loss).
pub fn transfer_many(
    entry: &StrategyEntry,
    config: &StrategyConfig,
    inputs: &[(TransferInput<'_, FittedTarNet>, Seed)],
) -> Result<Vec<Transferred>> {
    let timed = |f: &dyn Fn() -> Result<FittedTarNet>| {
        let start = Instant::now();
        f().map(|model| Transferred { model, seconds: start.elapsed().as_secs_f64() })
    };
    let plan = match entry.net_fit {
        Some(plan) if inputs.iter().all(|(i, _)| i.source_model.device().is_cpu()) => plan,
        _ => {
            let strategy = (entry.build)(config);
            return inputs.par_iter().map(|(input, seed)| timed(&|| strategy.transfer(*input, *seed))).collect();
        }
    };
    let plans: Vec<(NetFit, f64)> = inputs
        .par_iter()
        .map(|(input, seed)| {
            let start = Instant::now();
            Ok((plan(config, *input, *seed)?, start.elapsed().as_secs_f64()))
        })
        .collect::<Result<_>>()?;
    let (plans, before): (Vec<NetFit>, Vec<f64>) = plans.into_iter().unzip();
    let mut out: Vec<Option<Transferred>> = (0..inputs.len()).map(|_| None).collect();
    // Fits that batch, in buckets of the same network and trainable groups.
    let mut buckets: Vec<Vec<usize>> = Vec::new();
    let mut alone = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        if !p.batches() {
            alone.push(i);
            continue;
        }
        match buckets.iter_mut().find(|ids| plans[ids[0]].batches_with(p)) {
            Some(ids) => ids.push(i),
            None => buckets.push(vec![i]),
        }
    }
    for ids in buckets {
        let tasks: Vec<BatchTask<'_>> = ids
            .iter()
            .map(|&i| BatchTask {
                data: inputs[i].0.target,
                seed: plans[i].seed,
                prior: plans[i].prior(inputs[i].0.source_model),
            })
            .collect();
        let first = &plans[ids[0]];
        let options = BatchOptions { trainable: first.trainable.clone() };
        for (i, (model, seconds)) in ids.into_iter().zip(first.params.fit_many_timed(&tasks, &options)?) {
            out[i] = Some(Transferred { model, seconds: before[i] + seconds });
        }
    }
    let singles: Vec<(usize, Transferred)> = alone
        .par_iter()
        .map(|&i| {
            let t = timed(&|| plans[i].fit(inputs[i].0.source_model, inputs[i].0.target))?;
            Ok((i, Transferred { seconds: before[i] + t.seconds, ..t }))
        })
        .collect::<Result<_>>()?;
    for (i, t) in singles {
        out[i] = Some(t);
    }
    Ok(out.into_iter().flatten().collect())
}

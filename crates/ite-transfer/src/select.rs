//! [`select_strategy`]: which transfer strategy to use on a target, chosen from the target data
//! alone — every candidate strategy (all of a [`Registry`] by default: built-in, source-only and
//! target-only included, and any a user registered) re-run on K−1 folds of the target with the
//! same source model, and scored on the held-out fold by `ite_inference::SelectionParams`
//! (R-loss, doubly robust loss, PEHE_nn). The caller refits the chosen strategy on the whole
//! target (`ite transfer --strategy auto`).

use ite_core::{CausalData, Seed};
use ite_inference::{Candidate, SelectionParams, SelectionReport};
use ite_nets::FittedTarNet;

use crate::entry::StrategyConfig;
use crate::error::{Result, TransferError};
use crate::learner::EntryLearner;
use crate::registry::Registry;

/// Scores the strategies `names` of `registry` (every registered one when `names` is empty) on
/// `target`, each built with `config` and re-run on each training split of the target's folds
/// with `source_model` and `source` ([`EntryLearner`]: the refits of a strategy with a plan
/// train together); `clusters` (one code per target unit)
/// keeps clusters in one fold and makes the standard errors cluster-robust. The report's
/// candidates are in the order of `names` (registration order when empty).
///
/// ```no_run
/// use ite_core::Seed;
/// use ite_inference::SelectionParams;
/// use ite_transfer::{Registry, StrategyConfig, select_strategy};
/// # fn demo(source_model: &ite_nets::FittedTarNet, source: &ite_core::CausalData, target: &ite_core::CausalData) -> anyhow::Result<()> {
/// let registry = Registry::builtin();
/// let report = select_strategy(&registry, &[], &StrategyConfig::default(), &SelectionParams::default(),
///     (source_model, source, target), None, Seed::new(1))?;
/// println!("chosen: {}", report.chosen_name());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`TransferError::UnknownStrategy`] for a name not registered (or named twice: `Settings`);
/// [`TransferError::Inference`] when the selection fails (an arm smaller than the folds, every
/// candidate failed).
pub fn select_strategy(
    registry: &Registry,
    names: &[&str],
    config: &StrategyConfig,
    params: &SelectionParams,
    (source_model, source, target): (&FittedTarNet, &CausalData, &CausalData),
    clusters: Option<&[usize]>,
    seed: Seed,
) -> Result<SelectionReport> {
    let names: Vec<&str> = if names.is_empty() { registry.names() } else { names.to_vec() };
    if let Some((i, n)) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)) {
        return Err(TransferError::param(
            "candidates",
            n,
            format!("no repeated names (`{n}` appears twice, the second time at position {})", i + 1),
        ));
    }
    let learners: Vec<EntryLearner<'_>> = names
        .iter()
        .map(|n| {
            // Built once to check the name and the settings as `Registry::build` does.
            registry.build(n, config)?;
            Ok(EntryLearner { entry: registry.entry(n)?, config: *config, source_model, source })
        })
        .collect::<Result<_>>()?;
    let candidates: Vec<Candidate<'_>> =
        names.iter().zip(&learners).map(|(name, learner)| Candidate { name, learner }).collect();
    Ok(params.select(target, &candidates, clusters, seed)?)
}

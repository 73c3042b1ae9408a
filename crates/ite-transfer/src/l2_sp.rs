//! `l2-sp`: fine-tune every weight while penalising the distance to the source weights,
//! factual loss + λ·Σ‖θ − θ_source‖² (Li, Grandvalet & Davoine 2018, "starting point" L2).
//!
//! **Helps** between the two extremes: the target can move the network, but only as far as
//! its evidence outweighs λ, so small targets stay close to the source and larger ones
//! move further. **Hurts** when λ is mis-set: too small is plain fine-tuning (drift toward
//! the target's bias), too large is source-only.

use std::collections::BTreeMap;

use candle_core::Tensor;
use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_nets::{FittedTarNet, LossContext, TarNetVars, TrainOptions};

use crate::entry::StrategyEntry;
use crate::error::{Result, TransferError};
use crate::training::TargetTraining;

/// L2-SP fine-tuning.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `lambda` | 0.1 | weight λ of Σ‖θ − θ_source‖² (the loss is on standardised outcomes) | ≥ 0, finite |
/// | `training` | [`TargetTraining::transfer`] (learning-rate scale 0.1) | target training settings | see [`TargetTraining`] |
#[derive(Debug, Clone, PartialEq)]
pub struct L2Sp {
    /// Penalty weight λ.
    pub lambda: f64,
    /// Target training settings.
    pub training: TargetTraining,
}

impl Default for L2Sp {
    fn default() -> Self {
        L2Sp { lambda: 0.1, training: TargetTraining::transfer() }
    }
}

impl L2Sp {
    /// The strategy's name, `l2-sp`.
    pub const NAME: &str = "l2-sp";

    /// Its registry entry.
    pub const ENTRY: StrategyEntry = StrategyEntry::new(
        Self::NAME,
        "fine-tuning penalised by λ·Σ‖θ − θ_source‖² (Li et al. 2018)",
        |c| {
            let s = L2Sp::default();
            Box::new(L2Sp { training: s.training.with_config(c), ..s })
        },
    );

    /// These settings with the target training's epochs and patience capped at `max_epochs`.
    pub fn with_epoch_cap(self, max_epochs: Option<usize>) -> Self {
        L2Sp { training: self.training.with_epoch_cap(max_epochs), ..self }
    }
}

impl Params for L2Sp {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            return Err(TransferError::param("lambda", self.lambda, "a finite number ≥ 0"));
        }
        self.training.validate()
    }
}

/// λ·Σ‖θ − θ_source‖² over every variable of `vars` that `source` names (a scalar tensor,
/// differentiable in `vars`; its gradient is 2λ(θ − θ_source)).
pub fn l2_sp_penalty(vars: &TarNetVars, source: &BTreeMap<String, Tensor>, lambda: f64) -> candle_core::Result<Tensor> {
    let mut total: Option<Tensor> = None;
    for (name, var) in vars.iter_sorted() {
        let Some(src) = source.get(&name) else { continue };
        let term = (var.as_tensor() - src)?.sqr()?.sum_all()?;
        total = Some(match total {
            None => term,
            Some(acc) => (acc + term)?,
        });
    }
    match total {
        Some(t) => t * lambda,
        None => candle_core::bail!("no variable of the network matches the source weights"),
    }
}

impl TransferStrategy<FittedTarNet> for L2Sp {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        Self::NAME
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet> {
        self.validate()?;
        let source = input.source_model;
        let anchor = source.vars().snapshot()?;
        let lambda = self.lambda;
        let penalty = move |ctx: &LossContext<'_>| l2_sp_penalty(ctx.vars, &anchor, lambda);
        let options = TrainOptions { extra_loss: Some(&penalty), ..TrainOptions::default() };
        let params = self.training.params_from(source.params());
        Ok(params.fit_with_options(input.target, seed.stream("l2-sp"), Some(source), &options)?)
    }
}

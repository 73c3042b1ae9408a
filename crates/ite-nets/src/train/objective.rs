//! The training objective of one minibatch: the weighted factual loss, the heads' L2 term, the
//! IPM between the arms' representations (α · IPM, CFR: Shalit, Johansson & Sontag 2017) and
//! an extra term from the caller, with the L2 term's placement decided once per run.

use candle_core::Tensor;

use crate::error::{NetsError, Result};
use crate::hyperparams::TarNetParams;
use crate::ipm;
use crate::loss;
use crate::optim::Adam;
use crate::tarnet::TarNet;
use crate::train::batch::{Block, index_tensor};
use crate::train::options::{ExtraLoss, LossContext, TrainOptions};
use crate::vars::VarGroup;

/// Where the heads' L2 term λ·Σ‖W‖² goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum L2Placement {
    /// No L2 term (λ = 0, or only the extra loss trains).
    Off,
    /// A node of the graph, so its gradient comes from backpropagation (the update is not
    /// fused, or the gradient is clipped: clipping must see the whole gradient).
    InGraph,
    /// Its gradient added by the fused Adam update (no graph nodes per step), its value added
    /// to the reported loss.
    InUpdate,
}

/// The objective of a run: which terms it has and where the L2 term goes.
pub(crate) struct Objective<'a> {
    params: &'a TarNetParams,
    l2: L2Placement,
    head_weights: Vec<Tensor>,
    only_extra_loss: bool,
    extra_loss: Option<&'a ExtraLoss<'a>>,
}

impl<'a> Objective<'a> {
    /// The objective for `net` under `options`; with the L2 term in the fused update, registers
    /// it with `opt` (a frozen head weight is not registered: its term is then a constant).
    pub(crate) fn new(params: &'a TarNetParams, net: &TarNet, options: &TrainOptions<'a>, opt: &mut Adam) -> Self {
        let head_weight_vars: Vec<candle_core::Var> = net
            .vars()
            .iter_sorted()
            .into_iter()
            .filter(|(n, _)| VarGroup::HEADS.iter().any(|g| g.holds(n)) && n.ends_with(".weight"))
            .map(|(_, v)| v)
            .collect();
        let l2 = if params.l2_heads <= 0.0 || options.only_extra_loss {
            L2Placement::Off
        } else if opt.is_fused() && options.clip_grad_norm.is_none() {
            L2Placement::InUpdate
        } else {
            L2Placement::InGraph
        };
        if l2 == L2Placement::InUpdate {
            for v in &head_weight_vars {
                opt.add_l2(v, params.l2_heads);
            }
        }
        Objective {
            params,
            l2,
            head_weights: head_weight_vars.iter().map(|v| v.as_tensor().clone()).collect(),
            only_extra_loss: options.only_extra_loss,
            extra_loss: options.extra_loss,
        }
    }

    /// The loss of minibatch `b` whose representation is `r` (`b × rep_dim`): the graph to
    /// differentiate and the value to report (with the L2 term when it is in the update).
    pub(crate) fn minibatch(&self, net: &TarNet, b: &Block, r: &Tensor, epoch: usize) -> Result<(Tensor, f64)> {
        let mut total: Option<Tensor> = None;
        let mut add = |term: Tensor| -> Result<()> {
            total = Some(match total.take() {
                None => term,
                Some(acc) => (acc + term)?,
            });
            Ok(())
        };
        if !self.only_extra_loss {
            let (h0, h1) = net.heads(r)?;
            add(loss::factual_loss(self.params.outcome_type, &h0, &h1, &b.t, &b.y, &b.w)?)?;
            if self.l2 == L2Placement::InGraph
                && let Some(l2) = loss::l2_penalty(&self.head_weights, self.params.l2_heads)?
            {
                add(l2)?;
            }
            if self.params.alpha > 0.0
                && let Some(term) = ipm_term(self.params, r, &b.t_host)?
            {
                add(term)?;
            }
        }
        if let Some(extra) = self.extra_loss {
            let ctx = LossContext { net, vars: net.vars(), x: &b.x, t: &b.t_host, phi: r, epoch };
            add(extra(&ctx)?)?;
        }
        let Some(total) = total else {
            return Err(NetsError::param("only_extra_loss", true, "an extra_loss when the factual loss is off"));
        };
        let mut value = scalar(&total)?;
        if self.l2 == L2Placement::InUpdate {
            value += loss::l2_value(&self.head_weights, self.params.l2_heads)?;
        }
        Ok((total, value))
    }
}

/// The weighted factual loss (of `params`' outcome type) of `net` on the rows of `v` (Φ(x) given in `rep` when frozen).
pub(crate) fn validation_loss(params: &TarNetParams, net: &TarNet, v: &Block, rep: Option<&Tensor>) -> Result<f64> {
    let r = match rep {
        Some(r) => r.clone(),
        None => net.representation(&v.x)?,
    };
    let (h0, h1) = net.heads(&r)?;
    scalar(&loss::factual_loss(params.outcome_type, &h0, &h1, &v.t, &v.y, &v.w)?)
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(f64::from(t.to_scalar::<f32>()?))
}

/// α · IPM between the control and treated rows of `r` (None when an arm is absent).
fn ipm_term(params: &TarNetParams, r: &Tensor, t: &[u8]) -> Result<Option<Tensor>> {
    let pick = |arm: u8| -> Vec<usize> { (0..t.len()).filter(|&i| t[i] == arm).collect() };
    let (c, tr) = (pick(0), pick(1));
    if c.is_empty() || tr.is_empty() {
        return Ok(None);
    }
    let (ci, ti) = (index_tensor(&c, r.device())?, index_tensor(&tr, r.device())?);
    let v = ipm::ipm(&params.ipm, &r.index_select(&ci, 0)?, &r.index_select(&ti, 0)?)?;
    Ok(Some((v * params.alpha)?))
}

//! Diagonal Fisher information of a fitted network's factual loss on a dataset, and from
//! three of them the task affinity [`crate::cita::cita`] between a source and a target.
//!
//! The diagonal is the mean over units of the squared per-unit gradient of the squared
//! error (on standardised outcomes) of the factual head, with respect to every weight of
//! the network, in name order. With flipped labels each unit is scored on the other head.

use candle_core::Tensor;
use ite_core::{CausalData, Params, Seed, TransferInput};
use ite_nets::FittedTarNet;
use serde::{Deserialize, Serialize};

use crate::cita::{FisherDiagonal, cita};
use crate::error::{Result, TransferError};
use crate::sampling::subsample;
use crate::unit_grads::HostNet;

/// Settings of the CITA computation.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `max_units` | 500 | units per dataset used for each Fisher diagonal (a seeded subsample when larger) | ≥ 1 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitaParams {
    /// Units per dataset.
    pub max_units: usize,
}

impl Default for CitaParams {
    fn default() -> Self {
        CitaParams { max_units: 500 }
    }
}

impl Params for CitaParams {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        if self.max_units == 0 {
            return Err(TransferError::param("max_units", self.max_units, "at least 1"));
        }
        Ok(())
    }
}

/// Raw (unnormalised) diagonal Fisher information of `model`'s factual loss on the units
/// `rows` of `data`; with `flip`, each unit's treatment is taken as `1 − t`. One entry per
/// weight, variables in name order (`TarNetVars::iter_sorted`), each flattened row-major.
///
/// Computed by a hand-written per-unit backward pass in f64 (`unit_grads`); a unit-normed
/// representation takes candle's backward per unit instead. The two agree to f32 rounding
/// (tested).
///
/// # Errors
/// No rows; covariates other than the model's; a weight that cannot be read.
pub fn fisher_diagonal(model: &FittedTarNet, data: &CausalData, rows: &[usize], flip: bool) -> Result<Vec<f64>> {
    if rows.is_empty() {
        return Err(TransferError::param("rows", 0, "at least one unit"));
    }
    let Some(net) = HostNet::of(model)? else {
        return fisher_diagonal_autograd(model, data, rows, flip);
    };
    let x = model.standardized(&data.x().select_rows(rows)?)?.flatten_all()?.to_vec1::<f32>()?;
    let y_std = model.y_scaler().transform(&rows.iter().map(|&i| data.y()[i]).collect::<Vec<_>>());
    let p = data.p();
    let mut acc = vec![0f64; net.len];
    let mut xi = vec![0f64; p];
    for (k, &i) in rows.iter().enumerate() {
        xi.iter_mut().zip(&x[k * p..(k + 1) * p]).for_each(|(a, &b)| *a = f64::from(b));
        let arm = usize::from(data.t()[i] ^ u8::from(flip));
        net.add_squared_gradient(&xi, f64::from(y_std[k]), arm, &mut acc);
    }
    let n = rows.len() as f64;
    acc.iter_mut().for_each(|a| *a /= n);
    Ok(acc)
}

/// [`fisher_diagonal`] by candle's backward pass, one unit at a time (any TARNet, including a
/// unit-normed representation).
///
/// # Errors
/// As [`fisher_diagonal`].
pub fn fisher_diagonal_autograd(
    model: &FittedTarNet,
    data: &CausalData,
    rows: &[usize],
    flip: bool,
) -> Result<Vec<f64>> {
    let vars = model.vars().iter_sorted();
    let sizes: Vec<usize> = vars.iter().map(|(_, v)| v.elem_count()).collect();
    let mut acc = vec![0f64; sizes.iter().sum()];
    if rows.is_empty() {
        return Err(TransferError::param("rows", 0, "at least one unit"));
    }
    let x = model.standardized(&data.x().select_rows(rows)?)?;
    let y_std = model.y_scaler().transform(&rows.iter().map(|&i| data.y()[i]).collect::<Vec<_>>());
    let net = model.net();
    for (k, &i) in rows.iter().enumerate() {
        let xi = x.narrow(0, k, 1)?;
        let (h0, h1) = net.heads(&net.representation(&xi)?)?;
        let arm = data.t()[i] ^ u8::from(flip);
        let pred = if arm == 1 { h1 } else { h0 };
        let target = Tensor::from_vec(vec![y_std[k]], 1, model.device())?;
        let loss = (pred - target)?.sqr()?.sum_all()?;
        let grads = loss.backward()?;
        let mut off = 0;
        for ((_, var), &size) in vars.iter().zip(&sizes) {
            if let Some(g) = grads.get(var.as_tensor()) {
                for (a, v) in acc[off..off + size].iter_mut().zip(g.flatten_all()?.to_vec1::<f32>()?) {
                    *a += f64::from(v) * f64::from(v);
                }
            }
            off += size;
        }
    }
    let n = rows.len() as f64;
    acc.iter_mut().for_each(|a| *a /= n);
    Ok(acc)
}

/// CITA between the source and target of `input`, through the source model:
/// min(d(F_ss, F_st), d(F_ss, F_st⁻)) in [0, 1]; small means the source is close.
pub fn task_affinity(input: TransferInput<'_, FittedTarNet>, params: &CitaParams, seed: Seed) -> Result<f64> {
    params.validate()?;
    let model = input.source_model;
    let seed = seed.stream("cita");
    // One stream for both subsamples (common random numbers): when the target is the source
    // data, both diagonals see the same units and CITA is exactly 0.
    let units = |n: usize| subsample((0..n).collect(), params.max_units, &mut seed.stream("units").rng());
    let (src_rows, tgt_rows) = (units(input.source.n()), units(input.target.n()));
    let f_ss = FisherDiagonal::normalised(&fisher_diagonal(model, input.source, &src_rows, false)?, "F_ss")?;
    let f_st = FisherDiagonal::normalised(&fisher_diagonal(model, input.target, &tgt_rows, false)?, "F_st")?;
    let f_flip = FisherDiagonal::normalised(&fisher_diagonal(model, input.target, &tgt_rows, true)?, "F_st-")?;
    cita(&f_ss, &f_st, &f_flip)
}

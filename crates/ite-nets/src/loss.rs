//! Loss terms of TARNet / CFR training: the (weighted) factual loss, the L2 penalty on the
//! heads, and the sample weights w = t/(2u) + (1 − t)/(2(1 − u)).

use candle_core::Tensor;

/// Weighted factual squared error `mean(w · (y − ŷ_t)²)` with `ŷ_t = h0 + t·(h1 − h0)`;
/// `t`, `w`, `y`, `h0`, `h1` are all `(n,)`.
pub fn factual_mse(h0: &Tensor, h1: &Tensor, t: &Tensor, y: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let pred = (h0 + (t * (h1 - h0)?)?)?;
    (w * (y - pred)?.sqr()?)?.mean_all()
}

/// `λ · Σ ‖W‖²` over the given weight tensors (0 when `lambda == 0` or the list is empty).
pub fn l2_penalty(weights: &[Tensor], lambda: f64) -> candle_core::Result<Option<Tensor>> {
    if lambda == 0.0 || weights.is_empty() {
        return Ok(None);
    }
    let mut total: Option<Tensor> = None;
    for w in weights {
        let s = w.sqr()?.sum_all()?;
        total = Some(match total {
            None => s,
            Some(acc) => (acc + s)?,
        });
    }
    total.map(|t| t * lambda).transpose()
}

/// Sample weights `w = t/(2u) + (1 − t)/(2(1 − u))`, `u` the treated share of `t`
/// (all ones when `reweight` is false or an arm is empty).
pub fn sample_weights(t: &[u8], reweight: bool) -> Vec<f32> {
    let n = t.len().max(1) as f64;
    let u = t.iter().filter(|&&v| v == 1).count() as f64 / n;
    if !reweight || u <= 0.0 || u >= 1.0 {
        return vec![1.0; t.len()];
    }
    t.iter().map(|&v| if v == 1 { (1.0 / (2.0 * u)) as f32 } else { (1.0 / (2.0 * (1.0 - u))) as f32 }).collect()
}

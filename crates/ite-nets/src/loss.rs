//! Loss terms of TARNet / CFR training: the (weighted) factual loss — squared error for a
//! continuous outcome, binary cross-entropy on logits for a binary one —, the L2 penalty on the
//! heads, and the sample weights w = t/(2u) + (1 − t)/(2(1 − u)).
//!
//! On the CPU the factual squared error and each ‖W‖² are one fused op (see the crate's
//! kernels); elsewhere, and for the cross-entropy, they are built from candle's tensor
//! operations.

use candle_core::{DType, Tensor};
use ite_core::OutcomeType;

use crate::kernels::{self, Floats};

/// Weighted factual squared error `mean(w · (y − ŷ_t)²)` with `ŷ_t = h0 + t·(h1 − h0)`;
/// `t`, `w`, `y`, `h0`, `h1` are all `(n,)`. Differentiable in `h0` and `h1`.
pub fn factual_mse(h0: &Tensor, h1: &Tensor, t: &Tensor, y: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let all = [h0, h1, t, y, w];
    let n = h0.elem_count();
    let fused = all.iter().all(|v| kernels::fusable(v, Floats::F32))
        && all.iter().all(|v| v.rank() == 1 && v.elem_count() == n)
        && n > 0;
    if fused {
        return kernels::loss::factual_mse(h0, h1, t, y, w);
    }
    let pred = (h0 + (t * (h1 - h0)?)?)?;
    (w * (y - pred)?.sqr()?)?.mean_all()
}

/// Weighted factual binary cross-entropy `mean(w · (log(1 + e^z) − y·z))` of the logits
/// `z = h0 + t·(h1 − h0)` against 0/1 outcomes `y`; `t`, `w`, `y`, `h0`, `h1` are all `(n,)`.
/// `log(1 + e^z)` is computed as `max(z, 0) + log(1 + e^−|z|)`, finite for every finite `z`.
/// Its gradient in `z` is `w · (σ(z) − y) / n`. Differentiable in `h0` and `h1`.
pub fn factual_bce(h0: &Tensor, h1: &Tensor, t: &Tensor, y: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let z = (h0 + (t * (h1 - h0)?)?)?;
    let softplus = (z.relu()? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    (w * (softplus - (y * &z)?)?)?.mean_all()
}

/// The factual loss of `outcome_type`: [`factual_mse`] (continuous) or [`factual_bce`]
/// (binary, the heads' outputs read as logits).
pub fn factual_loss(
    outcome_type: OutcomeType,
    h0: &Tensor,
    h1: &Tensor,
    t: &Tensor,
    y: &Tensor,
    w: &Tensor,
) -> candle_core::Result<Tensor> {
    match outcome_type {
        OutcomeType::Continuous => factual_mse(h0, h1, t, y, w),
        OutcomeType::Binary => factual_bce(h0, h1, t, y, w),
    }
}

/// `λ · Σ ‖W‖²` over the given weight tensors (0 when `lambda == 0` or the list is empty).
/// On the CPU each ‖W‖² is one op (one pass forward, one backward: 2W·g).
pub fn l2_penalty(weights: &[Tensor], lambda: f64) -> candle_core::Result<Option<Tensor>> {
    if lambda == 0.0 || weights.is_empty() {
        return Ok(None);
    }
    let mut total: Option<Tensor> = None;
    for w in weights {
        let s = if kernels::fusable(w, Floats::F32) { kernels::loss::squared_norm(w)? } else { w.sqr()?.sum_all()? };
        total = Some(match total {
            None => s,
            Some(acc) => (acc + s)?,
        });
    }
    total.map(|t| t * lambda).transpose()
}

/// The value of [`l2_penalty`], `λ · Σ ‖W‖²`, computed on the host outside any graph (for
/// reporting the objective when the gradient is added elsewhere, e.g. by
/// [`crate::optim::Adam::add_l2`]).
pub fn l2_value(weights: &[Tensor], lambda: f64) -> candle_core::Result<f64> {
    if lambda == 0.0 {
        return Ok(0.0);
    }
    let mut total = 0.0;
    for w in weights {
        total += if kernels::fusable(w, Floats::F32) {
            kernels::loss::squared_norm_value(w)?
        } else {
            f64::from(w.sqr()?.sum_all()?.to_dtype(DType::F32)?.to_scalar::<f32>()?)
        };
    }
    Ok(lambda * total)
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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn fused_factual_loss_matches_the_tensor_formula_and_its_gradient() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let h0 = Var::new(&[0.5f32, -1.0, 2.0, 0.25, 1.5], &dev)?;
        let h1 = Var::new(&[1.0f32, 0.0, -0.5, 3.0, 0.75], &dev)?;
        let t = Tensor::new(&[0f32, 1.0, 1.0, 0.0, 1.0], &dev)?;
        let y = Tensor::new(&[0.0f32, 0.5, -1.0, 1.0, 2.0], &dev)?;
        let w = Tensor::new(&[1.0f32, 2.0, 0.5, 1.0, 1.5], &dev)?;
        let fused = factual_mse(h0.as_tensor(), h1.as_tensor(), &t, &y, &w)?;
        // Hand-computed: residuals ŷ − y = 0.5, −0.5, 0.5, −0.75, −1.25; Σ w r² = 0.25 + 0.5
        // + 0.125 + 0.5625 + 2.34375 = 3.78125; mean over 5.
        assert!((fused.to_scalar::<f32>()? - 3.78125 / 5.0).abs() < 1e-6);
        let (a, b) = (h0.as_tensor(), h1.as_tensor());
        let plain = (&w * (&y - (a + (&t * (b - a)?)?)?)?.sqr()?)?.mean_all()?;
        let (gf, gp) = (fused.backward()?, plain.backward()?);
        for v in [&h0, &h1] {
            let d = (gf.get(v.as_tensor()).expect("fused") - gp.get(v.as_tensor()).expect("plain"))?;
            assert!(d.abs()?.max_all()?.to_scalar::<f32>()? < 1e-6);
        }
        Ok(())
    }

    /// The gradient of the binary cross-entropy in h0 and h1 equals central finite differences
    /// of its value (computed in f64), and its value the hand formula; large logits stay finite.
    #[test]
    fn bce_gradient_matches_finite_differences() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let (h0v, h1v) = ([0.5f64, -1.0, 2.0, 0.25, 1.5, -3.0], [1.0f64, 0.0, -0.5, 3.0, 0.75, 2.0]);
        let tv = [0f64, 1.0, 1.0, 0.0, 1.0, 0.0];
        let yv = [0f64, 1.0, 0.0, 1.0, 1.0, 0.0];
        let wv = [1.0f64, 2.0, 0.5, 1.0, 1.5, 0.8];
        let value = |h0: &[f64], h1: &[f64]| -> f64 {
            let terms = (0..6).map(|i| {
                let z = h0[i] + tv[i] * (h1[i] - h0[i]);
                wv[i] * ((1.0 + z.exp()).ln() - yv[i] * z)
            });
            terms.sum::<f64>() / 6.0
        };
        let (h0, h1) = (Var::new(&h0v, &dev)?, Var::new(&h1v, &dev)?);
        let (t, y, w) = (Tensor::new(&tv, &dev)?, Tensor::new(&yv, &dev)?, Tensor::new(&wv, &dev)?);
        let loss = factual_bce(h0.as_tensor(), h1.as_tensor(), &t, &y, &w)?;
        assert!((loss.to_scalar::<f64>()? - value(&h0v, &h1v)).abs() < 1e-12);
        let grads = loss.backward()?;
        let g0 = grads.get(h0.as_tensor()).expect("grad h0").to_vec1::<f64>()?;
        let g1 = grads.get(h1.as_tensor()).expect("grad h1").to_vec1::<f64>()?;
        let eps = 1e-6;
        for i in 0..6 {
            for (arm, g) in [(0, &g0), (1, &g1)] {
                let (mut plus, mut minus) = ([h0v, h1v], [h0v, h1v]);
                plus[arm][i] += eps;
                minus[arm][i] -= eps;
                let fd = (value(&plus[0], &plus[1]) - value(&minus[0], &minus[1])) / (2.0 * eps);
                assert!((g[i] - fd).abs() < 1e-7, "h{arm}[{i}]: backprop {} vs finite difference {fd}", g[i]);
            }
        }
        // The row's own arm only: control rows have no gradient in h1, treated rows none in h0.
        assert_eq!(g1[0], 0.0);
        assert_eq!(g0[1], 0.0);
        // f32 and logits of ±100: finite, and ≈ 0 when right, ≈ 100·w/n when wrong.
        let z = Tensor::new(&[100f32, -100.0], &dev)?;
        let (t2, w2) = (Tensor::new(&[0f32, 0.0], &dev)?, Tensor::new(&[1f32, 1.0], &dev)?);
        let right = factual_bce(&z, &z, &t2, &Tensor::new(&[1f32, 0.0], &dev)?, &w2)?.to_scalar::<f32>()?;
        let wrong = factual_bce(&z, &z, &t2, &Tensor::new(&[0f32, 1.0], &dev)?, &w2)?.to_scalar::<f32>()?;
        assert!(right.abs() < 1e-6 && (wrong - 100.0).abs() < 1e-3, "{right} {wrong}");
        Ok(())
    }

    #[test]
    fn l2_value_matches_the_penalty() -> candle_core::Result<()> {
        let v: Vec<f32> = (0..10_007).map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0).collect();
        let dev = Device::Cpu;
        let ws = [Tensor::from_vec(v, (10_007,), &dev)?, Tensor::new(&[[1.0f32, -2.0], [0.5, 3.0]], &dev)?];
        let graph = l2_penalty(&ws, 0.1)?.expect("penalty").to_scalar::<f32>()?;
        let host = l2_value(&ws, 0.1)?;
        assert!((host - f64::from(graph)).abs() <= 1e-6 * host, "{host} vs {graph}");
        assert_eq!(l2_value(&ws, 0.0)?, 0.0);
        // f64 weights take candle's path and give the same value.
        let ws64: Vec<Tensor> = ws.iter().map(|w| w.to_dtype(DType::F64)).collect::<candle_core::Result<_>>()?;
        assert!((l2_value(&ws64, 0.1)? - host).abs() <= 1e-5 * host);
        Ok(())
    }

    #[test]
    fn fused_l2_penalty_matches_the_tensor_formula_and_its_gradient() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let a = Var::new(&[[1.0f32, -2.0], [0.5, 3.0]], &dev)?;
        let b = Var::new(&[0.25f32, -1.0, 4.0], &dev)?;
        let l2 = l2_penalty(&[a.as_tensor().clone(), b.as_tensor().clone()], 0.1)?.expect("penalty");
        // 0.1 · (1 + 4 + 0.25 + 9 + 0.0625 + 1 + 16) = 3.13125
        assert!((l2.to_scalar::<f32>()? - 3.13125).abs() < 1e-6);
        let g = l2.backward()?;
        let ga = g.get(a.as_tensor()).expect("grad a").flatten_all()?.to_vec1::<f32>()?;
        let gb = g.get(b.as_tensor()).expect("grad b").to_vec1::<f32>()?;
        // d/dW λ‖W‖² = 2λW.
        for (got, want) in ga.iter().chain(&gb).zip([0.2, -0.4, 0.1, 0.6, 0.05, -0.2, 0.8]) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        Ok(())
    }
}

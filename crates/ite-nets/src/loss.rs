//! Loss terms of TARNet / CFR training: the (weighted) factual loss, the L2 penalty on the
//! heads, and the sample weights w = t/(2u) + (1 − t)/(2(1 − u)).
//!
//! On the CPU the factual loss is one custom op (forward and backward each a single pass);
//! elsewhere it is built from candle's tensor operations.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Storage, Tensor};

use crate::activation::is_cpu_f32;

/// Weighted factual squared error `mean(w · (y − ŷ_t)²)` with `ŷ_t = h0 + t·(h1 − h0)`;
/// `t`, `w`, `y`, `h0`, `h1` are all `(n,)`. Differentiable in `h0` and `h1`.
pub fn factual_mse(h0: &Tensor, h1: &Tensor, t: &Tensor, y: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let all = [h0, h1, t, y, w];
    let n = h0.elem_count();
    let fused = all.iter().all(|v| is_cpu_f32(v)) && all.iter().all(|v| v.rank() == 1 && v.elem_count() == n) && n > 0;
    if fused {
        let host = |v: &Tensor| v.to_vec1::<f32>();
        let op = FactualMse { t: host(t)?, y: host(y)?, w: host(w)? };
        return h0.apply_op2(h1, op);
    }
    let pred = (h0 + (t * (h1 - h0)?)?)?;
    (w * (y - pred)?.sqr()?)?.mean_all()
}

/// ‖W‖² of an f32 CPU tensor as one differentiable op.
struct SquaredNorm;

impl candle_core::CustomOp1 for SquaredNorm {
    fn name(&self) -> &'static str {
        "ite-squared-norm"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        Ok((CpuStorage::F32(vec![sum_squares(f32_data(s, l)?) as f32]), Shape::from(())))
    }

    fn bwd(&self, w: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let g = grad_res.to_scalar::<f32>()?;
        let (s, l) = w.storage_and_layout();
        let Storage::Cpu(c) = &*s else {
            candle_core::bail!("ite-squared-norm: backward on a non-CPU tensor");
        };
        let d: Vec<f32> = f32_data(c, l)?.iter().map(|&x| 2.0 * g * x).collect();
        Ok(Some(Tensor::from_vec(d, w.shape(), w.device())?))
    }
}

crate::simd::avx2_dispatch!(
    /// Σ x² of f32 values in f64: sixteen f32 lanes over blocks of 1024 values (vectorisable),
    /// each block's lanes added in f64, so rounding never builds up over more than 64 terms.
    fn sum_squares(v: &[f32]) -> f64 => sum_squares_body
);

#[inline(always)]
fn sum_squares_body(v: &[f32]) -> f64 {
    const LANES: usize = 16;
    let mut total = [0f64; LANES];
    for block in v.chunks(1024) {
        let mut acc = [0f32; LANES];
        let chunks = block.chunks_exact(LANES);
        for (a, &x) in acc.iter_mut().zip(chunks.remainder()) {
            *a += x * x;
        }
        for c in chunks {
            for (a, &x) in acc.iter_mut().zip(c) {
                *a += x * x;
            }
        }
        for (t, a) in total.iter_mut().zip(acc) {
            *t += f64::from(a);
        }
    }
    total.iter().sum()
}

/// The fused factual loss; holds the batch's treatment, outcome and weights on the host.
struct FactualMse {
    t: Vec<f32>,
    y: Vec<f32>,
    w: Vec<f32>,
}

fn f32_data<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    crate::activation::f32_slice(s, l, "ite loss term")
}

impl FactualMse {
    /// Residuals ŷ_t − y.
    fn residuals(&self, h0: &[f32], h1: &[f32]) -> Vec<f32> {
        h0.iter().zip(h1).zip(&self.t).zip(&self.y).map(|(((&a, &b), &t), &y)| a + t * (b - a) - y).collect()
    }
}

impl CustomOp2 for FactualMse {
    fn name(&self) -> &'static str {
        "ite-factual-mse"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let r = self.residuals(f32_data(s1, l1)?, f32_data(s2, l2)?);
        // Accumulate in f64: the loss feeds early stopping and the training history.
        let sum: f64 = r.iter().zip(&self.w).map(|(&r, &w)| f64::from(w) * f64::from(r) * f64::from(r)).sum();
        Ok((CpuStorage::F32(vec![(sum / r.len() as f64) as f32]), Shape::from(())))
    }

    fn bwd(
        &self,
        h0: &Tensor,
        h1: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad_res.to_scalar::<f32>()?;
        let r = {
            let (s0, l0) = h0.storage_and_layout();
            let (s1, l1) = h1.storage_and_layout();
            match (&*s0, &*s1) {
                (Storage::Cpu(a), Storage::Cpu(b)) => self.residuals(f32_data(a, l0)?, f32_data(b, l1)?),
                _ => candle_core::bail!("ite-factual-mse: backward on a non-CPU tensor"),
            }
        };
        let c = 2.0 * g / r.len() as f32;
        // d/dŷ = c·w·r; ŷ = (1 − t)·h0 + t·h1.
        let d: Vec<f32> = r.iter().zip(&self.w).map(|(&r, &w)| c * w * r).collect();
        let d0: Vec<f32> = d.iter().zip(&self.t).map(|(&d, &t)| d * (1.0 - t)).collect();
        let d1: Vec<f32> = d.iter().zip(&self.t).map(|(&d, &t)| d * t).collect();
        let dev = h0.device();
        Ok((Some(Tensor::from_vec(d0, h0.shape(), dev)?), Some(Tensor::from_vec(d1, h1.shape(), dev)?)))
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
        let s = if is_cpu_f32(w) { w.apply_op1(SquaredNorm)? } else { w.sqr()?.sum_all()? };
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
        total += if is_cpu_f32(w) {
            let (s, l) = w.storage_and_layout();
            let Storage::Cpu(c) = &*s else { candle_core::bail!("ite-l2: expected a CPU tensor") };
            sum_squares(f32_data(c, l)?)
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

    #[test]
    fn sum_squares_is_accurate_over_long_vectors_and_l2_value_matches_the_penalty() -> candle_core::Result<()> {
        // 10 007 values (a tail in the last block and in its last chunk), summed in f64 exactly.
        let v: Vec<f32> = (0..10_007).map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0).collect();
        let exact: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        assert!((sum_squares(&v) - exact).abs() <= 1e-6 * exact, "{} vs {exact}", sum_squares(&v));
        let dev = Device::Cpu;
        let ws = [Tensor::from_vec(v, (10_007,), &dev)?, Tensor::new(&[[1.0f32, -2.0], [0.5, 3.0]], &dev)?];
        let graph = l2_penalty(&ws, 0.1)?.expect("penalty").to_scalar::<f32>()?;
        let host = l2_value(&ws, 0.1)?;
        assert!((host - f64::from(graph)).abs() <= 1e-6 * host, "{host} vs {graph}");
        assert_eq!(l2_value(&ws, 0.0)?, 0.0);
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

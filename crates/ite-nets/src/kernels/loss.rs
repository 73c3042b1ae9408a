//! The fused loss terms: the weighted factual squared error (forward and backward each a single
//! pass) and the squared norm ‖W‖² of a weight (one pass each way; its host value summed in
//! f64 blocks).

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

use super::{cpu, f32_slice};

/// `mean(w · (y − ŷ_t)²)` with `ŷ_t = h0 + t·(h1 − h0)` for contiguous f32 CPU tensors, all
/// `(n,)` with `n ≥ 1` (check with [`super::fusable`] and the shapes); differentiable in `h0`
/// and `h1`.
pub(crate) fn factual_mse(h0: &Tensor, h1: &Tensor, t: &Tensor, y: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let host = |v: &Tensor| v.to_vec1::<f32>();
    let op = FactualMse { t: host(t)?, y: host(y)?, w: host(w)? };
    h0.apply_op2(h1, op)
}

/// ‖W‖² of a contiguous f32 CPU tensor as one differentiable op (check with [`super::fusable`]).
pub(crate) fn squared_norm(w: &Tensor) -> candle_core::Result<Tensor> {
    w.apply_op1(SquaredNorm)
}

/// ‖W‖² of a contiguous f32 CPU tensor, computed on the host in f64 outside any graph (the
/// value [`squared_norm`] rounds to f32).
pub(crate) fn squared_norm_value(w: &Tensor) -> candle_core::Result<f64> {
    let (s, l) = w.storage_and_layout();
    Ok(sum_squares(f32_data(cpu(&s, "ite-l2")?, l)?))
}

/// The fused factual loss; holds the batch's treatment, outcome and weights on the host.
struct FactualMse {
    t: Vec<f32>,
    y: Vec<f32>,
    w: Vec<f32>,
}

fn f32_data<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    f32_slice(s, l, "ite loss term")
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
            self.residuals(f32_data(cpu(&s0, self.name())?, l0)?, f32_data(cpu(&s1, self.name())?, l1)?)
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
        let d: Vec<f32> = f32_data(cpu(&s, "ite-squared-norm")?, l)?.iter().map(|&x| 2.0 * g * x).collect();
        Ok(Some(Tensor::from_vec(d, w.shape(), w.device())?))
    }
}

super::avx2_dispatch!(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_squares_is_accurate_over_long_vectors() {
        // 10 007 values (a tail in the last block and in its last chunk), summed in f64 exactly.
        let v: Vec<f32> = (0..10_007).map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0).collect();
        let exact: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        assert!((sum_squares(&v) - exact).abs() <= 1e-6 * exact, "{} vs {exact}", sum_squares(&v));
    }
}

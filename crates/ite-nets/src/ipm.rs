//! Integral probability metrics between two samples of representations (CFR's balance term):
//! linear MMD, RBF-kernel MMD and the entropic Wasserstein (Sinkhorn) divergence.
//!
//! Every function takes two matrices `a` (`n_a × d`) and `b` (`n_b × d`) of the same dtype
//! (f32 in training, f64 works too), returns a scalar tensor and is differentiable with candle's
//! autograd with respect to both inputs.
//!
//! The Sinkhorn solver runs on the host in f64 on the detached cost matrix (kernel scaling,
//! falling back to the log domain when exp(−C/ε) could underflow, so it is stable for any ε);
//! the returned tensor has the value of the entropic OT cost and, by Danskin's theorem, its
//! exact gradient `⟨T*, ∂C⟩` at the converged plan `T*`. On the CPU the whole Sinkhorn
//! divergence (three costs, three plans, value and gradient) is one custom op; self-transport
//! problems use the symmetric update, which converges in a few iterations.

use candle_core::{DType, Tensor};

use crate::hyperparams::{Ipm, SinkhornConfig};
use crate::kernels::{self, Floats};

/// Pairwise squared Euclidean distances `‖a_i − b_j‖²`, shape `(n_a, n_b)`.
pub fn pairwise_sq_dist(a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    let a2 = a.sqr()?.sum_keepdim(1)?; // (na, 1)
    let b2 = b.sqr()?.sum_keepdim(1)?.t()?; // (1, nb)
    let ab = a.matmul(&b.t()?)?; // (na, nb)
    a2.broadcast_add(&b2)?.broadcast_sub(&(ab * 2.0)?)
}

/// Linear-kernel MMD²: `‖mean(a) − mean(b)‖²`.
pub fn linear_mmd(a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    (a.mean(0)? - b.mean(0)?)?.sqr()?.sum_all()
}

/// Biased (V-statistic) MMD² with the Gaussian kernel `k(u, v) = exp(−‖u − v‖² / (2σ²))`:
/// `mean k(a, a) + mean k(b, b) − 2 mean k(a, b)`; ≥ 0, and 0 when the samples coincide.
pub fn rbf_mmd(a: &Tensor, b: &Tensor, sigma: f64) -> candle_core::Result<Tensor> {
    let scale = -1.0 / (2.0 * sigma * sigma);
    let k = |u: &Tensor, v: &Tensor| -> candle_core::Result<Tensor> {
        (pairwise_sq_dist(u, v)? * scale)?.exp()?.mean_all()
    };
    let kab = k(a, b)?;
    (k(a, a)? + k(b, b)?)? - (kab * 2.0)?
}

fn host_matrix(c: &Tensor) -> candle_core::Result<(Vec<f64>, usize, usize)> {
    let (na, nb) = c.dims2()?;
    Ok((c.detach().to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?, na, nb))
}

/// Entropic optimal-transport cost `OT_ε(a, b) = min_T ⟨T, C⟩ + ε·KL(T ‖ a⊗b)` between the
/// uniform empirical measures of `a` and `b`, with squared-Euclidean cost and absolute `eps`.
pub fn entropic_ot(a: &Tensor, b: &Tensor, eps: f64, cfg: &SinkhornConfig) -> candle_core::Result<Tensor> {
    let c = pairwise_sq_dist(a, b)?;
    let (host, na, nb) = host_matrix(&c)?;
    let plan = kernels::sinkhorn::sinkhorn_plan(&host, na, nb, eps, cfg);
    let t = Tensor::from_vec(plan.t, (na, nb), c.device())?.to_dtype(c.dtype())?;
    (t * c)?.sum_all()? + plan.entropic
}

/// The ε actually used for `a`, `b` under `cfg`: `cfg.epsilon`, times the mean cross cost when
/// `cfg.relative`.
pub fn sinkhorn_epsilon(a: &Tensor, b: &Tensor, cfg: &SinkhornConfig) -> candle_core::Result<f64> {
    if !cfg.relative {
        return Ok(cfg.epsilon);
    }
    let mean = pairwise_sq_dist(&a.detach(), &b.detach())?.mean_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    Ok(cfg.epsilon * mean.max(1e-8))
}

/// Sinkhorn divergence `OT_ε(a, b) − ½ OT_ε(a, a) − ½ OT_ε(b, b)` (squared-Euclidean cost):
/// an entropic Wasserstein-2² that is 0 for identical samples and grows with their distance.
pub fn sinkhorn_divergence(a: &Tensor, b: &Tensor, cfg: &SinkhornConfig) -> candle_core::Result<Tensor> {
    if fusable(a, b) {
        return kernels::sinkhorn::divergence(a, b, cfg, true);
    }
    sinkhorn_divergence_graph(a, b, cfg)
}

/// `OT_ε(a, b) − ½ OT_ε(a, a)`: the Sinkhorn divergence without its `b`-only term, for a fixed
/// `b` (no gradient flows to `b`). Its gradient in `a` equals the divergence's, and each call
/// avoids the self-transport of `b`. ε is relative to the cross cost as in
/// [`sinkhorn_divergence`].
pub fn sinkhorn_divergence_to_fixed(a: &Tensor, b: &Tensor, cfg: &SinkhornConfig) -> candle_core::Result<Tensor> {
    let b = b.detach();
    if fusable(a, &b) {
        return kernels::sinkhorn::divergence(a, &b, cfg, false);
    }
    let eps = sinkhorn_epsilon(a, &b, cfg)?;
    entropic_ot(a, &b, eps, cfg)? - (entropic_ot(a, a, eps, cfg)? * 0.5)?
}

/// [`sinkhorn_divergence`] built from candle tensor operations (any device).
pub fn sinkhorn_divergence_graph(a: &Tensor, b: &Tensor, cfg: &SinkhornConfig) -> candle_core::Result<Tensor> {
    let eps = sinkhorn_epsilon(a, b, cfg)?;
    let ab = entropic_ot(a, b, eps, cfg)?;
    let aa = entropic_ot(a, a, eps, cfg)?;
    let bb = entropic_ot(b, b, eps, cfg)?;
    ab - ((aa + bb)? * 0.5)?
}

/// Whether the fused op can take `a` and `b`: contiguous CPU matrices of one float dtype, with
/// the same number of columns, both non-empty.
fn fusable(a: &Tensor, b: &Tensor) -> bool {
    [a, b].iter().all(|t| kernels::fusable(t, Floats::F32OrF64) && t.rank() == 2)
        && a.dtype() == b.dtype()
        && a.dim(1).ok() == b.dim(1).ok()
        && a.elem_count() > 0
        && b.elem_count() > 0
}

/// The IPM `kind` between `a` and `b`.
pub fn ipm(kind: &Ipm, a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    match kind {
        Ipm::LinearMmd => linear_mmd(a, b),
        Ipm::RbfMmd { sigma } => rbf_mmd(a, b, *sigma),
        Ipm::Wasserstein(cfg) => sinkhorn_divergence(a, b, cfg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn points(n: usize, d: usize, shift: f64, salt: u64) -> Vec<f64> {
        (0..n * d)
            .map(|i| ((((i as u64 + 1) * 2_654_435_761 + salt) % 997) as f64 / 997.0) * 2.0 - 1.0 + shift)
            .collect()
    }

    /// The fused op agrees with the divergence built from candle operations, in value and in
    /// the gradients of both inputs; the fixed-b variant has the same gradient in a.
    #[test]
    fn fused_divergence_matches_the_graph_version() -> candle_core::Result<()> {
        let cfg = SinkhornConfig { tol: 1e-9, max_iter: 2000, ..SinkhornConfig::default() };
        let (na, nb, d) = (9, 7, 3);
        let a = Var::from_tensor(&Tensor::from_vec(points(na, d, 0.0, 1), (na, d), &Device::Cpu)?)?;
        let b = Var::from_tensor(&Tensor::from_vec(points(nb, d, 0.5, 2), (nb, d), &Device::Cpu)?)?;
        let fused = sinkhorn_divergence(a.as_tensor(), b.as_tensor(), &cfg)?;
        let graph = sinkhorn_divergence_graph(a.as_tensor(), b.as_tensor(), &cfg)?;
        let (vf, vg) = (fused.to_scalar::<f64>()?, graph.to_scalar::<f64>()?);
        assert!((vf - vg).abs() < 1e-7 * (1.0 + vg.abs()), "{vf} vs {vg}");
        let (gf, gg) = (fused.backward()?, graph.backward()?);
        for v in [&a, &b] {
            let diff = (gf.get(v.as_tensor()).expect("fused") - gg.get(v.as_tensor()).expect("graph"))?;
            let m = diff.abs()?.max_all()?.to_scalar::<f64>()?;
            assert!(m < 1e-6, "gradient differs by {m}");
        }
        let fixed = sinkhorn_divergence_to_fixed(a.as_tensor(), b.as_tensor(), &cfg)?;
        let gx = fixed.backward()?;
        assert!(gx.get(b.as_tensor()).is_none());
        let m = (gx.get(a.as_tensor()).expect("a") - gf.get(a.as_tensor()).expect("a"))?.abs()?.max_all()?;
        assert!(m.to_scalar::<f64>()? < 1e-9);
        // f32 inputs give the f64 result to f32 precision.
        let a32 = a.as_tensor().to_dtype(DType::F32)?;
        let b32 = b.as_tensor().to_dtype(DType::F32)?;
        let v32 = f64::from(sinkhorn_divergence(&a32, &b32, &cfg)?.to_scalar::<f32>()?);
        assert!((v32 - vf).abs() < 1e-5 * (1.0 + vf.abs()));
        Ok(())
    }
}

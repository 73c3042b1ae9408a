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

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Storage, Tensor};

use crate::hyperparams::{Ipm, SinkhornConfig};

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

/// Result of the host-side Sinkhorn solver.
struct Plan {
    /// Transport plan, row-major `n_a × n_b`.
    t: Vec<f64>,
    /// `ε · KL(T ‖ a ⊗ b)`, the entropic part of the objective.
    entropic: f64,
}

crate::simd::avx2_dispatch!(
/// Sinkhorn between uniform weights for cost `c` (`na × nb`, row-major): matrix scaling on the
/// Gibbs kernel exp(−C/ε) in f64 when that cannot underflow (C/ε ≤ 500), the log domain
/// otherwise. Both stop when the largest relative change of a scaling is below `cfg.tol`.
fn sinkhorn_plan(c: &[f64], na: usize, nb: usize, eps: f64, cfg: &SinkhornConfig) -> Plan => sinkhorn_plan_body);

#[inline(always)]
fn sinkhorn_plan_body(c: &[f64], na: usize, nb: usize, eps: f64, cfg: &SinkhornConfig) -> Plan {
    let c_min = c.iter().copied().fold(f64::INFINITY, f64::min);
    let c_max = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Costs shifted by their minimum: the plan is unchanged and the kernel stays ≤ 1.
    if (c_max - c_min) / eps > 500.0 {
        return sinkhorn_plan_log(c, na, nb, eps, cfg);
    }
    let (a, b) = (1.0 / na as f64, 1.0 / nb as f64);
    let k: Vec<f64> = c.iter().map(|&v| (-(v - c_min) / eps).exp()).collect();
    let mut u = vec![1.0; na];
    let mut v = vec![1.0; nb];
    let mut kv = vec![0.0; na];
    let mut ktu = vec![0.0; nb];
    for _ in 0..cfg.max_iter {
        let mut delta: f64 = 0.0;
        for i in 0..na {
            kv[i] = dot(&k[i * nb..(i + 1) * nb], &v);
            let new = a / kv[i];
            delta = delta.max((new / u[i] - 1.0).abs());
            u[i] = new;
        }
        ktu.iter_mut().for_each(|x| *x = 0.0);
        for i in 0..na {
            let row = &k[i * nb..(i + 1) * nb];
            for (acc, x) in ktu.iter_mut().zip(row) {
                *acc += x * u[i];
            }
        }
        for j in 0..nb {
            let new = b / ktu[j];
            delta = delta.max((new / v[j] - 1.0).abs());
            v[j] = new;
        }
        if !delta.is_finite() {
            return sinkhorn_plan_log(c, na, nb, eps, cfg);
        }
        if delta < cfg.tol {
            break;
        }
    }
    scaled_plan(&u, &k, &v, eps, (a * b).ln())
}

/// The plan diag(u)·K·diag(v) and its entropic term ε·Σ T_ij (ln T_ij − ln(a_i b_j)), with
/// uniform weights whose product has logarithm `log_ab`.
#[inline(always)]
fn scaled_plan(u: &[f64], k: &[f64], v: &[f64], eps: f64, log_ab: f64) -> Plan {
    let nb = v.len();
    let mut t = vec![0.0; u.len() * nb];
    let mut entropic = 0.0;
    for (i, &ui) in u.iter().enumerate() {
        for (j, &vj) in v.iter().enumerate() {
            let tij = ui * k[i * nb + j] * vj;
            t[i * nb + j] = tij;
            if tij > 0.0 {
                entropic += eps * tij * (tij.ln() - log_ab);
            }
        }
    }
    Plan { t, entropic }
}

crate::simd::avx2_dispatch!(
/// Sinkhorn for the self-transport of a uniform measure (symmetric `c`, `n × n`), with the
/// symmetric update u ← √(u · a / (K u)) (Feydy et al. 2019), which converges in a few
/// iterations; falls back to [`sinkhorn_plan`] when the kernel could underflow.
fn sinkhorn_plan_sym(c: &[f64], n: usize, eps: f64, cfg: &SinkhornConfig) -> Plan => sinkhorn_plan_sym_body);

#[inline(always)]
fn sinkhorn_plan_sym_body(c: &[f64], n: usize, eps: f64, cfg: &SinkhornConfig) -> Plan {
    let c_min = c.iter().copied().fold(f64::INFINITY, f64::min);
    let c_max = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if (c_max - c_min) / eps > 500.0 {
        return sinkhorn_plan_log(c, n, n, eps, cfg);
    }
    let a = 1.0 / n as f64;
    let k: Vec<f64> = c.iter().map(|&v| (-(v - c_min) / eps).exp()).collect();
    let mut u = vec![1.0; n];
    let mut next = vec![0.0; n];
    let mut converged = false;
    for _ in 0..cfg.max_iter {
        let mut delta: f64 = 0.0;
        for i in 0..n {
            let new = (u[i] * a / dot(&k[i * n..(i + 1) * n], &u)).sqrt();
            delta = delta.max((new / u[i] - 1.0).abs());
            next[i] = new;
        }
        std::mem::swap(&mut u, &mut next);
        if !delta.is_finite() {
            return sinkhorn_plan(c, n, n, eps, cfg);
        }
        if delta < cfg.tol {
            converged = true;
            break;
        }
    }
    if !converged {
        return sinkhorn_plan(c, n, n, eps, cfg);
    }
    scaled_plan(&u, &k, &u, eps, (a * a).ln())
}

/// Dot product with four independent accumulators (so the compiler can vectorise it).
#[inline(always)]
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let tail: f64 = xc.remainder().iter().zip(yc.remainder()).map(|(a, b)| a * b).sum();
    for (a, b) in xc.zip(yc) {
        for l in 0..4 {
            acc[l] += a[l] * b[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

crate::simd::avx2_dispatch!(
/// Log-domain Sinkhorn (stable for any ε, slower: one `exp` per entry and iteration).
fn sinkhorn_plan_log(c: &[f64], na: usize, nb: usize, eps: f64, cfg: &SinkhornConfig) -> Plan => sinkhorn_plan_log_body);

#[inline(always)]
fn sinkhorn_plan_log_body(c: &[f64], na: usize, nb: usize, eps: f64, cfg: &SinkhornConfig) -> Plan {
    let (log_a, log_b) = (-(na as f64).ln(), -(nb as f64).ln());
    let mut f = vec![0.0; na];
    let mut g = vec![0.0; nb];
    let mut buf = vec![0.0; na.max(nb)];
    for _ in 0..cfg.max_iter {
        let mut delta: f64 = 0.0;
        for i in 0..na {
            let row = &c[i * nb..(i + 1) * nb];
            for j in 0..nb {
                buf[j] = log_b + (g[j] - row[j]) / eps;
            }
            let new = -eps * log_sum_exp(&buf[..nb]);
            delta = delta.max((new - f[i]).abs());
            f[i] = new;
        }
        for j in 0..nb {
            for i in 0..na {
                buf[i] = log_a + (f[i] - c[i * nb + j]) / eps;
            }
            let new = -eps * log_sum_exp(&buf[..na]);
            delta = delta.max((new - g[j]).abs());
            g[j] = new;
        }
        if delta / eps < cfg.tol {
            break;
        }
    }
    let mut t = vec![0.0; na * nb];
    let mut entropic = 0.0;
    for i in 0..na {
        for j in 0..nb {
            let z = (f[i] + g[j] - c[i * nb + j]) / eps; // log(T_ij / (a_i b_j))
            let tij = (log_a + log_b + z).exp();
            t[i * nb + j] = tij;
            entropic += eps * tij * z;
        }
    }
    Plan { t, entropic }
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
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
    let plan = sinkhorn_plan(&host, na, nb, eps, cfg);
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
        return a.apply_op2(b, SinkhornOp::new(*cfg, true));
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
        return a.apply_op2(&b, SinkhornOp::new(*cfg, false));
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

fn fusable(a: &Tensor, b: &Tensor) -> bool {
    [a, b].iter().all(|t| {
        t.device().is_cpu() && matches!(t.dtype(), DType::F32 | DType::F64) && t.is_contiguous() && t.rank() == 2
    }) && a.dtype() == b.dtype()
        && a.dim(1).ok() == b.dim(1).ok()
        && a.elem_count() > 0
        && b.elem_count() > 0
}

/// Row-major f64 copy of a contiguous f32/f64 CPU matrix.
fn host_f64(s: &CpuStorage, l: &Layout) -> candle_core::Result<Vec<f64>> {
    let Some((lo, hi)) = l.contiguous_offsets() else {
        candle_core::bail!("ite-sinkhorn: inputs must be contiguous");
    };
    match s {
        CpuStorage::F32(v) => Ok(v[lo..hi].iter().map(|&x| f64::from(x)).collect()),
        CpuStorage::F64(v) => Ok(v[lo..hi].to_vec()),
        _ => candle_core::bail!("ite-sinkhorn: inputs must be f32 or f64"),
    }
}

crate::simd::avx2_dispatch!(
/// `‖x_i − y_j‖²` for row-major `x` (`nx × d`) and `y` (`ny × d`).
fn sq_dists(x: &[f64], y: &[f64], d: usize) -> Vec<f64> => sq_dists_body);

#[inline(always)]
fn sq_dists_body(x: &[f64], y: &[f64], d: usize) -> Vec<f64> {
    let mut c = Vec::with_capacity((x.len() / d) * (y.len() / d));
    for xi in x.chunks_exact(d) {
        for yj in y.chunks_exact(d) {
            c.push(xi.iter().zip(yj).map(|(p, q)| (p - q) * (p - q)).sum());
        }
    }
    c
}

crate::simd::avx2_dispatch!(
/// `Σ_j T_ij · 2(x_i − y_j)` added (times `scale`) into row `i` of `grad` (`nx × d`).
fn add_transport_grad(grad: &mut [f64], t: &[f64], x: &[f64], y: &[f64], d: usize, scale: f64) -> () => add_transport_grad_body);

#[inline(always)]
fn add_transport_grad_body(grad: &mut [f64], t: &[f64], x: &[f64], y: &[f64], d: usize, scale: f64) {
    let ny = y.len() / d;
    for (i, (gi, xi)) in grad.chunks_exact_mut(d).zip(x.chunks_exact(d)).enumerate() {
        for (j, yj) in y.chunks_exact(d).enumerate() {
            let w = 2.0 * scale * t[i * ny + j];
            for ((g, p), q) in gi.iter_mut().zip(xi).zip(yj) {
                *g += w * (p - q);
            }
        }
    }
}

/// The fused Sinkhorn divergence (or its fixed-`b` variant when `with_bb` is false).
struct SinkhornOp {
    cfg: SinkhornConfig,
    with_bb: bool,
    /// The plans of the forward pass (ab, aa, bb), reused by the backward pass.
    plans: Mutex<Option<[Vec<f64>; 3]>>,
}

impl SinkhornOp {
    fn new(cfg: SinkhornConfig, with_bb: bool) -> Self {
        SinkhornOp { cfg, with_bb, plans: Mutex::new(None) }
    }
}

impl CustomOp2 for SinkhornOp {
    fn name(&self) -> &'static str {
        "ite-sinkhorn-divergence"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = l1.shape().dims2()?.1;
        let (a, b) = (host_f64(s1, l1)?, host_f64(s2, l2)?);
        let (na, nb) = (a.len() / d, b.len() / d);
        let c_ab = sq_dists(&a, &b, d);
        let eps = if self.cfg.relative {
            self.cfg.epsilon * (c_ab.iter().sum::<f64>() / c_ab.len() as f64).max(1e-8)
        } else {
            self.cfg.epsilon
        };
        let cost = |p: &Plan, c: &[f64]| -> f64 { p.t.iter().zip(c).map(|(t, c)| t * c).sum::<f64>() + p.entropic };
        let p_ab = sinkhorn_plan(&c_ab, na, nb, eps, &self.cfg);
        let c_aa = sq_dists(&a, &a, d);
        let p_aa = sinkhorn_plan_sym(&c_aa, na, eps, &self.cfg);
        let mut value = cost(&p_ab, &c_ab) - 0.5 * cost(&p_aa, &c_aa);
        let p_bb = if self.with_bb {
            let c_bb = sq_dists(&b, &b, d);
            let p = sinkhorn_plan_sym(&c_bb, nb, eps, &self.cfg);
            value -= 0.5 * cost(&p, &c_bb);
            p.t
        } else {
            Vec::new()
        };
        *self.plans.lock().unwrap_or_else(|e| e.into_inner()) = Some([p_ab.t, p_aa.t, p_bb]);
        let out = match s1 {
            CpuStorage::F64(_) => CpuStorage::F64(vec![value]),
            _ => CpuStorage::F32(vec![value as f32]),
        };
        Ok((out, Shape::from(())))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad_res.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        let guard = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        let Some([t_ab, t_aa, t_bb]) = guard.as_ref() else {
            candle_core::bail!("ite-sinkhorn: backward before forward");
        };
        let read = |t: &Tensor| -> candle_core::Result<Vec<f64>> {
            let (s, l) = t.storage_and_layout();
            match &*s {
                Storage::Cpu(c) => host_f64(c, l),
                _ => candle_core::bail!("ite-sinkhorn: backward on a non-CPU tensor"),
            }
        };
        let (av, bv) = (read(a)?, read(b)?);
        let d = a.dim(1)?;
        let (na, nb) = (av.len() / d, bv.len() / d);
        // ⟨T, C⟩ with C_ij = ‖x_i − y_j‖²: ∂/∂x_i = Σ_j T_ij 2(x_i − y_j), ∂/∂y_j = Σ_i T_ij 2(y_j − x_i).
        // Self terms count both arguments; the symmetric plan gives the same sum twice.
        let transpose = |t: &[f64], n: usize, m: usize| -> Vec<f64> {
            let mut o = vec![0.0; n * m];
            for i in 0..n {
                for j in 0..m {
                    o[j * n + i] = t[i * m + j];
                }
            }
            o
        };
        let mut ga = vec![0.0; na * d];
        add_transport_grad(&mut ga, t_ab, &av, &bv, d, g);
        add_transport_grad(&mut ga, t_aa, &av, &av, d, -0.5 * g);
        add_transport_grad(&mut ga, &transpose(t_aa, na, na), &av, &av, d, -0.5 * g);
        let to_tensor = |v: Vec<f64>, n: usize, like: &Tensor| -> candle_core::Result<Tensor> {
            Tensor::from_vec(v, (n, d), like.device())?.to_dtype(like.dtype())
        };
        let gb = if self.with_bb {
            let mut gb = vec![0.0; nb * d];
            add_transport_grad(&mut gb, &transpose(t_ab, na, nb), &bv, &av, d, g);
            add_transport_grad(&mut gb, t_bb, &bv, &bv, d, -0.5 * g);
            add_transport_grad(&mut gb, &transpose(t_bb, nb, nb), &bv, &bv, d, -0.5 * g);
            Some(to_tensor(gb, nb, b)?)
        } else {
            None
        };
        Ok((Some(to_tensor(ga, na, a)?), gb))
    }
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

//! The Sinkhorn solver and the fused Sinkhorn divergence op: matrix scaling on the Gibbs kernel
//! in f64 (the symmetric update for self-transport), the log-domain fallback, the pairwise
//! squared distances and the transport gradient ⟨T*, ∂C⟩, vectorised with the AVX2 dispatch.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};

use super::{cpu, f64_copy};
use crate::hyperparams::SinkhornConfig;

/// The Sinkhorn divergence `OT_ε(a, b) − ½ OT_ε(a, a) − ½ OT_ε(b, b)` of two contiguous CPU
/// matrices of one float dtype (f32 or f64; check with [`super::fusable`]), `(n_a, d)` and
/// `(n_b, d)`, both non-empty, as one op; without the `b`-only term (and with no gradient to
/// `b`) when `with_bb` is false. ε is `cfg.epsilon`, times the mean cross cost when
/// `cfg.relative`.
pub(crate) fn divergence(a: &Tensor, b: &Tensor, cfg: &SinkhornConfig, with_bb: bool) -> candle_core::Result<Tensor> {
    a.apply_op2(b, SinkhornOp::new(*cfg, with_bb))
}

/// Result of the host-side Sinkhorn solver.
pub(crate) struct Plan {
    /// Transport plan, row-major `n_a × n_b`.
    pub t: Vec<f64>,
    /// `ε · KL(T ‖ a ⊗ b)`, the entropic part of the objective.
    pub entropic: f64,
}

super::avx2_dispatch!(
/// Sinkhorn between uniform weights for cost `c` (`na × nb`, row-major): matrix scaling on the
/// Gibbs kernel exp(−C/ε) in f64 when that cannot underflow (C/ε ≤ 500), the log domain
/// otherwise. Both stop when the largest relative change of a scaling is below `cfg.tol`.
pub(crate) fn sinkhorn_plan(c: &[f64], na: usize, nb: usize, eps: f64, cfg: &SinkhornConfig) -> Plan => sinkhorn_plan_body);

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

super::avx2_dispatch!(
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

super::avx2_dispatch!(
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

super::avx2_dispatch!(
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

super::avx2_dispatch!(
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
        let (a, b) = (f64_copy(s1, l1, self.name())?, f64_copy(s2, l2, self.name())?);
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
            f64_copy(cpu(&s, "ite-sinkhorn")?, l, "ite-sinkhorn")
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

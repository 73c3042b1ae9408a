//! Integral probability metrics between two samples of representations (CFR's balance term):
//! linear MMD, RBF-kernel MMD and the entropic Wasserstein (Sinkhorn) divergence.
//!
//! Every function takes two matrices `a` (`n_a × d`) and `b` (`n_b × d`) of the same dtype
//! (f32 in training, f64 works too), returns a scalar tensor and is differentiable with candle's
//! autograd with respect to both inputs.
//!
//! The Sinkhorn solver runs on the host in f64 on the detached cost matrix (kernel scaling,
//! falling back to the log domain when exp(−C/ε) could underflow, so it is stable for any ε); the returned tensor has the value of the entropic OT cost and, by
//! Danskin's theorem, its exact gradient `⟨T*, ∂C⟩` at the converged plan `T*`.

use candle_core::{DType, Tensor};

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

/// Sinkhorn between uniform weights for cost `c` (`na × nb`, row-major): matrix scaling on the
/// Gibbs kernel exp(−C/ε) in f64 when that cannot underflow (C/ε ≤ 500), the log domain
/// otherwise. Both stop when the largest relative change of a scaling is below `cfg.tol`.
fn sinkhorn_plan(c: &[f64], na: usize, nb: usize, eps: f64, cfg: &SinkhornConfig) -> Plan {
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
            let row = &k[i * nb..(i + 1) * nb];
            kv[i] = row.iter().zip(&v).map(|(x, y)| x * y).sum();
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
    let mut t = vec![0.0; na * nb];
    let mut entropic = 0.0;
    let log_ab = (a * b).ln();
    for i in 0..na {
        for j in 0..nb {
            let tij = u[i] * k[i * nb + j] * v[j];
            t[i * nb + j] = tij;
            if tij > 0.0 {
                entropic += eps * tij * (tij.ln() - log_ab);
            }
        }
    }
    Plan { t, entropic }
}

/// Log-domain Sinkhorn (stable for any ε, slower: one `exp` per entry and iteration).
fn sinkhorn_plan_log(c: &[f64], na: usize, nb: usize, eps: f64, cfg: &SinkhornConfig) -> Plan {
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
    let eps = sinkhorn_epsilon(a, b, cfg)?;
    let ab = entropic_ot(a, b, eps, cfg)?;
    let aa = entropic_ot(a, a, eps, cfg)?;
    let bb = entropic_ot(b, b, eps, cfg)?;
    ab - ((aa + bb)? * 0.5)?
}

/// The IPM `kind` between `a` and `b`.
pub fn ipm(kind: &Ipm, a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    match kind {
        Ipm::LinearMmd => linear_mmd(a, b),
        Ipm::RbfMmd { sigma } => rbf_mmd(a, b, *sigma),
        Ipm::Wasserstein(cfg) => sinkhorn_divergence(a, b, cfg),
    }
}

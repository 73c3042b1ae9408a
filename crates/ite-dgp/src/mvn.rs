//! Multivariate normal draws (Cholesky factor of the covariance), with a shortcut
//! for the equicorrelated covariances the simulations use.

use ite_core::{IteRng, SettingsError};
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::error::DgpError;

/// A multivariate normal distribution N(μ, Σ), sampled as μ + L z with
/// Σ = L Lᵀ (Cholesky) and z standard normal. `f64` throughout.
///
/// ```
/// use ite_core::Seed;
/// use ite_dgp::MvNormal;
/// // Unit variances, every pair correlated 0.5 (Simulation 1's covariates).
/// let mvn = MvNormal::equicorrelated(5, 0.0, 0.5)?;
/// let mut rng = Seed::new(1).rng();
/// let mut x = [0.0; 5];
/// mvn.sample_into(&mut rng, &mut x);
/// assert!(x.iter().all(|v| v.is_finite()));
/// # Ok::<(), ite_dgp::DgpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MvNormal {
    mean: Vec<f64>,
    /// Lower-triangular Cholesky factor, row-major `dim × dim`.
    chol: Vec<f64>,
}

impl MvNormal {
    /// N(`mean`, `cov`), `cov` row-major `dim × dim`, symmetric positive definite.
    pub fn new(mean: Vec<f64>, cov: &[f64]) -> Result<Self, DgpError> {
        let p = mean.len();
        if p == 0 {
            return Err(SettingsError::new("dim", 0, "at least 1").into());
        }
        if cov.len() != p * p {
            return Err(SettingsError::text(
                "cov",
                format!("{} values", cov.len()),
                format!("{p}×{p} = {} values", p * p),
            )
            .into());
        }
        if let Some(k) = mean.iter().position(|v| !v.is_finite()) {
            return Err(SettingsError::new("mean", mean[k], "finite numbers").into());
        }
        for i in 0..p {
            for j in 0..i {
                let (a, b) = (cov[i * p + j], cov[j * p + i]);
                if !a.is_finite() || (a - b).abs() > 1e-12 * (1.0 + a.abs()) {
                    return Err(SettingsError::text(
                        "cov",
                        format!("[{i}][{j}] = {a}, [{j}][{i}] = {b}"),
                        "a symmetric matrix",
                    )
                    .into());
                }
            }
        }
        let chol = cholesky(cov, p).ok_or_else(|| {
            SettingsError::text("cov", "a matrix that is not positive definite", "a positive definite matrix")
        })?;
        Ok(MvNormal { mean, chol })
    }

    /// `dim` coordinates, each N(`mean`, 1), every pair correlated `rho`:
    /// Σ = (1 − ρ) I + ρ 11ᵀ. Positive definite iff −1/(dim − 1) < ρ < 1.
    pub fn equicorrelated(dim: usize, mean: f64, rho: f64) -> Result<Self, DgpError> {
        if dim == 0 {
            return Err(SettingsError::new("dim", 0, "at least 1").into());
        }
        check_equicorrelation("correlation", dim, rho)?;
        let mut cov = vec![rho; dim * dim];
        for i in 0..dim {
            cov[i * dim + i] = 1.0;
        }
        Self::new(vec![mean; dim], &cov)
    }

    /// Number of coordinates.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Mean vector.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Writes one draw into `out` (`out.len()` must equal [`Self::dim`]; panics otherwise).
    pub fn sample_into(&self, rng: &mut IteRng, out: &mut [f64]) {
        let p = self.dim();
        assert_eq!(out.len(), p, "MvNormal::sample_into: output length differs from the dimension");
        // z is drawn into `out` in coordinate order, then transformed in place
        // from the last coordinate down: row i of L only reads z_0..z_i, which
        // are still untouched at that point.
        for zi in out.iter_mut() {
            *zi = rng.sample(StandardNormal);
        }
        for i in (0..p).rev() {
            let row = &self.chol[i * p..i * p + i + 1];
            let v = self.mean[i] + row.iter().zip(out[..=i].iter()).map(|(l, zj)| l * zj).sum::<f64>();
            out[i] = v;
        }
    }
}

/// Errors unless an equicorrelation matrix of size `dim` with correlation `rho`
/// is positive definite; `name` is the parameter reported.
pub(crate) fn check_equicorrelation(name: &str, dim: usize, rho: f64) -> Result<(), DgpError> {
    let lower = if dim > 1 { -1.0 / (dim as f64 - 1.0) } else { f64::NEG_INFINITY };
    if !rho.is_finite() || rho >= 1.0 || rho <= lower {
        return Err(SettingsError::new(
            name,
            rho,
            format!("a correlation in ({}, 1) so that the covariance is positive definite", fmt_bound(lower)),
        )
        .into());
    }
    Ok(())
}

fn fmt_bound(v: f64) -> String {
    if v.is_infinite() { "-inf".into() } else { format!("{v:.4}") }
}

/// Lower Cholesky factor of a row-major `p × p` matrix, `None` unless positive definite.
fn cholesky(a: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * p + k] * l[j * p + k]).sum();
            if i == j {
                let d = a[i * p + i] - s;
                if d.is_nan() || d <= 0.0 {
                    return None;
                }
                l[i * p + j] = d.sqrt();
            } else {
                l[i * p + j] = (a[i * p + j] - s) / l[j * p + j];
            }
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ite_core::Seed;

    #[test]
    fn cholesky_reconstructs_the_matrix() {
        let a = [4.0, 2.0, 0.6, 2.0, 2.0, 0.5, 0.6, 0.5, 3.0];
        let l = cholesky(&a, 3).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum();
                assert!((v - a[i * 3 + j]).abs() < 1e-12);
            }
        }
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    #[test]
    fn moments_match_on_a_large_draw() {
        let (p, rho, mu) = (4, -0.2, 1.5);
        let mvn = MvNormal::equicorrelated(p, mu, rho).unwrap();
        let mut rng = Seed::new(3).rng();
        let n = 200_000;
        let mut xs = vec![0.0; n * p];
        for row in xs.chunks_exact_mut(p) {
            mvn.sample_into(&mut rng, row);
        }
        let m: Vec<f64> = (0..p).map(|j| xs.iter().skip(j).step_by(p).sum::<f64>() / n as f64).collect();
        // se of a mean = 1/sqrt(n) ≈ 0.0022; of a covariance ≈ sqrt((1+rho²)/n) ≈ 0.0023. 5 se bands.
        for &mj in &m {
            assert!((mj - mu).abs() < 0.012, "mean {mj}");
        }
        for a in 0..p {
            for b in 0..p {
                let c: f64 = xs.chunks_exact(p).map(|r| (r[a] - m[a]) * (r[b] - m[b])).sum::<f64>() / (n as f64 - 1.0);
                let want = if a == b { 1.0 } else { rho };
                let tol = if a == b { 5.0 * (2.0f64 / n as f64).sqrt() } else { 0.012 };
                assert!((c - want).abs() < tol, "cov[{a}][{b}] = {c}, want {want}");
            }
        }
    }

    #[test]
    fn invalid_inputs_name_the_parameter() {
        let e = MvNormal::equicorrelated(5, 0.0, 1.0).unwrap_err().to_string();
        assert!(e.contains("`correlation` = 1"), "{e}");
        let e = MvNormal::equicorrelated(5, 0.0, -0.3).unwrap_err().to_string();
        assert!(e.contains("(-0.2500, 1)"), "{e}");
        assert!(MvNormal::equicorrelated(1, 0.0, -5.0).is_ok());
        let e = MvNormal::new(vec![0.0, 0.0], &[1.0, 0.3, 0.2, 1.0]).unwrap_err().to_string();
        assert!(e.contains("symmetric"), "{e}");
        let e = MvNormal::new(vec![0.0, 0.0], &[1.0, 2.0, 2.0, 1.0]).unwrap_err().to_string();
        assert!(e.contains("positive definite"), "{e}");
    }
}

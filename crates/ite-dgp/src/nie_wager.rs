//! The Nie–Wager simulation setups A–D ("Quasi-oracle estimation of heterogeneous
//! treatment effects", Biometrika 2021), as in CausalML's `synthetic_data` modes 1–4.
//!
//! Every setup draws covariates x, a baseline b(x), a propensity e(x) and an
//! effect τ(x); then W ~ Bernoulli(e(x)) and
//! Y = b(x) + (W − ½)·τ(x) + σ·ε, ε ~ N(0, 1). So b is the *midpoint* of the
//! two potential-outcome means: mu0 = b − τ/2, mu1 = b + τ/2.
//!
//! | setup | x | b(x) | e(x) | τ(x) |
//! |---|---|---|---|---|
//! | A (difficult nuisance, easy effect) | U(0, 1)^p | sin(π x₁x₂) + 2(x₃ − ½)² + x₄ + ½x₅ | trim₀.₁(sin(π x₁x₂)) | (x₁ + x₂)/2 |
//! | B (randomized trial) | N(0, I_p) | max(x₁ + x₂, x₃, 0) + max(x₄ + x₅, 0) | ½ | x₁ + log(1 + e^{x₂}) |
//! | C (easy propensity, difficult baseline) | N(0, I_p) | 2 log(1 + e^{x₁+x₂+x₃}) | 1/(1 + e^{x₂+x₃}) | 1 |
//! | D (unrelated arms) | N(0, I_p) | (max(x₁+x₂+x₃, 0) + max(x₄+x₅, 0))/2 | 1/(1 + e^{−x₁} + e^{−x₂}) | max(x₁+x₂+x₃, 0) − max(x₄+x₅, 0) |
//!
//! trim₀.₁(u) = max(0.1, min(u, 0.9)). As in CausalML, setups A and D shift the
//! propensity on the logit scale: e ← expit(logit(e) − adj); B and C ignore `adj`.
//!
//! Setup B follows the paper, b = max{x₁ + x₂, x₃, 0} + max{x₄ + x₅, 0}. (CausalML
//! writes `np.maximum(0, X[:, 0] + X[:, 1], X[:, 2])`, whose third argument is
//! numpy's `out`, so it computes max(x₁ + x₂, 0) and overwrites x₃ with it.)

use std::f64::consts::PI;

use ite_core::{CausalData, Dgp, IteRng, Params, SettingsError};
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::common::{Rows, check_finite, check_n, check_positive, expit};
use crate::error::DgpError;

/// One of the four setups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NieWagerSetup {
    /// Difficult nuisance components, easy effect (CausalML mode 1).
    #[default]
    A,
    /// A randomized trial (mode 2).
    B,
    /// Easy propensity, difficult baseline (mode 3).
    C,
    /// Unrelated treatment and control arms (mode 4).
    D,
}

impl NieWagerSetup {
    /// Fewest covariates the setup's formulas use.
    pub fn min_dim(self) -> usize {
        match self {
            NieWagerSetup::C => 3,
            _ => 5,
        }
    }
}

/// A Nie–Wager setup with its parameters.
///
/// | field | default | meaning | valid range |
/// |---|---|---|---|
/// | `setup` | `A` | which of the four setups | `A`, `B`, `C`, `D` |
/// | `dim` | 5 | number of covariates p (the extra ones are noise) | ≥ 5 (≥ 3 for C) |
/// | `sigma` | 1.0 | σ, standard deviation of the outcome noise | ≥ 0, finite |
/// | `propensity_adj` | 0.0 | `adj`: e ← expit(logit(e) − adj) in A and D (higher → fewer treated); ignored by B and C | finite |
///
/// ```
/// use ite_core::{Dgp, Seed};
/// use ite_dgp::{NieWager, NieWagerSetup};
/// let dgp = NieWager::new(NieWagerSetup::C);
/// let data = dgp.sample_seeded(300, Seed::new(1))?;
/// // Setup C has a constant effect of 1 (mu0 = b − ½, mu1 = b + ½).
/// assert!(data.truth().unwrap().ite().iter().all(|&t| (t - 1.0).abs() < 1e-5));
/// # Ok::<(), ite_dgp::DgpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NieWager {
    /// Which setup.
    pub setup: NieWagerSetup,
    /// Number of covariates.
    pub dim: usize,
    /// σ of the outcome noise.
    pub sigma: f64,
    /// Logit shift of the propensity (A and D).
    pub propensity_adj: f64,
}

impl Default for NieWager {
    fn default() -> Self {
        NieWager { setup: NieWagerSetup::A, dim: 5, sigma: 1.0, propensity_adj: 0.0 }
    }
}

impl Params for NieWager {
    type Error = DgpError;

    fn validate(&self) -> Result<(), DgpError> {
        let min = self.setup.min_dim();
        if self.dim < min {
            return Err(SettingsError::new(
                "dim",
                self.dim,
                format!("at least {min} covariates for setup {:?}", self.setup),
            )
            .into());
        }
        check_positive("sigma", self.sigma, true)?;
        check_finite("propensity_adj", self.propensity_adj)?;
        Ok(())
    }
}

fn softplus(v: f64) -> f64 {
    // log(1 + e^v), without overflow for large v.
    if v > 0.0 { v + (-v).exp().ln_1p() } else { v.exp().ln_1p() }
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

impl NieWager {
    /// Setup `setup` with the defaults (p = 5, σ = 1, adj = 0).
    pub fn new(setup: NieWagerSetup) -> Self {
        NieWager { setup, ..NieWager::default() }
    }

    /// b(x), the midpoint of the potential-outcome means.
    pub fn baseline(&self, x: &[f64]) -> f64 {
        match self.setup {
            NieWagerSetup::A => (PI * x[0] * x[1]).sin() + 2.0 * (x[2] - 0.5).powi(2) + x[3] + 0.5 * x[4],
            NieWagerSetup::B => (x[0] + x[1]).max(x[2]).max(0.0) + (x[3] + x[4]).max(0.0),
            NieWagerSetup::C => 2.0 * softplus(x[0] + x[1] + x[2]),
            NieWagerSetup::D => ((x[0] + x[1] + x[2]).max(0.0) + (x[3] + x[4]).max(0.0)) / 2.0,
        }
    }

    /// τ(x), the individual effect.
    pub fn tau(&self, x: &[f64]) -> f64 {
        match self.setup {
            NieWagerSetup::A => (x[0] + x[1]) / 2.0,
            NieWagerSetup::B => x[0] + softplus(x[1]),
            NieWagerSetup::C => 1.0,
            NieWagerSetup::D => (x[0] + x[1] + x[2]).max(0.0) - (x[3] + x[4]).max(0.0),
        }
    }

    /// e(x), the probability of treatment (after `propensity_adj` for A and D).
    pub fn propensity(&self, x: &[f64]) -> f64 {
        let adjust = |e: f64| if self.propensity_adj == 0.0 { e } else { expit(logit(e) - self.propensity_adj) };
        match self.setup {
            NieWagerSetup::A => adjust((PI * x[0] * x[1]).sin().clamp(0.1, 0.9)),
            NieWagerSetup::B => 0.5,
            NieWagerSetup::C => 1.0 / (1.0 + (x[1] + x[2]).exp()),
            NieWagerSetup::D => adjust(1.0 / (1.0 + (-x[0]).exp() + (-x[1]).exp())),
        }
    }
}

impl Dgp for NieWager {
    type Error = DgpError;

    fn sample(&self, n: usize, rng: &mut IteRng) -> Result<CausalData, DgpError> {
        check_n(n)?;
        self.validate()?;
        let p = self.dim;
        let mut rows = Rows::with_capacity(n, p);
        let mut x = vec![0.0; p];
        for _ in 0..n {
            for v in x.iter_mut() {
                *v = match self.setup {
                    NieWagerSetup::A => rng.random::<f64>(),
                    _ => rng.sample(StandardNormal),
                };
            }
            let treated = rng.random::<f64>() < self.propensity(&x);
            let eps: f64 = rng.sample(StandardNormal);
            let (b, tau) = (self.baseline(&x), self.tau(&x));
            let (mu0, mu1) = (b - tau / 2.0, b + tau / 2.0);
            rows.push(&x, treated, mu0 + self.sigma * eps, mu1 + self.sigma * eps, mu0, mu1);
        }
        rows.finish(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softplus_and_logit() {
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-15);
        assert!((softplus(800.0) - 800.0).abs() < 1e-12);
        assert!(softplus(-800.0) >= 0.0);
        assert!((logit(expit(0.3)) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn formulas_at_known_points() {
        let x = [0.5, 0.5, 0.5, 1.0, 1.0];
        let a = NieWager::new(NieWagerSetup::A);
        assert!((a.baseline(&x) - ((PI * 0.25).sin() + 1.5)).abs() < 1e-12);
        assert!((a.propensity(&x) - (PI * 0.25).sin()).abs() < 1e-12);
        assert!((a.propensity(&[1.0, 0.5, 0.0, 0.0, 0.0]) - 0.9).abs() < 1e-12);
        assert!((a.propensity(&[0.0; 5]) - 0.1).abs() < 1e-12);
        let b = NieWager::new(NieWagerSetup::B);
        assert_eq!(b.baseline(&[-1.0, -1.0, 2.0, -3.0, 0.0]), 2.0);
        assert_eq!(b.baseline(&[1.0, 1.0, 0.5, 1.0, 1.0]), 4.0);
        let d = NieWager::new(NieWagerSetup::D);
        assert_eq!(d.tau(&[1.0, 1.0, 1.0, 0.5, 0.5]), 2.0);
        assert!((d.propensity(&[0.0; 5]) - 1.0 / 3.0).abs() < 1e-15);
        let adj = NieWager { propensity_adj: 1.0, ..d };
        assert!((adj.propensity(&[0.0; 5]) - expit(logit(1.0 / 3.0) - 1.0)).abs() < 1e-15);
    }

    #[test]
    fn dim_and_sigma_are_validated() {
        let e = NieWager { dim: 4, ..NieWager::new(NieWagerSetup::B) }.validate().unwrap_err().to_string();
        assert!(e.contains("`dim` = 4") && e.contains("at least 5"), "{e}");
        assert!(NieWager { dim: 3, ..NieWager::new(NieWagerSetup::C) }.validate().is_ok());
        let e = NieWager { sigma: -1.0, ..NieWager::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("`sigma` = -1"), "{e}");
    }
}

//! Simulation 2 of Aydın & Brandt (nonlinear): a randomized source and targets
//! with covariate, effect or prognostic shift at any level c ≥ 0, randomized or
//! biased.
//!
//! With k covariates (the study: k = 5):
//!
//! - g(x) = sin x₁ + x₂x₃ + x₄², q(x) = x₁x₂ + cos x₃;
//! - b(x) = γᵀx + g(x), τ(x) = 1 + ωᵀx + q(x);
//! - Y(0) = b(x) + e₀, Y(1) = b(x) + τ(x) + e₁, e₀, e₁ ~ N(0, σ²) independent;
//!   truth mu0 = b(x), mu1 = b(x) + τ(x);
//! - source: x ~ N(0, I), γ = ω = 0.5·1, treatment Bernoulli(π);
//! - target at level c, with v = (1, −1, 1, −1, 1)/√5 (in general the
//!   alternating signs over √k):
//!   - covariate shift: x ~ N(δ·1, (1 − ρ)I + ρ11ᵀ), δ = c, ρ = 0.6c;
//!   - effect shift: ω_T = ω_S + c·v;
//!   - prognostic shift: γ_T = γ_S + c·v;
//!   - assignment randomized (Bernoulli(π)) or biased:
//!     P(A = 1) = expit((Y(0) − m)/s).
//!
//! **Standardization of Y(0).** m and s are the *exact* mean and standard
//! deviation of Y(0) in the target population (shift and level included),
//! computed in closed form by [`Sim2Population::y0_mean`] and
//! [`Sim2Population::y0_sd`] (Gaussian moment identities; checked against
//! large draws in the tests). They depend only on the parameters — not on the
//! seed, not on `n` — so a biased target's assignment rule is the same for
//! every sample size and replication.
//!
//! The study's own code standardizes by the *sample's* mean and standard
//! deviation instead ([`Standardization::Sample`], used by the grids' study
//! protocol): then the rule depends on the sample drawn.

use ite_core::{CausalData, Dgp, IteRng, Params, SettingsError};
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::common::{Assignment, Rows, check_finite, check_n, check_open_probability, check_positive, expit};
use crate::error::DgpError;
use crate::mvn::{MvNormal, check_equicorrelation};

/// Which part of the population a Simulation 2 target shifts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Shift {
    /// No shift: the target is drawn from the source population.
    #[default]
    None,
    /// Covariates: x ~ N(δ·1, (1 − ρ)I + ρ11ᵀ) with δ = c, ρ = 0.6c.
    Covariate,
    /// Effect: ω_T = ω_S + c·v.
    Effect,
    /// Prognostic part of the baseline: γ_T = γ_S + c·v.
    Prognostic,
}

impl Shift {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Shift::None => "none",
            Shift::Covariate => "covariate",
            Shift::Effect => "effect",
            Shift::Prognostic => "prognostic",
        }
    }
}

impl std::fmt::Display for Shift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Shift {
    type Err = DgpError;
    fn from_str(s: &str) -> Result<Self, DgpError> {
        match s {
            "none" => Ok(Shift::None),
            "covariate" => Ok(Shift::Covariate),
            "effect" => Ok(Shift::Effect),
            "prognostic" => Ok(Shift::Prognostic),
            other => Err(SettingsError::text("shift", other, "`none`, `covariate`, `effect` or `prognostic`").into()),
        }
    }
}

/// Parameters of Simulation 2 shared by source and targets.
///
/// | field | default | meaning | valid range |
/// |---|---|---|---|
/// | `dim` | 5 | number of covariates k (g and q use x₁..x₄) | ≥ 4 |
/// | `gamma` | 0.5 | every coordinate of the source's γ_S in b(x) = γᵀx + g(x) | finite |
/// | `omega` | 0.5 | every coordinate of the source's ω_S in τ(x) = 1 + ωᵀx + q(x) | finite |
/// | `noise_sd` | 1.0 | σ, standard deviation of e₀ and e₁ | ≥ 0, finite |
/// | `treated_prob` | 0.5 | π, probability of treatment under randomized assignment | (0, 1) |
/// | `mean_shift` | 1.0 | covariate shift's mean per unit of level: δ = `mean_shift`·c | finite |
/// | `correlation_shift` | 0.6 | covariate shift's correlation per unit of level: ρ = `correlation_shift`·c | ρ in (−1/(k − 1), 1) at the level used |
///
/// ```
/// use ite_core::Params;
/// use ite_dgp::Sim2Params;
/// Sim2Params::default().validate()?;
/// let e = Sim2Params { dim: 3, ..Sim2Params::default() }.validate().unwrap_err();
/// assert!(e.to_string().contains("`dim` = 3"));
/// # Ok::<(), ite_dgp::DgpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sim2Params {
    /// Number of covariates k.
    pub dim: usize,
    /// Coordinate of γ_S.
    pub gamma: f64,
    /// Coordinate of ω_S.
    pub omega: f64,
    /// σ of the outcome noise.
    pub noise_sd: f64,
    /// π under randomized assignment.
    pub treated_prob: f64,
    /// δ per unit of level under covariate shift.
    pub mean_shift: f64,
    /// ρ per unit of level under covariate shift.
    pub correlation_shift: f64,
}

impl Default for Sim2Params {
    fn default() -> Self {
        Sim2Params {
            dim: 5,
            gamma: 0.5,
            omega: 0.5,
            noise_sd: 1.0,
            treated_prob: 0.5,
            mean_shift: 1.0,
            correlation_shift: 0.6,
        }
    }
}

impl Params for Sim2Params {
    type Error = DgpError;

    fn validate(&self) -> Result<(), DgpError> {
        if self.dim < 4 {
            return Err(SettingsError::new("dim", self.dim, "at least 4 covariates (g and q use x1..x4)").into());
        }
        check_finite("gamma", self.gamma)?;
        check_finite("omega", self.omega)?;
        check_positive("noise_sd", self.noise_sd, true)?;
        check_open_probability("treated_prob", self.treated_prob)?;
        check_finite("mean_shift", self.mean_shift)?;
        check_finite("correlation_shift", self.correlation_shift)?;
        Ok(())
    }
}

impl Sim2Params {
    /// The shift direction v: alternating signs over √k, (1, −1, 1, −1, 1)/√5 for k = 5.
    pub fn direction(&self) -> Vec<f64> {
        let s = (self.dim as f64).sqrt();
        (0..self.dim).map(|j| if j % 2 == 0 { 1.0 / s } else { -1.0 / s }).collect()
    }

    /// The population a target with `shift` at `level` is drawn from
    /// (`Shift::None` or level 0: the source population).
    pub fn population(&self, shift: Shift, level: f64) -> Result<Sim2Population, DgpError> {
        self.validate()?;
        if !level.is_finite() || level < 0.0 {
            return Err(SettingsError::new("level", level, "a finite shift level ≥ 0").into());
        }
        let k = self.dim;
        let v = self.direction();
        let mut pop = Sim2Population {
            mean: 0.0,
            correlation: 0.0,
            gamma: vec![self.gamma; k],
            omega: vec![self.omega; k],
            noise_sd: self.noise_sd,
        };
        match shift {
            Shift::None => {}
            Shift::Covariate => {
                pop.mean = self.mean_shift * level;
                pop.correlation = self.correlation_shift * level;
                if check_equicorrelation("level", k, pop.correlation).is_err() {
                    return Err(SettingsError::new(
                        "level",
                        level,
                        format!(
                            "a level at which the covariates' correlation, correlation_shift·level = {}, stays in \
                             (−1/{}, 1) (with the default correlation_shift 0.6: a level below 5/3)",
                            pop.correlation,
                            k - 1
                        ),
                    )
                    .into());
                }
                check_finite("level", pop.mean)?;
            }
            Shift::Effect => pop.omega.iter_mut().zip(&v).for_each(|(w, vj)| *w += level * vj),
            Shift::Prognostic => pop.gamma.iter_mut().zip(&v).for_each(|(g, vj)| *g += level * vj),
        }
        Ok(pop)
    }
}

/// A fully specified Simulation 2 population (the source, or a target after
/// its shift): x ~ N(δ·1, (1 − ρ)I + ρ11ᵀ), b(x) = γᵀx + g(x),
/// τ(x) = 1 + ωᵀx + q(x), noise σ.
///
/// ```
/// use ite_dgp::{Shift, Sim2Params};
/// let pop = Sim2Params::default().population(Shift::Covariate, 1.0)?;
/// assert_eq!((pop.mean, pop.correlation), (1.0, 0.6));
/// // E[τ] = 1 + δ·Σω + (ρ + δ²) + cos(δ)·e^(−1/2)
/// let want = 1.0 + 2.5 + 1.6 + 1f64.cos() * (-0.5f64).exp();
/// assert!((pop.tau_mean() - want).abs() < 1e-12);
/// # Ok::<(), ite_dgp::DgpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sim2Population {
    /// δ, the common mean of the covariates.
    pub mean: f64,
    /// ρ, the common correlation of the covariates.
    pub correlation: f64,
    /// γ, coefficients of the linear prognostic part.
    pub gamma: Vec<f64>,
    /// ω, coefficients of the linear effect part.
    pub omega: Vec<f64>,
    /// σ of the outcome noise.
    pub noise_sd: f64,
}

/// E[cos z] = E[e^{iz}] real part for z ~ N(0, 1): e^(−1/2).
fn e_half() -> f64 {
    (-0.5f64).exp()
}

impl Sim2Population {
    /// g(x) = sin x₁ + x₂x₃ + x₄².
    pub fn g(x: &[f64]) -> f64 {
        x[0].sin() + x[1] * x[2] + x[3] * x[3]
    }

    /// q(x) = x₁x₂ + cos x₃.
    pub fn q(x: &[f64]) -> f64 {
        x[0] * x[1] + x[2].cos()
    }

    /// mu0(x) = b(x) = γᵀx + g(x).
    pub fn mu0(&self, x: &[f64]) -> f64 {
        dot(&self.gamma, x) + Self::g(x)
    }

    /// τ(x) = 1 + ωᵀx + q(x).
    pub fn tau(&self, x: &[f64]) -> f64 {
        1.0 + dot(&self.omega, x) + Self::q(x)
    }

    /// E[τ(x)] = 1 + δ·Σω + (ρ + δ²) + cos δ·e^(−1/2).
    pub fn tau_mean(&self) -> f64 {
        let d = self.mean;
        1.0 + d * self.omega.iter().sum::<f64>() + (self.correlation + d * d) + d.cos() * e_half()
    }

    /// E[Y(0)] = δ·Σγ + sin δ·e^(−1/2) + (ρ + δ²) + (1 + δ²).
    pub fn y0_mean(&self) -> f64 {
        let d = self.mean;
        d * self.gamma.iter().sum::<f64>() + d.sin() * e_half() + (self.correlation + d * d) + (1.0 + d * d)
    }

    /// Var[Y(0)], in closed form: the variances and covariances of γᵀx, sin x₁,
    /// x₂x₃ and x₄² under N(δ1, (1 − ρ)I + ρ11ᵀ) (Stein's lemma and Isserlis'
    /// theorem), plus σ².
    pub fn y0_variance(&self) -> f64 {
        let (d, r, c) = (self.mean, self.correlation, e_half());
        let sum_g: f64 = self.gamma.iter().sum();
        // (Σγ)_j = (1 − ρ)γ_j + ρ·Σγ
        let sg = |j: usize| (1.0 - r) * self.gamma[j] + r * sum_g;
        let var_l = (1.0 - r) * dot(&self.gamma, &self.gamma) + r * sum_g * sum_g;
        let var_sin = (1.0 - (2.0 * d).cos() * (-2.0f64).exp()) / 2.0 - (d.sin() * c).powi(2);
        let var_p = d * d * (2.0 + 2.0 * r) + 1.0 + r * r;
        let var_q = 4.0 * d * d + 2.0;
        let cov_l_sin = sg(0) * d.cos() * c;
        let cov_l_p = d * (sg(1) + sg(2));
        let cov_l_q = 2.0 * d * sg(3);
        let cov_sin_p = 2.0 * d * r * d.cos() * c - r * r * d.sin() * c;
        let cov_sin_q = cov_sin_p;
        let cov_p_q = 4.0 * d * d * r + 2.0 * r * r;
        var_l
            + var_sin
            + var_p
            + var_q
            + 2.0 * (cov_l_sin + cov_l_p + cov_l_q + cov_sin_p + cov_sin_q + cov_p_q)
            + self.noise_sd * self.noise_sd
    }

    /// Standard deviation of Y(0): the `s` of the biased assignment.
    pub fn y0_sd(&self) -> f64 {
        self.y0_variance().sqrt()
    }

    fn sample(&self, n: usize, assignment: Assignment, pi: f64, rng: &mut IteRng) -> Result<CausalData, DgpError> {
        check_n(n)?;
        let k = self.gamma.len();
        let mvn = MvNormal::equicorrelated(k, self.mean, self.correlation)?;
        let (m, s) = (self.y0_mean(), self.y0_sd());
        let mut rows = Rows::with_capacity(n, k);
        let mut x = vec![0.0; k];
        for _ in 0..n {
            mvn.sample_into(rng, &mut x);
            let e0: f64 = rng.sample(StandardNormal);
            let e1: f64 = rng.sample(StandardNormal);
            let mu0 = self.mu0(&x);
            let mu1 = mu0 + self.tau(&x);
            let (y0, y1) = (mu0 + self.noise_sd * e0, mu1 + self.noise_sd * e1);
            let prob = match assignment {
                Assignment::Randomized => pi,
                Assignment::Biased => expit((y0 - m) / s),
            };
            let treated = rng.random::<f64>() < prob;
            rows.push(&x, treated, y0, y1, mu0, mu1);
        }
        rows.finish(None)
    }

    /// Like `sample` with biased assignment, but Y(0) standardized by the sample's own mean
    /// and standard deviation ([`Standardization::Sample`]): every unit's covariates and
    /// outcomes are drawn first, then every unit's treatment.
    fn sample_standardized_by_sample(&self, n: usize, rng: &mut IteRng) -> Result<CausalData, DgpError> {
        check_n(n)?;
        let k = self.gamma.len();
        let mvn = MvNormal::equicorrelated(k, self.mean, self.correlation)?;
        let mut xs = vec![0.0; n * k];
        let mut units = Vec::with_capacity(n);
        for x in xs.chunks_exact_mut(k) {
            mvn.sample_into(rng, x);
            let e0: f64 = rng.sample(StandardNormal);
            let e1: f64 = rng.sample(StandardNormal);
            let mu0 = self.mu0(x);
            let mu1 = mu0 + self.tau(x);
            units.push((mu0 + self.noise_sd * e0, mu1 + self.noise_sd * e1, mu0, mu1));
        }
        let y0: Vec<f64> = units.iter().map(|u| u.0).collect();
        let (m, s) = sample_moments(&y0);
        let mut rows = Rows::with_capacity(n, k);
        for (x, &(y0, y1, mu0, mu1)) in xs.chunks_exact(k).zip(&units) {
            let treated = rng.random::<f64>() < expit(standardize(y0, m, s));
            rows.push(x, treated, y0, y1, mu0, mu1);
        }
        rows.finish(None)
    }
}

/// The mean and the standard deviation (divisor n, as numpy's `std`) of `v`.
pub(crate) fn sample_moments(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|y| (y - m) * (y - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

/// (y − m)/s, or 0 when `s` is not positive (a sample of one unit, or of equal outcomes).
fn standardize(y: f64, m: f64, s: f64) -> f64 {
    if s > 0.0 { (y - m) / s } else { 0.0 }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

/// Simulation 2's source: x ~ N(0, I), γ = ω = 0.5·1, randomized treatment.
///
/// ```
/// use ite_core::{Dgp, Seed};
/// use ite_dgp::{Sim2Population, Sim2Source};
/// let data = Sim2Source::default().sample_seeded(500, Seed::new(1))?;
/// let (tr, x) = (data.truth().unwrap(), data.x().row(0));
/// let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
/// let tau = 1.0 + 0.5 * x.iter().sum::<f64>() + Sim2Population::q(&x);
/// assert!((f64::from(tr.mu1[0] - tr.mu0[0]) - tau).abs() < 1e-5);
/// # Ok::<(), ite_dgp::DgpError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sim2Source {
    /// The parameters.
    pub params: Sim2Params,
}

impl Sim2Source {
    /// The source for `params`.
    pub fn new(params: Sim2Params) -> Self {
        Sim2Source { params }
    }
}

impl Dgp for Sim2Source {
    type Error = DgpError;

    fn sample(&self, n: usize, rng: &mut IteRng) -> Result<CausalData, DgpError> {
        let pop = self.params.population(Shift::None, 0.0)?;
        pop.sample(n, Assignment::Randomized, self.params.treated_prob, rng)
    }
}

/// How a biased Simulation 2 target standardizes Y(0) in P(A = 1) = expit((Y(0) − m)/s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Standardization {
    /// m and s are the exact mean and standard deviation of Y(0) in the target population
    /// ([`Sim2Population::y0_mean`], [`Sim2Population::y0_sd`]): the same rule for every sample.
    #[default]
    Population,
    /// m and s are the mean and standard deviation (divisor n, numpy's default) of the sample's
    /// own Y(0) — the study's code. Every unit's outcomes are drawn before any treatment, so a
    /// sample differs from a `Population` one of the same seed; s = 0 (one unit) gives
    /// P(A = 1) = 1/2. Randomized targets ignore it.
    Sample,
}

/// A Simulation 2 target: a shift of one kind at level `level` (c ≥ 0), and
/// randomized or biased assignment.
///
/// | field | default | meaning | valid range |
/// |---|---|---|---|
/// | `params` | [`Sim2Params::default`] | the source's parameters the shift starts from | see [`Sim2Params`] |
/// | `shift` | `None` | covariate, effect or prognostic shift (or none) | a [`Shift`] |
/// | `level` | 0.0 | c, the size of the shift (the study: 0, 0.25, 0.5, 0.75, 1) | finite, ≥ 0; covariate shift needs 0.6c < 1 |
/// | `assignment` | `Randomized` | Bernoulli(π), or P(A = 1) = expit((Y(0) − m)/s) | `Randomized`, `Biased` |
/// | `standardization` | `Population` | m and s of a biased assignment: the population's exact moments or the sample's own | `Population`, `Sample` |
///
/// ```
/// use ite_core::{Dgp, Seed};
/// use ite_dgp::{Assignment, Shift, Sim2Target};
/// let target = Sim2Target::new(Shift::Covariate, 0.5, Assignment::Biased);
/// let data = target.sample_seeded(500, Seed::new(3))?;
/// assert_eq!(data.p(), 5);
/// assert!(Sim2Target::new(Shift::Effect, -1.0, Assignment::Randomized).sample_seeded(5, Seed::new(3)).is_err());
/// # Ok::<(), ite_dgp::DgpError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sim2Target {
    /// The source's parameters.
    pub params: Sim2Params,
    /// Which part shifts.
    pub shift: Shift,
    /// The shift level c.
    pub level: f64,
    /// Randomized or biased assignment.
    pub assignment: Assignment,
    /// How a biased assignment standardizes Y(0).
    pub standardization: Standardization,
}

impl Sim2Target {
    /// A target with the study's parameters (Y(0) standardized by the population's moments).
    pub fn new(shift: Shift, level: f64, assignment: Assignment) -> Self {
        Sim2Target {
            params: Sim2Params::default(),
            shift,
            level,
            assignment,
            standardization: Standardization::Population,
        }
    }

    /// The shifted population (validates everything).
    pub fn population(&self) -> Result<Sim2Population, DgpError> {
        self.params.population(self.shift, self.level)
    }
}

impl Dgp for Sim2Target {
    type Error = DgpError;

    fn sample(&self, n: usize, rng: &mut IteRng) -> Result<CausalData, DgpError> {
        let pop = self.population()?;
        match (self.assignment, self.standardization) {
            (Assignment::Biased, Standardization::Sample) => pop.sample_standardized_by_sample(n, rng),
            _ => pop.sample(n, self.assignment, self.params.treated_prob, rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ite_core::Seed;

    #[test]
    fn level_zero_and_no_shift_give_the_source() {
        let src = Sim2Source::default().sample_seeded(200, Seed::new(1)).unwrap();
        for shift in [Shift::None, Shift::Covariate, Shift::Effect, Shift::Prognostic] {
            let t = Sim2Target::new(shift, 0.0, Assignment::Randomized).sample_seeded(200, Seed::new(1)).unwrap();
            assert_eq!(t, src, "{shift}");
        }
    }

    #[test]
    fn invalid_levels_name_the_level() {
        for (shift, level) in [(Shift::Effect, -0.5), (Shift::Covariate, 2.0), (Shift::Prognostic, f64::NAN)] {
            let e = Sim2Target::new(shift, level, Assignment::Biased).population().unwrap_err().to_string();
            assert!(e.contains("`level`"), "{e}");
        }
        assert_eq!("prognostic".parse::<Shift>().unwrap(), Shift::Prognostic);
        assert!("prog".parse::<Shift>().unwrap_err().to_string().contains("`shift`"));
    }

    #[test]
    fn sample_standardization_uses_the_samples_moments() {
        // Replays the draws: covariates and both noises of every unit first, then the
        // treatments, each compared with expit((Y(0) − ȳ0)/sd(Y(0))), sd with divisor n.
        let t = Sim2Target {
            standardization: Standardization::Sample,
            ..Sim2Target::new(Shift::Prognostic, 0.5, Assignment::Biased)
        };
        let (n, k) = (400, 5);
        let data = t.sample_seeded(n, Seed::new(11)).unwrap();
        let pop = t.population().unwrap();
        let mut rng = Seed::new(11).rng();
        let mvn = MvNormal::equicorrelated(k, pop.mean, pop.correlation).unwrap();
        let mut x = vec![0.0; k];
        let mut y0 = Vec::new();
        for _ in 0..n {
            mvn.sample_into(&mut rng, &mut x);
            let e0: f64 = rng.sample(StandardNormal);
            let _e1: f64 = rng.sample(StandardNormal);
            y0.push(pop.mu0(&x) + e0);
        }
        let m = y0.iter().sum::<f64>() / n as f64;
        let s = (y0.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64).sqrt();
        assert!((m - pop.y0_mean()).abs() > 1e-6, "the sample mean is not the population's");
        let mut treated = 0;
        for (i, v) in y0.iter().enumerate() {
            let a = u8::from(rng.random::<f64>() < expit((v - m) / s));
            assert_eq!(data.t()[i], a, "unit {i}");
            treated += usize::from(a);
        }
        assert!(treated > 100 && treated < 300, "{treated}");
        // Randomized targets ignore the standardization.
        let r = |st| Sim2Target { standardization: st, ..Sim2Target::new(Shift::Effect, 1.0, Assignment::Randomized) };
        assert_eq!(
            r(Standardization::Sample).sample_seeded(50, Seed::new(2)).unwrap(),
            r(Standardization::Population).sample_seeded(50, Seed::new(2)).unwrap()
        );
        assert_eq!(sample_moments(&[1.0, 3.0]), (2.0, 1.0));
        assert_eq!(standardize(5.0, 1.0, 0.0), 0.0);
    }

    #[test]
    fn direction_is_the_studys_v() {
        let v = Sim2Params::default().direction();
        let s = 5f64.sqrt();
        assert_eq!(v, vec![1.0 / s, -1.0 / s, 1.0 / s, -1.0 / s, 1.0 / s]);
    }
}

//! Simulation 1 of Aydın & Brandt (linear): the source population and targets
//! drawn from it, randomized or non-randomized ("biased") by accept–reject on Y(0).
//!
//! The population (docs/design.md §4), with `s = Σⱼ xⱼ`:
//!
//! - X ~ N_p(0, Σ), Σ = (1 − ρ) I + ρ 11ᵀ (unit variances, correlation ρ);
//! - A ~ Bernoulli(π);
//! - Y(0) = β·s + σ·ε, ε ~ N(0, 1);
//! - Y(1) = Y(0) + τ(x), τ(x) = τ₀ + τ₁·s — the *same* ε, so the individual
//!   effect is exactly τ(x) for every unit;
//! - Y = A·Y(1) + (1 − A)·Y(0); truth mu0 = β·s, mu1 = mu0 + τ(x).
//!
//! The study's values: p = 5, ρ = 0.5, β = 0.3, τ₀ = 1, τ₁ = 0.05, σ = 1, π = 0.5.
//!
//! A *biased* target keeps a candidate unit, whose treatment was drawn
//! Bernoulli(π) first, with probability expit(Y(0)) if treated and
//! 1 − expit(Y(0)) if control. Treated units with high Y(0) and controls with
//! low Y(0) are kept, so the naive difference in means is ≈ 2.7 against a true
//! average effect ≈ 1.0 (the crate's tests measure both on large draws).

use ite_core::{CausalData, Dgp, IteRng, Params, SettingsError, Truth};
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::common::{Assignment, Rows, check_finite, check_n, check_open_probability, check_positive, expit};
use crate::error::DgpError;
use crate::mvn::{MvNormal, check_equicorrelation};

/// Parameters of Simulation 1's population.
///
/// | field | default | meaning | valid range |
/// |---|---|---|---|
/// | `dim` | 5 | number of covariates p | ≥ 1 |
/// | `correlation` | 0.5 | correlation ρ of every pair of covariates (variances are 1) | (−1/(p − 1), 1) |
/// | `prognostic` | 0.3 | β in Y(0) = β·Σx + σε | finite |
/// | `effect` | 1.0 | τ₀, the constant part of τ(x) = τ₀ + τ₁·Σx | finite |
/// | `effect_slope` | 0.05 | τ₁, the slope of τ(x) on Σx | finite |
/// | `noise_sd` | 1.0 | σ, standard deviation of the outcome noise (shared by Y(0) and Y(1)) | ≥ 0, finite |
/// | `treated_prob` | 0.5 | π, probability that a unit (or a biased target's candidate) is treated | (0, 1) |
///
/// ```
/// use ite_core::Params;
/// use ite_dgp::Sim1Params;
/// let p = Sim1Params { correlation: 0.2, ..Sim1Params::default() };
/// p.validate()?;
/// assert_eq!(p.tau(&[1.0; 5]), 1.25);
/// let bad = Sim1Params { correlation: 1.0, ..Sim1Params::default() };
/// assert!(bad.validate().unwrap_err().to_string().contains("`correlation`"));
/// # Ok::<(), ite_dgp::DgpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sim1Params {
    /// Number of covariates p.
    pub dim: usize,
    /// Correlation ρ between every pair of covariates.
    pub correlation: f64,
    /// β: coefficient of Σx in Y(0).
    pub prognostic: f64,
    /// τ₀: constant part of the treatment effect.
    pub effect: f64,
    /// τ₁: coefficient of Σx in the treatment effect.
    pub effect_slope: f64,
    /// σ: standard deviation of the outcome noise.
    pub noise_sd: f64,
    /// π: probability of treatment.
    pub treated_prob: f64,
}

impl Default for Sim1Params {
    fn default() -> Self {
        Sim1Params {
            dim: 5,
            correlation: 0.5,
            prognostic: 0.3,
            effect: 1.0,
            effect_slope: 0.05,
            noise_sd: 1.0,
            treated_prob: 0.5,
        }
    }
}

impl Params for Sim1Params {
    type Error = DgpError;

    fn validate(&self) -> Result<(), DgpError> {
        if self.dim == 0 {
            return Err(SettingsError::new("dim", 0, "at least 1 covariate").into());
        }
        check_equicorrelation("correlation", self.dim, self.correlation)?;
        check_finite("prognostic", self.prognostic)?;
        check_finite("effect", self.effect)?;
        check_finite("effect_slope", self.effect_slope)?;
        check_positive("noise_sd", self.noise_sd, true)?;
        check_open_probability("treated_prob", self.treated_prob)?;
        Ok(())
    }
}

impl Sim1Params {
    /// mu0(x) = β·Σx, the mean of Y(0) at `x`.
    pub fn mu0(&self, x: &[f64]) -> f64 {
        self.prognostic * x.iter().sum::<f64>()
    }

    /// τ(x) = τ₀ + τ₁·Σx, the individual effect at `x`.
    pub fn tau(&self, x: &[f64]) -> f64 {
        self.effect + self.effect_slope * x.iter().sum::<f64>()
    }

    /// Variance of Σx: p + p(p − 1)ρ (15 at the defaults).
    pub fn sum_variance(&self) -> f64 {
        let p = self.dim as f64;
        p + p * (p - 1.0) * self.correlation
    }

    fn covariates(&self) -> Result<MvNormal, DgpError> {
        MvNormal::equicorrelated(self.dim, 0.0, self.correlation)
    }

    /// One unit from the population: (x, treated, Y(0), Y(1), mu0, mu1), written into `x`.
    fn draw(&self, mvn: &MvNormal, rng: &mut IteRng, x: &mut [f64]) -> (bool, f64, f64, f64, f64) {
        mvn.sample_into(rng, x);
        let treated = rng.random::<f64>() < self.treated_prob;
        let eps: f64 = rng.sample(StandardNormal);
        let mu0 = self.mu0(x);
        let mu1 = mu0 + self.tau(x);
        (treated, mu0 + self.noise_sd * eps, mu1 + self.noise_sd * eps, mu0, mu1)
    }
}

/// Simulation 1's source: `n` units drawn from the population, treatment
/// randomized with probability `treated_prob`.
///
/// ```
/// use ite_core::{Dgp, Seed};
/// use ite_dgp::Sim1Source;
/// let data = Sim1Source::default().sample_seeded(1000, Seed::new(7))?;
/// assert_eq!((data.n(), data.p()), (1000, 5));
/// // The effect is exactly 1 + 0.05·Σx for every unit.
/// let truth = data.truth().unwrap();
/// for (i, ite) in truth.ite().iter().enumerate() {
///     let s: f64 = data.x().row(i).iter().sum();
///     assert!((ite - (1.0 + 0.05 * s)).abs() < 1e-5);
/// }
/// # Ok::<(), ite_dgp::DgpError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sim1Source {
    /// The population.
    pub params: Sim1Params,
}

impl Sim1Source {
    /// The source for `params`.
    pub fn new(params: Sim1Params) -> Self {
        Sim1Source { params }
    }
}

impl Dgp for Sim1Source {
    type Error = DgpError;

    fn sample(&self, n: usize, rng: &mut IteRng) -> Result<CausalData, DgpError> {
        check_n(n)?;
        self.params.validate()?;
        let mvn = self.params.covariates()?;
        let mut rows = Rows::with_capacity(n, self.params.dim);
        let mut x = vec![0.0; self.params.dim];
        for _ in 0..n {
            let (a, y0, y1, mu0, mu1) = self.params.draw(&mvn, rng, &mut x);
            rows.push(&x, a, y0, y1, mu0, mu1);
        }
        rows.finish(None)
    }
}

/// Where a target's units come from.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TargetDraw {
    /// Fresh draws from the population (the cleaner option; the default).
    #[default]
    Population,
    /// Rows of this dataset (normally a Simulation 1 source sample), drawn
    /// uniformly with replacement — the study's way. Each row keeps its
    /// covariates, treatment, outcome and truth.
    Resample(CausalData),
}

/// A Simulation 1 target: `n` units, randomized or biased, drawn fresh from
/// the population or resampled from a source dataset.
///
/// | field | default | meaning | valid range |
/// |---|---|---|---|
/// | `params` | [`Sim1Params::default`] | the population (ignored by resampling when the rows carry truth, except for validation) | see [`Sim1Params`] |
/// | `assignment` | `Randomized` | randomized, or biased by accept–reject on Y(0) | `Randomized`, `Biased` |
/// | `draw` | `Population` | fresh draws, or rows resampled with replacement from a dataset | a non-empty dataset for `Resample` |
/// | `max_draws_per_unit` | 1000 | accept–reject gives up ([`DgpError::Rejection`]) after `n × max_draws_per_unit` candidates | ≥ 1 |
///
/// **Biased, fresh draws**: a candidate is drawn from the population, its
/// treatment Bernoulli(π) first, and it is kept with probability expit(Y(0))
/// if treated, 1 − expit(Y(0)) if control.
///
/// **Biased, resampled rows**: the candidate is a resampled row with its own
/// treatment and outcome, kept by the same rule. Y(0) of a treated row is not
/// observed, but Simulation 1 shares the noise between the potential outcomes,
/// so Y(0) = Y − τ(x) *exactly*, with τ(x) = mu1 − mu0 from the row's truth
/// (or, for data without truth, τ(x) = τ₀ + τ₁·Σx from `params`, which then must
/// have the data's number of covariates).
///
/// ```
/// use ite_core::{Dgp, Seed};
/// use ite_dgp::{Assignment, Sim1Source, Sim1Target, TargetDraw};
/// // A biased target, fresh from the population.
/// let biased = Sim1Target::new(Assignment::Biased).sample_seeded(500, Seed::new(1))?;
/// assert_eq!(biased.n(), 500);
/// // A randomized target resampled from a source sample, as the study does.
/// let source = Sim1Source::default().sample_seeded(2000, Seed::new(2))?;
/// let target = Sim1Target::resampling(source, Assignment::Randomized).sample_seeded(250, Seed::new(3))?;
/// assert_eq!(target.n(), 250);
/// # Ok::<(), ite_dgp::DgpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sim1Target {
    /// The population.
    pub params: Sim1Params,
    /// Randomized or biased assignment.
    pub assignment: Assignment,
    /// Fresh draws or resampled rows.
    pub draw: TargetDraw,
    /// Bound on accept–reject candidates, per requested unit.
    pub max_draws_per_unit: usize,
}

impl Default for Sim1Target {
    fn default() -> Self {
        Sim1Target {
            params: Sim1Params::default(),
            assignment: Assignment::Randomized,
            draw: TargetDraw::Population,
            max_draws_per_unit: 1000,
        }
    }
}

impl Sim1Target {
    /// A target with the study's population, drawn fresh.
    pub fn new(assignment: Assignment) -> Self {
        Sim1Target { assignment, ..Sim1Target::default() }
    }

    /// A target resampled with replacement from the rows of `source`.
    pub fn resampling(source: CausalData, assignment: Assignment) -> Self {
        Sim1Target { assignment, draw: TargetDraw::Resample(source), ..Sim1Target::default() }
    }

    /// Validates the population, the bound on draws, and a resampling source.
    pub fn validate(&self) -> Result<(), DgpError> {
        self.params.validate()?;
        if self.max_draws_per_unit == 0 {
            return Err(SettingsError::new("max_draws_per_unit", 0, "at least 1").into());
        }
        if let TargetDraw::Resample(src) = &self.draw
            && src.truth().is_none()
            && src.p() != self.params.dim
        {
            return Err(SettingsError::new(
                "dim",
                self.params.dim,
                format!(
                    "the {} covariates of the source data, which has no truth (mu0, mu1) to take the effect from",
                    src.p()
                ),
            )
            .into());
        }
        Ok(())
    }

    fn max_tries(&self, n: usize) -> usize {
        n.saturating_mul(self.max_draws_per_unit)
    }

    fn sample_population(&self, n: usize, rng: &mut IteRng) -> Result<CausalData, DgpError> {
        let p = &self.params;
        let mvn = p.covariates()?;
        let mut rows = Rows::with_capacity(n, p.dim);
        let mut x = vec![0.0; p.dim];
        let max_tries = self.max_tries(n);
        let mut tries = 0usize;
        while rows.len() < n {
            if tries >= max_tries {
                return Err(DgpError::Rejection { accepted: rows.len(), wanted: n, tries });
            }
            tries += 1;
            let (a, y0, y1, mu0, mu1) = p.draw(&mvn, rng, &mut x);
            if self.assignment == Assignment::Biased && !keep(rng, a, y0) {
                continue;
            }
            rows.push(&x, a, y0, y1, mu0, mu1);
        }
        rows.finish(None)
    }

    fn sample_rows(&self, src: &CausalData, n: usize, rng: &mut IteRng) -> Result<CausalData, DgpError> {
        let n_src = src.n();
        // τ(x) per row: from the truth when present, else from the formula.
        let tau_of = |i: usize| -> f64 {
            match src.truth() {
                Some(tr) => tr.mu1[i] - tr.mu0[i],
                None => self.params.tau(src.x().row(i)),
            }
        };
        let mut idx = Vec::with_capacity(n);
        let max_tries = self.max_tries(n);
        let mut tries = 0usize;
        while idx.len() < n {
            if tries >= max_tries {
                return Err(DgpError::Rejection { accepted: idx.len(), wanted: n, tries });
            }
            tries += 1;
            let i = rng.random_range(0..n_src);
            if self.assignment == Assignment::Biased {
                let treated = src.t()[i] == 1;
                let y = src.y()[i];
                // Shared noise: Y(0) = Y(1) − τ(x) exactly for a treated row.
                let y0 = if treated { y - tau_of(i) } else { y };
                if !keep(rng, treated, y0) {
                    continue;
                }
            }
            idx.push(i);
        }
        let out = src.select(&idx)?;
        if out.truth().is_some() {
            return Ok(out);
        }
        let (mut mu0, mut mu1) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for row in out.x().rows() {
            let x = row;
            let m0 = self.params.mu0(x);
            mu0.push(m0);
            mu1.push(m0 + self.params.tau(x));
        }
        Ok(out.with_truth(Truth::new(mu0, mu1)?)?)
    }
}

/// Accept–reject: keep a treated candidate with probability expit(Y(0)), a
/// control with 1 − expit(Y(0)).
fn keep(rng: &mut IteRng, treated: bool, y0: f64) -> bool {
    let e = expit(y0);
    let p = if treated { e } else { 1.0 - e };
    rng.random::<f64>() < p
}

impl Dgp for Sim1Target {
    type Error = DgpError;

    fn sample(&self, n: usize, rng: &mut IteRng) -> Result<CausalData, DgpError> {
        check_n(n)?;
        self.validate()?;
        match &self.draw {
            TargetDraw::Population => self.sample_population(n, rng),
            TargetDraw::Resample(src) => self.sample_rows(src, n, rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ite_core::Seed;

    #[test]
    fn randomized_fresh_target_is_the_source_population() {
        let s = Sim1Source::default().sample_seeded(300, Seed::new(5)).unwrap();
        let t = Sim1Target::new(Assignment::Randomized).sample_seeded(300, Seed::new(5)).unwrap();
        assert_eq!(s, t);
    }

    #[test]
    fn rejection_is_bounded() {
        // π tiny and a huge noise: a biased target must keep treated units with
        // expit(Y(0)) ≈ 0 or 1 — still ≈ half are kept, so force failure with a bound of 1
        // draw per unit, which cannot fill 1000 units.
        let t = Sim1Target { max_draws_per_unit: 1, ..Sim1Target::new(Assignment::Biased) };
        match t.sample_seeded(1000, Seed::new(1)) {
            Err(DgpError::Rejection { accepted, wanted: 1000, tries: 1000 }) => assert!(accepted < 1000),
            other => panic!("expected a rejection error, got {other:?}"),
        }
        let e = Sim1Target { max_draws_per_unit: 0, ..Sim1Target::default() }.sample_seeded(5, Seed::new(1));
        assert!(e.unwrap_err().to_string().contains("`max_draws_per_unit`"));
    }

    #[test]
    fn resampling_without_truth_uses_the_formula() {
        let src = Sim1Source::default().sample_seeded(400, Seed::new(9)).unwrap();
        let bare = CausalData::new(src.x().clone(), src.t().to_vec(), src.y().to_vec()).unwrap();
        for a in [Assignment::Randomized, Assignment::Biased] {
            let with = Sim1Target::resampling(src.clone(), a).sample_seeded(200, Seed::new(4)).unwrap();
            let without = Sim1Target::resampling(bare.clone(), a).sample_seeded(200, Seed::new(4)).unwrap();
            assert_eq!(with.x(), without.x());
            assert_eq!(with.y(), without.y());
            for (u, v) in with.truth().unwrap().ite().iter().zip(without.truth().unwrap().ite()) {
                assert!((u - v).abs() < 1e-5);
            }
        }
        let wrong_dim = Sim1Target {
            params: Sim1Params { dim: 3, ..Sim1Params::default() },
            ..Sim1Target::resampling(bare, Assignment::Biased)
        };
        let e = wrong_dim.sample_seeded(10, Seed::new(1)).unwrap_err().to_string();
        assert!(e.contains("`dim` = 3") && e.contains("5 covariates"), "{e}");
    }
}

//! The S-learner with ordinary least squares: one regression of y on x, t and
//! (by default) the interactions t·x; τ̂(x) = β_t + xᵀβ_tx.

use ite_core::{CausalData, CoreError, Covariates, Fit, IteModel, Params, PotentialOutcomes, Seed};
use nalgebra::{DMatrix, DVector};

use super::ols::least_squares;
use super::t_learner_ols::{design_names, linear};
use crate::error::NetsError;

/// Hyperparameters of the OLS S-learner.
///
/// | field | default | meaning | valid range |
/// |---|---|---|---|
/// | `ridge` | 0.0 | λ, ridge penalty on every coefficient but the intercept; 0 = plain OLS | finite, ≥ 0 |
/// | `interactions` | `true` | include t·x (a heterogeneous effect); `false` fits y ~ x + t, a constant effect | `true`, `false` |
///
/// With interactions and no penalty the fit equals the OLS T-learner's (the
/// fully interacted model is two separate regressions), except for a covariate
/// that is zero in every treated row: its interaction gets coefficient 0, so
/// μ̂1 keeps μ̂0's slope where the T-learner's treated slope is 0.
///
/// ```
/// use ite_core::{Dgp, Fit, IteModel, Seed};
/// use ite_dgp::Sim1Source;
/// use ite_nets::baselines::OlsSLearnerParams;
/// let data = Sim1Source::default().sample_seeded(5000, Seed::new(4))?;
/// let constant = OlsSLearnerParams { interactions: false, ..Default::default() }.fit(&data, Seed::new(0))?;
/// let tau = constant.ite(data.x())?;
/// assert!(tau.iter().all(|&t| (t - tau[0]).abs() < 1e-5)); // constant up to f32 rounding
/// assert!((tau[0] - 1.0).abs() < 0.1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OlsSLearnerParams {
    /// Ridge penalty λ ≥ 0 on every coefficient but the intercept.
    pub ridge: f64,
    /// Include the treatment interactions t·x.
    pub interactions: bool,
}

impl Default for OlsSLearnerParams {
    fn default() -> Self {
        OlsSLearnerParams { ridge: 0.0, interactions: true }
    }
}

impl Params for OlsSLearnerParams {
    type Error = NetsError;

    fn validate(&self) -> Result<(), NetsError> {
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(NetsError::param("ridge", self.ridge, "a finite penalty ≥ 0"));
        }
        Ok(())
    }
}

impl Fit for OlsSLearnerParams {
    type Model = OlsSLearner;

    fn fit(&self, data: &CausalData, _seed: Seed) -> Result<OlsSLearner, NetsError> {
        self.validate()?;
        data.require_both_arms("OLS S-learner training data")?;
        let p = data.p();
        let k = 2 + p + if self.interactions { p } else { 0 };
        // Columns: intercept, x1..xp, t, [t·x1..t·xp]
        let mut names = design_names(data.feature_names());
        names.push("t".into());
        if self.interactions {
            names.extend(data.feature_names().iter().map(|n| format!("t·{n}")));
        }
        let base = base_columns(data, self.interactions);
        let x = DMatrix::from_fn(data.n(), k, |i, j| {
            let t = f64::from(data.t()[i]);
            let row = data.x().row(i);
            match j {
                0 => 1.0,
                j if j <= p => {
                    if base[j - 1] {
                        row[j - 1]
                    } else {
                        0.0
                    }
                }
                j if j == p + 1 => t,
                j => t * row[j - p - 2],
            }
        });
        let y = DVector::from_fn(data.n(), |i, _| data.y()[i]);
        let coef = least_squares(&x, &y, self.ridge, &names, "OLS S-learner")?;
        let baseline = coef[..=p].to_vec();
        let mut effect = vec![coef[p + 1]];
        effect.extend(if self.interactions { coef[p + 2..].to_vec() } else { vec![0.0; p] });
        Ok(OlsSLearner { names: data.feature_names().to_vec(), baseline, effect })
    }
}

/// For each covariate: whether its main-effect column enters the design. With interactions, a
/// covariate that is zero in every control row (a missingness indicator or a category level seen
/// only among the treated) says nothing about μ0: its column would duplicate its interaction
/// t·x, so it is left out (coefficient 0, as a column zero in every row) and the interaction
/// carries the treated rows' slope, as in the T-learner.
pub(super) fn base_columns(data: &CausalData, interactions: bool) -> Vec<bool> {
    (0..data.p())
        .map(|j| !interactions || (0..data.n()).any(|i| data.t()[i] == 0 && data.x().row(i)[j] != 0.0))
        .collect()
}

/// A fitted OLS S-learner: μ̂0(x) = α + xᵀβ, τ̂(x) = β_t + xᵀβ_tx.
#[derive(Debug, Clone, PartialEq)]
pub struct OlsSLearner {
    names: Vec<String>,
    baseline: Vec<f64>,
    effect: Vec<f64>,
}

impl OlsSLearner {
    /// Coefficients of μ̂0: intercept α first, then β, one per covariate.
    pub fn baseline_coefficients(&self) -> &[f64] {
        &self.baseline
    }

    /// Coefficients of τ̂: the treatment's main effect β_t first, then the
    /// interactions β_tx (zeros without interactions).
    pub fn effect_coefficients(&self) -> &[f64] {
        &self.effect
    }
}

impl IteModel for OlsSLearner {
    type Error = NetsError;

    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes, NetsError> {
        self.check_features(x)?;
        let (mut mu0, mut mu1) = (Vec::with_capacity(x.n_rows()), Vec::with_capacity(x.n_rows()));
        for (m0, tau) in linear(x, &self.baseline).zip(linear(x, &self.effect)) {
            mu0.push(m0);
            mu1.push(m0 + tau);
        }
        PotentialOutcomes::new(mu0, mu1).map_err(|e: CoreError| e.into())
    }
}

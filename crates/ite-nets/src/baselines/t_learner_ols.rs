//! The T-learner with ordinary least squares: one linear regression (with
//! intercept) per arm; τ̂(x) = μ̂1(x) − μ̂0(x).

use ite_core::{CausalData, CoreError, Covariates, Fit, IteModel, Params, PotentialOutcomes, Seed};
use nalgebra::{DMatrix, DVector};

use super::ols::least_squares;
use crate::error::NetsError;

/// Hyperparameters of the OLS T-learner.
///
/// | field | default | meaning | valid range |
/// |---|---|---|---|
/// | `ridge` | 0.0 | λ, ridge penalty on the slopes of each arm's regression (never on the intercept); 0 = plain OLS | finite, ≥ 0 |
///
/// The penalty acts on the covariates as given (they are not standardised).
///
/// ```
/// use ite_core::{Dgp, Fit, IteModel, Seed};
/// use ite_dgp::Sim1Source;
/// use ite_nets::baselines::OlsTLearnerParams;
/// let data = Sim1Source::default().sample_seeded(5000, Seed::new(3))?;
/// let model = OlsTLearnerParams::default().fit(&data, Seed::new(0))?;
/// // τ(x) = 1 + 0.05·Σx: treated minus control slopes ≈ 0.05, intercepts ≈ 1 apart.
/// let (c0, c1) = (model.control_coefficients(), model.treated_coefficients());
/// assert!((c1[0] - c0[0] - 1.0).abs() < 0.1);
/// assert!(OlsTLearnerParams { ridge: -1.0 }.fit(&data, Seed::new(0)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OlsTLearnerParams {
    /// Ridge penalty λ ≥ 0 on the slopes.
    pub ridge: f64,
}

impl Default for OlsTLearnerParams {
    fn default() -> Self {
        OlsTLearnerParams { ridge: 0.0 }
    }
}

impl Params for OlsTLearnerParams {
    type Error = NetsError;

    fn validate(&self) -> Result<(), NetsError> {
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(NetsError::param("ridge", self.ridge, "a finite penalty ≥ 0"));
        }
        Ok(())
    }
}

/// Column names of a design with intercept: `(intercept), x1, …`.
pub(super) fn design_names(features: &[String]) -> Vec<String> {
    std::iter::once("(intercept)".to_string()).chain(features.iter().cloned()).collect()
}

/// The rows of `data` in `arm` as a design with intercept, and their outcomes.
fn arm_design(data: &CausalData, arm: u8) -> (DMatrix<f64>, DVector<f64>) {
    let rows: Vec<usize> = (0..data.n()).filter(|&i| data.t()[i] == arm).collect();
    let p = data.p();
    let x = DMatrix::from_fn(rows.len(), p + 1, |r, j| if j == 0 { 1.0 } else { data.x().row(rows[r])[j - 1] });
    let y = DVector::from_fn(rows.len(), |r, _| data.y()[rows[r]]);
    (x, y)
}

/// Evaluates `intercept + xᵀslopes` for every row of `x`.
pub(super) fn linear(x: &Covariates, coef: &[f64]) -> impl Iterator<Item = f64> {
    x.rows().map(move |r| coef[0] + r.iter().zip(&coef[1..]).map(|(v, b)| v * b).sum::<f64>())
}

impl Fit for OlsTLearnerParams {
    type Model = OlsTLearner;

    fn fit(&self, data: &CausalData, _seed: Seed) -> Result<OlsTLearner, NetsError> {
        self.validate()?;
        data.require_both_arms("OLS T-learner training data")?;
        let names = design_names(data.feature_names());
        let (x0, y0) = arm_design(data, 0);
        let (x1, y1) = arm_design(data, 1);
        let control = least_squares(&x0, &y0, self.ridge, &names, "OLS T-learner, control arm")?;
        let treated = least_squares(&x1, &y1, self.ridge, &names, "OLS T-learner, treated arm")?;
        Ok(OlsTLearner { names: data.feature_names().to_vec(), control, treated })
    }
}

/// A fitted OLS T-learner: μ̂0(x) and μ̂1(x) linear, each with intercept.
#[derive(Debug, Clone, PartialEq)]
pub struct OlsTLearner {
    names: Vec<String>,
    control: Vec<f64>,
    treated: Vec<f64>,
}

impl OlsTLearner {
    /// Coefficients of μ̂0: intercept first, then one per covariate.
    pub fn control_coefficients(&self) -> &[f64] {
        &self.control
    }

    /// Coefficients of μ̂1: intercept first, then one per covariate.
    pub fn treated_coefficients(&self) -> &[f64] {
        &self.treated
    }
}

impl IteModel for OlsTLearner {
    type Error = NetsError;

    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes, NetsError> {
        self.check_features(x)?;
        let mu0 = linear(x, &self.control).collect();
        let mu1 = linear(x, &self.treated).collect();
        PotentialOutcomes::new(mu0, mu1).map_err(|e: CoreError| e.into())
    }
}

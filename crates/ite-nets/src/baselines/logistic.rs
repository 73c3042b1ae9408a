//! Logistic baselines for a binary (0/1) outcome, the counterparts of the OLS learners: the
//! T-learner with one logistic regression per arm, and the S-learner with one logistic
//! regression of y on x, t and (by default) t·x. Fitted by `linfa-logistic` (L-BFGS) on
//! standardised covariates; the coefficients are reported on the covariates' own scale.
//! μ̂0(x), μ̂1(x) are probabilities in (0, 1) and τ̂(x) = μ̂1(x) − μ̂0(x) is a risk difference.

use ite_core::{CausalData, CoreError, Covariates, Fit, IteModel, OutcomeType, Params, PotentialOutcomes, Seed};
use linfa::Dataset;
use linfa::traits::Fit as _;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

use super::s_learner_ols::base_columns;
use super::t_learner_ols::linear;
use crate::error::NetsError;
use crate::outcome::{check_outcomes, sigmoid};
use crate::scaler::Standardizer;

/// Hyperparameters of the logistic T- and S-learners.
///
/// | field | default | meaning | valid range |
/// |---|---|---|---|
/// | `ridge` | 1.0 | α, L2 penalty `0.5·α·‖w‖²` added to the *summed* log-loss over standardised covariates (never on the intercept); 0 = plain maximum likelihood, which diverges on separable data | finite, ≥ 0 |
/// | `max_iterations` | 200 | L-BFGS iterations of `linfa-logistic` | ≥ 1 |
/// | `interactions` | `true` | S-learner only: include t·x (a heterogeneous effect on the logit scale); `false` fits logit μ = α + xᵀβ + β_t·t | `true`, `false` |
///
/// The training outcomes must be 0 or 1, with both values in each arm (T-learner) or in the
/// sample (S-learner).
///
/// ```
/// use ite_core::{CausalData, Covariates, Fit, IteModel, Seed};
/// use ite_nets::baselines::LogisticParams;
/// let x = Covariates::with_default_names((0..40).map(|i| f64::from(i % 10) / 10.0).collect(), 1)?;
/// let t: Vec<u8> = (0..40).map(|i| u8::from(i % 2 == 0)).collect();
/// let y: Vec<f64> = (0..40).map(|i| f64::from(u8::from(i % 3 == 0 || i % 4 == 0))).collect();
/// let data = CausalData::new(x, t, y)?;
/// let model = LogisticParams::default().t_learner().fit(&data, Seed::new(0))?;
/// let p = model.predict(data.x())?;
/// assert!(p.mu0.iter().chain(&p.mu1).all(|&m| m > 0.0 && m < 1.0));
/// assert!(LogisticParams { ridge: -1.0, ..Default::default() }.t_learner().fit(&data, Seed::new(0)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogisticParams {
    /// L2 penalty α ≥ 0 (not on the intercept).
    pub ridge: f64,
    /// Maximum L-BFGS iterations.
    pub max_iterations: u64,
    /// S-learner: include the treatment interactions t·x.
    pub interactions: bool,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { ridge: 1.0, max_iterations: 200, interactions: true }
    }
}

impl Params for LogisticParams {
    type Error = NetsError;

    fn validate(&self) -> Result<(), NetsError> {
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(NetsError::param("ridge", self.ridge, "a finite penalty ≥ 0"));
        }
        if self.max_iterations == 0 {
            return Err(NetsError::param("max_iterations", 0, "an integer ≥ 1"));
        }
        Ok(())
    }
}

impl LogisticParams {
    /// The T-learner with these settings (`interactions` unused).
    pub fn t_learner(self) -> LogisticTLearnerParams {
        LogisticTLearnerParams(self)
    }

    /// The S-learner with these settings.
    pub fn s_learner(self) -> LogisticSLearnerParams {
        LogisticSLearnerParams(self)
    }

    /// Fits a logistic regression of `y` on the standardised columns `xs` (`n × k`) and returns
    /// the intercept followed by the slopes; `what` names the regression in errors.
    ///
    /// A column whose raw (unstandardised) values are zero in every row (`zero[j]`: a
    /// missingness indicator or a category level that never occurs in these rows) carries no
    /// information: it gets coefficient 0 and the rest is fitted without it, as the OLS
    /// learners do (standardised, such a column is a constant the intercept would share).
    fn regression(&self, xs: Array2<f64>, zero: &[bool], y: &[f64], what: &str) -> Result<Vec<f64>, NetsError> {
        if y.iter().all(|&v| v == 1.0) || y.iter().all(|&v| v == 0.0) {
            let value = y.first().copied().unwrap_or(0.0);
            return Err(NetsError::Core(CoreError::data(format!(
                "{what}: every outcome is {value} ({} rows); a logistic regression needs both 0 and 1",
                y.len()
            ))));
        }
        let keep: Vec<usize> = (0..xs.ncols()).filter(|&j| !zero.get(j).copied().unwrap_or(false)).collect();
        if keep.len() == xs.ncols() {
            return self.fit_columns(xs, y, what);
        }
        let mut full = vec![0.0; xs.ncols() + 1];
        if keep.is_empty() {
            // Intercept only: its maximum-likelihood value (the intercept is never penalised).
            let rate = y.iter().sum::<f64>() / y.len() as f64;
            full[0] = (rate / (1.0 - rate)).ln();
            return Ok(full);
        }
        let coef = self.fit_columns(xs.select(ndarray::Axis(1), &keep), y, what)?;
        full[0] = coef[0];
        for (&j, b) in keep.iter().zip(&coef[1..]) {
            full[j + 1] = *b;
        }
        Ok(full)
    }

    /// [`Self::regression`] on every column of `xs`.
    fn fit_columns(&self, xs: Array2<f64>, y: &[f64], what: &str) -> Result<Vec<f64>, NetsError> {
        let labels: Array1<u8> = y.iter().map(|&v| u8::from(v == 1.0)).collect();
        let model: linfa_logistic::FittedLogisticRegression<f64, u8> = LogisticRegression::default()
            .alpha(self.ridge)
            .max_iterations(self.max_iterations)
            .fit(&Dataset::new(xs, labels))
            .map_err(|e| NetsError::Core(CoreError::data(format!("{what}: logistic regression failed: {e}"))))?;
        // linfa's coefficients are the logit of its positive class, the more frequent one.
        let sign = if model.labels().pos.class == 1 { 1.0 } else { -1.0 };
        Ok(std::iter::once(model.intercept()).chain(model.params().iter().copied()).map(|b| sign * b).collect())
    }
}

/// Rows `rows` of `x` standardised by `s`, then `extra` columns per row.
fn design(x: &Covariates, s: &Standardizer, rows: &[usize], extra: impl Fn(usize, &[f64]) -> Vec<f64>) -> Array2<f64> {
    let mut values = Vec::new();
    let mut k = 0;
    for &i in rows {
        let row: Vec<f64> = x.row(i).iter().zip(s.mean.iter().zip(&s.sd)).map(|(v, (m, sd))| (v - m) / sd).collect();
        let more = extra(i, &row);
        k = row.len() + more.len();
        values.extend(row);
        values.extend(more);
    }
    Array2::from_shape_vec((rows.len(), k), values).unwrap_or_else(|_| Array2::zeros((rows.len(), k)))
}

/// For each column of `x`: whether its raw values are zero in every row of `rows`.
fn zero_columns(x: &Covariates, rows: &[usize]) -> Vec<bool> {
    (0..x.n_cols()).map(|j| rows.iter().all(|&i| x.row(i)[j] == 0.0)).collect()
}

/// Coefficients `[a, b1..bp]` on standardised covariates `(x − m)/s` rewritten for raw `x`.
fn unstandardise(coef: &[f64], s: &Standardizer) -> Vec<f64> {
    let slopes: Vec<f64> = coef[1..].iter().zip(&s.sd).map(|(b, sd)| b / sd).collect();
    let shift: f64 = slopes.iter().zip(&s.mean).map(|(b, m)| b * m).sum();
    std::iter::once(coef[0] - shift).chain(slopes).collect()
}

/// Checks the data of a logistic learner: valid settings, both arms, 0/1 outcomes.
fn check(p: &LogisticParams, data: &CausalData, what: &str) -> Result<Standardizer, NetsError> {
    p.validate()?;
    data.require_both_arms(what)?;
    check_outcomes(OutcomeType::Binary, data.y(), what)?;
    Ok(Standardizer::fit(data.x().values(), data.p()))
}

/// The logistic T-learner's settings (a [`LogisticParams`]).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct LogisticTLearnerParams(pub LogisticParams);

impl Params for LogisticTLearnerParams {
    type Error = NetsError;

    fn validate(&self) -> Result<(), NetsError> {
        self.0.validate()
    }
}

impl Fit for LogisticTLearnerParams {
    type Model = LogisticTLearner;

    fn fit(&self, data: &CausalData, _seed: Seed) -> Result<LogisticTLearner, NetsError> {
        let s = check(&self.0, data, "logistic T-learner training data")?;
        let arm = |a: u8, what: &str| -> Result<Vec<f64>, NetsError> {
            let rows: Vec<usize> = (0..data.n()).filter(|&i| data.t()[i] == a).collect();
            let y: Vec<f64> = rows.iter().map(|&i| data.y()[i]).collect();
            let zero = zero_columns(data.x(), &rows);
            let coef = self.0.regression(design(data.x(), &s, &rows, |_, _| Vec::new()), &zero, &y, what)?;
            Ok(unstandardise(&coef, &s))
        };
        let control = arm(0, "logistic T-learner, control arm")?;
        let treated = arm(1, "logistic T-learner, treated arm")?;
        Ok(LogisticTLearner { names: data.feature_names().to_vec(), control, treated })
    }
}

/// A fitted logistic T-learner: logit μ̂0(x) and logit μ̂1(x) linear, each with intercept.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogisticTLearner {
    names: Vec<String>,
    control: Vec<f64>,
    treated: Vec<f64>,
}

impl LogisticTLearner {
    /// Coefficients of logit μ̂0: intercept first, then one per covariate (raw scale).
    pub fn control_coefficients(&self) -> &[f64] {
        &self.control
    }

    /// Coefficients of logit μ̂1: intercept first, then one per covariate (raw scale).
    pub fn treated_coefficients(&self) -> &[f64] {
        &self.treated
    }
}

impl IteModel for LogisticTLearner {
    type Error = NetsError;

    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes, NetsError> {
        self.check_features(x)?;
        let mu0 = linear(x, &self.control).map(sigmoid).collect();
        let mu1 = linear(x, &self.treated).map(sigmoid).collect();
        PotentialOutcomes::new(mu0, mu1).map_err(|e: CoreError| e.into())
    }
}

/// The logistic S-learner's settings (a [`LogisticParams`]).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct LogisticSLearnerParams(pub LogisticParams);

impl Params for LogisticSLearnerParams {
    type Error = NetsError;

    fn validate(&self) -> Result<(), NetsError> {
        self.0.validate()
    }
}

impl Fit for LogisticSLearnerParams {
    type Model = LogisticSLearner;

    fn fit(&self, data: &CausalData, _seed: Seed) -> Result<LogisticSLearner, NetsError> {
        let s = check(&self.0, data, "logistic S-learner training data")?;
        let (p, interactions) = (data.p(), self.0.interactions);
        let rows: Vec<usize> = (0..data.n()).collect();
        // Columns: standardised x, t, [t·x standardised].
        let xs = design(data.x(), &s, &rows, |i, row| {
            let t = f64::from(data.t()[i]);
            let mut more = vec![t];
            if interactions {
                more.extend(row.iter().map(|v| t * v));
            }
            more
        });
        let all_zero = zero_columns(data.x(), &rows);
        let mut zero: Vec<bool> = base_columns(data, interactions).iter().zip(all_zero).map(|(b, z)| !b || z).collect();
        zero.push(false);
        if interactions {
            let treated: Vec<usize> = rows.iter().copied().filter(|&i| data.t()[i] == 1).collect();
            zero.extend(zero_columns(data.x(), &treated));
        }
        let coef = self.0.regression(xs, &zero, data.y(), "logistic S-learner")?;
        let baseline = unstandardise(&coef[..=p], &s);
        let effect = if interactions {
            unstandardise(&coef[p + 1..], &s)
        } else {
            std::iter::once(coef[p + 1]).chain(std::iter::repeat_n(0.0, p)).collect()
        };
        Ok(LogisticSLearner { names: data.feature_names().to_vec(), baseline, effect })
    }
}

/// A fitted logistic S-learner: logit μ̂0(x) = α + xᵀβ, logit μ̂1(x) = logit μ̂0(x) + β_t + xᵀβ_tx.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogisticSLearner {
    names: Vec<String>,
    baseline: Vec<f64>,
    effect: Vec<f64>,
}

impl LogisticSLearner {
    /// Coefficients of logit μ̂0: intercept α first, then β (raw scale).
    pub fn baseline_coefficients(&self) -> &[f64] {
        &self.baseline
    }

    /// The treatment's effect on the logit: β_t first, then β_tx (zeros without interactions).
    pub fn effect_coefficients(&self) -> &[f64] {
        &self.effect
    }
}

impl IteModel for LogisticSLearner {
    type Error = NetsError;

    fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes, NetsError> {
        self.check_features(x)?;
        let (mut mu0, mut mu1) = (Vec::with_capacity(x.n_rows()), Vec::with_capacity(x.n_rows()));
        for (z0, dz) in linear(x, &self.baseline).zip(linear(x, &self.effect)) {
            mu0.push(sigmoid(z0));
            mu1.push(sigmoid(z0 + dz));
        }
        PotentialOutcomes::new(mu0, mu1).map_err(|e: CoreError| e.into())
    }
}

//! Saved models of every kind `ite fit` offers, and loading them for `ite predict`: the
//! networks through `ite_nets`' persistence (`model.json` of kind `tarnet` and
//! `model.safetensors`), the MLP T-learner likewise (kind `mlp-t-learner`), and the OLS T- and
//! S-learners as their coefficients in `model.json` (kinds `t-learner-ols`, `s-learner-ols`),
//! which predict exactly as the fitted learner did.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use ite_core::OutcomeType;
use ite_core::{CoreError, Covariates, IteModel, PotentialOutcomes};
use ite_nets::baselines::{LogisticSLearner, LogisticTLearner, OlsSLearner, OlsTLearner};
use ite_nets::{FittedTarNet, MlpTLearner};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The file every saved model has (kind, features, and the coefficients of a linear model).
pub const MODEL_FILE: &str = "model.json";

/// A saved OLS learner: μ̂0(x) = `a·(1, x)`, and μ̂1(x) = `b·(1, x)` (T-learner: `b` the treated
/// arm's coefficients) or μ̂0(x) + `b·(1, x)` (S-learner: `b` the effect's coefficients).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    /// `t-learner-ols` or `s-learner-ols`.
    pub kind: String,
    /// The covariates, in order.
    pub feature_names: Vec<String>,
    /// Intercept, then one coefficient per covariate: μ̂0.
    pub mu0: Vec<f64>,
    /// Intercept, then one coefficient per covariate: μ̂1 (T) or τ̂ (S).
    pub second: Vec<f64>,
}

/// `coef[0] + xᵀcoef[1..]` for every row, summed as `ite_nets`' OLS learners sum.
fn linear(x: &Covariates, coef: &[f64]) -> Vec<f64> {
    x.rows().map(|r| coef[0] + r.iter().zip(&coef[1..]).map(|(v, b)| v * b).sum::<f64>()).collect()
}

impl LinearModel {
    /// The coefficients of a fitted OLS T-learner.
    pub fn t_learner(m: &OlsTLearner) -> Self {
        LinearModel {
            kind: "t-learner-ols".into(),
            feature_names: m.feature_names().to_vec(),
            mu0: m.control_coefficients().to_vec(),
            second: m.treated_coefficients().to_vec(),
        }
    }

    /// The coefficients of a fitted OLS S-learner.
    pub fn s_learner(m: &OlsSLearner) -> Self {
        LinearModel {
            kind: "s-learner-ols".into(),
            feature_names: m.feature_names().to_vec(),
            mu0: m.baseline_coefficients().to_vec(),
            second: m.effect_coefficients().to_vec(),
        }
    }

    /// Checks kind and sizes; the error names the field.
    fn validate(&self) -> std::result::Result<(), String> {
        if self.kind != "t-learner-ols" && self.kind != "s-learner-ols" {
            return Err(format!("kind `{}`: expected t-learner-ols or s-learner-ols", self.kind));
        }
        let want = self.feature_names.len() + 1;
        check_coefficients(&[("mu0", &self.mu0), ("second", &self.second)], want)
    }
}

/// Each named coefficient vector has `want` values (an intercept and one per covariate), all
/// finite.
fn check_coefficients(parts: &[(&str, &[f64])], want: usize) -> std::result::Result<(), String> {
    for (name, c) in parts {
        if c.len() != want {
            return Err(format!("{name}: {} coefficients, expected {want} (intercept and one per covariate)", c.len()));
        }
        if c.iter().any(|v| !v.is_finite()) {
            return Err(format!("{name}: a coefficient is not finite"));
        }
    }
    Ok(())
}

impl IteModel for LinearModel {
    type Error = CoreError;

    fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    fn predict(&self, x: &Covariates) -> std::result::Result<PotentialOutcomes, CoreError> {
        self.check_features(x)?;
        let mu0 = linear(x, &self.mu0);
        let second = linear(x, &self.second);
        let mu1 =
            if self.kind == "s-learner-ols" { mu0.iter().zip(&second).map(|(a, t)| a + t).collect() } else { second };
        PotentialOutcomes::new(mu0, mu1)
    }
}

/// A model read back from disk.
pub enum Saved {
    /// TARNet / CFR.
    Net(Box<FittedTarNet>),
    /// The MLP T-learner.
    Mlp(Box<MlpTLearner>),
    /// An OLS T- or S-learner.
    Linear(LinearModel),
    /// A logistic T- or S-learner (binary outcome).
    Logit(LogitModel),
}

impl Saved {
    /// The covariates the model needs, in order.
    pub fn feature_names(&self) -> &[String] {
        match self {
            Saved::Net(m) => m.feature_names(),
            Saved::Mlp(m) => m.feature_names(),
            Saved::Linear(m) => m.feature_names(),
            Saved::Logit(m) => m.feature_names(),
        }
    }

    /// Continuous, or binary (predictions are probabilities).
    pub fn outcome_type(&self) -> OutcomeType {
        match self {
            Saved::Net(m) => m.outcome_type(),
            Saved::Mlp(m) => m.outcome_type(),
            Saved::Linear(_) => OutcomeType::Continuous,
            Saved::Logit(_) => OutcomeType::Binary,
        }
    }

    /// μ̂0, μ̂1 of the rows of `x` (whose covariates are checked against the model's).
    pub fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes> {
        Ok(match self {
            Saved::Net(m) => m.predict(x)?,
            Saved::Mlp(m) => m.predict(x)?,
            Saved::Linear(m) => m.predict(x)?,
            Saved::Logit(m) => m.predict(x)?,
        })
    }

    /// The kind `dir/`[`MODEL_FILE`] names (`tarnet`, `mlp-t-learner`, `t-learner-ols`, ...;
    /// `None`: the file names none, as older networks' did).
    pub fn kind(dir: &Path) -> Result<Option<String>> {
        let path = dir.join(MODEL_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        let v: Value = serde_json::from_str(&text).map_err(|e| anyhow!("{}: malformed JSON: {e}", path.display()))?;
        Ok(v.get("kind").and_then(Value::as_str).map(String::from))
    }

    /// Reads the model saved in `dir` (holding [`MODEL_FILE`]), by the kind that file names.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(MODEL_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        let v: Value = serde_json::from_str(&text).map_err(|e| anyhow!("{}: malformed JSON: {e}", path.display()))?;
        match v.get("kind").and_then(Value::as_str) {
            Some("t-learner-ols" | "s-learner-ols") => {
                let m: LinearModel = serde_json::from_value(v)
                    .map_err(|e| anyhow!("{}: not a saved OLS learner: {e}", path.display()))?;
                m.validate().map_err(|e| anyhow!("{}: {e}", path.display()))?;
                Ok(Saved::Linear(m))
            }
            Some("t-learner-logistic" | "s-learner-logistic") => {
                let m: LogitModel = serde_json::from_value(v)
                    .map_err(|e| anyhow!("{}: not a saved logistic learner: {e}", path.display()))?;
                m.validate().map_err(|e| anyhow!("{}: {e}", path.display()))?;
                Ok(Saved::Logit(m))
            }
            Some("mlp-t-learner") => Ok(Saved::Mlp(Box::new(MlpTLearner::load(dir)?))),
            Some("tarnet") | None => Ok(Saved::Net(Box::new(FittedTarNet::load(dir)?))),
            Some(other) => bail!(
                "{}: kind `{other}` is not a model this ite can read (expected tarnet, mlp-t-learner, t-learner-ols, \
                 s-learner-ols, t-learner-logistic or s-learner-logistic)",
                path.display()
            ),
        }
    }
}

/// Writes `m` as `dir/model.json` (creating `dir`).
/// A logistic T- or S-learner (a binary outcome's `t-learner-ols` / `s-learner-ols`), saved as
/// its coefficients on the logit scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum LogitModel {
    /// The logistic T-learner.
    #[serde(rename = "t-learner-logistic")]
    T {
        /// The fitted learner.
        model: LogisticTLearner,
    },
    /// The logistic S-learner.
    #[serde(rename = "s-learner-logistic")]
    S {
        /// The fitted learner.
        model: LogisticSLearner,
    },
}

impl LogitModel {
    fn feature_names(&self) -> &[String] {
        match self {
            LogitModel::T { model } => model.feature_names(),
            LogitModel::S { model } => model.feature_names(),
        }
    }

    fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes> {
        Ok(match self {
            LogitModel::T { model } => model.predict(x)?,
            LogitModel::S { model } => model.predict(x)?,
        })
    }

    /// Every coefficient vector has an intercept and one value per covariate, all finite.
    fn validate(&self) -> std::result::Result<(), String> {
        let want = self.feature_names().len() + 1;
        let parts: [(&str, &[f64]); 2] = match self {
            LogitModel::T { model } => {
                [("control", model.control_coefficients()), ("treated", model.treated_coefficients())]
            }
            LogitModel::S { model } => {
                [("baseline", model.baseline_coefficients()), ("effect", model.effect_coefficients())]
            }
        };
        check_coefficients(&parts, want)
    }
}

/// Writes a logistic learner as `dir/model.json`.
pub fn save_logit(dir: &Path, m: &LogitModel) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    crate::output::write_json(&dir.join(MODEL_FILE), &serde_json::to_value(m)?)
}

pub fn save_linear(dir: &Path, m: &LinearModel) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    crate::output::write_json(&dir.join(MODEL_FILE), &serde_json::to_value(m)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_linear_model_predicts_as_written_and_refuses_wrong_sizes() {
        let x = Covariates::new(vec![1.0, 2.0, 3.0, 4.0], vec!["a".into(), "b".into()]).unwrap();
        let mut m = LinearModel {
            kind: "s-learner-ols".into(),
            feature_names: vec!["a".into(), "b".into()],
            mu0: vec![1.0, 0.5, 0.0],
            second: vec![2.0, 0.0, 1.0],
        };
        let p = m.predict(&x).unwrap();
        assert_eq!(p.mu0, vec![1.5, 2.5]);
        assert_eq!(p.mu1, vec![5.5, 8.5]);
        m.kind = "t-learner-ols".into();
        assert_eq!(m.predict(&x).unwrap().mu1, vec![4.0, 6.0]);
        m.second.pop();
        assert!(m.validate().unwrap_err().contains("second: 2 coefficients, expected 3"));
    }
}

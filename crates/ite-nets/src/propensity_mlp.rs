//! A small network for the propensity e(x) = P(T = 1 | X = x): an MLP with a sigmoid output
//! trained by binary cross-entropy, for propensities that are not linear in the logit (where the
//! default logistic regression of `ite-inference` is misspecified). It implements
//! [`ite_inference::PropensityLearner`], so AIPW cross-fits it on its folds
//! ([`ite_inference::AipwParams::estimate_with`]).
//!
//! Training is the seeded loop of the MLP T-learner (Adam, a validation split stratified by
//! arm, early stopping on the validation cross-entropy that restores the best weights), on
//! covariates standardised over the training rows (0/1 columns left as they are).

use candle_core::{Device, Tensor};
use ite_core::{Covariates, Params, Seed};
use ite_inference::{BoxError, PropensityLearner};

use crate::error::{NetsError, Result};
use crate::hyperparams::Activation;
use crate::scaler::Standardizer;
use crate::t_learner_mlp::{MlpTLearnerParams, Objective, TrainingSet, fit_mlp};

/// Hyperparameters of the MLP propensity model.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `layers` | `[32, 32]` | hidden widths (a single logit output follows, then a sigmoid) | ≥ 1 layer, each ≥ 1 |
/// | `activation` | `Elu` | activation after every hidden layer | `Elu`, `Relu` |
/// | `learning_rate` | `1e-3` | Adam step size | finite, > 0 |
/// | `batch_size` | `64` | minibatch size | ≥ 1 |
/// | `l2` | `1e-4` | weight of λ·Σw² over all weight matrices | finite, ≥ 0 |
/// | `val_fraction` | `0.2` | share of the training rows (stratified by arm) held out for early stopping (0 = none) | [0, 0.9] |
/// | `patience` | `20` | epochs without a lower validation cross-entropy before stopping | ≥ 1 |
/// | `max_epochs` | `200` | maximum epochs | ≥ 1 |
///
/// The probabilities it returns are not clipped; AIPW clips them to its
/// `PropensityParams::clip`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpPropensityParams {
    /// Hidden layer widths.
    pub layers: Vec<usize>,
    /// Activation.
    pub activation: Activation,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Minibatch size.
    pub batch_size: usize,
    /// L2 penalty weight on the weight matrices.
    pub l2: f64,
    /// Validation share for early stopping.
    pub val_fraction: f64,
    /// Early-stopping patience (epochs).
    pub patience: usize,
    /// Maximum epochs.
    pub max_epochs: usize,
}

impl Default for MlpPropensityParams {
    fn default() -> Self {
        MlpPropensityParams {
            layers: vec![32, 32],
            activation: Activation::Elu,
            learning_rate: 1e-3,
            batch_size: 64,
            l2: 1e-4,
            val_fraction: 0.2,
            patience: 20,
            max_epochs: 200,
        }
    }
}

impl MlpPropensityParams {
    /// The same settings in the shape of the shared training loop.
    fn training(&self) -> MlpTLearnerParams {
        MlpTLearnerParams {
            layers: self.layers.clone(),
            activation: self.activation,
            learning_rate: self.learning_rate,
            batch_size: self.batch_size,
            l2: self.l2,
            val_fraction: self.val_fraction,
            patience: self.patience,
            max_epochs: self.max_epochs,
            outcome_type: ite_core::OutcomeType::Binary,
        }
    }

    /// Fits on the units `train` of (`x`, `t`) with `seed` and returns P(T = 1 | x) of the units
    /// `test` (unclipped).
    ///
    /// # Errors
    /// Invalid parameters, inputs of different lengths, training rows without both arms, a
    /// diverged loss.
    pub fn fit_predict_rows(
        &self,
        x: &Covariates,
        t: &[u8],
        train: &[usize],
        test: &[usize],
        seed: Seed,
    ) -> Result<Vec<f64>> {
        self.validate()?;
        if t.len() != x.n_rows() {
            return Err(NetsError::param(
                "treatment",
                format!("{} values", t.len()),
                format!("one per covariate row ({})", x.n_rows()),
            ));
        }
        let strata: Vec<u8> = train.iter().map(|&i| t[i]).collect();
        let n1 = strata.iter().filter(|&&a| a == 1).count();
        if n1 == 0 || n1 == strata.len() {
            return Err(NetsError::param(
                "training rows",
                format!("{n1} treated of {}", strata.len()),
                "treated and control units (the propensity model needs both arms)",
            ));
        }
        let p = x.n_cols();
        let x_train = x.select_rows(train)?;
        let scaler = Standardizer::fit_skip_binary(x_train.values(), p);
        let xs = scaler.transform(x_train.values());
        let ys: Vec<f32> = strata.iter().map(|&a| f32::from(a)).collect();
        let rows: Vec<usize> = (0..train.len()).collect();
        let set = TrainingSet { xs: &xs, ys: &ys, p, rows: &rows, strata: &strata };
        let dev = Device::Cpu;
        let mlp = fit_mlp(&self.training(), &set, Objective::Logistic, "propensity", seed, &dev)?;
        let x_test = x.select_rows(test)?;
        let xt = Tensor::from_vec(scaler.transform(x_test.values()), (test.len(), p), &dev)?;
        let logits = mlp.forward(&xt)?.squeeze(1)?.to_vec1::<f32>()?;
        Ok(logits.into_iter().map(|z| 1.0 / (1.0 + (-f64::from(z)).exp())).collect())
    }
}

impl Params for MlpPropensityParams {
    type Error = NetsError;

    fn validate(&self) -> Result<()> {
        self.training().validate()
    }
}

impl PropensityLearner for MlpPropensityParams {
    fn fit_predict(
        &self,
        x: &Covariates,
        t: &[u8],
        train: &[usize],
        test: &[usize],
        seed: Seed,
    ) -> std::result::Result<Vec<f64>, BoxError> {
        Ok(self.fit_predict_rows(x, t, train, test, seed)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_validated_and_one_arm_is_refused() {
        let bad = MlpPropensityParams { layers: vec![], ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("layers"));
        let x = Covariates::with_default_names((0..20).map(f64::from).collect(), 1).unwrap();
        let t = vec![1u8; 20];
        let all: Vec<usize> = (0..20).collect();
        let err = MlpPropensityParams::default().fit_predict_rows(&x, &t, &all, &all, Seed::new(1)).unwrap_err();
        assert!(err.to_string().contains("both arms"), "{err}");
    }

    #[test]
    fn same_seed_same_probabilities() {
        let n = 200;
        let x = Covariates::with_default_names((0..n).map(|i| f64::from(i) / 50.0).collect(), 1).unwrap();
        let t: Vec<u8> = (0..n).map(|i| u8::from(i % 3 == 0 || i > 150)).collect();
        let train: Vec<usize> = (0..n as usize).filter(|i| i % 5 != 0).collect();
        let test: Vec<usize> = (0..n as usize).filter(|i| i % 5 == 0).collect();
        let params = MlpPropensityParams { max_epochs: 20, ..Default::default() };
        let a = params.fit_predict_rows(&x, &t, &train, &test, Seed::new(3)).unwrap();
        let b = params.fit_predict_rows(&x, &t, &train, &test, Seed::new(3)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), test.len());
        assert!(a.iter().all(|e| (0.0..=1.0).contains(e)));
    }
}

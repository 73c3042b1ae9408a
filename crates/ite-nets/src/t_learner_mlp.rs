//! The MLP T-learner baseline: one multilayer perceptron per arm, μ̂0 fitted on the controls
//! and μ̂1 on the treated, each with the same seeded training loop (Adam, validation split,
//! early stopping that restores the best weights) as TARNet.

use candle_core::{Device, Tensor};
use candle_nn::Optimizer;
use ite_core::{CausalData, Covariates, Fit, IteModel, Params, PotentialOutcomes, Seed};

use crate::error::{NetsError, Result};
use crate::hyperparams::Activation;
use crate::mlp::Mlp;
use crate::optim::{Adam, AdamConfig};
use crate::scaler::Standardizer;
use crate::train::{shuffle, stratified_split};
use crate::vars::TarNetVars;

/// Hyperparameters of the MLP T-learner.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `layers` | `[200, 200, 200, 100, 100]` | hidden widths of each arm's MLP (a linear output follows) | ≥ 1 layer, each ≥ 1 |
/// | `activation` | `Elu` | activation after every hidden layer | `Elu`, `Relu` |
/// | `learning_rate` | `1e-3` | Adam step size | finite, > 0 |
/// | `batch_size` | `100` | minibatch size | ≥ 1 |
/// | `l2` | `1e-4` | weight of λ·Σw² over all weight matrices | finite, ≥ 0 |
/// | `val_fraction` | `0.3` | share of each arm held out for early stopping (0 = none) | [0, 0.9] |
/// | `patience` | `15` | epochs without improvement before stopping | ≥ 1 |
/// | `max_epochs` | `300` | maximum epochs | ≥ 1 |
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpTLearnerParams {
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

impl Default for MlpTLearnerParams {
    fn default() -> Self {
        MlpTLearnerParams {
            layers: vec![200, 200, 200, 100, 100],
            activation: Activation::Elu,
            learning_rate: 1e-3,
            batch_size: 100,
            l2: 1e-4,
            val_fraction: 0.3,
            patience: 15,
            max_epochs: 300,
        }
    }
}

impl Params for MlpTLearnerParams {
    type Error = NetsError;

    fn validate(&self) -> Result<()> {
        let bad = |name: &str, value: String, expected: &str| Err(NetsError::param(name, value, expected));
        if self.layers.is_empty() || self.layers.contains(&0) {
            return bad("layers", format!("{:?}", self.layers), "at least one layer, each of width ≥ 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", self.learning_rate.to_string(), "a finite number > 0");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "0".into(), "an integer ≥ 1");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", self.l2.to_string(), "a finite number ≥ 0");
        }
        if !(0.0..=0.9).contains(&self.val_fraction) {
            return bad("val_fraction", self.val_fraction.to_string(), "a number in [0, 0.9]");
        }
        if self.patience == 0 {
            return bad("patience", "0".into(), "an integer ≥ 1");
        }
        if self.max_epochs == 0 {
            return bad("max_epochs", "0".into(), "an integer ≥ 1");
        }
        Ok(())
    }
}

/// A fitted MLP T-learner.
#[derive(Debug, Clone)]
pub struct MlpTLearner {
    m0: Mlp,
    m1: Mlp,
    x_scaler: Standardizer,
    y_scaler: Standardizer,
    feature_names: Vec<String>,
}

impl MlpTLearnerParams {
    /// Fits one regressor on the rows of `arm`, returning it after restoring its best weights.
    fn fit_arm(&self, data: &CausalData, xs: &[f32], ys: &[f32], arm: u8, seed: Seed) -> Result<Mlp> {
        let p = data.p();
        let rows: Vec<usize> = (0..data.n()).filter(|&i| data.t()[i] == arm).collect();
        let zeros = vec![0u8; rows.len()];
        let (tr, va) = stratified_split(&zeros, self.val_fraction, seed.stream("split"));
        let block = |idx: &[usize]| -> Result<(Tensor, Tensor)> {
            let x: Vec<f32> = idx.iter().flat_map(|&k| xs[rows[k] * p..(rows[k] + 1) * p].iter().copied()).collect();
            let y: Vec<f32> = idx.iter().map(|&k| ys[rows[k]]).collect();
            Ok((Tensor::from_vec(x, (idx.len(), p), &Device::Cpu)?, Tensor::from_vec(y, idx.len(), &Device::Cpu)?))
        };
        let (xt, yt) = block(&tr)?;
        let val = if va.is_empty() { None } else { Some(block(&va)?) };
        let mut widths = vec![p];
        widths.extend_from_slice(&self.layers);
        widths.push(1);
        let mut rng = seed.stream("init").rng();
        let (mlp, named) = Mlp::new(&format!("m{arm}"), &widths, self.activation, false, &mut rng)?;
        let weights: Vec<Tensor> =
            named.iter().filter(|(n, _)| n.ends_with(".weight")).map(|(_, v)| v.as_tensor().clone()).collect();
        let vars = TarNetVars::from_named(named);
        let mut opt = Adam::new(
            vars.iter_sorted().into_iter().map(|(_, v)| v).collect(),
            AdamConfig { lr: self.learning_rate, ..AdamConfig::default() },
        )?;
        let mut order: Vec<usize> = (0..tr.len()).collect();
        let mut batch_rng = seed.stream("batches").rng();
        let mut best: Option<(f32, _)> = None;
        let mut since = 0;
        for epoch in 0..self.max_epochs {
            shuffle(&mut order, &mut batch_rng);
            for chunk in order.chunks(self.batch_size) {
                let idx =
                    Tensor::from_vec(chunk.iter().map(|&i| i as u32).collect::<Vec<_>>(), chunk.len(), &Device::Cpu)?;
                let pred = mlp.forward(&xt.index_select(&idx, 0)?)?.squeeze(1)?;
                let mut loss = (pred - yt.index_select(&idx, 0)?)?.sqr()?.mean_all()?;
                if let Some(l2) = crate::loss::l2_penalty(&weights, self.l2)? {
                    loss = (loss + l2)?;
                }
                let value = loss.to_scalar::<f32>()?;
                if !value.is_finite() {
                    return Err(NetsError::Diverged(format!("arm {arm} loss is {value} at epoch {epoch}")));
                }
                opt.backward_step(&loss)?;
            }
            if let Some((xv, yv)) = &val {
                let vl = (mlp.forward(xv)?.squeeze(1)? - yv)?.sqr()?.mean_all()?.to_scalar::<f32>()?;
                if best.as_ref().is_none_or(|(b, _)| vl < *b) {
                    best = Some((vl, vars.snapshot()?));
                    since = 0;
                } else {
                    since += 1;
                    if since >= self.patience {
                        break;
                    }
                }
            }
        }
        if let Some((_, snap)) = best {
            vars.restore(&snap)?;
        }
        Ok(mlp)
    }
}

impl Fit for MlpTLearnerParams {
    type Model = MlpTLearner;

    fn fit(&self, data: &CausalData, seed: Seed) -> Result<MlpTLearner> {
        self.validate()?;
        data.require_both_arms("training data")?;
        let x_scaler = Standardizer::fit_skip_binary(data.x().values(), data.p());
        let y_scaler = Standardizer::fit(data.y(), 1);
        let xs = x_scaler.transform(data.x().values());
        let ys = y_scaler.transform(data.y());
        let m0 = self.fit_arm(data, &xs, &ys, 0, seed.stream("arm0"))?;
        let m1 = self.fit_arm(data, &xs, &ys, 1, seed.stream("arm1"))?;
        Ok(MlpTLearner { m0, m1, x_scaler, y_scaler, feature_names: data.feature_names().to_vec() })
    }
}

impl IteModel for MlpTLearner {
    type Error = NetsError;

    fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes> {
        self.check_features(x)?;
        let xs = Tensor::from_vec(self.x_scaler.transform(x.values()), (x.n_rows(), x.n_cols()), &Device::Cpu)?;
        let out = |m: &Mlp| -> Result<Vec<f32>> {
            Ok(m.forward(&xs)?.squeeze(1)?.to_vec1::<f32>()?.into_iter().map(|v| self.y_scaler.inverse_1(v)).collect())
        };
        Ok(PotentialOutcomes::new(out(&self.m0)?, out(&self.m1)?)?)
    }
}

//! The MLP T-learner baseline: one multilayer perceptron per arm, μ̂0 fitted on the controls
//! and μ̂1 on the treated, each with the same seeded training loop (Adam, validation split,
//! early stopping that restores the best weights) as TARNet.

use candle_core::{Device, Tensor};
use candle_nn::Optimizer;
use ite_core::sampling::{fisher_yates, stratified_split};
use ite_core::{CausalData, Covariates, Fit, IteModel, OutcomeType, Params, PotentialOutcomes, Seed};

use crate::error::{NetsError, Result};
use crate::hyperparams::Activation;
use crate::mlp::Mlp;
use crate::optim::{Adam, AdamConfig};
use crate::scaler::Standardizer;
use crate::train::batch::index_tensor;
use crate::train::early_stop::{EarlyStopping, check_finite};
use crate::vars::TarNetVars;

mod persist;

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
/// | `outcome_type` | `Continuous` | `Continuous`: each arm's MLP regresses the standardised outcome (squared error); `Binary`: it outputs a logit trained by the binary cross-entropy, and μ̂0, μ̂1 are probabilities in (0, 1) | `Continuous`, `Binary` (outcomes all 0 or 1) |
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
    /// Continuous (squared error) or binary (logits, binary cross-entropy); settings written
    /// before the field existed read as continuous.
    #[serde(default)]
    pub outcome_type: OutcomeType,
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
            outcome_type: OutcomeType::Continuous,
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
    device: Device,
    outcome_type: OutcomeType,
}

impl MlpTLearner {
    /// The device the model's weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Continuous, or binary (the networks give logits, predictions are probabilities).
    pub fn outcome_type(&self) -> OutcomeType {
        self.outcome_type
    }
}

impl MlpTLearnerParams {
    /// Fits on `device` (the same as [`Fit::fit`] on [`Device::Cpu`]): μ̂0 on the controls with
    /// `seed.stream("arm0")`, μ̂1 on the treated with `seed.stream("arm1")`.
    ///
    /// # Errors
    /// Invalid parameters, data without both arms, a diverged loss, or a device error.
    pub fn fit_on(&self, data: &CausalData, seed: Seed, device: &Device) -> Result<MlpTLearner> {
        self.validate()?;
        data.require_both_arms("training data")?;
        crate::outcome::check_outcomes(self.outcome_type, data.y(), "training data")?;
        let x_scaler = Standardizer::fit_skip_binary(data.x().values(), data.p());
        let y_scaler =
            if self.outcome_type.is_binary() { Standardizer::identity(1) } else { Standardizer::fit(data.y(), 1) };
        let xs = x_scaler.transform(data.x().values());
        let ys = y_scaler.transform(data.y());
        let m0 = self.fit_arm(data, (&xs, &ys), 0, seed.stream("arm0"), device)?;
        let m1 = self.fit_arm(data, (&xs, &ys), 1, seed.stream("arm1"), device)?;
        let feature_names = data.feature_names().to_vec();
        let (device, outcome_type) = (device.clone(), self.outcome_type);
        Ok(MlpTLearner { m0, m1, x_scaler, y_scaler, feature_names, device, outcome_type })
    }

    /// Fits one regressor on the rows of `arm` (standardised `xs`, `ys`), returning it after
    /// restoring its best weights.
    fn fit_arm(&self, data: &CausalData, std: (&[f32], &[f32]), arm: u8, seed: Seed, dev: &Device) -> Result<Mlp> {
        let rows: Vec<usize> = (0..data.n()).filter(|&i| data.t()[i] == arm).collect();
        let zeros = vec![0u8; rows.len()];
        let set = TrainingSet { xs: std.0, ys: std.1, p: data.p(), rows: &rows, strata: &zeros };
        let objective = if self.outcome_type.is_binary() { Objective::Logistic } else { Objective::SquaredError };
        fit_mlp(self, &set, objective, &format!("m{arm}"), seed, dev)
    }
}

/// What a network of [`fit_mlp`] minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Objective {
    /// Mean squared error of the (linear) output against the target.
    SquaredError,
    /// Binary cross-entropy of the output as a logit against a 0/1 target.
    Logistic,
}

impl Objective {
    /// The mean loss of `(n,)` outputs `pred` against `y`.
    fn loss(self, pred: &Tensor, y: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Objective::SquaredError => (pred - y)?.sqr()?.mean_all(),
            // log(1 + e^z) − y·z, written as max(z, 0) + log(1 + e^−|z|) − y·z for stability.
            Objective::Logistic => {
                let softplus = (pred.relu()? + (pred.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
                (softplus - (pred * y)?)?.mean_all()
            }
        }
    }
}

/// The rows a network of [`fit_mlp`] trains on: `rows` of the standardised `n × p` matrix `xs`
/// and targets `ys`; `strata[k]` (one per entry of `rows`) stratifies the validation split.
pub(crate) struct TrainingSet<'a> {
    pub(crate) xs: &'a [f32],
    pub(crate) ys: &'a [f32],
    pub(crate) p: usize,
    pub(crate) rows: &'a [usize],
    pub(crate) strata: &'a [u8],
}

/// Trains an MLP with one output (widths p, `cfg.layers`, 1; variables named `name.*`) on `set`:
/// seeded init (`seed.stream("init")`), stratified validation split (`"split"`), shuffled
/// minibatches (`"batches"`), Adam with L2 on the weight matrices, early stopping that restores
/// the best weights. Shared by the MLP T-learner and the MLP propensity model.
pub(crate) fn fit_mlp(
    cfg: &MlpTLearnerParams,
    set: &TrainingSet<'_>,
    objective: Objective,
    name: &str,
    seed: Seed,
    dev: &Device,
) -> Result<Mlp> {
    let TrainingSet { xs, ys, p, rows, strata } = *set;
    let (tr, va) = stratified_split(strata, cfg.val_fraction, seed.stream("split"));
    let block = |idx: &[usize]| -> Result<(Tensor, Tensor)> {
        let x: Vec<f32> = idx.iter().flat_map(|&k| xs[rows[k] * p..(rows[k] + 1) * p].iter().copied()).collect();
        let y: Vec<f32> = idx.iter().map(|&k| ys[rows[k]]).collect();
        Ok((Tensor::from_vec(x, (idx.len(), p), dev)?, Tensor::from_vec(y, idx.len(), dev)?))
    };
    let (xt, yt) = block(&tr)?;
    let val = if va.is_empty() { None } else { Some(block(&va)?) };
    let mut widths = vec![p];
    widths.extend_from_slice(&cfg.layers);
    widths.push(1);
    let mut rng = seed.stream("init").rng();
    let (mlp, named) = Mlp::new(name, &widths, cfg.activation, false, &mut rng, dev)?;
    let weights: Vec<Tensor> =
        named.iter().filter(|(n, _)| n.ends_with(".weight")).map(|(_, v)| v.as_tensor().clone()).collect();
    let vars = TarNetVars::from_named(named);
    let mut opt = Adam::new(
        vars.iter_sorted().into_iter().map(|(_, v)| v).collect(),
        AdamConfig { lr: cfg.learning_rate, ..AdamConfig::default() },
    )?;
    let mut order: Vec<usize> = (0..tr.len()).collect();
    let mut batch_rng = seed.stream("batches").rng();
    let mut stopping = EarlyStopping::new(cfg.patience);
    let what = if let Some(arm) = name.strip_prefix('m') { format!("arm {arm} loss") } else { format!("{name} loss") };
    for epoch in 0..cfg.max_epochs {
        fisher_yates(&mut order, &mut batch_rng);
        for chunk in order.chunks(cfg.batch_size) {
            let idx = index_tensor(chunk, dev)?;
            let pred = mlp.forward(&xt.index_select(&idx, 0)?)?.squeeze(1)?;
            let mut loss = objective.loss(&pred, &yt.index_select(&idx, 0)?)?;
            if let Some(l2) = crate::loss::l2_penalty(&weights, cfg.l2)? {
                loss = (loss + l2)?;
            }
            check_finite(f64::from(loss.to_scalar::<f32>()?), &what, epoch)?;
            opt.backward_step(&loss)?;
        }
        let val_loss = match &val {
            Some((xv, yv)) => Some(f64::from(objective.loss(&mlp.forward(xv)?.squeeze(1)?, yv)?.to_scalar::<f32>()?)),
            None => None,
        };
        if stopping.observe(epoch, val_loss, &vars)? {
            break;
        }
    }
    stopping.restore_best(&vars)?;
    Ok(mlp)
}

impl Fit for MlpTLearnerParams {
    type Model = MlpTLearner;

    fn fit(&self, data: &CausalData, seed: Seed) -> Result<MlpTLearner> {
        self.fit_on(data, seed, &Device::Cpu)
    }
}

impl IteModel for MlpTLearner {
    type Error = NetsError;

    fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes> {
        self.check_features(x)?;
        let xs = Tensor::from_vec(self.x_scaler.transform(x.values()), (x.n_rows(), x.n_cols()), &self.device)?;
        let binary = self.outcome_type.is_binary();
        let out = |m: &Mlp| -> Result<Vec<f64>> {
            let values = m.forward(&xs)?.squeeze(1)?.to_vec1::<f32>()?.into_iter().map(|v| self.y_scaler.inverse_1(v));
            Ok(if binary { values.map(crate::outcome::sigmoid).collect() } else { values.collect() })
        };
        Ok(PotentialOutcomes::new(out(&self.m0)?, out(&self.m1)?)?)
    }
}

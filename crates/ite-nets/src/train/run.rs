//! The training loop shared by TARNet and CFR: for each epoch, the shuffled minibatches of
//! `batch.rs`, the objective of `objective.rs`, an optionally clipped Adam step, the
//! validation loss, and the early stopping of `early_stop.rs` that restores the best weights.
//! Runs on the network's device.

use candle_core::Var;
use candle_nn::Optimizer;
use ite_core::{CausalData, Seed};

use crate::error::{NetsError, Result};
use crate::history::{EpochRecord, TrainHistory};
use crate::hyperparams::TarNetParams;
use crate::optim::{Adam, AdamConfig};
use crate::scaler::Standardizer;
use crate::tarnet::TarNet;
use crate::train::batch::{Epochs, TrainingRows};
use crate::train::early_stop::{EarlyStopping, check_finite};
use crate::train::objective::{Objective, validation_loss};
use crate::train::options::TrainOptions;
use crate::vars::VarGroup;

/// Trains `net` in place on `data` and returns the history; the network ends with the best
/// validation epoch's weights (or the last epoch's without a validation split).
///
/// Rows are standardised with `x_scaler` / `y_scaler` and split (stratified on t) by
/// `seed.stream("split")`; minibatches are shuffled by `seed.stream("batches")`. Every tensor
/// lives on the network's device.
///
/// # Errors
/// [`NetsError::Settings`] when `options.trainable` selects no variable, `clip_grad_norm`
/// is not a finite number > 0, or `only_extra_loss` is set without an `extra_loss`;
/// [`NetsError::Diverged`] when a training or validation loss is not finite.
pub fn train(
    params: &TarNetParams,
    net: &TarNet,
    data: &CausalData,
    x_scaler: &Standardizer,
    y_scaler: &Standardizer,
    seed: Seed,
    options: &TrainOptions<'_>,
) -> Result<TrainHistory> {
    let mut rows = TrainingRows::new(params, data, (x_scaler, y_scaler), seed, net.device())?;
    let trained = trained_vars(net, options)?;
    if let Some(c) = options.clip_grad_norm
        && !(c.is_finite() && c > 0.0)
    {
        return Err(NetsError::param("clip_grad_norm", c, "a finite number > 0"));
    }
    if !trained.iter().any(|(n, _)| VarGroup::Phi.holds(n)) {
        rows.freeze_representation(net)?;
    }
    let trained: Vec<Var> = trained.into_iter().map(|(_, v)| v).collect();
    let mut opt = Adam::new(trained.clone(), AdamConfig { lr: params.learning_rate, ..AdamConfig::default() })?;
    let objective = Objective::new(params, net, options, &mut opt);
    let mut step = Step { net, objective: &objective, opt: &mut opt, trained: &trained, clip: options.clip_grad_norm };

    let mut epochs = Epochs::new(rows.n_train(), params.batch_size, seed);
    let mut history = TrainHistory::default();
    let mut stopping = EarlyStopping::new(params.patience);
    for epoch in 0..params.max_epochs {
        let train_loss = step.epoch(&mut epochs, &rows, epoch)?;
        let val_loss = rows.val.as_ref().map(|v| validation_loss(params, net, v, rows.val_rep.as_ref())).transpose()?;
        history.epochs.push(EpochRecord { epoch, train_loss, val_loss });
        if stopping.observe(epoch, val_loss, net.vars())? {
            break;
        }
    }
    (history.best_epoch, history.stopped_early) = stopping.restore_best(net.vars())?;
    Ok(history)
}

/// The variables that train, sorted by name: those matching `options.trainable`, or all.
fn trained_vars(net: &TarNet, options: &TrainOptions<'_>) -> Result<Vec<(String, Var)>> {
    let vars = net.vars();
    let trained = match &options.trainable {
        Some(prefixes) => vars.select(prefixes),
        None => vars.iter_sorted(),
    };
    if trained.is_empty() {
        return Err(NetsError::param(
            "trainable",
            format!("{:?}", options.trainable),
            "prefixes matching at least one variable (phi., h0., h1.)",
        ));
    }
    Ok(trained)
}

/// One optimisation step's fixed parts.
struct Step<'s, 'a> {
    net: &'s TarNet,
    objective: &'s Objective<'a>,
    opt: &'s mut Adam,
    trained: &'s [Var],
    clip: Option<f64>,
}

impl Step<'_, '_> {
    /// Runs one epoch of minibatch steps and returns the mean reported loss.
    fn epoch(&mut self, epochs: &mut Epochs, rows: &TrainingRows, epoch: usize) -> Result<f64> {
        let (block, rep) = epochs.next(rows)?;
        let (mut sum, mut batches) = (0.0, 0usize);
        for (start, len) in epochs.minibatches() {
            let b = block.narrow(start, len)?;
            let r = match &rep {
                Some(all) => all.narrow(0, start, len)?,
                None => self.net.representation(&b.x)?,
            };
            let (total, value) = self.objective.minibatch(self.net, &b, &r, epoch)?;
            check_finite(value, "loss", epoch)?;
            sum += value;
            batches += 1;
            let mut grads = total.backward()?;
            if let Some(max_norm) = self.clip {
                clip_gradients(&mut grads, self.trained, max_norm)?;
            }
            self.opt.step(&grads)?;
        }
        Ok(sum / batches.max(1) as f64)
    }
}

/// Scales the gradients of `vars` so that their global Euclidean norm is at most `max_norm`.
pub fn clip_gradients(
    grads: &mut candle_core::backprop::GradStore,
    vars: &[Var],
    max_norm: f64,
) -> candle_core::Result<()> {
    let mut sq = 0.0f64;
    for v in vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            sq += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
        }
    }
    let norm = sq.sqrt();
    if norm > max_norm {
        let scale = max_norm / norm;
        for v in vars {
            if let Some(g) = grads.remove(v.as_tensor()) {
                grads.insert(v.as_tensor(), (g * scale)?);
            }
        }
    }
    Ok(())
}

//! The training loop shared by TARNet and CFR: seeded stratified validation split, shuffled
//! minibatches covering every row each epoch, Adam, optional IPM, L2 and extra loss terms,
//! variable selection by name prefix, and early stopping that restores the best weights.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use candle_nn::Optimizer;
use ite_core::{CausalData, IteRng, Seed};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::error::{NetsError, Result};
use crate::hyperparams::TarNetParams;
use crate::ipm;
use crate::loss;
use crate::optim::{Adam, AdamConfig};
use crate::scaler::Standardizer;
use crate::tarnet::TarNet;
use crate::vars::TarNetVars;

/// What an extra loss term sees at each training step.
#[derive(Debug)]
pub struct LossContext<'a> {
    /// The network being trained.
    pub net: &'a TarNet,
    /// Its variables (for penalties such as L2-SP).
    pub vars: &'a TarNetVars,
    /// The standardised covariates of the minibatch (`b × p`).
    pub x: &'a Tensor,
    /// The minibatch's treatment.
    pub t: &'a [u8],
    /// The minibatch's representation Φ(x) (`b × rep_dim`), part of the graph.
    pub phi: &'a Tensor,
    /// Epoch number (0-based).
    pub epoch: usize,
}

/// An extra loss term added to the training objective at every step.
pub type ExtraLoss<'a> = dyn Fn(&LossContext<'_>) -> candle_core::Result<Tensor> + 'a;

/// Options of a training run beyond the hyperparameters: which variables train and which
/// extra loss terms are added. `Default` trains everything on the TARNet/CFR objective.
#[derive(Default)]
pub struct TrainOptions<'a> {
    /// Name prefixes of the variables that train (e.g. `["h0.", "h1."]` to freeze Φ);
    /// `None` trains all.
    pub trainable: Option<Vec<String>>,
    /// A term added to the loss at every step (e.g. an L2-SP penalty toward source weights).
    pub extra_loss: Option<&'a ExtraLoss<'a>>,
    /// Drop the factual loss (and the L2 and IPM terms) from the objective, leaving only
    /// `extra_loss` (used by alignment phases). Early stopping still watches the factual loss.
    pub only_extra_loss: bool,
    /// Rescale the gradient of the trained variables to at most this global Euclidean norm
    /// before each Adam step (`None`: no clipping).
    pub clip_grad_norm: Option<f64>,
}

impl std::fmt::Debug for TrainOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainOptions")
            .field("trainable", &self.trainable)
            .field("extra_loss", &self.extra_loss.is_some())
            .field("only_extra_loss", &self.only_extra_loss)
            .field("clip_grad_norm", &self.clip_grad_norm)
            .finish()
    }
}

/// One epoch's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number (0-based).
    pub epoch: usize,
    /// Mean training objective over the epoch's minibatches.
    pub train_loss: f64,
    /// Factual loss on the validation rows (`None` without a validation split).
    pub val_loss: Option<f64>,
}

/// What happened during training.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainHistory {
    /// One record per epoch run.
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose weights the model holds (the best validation epoch, or the last).
    pub best_epoch: usize,
    /// Whether training stopped before `max_epochs`.
    pub stopped_early: bool,
}

/// Uniform integer in `0..=hi` then Fisher–Yates, written out so that the order depends only
/// on the generator.
pub(crate) fn shuffle(v: &mut [usize], rng: &mut IteRng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// Splits row indices into (training, validation), stratified on `t`; each arm gives
/// `round(fraction · n_arm)` rows to validation but keeps at least one for training.
pub fn stratified_split(t: &[u8], fraction: f64, seed: Seed) -> (Vec<usize>, Vec<usize>) {
    let mut rng = seed.rng();
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for arm in [0u8, 1] {
        let mut idx: Vec<usize> = (0..t.len()).filter(|&i| t[i] == arm).collect();
        shuffle(&mut idx, &mut rng);
        let n_val = ((fraction * idx.len() as f64).round() as usize).min(idx.len().saturating_sub(1));
        val.extend_from_slice(&idx[..n_val]);
        train.extend_from_slice(&idx[n_val..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    (train, val)
}

/// Tensors of a subset of rows.
#[derive(Clone)]
struct Block {
    x: Tensor,
    y: Tensor,
    t: Tensor,
    w: Tensor,
    t_host: Vec<u8>,
}

impl Block {
    fn new(rows: &[usize], xs: &[f32], p: usize, ys: &[f32], t: &[u8], w: &[f32]) -> Result<Self> {
        let dev = Device::Cpu;
        let n = rows.len();
        let x: Vec<f32> = rows.iter().flat_map(|&i| xs[i * p..(i + 1) * p].iter().copied()).collect();
        let t_host: Vec<u8> = rows.iter().map(|&i| t[i]).collect();
        Ok(Block {
            x: Tensor::from_vec(x, (n, p), &dev)?,
            y: Tensor::from_vec(rows.iter().map(|&i| ys[i]).collect::<Vec<_>>(), n, &dev)?,
            t: Tensor::from_vec(t_host.iter().map(|&v| f32::from(v)).collect::<Vec<_>>(), n, &dev)?,
            w: Tensor::from_vec(rows.iter().map(|&i| w[i]).collect::<Vec<_>>(), n, &dev)?,
            t_host,
        })
    }

    /// The rows `idx` (in that order) and, when given, the same rows of `rep` (a precomputed
    /// representation of this block).
    fn rows_with(&self, idx: &[usize], rep: Option<&Tensor>) -> Result<(Block, Option<Tensor>)> {
        let it = Tensor::from_vec(idx.iter().map(|&i| i as u32).collect::<Vec<_>>(), idx.len(), &Device::Cpu)?;
        let block = Block {
            x: self.x.index_select(&it, 0)?,
            y: self.y.index_select(&it, 0)?,
            t: self.t.index_select(&it, 0)?,
            w: self.w.index_select(&it, 0)?,
            t_host: idx.iter().map(|&i| self.t_host[i]).collect(),
        };
        Ok((block, rep.map(|r| r.index_select(&it, 0)).transpose()?))
    }

    /// Rows `start..start + len` as views (no copy).
    fn narrow(&self, start: usize, len: usize) -> Result<Block> {
        Ok(Block {
            x: self.x.narrow(0, start, len)?,
            y: self.y.narrow(0, start, len)?,
            t: self.t.narrow(0, start, len)?,
            w: self.w.narrow(0, start, len)?,
            t_host: self.t_host[start..start + len].to_vec(),
        })
    }
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(f64::from(t.to_scalar::<f32>()?))
}

/// The IPM between the control and treated rows of `r` (None when an arm is absent).
fn ipm_term(params: &TarNetParams, r: &Tensor, t: &[u8]) -> Result<Option<Tensor>> {
    let pick = |arm: u8| -> Vec<u32> { (0..t.len()).filter(|&i| t[i] == arm).map(|i| i as u32).collect() };
    let (c, tr) = (pick(0), pick(1));
    if c.is_empty() || tr.is_empty() {
        return Ok(None);
    }
    let ci = Tensor::from_vec(c.clone(), c.len(), &Device::Cpu)?;
    let ti = Tensor::from_vec(tr.clone(), tr.len(), &Device::Cpu)?;
    let v = ipm::ipm(&params.ipm, &r.index_select(&ci, 0)?, &r.index_select(&ti, 0)?)?;
    Ok(Some((v * params.alpha)?))
}

/// Trains `net` in place on `data` and returns the history; the network ends with the best
/// validation epoch's weights (or the last epoch's without a validation split).
pub fn train(
    params: &TarNetParams,
    net: &TarNet,
    data: &CausalData,
    x_scaler: &Standardizer,
    y_scaler: &Standardizer,
    seed: Seed,
    options: &TrainOptions<'_>,
) -> Result<TrainHistory> {
    let p = data.p();
    let xs = x_scaler.transform(data.x().values());
    let ys = y_scaler.transform(data.y());
    let (train_rows, val_rows) = stratified_split(data.t(), params.val_fraction, seed.stream("split"));
    let t_train: Vec<u8> = train_rows.iter().map(|&i| data.t()[i]).collect();
    // Weights use the training rows' treated share, for training and validation rows alike.
    let u_w = loss::sample_weights(&t_train, params.reweight);
    let (w1, w0) = weights_by_arm(&t_train, &u_w);
    let w_all: Vec<f32> = data.t().iter().map(|&v| if v == 1 { w1 } else { w0 }).collect();
    let train_block = Block::new(&train_rows, &xs, p, &ys, data.t(), &w_all)?;
    let val_block =
        if val_rows.is_empty() { None } else { Some(Block::new(&val_rows, &xs, p, &ys, data.t(), &w_all)?) };

    let vars = net.vars();
    let trainable: Vec<(String, candle_core::Var)> = match &options.trainable {
        Some(prefixes) => vars.select(prefixes),
        None => vars.iter_sorted(),
    };
    if trainable.is_empty() {
        return Err(NetsError::param(
            "trainable",
            format!("{:?}", options.trainable),
            "prefixes matching at least one variable (phi., h0., h1.)",
        ));
    }
    let head_weight_vars: Vec<candle_core::Var> = vars
        .iter_sorted()
        .into_iter()
        .filter(|(n, _)| (n.starts_with("h0.") || n.starts_with("h1.")) && n.ends_with(".weight"))
        .map(|(_, v)| v)
        .collect();
    let head_weights: Vec<Tensor> = head_weight_vars.iter().map(|v| v.as_tensor().clone()).collect();
    if let Some(c) = options.clip_grad_norm
        && !(c.is_finite() && c > 0.0)
    {
        return Err(NetsError::param("clip_grad_norm", c, "a finite number > 0"));
    }
    // With Φ frozen, Φ(x) of every row is computed once, outside the graph, instead of at
    // every step (and no gradient flows back through Φ's layers).
    let phi_frozen = !trainable.iter().any(|(n, _)| n.starts_with("phi."));
    let frozen_rep = |block: &Block| -> Result<Option<Tensor>> {
        Ok(if phi_frozen { Some(net.representation(&block.x)?.detach()) } else { None })
    };
    let (train_rep, val_rep) = (frozen_rep(&train_block)?, val_block.as_ref().map(frozen_rep).transpose()?.flatten());
    let trained: Vec<candle_core::Var> = trainable.into_iter().map(|(_, v)| v).collect();
    let mut opt = Adam::new(trained.clone(), AdamConfig { lr: params.learning_rate, ..AdamConfig::default() })?;
    // The heads' L2 term: its gradient is added by the fused update (no graph nodes per step)
    // and its value to the reported loss; in the graph when the update is not fused or the
    // gradient is clipped (clipping must see the whole gradient).
    let l2_on = params.l2_heads > 0.0 && !options.only_extra_loss;
    let l2_in_update = l2_on && opt.is_fused() && options.clip_grad_norm.is_none();
    if l2_in_update {
        for v in &head_weight_vars {
            // False for a frozen head weight: its term is then a constant of the loss.
            opt.add_l2(v, params.l2_heads);
        }
    }

    let mut rng = seed.stream("batches").rng();
    let n_train = train_rows.len();
    let mut order: Vec<usize> = (0..n_train).collect();
    let mut history = TrainHistory::default();
    let mut best: Option<(f64, BTreeMap<String, Tensor>)> = None;
    let mut since_best = 0usize;

    // When every training row fits in one minibatch, each step uses the whole block as it is
    // (no shuffle, no gather). Otherwise the rows are gathered once per epoch in shuffled order
    // and each minibatch is a view of consecutive rows of that copy.
    let full_batch = n_train <= params.batch_size;
    for epoch in 0..params.max_epochs {
        let (epoch_block, epoch_rep) = if full_batch {
            (train_block.clone(), train_rep.clone())
        } else {
            shuffle(&mut order, &mut rng);
            train_block.rows_with(&order, train_rep.as_ref())?
        };
        let (mut sum, mut batches) = (0.0, 0usize);
        for start in (0..n_train).step_by(params.batch_size) {
            let len = params.batch_size.min(n_train - start);
            // With one full batch the view is the whole block (candle's `narrow` of every row
            // is the tensor itself).
            let b = epoch_block.narrow(start, len)?;
            let r = match &epoch_rep {
                Some(all) => all.narrow(0, start, len)?,
                None => net.representation(&b.x)?,
            };
            let mut total: Option<Tensor> = None;
            let mut add = |term: Tensor| -> Result<()> {
                total = Some(match total.take() {
                    None => term,
                    Some(acc) => (acc + term)?,
                });
                Ok(())
            };
            if !options.only_extra_loss {
                let (h0, h1) = net.heads(&r)?;
                add(loss::factual_mse(&h0, &h1, &b.t, &b.y, &b.w)?)?;
                if l2_on
                    && !l2_in_update
                    && let Some(l2) = loss::l2_penalty(&head_weights, params.l2_heads)?
                {
                    add(l2)?;
                }
                if params.alpha > 0.0
                    && let Some(term) = ipm_term(params, &r, &b.t_host)?
                {
                    add(term)?;
                }
            }
            if let Some(extra) = options.extra_loss {
                let ctx = LossContext { net, vars, x: &b.x, t: &b.t_host, phi: &r, epoch };
                add(extra(&ctx)?)?;
            }
            let Some(total) = total else {
                return Err(NetsError::param("only_extra_loss", true, "an extra_loss when the factual loss is off"));
            };
            let mut value = scalar(&total)?;
            if l2_in_update {
                value += loss::l2_value(&head_weights, params.l2_heads)?;
            }
            if !value.is_finite() {
                return Err(NetsError::Diverged(format!("loss is {value} at epoch {epoch}")));
            }
            sum += value;
            batches += 1;
            let mut grads = total.backward()?;
            if let Some(max_norm) = options.clip_grad_norm {
                clip_gradients(&mut grads, &trained, max_norm)?;
            }
            opt.step(&grads)?;
        }
        let val_loss = match &val_block {
            Some(v) => {
                let r = match &val_rep {
                    Some(r) => r.clone(),
                    None => net.representation(&v.x)?,
                };
                let (h0, h1) = net.heads(&r)?;
                Some(scalar(&loss::factual_mse(&h0, &h1, &v.t, &v.y, &v.w)?)?)
            }
            None => None,
        };
        history.epochs.push(EpochRecord { epoch, train_loss: sum / batches.max(1) as f64, val_loss });
        if let Some(vl) = val_loss {
            if !vl.is_finite() {
                return Err(NetsError::Diverged(format!("validation loss is {vl} at epoch {epoch}")));
            }
            if best.as_ref().is_none_or(|(b, _)| vl < *b) {
                best = Some((vl, vars.snapshot()?));
                history.best_epoch = epoch;
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= params.patience {
                    history.stopped_early = true;
                    break;
                }
            }
        } else {
            history.best_epoch = epoch;
        }
    }
    if let Some((_, snapshot)) = best {
        vars.restore(&snapshot)?;
    }
    Ok(history)
}

/// Scales the gradients of `vars` so that their global Euclidean norm is at most `max_norm`.
pub fn clip_gradients(
    grads: &mut candle_core::backprop::GradStore,
    vars: &[candle_core::Var],
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

/// The (treated, control) weights from per-row weights.
fn weights_by_arm(t: &[u8], w: &[f32]) -> (f32, f32) {
    let pick = |arm: u8| t.iter().zip(w).find(|(v, _)| **v == arm).map(|(_, w)| *w).unwrap_or(1.0);
    (pick(1), pick(0))
}

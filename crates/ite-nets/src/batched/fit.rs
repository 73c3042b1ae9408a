//! The batched training loop of one pack: every lane's epochs in lockstep (a lane whose epoch
//! has fewer minibatches sits out the rest of it), per-lane Adam step counts, validation loss,
//! early stopping that freezes a stopped lane and keeps its best weights, and the fitted models.

use ite_core::{CausalData, IteModel, Seed};

use crate::batched::pack::{HostWeights, PackNet, host_weights};
use crate::batched::rows::TaskRows;
use crate::batched::step::{Scratch, Tile, Trained, factual_sums, loss_and_gradients};
use crate::batched::{BatchOptions, BatchTask};
use crate::error::{NetsError, Result};
use crate::history::{EpochRecord, TrainHistory};
use crate::hyperparams::TarNetParams;
use crate::kernels::lanes::{AdamLanes, LANES, Lanes};
use crate::optim::AdamConfig;
use crate::scaler::Standardizer;
use crate::tarnet::{FittedTarNet, TarNet};
use crate::vars::VarGroup;

/// One lane's early-stopping state (the rule of `train/early_stop.rs`).
#[derive(Debug, Clone, Default)]
struct LaneState {
    running: bool,
    adam_t: i32,
    best: Option<f64>,
    since_best: usize,
    best_epoch: usize,
    stopped_early: bool,
    history: Vec<EpochRecord>,
}

/// What a lane starts from: its rows, scalers, initial weights and seed.
struct LaneStart {
    scalers: (Standardizer, Standardizer),
    weights: HostWeights,
    seed: Seed,
    feature_names: Vec<String>,
}

fn lane_start(params: &TarNetParams, task: &BatchTask<'_>) -> Result<(LaneStart, TaskRows)> {
    let data: &CausalData = task.data;
    data.require_both_arms("training data")?;
    let (scalers, weights) = match task.prior {
        Some(prior) => {
            prior.check_features(data.x())?;
            ((prior.x_scaler.clone(), prior.y_scaler.clone()), host_weights(&prior.vars().snapshot()?)?)
        }
        None => {
            let net = TarNet::new(params, data.p(), task.seed)?;
            (params.fit_scalers(data), host_weights(&net.vars().snapshot()?)?)
        }
    };
    let rows = TaskRows::new(params, data, (&scalers.0, &scalers.1), task.seed);
    Ok((LaneStart { scalers, weights, seed: task.seed, feature_names: data.feature_names().to_vec() }, rows))
}

/// Trains the (at most [`LANES`]) networks of `tasks`, which share a covariate count, as one
/// pack; `ids` are their indices in the caller's list (for error messages).
pub(crate) fn train_pack(
    params: &TarNetParams,
    tasks: &[&BatchTask<'_>],
    options: &BatchOptions,
    ids: &[usize],
) -> Result<Vec<FittedTarNet>> {
    let (starts, mut rows): (Vec<LaneStart>, Vec<TaskRows>) =
        tasks.iter().map(|t| lane_start(params, t)).collect::<Result<Vec<_>>>()?.into_iter().unzip();
    let Some(p) = rows.first().map(|r| r.p) else { return Ok(Vec::new()) };
    let cap = params.batch_size.max(1);
    let mut net = PackNet::new(params, p, cap);
    for k in 0..LANES {
        net.set_lane(k, &starts[k.min(starts.len() - 1)].weights)?;
    }
    let trained = trained_groups(options);
    let mut states: Vec<LaneState> =
        (0..LANES).map(|k| LaneState { running: k < starts.len(), ..LaneState::default() }).collect();
    let has_val = rows.iter().any(|r| !r.val.is_empty());
    let mut best = has_val.then(|| net.weights_only(params, p));
    let mut run = Run {
        params,
        trained,
        tile: Tile::new(cap, p),
        scratch: Scratch::new(cap, params.rep_dim()),
        rows_of: std::array::from_fn(|_| Vec::with_capacity(cap)),
    };
    for epoch in 0..params.max_epochs {
        if !states.iter().any(|s| s.running) {
            break;
        }
        for (k, r) in rows.iter_mut().enumerate() {
            if states[k].running {
                r.shuffle();
            }
        }
        let train_loss = run.epoch(&mut net, &rows, &mut states, epoch, ids)?;
        let val_loss = if has_val { Some(run.validation(&mut net, &rows, &states)) } else { None };
        for k in 0..starts.len() {
            if !states[k].running {
                continue;
            }
            // A network without validation rows keeps its last epoch, as when trained alone.
            let vl = val_loss.filter(|_| !rows[k].val.is_empty()).map(|v| v[k]);
            states[k].history.push(EpochRecord { epoch, train_loss: train_loss[k], val_loss: vl });
            observe(&mut states[k], epoch, vl, params.patience, ids[k])?;
            if let (Some(b), Some(v)) = (best.as_mut(), vl)
                && states[k].best_epoch == epoch
                && states[k].best == Some(v)
            {
                net.copy_lane_to(k, b);
            }
        }
    }
    let has_own_val: Vec<bool> = rows.iter().map(|r| !r.val.is_empty()).collect();
    starts
        .into_iter()
        .enumerate()
        .map(|(k, s)| {
            let tnet = TarNet::new(params, p, s.seed)?;
            let kept = match &best {
                Some(b) if has_own_val[k] => b,
                _ => &net,
            };
            tnet.vars().restore(&kept.lane_tensors(k)?)?;
            let state = &states[k];
            Ok(FittedTarNet {
                params: params.clone(),
                net: tnet,
                x_scaler: s.scalers.0,
                y_scaler: s.scalers.1,
                feature_names: s.feature_names,
                history: TrainHistory {
                    epochs: state.history.clone(),
                    best_epoch: state.best_epoch,
                    stopped_early: state.stopped_early,
                },
            })
        })
        .collect()
}

fn trained_groups(options: &BatchOptions) -> Trained {
    let on = |g: VarGroup| options.trainable.as_ref().is_none_or(|gs| gs.contains(&g));
    Trained { phi: on(VarGroup::Phi), h0: on(VarGroup::H0), h1: on(VarGroup::H1) }
}

/// Early stopping for one lane after an epoch (see `train/early_stop.rs`).
fn observe(s: &mut LaneState, epoch: usize, val_loss: Option<f64>, patience: usize, task: usize) -> Result<()> {
    let Some(vl) = val_loss else {
        s.best_epoch = epoch;
        return Ok(());
    };
    if !vl.is_finite() {
        return Err(NetsError::Diverged(format!("network {task}: validation loss is {vl} at epoch {epoch}")));
    }
    if s.best.is_none_or(|b| vl < b) {
        s.best = Some(vl);
        s.best_epoch = epoch;
        s.since_best = 0;
    } else {
        s.since_best += 1;
        if s.since_best >= patience {
            s.stopped_early = true;
            s.running = false;
        }
    }
    Ok(())
}

/// The fixed parts of a pack's run and its buffers.
struct Run<'a> {
    params: &'a TarNetParams,
    trained: Trained,
    tile: Tile,
    scratch: Scratch,
    /// Each lane's rows of the current minibatch (kept to reuse their buffers).
    rows_of: [Vec<usize>; LANES],
}

impl Run<'_> {
    /// One epoch of minibatch steps; returns each lane's mean reported loss.
    fn epoch(
        &mut self,
        net: &mut PackNet,
        rows: &[TaskRows],
        states: &mut [LaneState],
        epoch: usize,
        ids: &[usize],
    ) -> Result<[f64; LANES]> {
        let steps = rows.iter().zip(states.iter()).filter(|(_, s)| s.running).map(|(r, _)| r.n_batches()).max();
        let mut sums = [0f64; LANES];
        let mut counts = [0usize; LANES];
        let adam = AdamConfig { lr: self.params.learning_rate, ..AdamConfig::default() };
        let l2 = self.params.l2_heads > 0.0;
        let l2x2 = 2.0 * self.params.l2_heads as f32;
        for s in 0..steps.unwrap_or(0) {
            let rows_of = &mut self.rows_of;
            for (k, into) in rows_of.iter_mut().enumerate() {
                match rows.get(k) {
                    Some(r) if states[k].running && s < r.n_batches() => r.minibatch_by_arm(s, into),
                    _ => into.clear(),
                }
            }
            let shuffled: [&TaskRows; LANES] = std::array::from_fn(|k| rows.get(k).unwrap_or(&rows[0]));
            self.tile.fill(&shuffled, rows_of);
            let sq = if l2 {
                let (a, b) = (net.h0.weight_sq_norms(), net.h1.weight_sq_norms());
                std::array::from_fn(|k| self.params.l2_heads * (a[k] + b[k]))
            } else {
                [0f64; LANES]
            };
            let loss = loss_and_gradients(net, &self.tile, self.params.alpha as f32, self.trained, &mut self.scratch);
            let mut k_adam = AdamLanes {
                beta1: adam.beta1 as f32,
                beta2: adam.beta2 as f32,
                eps: adam.eps as f32,
                l2x2: 0.0,
                step: [0.0; LANES],
                scale_v: [1.0; LANES],
                active: [0.0; LANES],
            };
            for k in 0..LANES {
                if self.rows_of[k].is_empty() {
                    continue;
                }
                let value = f64::from(loss.factual[k] + loss.ipm[k]) + sq[k];
                if !value.is_finite() {
                    return Err(NetsError::Diverged(format!(
                        "network {}: loss is {value} at epoch {epoch}",
                        ids.get(k).copied().unwrap_or(k)
                    )));
                }
                sums[k] += value;
                counts[k] += 1;
                states[k].adam_t += 1;
                let t = states[k].adam_t;
                k_adam.step[k] = (adam.lr / (1.0 - adam.beta1.powi(t))) as f32;
                k_adam.scale_v[k] = (1.0 / (1.0 - adam.beta2.powi(t))) as f32;
                k_adam.active[k] = 1.0;
            }
            if self.trained.phi {
                net.phi.adam(&k_adam, 0.0);
            }
            let head_l2 = if l2 { l2x2 } else { 0.0 };
            if self.trained.h0 {
                net.h0.adam(&k_adam, head_l2);
            }
            if self.trained.h1 {
                net.h1.adam(&k_adam, head_l2);
            }
        }
        Ok(std::array::from_fn(|k| sums[k] / counts[k].max(1) as f64))
    }

    /// Each lane's weighted factual loss on its validation rows, in chunks of the minibatch size.
    fn validation(&mut self, net: &mut PackNet, rows: &[TaskRows], states: &[LaneState]) -> [f64; LANES] {
        let cap = self.params.batch_size.max(1);
        let n_val: [usize; LANES] = std::array::from_fn(|k| rows.get(k).map_or(0, |r| r.val.len()));
        let chunks = n_val.iter().max().copied().unwrap_or(0).div_ceil(cap);
        let shuffled: [&TaskRows; LANES] = std::array::from_fn(|k| rows.get(k).unwrap_or(&rows[0]));
        let mut sums: Lanes = [0.0; LANES];
        for c in 0..chunks {
            let rows_of: [Vec<usize>; LANES] = std::array::from_fn(|k| match rows.get(k) {
                Some(r) if states[k].running => r.val.iter().skip(c * cap).take(cap).copied().collect(),
                _ => Vec::new(),
            });
            self.tile.fill(&shuffled, &rows_of);
            let s = factual_sums(net, &self.tile);
            for k in 0..LANES {
                sums[k] += s[k];
            }
        }
        std::array::from_fn(|k| f64::from(sums[k] / n_val[k].max(1) as f32))
    }
}

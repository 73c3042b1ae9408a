//! Training throughput: the two reference networks and the loop that `ite bench train` and the
//! criterion benches time, so that both (and `benches/reference/tarnet_pytorch.py`) measure the
//! same thing. Behind the `bench` cargo feature (off by default).
//!
//! A measured step is one optimizer step of the real training loop ([`TarNetParams`]'s fit with
//! no validation split): gather a shuffled minibatch, forward Φ and both heads, factual loss
//! (+ L2 on the heads), backward, Adam, read the loss. The sample has 50 minibatches, so every
//! 50 steps is one epoch.

use std::time::Instant;

use candle_core::Device;
use ite_core::{CausalData, Covariates, Seed};
use rand::RngExt;

use crate::batched::{BatchOptions, BatchTask};
use crate::error::{NetsError, Result};
use crate::hyperparams::TarNetParams;

/// Minibatches per epoch of the synthetic benchmark sample.
pub const BATCHES_PER_EPOCH: usize = 50;

/// A benchmark network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchNet {
    /// The study's network, [`TarNetParams::study_small`]: 5 covariates → 20 → 20 → 20
    /// (ReLU), heads 20 → 10 → 10 → 1, batch 32, no L2.
    Paper,
    /// The TARNet paper's IHDP network, [`TarNetParams::ihdp`]: 25 covariates → 200 → 200 → 200
    /// (ELU), heads 200 → 100 → 100 → 100 → 1, batch 100, L2 10⁻⁴ on the head weights.
    Ihdp,
}

impl BenchNet {
    /// Every benchmark network, for listings.
    pub const ALL: [BenchNet; 2] = [BenchNet::Paper, BenchNet::Ihdp];

    /// The name used on the command line (`paper`, `ihdp`).
    pub fn name(self) -> &'static str {
        match self {
            BenchNet::Paper => "paper",
            BenchNet::Ihdp => "ihdp",
        }
    }

    /// The network called `name`.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|n| n.name() == name)
            .ok_or_else(|| NetsError::param("net", name, "one of: paper, ihdp"))
    }

    /// Number of covariates.
    pub fn n_covariates(self) -> usize {
        match self {
            BenchNet::Paper => 5,
            BenchNet::Ihdp => 25,
        }
    }

    /// The network's hyperparameters (its [`TarNetParams`] preset) with batch size `batch`, no
    /// validation split, no IPM term (α = 0) and no early stopping.
    pub fn params(self, batch: usize) -> TarNetParams {
        let base = match self {
            BenchNet::Paper => TarNetParams::study_small(),
            BenchNet::Ihdp => TarNetParams::ihdp(),
        };
        TarNetParams { batch_size: batch, val_fraction: 0.0, alpha: 0.0, ..base }
    }

    /// Minibatch size of the reference measurements (32 and 100).
    pub fn default_batch(self) -> usize {
        match self {
            BenchNet::Paper => 32,
            BenchNet::Ihdp => 100,
        }
    }
}

/// A seeded synthetic sample of `n` units for `net`: x uniform on (−1.7, 1.7) (variance ≈ 1),
/// t ~ Bernoulli(½), y = 0.3·Σx + t·(1 + 0.05·Σx) + uniform noise.
pub fn sample(net: BenchNet, n: usize, seed: Seed) -> Result<CausalData> {
    let p = net.n_covariates();
    let mut rng = seed.stream("bench-sample").rng();
    let mut x = Vec::with_capacity(n * p);
    let (mut t, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let row: Vec<f32> = (0..p).map(|_| (rng.random::<f32>() * 2.0 - 1.0) * 1.7).collect();
        let s: f32 = row.iter().sum();
        // Alternate arms so that every minibatch has both.
        let ti = (i % 2) as u8;
        y.push(0.3 * s + f32::from(ti) * (1.0 + 0.05 * s) + (rng.random::<f32>() - 0.5) * 2.0);
        t.push(ti);
        x.extend(row);
    }
    let names = (1..=p).map(|j| format!("x{j}")).collect();
    let widen = |v: Vec<f32>| v.into_iter().map(f64::from).collect();
    Ok(CausalData::new(Covariates::new(widen(x), names)?, t, widen(y))?)
}

/// Runs at least `steps` training steps of `net` at minibatch size `batch` on `data` (whole
/// epochs; [`sample`]`(net, batch × BATCHES_PER_EPOCH, …)` gives [`BATCHES_PER_EPOCH`] steps
/// per epoch) and returns the number run. Includes the network's initialisation, which is
/// negligible against a few hundred steps.
pub fn train_steps(net: BenchNet, data: &CausalData, batch: usize, steps: usize, seed: Seed) -> Result<usize> {
    train_steps_on(net, data, batch, steps, seed, &Device::Cpu)
}

/// `(epochs, steps per epoch)` that run at least `steps` steps of `net` at minibatch size
/// `batch` on `data` (checked: `batch ≥ 1`, the network's covariate count).
fn epochs_for(net: BenchNet, data: &CausalData, batch: usize, steps: usize) -> Result<(usize, usize)> {
    if batch == 0 {
        return Err(NetsError::param("batch", batch, "at least 1"));
    }
    if data.p() != net.n_covariates() {
        return Err(NetsError::param(
            "data",
            data.p(),
            format!("{} covariates for the {} network", net.n_covariates(), net.name()),
        ));
    }
    let per_epoch = data.n().div_ceil(batch);
    Ok((steps.div_ceil(per_epoch).max(1), per_epoch))
}

/// [`train_steps`] on `device`.
pub fn train_steps_on(
    net: BenchNet,
    data: &CausalData,
    batch: usize,
    steps: usize,
    seed: Seed,
    device: &Device,
) -> Result<usize> {
    let (epochs, per_epoch) = epochs_for(net, data, batch, steps)?;
    net.params(batch).with_max_epochs(epochs).fit_on(data, seed, device)?;
    Ok(epochs * per_epoch)
}

/// [`train_steps`] for `models` networks of `net` trained together by the batched trainer
/// ([`TarNetParams::fit_many`]), each on `data` with its own seed (`seed.index(m)`): returns the
/// steps run by each network.
pub fn train_steps_batched(
    net: BenchNet,
    data: &CausalData,
    batch: usize,
    steps: usize,
    seed: Seed,
    models: usize,
) -> Result<usize> {
    if models == 0 {
        return Err(NetsError::param("models", 0, "at least 1"));
    }
    let (epochs, per_epoch) = epochs_for(net, data, batch, steps)?;
    let tasks: Vec<BatchTask<'_>> =
        (0..models).map(|m| BatchTask { data, seed: seed.index(m as u64), prior: None }).collect();
    net.params(batch).with_max_epochs(epochs).fit_many(&tasks, &BatchOptions::default())?;
    Ok(epochs * per_epoch)
}

/// The layer widths of `net`'s Φ and one head (input first), for the roofline.
fn layer_widths(net: BenchNet) -> (Vec<usize>, Vec<usize>) {
    let params = net.params(net.default_batch());
    let mut phi = vec![net.n_covariates()];
    phi.extend_from_slice(&params.phi_layers);
    let mut head = vec![params.rep_dim()];
    head.extend_from_slice(&params.head_layers);
    head.push(1);
    (phi, head)
}

/// The matmul roofline of a training step: steps per second if a step did nothing but its
/// matrix products (Φ and both heads, forward and backward, with the same single-threaded
/// kernel as training), measured over `reps` repetitions; with the FLOPs per step.
pub fn matmul_roofline(net: BenchNet, batch: usize, reps: usize) -> Result<(f64, f64)> {
    let (phi, head) = layer_widths(net);
    let step = || -> Result<f64> {
        Ok(crate::kernels::dense::step_matmuls(batch, &phi, false)?
            + 2.0 * crate::kernels::dense::step_matmuls(batch, &head, true)?)
    };
    let flops = step()?;
    let start = Instant::now();
    for _ in 0..reps.max(1) {
        step()?;
    }
    Ok((reps.max(1) as f64 / start.elapsed().as_secs_f64(), flops))
}

/// One throughput measurement, as `ite bench train` prints it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BenchReport {
    /// Network name.
    pub net: &'static str,
    /// Minibatch size.
    pub batch: usize,
    /// Steps timed.
    pub steps: usize,
    /// Steps per second (of each network, when several train together).
    pub steps_per_sec: f64,
    /// `single` (the candle trainer of [`ite_core::Fit::fit`], one network) or `batched`
    /// ([`TarNetParams::fit_many`]).
    pub trainer: &'static str,
    /// Networks trained together (1 for the single trainer).
    pub models: usize,
    /// Network-steps per second: `steps_per_sec × models`.
    pub model_steps_per_sec: f64,
    /// Threads available to candle's kernels (RAYON_NUM_THREADS).
    pub threads: usize,
    /// With `--roofline`: steps per second of the step's matrix products alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matmul_roofline_steps_per_sec: Option<f64>,
    /// With `--roofline`: `steps_per_sec / matmul_roofline_steps_per_sec`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roofline_fraction: Option<f64>,
}

/// Times `steps` training steps after a warm-up of `warmup` steps (both rounded up to whole
/// epochs). Set `RAYON_NUM_THREADS` before calling to fix the thread count.
pub fn measure(net: BenchNet, batch: usize, steps: usize, warmup: usize) -> Result<BenchReport> {
    measure_on(net, batch, steps, warmup, &Device::Cpu)
}

/// [`measure`] on `device`.
pub fn measure_on(net: BenchNet, batch: usize, steps: usize, warmup: usize, device: &Device) -> Result<BenchReport> {
    timed(net, batch, (steps, warmup), ("single", 1), |data, n, seed| train_steps_on(net, data, batch, n, seed, device))
}

/// [`measure`] for `models` networks trained together by the batched trainer (on the CPU).
pub fn measure_batched(net: BenchNet, batch: usize, steps: usize, warmup: usize, models: usize) -> Result<BenchReport> {
    timed(net, batch, (steps, warmup), ("batched", models), |data, n, seed| {
        train_steps_batched(net, data, batch, n, seed, models)
    })
}

/// On the benchmark sample of `net` at minibatch size `batch`: runs `train(sample, warmup,
/// seed 0)`, then times `train(sample, steps, seed 1)` (each returns the steps run per network),
/// and reports it for `trainer` training `models` networks at once.
fn timed(
    net: BenchNet,
    batch: usize,
    (steps, warmup): (usize, usize),
    (trainer, models): (&'static str, usize),
    train: impl Fn(&CausalData, usize, Seed) -> Result<usize>,
) -> Result<BenchReport> {
    if steps == 0 {
        return Err(NetsError::param("steps", steps, "at least 1"));
    }
    if batch == 0 {
        return Err(NetsError::param("batch", batch, "at least 1"));
    }
    let data = sample(net, batch * BATCHES_PER_EPOCH, Seed::new(1))?;
    if warmup > 0 {
        train(&data, warmup, Seed::new(0))?;
    }
    let start = Instant::now();
    let done = train(&data, steps, Seed::new(1))?;
    let secs = start.elapsed().as_secs_f64();
    Ok(BenchReport {
        net: net.name(),
        batch,
        steps: done,
        steps_per_sec: done as f64 / secs,
        trainer,
        models,
        model_steps_per_sec: (done * models) as f64 / secs,
        threads: candle_core::utils::get_num_threads(),
        matmul_roofline_steps_per_sec: None,
        roofline_fraction: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_by_name_and_their_layers() {
        assert_eq!(BenchNet::from_name("paper").ok(), Some(BenchNet::Paper));
        assert_eq!(BenchNet::from_name("ihdp").ok(), Some(BenchNet::Ihdp));
        let err = BenchNet::from_name("vgg").expect_err("unknown net").to_string();
        assert!(err.contains("net") && err.contains("paper, ihdp"), "{err}");
        assert_eq!(layer_widths(BenchNet::Paper), (vec![5, 20, 20, 20], vec![20, 10, 10, 1]));
        assert_eq!(layer_widths(BenchNet::Ihdp), (vec![25, 200, 200, 200], vec![200, 100, 100, 100, 1]));
    }

    /// The FLOP count of a step: forward and dW for every layer, dx for all but Φ's first.
    #[test]
    fn roofline_counts_the_steps_flops() -> Result<()> {
        let (_, flops) = matmul_roofline(BenchNet::Ihdp, 100, 1)?;
        let layer = |i: f64, o: f64, first: bool| 100.0 * i * o * if first { 4.0 } else { 6.0 };
        let phi = layer(25.0, 200.0, true) + 2.0 * layer(200.0, 200.0, false);
        // The heads' first layer also passes a gradient back to Φ.
        let head = layer(200.0, 100.0, false) + 2.0 * layer(100.0, 100.0, false) + layer(100.0, 1.0, false);
        assert_eq!(flops, phi + 2.0 * head);
        assert!((flops / 1e6 - 98.1).abs() < 0.1, "{flops}");
        Ok(())
    }

    #[test]
    fn trains_whole_epochs_and_checks_its_inputs() -> Result<()> {
        let data = sample(BenchNet::Paper, 64, Seed::new(1))?;
        assert_eq!(train_steps(BenchNet::Paper, &data, 32, 3, Seed::new(1))?, 4);
        assert!(train_steps(BenchNet::Paper, &data, 0, 3, Seed::new(1)).is_err());
        assert!(train_steps(BenchNet::Ihdp, &data, 32, 3, Seed::new(1)).is_err());
        Ok(())
    }
}

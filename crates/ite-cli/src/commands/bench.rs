//! `ite bench train`: training-step throughput of the two reference networks, printed as one
//! JSON line (compare with `benches/reference/tarnet_pytorch.py` on the same machine).

use anyhow::Result;
use clap::Subcommand;
use ite_nets::bench::{self, BenchNet};

use crate::device::DeviceArgs;

/// What to measure.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Training steps per second of one network on one thread (after a warm-up), or of
    /// --models K networks trained together; prints {"net","batch","steps","steps_per_sec",
    /// "trainer","models","model_steps_per_sec","threads"}: `steps_per_sec` is each network's
    /// steps per second (all K advance together), `model_steps_per_sec` = K × that.
    Train(TrainArgs),
}

#[derive(Debug, clap::Args)]
struct TrainArgs {
    /// paper: the study's 5→20³ net (TarNetParams::study_small), heads 20→10→10→1, batch 32; ihdp: 25→200³ (ELU), heads 200→100³→1, batch 100 (TarNetParams::ihdp).
    #[arg(long, default_value = "paper")]
    net: String,
    /// Steps to time (rounded up to whole epochs of 50 steps) [default: 20000 for paper, 2000 for ihdp].
    #[arg(long)]
    steps: Option<usize>,
    /// Minibatch size [default: the network's, 32 or 100].
    #[arg(long)]
    batch: Option<usize>,
    /// Warm-up steps before timing [default: a tenth of --steps].
    #[arg(long)]
    warmup: Option<usize>,
    /// Threads for candle's kernels (sets RAYON_NUM_THREADS) [default: 1, as grids run one fit per thread].
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Also time the step's matrix products alone and report the fraction of that roofline reached
    /// (the single-network trainer only: not with --models).
    #[arg(long)]
    roofline: bool,
    /// Train this many networks together with the batched trainer (TarNetParams::fit_many) and
    /// report `models` and `model_steps_per_sec` (network-steps per second); without it, one
    /// network with the single-network trainer.
    #[arg(long)]
    models: Option<usize>,
    #[command(flatten)]
    device: DeviceArgs,
}

/// Runs `ite bench`.
pub fn run(args: Args) -> Result<()> {
    match args.what {
        What::Train(a) => train(a),
    }
}

fn train(a: TrainArgs) -> Result<()> {
    let net = BenchNet::from_name(&a.net)?;
    if a.threads == 0 {
        anyhow::bail!("--threads must be at least 1 (got 0)");
    }
    // The measured and reported count, even where RAYON_NUM_THREADS is set.
    crate::threads::set_backend_threads(a.threads, crate::threads::Override::Always);
    let steps = a.steps.unwrap_or(match net {
        BenchNet::Paper => 20_000,
        BenchNet::Ihdp => 2_000,
    });
    let batch = a.batch.unwrap_or(net.default_batch());
    if batch == 0 {
        anyhow::bail!("--batch must be at least 1 (got 0)");
    }
    if steps == 0 {
        anyhow::bail!("--steps must be at least 1 (got 0)");
    }
    let warmup = a.warmup.unwrap_or(steps / 10);
    if a.roofline && a.models.is_some() {
        anyhow::bail!(
            "--roofline times one network's matrix products (the single-network trainer's kernel); it does not apply \
             to --models, whose network-steps can exceed it"
        );
    }
    let mut report = match a.models {
        Some(0) => anyhow::bail!("--models must be at least 1 (got 0)"),
        Some(k) => bench::measure_batched(net, batch, steps, warmup, k)?,
        None => bench::measure_on(net, batch, steps, warmup, &a.device.device()?)?,
    };
    if a.roofline {
        let (roof, _flops) = bench::matmul_roofline(net, batch, steps)?;
        report.matmul_roofline_steps_per_sec = Some(roof);
        report.roofline_fraction = Some(report.steps_per_sec / roof);
    }
    outln!("{}", serde_json::to_string(&report)?)?;
    Ok(())
}

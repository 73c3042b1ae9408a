//! `ite benchmark ihdp`: fit a model on IHDP replications 1–10 with the project's fixed split
//! and report √PEHE within and out of sample, |ATE error| and fit time.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use ite_core::{CausalData, Fit, IteModel, PotentialOutcomes, Seed};
use ite_eval::Summary;
use ite_eval::metrics::{ate_abs_error, sqrt_pehe};
use ite_nets::TarNetParams;
use serde_json::{Value, json};

use crate::device::DeviceArgs;

/// Arguments of `ite benchmark`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub which: Which,
}

/// The benchmarks.
#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// IHDP (Hill 2011), replications 1–10, row i out-of-sample when i % 10 == 9.
    Ihdp(IhdpArgs),
}

/// Arguments of `ite benchmark ihdp`.
#[derive(Debug, clap::Args)]
pub struct IhdpArgs {
    /// Directory with ihdp_npci_1.csv … ihdp_npci_10.csv.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Model: tarnet, cfr-wass, cfr-mmd, cfr-lin, t-learner-mlp, t-learner-ols, s-learner-ols.
    #[arg(long, default_value = "tarnet")]
    pub model: String,
    /// Root seed; replication r uses seed.index(r).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory for summary.json (created only when every replication succeeded).
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// Replications to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5,6,7,8,9,10")]
    pub replications: Vec<usize>,
    /// Threads for the tensor backend (sets RAYON_NUM_THREADS unless it is already set);
    /// one thread is fastest for these small networks.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Override the network's learning rate.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Override the maximum number of epochs.
    #[arg(long)]
    pub max_epochs: Option<usize>,
    /// Override the early-stopping patience (epochs).
    #[arg(long)]
    pub patience: Option<usize>,
    /// Override the minibatch size.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Override the IPM weight α (CFR models).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Override the L2 weight on the heads.
    #[arg(long)]
    pub l2_heads: Option<f64>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

impl IhdpArgs {
    /// The network parameters for `--model` with the overrides applied.
    fn params(&self) -> Option<TarNetParams> {
        let mut p = params_for(&self.model)?;
        if let Some(v) = self.learning_rate {
            p.learning_rate = v;
        }
        if let Some(v) = self.max_epochs {
            p.max_epochs = v;
        }
        if let Some(v) = self.patience {
            p.patience = v;
        }
        if let Some(v) = self.batch_size {
            p.batch_size = v;
        }
        if let Some(v) = self.alpha {
            p.alpha = v;
        }
        if let Some(v) = self.l2_heads {
            p.l2_heads = v;
        }
        Some(p)
    }
}

/// The model names `--model` accepts.
pub const MODELS: &[&str] =
    &["tarnet", "cfr-wass", "cfr-mmd", "cfr-lin", "t-learner-mlp", "t-learner-ols", "s-learner-ols"];

/// Runs the chosen benchmark.
pub fn run(args: Args) -> Result<()> {
    match args.which {
        Which::Ihdp(a) => run_ihdp(a),
    }
}

fn params_for(model: &str) -> Option<TarNetParams> {
    match model {
        "tarnet" => Some(TarNetParams::default()),
        "cfr-wass" => Some(TarNetParams::cfr_wasserstein()),
        "cfr-mmd" => Some(TarNetParams::cfr_mmd()),
        "cfr-lin" => Some(TarNetParams::default().with_ipm(ite_nets::Ipm::LinearMmd, 1.0)),
        _ => None,
    }
}

/// Fits `model` on `train` and predicts on `train` and `test`.
fn fit_predict(
    model: &str,
    params: Option<TarNetParams>,
    train: &CausalData,
    test: &CausalData,
    seed: Seed,
    device: &Device,
) -> Result<(PotentialOutcomes, PotentialOutcomes, String)> {
    if let Some(params) = params {
        use ite_core::Params;
        params.validate()?;
        let m = params.fit_on(train, seed, device)?;
        let h = m.history();
        let note = format!("  (best epoch {} of {})", h.best_epoch + 1, h.epochs.len());
        return Ok((m.predict(train.x())?, m.predict(test.x())?, note));
    }
    match model {
        "t-learner-mlp" => {
            let m = ite_nets::MlpTLearnerParams::default().fit_on(train, seed, device)?;
            Ok((m.predict(train.x())?, m.predict(test.x())?, String::new()))
        }
        "t-learner-ols" => fit_any(&ite_nets::baselines::OlsTLearnerParams::default(), train, test, seed),
        "s-learner-ols" => fit_any(&ite_nets::baselines::OlsSLearnerParams::default(), train, test, seed),
        _ => bail!("unknown model `{model}`; expected one of {}", MODELS.join(", ")),
    }
}

/// Fits any estimator and predicts on `train` and `test`.
fn fit_any<P: Fit>(
    params: &P,
    train: &CausalData,
    test: &CausalData,
    seed: Seed,
) -> Result<(PotentialOutcomes, PotentialOutcomes, String)> {
    let m = params.fit(train, seed)?;
    Ok((m.predict(train.x())?, m.predict(test.x())?, String::new()))
}

/// A statistic of a [`Summary`].
type Stat = fn(&Summary) -> f64;

/// The statistics reported over replications, in summary.json and the table.
const STATS: [(&str, Stat); 3] = [("median", |s| s.median), ("mean", |s| s.mean), ("se", |s| s.se)];

const METRICS: [&str; 4] = ["sqrt_pehe_in", "sqrt_pehe_out", "ate_abs_error_out", "fit_seconds"];

fn run_ihdp(a: IhdpArgs) -> Result<()> {
    crate::output::check_file_not_input(&a.out.join("summary.json"), "--out", &[("--data", &a.data)])?;
    if !MODELS.contains(&a.model.as_str()) {
        bail!("unknown model `{}`; expected one of {}", a.model, MODELS.join(", "));
    }
    if a.threads == 0 {
        bail!("--threads must be at least 1");
    }
    crate::threads::set_backend_threads(a.threads, crate::threads::Override::KeepUsers);
    let device = a.device.device()?;
    let root = Seed::new(a.seed);
    let mut rows = Vec::new();
    for &r in &a.replications {
        let rep = ite_dgp::ihdp::load_replication(&a.data, r)
            .with_context(|| format!("loading IHDP replication {r} from {}", a.data.display()))?;
        let (tr_truth, te_truth) = match (rep.train.truth(), rep.test.truth()) {
            (Some(x), Some(y)) => (x.clone(), y.clone()),
            _ => bail!("IHDP replication {r} has no mu0/mu1"),
        };
        let start = Instant::now();
        let (pin, pout, note) = fit_predict(&a.model, a.params(), &rep.train, &rep.test, root.index(r as u64), &device)
            .with_context(|| format!("fitting `{}` on replication {r}", a.model))?;
        let secs = start.elapsed().as_secs_f64();
        let vals = [
            sqrt_pehe(&pin.ite(), &tr_truth.ite())?,
            sqrt_pehe(&pout.ite(), &te_truth.ite())?,
            ate_abs_error(&pout.ite(), &te_truth.ite())?,
            secs,
        ];
        eprintln!(
            "replication {r:>2}: sqrt_pehe_in {:.3}  sqrt_pehe_out {:.3}  ate_abs_error_out {:.3}  fit {:.2} s{note}",
            vals[0], vals[1], vals[2], vals[3]
        );
        rows.push((r, vals));
    }
    let mut reps = Vec::new();
    for (r, v) in &rows {
        let mut o = serde_json::Map::new();
        o.insert("replication".into(), json!(r));
        for (k, x) in METRICS.iter().zip(v) {
            o.insert((*k).into(), json!(x));
        }
        reps.push(Value::Object(o));
    }
    let summaries: Vec<Summary> = (0..METRICS.len())
        .map(|k| Summary::of(&rows.iter().map(|(_, v)| v[k]).collect::<Vec<f64>>()))
        .collect::<Option<_>>()
        .context("--replications: no replication to summarise")?;
    let summarise = |f: Stat| {
        let mut o = serde_json::Map::new();
        for (name, s) in METRICS.iter().zip(&summaries) {
            o.insert((*name).into(), json!(f(s)));
        }
        Value::Object(o)
    };
    let summary = json!({
        "model": a.model,
        "replications": reps,
        "median": summarise(STATS[0].1),
        "mean": summarise(STATS[1].1),
        "se": summarise(STATS[2].1),
    });
    let path = a.out.join("summary.json");
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    crate::output::guard_temps(&a.out);
    ite_core::write_atomic(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &summary).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .with_context(|| format!("writing {}", path.display()))?;

    println!("IHDP, model {}, seed {}, {} replications", a.model, a.seed, rows.len());
    println!(
        "{:>11} {:>13} {:>14} {:>18} {:>11}",
        "replication", "sqrt_pehe_in", "sqrt_pehe_out", "ate_abs_error_out", "fit_seconds"
    );
    for (r, v) in &rows {
        println!("{r:>11} {:>13.3} {:>14.3} {:>18.3} {:>11.2}", v[0], v[1], v[2], v[3]);
    }
    for (name, f) in STATS {
        let v: Vec<f64> = summaries.iter().map(f).collect();
        println!("{name:>11} {:>13.3} {:>14.3} {:>18.3} {:>11.2}", v[0], v[1], v[2], v[3]);
    }
    println!("wrote {}", path.display());
    Ok(())
}

//! Coverage of `ite`'s cross-fitted AIPW 95% intervals of the ATE, measured on simulated data
//! with known truth, and the width the transfer saves: the table of docs/inference.md.
//!
//! ```text
//! cargo run --release --example coverage -- [--reps N] [--ols-reps M] [--seed S] [--jobs J] [--out DIR]
//! ```
//!
//! Rows (each: setup, target n, outcome model, datasets, coverage, mean width, mean |bias|,
//! seconds per dataset):
//!
//! - Simulation 1, randomized targets of 50, 100, 250 units: target-only TARNet (the study's
//!   net, strategy `target-only`), `staged-alignment` (the study's TL-TARNet) and `fine-tune`,
//!   each re-run on every training fold with the same source model (source n = `--source-n`,
//!   the study's CFR-Wasserstein source; one source sample and model per replication, shared by
//!   every n and method, as in `ite reproduce`);
//! - Simulation 2 (no shift), randomized targets, likewise;
//! - Nie–Wager setup C (confounded on x: e(x) = 1/(1 + exp(x₂ + x₃)), a difficult baseline,
//!   τ = 1), n = 500: the OLS T-learner (a misspecified outcome model; the logistic propensity is
//!   right) and the study net (`TarNetParams::study_small`);
//! - Simulation 1's *biased* target (selected on Y(0)'s noise), n = 250 with the OLS T-learner
//!   and n = 100 with target-only TARNet and staged alignment: the setup where no estimator that
//!   corrects with the target's outcomes can be right (docs/inference.md).
//!
//! The truth an interval must hold is the dataset's *sample* ATE, mean(mu1 − mu0) over its units.
//! Every number but the seconds is a function of `--seed` alone (datasets, folds and fits are
//! seeded by name; the thread count does not matter). With `--out DIR` the table goes to
//! `DIR/coverage.md` and one line per dataset and method to `DIR/datasets.csv` too.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use ite_core::{CausalData, Dgp, Fit, Seed};
use ite_dgp::{Assignment, NieWager, NieWagerSetup, Shift, Sim1Source, Sim1Target, Sim2Source, Sim2Target};
use ite_inference::{AipwParams, FitLearner, OutcomeLearner};
use ite_nets::baselines::OlsTLearnerParams;
use ite_nets::{FittedTarNet, TarNetParams};
use ite_transfer::{Registry, StrategyConfig, StrategyLearner};
use rayon::prelude::*;

#[derive(Parser, Debug)]
#[command(about = "Coverage of the cross-fitted AIPW intervals, and the width the transfer saves")]
struct Args {
    /// Datasets per row for the networks.
    #[arg(long, default_value_t = 200)]
    reps: u64,
    /// Datasets per row for the OLS T-learner.
    #[arg(long, default_value_t = 1000)]
    ols_reps: u64,
    /// Root seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads [default: available cores].
    #[arg(long)]
    jobs: Option<usize>,
    /// Cross-fitting folds.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Source sample size of the transfer rows.
    #[arg(long, default_value_t = 1000)]
    source_n: usize,
    /// Target sizes of the Simulation 1 and 2 rows.
    #[arg(long, value_delimiter = ',', default_value = "50,100,250")]
    target_n: Vec<usize>,
    /// Skip Simulation 2.
    #[arg(long)]
    no_sim2: bool,
    /// Also write DIR/coverage.md and DIR/datasets.csv.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The simulated populations.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Setup {
    Sim1Randomized,
    Sim2Randomized,
    NieWagerC,
    Sim1Biased,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::Sim1Randomized => "sim1 randomized",
            Setup::Sim2Randomized => "sim2 randomized",
            Setup::NieWagerC => "Nie–Wager C (confounded)",
            Setup::Sim1Biased => "sim1 biased (on Y(0) noise)",
        }
    }

    fn target(self, n: usize, seed: Seed) -> Result<CausalData> {
        Ok(match self {
            Setup::Sim1Randomized => Sim1Target::new(Assignment::Randomized).sample_seeded(n, seed)?,
            Setup::Sim1Biased => Sim1Target::new(Assignment::Biased).sample_seeded(n, seed)?,
            Setup::Sim2Randomized => {
                Sim2Target::new(Shift::None, 0.0, Assignment::Randomized).sample_seeded(n, seed)?
            }
            Setup::NieWagerC => NieWager::new(NieWagerSetup::C).sample_seeded(n, seed)?,
        })
    }

    fn source(self, n: usize, seed: Seed) -> Result<CausalData> {
        Ok(match self {
            Setup::Sim2Randomized => Sim2Source::default().sample_seeded(n, seed)?,
            _ => Sim1Source::default().sample_seeded(n, seed)?,
        })
    }
}

/// An outcome model: a transfer strategy (with the replication's source) or a plain learner.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    Strategy(&'static str),
    Ols,
    StudyNet,
}

impl Method {
    fn name(self) -> String {
        match self {
            Method::Strategy("target-only") => "target-only TARNet".into(),
            Method::Strategy(s) => s.into(),
            Method::Ols => "OLS T-learner".into(),
            Method::StudyNet => "study TARNet".into(),
        }
    }
}

/// One dataset's interval.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    estimate: f64,
    lower: f64,
    upper: f64,
    truth: f64,
    seconds: f64,
}

/// The rows of one setup that share datasets: target sizes × methods.
struct Block {
    setup: Setup,
    ns: Vec<usize>,
    methods: Vec<Method>,
    reps: u64,
}

fn blocks(args: &Args) -> Vec<Block> {
    let transfer =
        vec![Method::Strategy("target-only"), Method::Strategy("staged-alignment"), Method::Strategy("fine-tune")];
    let mut v = vec![Block {
        setup: Setup::Sim1Randomized,
        ns: args.target_n.clone(),
        methods: transfer.clone(),
        reps: args.reps,
    }];
    if !args.no_sim2 {
        v.push(Block { setup: Setup::Sim2Randomized, ns: args.target_n.clone(), methods: transfer, reps: args.reps });
    }
    v.push(Block { setup: Setup::NieWagerC, ns: vec![500], methods: vec![Method::Ols], reps: args.ols_reps });
    v.push(Block { setup: Setup::NieWagerC, ns: vec![500], methods: vec![Method::StudyNet], reps: args.reps });
    v.push(Block { setup: Setup::Sim1Biased, ns: vec![250], methods: vec![Method::Ols], reps: args.ols_reps });
    let biased = vec![Method::Strategy("target-only"), Method::Strategy("staged-alignment")];
    v.push(Block { setup: Setup::Sim1Biased, ns: vec![100], methods: biased, reps: args.reps });
    v
}

/// AIPW on `data` with `learner`, against the sample ATE.
fn interval(params: &AipwParams, data: &CausalData, learner: &dyn OutcomeLearner, seed: Seed) -> Result<Outcome> {
    let truth = data.truth().context("simulated data carry their truth")?.ate();
    let start = Instant::now();
    let ate = params.estimate(data, learner, None, seed)?.effects.ate;
    let seconds = start.elapsed().as_secs_f64();
    match (ate.lower, ate.upper) {
        (Some(lower), Some(upper)) => Ok(Outcome { estimate: ate.estimate, lower, upper, truth, seconds }),
        _ => anyhow::bail!("no interval: {}", ate.undefined.unwrap_or_default()),
    }
}

/// One replication of a block: its datasets (and source model), every n × method.
fn replication(block: &Block, args: &Args, rep: u64) -> Result<Vec<Outcome>> {
    let root = Seed::new(args.seed).stream(block.setup.name()).index(rep);
    let needs_source = block.methods.iter().any(|m| matches!(m, Method::Strategy(_)));
    let source: Option<(CausalData, FittedTarNet)> = if needs_source {
        let s = block.setup.source(args.source_n, root.stream("source"))?;
        let model = TarNetParams::study_source().fit(&s, root.stream("source-fit"))?;
        Some((s, model))
    } else {
        None
    };
    let params = AipwParams { folds: args.folds, ..AipwParams::default() };
    let registry = Registry::builtin();
    let mut out = Vec::new();
    for &n in &block.ns {
        let data = block.setup.target(n, root.stream("target").index(n as u64))?;
        // The same folds for every method of a dataset: paired widths.
        let seed = root.stream("aipw").index(n as u64);
        for &m in &block.methods {
            let o = match (m, &source) {
                (Method::Strategy(name), Some((s, model))) => {
                    let strategy = registry.build(name, &StrategyConfig::default())?;
                    let learner = StrategyLearner { strategy: &*strategy, source_model: model, source: s };
                    interval(&params, &data, &learner, seed)?
                }
                (Method::Ols, _) => interval(&params, &data, &FitLearner(OlsTLearnerParams::default()), seed)?,
                (Method::StudyNet, _) => interval(&params, &data, &FitLearner(TarNetParams::study_small()), seed)?,
                (Method::Strategy(name), None) => anyhow::bail!("{name} needs a source model"),
            };
            out.push(o);
        }
    }
    Ok(out)
}

/// A finished row of the table.
struct Row {
    setup: Setup,
    n: usize,
    method: Method,
    outcomes: Vec<Outcome>,
}

impl Row {
    fn coverage(&self) -> f64 {
        self.outcomes.iter().filter(|o| o.lower <= o.truth && o.truth <= o.upper).count() as f64
            / self.outcomes.len() as f64
    }
    fn mean(&self, f: impl Fn(&Outcome) -> f64) -> f64 {
        self.outcomes.iter().map(f).sum::<f64>() / self.outcomes.len() as f64
    }
    fn width(&self) -> f64 {
        self.mean(|o| o.upper - o.lower)
    }
}

fn run_block(block: &Block, args: &Args, pool: &rayon::ThreadPool) -> Result<Vec<Row>> {
    let reps: Vec<Vec<Outcome>> =
        pool.install(|| (0..block.reps).into_par_iter().map(|r| replication(block, args, r)).collect::<Result<_>>())?;
    let mut rows = Vec::new();
    let mut k = 0;
    for &n in &block.ns {
        for &method in &block.methods {
            rows.push(Row { setup: block.setup, n, method, outcomes: reps.iter().map(|r| r[k]).collect() });
            k += 1;
        }
    }
    Ok(rows)
}

fn table(rows: &[Row], args: &Args, wall: f64, jobs: usize) -> String {
    let mut s = String::new();
    s += &format!(
        "AIPW 95% intervals of the sample ATE, {} folds, seed {}, source n = {} ({jobs} threads, {wall:.0} s in all)\n\n",
        args.folds, args.seed, args.source_n
    );
    s += "| setup | n | outcome model | datasets | coverage | mean width | mean abs bias | s per dataset |\n";
    s += "|---|---:|---|---:|---:|---:|---:|---:|\n";
    for r in rows {
        s += &format!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.2} |\n",
            r.setup.name(),
            r.n,
            r.method.name(),
            r.outcomes.len(),
            r.coverage(),
            r.width(),
            r.mean(|o| (o.estimate - o.truth).abs()),
            r.mean(|o| o.seconds)
        );
    }
    s += "\nWidth of the transfer-boosted AIPW interval against target-only AIPW (same datasets, same folds):\n\n";
    s += "| setup | n | method | mean width | target-only width | relative width | narrower by |\n";
    s += "|---|---:|---|---:|---:|---:|---:|\n";
    for r in rows.iter().filter(|r| matches!(r.method, Method::Strategy(m) if m != "target-only")) {
        let Some(base) =
            rows.iter().find(|b| b.setup == r.setup && b.n == r.n && b.method == Method::Strategy("target-only"))
        else {
            continue;
        };
        let rel = r.width() / base.width();
        s += &format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.1}% |\n",
            r.setup.name(),
            r.n,
            r.method.name(),
            r.width(),
            base.width(),
            rel,
            100.0 * (1.0 - rel)
        );
    }
    s
}

fn write_out(dir: &PathBuf, rows: &[Row], text: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("coverage.md"), text)?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("datasets.csv"))?);
    writeln!(f, "setup,n,method,replication,estimate,lower,upper,truth,covers,seconds")?;
    for r in rows {
        for (i, o) in r.outcomes.iter().enumerate() {
            let covers = u8::from(o.lower <= o.truth && o.truth <= o.upper);
            writeln!(
                f,
                "{},{},{},{i},{},{},{},{},{covers},{:.3}",
                r.setup.name(),
                r.n,
                r.method.name(),
                o.estimate,
                o.lower,
                o.upper,
                o.truth,
                o.seconds
            )?;
        }
    }
    f.flush()?;
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    // One backend thread per fit (before any thread starts); datasets run in parallel instead.
    ite_nets::set_backend_threads(1);
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let start = Instant::now();
    let mut rows = Vec::new();
    for block in blocks(&args) {
        let t = Instant::now();
        rows.extend(run_block(&block, &args, &pool)?);
        eprintln!("[coverage] {}: {} datasets in {:.0} s", block.setup.name(), block.reps, t.elapsed().as_secs_f64());
    }
    let text = table(&rows, &args, start.elapsed().as_secs_f64(), jobs);
    print!("{text}");
    if let Some(dir) = &args.out {
        write_out(dir, &rows, &text)?;
    }
    Ok(())
}

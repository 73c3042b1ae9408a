//! Runs a Simulation 1 or 2 grid of your choosing through the library (`ite_eval::grid`) and
//! draws its figures with `ite_eval::figures::draw_all`; or, given only a finished output
//! directory, redraws the figures from its `results.csv`. Run with:
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo run --release --example figures_demo -- \
//!     sim1 OUT [REPS] [SOURCE_NS] [TARGET_NS] [SEED]   # e.g. sim1 out/sim1 4 1000,5000 50,250,500
//! cargo run --release --example figures_demo -- redraw sim1 OUT
//! ```
//!
//! `SOURCE_NS` and `TARGET_NS` are comma-separated sizes; the other settings are those of the
//! study's grid ([`GridSpec::sim1`], [`GridSpec::sim2`]). Results go to `OUT/results.csv` and
//! `OUT/summary.csv`, figures to `OUT/figures/`. `RAYON_NUM_THREADS=1` keeps the tensor backend
//! to one thread per fit, so the grid's workers use one core each.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use ite::core::Seed;
use ite::eval::grid::{GridSpec, RunOptions, run_grid};
use ite::eval::{figures, read_results};

/// Run a Simulation 1 or 2 grid and draw its figures, or redraw the figures of a finished run.
#[derive(Debug, Parser)]
enum Cli {
    /// Run a Simulation 1 grid (the study's settings, sizes as given) and draw its figures.
    Sim1(GridArgs),
    /// Run a Simulation 2 grid (the study's settings, sizes as given) and draw its figures.
    Sim2(GridArgs),
    /// Redraw the figures from OUT/results.csv.
    Redraw {
        /// Which simulation the results are of.
        #[arg(value_enum)]
        experiment: Experiment,
        /// The output directory of a finished run.
        out: PathBuf,
    },
}

/// The grid's output directory and the settings that differ from the study's.
#[derive(Debug, clap::Args)]
struct GridArgs {
    /// Output directory (results.csv, summary.csv, figures/).
    out: PathBuf,
    /// Replications per cell [default: the study's].
    reps: Option<u64>,
    /// Source sizes, comma-separated [default: the study's].
    #[arg(value_parser = parse_sizes)]
    source_ns: Option<Sizes>,
    /// Target sizes, comma-separated [default: the study's].
    #[arg(value_parser = parse_sizes)]
    target_ns: Option<Sizes>,
    /// Root seed.
    #[arg(default_value_t = 1)]
    seed: u64,
}

/// The two simulations.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Experiment {
    Sim1,
    Sim2,
}

impl Experiment {
    fn name(self) -> &'static str {
        match self {
            Experiment::Sim1 => "sim1",
            Experiment::Sim2 => "sim2",
        }
    }
}

/// Comma-separated sample sizes.
#[derive(Debug, Clone)]
struct Sizes(Vec<usize>);

fn parse_sizes(s: &str) -> Result<Sizes, String> {
    s.split(',')
        .map(|v| v.trim().parse::<usize>().map_err(|_| format!("`{v}` is not a whole number")))
        .collect::<Result<_, _>>()
        .map(Sizes)
}

fn main() -> Result<()> {
    let (experiment, args) = match Cli::parse() {
        Cli::Redraw { experiment, out } => {
            let rows = read_results(&out.join("results.csv"))?;
            let files = figures::draw_all(&rows, experiment.name(), &out.join("figures"))?;
            println!("{} figure files in {}", files.len(), out.join("figures").display());
            return Ok(());
        }
        Cli::Sim1(args) => (Experiment::Sim1, args),
        Cli::Sim2(args) => (Experiment::Sim2, args),
    };
    let mut spec = match experiment {
        Experiment::Sim1 => GridSpec::sim1(),
        Experiment::Sim2 => GridSpec::sim2(),
    };
    let out = args.out;
    spec.replications = args.reps.unwrap_or(spec.replications);
    spec.source_ns = args.source_ns.map_or(spec.source_ns, |s| s.0);
    spec.target_ns = args.target_ns.map_or(spec.target_ns, |s| s.0);
    let seed = args.seed;
    let opts = RunOptions { seed: Seed::new(seed), ..RunOptions::default() };
    let start = Instant::now();
    let last = Mutex::new(0usize);
    let report = run_grid(&spec, &opts, &out, &|row, p| {
        // Print about every 5% of the tasks.
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if p.done * 20 / p.total.max(1) > *last * 20 / p.total.max(1) || p.done == p.total {
            eprintln!(
                "[{:>6.0}s] {}/{} tasks (last: {} n_S={} n_T={} {} ε_PEHE {:.3})",
                start.elapsed().as_secs_f64(),
                p.done,
                p.total,
                row.method,
                row.source_n,
                row.target_n,
                row.assignment,
                row.pehe
            );
        }
        *last = p.done;
    })?;
    eprintln!("{} tasks run, {} skipped, {:.0} s", report.ran, report.skipped, start.elapsed().as_secs_f64());
    let files = figures::draw_all(&report.rows, experiment.name(), &out.join("figures"))?;
    println!("{} figure files in {}", files.len(), out.join("figures").display());
    Ok(())
}

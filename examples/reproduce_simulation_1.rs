//! Simulation 1 of the study (linear population; randomized and biased targets) through the
//! library API: define a grid, run it in parallel into an output directory (resumable), read
//! the summary, draw the figures. The quick grid by default; `--full` for the study's grid.
//!
//! ```sh
//! cargo run --release --example reproduce_simulation_1 -- [OUT] [--full] [--reps N] [--seed S]
//! ```
//! `OUT` defaults to `out/sim1-example`; rerunning the same command resumes an interrupted run.

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use ite::core::Seed;
use ite::eval::grid::{GridSpec, RunOptions, run_grid};

/// Simulation 1 of the study through the library API (the quick grid unless --full).
#[derive(Debug, Parser)]
struct Args {
    /// Output directory; rerunning the same command resumes an interrupted run.
    #[arg(default_value = "out/sim1-example")]
    out: PathBuf,
    /// The study's full grid instead of the quick one.
    #[arg(long)]
    full: bool,
    /// Replications per cell [default: the grid's].
    #[arg(long, value_name = "N")]
    reps: Option<u64>,
    /// Root seed.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
}

fn main() -> Result<()> {
    // One thread per fit: the tensor backend's matmul threads follow RAYON_NUM_THREADS.
    // (before any thread starts)
    ite::nets::set_backend_threads(1);
    let Args { out, full, reps, seed } = Args::parse();

    // The grid: cells (source n × target n × assignment) × methods × replications.
    let mut spec = if full { GridSpec::sim1() } else { GridSpec::sim1_quick() };
    spec.replications = reps.unwrap_or(spec.replications);
    let opts = RunOptions { seed: Seed::new(seed), quick: !full, ..RunOptions::default() };
    println!(
        "Simulation 1: source n {:?}, target n {:?}, {:?}, methods {:?}, {} replications, {} jobs",
        spec.source_ns, spec.target_ns, spec.assignments, spec.methods, spec.replications, opts.jobs
    );

    // Run: each finished task is appended to OUT/results.csv as it completes.
    let report = run_grid(&spec, &opts, &out, &|row, p| {
        if p.done % 20 == 0 || p.done == p.total {
            eprintln!("{}/{} tasks (last: {} n={} {})", p.done, p.total, row.method, row.target_n, row.assignment);
        }
    })?;
    println!("ran {} tasks, skipped {} finished earlier; rows in {}", report.ran, report.skipped, out.display());

    // The summary: ε_PEHE (mean square) and ATE bias per cell and method, mean ± se.
    println!("{:<8} {:<10} {:<22} {:>18} {:>18}", "target n", "assignment", "method", "ε_PEHE", "ATE bias");
    for s in &report.summary {
        println!(
            "{:<8} {:<10} {:<22} {:>9.4} ± {:<6.4} {:>9.4} ± {:<6.4}",
            s.target_n, s.assignment, s.method, s.pehe_mean, s.pehe_se, s.ate_bias_mean, s.ate_bias_se
        );
    }

    // The headline: on the smallest biased target, the best transfer against target-only.
    let small = spec.target_ns.iter().min().copied().unwrap_or_default();
    let cell: Vec<_> = report.summary.iter().filter(|s| s.target_n == small && s.assignment == "biased").collect();
    if let Some(t) = cell.iter().find(|s| s.method == "target-only")
        && let Some(b) =
            cell.iter().filter(|s| s.method != "target-only").min_by(|a, b| a.pehe_mean.total_cmp(&b.pehe_mean))
    {
        println!(
            "biased target n = {small}: target-only ε_PEHE {:.3} (ATE bias {:+.3}); best transfer `{}` {:.3} ({:.1}× lower)",
            t.pehe_mean,
            t.ate_bias_mean,
            b.method,
            b.pehe_mean,
            t.pehe_mean / b.pehe_mean
        );
    }

    let figures = ite::eval::figures::draw_all(&report.rows, "sim1", &out.join("figures"))?;
    println!("{} figure files in {}", figures.len(), out.join("figures").display());
    Ok(())
}

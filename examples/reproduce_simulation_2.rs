//! Simulation 2 of the study (nonlinear population; covariate, effect and prognostic shift)
//! through the library API: transfer (staged alignment), target-only and source-only against
//! the mismatch level, with CITA next to every transfer. The quick grid by default.
//!
//! ```sh
//! cargo run --release --example reproduce_simulation_2 -- [OUT] [--full] [--reps N] [--seed S]
//! ```

use std::path::PathBuf;

use anyhow::{Context, Result};
use ite::core::Seed;
use ite::eval::grid::{GridSpec, RunOptions, run_grid};

fn main() -> Result<()> {
    // SAFETY: no thread has started yet; one thread per fit.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let full = args.iter().any(|a| a == "--full");
    let out = PathBuf::from(args.first().filter(|a| !a.starts_with("--")).map_or("out/sim2-example", |s| s.as_str()));

    let mut spec = if full { GridSpec::sim2() } else { GridSpec::sim2_quick() };
    if let Some(r) = flag("--reps") {
        spec.replications = r.parse().with_context(|| format!("--reps `{r}`"))?;
    }
    let seed = flag("--seed").map_or(Ok(1), |s| s.parse()).context("--seed")?;
    let opts = RunOptions { seed: Seed::new(seed), quick: !full, ..RunOptions::default() };
    let report = run_grid(&spec, &opts, &out, &|_, p| {
        if p.done % 20 == 0 || p.done == p.total {
            eprintln!("{}/{} tasks", p.done, p.total);
        }
    })?;

    println!("{:<10} {:>5} {:<10} {:<18} {:>18} {:>8}", "shift", "level", "assignment", "method", "ε_PEHE", "CITA");
    for s in &report.summary {
        println!(
            "{:<10} {:>5} {:<10} {:<18} {:>9.4} ± {:<6.4} {:>8}",
            s.shift,
            s.level,
            s.assignment,
            s.method,
            s.pehe_mean,
            s.pehe_se,
            s.cita_mean.map_or("-".into(), |c| format!("{c:.3}"))
        );
    }
    let figures = ite::eval::figures::draw_all(&report.rows, "sim2", &out.join("figures"))?;
    println!("{} figure files in {}", figures.len(), out.join("figures").display());
    Ok(())
}

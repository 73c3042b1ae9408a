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

use anyhow::{Context, Result, bail};
use ite::core::Seed;
use ite::eval::grid::{GridSpec, RunOptions, run_grid};
use ite::eval::{figures, read_results};

fn sizes(arg: Option<String>, default: Vec<usize>, what: &str) -> Result<Vec<usize>> {
    match arg {
        None => Ok(default),
        Some(s) => s
            .split(',')
            .map(|v| v.trim().parse::<usize>().with_context(|| format!("{what}: `{v}` is not a whole number")))
            .collect(),
    }
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let experiment = args.next().context("first argument: sim1, sim2 or redraw")?;
    if experiment == "redraw" {
        let exp = args.next().context("redraw: second argument sim1 or sim2")?;
        let out = PathBuf::from(args.next().context("redraw: third argument, the output directory")?);
        let rows = read_results(&out.join("results.csv"))?;
        let files = figures::draw_all(&rows, &exp, &out.join("figures"))?;
        println!("{} figure files in {}", files.len(), out.join("figures").display());
        return Ok(());
    }
    let mut spec = match experiment.as_str() {
        "sim1" => GridSpec::sim1(),
        "sim2" => GridSpec::sim2(),
        other => bail!("first argument: `{other}` is not sim1, sim2 or redraw"),
    };
    let out = PathBuf::from(args.next().context("second argument: the output directory")?);
    if let Some(r) = args.next() {
        spec.replications = r.parse().with_context(|| format!("REPS: `{r}` is not a whole number"))?;
    }
    spec.source_ns = sizes(args.next(), spec.source_ns, "SOURCE_NS")?;
    spec.target_ns = sizes(args.next(), spec.target_ns, "TARGET_NS")?;
    let seed = match args.next() {
        Some(s) => s.parse().with_context(|| format!("SEED: `{s}` is not a whole number"))?,
        None => 1,
    };
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
    let files = figures::draw_all(&report.rows, &experiment, &out.join("figures"))?;
    println!("{} figure files in {}", files.len(), out.join("figures").display());
    Ok(())
}

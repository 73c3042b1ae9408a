//! Every built-in transfer strategy on the study's Simulation 1: a 5000-unit randomized
//! source, non-randomized (biased) targets of 100, ε_PEHE and ATE bias measured on a large
//! fresh biased test draw, averaged over replications. Run with:
//!
//! ```sh
//! cargo run --release --example transfer_strategies -- [REPLICATIONS] [N_SOURCE] [N_TARGET]
//! ```

use anyhow::{Context, Result};
use clap::Parser;
use ite::core::{Dgp, Fit, IteModel, Seed, TransferInput};
use ite::dgp::{Assignment, Sim1Source, Sim1Target};
use ite::eval::Summary;
use ite::eval::metrics::{ate_bias, pehe};
use ite::nets::TarNetParams;
use ite::transfer::{CitaParams, STRATEGY_NAMES, strategy_by_name, transfer_with_cita};

/// Every built-in transfer strategy on Simulation 1 (randomized source, biased targets).
#[derive(Debug, Parser)]
struct Args {
    /// Replications.
    #[arg(default_value_t = 5)]
    replications: usize,
    /// Source sample size.
    #[arg(default_value_t = 5000)]
    n_source: usize,
    /// Target sample size.
    #[arg(default_value_t = 100)]
    n_target: usize,
}

fn main() -> Result<()> {
    let Args { replications: reps, n_source, n_target } = Args::parse();
    let root = Seed::new(2025);
    let mut pehes = vec![Vec::new(); STRATEGY_NAMES.len()];
    let mut biases = vec![Vec::new(); STRATEGY_NAMES.len()];
    let mut citas = Vec::new();
    for rep in 0..reps as u64 {
        let seed = root.index(rep);
        let source = Sim1Source::default().sample_seeded(n_source, seed.stream("source"))?;
        let target = Sim1Target::new(Assignment::Biased).sample_seeded(n_target, seed.stream("target"))?;
        let test = Sim1Target::new(Assignment::Biased).sample_seeded(10_000, seed.stream("test"))?;
        let truth = test.truth().context("test draw without truth")?.ite();
        let model = TarNetParams::transfer_source().fit(&source, seed.stream("source-fit"))?;
        let input = TransferInput::new(&model, &source, &target)?;
        for (k, name) in STRATEGY_NAMES.iter().enumerate() {
            let strategy = strategy_by_name(name)?;
            let out = transfer_with_cita(strategy.as_ref(), input, &CitaParams::default(), seed)?;
            let ite = out.model.ite(test.x())?;
            pehes[k].push(pehe(&ite, &truth)?);
            biases[k].push(ate_bias(&ite, &truth)?);
            if k == 0 {
                citas.push(out.cita);
            }
        }
        eprintln!("replication {}/{reps} done", rep + 1);
    }
    println!("Simulation 1, source n = {n_source} (randomized), biased target n = {n_target}, {reps} replications");
    println!("test: 10 000 fresh biased units per replication; mean ± se over replications");
    println!("mean CITA {:.4}", Summary::of(&citas).map_or(f64::NAN, |s| s.mean));
    println!("{:<22} {:>18} {:>18}", "strategy", "ε_PEHE", "ATE bias");
    for (k, name) in STRATEGY_NAMES.iter().enumerate() {
        let (p, b) = (Summary::of(&pehes[k]).context("no runs")?, Summary::of(&biases[k]).context("no runs")?);
        println!("{name:<22} {:>9.4} ± {:<6.4} {:>9.4} ± {:<6.4}", p.mean, p.se, b.mean, b.se);
    }
    Ok(())
}

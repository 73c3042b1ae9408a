//! How strongly staged alignment should align: ε_PEHE of `staged-alignment` on Simulation 1's
//! biased targets for several phase-1 strengths (epochs, learning-rate scale) and phase-2
//! learning-rate scales, next to target-only. Same data, seeds and source model as
//! `transfer_strategies` (its first REPLICATIONS replications), so the default row and
//! target-only match that example's. Run with:
//!
//! ```sh
//! cargo run --release --example alignment_sweep -- [REPLICATIONS]
//! ```
//!
//! (default 6 replications; docs/transfer.md quotes its output).

use anyhow::{Context, Result};
use clap::Parser;
use ite::core::{Dgp, Fit, IteModel, Seed, TransferInput, TransferStrategy};
use ite::dgp::{Assignment, Sim1Source, Sim1Target};
use ite::eval::Summary;
use ite::eval::metrics::pehe;
use ite::nets::TarNetParams;
use ite::transfer::{StagedAlignment, TargetOnly, TargetTraining};

/// (phase-1 epochs, phase-1 learning-rate scale, phase-2 learning-rate scale); the last row is
/// the default `StagedAlignment`.
const SETTINGS: [(usize, f64, f64); 5] = [(30, 1.0, 1.0), (30, 0.1, 1.0), (5, 0.1, 1.0), (10, 1.0, 0.1), (5, 0.1, 0.1)];

/// ε_PEHE of staged alignment at several strengths on Simulation 1's biased targets.
#[derive(Parser)]
struct Args {
    /// Replications (the first ones of `transfer_strategies`).
    #[arg(value_name = "REPLICATIONS", default_value_t = 6)]
    reps: u64,
}

fn main() -> Result<()> {
    let Args { reps } = Args::parse();
    let root = Seed::new(2025);
    let mut pehes = vec![Vec::new(); SETTINGS.len() + 1];
    for rep in 0..reps {
        let seed = root.index(rep);
        let source = Sim1Source::default().sample_seeded(5000, seed.stream("source"))?;
        let target = Sim1Target::new(Assignment::Biased).sample_seeded(100, seed.stream("target"))?;
        let test = Sim1Target::new(Assignment::Biased).sample_seeded(10_000, seed.stream("test"))?;
        let truth = test.truth().context("test draw without truth")?.ite();
        let model = TarNetParams::study_source().fit(&source, seed.stream("source-fit"))?;
        let input = TransferInput::new(&model, &source, &target)?;
        for (k, &(epochs, align_lr, heads_lr)) in SETTINGS.iter().enumerate() {
            let strategy = StagedAlignment {
                align_epochs: epochs,
                align_learning_rate_scale: align_lr,
                training: TargetTraining { learning_rate_scale: heads_lr, ..TargetTraining::default() },
                ..StagedAlignment::default()
            };
            pehes[k].push(pehe(&strategy.transfer(input, seed)?.ite(test.x())?, &truth)?);
        }
        let target_only = TargetOnly::default().transfer(input, seed)?;
        pehes[SETTINGS.len()].push(pehe(&target_only.ite(test.x())?, &truth)?);
        eprintln!("replication {}/{reps} done", rep + 1);
    }
    println!("Simulation 1, source n = 5000 (randomized), biased target n = 100, {reps} replications");
    println!("{:<34} {:>18}", "staged-alignment (epochs, lr, heads lr)", "ε_PEHE mean ± se");
    for (k, (epochs, align_lr, heads_lr)) in SETTINGS.iter().enumerate() {
        let p = Summary::of(&pehes[k]).context("no runs")?;
        println!("({epochs:>2}, {align_lr:.1}, {heads_lr:.1}){:<23} {:>9.4} ± {:<6.4}", "", p.mean, p.se);
    }
    let p = Summary::of(&pehes[SETTINGS.len()]).context("no runs")?;
    println!("{:<39} {:>9.4} ± {:<6.4}", "target-only", p.mean, p.se);
    Ok(())
}

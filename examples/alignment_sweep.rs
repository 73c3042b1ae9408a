//! How strongly staged alignment should align and refit: ε_PEHE of `staged-alignment` on
//! Simulation 1's biased targets for several phase-1 strengths (epochs, learning-rate scale) and
//! phase-2 schedules (early-stopped on a target validation split, or a fixed number of epochs),
//! next to target-only. Same data, seeds and source model as
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

/// The settings compared, with their labels; the last is the default `StagedAlignment`.
fn settings() -> Vec<(&'static str, StagedAlignment)> {
    let d = StagedAlignment::default();
    let with = |epochs: usize, align_lr: f64, training: TargetTraining| StagedAlignment {
        align_epochs: epochs,
        align_learning_rate_scale: align_lr,
        training,
        ..d.clone()
    };
    // Phase 2 with early stopping on a 30% target validation split, up to 300 epochs.
    let early = |lr: f64| TargetTraining { learning_rate_scale: lr, ..TargetTraining::default() };
    vec![
        ("30 ep 1×, heads early-stopped 1×", with(30, 1.0, early(1.0))),
        ("5 ep 0.1×, heads early-stopped 1×", with(5, 0.1, early(1.0))),
        ("5 ep 0.1×, heads early-stopped 0.1×", with(5, 0.1, early(0.1))),
        ("5 ep 0.1×, heads 10 ep 0.025×", with(5, 0.1, StagedAlignment::heads_refit())),
        ("1 ep 0.1×, heads 10 ep 0.025× (default)", d.clone()),
    ]
}

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
    let settings = settings();
    let mut pehes = vec![Vec::new(); settings.len() + 1];
    for rep in 0..reps {
        let seed = root.index(rep);
        let source = Sim1Source::default().sample_seeded(5000, seed.stream("source"))?;
        let target = Sim1Target::new(Assignment::Biased).sample_seeded(100, seed.stream("target"))?;
        let test = Sim1Target::new(Assignment::Biased).sample_seeded(10_000, seed.stream("test"))?;
        let truth = test.truth().context("test draw without truth")?.ite();
        let model = TarNetParams::transfer_source().fit(&source, seed.stream("source-fit"))?;
        let input = TransferInput::new(&model, &source, &target)?;
        for (k, (_, strategy)) in settings.iter().enumerate() {
            pehes[k].push(pehe(&strategy.transfer(input, seed)?.ite(test.x())?, &truth)?);
        }
        let target_only = TargetOnly::default().transfer(input, seed)?;
        pehes[settings.len()].push(pehe(&target_only.ite(test.x())?, &truth)?);
        eprintln!("replication {}/{reps} done", rep + 1);
    }
    println!("Simulation 1, source n = 5000 (randomized), biased target n = 100, {reps} replications");
    println!("{:<42} {:>18}", "staged-alignment (phase 1, phase 2)", "ε_PEHE mean ± se");
    for (k, (label, _)) in settings.iter().enumerate() {
        let p = Summary::of(&pehes[k]).context("no runs")?;
        println!("{label:<42} {:>9.4} ± {:<6.4}", p.mean, p.se);
    }
    let p = Summary::of(&pehes[settings.len()]).context("no runs")?;
    println!("{:<42} {:>9.4} ± {:<6.4}", "target-only", p.mean, p.se);
    Ok(())
}

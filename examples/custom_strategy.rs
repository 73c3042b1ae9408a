//! A user-written transfer strategy, end to end: freeze only the first layer of the
//! representation and fine-tune everything above it on the target.
//!
//! A strategy is one type implementing `TransferStrategy<FittedTarNet>`; nothing in the
//! library needs to change. Run with:
//!
//! ```sh
//! cargo run --release --example custom_strategy
//! ```

use anyhow::Result;
use ite::core::{Dgp, Fit, IteModel, Seed, TransferInput, TransferStrategy};
use ite::dgp::{Assignment, Sim1Source, Sim1Target};
use ite::eval::metrics::pehe;
use ite::nets::{FittedTarNet, TarNetParams, TrainOptions};
use ite::transfer::{CitaParams, TargetOnly, TargetTraining, TransferError, transfer_with_cita};

/// Freeze `phi.0.*` (the first layer of Φ), train the rest at a reduced learning rate.
struct FreezeFirstLayer {
    training: TargetTraining,
}

impl TransferStrategy<FittedTarNet> for FreezeFirstLayer {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        "freeze-first-layer"
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet, TransferError> {
        let source = input.source_model;
        // Every variable except the first layer of Φ trains. Names are `phi.0.weight`, ….
        let trainable: Vec<String> = source.vars().names().into_iter().filter(|n| !n.starts_with("phi.0.")).collect();
        let options = TrainOptions { trainable: Some(trainable), ..TrainOptions::default() };
        let params = self.training.params_from(source.params());
        Ok(params.fit_with_options(input.target, seed, Some(source), &options)?)
    }
}

fn main() -> Result<()> {
    let seed = Seed::new(7);
    let source = Sim1Source::default().sample_seeded(3000, seed.stream("source"))?;
    let target = Sim1Target::new(Assignment::Biased).sample_seeded(100, seed.stream("target"))?;
    let test = Sim1Target::new(Assignment::Biased).sample_seeded(5000, seed.stream("test"))?;
    let truth = test.truth().expect("simulated data carry the truth").ite();

    eprintln!("training the source model on {} units …", source.n());
    let source_model = TarNetParams::study_source().fit(&source, seed.stream("fit"))?;
    let input = TransferInput::new(&source_model, &source, &target)?;

    let custom = FreezeFirstLayer { training: TargetTraining { learning_rate_scale: 0.3, ..Default::default() } };
    let baseline = TargetOnly::default();
    println!("{:<20} {:>8} {:>10} {:>10}", "strategy", "CITA", "ε_PEHE", "mean ITE");
    for (name, outcome) in [
        (custom.name().to_string(), transfer_with_cita(&custom, input, &CitaParams::default(), seed)?),
        (baseline.name().to_string(), transfer_with_cita(&baseline, input, &CitaParams::default(), seed)?),
    ] {
        let ite = outcome.model.ite(test.x())?;
        let mean = ite.iter().map(|v| f64::from(*v)).sum::<f64>() / ite.len() as f64;
        println!("{name:<20} {:>8.4} {:>10.4} {:>10.4}", outcome.cita, pehe(&ite, &truth)?, mean);
    }
    println!("true ATE on the test draw: {:.4}", test.truth().expect("truth").ate());
    Ok(())
}

//! A user-written transfer strategy, end to end: freeze only the first layer of the
//! representation and fine-tune everything above it on the target; register it and run it
//! next to target-only and fine-tune on a small Simulation 1 grid.
//!
//! A strategy is one type implementing `TransferStrategy<FittedTarNet>`: it runs at once through
//! `transfer_with_cita`. To choose it by name — in a grid — give it a `StrategyEntry` (name,
//! description, constructor applying the grid's epoch cap) and register that in a `Registry`.
//! Nothing in the library changes. Run with (a few seconds):
//!
//! ```sh
//! cargo run --release --example custom_strategy
//! ```

use anyhow::Result;
use ite::core::{Dgp, Fit, IteModel, Seed, TransferInput, TransferStrategy};
use ite::dgp::{Assignment, Sim1Source, Sim1Target};
use ite::eval::grid::{GridSpec, RunOptions, TestSet, run_grid_with};
use ite::eval::metrics::pehe;
use ite::nets::vars::VarGroup;
use ite::nets::{FittedTarNet, TarNetParams, TrainOptions};
use ite::transfer::{
    BoxedStrategy, CitaParams, Registry, StrategyConfig, StrategyEntry, TargetTraining, TransferError,
    transfer_with_cita,
};

/// Freeze the first layer of Φ (`phi.0.*`), train the rest at a reduced learning rate.
struct FreezeFirstLayer {
    training: TargetTraining,
}

impl FreezeFirstLayer {
    const NAME: &str = "freeze-first-layer";

    /// How a registry finds, describes and builds it.
    const ENTRY: StrategyEntry =
        StrategyEntry::new(Self::NAME, "the first layer of Φ frozen, every other weight fine-tuned", Self::build);

    /// Default settings, every training phase capped by the config (grids cap epochs for smoke runs).
    fn build(config: &StrategyConfig) -> BoxedStrategy {
        let training = TargetTraining { learning_rate_scale: 0.3, ..TargetTraining::default() };
        Box::new(FreezeFirstLayer { training: training.with_epoch_cap(config.max_epochs) })
    }
}

impl TransferStrategy<FittedTarNet> for FreezeFirstLayer {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        Self::NAME
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet, TransferError> {
        let source = input.source_model;
        // Every variable except the first layer of Φ trains. Names are `phi.0.weight`, ….
        let first_layer = format!("{}0.", VarGroup::Phi.prefix());
        let trainable: Vec<String> =
            source.vars().names().into_iter().filter(|n| !n.starts_with(&first_layer)).collect();
        let options = TrainOptions { trainable: Some(trainable), ..TrainOptions::default() };
        let params = self.training.params_from(source.params());
        Ok(params.fit_with_options(input.target, seed, Some(source), &options)?)
    }
}

/// The strategy run once, directly: no registry needed.
fn run_once(seed: Seed) -> Result<()> {
    let source = Sim1Source::default().sample_seeded(2000, seed.stream("source"))?;
    let target = Sim1Target::new(Assignment::Biased).sample_seeded(100, seed.stream("target"))?;
    let test = Sim1Target::new(Assignment::Biased).sample_seeded(5000, seed.stream("test"))?;
    let truth = test.truth().expect("simulated data carry the truth").ite();
    eprintln!("training the source model on {} units …", source.n());
    let source_model = TarNetParams::transfer_source().fit(&source, seed.stream("fit"))?;
    let input = TransferInput::new(&source_model, &source, &target)?;
    let strategy = FreezeFirstLayer::build(&StrategyConfig::default());
    let outcome = transfer_with_cita(strategy.as_ref(), input, &CitaParams::default(), seed)?;
    let ite = outcome.model.ite(test.x())?;
    println!("{}: CITA {:.4}, ε_PEHE {:.4}", strategy.name(), outcome.cita, pehe(&ite, &truth)?);
    Ok(())
}

fn main() -> Result<()> {
    run_once(Seed::new(7))?;

    // Registered, it runs in a grid like a built-in strategy.
    let mut registry = Registry::builtin();
    registry.register(FreezeFirstLayer::ENTRY)?;
    let spec = GridSpec {
        source_ns: vec![1000],
        target_ns: vec![100],
        methods: vec![FreezeFirstLayer::NAME.into(), "fine-tune".into(), "target-only".into()],
        replications: 2,
        test: TestSet::FreshDraw(2000),
        max_epochs: Some(30),
        ..GridSpec::sim1()
    };
    let out = tempfile::tempdir()?;
    let opts = RunOptions { seed: Seed::new(7), ..RunOptions::default() };
    eprintln!("running a {}-task grid …", spec.task_keys()?.len());
    let report = run_grid_with(&spec, &opts, &registry, out.path(), &|_, _| {})?;
    println!("{:<20} {:<11} {:>3} {:>10} {:>10}", "method", "assignment", "n", "ε_PEHE", "ATE bias");
    for s in &report.summary {
        println!(
            "{:<20} {:<11} {:>3} {:>10.4} {:>10.4}",
            s.method, s.assignment, s.target_n, s.pehe_mean, s.ate_bias_mean
        );
    }
    Ok(())
}

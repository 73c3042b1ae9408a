//! A strategy written and registered outside `ite-transfer` runs in a grid like a built-in one:
//! its rows appear in `results.csv` under its registered name with finite metrics and CITA; a
//! grid naming a strategy its registry does not hold is refused before anything runs.

use ite_core::{Seed, TransferInput, TransferStrategy};
use ite_eval::grid::{GridSpec, RunOptions, Shard, TestSet, plan_grid_with, run_grid, run_grid_with};
use ite_eval::{ResultRow, read_results};
use ite_nets::vars::VarGroup;
use ite_nets::{FittedTarNet, TrainOptions};
use ite_transfer::{BoxedStrategy, Registry, StrategyConfig, StrategyEntry, TargetTraining, TransferError};

/// Train the outcome head of the treated only (Φ and h0 stay the source's).
struct TreatedHeadOnly {
    training: TargetTraining,
}

impl TreatedHeadOnly {
    const NAME: &str = "treated-head-only";
    const ENTRY: StrategyEntry =
        StrategyEntry::new(Self::NAME, "the source model with h1 refit on the target", Self::build);

    fn build(config: &StrategyConfig) -> BoxedStrategy {
        Box::new(TreatedHeadOnly { training: TargetTraining::transfer().with_epoch_cap(config.max_epochs) })
    }
}

impl TransferStrategy<FittedTarNet> for TreatedHeadOnly {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        Self::NAME
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet, TransferError> {
        let source = input.source_model;
        let options = TrainOptions { trainable: Some(VarGroup::prefixes(&[VarGroup::H1])), ..TrainOptions::default() };
        let params = self.training.params_from(source.params());
        Ok(params.fit_with_options(input.target, seed, Some(source), &options)?)
    }
}

fn registry() -> Registry {
    let mut r = Registry::builtin();
    r.register(TreatedHeadOnly::ENTRY).unwrap();
    r
}

fn tiny_grid() -> GridSpec {
    GridSpec {
        source_ns: vec![200],
        target_ns: vec![30],
        methods: vec![TreatedHeadOnly::NAME.into(), "target-only".into()],
        replications: 2,
        test: TestSet::FreshDraw(100),
        max_epochs: Some(2),
        ..GridSpec::sim1()
    }
}

fn opts() -> RunOptions {
    RunOptions { seed: Seed::new(3), quick: false, jobs: 2, shard: Shard::WHOLE }
}

fn quiet(_: &ResultRow, _: ite_eval::grid::Progress) {}

#[test]
fn a_registered_strategy_runs_in_a_grid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let spec = tiny_grid();
    let registry = registry();
    let plan = plan_grid_with(&spec, &opts(), &registry, &out).unwrap();
    assert_eq!(plan.tasks, spec.task_keys().unwrap().len());
    let report = run_grid_with(&spec, &opts(), &registry, &out, &quiet).unwrap();
    assert_eq!(report.ran, plan.tasks);
    let rows = read_results(&out.join(ite_eval::grid::RESULTS_FILE)).unwrap();
    let mine: Vec<&ResultRow> = rows.iter().filter(|r| r.method == TreatedHeadOnly::NAME).collect();
    // 1 source n × 1 target n × 2 assignments × 2 replications.
    assert_eq!(mine.len(), 4, "{rows:?}");
    for r in &mine {
        assert!(r.pehe.is_finite() && r.pehe >= 0.0, "{r:?}");
        assert!(r.ate_bias.is_finite() && r.ite_sd.is_finite(), "{r:?}");
        assert!(r.cita.is_some_and(|c| (0.0..=1.0).contains(&c)), "a strategy that uses the source has CITA: {r:?}");
    }
    assert!(rows.iter().filter(|r| r.method == "target-only").all(|r| r.cita.is_none()));
    assert!(report.summary.iter().any(|s| s.method == TreatedHeadOnly::NAME));
}

#[test]
fn an_unregistered_strategy_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // The built-in registry does not hold it: refused, nothing written.
    let err = run_grid(&tiny_grid(), &opts(), &out, &quiet).unwrap_err().to_string();
    assert!(
        err.contains("`methods`") && err.contains(TreatedHeadOnly::NAME) && err.contains("staged-alignment"),
        "{err}"
    );
    assert!(ite_core::Params::validate(&tiny_grid()).is_err());
    assert!(tiny_grid().validate_with(&registry()).is_ok());
    // Nor a name no registry holds.
    let spec = GridSpec { methods: vec!["magic".into()], ..tiny_grid() };
    let err = run_grid_with(&spec, &opts(), &registry(), &out, &quiet).unwrap_err().to_string();
    assert!(err.contains("magic") && err.contains(TreatedHeadOnly::NAME), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_name_is_registered_once() {
    let mut r = registry();
    let err = r.register(TreatedHeadOnly::ENTRY).unwrap_err();
    assert!(matches!(err, TransferError::DuplicateStrategy { .. }), "{err}");
    let builtin_again = StrategyEntry::new("fine-tune", "a second fine-tune", TreatedHeadOnly::build);
    assert!(r.register(builtin_again).unwrap_err().to_string().contains("`fine-tune` is already registered"));
    assert_eq!(r.names().iter().filter(|n| **n == TreatedHeadOnly::NAME).count(), 1);
    // An entry whose strategy calls itself something else is caught when it is built.
    r.register(StrategyEntry::new("alias", "treated-head-only by another name", TreatedHeadOnly::build)).unwrap();
    let err = r.build("alias", &StrategyConfig::default()).err().expect("misnamed").to_string();
    assert!(err.contains("alias") && err.contains(TreatedHeadOnly::NAME), "{err}");
}

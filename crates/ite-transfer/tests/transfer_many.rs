//! `transfer_many`: strategies whose last phase is one network fit (target-only, fine-tune,
//! freeze-representation, staged alignment) run on many targets at once, those fits trained
//! together by the batched trainer, give what each strategy's own `transfer` gives (to f32
//! rounding), the same bits whatever the other targets and their order, a frozen Φ bit for
//! bit unchanged; a strategy without a plan runs its `transfer` unchanged.

use std::collections::BTreeMap;

use ite_core::{CausalData, Dgp, Fit, IteModel, Seed, TransferInput};
use ite_dgp::{Assignment, Sim1Source, Sim1Target};
use ite_nets::vars::VarGroup;
use ite_nets::{FittedTarNet, TarNetParams};
use ite_transfer::{
    FineTune, FreezeRepresentation, Registry, StagedAlignment, StrategyConfig, TargetOnly, transfer_many,
};

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn weights(m: &FittedTarNet) -> BTreeMap<String, Vec<u32>> {
    let snap = m.vars().snapshot().unwrap();
    snap.iter()
        .map(|(k, t)| {
            (k.clone(), t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|x| x.to_bits()).collect())
        })
        .collect()
}

/// A source model (the clean protocol's network, few epochs) and five biased targets of
/// different sizes.
fn setup() -> (FittedTarNet, CausalData, Vec<CausalData>) {
    let seed = Seed::new(11);
    let source = Sim1Source::default().sample_seeded(500, seed.stream("source")).unwrap();
    let params = TarNetParams::transfer_source().with_max_epochs(8).with_patience(8);
    let model = params.fit(&source, seed.stream("fit")).unwrap();
    let targets = [40, 60, 80, 50, 70]
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            Sim1Target::new(Assignment::Biased).sample_seeded(n, seed.stream("target").stream(&i.to_string())).unwrap()
        })
        .collect();
    (model, source, targets)
}

#[test]
fn one_fit_strategies_batched_agree_with_their_own_transfer() {
    let (model, source, targets) = setup();
    let registry = Registry::builtin();
    let config = StrategyConfig { max_epochs: Some(12), ..StrategyConfig::default() };
    let inputs: Vec<(TransferInput<'_, FittedTarNet>, Seed)> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (TransferInput::new(&model, &source, t).unwrap(), Seed::new(100 + i as u64)))
        .collect();
    for name in [TargetOnly::NAME, FineTune::NAME, FreezeRepresentation::NAME, StagedAlignment::NAME] {
        let entry = registry.entry(name).unwrap();
        let plan = (entry.net_fit.expect("a one-fit strategy"))(&config, inputs[0].0, inputs[0].1).unwrap();
        assert!(plan.batches(), "{name}: the clean source network batches");
        let many: Vec<FittedTarNet> =
            transfer_many(entry, &config, &inputs).unwrap().into_iter().map(|t| t.model).collect();
        let strategy = registry.build(name, &config).unwrap();
        for ((input, seed), fitted) in inputs.iter().zip(&many) {
            let alone = strategy.transfer(*input, *seed).unwrap();
            let (a, b) = (fitted.predict(input.target.x()).unwrap(), alone.predict(input.target.x()).unwrap());
            let scale = b.ite().iter().map(|x| x.abs()).fold(0.0, f64::max).max(1e-9);
            for (x, y) in a.ite().iter().zip(b.ite()) {
                assert!((x - y).abs() <= 1e-4 * scale, "{name}: batched {x} against alone {y}");
            }
        }
        // The same bits with the inputs reversed (other pack neighbours).
        let reversed: Vec<_> = inputs.iter().rev().copied().collect();
        let back: Vec<FittedTarNet> =
            transfer_many(entry, &config, &reversed).unwrap().into_iter().map(|t| t.model).collect();
        for ((input, _), (a, b)) in inputs.iter().zip(many.iter().zip(back.iter().rev())) {
            let x = input.target.x();
            assert_eq!(bits(&a.predict(x).unwrap().mu1), bits(&b.predict(x).unwrap().mu1), "{name}");
        }
        // A frozen Φ is the source's, bit for bit.
        if name == FreezeRepresentation::NAME || name == StagedAlignment::NAME {
            // (staged alignment's heads phase starts from its aligned Φ, which it keeps.)
            for (fitted, (input, seed)) in many.iter().zip(&inputs) {
                let start = match (entry.net_fit.unwrap())(&config, *input, *seed).unwrap().start {
                    ite_transfer::Start::Source => weights(&model),
                    ite_transfer::Start::Model(m) => weights(&m),
                    ite_transfer::Start::Fresh => unreachable!("{name} starts from a model"),
                };
                for (k, v) in weights(fitted) {
                    if VarGroup::Phi.holds(&k) {
                        assert_eq!(v, start[&k], "{name}: {k} changed");
                    }
                }
            }
        }
    }
}

#[test]
fn a_strategy_without_a_plan_runs_its_own_transfer() {
    let (model, source, targets) = setup();
    let registry = Registry::builtin();
    let config = StrategyConfig { max_epochs: Some(3), ..StrategyConfig::default() };
    let entry = registry.entry("l2-sp").unwrap();
    assert!(entry.net_fit.is_none());
    let inputs: Vec<_> =
        targets.iter().take(2).map(|t| (TransferInput::new(&model, &source, t).unwrap(), Seed::new(5))).collect();
    let many: Vec<FittedTarNet> =
        transfer_many(entry, &config, &inputs).unwrap().into_iter().map(|t| t.model).collect();
    let strategy = registry.build("l2-sp", &config).unwrap();
    for ((input, seed), fitted) in inputs.iter().zip(&many) {
        let alone = strategy.transfer(*input, *seed).unwrap();
        let x = input.target.x();
        assert_eq!(bits(&fitted.predict(x).unwrap().mu0), bits(&alone.predict(x).unwrap().mu0));
    }
}

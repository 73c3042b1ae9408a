//! A transfer strategy as the outcome model of cross-fitted AIPW: each fold re-runs the strategy
//! on the target's training split with the same source model; results are reproducible.

use ite_core::{Dgp, Fit, Seed};
use ite_dgp::{Assignment, Sim1Source, Sim1Target};
use ite_inference::AipwParams;
use ite_nets::TarNetParams;
use ite_transfer::{Registry, StrategyConfig, StrategyLearner};

#[test]
fn aipw_with_a_transfer_strategy_is_reproducible_and_uses_every_fold() {
    let seed = Seed::new(4);
    let source = Sim1Source::default().sample_seeded(600, seed.stream("source")).unwrap();
    let target = Sim1Target::new(Assignment::Randomized).sample_seeded(120, seed.stream("target")).unwrap();
    let mut p = TarNetParams::study_source();
    p.max_epochs = 30;
    let model = p.fit(&source, seed.stream("fit")).unwrap();
    let cfg = StrategyConfig { max_epochs: Some(10), ..StrategyConfig::default() };
    let strategy = Registry::builtin().build("fine-tune", &cfg).unwrap();
    let learner = StrategyLearner { strategy: &*strategy, source_model: &model, source: &source };
    let params = AipwParams { folds: 3, ..Default::default() };
    let a = params.estimate(&target, &learner, None, Seed::new(9)).unwrap();
    let b = params.estimate(&target, &learner, None, Seed::new(9)).unwrap();
    assert_eq!(a.effects, b.effects);
    assert_eq!(a.cross_fit, b.cross_fit);
    let ate = &a.effects.ate;
    assert!(ate.estimate.is_finite() && ate.se.unwrap() > 0.0, "{ate:?}");
    // Every unit got an out-of-fold prediction from its fold's adapted model (none left at 0).
    assert!(a.cross_fit.mu0.iter().chain(&a.cross_fit.mu1).all(|v| *v != 0.0));
    // A strategy failure is reported with the fold.
    let tiny = target.select(&(0..4).collect::<Vec<_>>()).unwrap();
    assert!(params.estimate(&tiny, &learner, None, Seed::new(9)).is_err());
}

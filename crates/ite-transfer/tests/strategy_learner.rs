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

/// `EntryLearner`: a job's predictions are the same bits whether it is fitted alone
/// (`fit_predict`) or among others (`fit_predict_many`, the batched trainer), and agree with
/// `StrategyLearner`'s (the strategy's own single-network `transfer`) to f32 rounding; the AIPW
/// estimate it gives agrees with `StrategyLearner`'s likewise.
#[test]
fn entry_learner_fits_alone_or_together_alike_and_agrees_with_the_strategy() {
    use ite_inference::{FitJob, OutcomeLearner};
    use ite_transfer::EntryLearner;
    let seed = Seed::new(5);
    let source = Sim1Source::default().sample_seeded(600, seed.stream("source")).unwrap();
    let target = Sim1Target::new(Assignment::Biased).sample_seeded(150, seed.stream("target")).unwrap();
    let model = TarNetParams::transfer_source().with_max_epochs(10).with_patience(10).fit(&source, seed).unwrap();
    let cfg = StrategyConfig { max_epochs: Some(10), ..StrategyConfig::default() };
    let registry = Registry::builtin();
    let folds: Vec<_> =
        (0..3).map(|k| target.select(&(0..target.n()).filter(|i| i % 3 != k).collect::<Vec<_>>()).unwrap()).collect();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for name in ["target-only", "fine-tune", "staged-alignment", "l2-sp"] {
        let learner =
            EntryLearner { entry: registry.entry(name).unwrap(), config: cfg, source_model: &model, source: &source };
        let strategy = registry.build(name, &cfg).unwrap();
        let plain = StrategyLearner { strategy: &*strategy, source_model: &model, source: &source };
        let jobs: Vec<FitJob<'_>> = folds
            .iter()
            .enumerate()
            .map(|(k, f)| FitJob { train: f, predict: target.x(), seed: Seed::new(20 + k as u64) })
            .collect();
        let many = learner.fit_predict_many(&jobs);
        for (job, together) in jobs.iter().zip(many) {
            let together = together.unwrap();
            let alone = learner.fit_predict(job.train, job.predict, job.seed).unwrap();
            assert_eq!(bits(&together.mu1), bits(&alone.mu1), "{name}");
            let single = plain.fit_predict(job.train, job.predict, job.seed).unwrap();
            let scale = single.mu1.iter().map(|v| v.abs()).fold(0.0, f64::max);
            for (a, b) in together.mu1.iter().zip(&single.mu1) {
                assert!((a - b).abs() <= 1e-4 * scale, "{name}: {a} against {b}");
            }
        }
    }
}

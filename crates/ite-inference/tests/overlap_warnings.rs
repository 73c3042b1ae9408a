//! The overlap report's warnings fire on data built to trigger them (extreme propensities, a tiny
//! arm, an imbalanced covariate) and stay silent on randomized data.

use ite_core::{CausalData, Covariates, Params, Seed};
use ite_inference::{AipwParams, FitLearner, Folds, OverlapParams, OverlapReport, PropensityParams, Trim};
use ite_nets::baselines::OlsTLearnerParams;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

fn data(n: usize, seed: u64, logit: impl Fn(f64) -> f64) -> CausalData {
    let mut rng = Seed::new(seed).rng();
    let (mut xs, mut t, mut y) = (vec![], vec![], vec![]);
    for _ in 0..n {
        let x: f64 = StandardNormal.sample(&mut rng);
        let z: f64 = StandardNormal.sample(&mut rng);
        let e = 1.0 / (1.0 + (-logit(x)).exp());
        let ti = u8::from(rng.random::<f64>() < e);
        let noise: f64 = StandardNormal.sample(&mut rng);
        y.push(x + 2.0 * f64::from(ti) + noise);
        t.push(ti);
        xs.extend([x, z]);
    }
    CausalData::new(Covariates::with_default_names(xs, 2).unwrap(), t, y).unwrap()
}

fn report(d: &CausalData) -> OverlapReport {
    let folds = Folds::stratified(d.t(), 5, Seed::new(1)).unwrap();
    let e = PropensityParams::default().cross_fit(d.x(), d.t(), &folds).unwrap();
    OverlapReport::new(d.x(), d.t(), &e, OverlapParams::default()).unwrap()
}

#[test]
fn randomized_data_raise_no_warning() {
    for seed in 0..20 {
        for n in [60, 1000] {
            let d = data(n, seed, |_| 0.0);
            let w = report(&d).warnings();
            assert!(w.is_empty(), "seed {seed}, n {n}: {w:?}");
        }
    }
}

#[test]
fn extreme_propensities_warn_and_name_the_share() {
    // logit 4x: about half the units have e < 0.05 or > 0.95.
    let d = data(1000, 3, |x| 4.0 * x);
    let r = report(&d);
    assert!(r.share_outside > 0.3, "{}", r.share_outside);
    let w = r.warnings();
    assert!(w.iter().any(|s| s.starts_with("limited overlap") && s.contains("outside [0.05, 0.95]")), "{w:?}");
    assert!(w.iter().any(|s| s.starts_with("imbalance") && s.contains("x1") && !s.contains("x2 (")), "{w:?}");
}

#[test]
fn a_tiny_arm_warns() {
    // 1 control among 400 units (the case from the issue), and 9 treated among 400.
    for (n_small, arm) in [(1usize, "control"), (9, "treated")] {
        let d0 = data(400, 4, |_| 0.0);
        let t: Vec<u8> =
            (0..400).map(|i| if arm == "control" { u8::from(i >= n_small) } else { u8::from(i < n_small) }).collect();
        let d = CausalData::new(d0.x().clone(), t, d0.y().to_vec()).unwrap();
        let e = vec![0.5; 400];
        let w = OverlapReport::new(d.x(), d.t(), &e, OverlapParams::default()).unwrap().warnings();
        assert!(w.iter().any(|s| s.contains(&format!("the {arm} arm has {n_small} of 400"))), "{w:?}");
    }
}

#[test]
fn trimming_drops_the_extreme_units_and_says_how_many() {
    let d = data(1000, 5, |x| 3.0 * x);
    let learner = FitLearner(OlsTLearnerParams::default());
    let fixed = AipwParams { trim: Trim::Fixed { lower: 0.1, upper: 0.9 }, ..Default::default() };
    let r = fixed.estimate(&d, &learner, None, Seed::new(1)).unwrap();
    let outside = r.cross_fit.e.iter().filter(|&&e| !(0.1..=0.9).contains(&e)).count();
    assert_eq!(r.effects.n_trimmed, outside);
    assert!(outside > 100, "{outside}");
    assert_eq!(r.effects.trim_limits, (0.1, 0.9));
    let crump =
        AipwParams { trim: Trim::Crump, ..Default::default() }.estimate(&d, &learner, None, Seed::new(1)).unwrap();
    assert!(crump.effects.trim_limits.0 > 0.02 && crump.effects.n_trimmed > 0, "{:?}", crump.effects);
    // Constant effect 2: trimmed or not, the estimate stays near it.
    assert!((r.effects.ate.estimate - 2.0).abs() < 0.4, "{:?}", r.effects.ate);
    assert!(AipwParams { trim: Trim::Fixed { lower: 0.9, upper: 0.1 }, ..Default::default() }.validate().is_err());
}

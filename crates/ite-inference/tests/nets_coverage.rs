//! Coverage of the cross-fitted AIPW intervals with the study's small TARNet as the outcome
//! model (`TarNetParams::study_small`, at most 100 epochs with early stopping): 50 simulated
//! datasets of 400 units per setup, randomized and confounded on x (logistic propensity, overlap),
//! with the data-generating process of `aipw_coverage.rs` (population ATE exactly 1).
//!
//! **The band.** With 50 datasets, the number of intervals that cover is Binomial(50, p). At the
//! nominal p = 0.95, P(X ≤ 42) = 0.3% and P(X ≤ 43) = 1.2%, so "at least 43 of 50" (86%) fails a
//! correct method about once in a hundred seeds, while intervals that really covered 80% would pass
//! only with probability ≈ 0.1 per setup (and 0.01 for both). 50 of 50 has probability 7.7% at
//! p = 0.95, so 50 datasets cannot show over-coverage: the upper end of the band is 100%. The
//! tests are seeded, so the outcome is the same on every run; the OLS tests (`aipw_coverage.rs`,
//! 1000 datasets per setup) hold the tighter 92–98% band.

use ite_core::{CausalData, Covariates, Seed};
use ite_inference::{AipwParams, FitLearner};
use ite_nets::TarNetParams;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

const P: usize = 3;
const N: usize = 400;
const DATASETS: u64 = 50;
/// At least this many of [`DATASETS`] intervals must cover (see the module doc).
const MIN_COVERED: usize = 43;

fn dataset(confounded: bool, seed: Seed) -> CausalData {
    let mut rng = seed.rng();
    let (mut xs, mut t, mut y) = (Vec::with_capacity(N * P), Vec::with_capacity(N), Vec::with_capacity(N));
    for _ in 0..N {
        let mut x = [0.0f64; P];
        for v in &mut x {
            *v = StandardNormal.sample(&mut rng);
        }
        let e: f64 = if confounded { 1.0 / (1.0 + (-(0.8 * x[0] - 0.4 * x[1])).exp()) } else { 0.5 };
        let ti = u8::from(rng.random::<f64>() < e);
        let noise: f64 = StandardNormal.sample(&mut rng);
        // mu0 = x₁ + ½x₂, τ(x) = 1 + ½x₁: population ATE 1.
        y.push(x[0] + 0.5 * x[1] + f64::from(ti) * (1.0 + 0.5 * x[0]) + noise);
        t.push(ti);
        xs.extend_from_slice(&x);
    }
    CausalData::new(Covariates::with_default_names(xs, P).unwrap(), t, y).unwrap()
}

fn check(confounded: bool) {
    let learner = FitLearner(TarNetParams::study_small().with_max_epochs(100));
    let params = AipwParams::default();
    let (mut covered, mut width, mut bias) = (0usize, 0.0, 0.0);
    for r in 0..DATASETS {
        let data = dataset(confounded, Seed::new(31).index(r));
        let ate = params.estimate(&data, &learner, None, Seed::new(8).index(r)).unwrap().effects.ate;
        covered += usize::from(ate.covers(1.0));
        width += ate.width().unwrap() / DATASETS as f64;
        bias += (ate.estimate - 1.0) / DATASETS as f64;
    }
    let what = if confounded { "confounded" } else { "randomized" };
    eprintln!("{what}: {covered}/{DATASETS} covered, mean width {width:.3}, mean bias {bias:+.3}");
    assert!(
        covered >= MIN_COVERED,
        "{what}: the study net's AIPW 95% interval covered {covered} of {DATASETS} (mean width {width:.3}, \
         mean bias {bias:+.3}); at least {MIN_COVERED} expected"
    );
}

#[test]
fn study_net_aipw_intervals_cover_on_randomized_data() {
    check(false);
}

#[test]
fn study_net_aipw_intervals_cover_on_data_confounded_on_x() {
    check(true);
}

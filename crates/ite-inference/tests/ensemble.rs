//! Seed ensembles: one member is the inner learner at `seed.index(0)`, the average is exact,
//! a seed-free learner has no between-seed spread, and `members = 0` is refused by name.

mod common;

use common::simulate;
use ite_core::{CausalData, Covariates, Params, PotentialOutcomes, Seed};
use ite_inference::{BoxError, EnsembleLearner, FitLearner, OutcomeLearner};
use ite_nets::baselines::OlsTLearnerParams;
use rand::RngExt;

const OLS: FitLearner<OlsTLearnerParams> = FitLearner(OlsTLearnerParams { ridge: 0.0 });

/// The OLS T-learner plus a seed-dependent shift of each row (a stand-in for a network whose
/// fit depends on its initialisation).
fn noisy(train: &CausalData, predict: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError> {
    let mut po = OLS.fit_predict(train, predict, seed)?;
    let mut rng = seed.rng();
    for v in po.mu0.iter_mut().chain(po.mu1.iter_mut()) {
        *v += rng.random::<f64>() - 0.5;
    }
    Ok(po)
}

#[test]
fn one_member_is_the_inner_learner_at_index_zero() {
    let sim = simulate(120, false, Seed::new(1));
    let seed = Seed::new(42);
    let ens = EnsembleLearner { inner: noisy, members: 1 };
    let got = ens.fit_predict(&sim.data, sim.data.x(), seed).expect("ensemble");
    assert_eq!(got, noisy(&sim.data, sim.data.x(), seed.index(0)).expect("inner"));
    assert_ne!(got, noisy(&sim.data, sim.data.x(), seed).expect("inner"));
    let (_, report) = ens.fit_report(&sim.data, sim.data.x(), seed).expect("report");
    assert_eq!(report.member_ates, vec![got.ate()]);
    assert_eq!((report.ate, report.between_seed_sd), (got.ate(), 0.0));
}

#[test]
fn the_average_is_exact_and_the_report_matches_the_members() {
    let sim = simulate(150, false, Seed::new(2));
    let (seed, m) = (Seed::new(9), 4);
    let members: Vec<PotentialOutcomes> =
        (0..m).map(|k| noisy(&sim.data, sim.data.x(), seed.index(k)).expect("member")).collect();
    let mut expected = PotentialOutcomes { mu0: vec![0.0; 150], mu1: vec![0.0; 150] };
    for po in &members {
        for i in 0..150 {
            expected.mu0[i] += po.mu0[i];
            expected.mu1[i] += po.mu1[i];
        }
    }
    expected.mu0.iter_mut().chain(expected.mu1.iter_mut()).for_each(|v| *v /= m as f64);

    let ens = EnsembleLearner { inner: noisy, members: m as usize };
    let pool = |threads| rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    let (avg, report) = pool(1).install(|| ens.fit_report(&sim.data, sim.data.x(), seed)).expect("report");
    assert_eq!(avg, expected);
    assert_eq!(pool(2).install(|| ens.fit_predict(&sim.data, sim.data.x(), seed)).expect("ensemble"), expected);
    let member_ates: Vec<f64> = members.iter().map(PotentialOutcomes::ate).collect();
    assert_eq!(report.member_ates, member_ates);
    assert_eq!(report.ate, expected.ate());
    assert_eq!(report.between_seed_sd, ite_core::stats::sd(&member_ates));
    assert!(report.between_seed_sd > 0.0);
}

#[test]
fn a_seed_free_learner_has_no_between_seed_spread() {
    let sim = simulate(200, true, Seed::new(3));
    let ens = EnsembleLearner { inner: OLS, members: 5 };
    let (avg, report) = ens.fit_report(&sim.data, sim.data.x(), Seed::new(4)).expect("report");
    let single = OLS.fit_predict(&sim.data, sim.data.x(), Seed::new(0)).expect("ols");
    assert_eq!(report.between_seed_sd, 0.0);
    assert!(report.member_ates.iter().all(|&a| a == single.ate()));
    assert!((avg.ate() - single.ate()).abs() < 1e-12);
}

#[test]
fn zero_members_are_refused_by_name() {
    let sim = simulate(50, false, Seed::new(5));
    let ens = EnsembleLearner { inner: OLS, members: 0 };
    assert_eq!(ens.validate().expect_err("invalid").name, "members");
    let err = ens.fit_predict(&sim.data, sim.data.x(), Seed::new(1)).expect_err("invalid");
    assert!(err.to_string().contains("members"), "{err}");
    assert!(ens.fit_report(&sim.data, sim.data.x(), Seed::new(1)).is_err());
}

#[test]
fn a_failing_member_is_named() {
    let sim = simulate(50, false, Seed::new(6));
    let fails_on_2 = |train: &CausalData, predict: &Covariates, seed: Seed| -> Result<PotentialOutcomes, BoxError> {
        if seed == Seed::new(1).index(2) { Err("diverged".into()) } else { OLS.fit_predict(train, predict, seed) }
    };
    let ens = EnsembleLearner { inner: fails_on_2, members: 3 };
    let err = ens.fit_predict(&sim.data, sim.data.x(), Seed::new(1)).expect_err("member 3 fails");
    assert!(err.to_string().contains("member 3 of 3") && err.to_string().contains("diverged"), "{err}");
}

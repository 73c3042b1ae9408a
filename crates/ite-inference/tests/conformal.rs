//! Conformal ITE intervals (Alaa, Ahmad and van der Laan 2023) on simulated data with a known,
//! heterogeneous τ(x): coverage of the true τ(x) of fresh test units and of their pseudo-outcomes,
//! randomized and confounded, with a held-out calibration split and with cross-fitted nuisances.

mod common;

use common::{Sim, share, simulate};
use ite_core::{CausalData, Covariates, PotentialOutcomes, Seed};
use ite_inference::{
    CalibrationSet, ConformalIntervals, FitLearner, Folds, OutcomeLearner, conformal_ite_intervals, dr_pseudo_outcomes,
};
use ite_nets::baselines::OlsTLearnerParams;

const OLS: FitLearner<OlsTLearnerParams> = FitLearner(OlsTLearnerParams { ridge: 0.0 });
const LEVELS: [f64; 2] = [0.9, 0.95];
const DATASETS: u64 = 60;

/// Out-of-sample nuisances and CATE predictions for the calibration units and the test units.
struct Nuisances {
    cal: PotentialOutcomes,
    test: PotentialOutcomes,
}

fn clip(e: &[f64]) -> Vec<f64> {
    e.iter().map(|p| p.clamp(0.01, 0.99)).collect()
}

fn tau_hat(po: &PotentialOutcomes) -> Vec<f64> {
    po.ite()
}

/// Split: fit on `train`, predict the calibration and the test units with that one model.
fn split_nuisances(train: &CausalData, cal: &CausalData, test: &Covariates, seed: Seed) -> Nuisances {
    Nuisances {
        cal: OLS.fit_predict(train, cal.x(), seed).expect("fit"),
        test: OLS.fit_predict(train, test, seed).expect("fit"),
    }
}

/// Cross-fit: 5 stratified folds of `cal`; each unit predicted by the model without its fold,
/// test units by the average of the 5 fold models.
fn crossfit_nuisances(cal: &CausalData, test: &Covariates, seed: Seed) -> Nuisances {
    let folds = Folds::stratified(cal.t(), 5, seed.stream("folds")).expect("folds");
    let n = cal.n();
    let mut oof = PotentialOutcomes { mu0: vec![0.0; n], mu1: vec![0.0; n] };
    let mut avg = PotentialOutcomes { mu0: vec![0.0; test.n_rows()], mu1: vec![0.0; test.n_rows()] };
    for k in 0..folds.k() {
        let train = cal.select(&folds.train(k)).expect("train split");
        let held = folds.test(k);
        let on_held = OLS.fit_predict(&train, &cal.x().select_rows(&held).expect("rows"), seed).expect("fit");
        for (j, &i) in held.iter().enumerate() {
            oof.mu0[i] = on_held.mu0[j];
            oof.mu1[i] = on_held.mu1[j];
        }
        let on_test = OLS.fit_predict(&train, test, seed).expect("fit");
        for j in 0..test.n_rows() {
            avg.mu0[j] += on_test.mu0[j] / folds.k() as f64;
            avg.mu1[j] += on_test.mu1[j] / folds.k() as f64;
        }
    }
    Nuisances { cal: oof, test: avg }
}

/// Coverage of τ(x) and of the test pseudo-outcome, and mean width, per level, pooled over
/// every test unit of every dataset.
#[derive(Default, Clone, Copy)]
struct Tally {
    tau: f64,
    phi: f64,
    width: f64,
}

fn score(iv: &ConformalIntervals, truth: &[f64], phi: &[f64]) -> Tally {
    let inside = |v: &[f64]| share((0..v.len()).map(|j| iv.lower[j] <= v[j] && v[j] <= iv.upper[j]));
    Tally { tau: inside(truth), phi: inside(phi), width: 2.0 * iv.half_width }
}

/// Runs `DATASETS` simulations: calibration data `cal` (and, for the split scheme, as many
/// training units), 500 fresh test units, true propensity clipped to [0.01, 0.99].
fn study(confounded: bool, split: bool) -> [Tally; 2] {
    let mut sum = [Tally::default(); 2];
    for r in 0..DATASETS {
        let root = Seed::new(if split { 31 } else { 32 }).stream(if confounded { "conf" } else { "rct" }).index(r);
        let cal: Sim = simulate(400, confounded, root.stream("cal"));
        let test: Sim = simulate(500, confounded, root.stream("test"));
        let nu = if split {
            let train = simulate(400, confounded, root.stream("train"));
            split_nuisances(&train.data, &cal.data, test.data.x(), root.stream("fit"))
        } else {
            crossfit_nuisances(&cal.data, test.data.x(), root.stream("fit"))
        };
        let (e_cal, e_test) = (clip(&cal.e), clip(&test.e));
        let tau_cal = tau_hat(&nu.cal);
        let set = CalibrationSet {
            y: cal.data.y(),
            t: cal.data.t(),
            mu0: &nu.cal.mu0,
            mu1: &nu.cal.mu1,
            e: &e_cal,
            tau_hat: &tau_cal,
        };
        let phi_test =
            dr_pseudo_outcomes(test.data.y(), test.data.t(), &nu.test.mu0, &nu.test.mu1, &e_test).expect("phi");
        for (l, &level) in LEVELS.iter().enumerate() {
            let iv = conformal_ite_intervals(&set, &tau_hat(&nu.test), level).expect("intervals");
            let s = score(&iv, &test.tau, &phi_test);
            sum[l].tau += s.tau / DATASETS as f64;
            sum[l].phi += s.phi / DATASETS as f64;
            sum[l].width += s.width / DATASETS as f64;
        }
    }
    sum
}

/// Asserts τ(x) coverage ≥ nominal − 3 points at both levels, and pseudo-outcome coverage
/// within `phi_tol` of nominal (or ≥ nominal − 3 points when `phi_tol` is `None`).
fn check(name: &str, res: [Tally; 2], phi_tol: Option<f64>) {
    let msg = LEVELS
        .iter()
        .zip(&res)
        .map(|(level, t)| {
            format!("level {level}: τ(x) coverage {:.3}, φ coverage {:.3}, mean width {:.3}", t.tau, t.phi, t.width)
        })
        .collect::<Vec<_>>()
        .join("; ");
    let msg = format!("{name} over {DATASETS} datasets × 500 test units: {msg}");
    eprintln!("{msg}");
    for (level, t) in LEVELS.iter().zip(&res) {
        assert!(t.tau >= level - 0.03, "{msg}");
        match phi_tol {
            Some(tol) => assert!((t.phi - level).abs() <= tol, "{msg}"),
            None => assert!(t.phi >= level - 0.03, "{msg}"),
        }
    }
}

/// In the randomized design with e = 1/2 and correct outcome models, φ − τ(x) = ±2ε with
/// ε ~ N(0, 1), so the oracle half-width is 2·z_{(1+level)/2}: the mean width must be within 5%
/// of 4·z (a check that the intervals are not merely wide).
fn check_oracle_width(res: &[Tally; 2]) {
    for (&level, t) in LEVELS.iter().zip(res) {
        let oracle = 4.0 * ite_inference::z_two_sided(level).expect("z");
        assert!((t.width / oracle - 1.0).abs() < 0.05, "level {level}: mean width {:.3}, oracle {oracle:.3}", t.width);
    }
}

#[test]
fn split_conformal_covers_tau_in_a_randomized_trial() {
    let res = study(false, true);
    check("split, randomized", res, Some(0.015));
    check_oracle_width(&res);
}

#[test]
fn split_conformal_covers_tau_under_confounding() {
    check("split, confounded e = logistic(x1)", study(true, true), Some(0.015));
}

#[test]
fn crossfitted_conformal_covers_tau_in_a_randomized_trial() {
    let res = study(false, false);
    check("cross-fitted (5 folds), randomized", res, None);
    check_oracle_width(&res);
}

#[test]
fn crossfitted_conformal_covers_tau_under_confounding() {
    check("cross-fitted (5 folds), confounded e = logistic(x1)", study(true, false), None);
}

#[test]
fn bad_inputs_are_refused() {
    let (y, t) = (vec![1.0; 10], vec![0u8, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    let (zero, half) = (vec![0.0; 10], vec![0.5; 10]);
    let ok = CalibrationSet { y: &y, t: &t, mu0: &zero, mu1: &zero, e: &half, tau_hat: &zero };
    // 10 units support level 10/11 at most.
    assert!(conformal_ite_intervals(&ok, &[0.0], 0.9).is_ok());
    let err = conformal_ite_intervals(&ok, &[0.0], 0.95).expect_err("too few");
    assert!(err.to_string().contains("at least 19"), "{err}");
    assert!(conformal_ite_intervals(&ok, &[0.0], 1.0).is_err());
    let e_bad = [vec![0.5; 9], vec![1.0]].concat();
    let err = conformal_ite_intervals(&CalibrationSet { e: &e_bad, ..ok }, &[0.0], 0.9).expect_err("e = 1");
    assert!(err.to_string().contains("propensity of unit 10"), "{err}");
    let err = conformal_ite_intervals(&CalibrationSet { tau_hat: &zero[..9], ..ok }, &[0.0], 0.9).expect_err("short");
    assert!(err.to_string().contains("9 values against 10"), "{err}");
    assert!(conformal_ite_intervals(&CalibrationSet { mu1: &zero[..9], ..ok }, &[0.0], 0.9).is_err());
    assert!(conformal_ite_intervals(&ok, &[f64::NAN], 0.9).is_err());
}

#[test]
fn the_half_width_is_the_ranked_score() {
    // Scores |φ − τ̂| with τ̂ = 0, μ = 0, e = 1/2: φ = 2y (treated) or −2y (control) → |2y|.
    let y: Vec<f64> = (1..=19).map(f64::from).collect();
    let t: Vec<u8> = (0..19).map(|i| (i % 2) as u8).collect();
    let (zero, half) = (vec![0.0; 19], vec![0.5; 19]);
    let cal = CalibrationSet { y: &y, t: &t, mu0: &zero, mu1: &zero, e: &half, tau_hat: &zero };
    let iv = conformal_ite_intervals(&cal, &[1.0, -2.0], 0.8).expect("intervals");
    // ⌈20 · 0.8⌉ = 16 → the 16th smallest of 2, 4, …, 38 is 32.
    assert_eq!((iv.rank, iv.half_width, iv.n_calibration), (16, 32.0, 19));
    assert_eq!((iv.lower, iv.upper), (vec![-31.0, -34.0], vec![33.0, 30.0]));
}

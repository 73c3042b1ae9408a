//! The OLS T- and S-learners: they recover Simulation 1's linear effect on a
//! large draw, agree with each other, and refuse singular designs and wrong
//! covariates with clear errors.

use ite_core::{CausalData, Covariates, Dgp, Fit, IteModel, Params, Seed};
use ite_dgp::{Assignment, Sim1Params, Sim1Source, Sim1Target};
use ite_nets::NetsError;
use ite_nets::baselines::{OlsSLearnerParams, OlsTLearnerParams};

fn rmse_to_truth(data: &CausalData, tau_hat: &[f64]) -> f64 {
    let tau = data.truth().unwrap().ite();
    let s: f64 = tau.iter().zip(tau_hat).map(|(a, b)| (a - b).powi(2)).sum();
    (s / tau.len() as f64).sqrt()
}

#[test]
fn t_and_s_learners_recover_sim1s_exact_effect() {
    let train = Sim1Source::default().sample_seeded(200_000, Seed::new(1)).unwrap();
    let test = Sim1Source::default().sample_seeded(10_000, Seed::new(2)).unwrap();
    let t = OlsTLearnerParams::default().fit(&train, Seed::new(0)).unwrap();
    let s = OlsSLearnerParams::default().fit(&train, Seed::new(0)).unwrap();
    // Coefficients: μ0 = 0.3·Σx, μ1 = 1 + 0.35·Σx. Each OLS slope has se ≈ σ/sqrt(n_arm·(1 − R²_j))
    // ≈ 1/sqrt(100000·0.6) ≈ 0.004; allow 5 se = 0.02.
    let (c0, c1) = (t.control_coefficients(), t.treated_coefficients());
    assert!(c0[0].abs() < 0.02 && (c1[0] - 1.0).abs() < 0.02, "intercepts {c0:?} {c1:?}");
    for j in 1..=5 {
        assert!((c0[j] - 0.3).abs() < 0.02, "control slope {j}: {}", c0[j]);
        assert!((c1[j] - 0.35).abs() < 0.02, "treated slope {j}: {}", c1[j]);
    }
    let e = s.effect_coefficients();
    assert!((e[0] - 1.0).abs() < 0.02 && e[1..].iter().all(|b| (b - 0.05).abs() < 0.02), "{e:?}");
    let b = s.baseline_coefficients();
    assert!(b[0].abs() < 0.02 && b[1..].iter().all(|v| (v - 0.3).abs() < 0.02), "{b:?}");
    // Out of sample, τ̂ is within a few hundredths of τ(x) = 1 + 0.05·Σx.
    let (tt, ts) = (t.ite(test.x()).unwrap(), s.ite(test.x()).unwrap());
    let (rt, rs) = (rmse_to_truth(&test, &tt), rmse_to_truth(&test, &ts));
    assert!(rt < 0.03 && rs < 0.03, "√PEHE T {rt}, S {rs}");
    // Unpenalised, the fully interacted S-learner is the T-learner.
    for (a, b) in tt.iter().zip(&ts) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    let po = t.predict(test.x()).unwrap();
    let truth = test.truth().unwrap();
    let mse0: f64 = po.mu0.iter().zip(&truth.mu0).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / 10_000.0;
    assert!(mse0.sqrt() < 0.03, "μ0 rmse {}", mse0.sqrt());
}

#[test]
fn noiseless_data_is_fitted_exactly() {
    let params = Sim1Params { noise_sd: 0.0, ..Sim1Params::default() };
    let data = Sim1Source::new(params).sample_seeded(500, Seed::new(3)).unwrap();
    for tau_hat in [
        OlsTLearnerParams::default().fit(&data, Seed::new(0)).unwrap().ite(data.x()).unwrap(),
        OlsSLearnerParams::default().fit(&data, Seed::new(0)).unwrap().ite(data.x()).unwrap(),
    ] {
        assert!(rmse_to_truth(&data, &tau_hat) < 1e-5);
    }
}

#[test]
fn confounded_target_misleads_the_s_learner_without_interactions() {
    // On the biased target, no covariate adjustment removes the confounding: the
    // constant-effect S-learner's estimate is far above the true ATE of 1.
    let data = Sim1Target::new(Assignment::Biased).sample_seeded(50_000, Seed::new(4)).unwrap();
    let m = OlsSLearnerParams { interactions: false, ..Default::default() }.fit(&data, Seed::new(0)).unwrap();
    let ate = m.ate(data.x()).unwrap();
    assert!(ate > 1.5, "ATE estimate {ate}");
}

#[test]
fn ridge_shrinks_and_is_validated() {
    let data = Sim1Source::default().sample_seeded(300, Seed::new(5)).unwrap();
    let plain = OlsTLearnerParams::default().fit(&data, Seed::new(0)).unwrap();
    let ridge = OlsTLearnerParams { ridge: 1e4 }.fit(&data, Seed::new(0)).unwrap();
    let norm = |c: &[f64]| c[1..].iter().map(|v| v * v).sum::<f64>();
    assert!(norm(ridge.control_coefficients()) < 0.1 * norm(plain.control_coefficients()));
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let e = OlsTLearnerParams { ridge: bad }.validate().unwrap_err().to_string();
        assert!(e.contains("`ridge`"), "{e}");
        let e = OlsSLearnerParams { ridge: bad, ..Default::default() }.fit(&data, Seed::new(0)).unwrap_err();
        assert!(matches!(e, NetsError::Settings(_)), "{e}");
    }
}

fn with_x(data: &CausalData, values: Vec<f64>, names: &[&str]) -> CausalData {
    let x = Covariates::new(values, names.iter().map(|s| s.to_string()).collect()).unwrap();
    CausalData::new(x, data.t().to_vec(), data.y().to_vec()).unwrap()
}

#[test]
fn singular_designs_are_errors_naming_the_column() {
    let data = Sim1Source::default().sample_seeded(400, Seed::new(6)).unwrap();
    // x3 = x1 + x2: collinear.
    let mut v = Vec::new();
    for r in data.x().rows() {
        v.extend([r[0], r[1], r[0] + r[1]]);
    }
    let collinear = with_x(&data, v, &["a", "b", "c"]);
    let e = OlsTLearnerParams::default().fit(&collinear, Seed::new(0)).unwrap_err().to_string();
    assert!(e.contains("singular design") && e.contains("`c`"), "{e}");
    let e = OlsSLearnerParams::default().fit(&collinear, Seed::new(0)).unwrap_err().to_string();
    assert!(e.contains("singular design") && e.contains("`c`"), "{e}");
    // A ridge penalty makes it solvable.
    assert!(OlsTLearnerParams { ridge: 0.1 }.fit(&collinear, Seed::new(0)).is_ok());
    // A constant covariate duplicates the intercept.
    let constant = with_x(&data, data.x().rows().flat_map(|r| [r[0], 3.0]).collect(), &["a", "k"]);
    let e = OlsSLearnerParams::default().fit(&constant, Seed::new(0)).unwrap_err().to_string();
    assert!(e.contains("`k`") && e.contains("(intercept)"), "{e}");
    // Too few units in an arm for the coefficients.
    let tiny = data.select(&(0..8).collect::<Vec<_>>()).unwrap();
    let e = OlsTLearnerParams::default().fit(&tiny, Seed::new(0)).unwrap_err().to_string();
    assert!(e.contains("cannot determine 6 coefficients"), "{e}");
    // One arm empty.
    let one_arm: Vec<usize> = (0..data.n()).filter(|&i| data.t()[i] == 1).collect();
    let e = OlsTLearnerParams::default().fit(&data.select(&one_arm).unwrap(), Seed::new(0)).unwrap_err();
    assert!(e.to_string().contains("control arm is empty"), "{e}");
}

#[test]
fn wrong_covariates_at_predict_are_errors() {
    let data = Sim1Source::default().sample_seeded(300, Seed::new(7)).unwrap();
    let t = OlsTLearnerParams::default().fit(&data, Seed::new(0)).unwrap();
    let s = OlsSLearnerParams::default().fit(&data, Seed::new(0)).unwrap();
    let renamed =
        Covariates::new(data.x().values().to_vec(), ["a", "b", "c", "d", "e"].map(String::from).to_vec()).unwrap();
    let fewer = Covariates::with_default_names(vec![0.0; 12], 4).unwrap();
    for x in [&renamed, &fewer] {
        let e = t.predict(x).unwrap_err().to_string();
        assert!(e.contains("fitted on covariates [x1, x2, x3, x4, x5]"), "{e}");
        assert!(s.ite(x).is_err());
    }
}

/// `data`'s covariates plus an indicator `x_missing` that is 1 on the first treated row only
/// (a missingness indicator of one gap, or a category level seen once).
fn with_rare_indicator(data: &CausalData) -> (CausalData, usize) {
    let first_treated = (0..data.n()).find(|&i| data.t()[i] == 1).unwrap();
    let mut v = Vec::new();
    for (i, r) in data.x().rows().enumerate() {
        v.extend(r.iter().copied());
        v.push(f64::from(u8::from(i == first_treated)));
    }
    let mut names: Vec<String> = data.feature_names().to_vec();
    names.push("x_missing".into());
    let x = Covariates::new(v, names).unwrap();
    (CausalData::new(x, data.t().to_vec(), data.y().to_vec()).unwrap(), first_treated)
}

#[test]
fn a_column_constant_zero_in_the_fitted_rows_gets_coefficient_zero() {
    let data = Sim1Source::default().sample_seeded(400, Seed::new(8)).unwrap();
    let (rare, row) = with_rare_indicator(&data);
    let plain = OlsTLearnerParams::default().fit(&data, Seed::new(0)).unwrap();
    // Control arm: the indicator is zero in every row; it gets 0 and the rest is the fit without it.
    let t = OlsTLearnerParams::default().fit(&rare, Seed::new(0)).unwrap();
    assert_eq!(t.control_coefficients()[6], 0.0);
    for (a, b) in t.control_coefficients()[..6].iter().zip(plain.control_coefficients()) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    let po = t.predict(rare.x()).unwrap();
    assert!(po.mu0.iter().chain(&po.mu1).all(|v| v.is_finite()));
    assert!((po.mu0[row] - plain.predict(data.x()).unwrap().mu0[row]).abs() < 1e-9);
    // S-learner: t·x_missing is not constant zero (one treated row), but with the indicator
    // on a control row only, t·x_missing is, and gets 0.
    let first_control = (0..data.n()).find(|&i| data.t()[i] == 0).unwrap();
    let mut v = Vec::new();
    for (i, r) in data.x().rows().enumerate() {
        v.extend(r.iter().copied());
        v.push(f64::from(u8::from(i == first_control)));
    }
    let names = ["x1", "x2", "x3", "x4", "x5", "x_missing"];
    let control_only = with_x(&data, v, &names);
    let s = OlsSLearnerParams::default().fit(&control_only, Seed::new(0)).unwrap();
    assert!(s.baseline_coefficients()[6] != 0.0);
    assert_eq!(s.effect_coefficients()[6], 0.0);
    assert!(s.ite(control_only.x()).unwrap().iter().all(|v| v.is_finite()));
    // With the indicator on a treated row only, x_missing would duplicate t·x_missing: it says
    // nothing about μ0 and gets 0; the fit equals the T-learner's.
    let s = OlsSLearnerParams::default().fit(&rare, Seed::new(0)).unwrap();
    assert_eq!(s.baseline_coefficients()[6], 0.0);
    for (a, b) in s.ite(rare.x()).unwrap().iter().zip(t.ite(rare.x()).unwrap()) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    // A column zero everywhere: 0 in both learners, no error.
    let zeros = with_x(&data, data.x().rows().flat_map(|r| [r[0], 0.0]).collect(), &["a", "z"]);
    let t = OlsTLearnerParams::default().fit(&zeros, Seed::new(0)).unwrap();
    assert_eq!((t.control_coefficients()[2], t.treated_coefficients()[2]), (0.0, 0.0));
    let s = OlsSLearnerParams::default().fit(&zeros, Seed::new(0)).unwrap();
    assert_eq!((s.baseline_coefficients()[2], s.effect_coefficients()[2]), (0.0, 0.0));
}

#[test]
fn a_singular_design_names_the_config_key() {
    let data = Sim1Source::default().sample_seeded(200, Seed::new(9)).unwrap();
    let doubled = with_x(&data, data.x().rows().flat_map(|r| [r[0], 2.0 * r[0]]).collect(), &["a", "b"]);
    let e = OlsTLearnerParams::default().fit(&doubled, Seed::new(0)).unwrap_err().to_string();
    assert!(e.contains("`b` is a linear combination of (intercept), a"), "{e}");
    assert!(e.contains("`ridge = 0.001` in a TOML file given to `--config`"), "{e}");
}

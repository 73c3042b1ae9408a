//! Binary (0/1) outcomes: on simulated logistic data with a known risk difference, TARNet, CFR,
//! the MLP T-learner and the logistic T- and S-learners predict means in (0, 1) and recover the
//! average risk difference; a binary model saves and loads with identical predictions; a binary
//! fit refuses an outcome other than 0 or 1; parameters saved without `outcome_type` read as
//! continuous.

use ite_core::{CausalData, Covariates, Fit, IteModel, OutcomeType, Seed, Truth};
use ite_nets::baselines::LogisticParams;
use ite_nets::outcome::sigmoid;
use ite_nets::{FittedTarNet, Ipm, MlpTLearnerParams, TarNetParams};
use rand::RngExt;

/// n units, p = 4 covariates ~ U(−1.7, 1.7), t ~ Bernoulli(σ(0.4·x1)) (confounded),
/// logit μ0 = −0.3 + 0.9·x1 − 0.6·x2 (+ 0.5·x2² − 0.5 when `nonlinear`),
/// logit μ1 = logit μ0 + 0.8 + 0.5·x3 (+ 0.6·|x4| − 0.5 when `nonlinear`), y ~ Bernoulli(μ_t);
/// the truth holds μ0, μ1 (probabilities), so its ATE is the sample's average risk difference.
fn logistic_data(n: usize, seed: u64, nonlinear: bool) -> CausalData {
    let mut rng = Seed::new(seed).rng();
    let p = 4;
    let (mut x, mut t, mut y, mut mu0, mut mu1) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let r: Vec<f64> = (0..p).map(|_| (rng.random::<f64>() - 0.5) * 3.4).collect();
        let bend = if nonlinear { (0.5 * r[1] * r[1] - 0.5, 0.6 * r[3].abs() - 0.5) } else { (0.0, 0.0) };
        let l0 = -0.3 + 0.9 * r[0] - 0.6 * r[1] + bend.0;
        let l1 = l0 + 0.8 + 0.5 * r[2] + bend.1;
        let ti = u8::from(rng.random::<f64>() < sigmoid(0.4 * r[0]));
        let m = if ti == 1 { sigmoid(l1) } else { sigmoid(l0) };
        y.push(f64::from(u8::from(rng.random::<f64>() < m)));
        t.push(ti);
        mu0.push(sigmoid(l0));
        mu1.push(sigmoid(l1));
        x.extend(r);
    }
    let x = Covariates::with_default_names(x, p).expect("covariates");
    CausalData::from_parts(x, t, y, Some(Truth { mu0, mu1 }), None).expect("data")
}

/// Every predicted mean strictly inside (0, 1); the estimated ATE (a risk difference) within
/// `tol` of the sample's true average risk difference.
fn check(what: &str, mu0: &[f64], mu1: &[f64], data: &CausalData, tol: f64) {
    assert!(mu0.iter().chain(mu1).all(|&m| m > 0.0 && m < 1.0), "{what}: a predicted mean outside (0, 1)");
    let ate = mu1.iter().zip(mu0).map(|(a, b)| a - b).sum::<f64>() / mu0.len() as f64;
    let truth = data.truth().expect("truth").ate();
    assert!((ate - truth).abs() < tol, "{what}: estimated risk difference {ate:.4}, true {truth:.4}");
}

fn binary(params: TarNetParams) -> TarNetParams {
    params.with_outcome_type(OutcomeType::Binary)
}

#[test]
fn tarnet_and_cfr_recover_a_risk_difference_on_nonlinear_logistic_data() -> anyhow::Result<()> {
    let data = logistic_data(2000, 11, true);
    let truth = data.truth().expect("truth").ate();
    assert!(truth > 0.1, "the simulated risk difference {truth} is far from 0, so a null model fails");
    for params in [
        binary(TarNetParams::study_small().with_max_epochs(60).with_patience(10)),
        binary(TarNetParams::study_small().with_max_epochs(60).with_patience(10)).with_ipm(Ipm::LinearMmd, 1.0),
    ] {
        let model = params.fit(&data, Seed::new(4))?;
        let pred = model.predict(data.x())?;
        check(&format!("TARNet α = {}", params.alpha), &pred.mu0, &pred.mu1, &data, 0.05);
        // The outcome is not standardised: the heads are logits of the raw 0/1 outcome.
        assert_eq!(model.y_scaler(), &ite_nets::Standardizer::identity(1));
    }
    Ok(())
}

#[test]
fn logistic_and_mlp_learners_recover_a_risk_difference() -> anyhow::Result<()> {
    let data = logistic_data(3000, 12, false);
    let t = LogisticParams::default().t_learner().fit(&data, Seed::new(0))?;
    let pred = t.predict(data.x())?;
    check("logistic T-learner", &pred.mu0, &pred.mu1, &data, 0.04);
    // Well specified: the treated arm's logit slope on x3 is ≈ 0.5, the control's ≈ 0.
    let (c0, c1) = (t.control_coefficients(), t.treated_coefficients());
    assert!((c1[3] - 0.5).abs() < 0.2 && c0[3].abs() < 0.2, "x3 slopes {} and {}", c0[3], c1[3]);
    let s = LogisticParams::default().s_learner().fit(&data, Seed::new(0))?;
    let pred = s.predict(data.x())?;
    check("logistic S-learner", &pred.mu0, &pred.mu1, &data, 0.04);
    let mlp = MlpTLearnerParams {
        layers: vec![32, 32],
        max_epochs: 60,
        outcome_type: OutcomeType::Binary,
        ..Default::default()
    }
    .fit(&data, Seed::new(1))?;
    let pred = mlp.predict(data.x())?;
    check("MLP T-learner", &pred.mu0, &pred.mu1, &data, 0.05);
    Ok(())
}

#[test]
fn a_binary_fit_refuses_other_outcomes_and_a_one_class_arm() -> anyhow::Result<()> {
    let data = logistic_data(200, 13, false);
    let mut y = data.y().to_vec();
    y[7] = 0.5;
    let bad = CausalData::new(data.x().clone(), data.t().to_vec(), y)?;
    let e = binary(TarNetParams::study_small()).fit(&bad, Seed::new(1)).expect_err("0.5 is not binary");
    assert!(e.to_string().contains("row 8 is 0.5"), "{e}");
    let e = LogisticParams::default().t_learner().fit(&bad, Seed::new(1)).expect_err("0.5");
    assert!(e.to_string().contains("row 8 is 0.5"), "{e}");
    // The same data fit as continuous is fine.
    TarNetParams::study_small().with_max_epochs(2).fit(&bad, Seed::new(1))?;
    let ones = CausalData::new(data.x().clone(), data.t().to_vec(), vec![1.0; 200])?;
    let e = LogisticParams::default().t_learner().fit(&ones, Seed::new(1)).expect_err("one class");
    assert!(e.to_string().contains("control arm: every outcome is 1"), "{e}");
    Ok(())
}

#[test]
fn a_binary_model_round_trips_through_save_and_load() -> anyhow::Result<()> {
    let data = logistic_data(400, 14, true);
    let model = binary(TarNetParams::study_small().with_max_epochs(5)).fit(&data, Seed::new(2))?;
    let dir = tempfile::tempdir()?;
    model.save(dir.path())?;
    let loaded = FittedTarNet::load(dir.path())?;
    assert_eq!(loaded.outcome_type(), OutcomeType::Binary);
    let (a, b) = (model.predict(data.x())?, loaded.predict(data.x())?);
    assert_eq!(a.mu0, b.mu0);
    assert_eq!(a.mu1, b.mu1);
    // A model.json written before the field existed reads as continuous: the same heads then
    // predict raw logits, not probabilities.
    let meta_path = dir.path().join(ite_nets::persist::META_FILE);
    let mut meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&meta_path)?)?;
    let removed = meta["params"].as_object_mut().expect("params").remove("outcome_type");
    assert_eq!(removed, Some(serde_json::json!("binary")));
    std::fs::write(&meta_path, serde_json::to_string(&meta)?)?;
    let old = FittedTarNet::load(dir.path())?;
    assert_eq!(old.outcome_type(), OutcomeType::Continuous);
    let logits = old.predict(data.x())?;
    for (p, z) in a.mu0.iter().zip(&logits.mu0) {
        assert!((p - sigmoid(*z)).abs() < 1e-12);
    }
    Ok(())
}

#[test]
fn logistic_learners_give_a_column_zero_in_the_fitted_rows_coefficient_zero() -> anyhow::Result<()> {
    // As the OLS learners: an indicator that is 1 on one treated row only is zero in the control
    // arm (T-learner) and, on one control row only, t·indicator is zero (S-learner).
    let data = logistic_data(400, 12, false);
    for arm in [1u8, 0] {
        let first = (0..data.n()).find(|&i| data.t()[i] == arm).expect("row");
        let mut v = Vec::new();
        for (i, r) in data.x().rows().enumerate() {
            v.extend(r.iter().copied());
            v.push(f64::from(u8::from(i == first)));
        }
        let names = ["x1", "x2", "x3", "x4", "x_missing"].map(String::from).to_vec();
        let rare = CausalData::new(Covariates::new(v, names)?, data.t().to_vec(), data.y().to_vec())?;
        for ridge in [1.0, 0.0] {
            let p = LogisticParams { ridge, ..Default::default() };
            let t = p.clone().t_learner().fit(&rare, Seed::new(0))?;
            let zero_arm = if arm == 1 { t.control_coefficients() } else { t.treated_coefficients() };
            assert_eq!(zero_arm[5], 0.0, "ridge {ridge}, indicator in arm {arm}");
            let po = t.predict(rare.x())?;
            assert!(po.mu0.iter().chain(&po.mu1).all(|&m| m > 0.0 && m < 1.0));
            let s = p.s_learner().fit(&rare, Seed::new(0))?;
            if arm == 0 {
                assert_eq!(s.effect_coefficients()[5], 0.0, "ridge {ridge}");
            } else {
                assert_eq!(s.baseline_coefficients()[5], 0.0, "ridge {ridge}");
            }
            assert!(s.ite(rare.x())?.iter().all(|v| v.is_finite()));
        }
    }
    Ok(())
}

//! Numeric precision (issue 14 §4): outcomes, truths and covariates are kept in `f64` and
//! centred or standardised in `f64` before anything is rounded to `f32` for a network, so an
//! outcome level of 10⁹ (or a covariate like a timestamp at 1.7·10⁹) with differences of order 1
//! keeps its ITEs and true ATE to 1e-6 relative.

mod common;

use ite_core::{CausalData, Covariates, Fit, IteModel, Seed, Truth};
use ite_nets::Standardizer;
use ite_nets::baselines::OlsTLearnerParams;

/// n units at outcome level `level`: x1 small, x2 = `x2_level` + i (a timestamp-like
/// covariate); mu0 = level + 0.5·x1 + 0.01·(x2 − x2_level), mu1 = mu0 + 1.5 + `slope`·x1;
/// y = mu_t + `noise`·(deterministic noise).
fn data(n: usize, level: f64, x2_level: f64, slope: f64, noise: f64) -> CausalData {
    let (mut x, mut t, mut y, mut mu0, mut mu1) = (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let x1 = (i as f64 * 0.37).sin() * 2.0;
        let step = (i * 7 % n) as f64;
        x.extend([x1, x2_level + step]);
        let m0 = level + 0.5 * x1 + 0.01 * step;
        let m1 = m0 + 1.5 + slope * x1;
        let ti = u8::from(i % 3 != 0);
        t.push(ti);
        y.push(if ti == 1 { m1 } else { m0 } + noise * ((i * 13 % 11) as f64 - 5.0) / 5.0);
        mu0.push(m0);
        mu1.push(m1);
    }
    let x = Covariates::new(x, vec!["x1".into(), "x2".into()]).unwrap();
    CausalData::from_parts(x, t, y, Some(Truth::new(mu0, mu1).unwrap()), None).unwrap()
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| (u - v).abs() / v.abs().max(1.0)).fold(0.0, f64::max)
}

#[test]
fn true_ate_and_ols_ites_keep_an_effect_of_1_5_at_levels_3e7_and_1e9() {
    for level in [3e7, 1e9] {
        let d = data(500, level, 0.0, 0.0, 0.0);
        let truth = d.truth().unwrap();
        assert!((truth.ate() - 1.5).abs() <= 1.5e-6, "level {level}: true ATE {}", truth.ate());
        assert!(truth.ite().iter().all(|v| (v - 1.5).abs() <= 1.5e-6), "level {level}");
        let model = OlsTLearnerParams::default().fit(&d, Seed::new(1)).unwrap();
        let ite = model.ite(d.x()).unwrap();
        assert!(ite.iter().all(|v| (v - 1.5).abs() <= 1.5e-6), "level {level}: ITEs {:?}", &ite[..5]);
    }
}

#[test]
fn ols_ites_do_not_depend_on_the_outcome_level() {
    let base = data(400, 0.0, 0.0, 0.3, 0.4);
    let ite0 = OlsTLearnerParams::default().fit(&base, Seed::new(1)).unwrap().ite(base.x()).unwrap();
    let high = data(400, 1e9, 0.0, 0.3, 0.4);
    let ite9 = OlsTLearnerParams::default().fit(&high, Seed::new(1)).unwrap().ite(high.x()).unwrap();
    assert!(max_rel(&ite9, &ite0) <= 1e-6, "{}", max_rel(&ite9, &ite0));
    let (t0, t9) = (base.truth().unwrap(), high.truth().unwrap());
    assert!((t9.ate() - t0.ate()).abs() <= 1e-6 * t0.ate().abs(), "{} vs {}", t9.ate(), t0.ate());
}

#[test]
fn a_timestamp_covariate_keeps_its_differences() {
    // x2 = 1.7e9 + (0..n): f32 would round it to steps of 128.
    let d = data(300, 1e9, 1.7e9, 0.0, 0.0);
    let ite = OlsTLearnerParams::default().fit(&d, Seed::new(1)).unwrap().ite(d.x()).unwrap();
    assert!(ite.iter().all(|v| (v - 1.5).abs() <= 1.5e-6), "{:?}", &ite[..5]);
    let s = Standardizer::fit_skip_binary(d.x().values(), 2);
    let z = s.transform(d.x().values());
    let steps: Vec<f64> = (0..300).map(|i| (i * 7 % 300) as f64).collect();
    let m = steps.iter().sum::<f64>() / 300.0;
    let sd = (steps.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 300.0).sqrt();
    for (i, step) in steps.iter().enumerate() {
        let want = (step - m) / sd;
        assert!((f64::from(z[2 * i + 1]) - want).abs() <= 1e-6, "row {i}: {} vs {want}", z[2 * i + 1]);
    }
}

#[test]
fn the_outcome_scaler_keeps_differences_at_level_1e9() {
    let y: Vec<f64> = (0..100).map(|i| 1e9 + 0.01 * i as f64).collect();
    let s = Standardizer::fit(&y, 1);
    assert!((s.mean[0] - (1e9 + 0.495)).abs() <= 1e-6, "{}", s.mean[0]);
    let z = s.transform(&y);
    for (i, (zi, yi)) in z.iter().zip(&y).enumerate().skip(1) {
        let back = s.inverse_1(*zi);
        let prev = s.inverse_1(z[i - 1]);
        assert!(((back - prev) - 0.01).abs() <= 1e-6, "row {i}: {}", back - prev);
        assert!((back - yi).abs() <= 1e-6, "row {i}: {back} vs {yi}");
    }
}

#[test]
fn a_network_s_ites_do_not_depend_on_the_outcome_level() {
    let params = common::quick_params().with_max_epochs(5);
    let base = data(300, 0.0, 1.7e9, 0.3, 0.4);
    let high = data(300, 1e9, 1.7e9, 0.3, 0.4);
    let ite0 = params.fit(&base, Seed::new(4)).unwrap().ite(base.x()).unwrap();
    let ite9 = params.fit(&high, Seed::new(4)).unwrap().ite(high.x()).unwrap();
    let rel = max_rel(&ite9, &ite0);
    eprintln!("max relative ITE difference {rel:e}");
    assert!(rel <= 1e-6, "{rel}");
}

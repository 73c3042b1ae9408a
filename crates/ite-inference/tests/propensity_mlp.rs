//! Issue 15, the small network as the propensity option: on a propensity that is not linear in
//! the logit, the cross-fitted MLP propensity (`ite_nets::MlpPropensityParams`) is closer to the
//! truth than the logistic regression, and AIPW with it rescues an outcome model that is wrong
//! (the OLS T-learner on nonlinear outcomes), where the logistic propensity cannot.

use ite_core::{CausalData, Covariates, Seed};
use ite_inference::{AipwParams, FitLearner, Folds, PropensityParams, cross_fit_propensity};
use ite_nets::MlpPropensityParams;
use ite_nets::baselines::OlsTLearnerParams;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

const P: usize = 3;

fn logistic(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// `n` units with x1, x2, x3 standard normal (x3 irrelevant), treatment with logit `logit(x)`,
/// outcome y = `mu0(x)` + t + N(0, 1) (so the ATE is 1); with the true propensities.
fn draw(n: usize, logit: impl Fn(&[f64]) -> f64, mu0: impl Fn(&[f64]) -> f64, seed: Seed) -> (CausalData, Vec<f64>) {
    let mut rng = seed.rng();
    let (mut xs, mut t, mut y, mut e) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let x: Vec<f64> = (0..P).map(|_| StandardNormal.sample(&mut rng)).collect();
        let ei = logistic(logit(&x));
        let ti = u8::from(rng.random::<f64>() < ei);
        let noise: f64 = StandardNormal.sample(&mut rng);
        y.push(mu0(&x) + f64::from(ti) + noise);
        t.push(ti);
        e.push(ei);
        xs.extend(x);
    }
    (CausalData::new(Covariates::with_default_names(xs, P).unwrap(), t, y).unwrap(), e)
}

fn mean_abs_error(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| (u - v).abs()).sum::<f64>() / a.len() as f64
}

/// logit e = 2·sin(2·x1) + x2², n = 3000, 5 folds: the logistic model cannot bend, the network can.
#[test]
fn mlp_propensity_beats_logistic_on_a_nonlinear_logit() {
    let (data, truth) = draw(3000, |x| 2.0 * (2.0 * x[0]).sin() + x[1] * x[1], |x| x[0], Seed::new(41));
    let folds = Folds::stratified(data.t(), 5, Seed::new(2)).unwrap();
    let logistic_e = PropensityParams::default().cross_fit(data.x(), data.t(), &folds).unwrap();
    let mlp_e =
        cross_fit_propensity(&MlpPropensityParams::default(), data.x(), data.t(), &folds, 0.01, Seed::new(3)).unwrap();
    let (l, m) = (mean_abs_error(&logistic_e, &truth), mean_abs_error(&mlp_e, &truth));
    eprintln!("mean |ê − e|: logistic {l:.4}, mlp {m:.4}");
    assert!(m < MARGIN_A * l, "mean |ê − e|: mlp {m:.4} should be well below logistic {l:.4}");
    // Same seed, same folds: the same propensities.
    let again =
        cross_fit_propensity(&MlpPropensityParams::default(), data.x(), data.t(), &folds, 0.01, Seed::new(3)).unwrap();
    assert_eq!(mlp_e, again);
}

/// Measured: logistic 0.2369, mlp 0.0452 (ratio 0.19).
const MARGIN_A: f64 = 0.4;

/// Outcome and propensity both nonlinear in x2 (μ0 = x1 + 0.25·x2², logit e = 0.5·x1 +
/// 0.5·(x2² − 1)), n = 1000: the OLS T-learner misses x2² and the logistic propensity cannot
/// bend, so AIPW is right only with the network's propensity. (With μ0 = x1 + x2² the network's
/// remaining error still left a bias of 0.17 and 70% coverage at n = 1000: it rescues a moderate
/// misspecification, not any.)
fn misspecified(seed: Seed) -> CausalData {
    draw(1000, |x| 0.5 * x[0] + 0.5 * (x[1] * x[1] - 1.0), |x| x[0] + 0.25 * x[1] * x[1], seed).0
}

const REPS: u64 = 60;

#[test]
fn aipw_with_the_mlp_propensity_rescues_a_misspecified_outcome_model() {
    let learner = FitLearner(OlsTLearnerParams::default());
    let params = AipwParams::default();
    let mlp = MlpPropensityParams::default();
    let (mut hits_mlp, mut hits_logistic) = (0u64, 0u64);
    let (mut bias_mlp, mut bias_logistic) = (0.0, 0.0);
    for r in 0..REPS {
        let data = misspecified(Seed::new(77).index(r));
        let seed = Seed::new(8).index(r);
        let a = params.estimate_with(&data, &learner, &mlp, None, seed).unwrap().effects.ate;
        let b = params.estimate(&data, &learner, None, seed).unwrap().effects.ate;
        hits_mlp += u64::from(a.covers(1.0));
        hits_logistic += u64::from(b.covers(1.0));
        bias_mlp += (a.estimate - 1.0) / REPS as f64;
        bias_logistic += (b.estimate - 1.0) / REPS as f64;
    }
    let (cm, cl) = (hits_mlp as f64 / REPS as f64, hits_logistic as f64 / REPS as f64);
    eprintln!(
        "ATE coverage over {REPS} datasets: mlp {cm:.3} (mean bias {bias_mlp:+.3}), logistic {cl:.3} (mean bias \
         {bias_logistic:+.3})"
    );
    // At a true coverage of 95%, the count of 60 covering intervals is Binomial(60, 0.95): mean
    // 57, sd √(60·0.95·0.05) ≈ 1.7, and P(count ≤ 52) ≈ 0.01; 0.88·60 = 52.8, so a correct
    // method fails this about 1% of the time, while the seeds are fixed (the test is
    // deterministic). A method that covers 80% would pass with probability ≈ 7%, so the logistic
    // comparison printed beside it is what shows the rescue.
    // Measured: mlp 0.933 (bias +0.043), logistic 0.183 (bias +0.187).
    assert!(cm >= 0.88, "AIPW with the MLP propensity covered the ATE in {cm:.3} of {REPS} datasets");
    assert!(cl < 0.5, "the logistic propensity should not rescue this outcome model: coverage {cl:.3}");
}

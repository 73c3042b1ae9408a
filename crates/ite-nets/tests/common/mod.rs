//! Shared test helpers: a small simulated dataset with a known effect.
#![allow(dead_code)]

use ite_core::{CausalData, Covariates, Seed, Truth};
use rand::RngExt;

/// n units, p = 3 covariates ~ U(−1.7, 1.7), t ~ Bernoulli(0.5), mu0 = x1 + 0.5·x2,
/// mu1 = mu0 + 2 + x3, y = mu_t + N(0, 0.25²)-ish noise (sum of uniforms).
pub fn simulated(n: usize, seed: u64) -> CausalData {
    let mut rng = Seed::new(seed).rng();
    let p = 3;
    let mut x = Vec::with_capacity(n * p);
    let (mut t, mut y, mut mu0, mut mu1) = (vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let row: Vec<f32> = (0..p).map(|_| (rng.random::<f32>() - 0.5) * 3.4).collect();
        let m0 = row[0] + 0.5 * row[1];
        let m1 = m0 + 2.0 + row[2];
        let ti = u8::from(rng.random::<f32>() < 0.5);
        let noise = (rng.random::<f32>() + rng.random::<f32>() - 1.0) * 0.6;
        x.extend_from_slice(&row);
        t.push(ti);
        y.push(if ti == 1 { m1 } else { m0 } + noise);
        mu0.push(m0);
        mu1.push(m1);
    }
    let w = |v: Vec<f32>| -> Vec<f64> { v.into_iter().map(f64::from).collect() };
    let x = Covariates::with_default_names(w(x), p).expect("covariates");
    CausalData::from_parts(x, t, w(y), Some(Truth { mu0: w(mu0), mu1: w(mu1) }), None).expect("data")
}

/// Small, quick network for tests.
pub fn quick_params() -> ite_nets::TarNetParams {
    ite_nets::TarNetParams::study_small().with_max_epochs(40).with_patience(10)
}

//! A tiny simulation with known truth for the integration tests: three standard normal
//! covariates, a heterogeneous linear effect, and a randomized or confounded treatment.
//!
//! μ0(x) = 1 + x1 + 0.5·x2 − 0.5·x3, τ(x) = 1 + 0.5·x1 − 0.5·x2, y = μ_t(x) + N(0, 1);
//! e(x) = 0.5 (randomized) or logistic(x1) (confounded on x1, overlap e ∈ (0.02, 0.98) in
//! practice). The OLS T-learner is correctly specified for both arms.

#![allow(dead_code)]

use ite_core::{CausalData, Covariates, PotentialOutcomes, Seed};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

/// Number of covariates.
pub const P: usize = 3;

/// A simulated sample: data (with truth attached), true τ(x_i) and true e(x_i).
pub struct Sim {
    pub data: CausalData,
    pub tau: Vec<f64>,
    pub e: Vec<f64>,
}

/// Draws `n` units; `confounded` switches e(x) from 0.5 to logistic(x1).
pub fn simulate(n: usize, confounded: bool, seed: Seed) -> Sim {
    let mut rng = seed.rng();
    let mut x = Vec::with_capacity(n * P);
    let (mut t, mut y, mut mu0, mut mu1, mut tau, mut e) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let xi: Vec<f64> = (0..P).map(|_| StandardNormal.sample(&mut rng)).collect();
        let m0 = 1.0 + xi[0] + 0.5 * xi[1] - 0.5 * xi[2];
        let ti = 1.0 + 0.5 * xi[0] - 0.5 * xi[1];
        let ei = if confounded { 1.0 / (1.0 + (-xi[0]).exp()) } else { 0.5 };
        let a = u8::from(rng.random::<f64>() < ei);
        let noise: f64 = StandardNormal.sample(&mut rng);
        y.push(m0 + f64::from(a) * ti + noise);
        x.extend(xi);
        t.push(a);
        mu0.push(m0);
        mu1.push(m0 + ti);
        tau.push(ti);
        e.push(ei);
    }
    let x = Covariates::with_default_names(x, P).expect("covariates");
    let data =
        CausalData::new(x, t, y).and_then(|d| d.with_truth(PotentialOutcomes { mu0, mu1 })).expect("simulated data");
    Sim { data, tau, e }
}

/// Share of `flags` that are true.
pub fn share(flags: impl IntoIterator<Item = bool>) -> f64 {
    let (mut hit, mut all) = (0usize, 0usize);
    for f in flags {
        hit += usize::from(f);
        all += 1;
    }
    hit as f64 / all as f64
}

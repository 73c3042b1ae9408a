//! Moment helpers shared by the statistical tests.
#![allow(dead_code)]

use ite_core::CausalData;

pub use ite_core::stats::mean;

/// Sample variance of `v` (n − 1 denominator).
pub fn var(v: &[f64]) -> f64 {
    ite_core::stats::variance(v)
}

/// Standard error of the sample variance: sqrt((m4 − s⁴)/n).
pub fn var_se(v: &[f64]) -> f64 {
    let m = mean(v);
    let s2 = var(v);
    let m4 = v.iter().map(|a| (a - m).powi(4)).sum::<f64>() / v.len() as f64;
    ((m4 - s2 * s2) / v.len() as f64).sqrt()
}

/// Standard error of the mean.
pub fn mean_se(v: &[f64]) -> f64 {
    (var(v) / v.len() as f64).sqrt()
}

/// Column `j` of the covariates, as `f64`.
pub fn col(d: &CausalData, j: usize) -> Vec<f64> {
    d.x().rows().map(|r| r[j]).collect()
}

/// Row `i` of the covariates, as `f64`.
pub fn row(d: &CausalData, i: usize) -> Vec<f64> {
    d.x().row(i).to_vec()
}

/// Sample covariance of two columns.
pub fn cov(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (a.len() as f64 - 1.0)
}

/// Outcomes of one arm.
pub fn arm(d: &CausalData, t: u8) -> Vec<f64> {
    d.y().iter().zip(d.t()).filter(|(_, a)| **a == t).map(|(y, _)| *y).collect()
}

/// Naive difference in means (treated − control) and its standard error.
pub fn diff_in_means(d: &CausalData) -> (f64, f64) {
    let (y1, y0) = (arm(d, 1), arm(d, 0));
    (mean(&y1) - mean(&y0), (var(&y1) / y1.len() as f64 + var(&y0) / y0.len() as f64).sqrt())
}

/// Treated share and its standard error under a Bernoulli model.
pub fn treated_share(d: &CausalData) -> (f64, f64) {
    let s = d.treated_share();
    (s, (s * (1.0 - s) / d.n() as f64).sqrt())
}

/// Asserts |got − want| ≤ k·se, with a message.
#[track_caller]
pub fn assert_within(what: &str, got: f64, want: f64, se: f64, k: f64) {
    assert!(
        (got - want).abs() <= k * se,
        "{what}: got {got:.5}, want {want:.5} ± {k}·{se:.5} (off by {:.2} se)",
        (got - want).abs() / se
    );
}

/// Tolerance for comparing an `f32`-stored value with an `f64` formula.
pub fn f32_tol(v: f64) -> f64 {
    1e-5 * (1.0 + v.abs())
}

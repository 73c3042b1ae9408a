//! IPM tests: gradients against finite differences, Sinkhorn divergence properties.

use candle_core::{DType, Device, Tensor, Var};
use ite_core::Seed;
use ite_nets::SinkhornConfig;
use ite_nets::ipm::{linear_mmd, rbf_mmd, sinkhorn_divergence, sinkhorn_epsilon};
use rand::RngExt;

fn sample(n: usize, d: usize, shift: f64, seed: u64) -> Vec<f64> {
    let mut rng = Seed::new(seed).rng();
    (0..n * d).map(|_| rng.random::<f64>() * 2.0 - 1.0 + shift).collect()
}

fn t64(v: &[f64], n: usize, d: usize) -> Tensor {
    Tensor::from_vec(v.to_vec(), (n, d), &Device::Cpu).expect("tensor")
}

fn value(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).expect("f64").to_scalar::<f64>().expect("scalar")
}

type Ipm2 = dyn Fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>;

/// The two samples every gradient check uses: `a` (6 × 3) and `b` (5 × 3, shifted by 0.4).
const SHAPES: (usize, usize, usize) = (6, 5, 3);

/// Checks d f / d a (autograd) against central finite differences, in f64.
fn check_grad(name: &str, f: &Ipm2) {
    check_grad_against(name, f, f, 1e-5, 1e-4);
}

/// Checks the autograd gradient of `f` against central finite differences of `reference`
/// (usually `f` itself), within `abs + rel·|fd|` per coordinate, in f64.
fn check_grad_against(name: &str, f: &Ipm2, reference: &Ipm2, abs: f64, rel: f64) {
    let (na, nb, d) = SHAPES;
    let a = sample(na, d, 0.0, 1);
    let b = sample(nb, d, 0.4, 2);
    let va = Var::from_tensor(&t64(&a, na, d)).expect("var");
    let vb = Var::from_tensor(&t64(&b, nb, d)).expect("var");
    let out = f(va.as_tensor(), vb.as_tensor()).expect("forward");
    let grads = out.backward().expect("backward");
    for (which, var, base, n) in [("a", &va, &a, na), ("b", &vb, &b, nb)] {
        let g: Vec<f64> = grads.get(var).expect("grad").flatten_all().unwrap().to_vec1().unwrap();
        let h = 1e-5;
        for k in 0..base.len() {
            let eval = |delta: f64| {
                let mut v = base.clone();
                v[k] += delta;
                let t = t64(&v, n, d);
                let out = if which == "a" { reference(&t, &t64(&b, nb, d)) } else { reference(&t64(&a, na, d), &t) };
                value(&out.expect("forward"))
            };
            let fd = (eval(h) - eval(-h)) / (2.0 * h);
            assert!(
                (fd - g[k]).abs() <= abs + rel * fd.abs(),
                "{name}: d/d{which}[{k}] autograd {} vs finite difference {fd}",
                g[k]
            );
        }
    }
}

#[test]
fn linear_mmd_gradient_matches_finite_differences() {
    check_grad("linear MMD", &|a, b| linear_mmd(a, b));
}

#[test]
fn rbf_mmd_gradient_matches_finite_differences() {
    check_grad("RBF MMD", &|a, b| rbf_mmd(a, b, 0.8));
}

#[test]
fn sinkhorn_gradient_matches_finite_differences() {
    let cfg = SinkhornConfig { epsilon: 0.2, relative: false, max_iter: 5000, tol: 1e-13 };
    check_grad("Sinkhorn", &move |a, b| sinkhorn_divergence(a, b, &cfg));
}

/// The relative ε of every configuration (the default: ε = 0.1 × the mean cross cost). ε is
/// computed from the detached inputs, so the gradient is the divergence's at that ε held fixed
/// (a stop-gradient on the scale, as `ite_nets::ipm` documents): the reference is the
/// divergence at the absolute ε the relative rule picks for the unperturbed samples.
///
/// - Converged solver (tol 1e-13): Danskin's gradient is exact, so the same tolerance as every
///   other check (1e-5 + 1e-4·|fd|, the finite-difference error at h = 1e-5 in f64).
/// - The default solver (at most 100 iterations, stop at a relative dual change of 1e-4): the
///   plan's marginals are off by O(1e-4) relative, and the gradient Σⱼ Tᵢⱼ·2(aᵢ − bⱼ) with it,
///   by at most 1e-4 × 2·max‖aᵢ − bⱼ‖ (≈ 4 for these samples in [−1, 1.4]³) ≈ 1e-3 per
///   coordinate: the tolerance is 2e-3 + 1e-2·|fd| (the relative part covers the marginal error
///   on large components).
#[test]
fn sinkhorn_gradient_with_relative_epsilon_matches_finite_differences() {
    let (na, nb, d) = SHAPES;
    let (a, b) = (t64(&sample(na, d, 0.0, 1), na, d), t64(&sample(nb, d, 0.4, 2), nb, d));
    let default = SinkhornConfig::default();
    assert!(default.relative, "the default ε is relative");
    let eps = sinkhorn_epsilon(&a, &b, &default).expect("ε");
    let fixed = SinkhornConfig { epsilon: eps, relative: false, max_iter: 5000, tol: 1e-13 };
    let reference = move |x: &Tensor, y: &Tensor| sinkhorn_divergence(x, y, &fixed);
    let converged = SinkhornConfig { max_iter: 5000, tol: 1e-13, ..default };
    check_grad_against(
        "Sinkhorn, relative ε, converged",
        &move |x, y| sinkhorn_divergence(x, y, &converged),
        &reference,
        1e-5,
        1e-4,
    );
    check_grad_against(
        "Sinkhorn, default config",
        &move |x, y| sinkhorn_divergence(x, y, &default),
        &reference,
        2e-3,
        1e-2,
    );
}

#[test]
fn sinkhorn_of_a_sample_to_itself_is_zero_and_grows_with_a_shift() {
    let cfg = SinkhornConfig::default();
    let (n, d) = (40, 4);
    let a = sample(n, d, 0.0, 7);
    let ta = Tensor::from_vec(a.iter().map(|&v| v as f32).collect::<Vec<_>>(), (n, d), &Device::Cpu).unwrap();
    let self_dist = value(&sinkhorn_divergence(&ta, &ta, &cfg).unwrap());
    assert!(self_dist.abs() < 1e-6, "distance of a sample to itself is {self_dist}");
    let mut last = self_dist;
    for shift in [0.1f32, 0.3, 0.6, 1.0, 2.0] {
        let tb = (&ta + f64::from(shift)).unwrap();
        let dist = value(&sinkhorn_divergence(&ta, &tb, &cfg).unwrap());
        assert!(dist > last, "shift {shift}: distance {dist} does not exceed {last}");
        last = dist;
    }
    // A pure translation by s in d dimensions moves W2² by d·s²; the debiased entropic value is close.
    let tb = (&ta + 2.0).unwrap();
    let dist = value(&sinkhorn_divergence(&ta, &tb, &cfg).unwrap());
    assert!((dist - 16.0).abs() < 0.1 * 16.0, "W2² of a shift by 2 in 4 dims is {dist}, expected ≈ 16");
}

#[test]
fn mmds_vanish_for_identical_samples_and_not_otherwise() {
    let (n, d) = (30, 3);
    let a = t64(&sample(n, d, 0.0, 3), n, d);
    let b = t64(&sample(n, d, 0.5, 4), n, d);
    assert!(value(&linear_mmd(&a, &a).unwrap()).abs() < 1e-12);
    assert!(value(&rbf_mmd(&a, &a, 1.0).unwrap()).abs() < 1e-12);
    assert!(value(&linear_mmd(&a, &b).unwrap()) > 0.1);
    assert!(value(&rbf_mmd(&a, &b, 1.0).unwrap()) > 0.01);
}

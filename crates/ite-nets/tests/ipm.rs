//! IPM tests: gradients against finite differences, Sinkhorn divergence properties.

use candle_core::{DType, Device, Tensor, Var};
use ite_core::Seed;
use ite_nets::SinkhornConfig;
use ite_nets::ipm::{linear_mmd, rbf_mmd, sinkhorn_divergence};
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

/// Checks d f / d a (autograd) against central finite differences, in f64.
fn check_grad(name: &str, f: &dyn Fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>) {
    let (na, nb, d) = (6, 5, 3);
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
                let out = if which == "a" { f(&t, &t64(&b, nb, d)) } else { f(&t64(&a, na, d), &t) };
                value(&out.expect("forward"))
            };
            let fd = (eval(h) - eval(-h)) / (2.0 * h);
            assert!(
                (fd - g[k]).abs() <= 1e-5 + 1e-4 * fd.abs(),
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

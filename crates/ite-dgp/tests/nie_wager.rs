//! Nie–Wager setups A–D against their formulas (written out again here).

mod common;

use std::f64::consts::PI;

use common::*;
use ite_core::{Dgp, Params, Seed};
use ite_dgp::{NieWager, NieWagerSetup, expit};

const N: usize = 200_000;

fn softplus(v: f64) -> f64 {
    (1.0 + v.exp()).ln()
}

/// (b, τ, e) by the paper's formulas.
fn formulas(setup: NieWagerSetup, x: &[f64]) -> (f64, f64, f64) {
    match setup {
        NieWagerSetup::A => (
            (PI * x[0] * x[1]).sin() + 2.0 * (x[2] - 0.5).powi(2) + x[3] + 0.5 * x[4],
            (x[0] + x[1]) / 2.0,
            (PI * x[0] * x[1]).sin().clamp(0.1, 0.9),
        ),
        NieWagerSetup::B => (
            [x[0] + x[1], x[2], 0.0].into_iter().fold(f64::MIN, f64::max) + (x[3] + x[4]).max(0.0),
            x[0] + softplus(x[1]),
            0.5,
        ),
        NieWagerSetup::C => (2.0 * softplus(x[0] + x[1] + x[2]), 1.0, 1.0 / (1.0 + (x[1] + x[2]).exp())),
        NieWagerSetup::D => {
            let (u, w) = ((x[0] + x[1] + x[2]).max(0.0), (x[3] + x[4]).max(0.0));
            ((u + w) / 2.0, u - w, 1.0 / (1.0 + (-x[0]).exp() + (-x[1]).exp()))
        }
    }
}

#[test]
fn every_setup_follows_its_formulas() {
    for setup in [NieWagerSetup::A, NieWagerSetup::B, NieWagerSetup::C, NieWagerSetup::D] {
        let dgp = NieWager { dim: 6, ..NieWager::new(setup) };
        let d = dgp.sample_seeded(N, Seed::new(1)).unwrap();
        assert_eq!(d.p(), 6);
        let tr = d.truth().unwrap();
        let (mut resid, mut e_sum) = (Vec::with_capacity(N), 0.0);
        for i in 0..d.n() {
            let x = row(&d, i);
            let (b, tau, e) = formulas(setup, &x);
            let (mu0, mu1) = (tr.mu0[i], tr.mu1[i]);
            // mu0 = b − τ/2, mu1 = b + τ/2, so mu1 − mu0 = τ and the midpoint is b.
            assert!((mu1 - mu0 - tau).abs() <= f32_tol(mu1), "{setup:?} row {i}: ite {} vs τ {tau}", mu1 - mu0);
            assert!(((mu0 + mu1) / 2.0 - b).abs() <= f32_tol(b), "{setup:?} row {i}: midpoint vs b {b}");
            let t = f64::from(d.t()[i]);
            // y = b + (t − ½)τ + σε
            resid.push(d.y()[i] - (b + (t - 0.5) * tau));
            e_sum += e;
        }
        assert_within(&format!("{setup:?}: noise mean"), mean(&resid), 0.0, mean_se(&resid), 5.0);
        assert_within(&format!("{setup:?}: noise var"), var(&resid), 1.0, (2.0 / N as f64).sqrt(), 5.0);
        let (share, se) = treated_share(&d);
        assert_within(&format!("{setup:?}: treated share vs E e(x)"), share, e_sum / N as f64, se, 5.0);
        // Covariate distributions: U(0, 1) for A, N(0, 1) otherwise (including the extra column).
        let x6 = col(&d, 5);
        let (m, v) = if setup == NieWagerSetup::A { (0.5, 1.0 / 12.0) } else { (0.0, 1.0) };
        assert_within(&format!("{setup:?}: x6 mean"), mean(&x6), m, (v / N as f64).sqrt(), 5.0);
        assert_within(&format!("{setup:?}: x6 var"), var(&x6), v, var_se(&x6), 5.0);
        if setup == NieWagerSetup::A {
            assert!(x6.iter().all(|&u| (0.0..1.0).contains(&u)));
        }
    }
}

#[test]
fn propensity_adjustment_shifts_the_treated_share() {
    let base = NieWager::new(NieWagerSetup::D);
    let adj = NieWager { propensity_adj: 1.0, ..base.clone() };
    let d = adj.sample_seeded(N, Seed::new(2)).unwrap();
    let e: f64 = (0..N)
        .map(|i| {
            let x = row(&d, i);
            let (_, _, e) = formulas(NieWagerSetup::D, &x);
            expit((e / (1.0 - e)).ln() - 1.0)
        })
        .sum::<f64>()
        / N as f64;
    let (share, se) = treated_share(&d);
    assert_within("adjusted treated share", share, e, se, 5.0);
    let plain = base.sample_seeded(N, Seed::new(2)).unwrap().treated_share();
    assert!(share < plain - 0.1, "adj = 1 should treat fewer: {share} vs {plain}");
    // B and C ignore it, as in CausalML.
    let b = NieWager { propensity_adj: 3.0, ..NieWager::new(NieWagerSetup::B) };
    assert_eq!(
        b.sample_seeded(50, Seed::new(3)).unwrap(),
        NieWager::new(NieWagerSetup::B).sample_seeded(50, Seed::new(3)).unwrap()
    );
}

#[test]
fn validation_and_determinism() {
    let e = NieWager { dim: 4, ..NieWager::new(NieWagerSetup::A) }.validate().unwrap_err().to_string();
    assert!(e.contains("`dim` = 4"), "{e}");
    let e = NieWager { sigma: f64::NAN, ..NieWager::default() }.sample_seeded(5, Seed::new(1)).unwrap_err();
    assert!(e.to_string().contains("`sigma`"));
    let e = NieWager { propensity_adj: f64::INFINITY, ..NieWager::default() }.validate().unwrap_err();
    assert!(e.to_string().contains("`propensity_adj`"));
    let a = NieWager::new(NieWagerSetup::A);
    assert_eq!(a.sample_seeded(100, Seed::new(9)).unwrap(), a.sample_seeded(100, Seed::new(9)).unwrap());
    assert_ne!(a.sample_seeded(100, Seed::new(9)).unwrap(), a.sample_seeded(100, Seed::new(10)).unwrap());
}

//! Simulation 2 against its formulas: shifted covariate mean and correlation,
//! b and τ under each shift, the closed-form moments of Y(0) used to
//! standardize, and the biased assignment rule.

mod common;

use common::*;
use ite_core::{CausalData, Dgp, Seed, write_csv_to};
use ite_dgp::{Assignment, Shift, Sim2Params, Sim2Population, Sim2Source, Sim2Target, expit};

const N: usize = 200_000;
const SHIFTS: [Shift; 4] = [Shift::None, Shift::Covariate, Shift::Effect, Shift::Prognostic];

fn target(shift: Shift, level: f64, a: Assignment, n: usize, seed: u64) -> CausalData {
    Sim2Target::new(shift, level, a).sample_seeded(n, Seed::new(seed)).unwrap()
}

#[test]
fn source_covariates_are_independent_standard_normal() {
    let d = Sim2Source::default().sample_seeded(N, Seed::new(1)).unwrap();
    let cols: Vec<Vec<f64>> = (0..5).map(|j| col(&d, j)).collect();
    let n = N as f64;
    for a in 0..5 {
        assert_within("source mean", mean(&cols[a]), 0.0, (1.0 / n).sqrt(), 5.0);
        assert_within("source var", var(&cols[a]), 1.0, (2.0 / n).sqrt(), 5.0);
        for b in 0..a {
            assert_within("source cov", cov(&cols[a], &cols[b]), 0.0, (1.0 / n).sqrt(), 5.0);
        }
    }
    let (share, se) = treated_share(&d);
    assert_within("source treated share", share, 0.5, se, 5.0);
}

#[test]
fn covariate_shift_moves_mean_and_correlation() {
    for level in [0.25, 0.5, 1.0] {
        let d = target(Shift::Covariate, level, Assignment::Randomized, N, 2);
        let (delta, rho) = (level, 0.6 * level);
        let cols: Vec<Vec<f64>> = (0..5).map(|j| col(&d, j)).collect();
        let n = N as f64;
        for a in 0..5 {
            assert_within(&format!("c={level}: mean x{}", a + 1), mean(&cols[a]), delta, (1.0 / n).sqrt(), 5.0);
            assert_within(&format!("c={level}: var x{}", a + 1), var(&cols[a]), 1.0, (2.0 / n).sqrt(), 5.0);
            for b in 0..a {
                let c = cov(&cols[a], &cols[b]);
                assert_within(
                    &format!("c={level}: cov x{} x{}", a + 1, b + 1),
                    c,
                    rho,
                    ((1.0 + rho * rho) / n).sqrt(),
                    5.0,
                );
            }
        }
    }
}

/// The formulas, written out again independently of the crate.
fn b_and_tau(shift: Shift, c: f64, x: &[f64]) -> (f64, f64) {
    let v = [1.0, -1.0, 1.0, -1.0, 1.0].map(|s: f64| s / 5f64.sqrt());
    let mut gamma = [0.5; 5];
    let mut omega = [0.5; 5];
    match shift {
        Shift::Effect => (0..5).for_each(|j| omega[j] += c * v[j]),
        Shift::Prognostic => (0..5).for_each(|j| gamma[j] += c * v[j]),
        _ => {}
    }
    let g = x[0].sin() + x[1] * x[2] + x[3] * x[3];
    let q = x[0] * x[1] + x[2].cos();
    let b = (0..5).map(|j| gamma[j] * x[j]).sum::<f64>() + g;
    let tau = 1.0 + (0..5).map(|j| omega[j] * x[j]).sum::<f64>() + q;
    (b, tau)
}

#[test]
fn truth_follows_b_and_tau_under_every_shift() {
    for shift in SHIFTS {
        for level in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let d = target(shift, level, Assignment::Biased, 20_000, 3);
            let tr = d.truth().unwrap();
            for i in 0..d.n() {
                let (b, tau) = b_and_tau(shift, level, &row(&d, i));
                let (mu0, mu1) = (tr.mu0[i], tr.mu1[i]);
                assert!((mu0 - b).abs() <= f32_tol(b), "{shift} c={level} row {i}: mu0 {mu0} vs b {b}");
                assert!((mu1 - mu0 - tau).abs() <= f32_tol(mu1), "{shift} c={level} row {i}: ite vs τ {tau}");
            }
        }
    }
}

#[test]
fn mean_effect_matches_the_closed_form_under_each_shift() {
    for shift in SHIFTS {
        for level in [0.5, 1.0] {
            let d = target(shift, level, Assignment::Randomized, N, 4);
            let pop = Sim2Params::default().population(shift, level).unwrap();
            let ite: Vec<f64> = d.truth().unwrap().ite();
            assert_within(&format!("{shift} c={level}: mean τ"), mean(&ite), pop.tau_mean(), mean_se(&ite), 5.0);
            // Under an effect shift the mean of τ does not move (E x = 0), but τ does:
            // τ_T − τ_S = c·vᵀx for every unit.
            if shift == Shift::Effect {
                let v = Sim2Params::default().direction();
                for i in (0..d.n()).step_by(101) {
                    let x = row(&d, i);
                    let src = Sim2Params::default().population(Shift::None, 0.0).unwrap();
                    let want = level * x.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>();
                    assert!((pop.tau(&x) - src.tau(&x) - want).abs() < 1e-12);
                }
            }
        }
    }
}

#[test]
fn closed_form_moments_of_y0_match_large_draws() {
    for shift in SHIFTS {
        for level in [0.0, 0.5, 1.0] {
            // Controls of a randomized target are draws of Y(0).
            let d = target(shift, level, Assignment::Randomized, 2 * N, 5);
            let y0 = arm(&d, 0);
            let pop = Sim2Params::default().population(shift, level).unwrap();
            assert_within(&format!("{shift} c={level}: E Y(0)"), mean(&y0), pop.y0_mean(), mean_se(&y0), 5.0);
            assert_within(&format!("{shift} c={level}: Var Y(0)"), var(&y0), pop.y0_variance(), var_se(&y0), 5.0);
        }
    }
    // Hand-checked value at the source: E Y(0) = 1, Var Y(0) = 1.25 + (1 − e⁻²)/2 + 1 + 2 + 2·0.5·e^(−1/2) + 1.
    let src = Sim2Params::default().population(Shift::None, 0.0).unwrap();
    assert!((src.y0_mean() - 1.0).abs() < 1e-12);
    let want = 1.25 + (1.0 - (-2f64).exp()) / 2.0 + 1.0 + 2.0 + (-0.5f64).exp() + 1.0;
    assert!((src.y0_variance() - want).abs() < 1e-12);
}

#[test]
fn biased_assignment_is_expit_of_standardized_y0() {
    for shift in SHIFTS {
        let level = 0.75;
        let pop: Sim2Population = Sim2Params::default().population(shift, level).unwrap();
        let (m, s) = (pop.y0_mean(), pop.y0_sd());
        // P(A = 1) = E[expit((Y(0) − m)/s)], estimated from Y(0) draws of a randomized target.
        let y0 = arm(&target(shift, level, Assignment::Randomized, N, 6), 0);
        let p: Vec<f64> = y0.iter().map(|y| expit((y - m) / s)).collect();
        let biased = target(shift, level, Assignment::Biased, N, 7);
        let (share, se) = treated_share(&biased);
        assert_within(&format!("{shift}: biased treated share"), share, mean(&p), se, 5.0);
        // Controls are the units with low Y(0): their outcome mean E[Y(0)(1 − e)]/E[1 − e].
        let w: f64 = p.iter().map(|e| 1.0 - e).sum();
        let want = y0.iter().zip(&p).map(|(y, e)| y * (1.0 - e)).sum::<f64>() / w;
        let ctl = arm(&biased, 0);
        assert_within(&format!("{shift}: biased control mean"), mean(&ctl), want, mean_se(&ctl), 6.0);
        assert!(mean(&ctl) < m - 0.3, "{shift}: controls should have low Y(0)");
        // Assignment does not select units: covariates keep their distribution.
        let x1 = col(&biased, 0);
        assert_within(&format!("{shift}: x1 mean under biased assignment"), mean(&x1), pop.mean, mean_se(&x1), 5.0);
        // And the naive difference in means overstates the true ATE.
        let ite: Vec<f64> = biased.truth().unwrap().ite();
        let (dim, _) = diff_in_means(&biased);
        eprintln!("sim2 {shift} c={level} biased: DiM {dim:.3}, ATE {:.3}, share {share:.3}", mean(&ite));
        assert!(dim > mean(&ite) + 1.0, "{shift}: DiM {dim} vs ATE {}", mean(&ite));
    }
}

#[test]
fn same_seed_same_bytes_and_seed_matters() {
    let bytes = |seed: u64| {
        let mut buf = Vec::new();
        write_csv_to(&mut buf, &target(Shift::Prognostic, 0.5, Assignment::Biased, 300, seed)).unwrap();
        buf
    };
    assert_eq!(bytes(1), bytes(1));
    assert_ne!(bytes(1), bytes(2));
}

#[test]
fn bad_parameters_name_the_field() {
    let cases = [
        (Sim2Params { dim: 3, ..Sim2Params::default() }, "`dim` = 3"),
        (Sim2Params { gamma: f64::NAN, ..Sim2Params::default() }, "`gamma`"),
        (Sim2Params { omega: f64::INFINITY, ..Sim2Params::default() }, "`omega`"),
        (Sim2Params { noise_sd: -0.1, ..Sim2Params::default() }, "`noise_sd` = -0.1"),
        (Sim2Params { treated_prob: 1.5, ..Sim2Params::default() }, "`treated_prob` = 1.5"),
        (Sim2Params { mean_shift: f64::NAN, ..Sim2Params::default() }, "`mean_shift`"),
        (Sim2Params { correlation_shift: f64::NAN, ..Sim2Params::default() }, "`correlation_shift`"),
    ];
    for (p, want) in cases {
        let e = Sim2Source::new(p.clone()).sample_seeded(5, Seed::new(1)).unwrap_err().to_string();
        assert!(e.contains(want), "{e:?} should contain {want:?}");
        let t = Sim2Target { params: p, ..Sim2Target::new(Shift::Effect, 0.5, Assignment::Biased) };
        assert!(t.sample_seeded(5, Seed::new(1)).unwrap_err().to_string().contains(want));
    }
    let e = Sim2Target::new(Shift::Covariate, 1.7, Assignment::Randomized).sample_seeded(5, Seed::new(1));
    assert!(e.unwrap_err().to_string().contains("`level` = 1.7"));
    let e = Sim2Target::new(Shift::Effect, -0.25, Assignment::Randomized).sample_seeded(5, Seed::new(1));
    assert!(e.unwrap_err().to_string().contains("`level` = -0.25"));
    // Larger k works; g and q still use x1..x4.
    let d = Sim2Source::new(Sim2Params { dim: 8, ..Sim2Params::default() }).sample_seeded(10, Seed::new(1)).unwrap();
    assert_eq!(d.p(), 8);
}

//! The diagonal Fisher information of CITA by the hand-written per-unit backward pass agrees
//! with candle's backward pass unit by unit, for ReLU and ELU networks, with and without an
//! activation after Φ's last layer, on both heads (flipped treatments).

use ite_core::{Dgp, Fit, Seed};
use ite_dgp::{Assignment, Sim1Source, Sim1Target};
use ite_nets::{Activation, TarNetParams};
use ite_transfer::fisher::{fisher_diagonal, fisher_diagonal_autograd};

#[test]
fn hand_written_fisher_diagonal_matches_candle_backward() {
    let seed = Seed::new(3);
    let source = Sim1Source::default().sample_seeded(300, seed.stream("source")).unwrap();
    let target = Sim1Target::new(Assignment::Biased).sample_seeded(120, seed.stream("target")).unwrap();
    let rows: Vec<usize> = (0..target.n()).step_by(2).collect();
    for activation in [Activation::Relu, Activation::Elu] {
        for phi_final_activation in [true, false] {
            let params = TarNetParams {
                activation,
                phi_final_activation,
                ..TarNetParams::transfer_source().with_max_epochs(5).with_patience(5)
            };
            let model = params.fit(&source, seed.stream("fit")).unwrap();
            for flip in [false, true] {
                let fast = fisher_diagonal(&model, &target, &rows, flip).unwrap();
                let slow = fisher_diagonal_autograd(&model, &target, &rows, flip).unwrap();
                assert_eq!(fast.len(), slow.len());
                let scale = slow.iter().copied().fold(0.0, f64::max);
                assert!(scale > 0.0);
                for (k, (a, b)) in fast.iter().zip(&slow).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-7 * scale + 1e-5 * b.abs(),
                        "{activation:?}, final activation {phi_final_activation}, flip {flip}: entry {k}: {a} against {b}"
                    );
                }
            }
        }
    }
}

//! Behaviour of the transfer strategies and CITA on the study's simulations.

use std::collections::BTreeMap;

use candle_core::Tensor;
use ite_core::{CausalData, Dgp, Fit, IteModel, Seed, TransferInput, TransferStrategy};
use ite_dgp::{Assignment, Shift, Sim1Source, Sim1Target, Sim2Source, Sim2Target};
use ite_nets::vars::VarGroup;
use ite_nets::{FittedTarNet, TarNetParams};
use ite_transfer::l2_sp::l2_sp_penalty;
use ite_transfer::staged_alignment::{SourceEmbeddings, alignment_distance};
use ite_transfer::{
    CitaParams, FreezeRepresentation, L2Sp, SourceOnly, StagedAlignment, TargetTraining, task_affinity,
};

fn bytes(t: &Tensor) -> Vec<u32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap().into_iter().map(f32::to_bits).collect()
}

fn snapshot_bits(m: &FittedTarNet) -> BTreeMap<String, Vec<u32>> {
    m.vars().snapshot().unwrap().iter().map(|(k, v)| (k.clone(), bytes(v))).collect()
}

/// A small, quickly trained source (the study's network, fewer epochs) and a biased target.
fn sim1_setup(n_source: usize, n_target: usize, seed: u64) -> (FittedTarNet, CausalData, CausalData) {
    let seed = Seed::new(seed);
    let source = Sim1Source::default().sample_seeded(n_source, seed.stream("source")).unwrap();
    let target = Sim1Target::new(Assignment::Biased).sample_seeded(n_target, seed.stream("target")).unwrap();
    let model = TarNetParams::study_source().fit(&source, seed.stream("fit")).unwrap();
    (model, source, target)
}

#[test]
fn freeze_representation_leaves_every_phi_weight_bit_identical() {
    let (model, source, target) = sim1_setup(600, 80, 1);
    let before = snapshot_bits(&model);
    let input = TransferInput::new(&model, &source, &target).unwrap();
    let adapted = FreezeRepresentation::default().transfer(input, Seed::new(2)).unwrap();
    let after = snapshot_bits(&adapted);
    let mut heads_changed = false;
    for (name, bits) in &after {
        if VarGroup::Phi.holds(name) {
            assert_eq!(bits, &before[name], "{name} changed");
        } else {
            heads_changed |= bits != &before[name];
        }
    }
    assert!(heads_changed, "the heads did not train at all");
    // And the source model itself is untouched.
    assert_eq!(snapshot_bits(&model), before);
}

#[test]
fn source_only_predicts_exactly_what_the_source_predicts() {
    let (model, source, target) = sim1_setup(400, 60, 3);
    let input = TransferInput::new(&model, &source, &target).unwrap();
    let copy = SourceOnly.transfer(input, Seed::new(4)).unwrap();
    let (a, b) = (model.predict(target.x()).unwrap(), copy.predict(target.x()).unwrap());
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.mu0), bits(&b.mu0));
    assert_eq!(bits(&a.mu1), bits(&b.mu1));
    // A deep copy: training the copy further must not move the source.
    let before = snapshot_bits(&model);
    let input = TransferInput::new(&copy, &source, &target).unwrap();
    let _ = L2Sp { lambda: 0.0, ..L2Sp::default() }.transfer(input, Seed::new(5)).unwrap();
    assert_eq!(snapshot_bits(&model), before);
}

#[test]
fn l2_sp_penalty_gradient_is_two_lambda_times_the_distance() {
    let (model, source, target) = sim1_setup(300, 60, 6);
    let input = TransferInput::new(&model, &source, &target).unwrap();
    // Move the weights away from the source a little, then compare gradients.
    let moved = L2Sp { lambda: 0.0, ..L2Sp::default() }.transfer(input, Seed::new(7)).unwrap();
    let anchor = model.vars().snapshot().unwrap();
    let lambda = 0.37;
    let penalty = l2_sp_penalty(moved.vars(), &anchor, lambda).unwrap();
    let grads = penalty.backward().unwrap();
    let mut checked = 0;
    for (name, var) in moved.vars().iter_sorted() {
        let g = grads.get(var.as_tensor()).expect("gradient").flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let theta = var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let src = anchor[&name].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for k in 0..g.len() {
            let want = 2.0 * lambda * f64::from(theta[k] - src[k]);
            assert!((f64::from(g[k]) - want).abs() <= 1e-5 + 1e-4 * want.abs(), "{name}[{k}]: {} vs {want}", g[k]);
        }
        checked += g.len();
    }
    assert_eq!(checked, moved.vars().n_parameters());
    // Finite differences on a few coordinates of the first head layer.
    let (name, var) = moved.vars().iter_sorted().into_iter().find(|(n, _)| VarGroup::H1.holds(n)).unwrap();
    let base = var.as_tensor().copy().unwrap();
    let flat = base.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let h = 1e-2f32;
    for k in [0, flat.len() / 2, flat.len() - 1] {
        let eval = |delta: f32| {
            let mut v = flat.clone();
            v[k] += delta;
            var.set(&Tensor::from_vec(v, base.shape(), base.device()).unwrap()).unwrap();
            f64::from(l2_sp_penalty(moved.vars(), &anchor, lambda).unwrap().to_scalar::<f32>().unwrap())
        };
        let fd = (eval(h) - eval(-h)) / (2.0 * f64::from(h));
        var.set(&base).unwrap();
        assert!((fd - f64::from(g[k])).abs() < 2e-3, "{name}[{k}]: finite difference {fd} vs gradient {}", g[k]);
    }
}

#[test]
fn phase_one_of_staged_alignment_lowers_the_alignment_distance() {
    let (model, source, target) = sim1_setup(1000, 100, 8);
    // The study-strength alignment (the defaults are gentler; see the strategy's docs).
    let strategy = StagedAlignment { align_epochs: 30, align_learning_rate_scale: 1.0, ..StagedAlignment::default() };
    let emb = SourceEmbeddings::compute(&model, &source, strategy.source_points, Seed::new(9)).unwrap();
    let before = alignment_distance(&model, &target, &emb, &strategy.sinkhorn).unwrap();
    let aligned = strategy.align(&model, &emb, &target, Seed::new(10)).unwrap();
    let after = alignment_distance(&aligned, &target, &emb, &strategy.sinkhorn).unwrap();
    assert!(after < 0.8 * before, "alignment distance {before} → {after}");
    // Phase 1 trains Φ only: the heads are the source's, bit for bit.
    let (b, a) = (snapshot_bits(&model), snapshot_bits(&aligned));
    for name in b.keys().filter(|n| !VarGroup::Phi.holds(n)) {
        assert_eq!(a[name], b[name], "{name}");
    }
}

#[test]
fn cita_is_zero_on_the_source_itself_and_grows_with_covariate_shift() {
    let seed = Seed::new(11);
    let source = Sim2Source::default().sample_seeded(1500, seed.stream("source")).unwrap();
    let params = TarNetParams::study_small().with_max_epochs(15).with_val_fraction(0.0);
    let model = params.fit(&source, seed.stream("fit")).unwrap();
    let cp = CitaParams { max_units: 400 };
    let same = task_affinity(TransferInput::new(&model, &source, &source).unwrap(), &cp, seed).unwrap();
    assert!(same.abs() < 1e-9, "CITA(source, source) = {same}");
    let mut values = Vec::new();
    for level in [0.0, 1.0] {
        let target = Sim2Target::new(Shift::Covariate, level, Assignment::Randomized)
            .sample_seeded(400, seed.stream("target"))
            .unwrap();
        let c = task_affinity(TransferInput::new(&model, &source, &target).unwrap(), &cp, seed).unwrap();
        assert!((0.0..=1.0).contains(&c), "CITA {c}");
        values.push(c);
    }
    assert!(values[1] > values[0], "CITA at shift 1 ({}) not above shift 0 ({})", values[1], values[0]);
}

#[test]
fn target_training_settings_validate_by_name() {
    use ite_core::Params;
    let bad = TargetTraining { val_fraction: 0.95, ..TargetTraining::default() };
    assert!(bad.validate().unwrap_err().to_string().contains("`val_fraction`"));
    let bad = L2Sp { lambda: -1.0, ..L2Sp::default() };
    assert!(bad.validate().unwrap_err().to_string().contains("`lambda`"));
    let bad = StagedAlignment { clip_grad_norm: 0.0, ..StagedAlignment::default() };
    assert!(bad.validate().unwrap_err().to_string().contains("`clip_grad_norm`"));
}

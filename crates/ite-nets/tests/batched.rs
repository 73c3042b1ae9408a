//! The batched trainer (`TarNetParams::fit_many`): a network's predictions are bit-identical
//! whether it is trained alone or among others (any position, count, order or thread count);
//! it trains the same model as the single-network trainer up to f32 rounding; frozen groups
//! stay bit for bit; unsupported settings fall back to the single-network trainer exactly.

use ite_core::{CausalData, Covariates, Fit, IteModel, Seed};
use ite_nets::{Activation, BatchOptions, BatchTask, Ipm, SinkhornConfig, TarNetParams, TrainOptions, VarGroup};
use rand::RngExt;

/// `n` units of `p` covariates: x uniform on (−2, 2), P(t = 1) = logistic(x₀),
/// y = Σ 0.5·x_j + t·(1 + x₁) + N-ish noise.
fn data(n: usize, p: usize, seed: u64) -> CausalData {
    let mut rng = Seed::new(seed).stream("test-data").rng();
    let (mut x, mut t, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let row: Vec<f64> = (0..p).map(|_| rng.random::<f64>() * 4.0 - 2.0).collect();
        let ti = u8::from(rng.random::<f64>() < 1.0 / (1.0 + (-row[0]).exp()));
        let noise: f64 = (0..3).map(|_| rng.random::<f64>() - 0.5).sum();
        y.push(0.5 * row.iter().sum::<f64>() + f64::from(ti) * (1.0 + row[1]) + noise);
        t.push(ti);
        x.extend(row);
    }
    let names = (0..p).map(|j| format!("x{j}")).collect();
    CausalData::new(Covariates::new(x, names).expect("covariates"), t, y).expect("data")
}

fn params() -> TarNetParams {
    TarNetParams {
        phi_layers: vec![16, 12],
        head_layers: vec![8],
        activation: Activation::Elu,
        alpha: 0.3,
        ipm: Ipm::LinearMmd,
        learning_rate: 5e-3,
        batch_size: 32,
        val_fraction: 0.25,
        patience: 4,
        max_epochs: 40,
        l2_heads: 1e-3,
        ..TarNetParams::default()
    }
}

/// μ̂0 and μ̂1 of every model on `x`, as bits.
fn bits(models: &[ite_nets::FittedTarNet], x: &Covariates) -> Vec<Vec<u64>> {
    models
        .iter()
        .map(|m| {
            let po = m.predict(x).expect("predict");
            po.mu0.iter().chain(&po.mu1).map(|v| v.to_bits()).collect()
        })
        .collect()
}

#[test]
fn a_network_gives_the_same_bits_alone_or_among_others() {
    let sets: Vec<CausalData> = (0..11).map(|i| data(140 + 37 * (i % 4), 4, 100 + i as u64)).collect();
    let tasks: Vec<BatchTask<'_>> = sets
        .iter()
        .enumerate()
        .map(|(i, d)| BatchTask { data: d, seed: Seed::new(7).index(i as u64), prior: None })
        .collect();
    let p = params();
    let probe = data(50, 4, 999);
    let all = p.fit_many(&tasks, &BatchOptions::default()).expect("batched");
    let all_bits = bits(&all, probe.x());
    // The networks stopped at different epochs, so the test covers frozen lanes beside running ones.
    let lengths: std::collections::BTreeSet<usize> = all.iter().map(|m| m.history().epochs.len()).collect();
    assert!(lengths.len() > 2, "epochs trained: {lengths:?}");
    assert!(all.iter().any(|m| m.history().stopped_early));
    // Alone.
    for i in [0, 3, 10] {
        let alone = p.fit_many(&tasks[i..=i], &BatchOptions::default()).expect("alone");
        assert_eq!(bits(&alone, probe.x())[0], all_bits[i], "network {i} alone");
        assert_eq!(alone[0].history().epochs, all[i].history().epochs);
    }
    // In reverse order (other lanes, other packs).
    let reversed: Vec<BatchTask<'_>> = tasks.iter().rev().copied().collect();
    let rev = bits(&p.fit_many(&reversed, &BatchOptions::default()).expect("reversed"), probe.x());
    for i in 0..tasks.len() {
        assert_eq!(rev[tasks.len() - 1 - i], all_bits[i], "network {i} in reverse order");
    }
    // One and three threads.
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        let got = pool.install(|| p.fit_many(&tasks, &BatchOptions::default())).expect("pool fit");
        assert_eq!(bits(&got, probe.x()), all_bits, "{threads} threads");
    }
}

/// Relative difference.
fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-12)
}

#[test]
fn it_trains_the_model_of_the_single_network_trainer_up_to_rounding() {
    let d = data(300, 5, 3);
    let probe = data(80, 5, 4);
    let base = TarNetParams { patience: 1000, max_epochs: 12, ..params() };
    let settings = [
        ("ELU, CFR linear MMD, L2", base.clone()),
        ("ReLU, TARNet", TarNetParams { activation: Activation::Relu, alpha: 0.0, l2_heads: 0.0, ..base.clone() }),
        ("ELU, no validation split, reweighted", TarNetParams { val_fraction: 0.0, reweight: true, ..base.clone() }),
    ];
    for (what, p) in settings {
        let seed = Seed::new(11);
        let single = p.fit(&d, seed).expect("single");
        let batched =
            p.fit_many(&[BatchTask { data: &d, seed, prior: None }], &BatchOptions::default()).expect("batched");
        let (hs, hb) = (&single.history().epochs, &batched[0].history().epochs);
        assert_eq!(hs.len(), hb.len(), "{what}");
        // The first epoch's loss is the same objective on the same minibatches from the same start.
        assert!(rel(hs[0].train_loss, hb[0].train_loss) < 1e-5, "{what}: {} vs {}", hs[0].train_loss, hb[0].train_loss);
        for (a, b) in hs.iter().zip(hb) {
            assert!(
                rel(a.train_loss, b.train_loss) < 2e-3,
                "{what} epoch {}: {} vs {}",
                a.epoch,
                a.train_loss,
                b.train_loss
            );
            if let (Some(x), Some(y)) = (a.val_loss, b.val_loss) {
                assert!(rel(x, y) < 2e-3, "{what} epoch {}: {x} vs {y}", a.epoch);
            }
        }
        let (ts, tb) = (single.ite(probe.x()).expect("ite"), batched[0].ite(probe.x()).expect("ite"));
        let scale = ts.iter().map(|v| v.abs()).fold(0.0, f64::max);
        let worst = ts.iter().zip(&tb).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(worst < 2e-3 * scale, "{what}: ITEs differ by {worst} (scale {scale})");
        // And training did something: the loss fell.
        assert!(hb.last().expect("epochs").train_loss < 0.8 * hb[0].train_loss, "{what}");
    }
}

#[test]
fn frozen_groups_keep_their_bits_and_warm_starts_begin_at_the_prior() {
    let (src, tgt) = (data(300, 4, 21), data(120, 4, 22));
    let p = TarNetParams { max_epochs: 8, ..params() };
    let prior = p.fit(&src, Seed::new(1)).expect("source");
    let options = BatchOptions { trainable: Some(vec![VarGroup::H0, VarGroup::H1]) };
    let tasks = [BatchTask { data: &tgt, seed: Seed::new(2), prior: Some(&prior) }; 3];
    let tuned = p.fit_many(&tasks, &options).expect("fine-tune heads");
    let before = prior.vars().snapshot().expect("snapshot");
    for m in &tuned {
        let after = m.vars().snapshot().expect("snapshot");
        for (name, t) in &before {
            let same = t.flatten_all().and_then(|a| a.to_vec1::<f32>()).expect("values")
                == after[name].flatten_all().and_then(|a| a.to_vec1::<f32>()).expect("values");
            assert_eq!(same, name.starts_with("phi."), "{name}");
        }
        // The prior's scalers are kept, so Φ means the same thing.
        assert_eq!(m.x_scaler(), prior.x_scaler());
    }
    // Close to the single-network trainer doing the same.
    let single = p
        .fit_with_options(
            &tgt,
            Seed::new(2),
            Some(&prior),
            &TrainOptions {
                trainable: Some(VarGroup::prefixes(&[VarGroup::H0, VarGroup::H1])),
                ..TrainOptions::default()
            },
        )
        .expect("single fine-tune");
    let (a, b) = (single.ite(tgt.x()).expect("ite"), tuned[0].ite(tgt.x()).expect("ite"));
    let worst = a.iter().zip(&b).map(|(u, v)| (u - v).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-2, "{worst}");
}

#[test]
fn settings_it_does_not_batch_fall_back_to_the_single_network_trainer() {
    let p = TarNetParams { ipm: Ipm::Wasserstein(SinkhornConfig::default()), max_epochs: 3, ..params() };
    assert!(p.batch_support().is_err());
    assert!(params().batch_support().is_ok());
    let d = data(120, 3, 5);
    let single = p.fit(&d, Seed::new(4)).expect("single");
    let many =
        p.fit_many(&[BatchTask { data: &d, seed: Seed::new(4), prior: None }], &BatchOptions::default()).expect("many");
    assert_eq!(bits(&[single], d.x()), bits(&many, d.x()));
    // Bad input is refused with the task named.
    let one_arm = CausalData::new(
        Covariates::new(vec![0.0; 6], vec!["a".into(), "b".into()]).expect("x"),
        vec![1, 1, 1],
        vec![1.0, 2.0, 3.0],
    )
    .expect("data");
    let err =
        params().fit_many(&[BatchTask { data: &one_arm, seed: Seed::new(1), prior: None }], &BatchOptions::default());
    assert!(err.is_err());
}

/// Ensembles, the refit bootstrap and cross-fitting hand their fits to the batched learner at
/// once; each result equals that fit alone, and the bootstrap's replicates do not depend on
/// the thread count.
#[test]
fn inference_refits_train_as_one_batch_with_the_results_of_single_fits() {
    use ite_inference::{EnsembleLearner, FitJob, OutcomeLearner, RefitBootstrapParams, refit_bootstrap};
    use ite_nets::BatchedTarNet;
    let d = data(160, 3, 31);
    let learner = BatchedTarNet(TarNetParams { max_epochs: 6, ..params() });
    let seeds: Vec<Seed> = (0..5).map(|m| Seed::new(9).index(m)).collect();
    let jobs: Vec<FitJob<'_>> = seeds.iter().map(|&seed| FitJob { train: &d, predict: d.x(), seed }).collect();
    let many = learner.fit_predict_many(&jobs);
    for (job, got) in jobs.iter().zip(&many) {
        let alone = learner.fit_predict(job.train, job.predict, job.seed).expect("alone");
        assert_eq!(got.as_ref().expect("batched"), &alone);
    }
    // A seed ensemble of 5 is the mean of those five fits.
    let ens = EnsembleLearner { inner: learner.clone(), members: 5 };
    let avg = ens.fit_predict(&d, d.x(), Seed::new(9)).expect("ensemble");
    let mean0: f64 = many.iter().map(|p| p.as_ref().expect("fit").mu0[7]).sum::<f64>() / 5.0;
    assert!((avg.mu0[7] - mean0).abs() < 1e-12);
    // The bootstrap: same replicates on 1 and 3 threads.
    let params_b = RefitBootstrapParams { replicates: 12, level: 0.9 };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| refit_bootstrap(&params_b, &d, &learner, d.x(), 0.0, Seed::new(3), &|_| {})).expect("bootstrap")
    };
    let (one, three) = (run(1), run(3));
    assert_eq!(one.replicates, three.replicates);
    assert_eq!(one.replicates.len(), 12);
}

/// A network whose data is too small for a validation row trains all its epochs and keeps the
/// last, as alone, even beside networks that stop early on their validation loss.
#[test]
fn a_network_without_validation_rows_keeps_its_last_epoch_beside_others() {
    // 5% of an arm of at most 8 units rounds to no validation row; of 300 units, to 15.
    let p = TarNetParams { val_fraction: 0.05, patience: 2, max_epochs: 15, ..params() };
    let (tiny, big) = (data(8, 3, 41), data(300, 3, 42));
    let tasks = [
        BatchTask { data: &big, seed: Seed::new(1), prior: None },
        BatchTask { data: &tiny, seed: Seed::new(2), prior: None },
    ];
    let both = p.fit_many(&tasks, &BatchOptions::default()).expect("batched");
    let alone = p.fit_many(&tasks[1..], &BatchOptions::default()).expect("alone");
    let h = both[1].history();
    assert!(h.epochs.iter().all(|e| e.val_loss.is_none()), "the tiny network has no validation rows");
    assert_eq!((h.epochs.len(), h.best_epoch, h.stopped_early), (15, 14, false));
    assert_eq!(bits(&both[1..], tiny.x()), bits(&alone, tiny.x()));
}

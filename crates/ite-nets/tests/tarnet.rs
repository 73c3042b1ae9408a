//! TARNet / CFR training tests: accuracy on a simple simulation, early stopping, warm starts,
//! variable selection, the extra-loss hook, persistence, parameter validation, reproducibility.

mod common;

use std::cell::Cell;

use ite_core::{Fit, FitWith, IteModel, Params, Seed};
use ite_nets::train::stratified_split;
use ite_nets::{Ipm, NetsError, TarNetParams, TrainOptions};

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn tarnet_and_cfr_recover_a_simple_effect() -> anyhow::Result<()> {
    let data = common::simulated(600, 1);
    let test = common::simulated(300, 2);
    for params in [
        common::quick_params().with_max_epochs(80),
        common::quick_params().with_max_epochs(80).with_ipm(Ipm::Wasserstein(Default::default()), 1.0),
        common::quick_params().with_max_epochs(80).with_ipm(Ipm::RbfMmd { sigma: 1.0 }, 1.0),
        common::quick_params().with_max_epochs(80).with_ipm(Ipm::LinearMmd, 1.0),
    ] {
        let model = params.fit(&data, Seed::new(3))?;
        let tau = model.ite(test.x())?;
        let truth = test.truth().expect("truth").ite();
        let pehe = (tau.iter().zip(&truth).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / 300.0).sqrt();
        let ate = model.ate(test.x())?;
        let true_ate = test.truth().expect("truth").ate();
        assert!((ate - true_ate).abs() < 0.25, "{:?}: ATE {ate} vs {true_ate}", params.ipm);
        // The effect's sd is about 1; a constant-effect model would have √PEHE ≈ 1.
        assert!(pehe < 0.5, "{:?} α={}: √PEHE {pehe}", params.ipm, params.alpha);
    }
    Ok(())
}

#[test]
fn early_stopping_restores_the_best_epochs_weights() -> anyhow::Result<()> {
    let data = common::simulated(200, 5);
    // A wide network and a high learning rate overfit 200 noisy rows quickly.
    let params = TarNetParams::study_small()
        .with_layers(vec![64, 64], vec![64])
        .with_learning_rate(0.01)
        .with_batch_size(16)
        .with_max_epochs(60)
        .with_patience(8);
    let model = params.fit(&data, Seed::new(11))?;
    let h = model.history();
    let best = h.best_epoch;
    let last = h.epochs.len() - 1;
    assert!(best < last, "training should run past the best epoch (best {best}, last {last})");
    let best_val = h.epochs[best].val_loss.expect("val loss");
    let last_val = h.epochs[last].val_loss.expect("val loss");
    assert!(best_val < last_val);
    assert!(h.epochs.iter().all(|e| e.val_loss.expect("val") >= best_val));
    // Recompute the validation loss of the returned weights: it must be the best epoch's.
    let (_, val_rows) = stratified_split(data.t(), params.val_fraction, Seed::new(11).stream("split"));
    let val = data.select(&val_rows)?;
    let po = model.predict(val.x())?;
    let sd = model.y_scaler().sd[0];
    let loss: f64 = (0..val.n())
        .map(|i| {
            let pred = if val.t()[i] == 1 { po.mu1[i] } else { po.mu0[i] };
            ((val.y()[i] - pred) / sd).powi(2)
        })
        .sum::<f64>()
        / val.n() as f64;
    assert!((loss - best_val).abs() < 1e-4 * best_val.max(1e-3), "returned weights give {loss}, best epoch {best_val}");
    Ok(())
}

#[test]
fn validation_split_is_stratified_and_disjoint() {
    let t: Vec<u8> = (0..100).map(|i| u8::from(i % 4 == 0)).collect(); // 25 treated
    let (train, val) = stratified_split(&t, 0.3, Seed::new(1));
    assert_eq!(train.len() + val.len(), 100);
    assert!(train.iter().all(|i| !val.contains(i)));
    assert_eq!(val.iter().filter(|&&i| t[i] == 1).count(), 8); // round(0.3 · 25)
    assert_eq!(val.iter().filter(|&&i| t[i] == 0).count(), 23); // round(0.3 · 75)
}

#[test]
fn same_seed_gives_identical_bits_and_different_seeds_differ() -> anyhow::Result<()> {
    let data = common::simulated(150, 9);
    let params = common::quick_params().with_max_epochs(5).with_ipm(Ipm::Wasserstein(Default::default()), 1.0);
    let a = params.fit(&data, Seed::new(4))?.predict(data.x())?;
    let b = params.fit(&data, Seed::new(4))?.predict(data.x())?;
    let c = params.fit(&data, Seed::new(5))?.predict(data.x())?;
    assert_eq!(bits(&a.mu0), bits(&b.mu0));
    assert_eq!(bits(&a.mu1), bits(&b.mu1));
    assert_ne!(bits(&a.mu0), bits(&c.mu0));
    Ok(())
}

#[test]
fn save_then_load_predicts_identically_and_checks_features() -> anyhow::Result<()> {
    let data = common::simulated(150, 12);
    let model = common::quick_params().with_max_epochs(5).fit(&data, Seed::new(1))?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("m");
    model.save(&path)?;
    assert!(path.join("model.safetensors").is_file() && path.join("model.json").is_file());
    let loaded = ite_nets::FittedTarNet::load(&path)?;
    let (a, b) = (model.predict(data.x())?, loaded.predict(data.x())?);
    assert_eq!(bits(&a.mu0), bits(&b.mu0));
    assert_eq!(bits(&a.mu1), bits(&b.mu1));
    assert_eq!(loaded.params(), model.params());
    // Wrong covariate names are refused at prediction.
    let renamed = ite_core::Covariates::new(data.x().values().to_vec(), vec!["a".into(), "b".into(), "c".into()])?;
    let e = loaded.predict(&renamed).unwrap_err().to_string();
    assert!(e.contains("fitted on covariates [x1, x2, x3]"), "{e}");
    // A different crate version is refused at load.
    let meta = std::fs::read_to_string(path.join("model.json"))?;
    let version = format!("\"crate_version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(meta.contains(&version));
    std::fs::write(path.join("model.json"), meta.replace(&version, "\"crate_version\": \"0.0.0-other\""))?;
    let e = ite_nets::FittedTarNet::load(&path).unwrap_err().to_string();
    assert!(e.contains("written by ite-nets 0.0.0-other"), "{e}");
    Ok(())
}

#[test]
fn params_validation_names_the_field() {
    let cases: Vec<(TarNetParams, &str)> = vec![
        (TarNetParams { batch_size: 0, ..Default::default() }, "batch_size"),
        (TarNetParams { learning_rate: -1.0, ..Default::default() }, "learning_rate"),
        (TarNetParams { phi_layers: vec![], ..Default::default() }, "phi_layers"),
        (TarNetParams { head_layers: vec![10, 0], ..Default::default() }, "head_layers"),
        (TarNetParams { alpha: f64::NAN, ..Default::default() }, "alpha"),
        (TarNetParams { val_fraction: 0.95, ..Default::default() }, "val_fraction"),
        (TarNetParams { patience: 0, ..Default::default() }, "patience"),
        (TarNetParams { max_epochs: 0, ..Default::default() }, "max_epochs"),
        (TarNetParams { l2_heads: -0.1, ..Default::default() }, "l2_heads"),
        (TarNetParams::default().with_ipm(Ipm::RbfMmd { sigma: 0.0 }, 1.0), "ipm.sigma"),
    ];
    for (p, field) in cases {
        let e = p.validate().unwrap_err();
        assert!(matches!(e, NetsError::Settings(ref s) if s.name == field), "{field}: {e}");
        assert!(e.to_string().contains(&format!("`{field}`")), "{e}");
    }
    for p in
        [TarNetParams::default(), TarNetParams::study_small(), TarNetParams::study_source(), TarNetParams::cfr_mmd()]
    {
        p.validate().expect("presets are valid");
    }
    // fit validates too.
    let data = common::simulated(50, 1);
    assert!(TarNetParams { batch_size: 0, ..Default::default() }.fit(&data, Seed::new(1)).is_err());
}

#[test]
fn warm_start_freezing_and_extra_loss_hook() -> anyhow::Result<()> {
    let source = common::simulated(300, 21);
    let target = common::simulated(100, 22);
    let params = common::quick_params().with_max_epochs(5);
    let prior = params.fit(&source, Seed::new(1))?;
    let before = prior.vars().snapshot()?;

    // fit_with starts from the prior's weights: with zero epochs of change (tiny lr) it stays close.
    let tiny = params.clone().with_learning_rate(1e-9).with_max_epochs(1);
    let warm = tiny.fit_with(&prior, &target, Seed::new(2))?;
    for (name, t) in warm.vars().snapshot()? {
        let diff = (t - &before[&name])?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "{name} moved by {diff}");
    }

    // Train only the heads: Φ must not change; the hook is called at every step.
    let calls = Cell::new(0usize);
    let hook = |ctx: &ite_nets::LossContext<'_>| {
        calls.set(calls.get() + 1);
        assert_eq!(ctx.phi.dims()[0], ctx.t.len());
        ctx.phi.sqr()?.mean_all()? * 0.0
    };
    let options = TrainOptions {
        trainable: Some(ite_nets::VarGroup::prefixes(&ite_nets::VarGroup::HEADS)),
        extra_loss: Some(&hook),
        ..Default::default()
    };
    let heads_only = params.fit_with_options(&target, Seed::new(3), Some(&prior), &options)?;
    assert!(calls.get() > 0);
    let after = heads_only.vars().snapshot()?;
    let mut heads_moved = false;
    for (name, t) in &after {
        let diff = (t - &before[name])?.abs()?.max_all()?.to_scalar::<f32>()?;
        if ite_nets::VarGroup::Phi.holds(name) {
            assert_eq!(diff, 0.0, "{name} changed although Φ was frozen");
        } else if diff > 0.0 {
            heads_moved = true;
        }
    }
    assert!(heads_moved);
    // A prefix that selects nothing is an error naming the option.
    let none = TrainOptions { trainable: Some(vec!["nothing.".into()]), ..Default::default() };
    let e = params.fit_with_options(&target, Seed::new(3), Some(&prior), &none).unwrap_err().to_string();
    assert!(e.contains("trainable"), "{e}");
    // The prior's architecture must match.
    let other = common::quick_params().with_layers(vec![8], vec![4]);
    assert!(other.fit_with(&prior, &target, Seed::new(1)).is_err());
    Ok(())
}

#[test]
fn mlp_t_learner_recovers_a_simple_effect() -> anyhow::Result<()> {
    let data = common::simulated(600, 41);
    let test = common::simulated(300, 42);
    let params = ite_nets::MlpTLearnerParams { layers: vec![32, 32], max_epochs: 80, ..Default::default() };
    let model = params.fit(&data, Seed::new(1))?;
    let true_ate = test.truth().expect("truth").ate();
    assert!((model.ate(test.x())? - true_ate).abs() < 0.25);
    let again = params.fit(&data, Seed::new(1))?;
    assert_eq!(bits(&model.ite(test.x())?), bits(&again.ite(test.x())?));
    let e = ite_nets::MlpTLearnerParams { batch_size: 0, ..Default::default() }.validate().unwrap_err();
    assert!(e.to_string().contains("`batch_size`"), "{e}");
    Ok(())
}

#[test]
fn deep_clone_is_independent_and_gradient_clipping_bounds_the_norm() -> anyhow::Result<()> {
    let data = common::simulated(120, 51);
    let model = common::quick_params().with_max_epochs(2).fit(&data, Seed::new(1))?;
    let copy = model.deep_clone()?;
    let before = copy.predict(data.x())?;
    let var = model.vars().get("h1.0.weight").expect("var");
    var.set(&var.zeros_like()?)?;
    assert_eq!(bits(&copy.predict(data.x())?.mu1), bits(&before.mu1));
    assert_ne!(bits(&model.predict(data.x())?.mu1), bits(&before.mu1));

    let v = candle_core::Var::from_tensor(&candle_core::Tensor::new(&[3f32, 4.0], &candle_core::Device::Cpu)?)?;
    let loss = v.as_tensor().sqr()?.sum_all()?; // gradient (6, 8), norm 10
    let mut grads = loss.backward()?;
    ite_nets::train::clip_gradients(&mut grads, std::slice::from_ref(&v), 1.0)?;
    let g = grads.get(v.as_tensor()).expect("grad").to_vec1::<f32>()?;
    assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6, "{g:?}");
    // Clipping is an option of training too, validated.
    let options = TrainOptions { clip_grad_norm: Some(0.0), ..Default::default() };
    let e = common::quick_params().fit_with_options(&data, Seed::new(1), None, &options).unwrap_err().to_string();
    assert!(e.contains("clip_grad_norm"), "{e}");
    let options = TrainOptions { clip_grad_norm: Some(1.0), ..Default::default() };
    common::quick_params().with_max_epochs(2).fit_with_options(&data, Seed::new(1), None, &options)?;
    Ok(())
}

#[test]
fn heads_l2_added_by_the_update_trains_exactly_as_l2_in_the_loss() -> anyhow::Result<()> {
    let data = common::simulated(150, 21);
    let params = ite_nets::TarNetParams { l2_heads: 0.05, ..common::quick_params().with_max_epochs(4) };
    // By default the fused Adam update adds the heads' L2 gradient. With gradient clipping the
    // term is built into the graph instead; a bound no gradient reaches changes nothing else.
    let in_update = params.fit_with_options(&data, Seed::new(3), None, &TrainOptions::default())?;
    let graph = TrainOptions { clip_grad_norm: Some(1e30), ..Default::default() };
    let in_graph = params.fit_with_options(&data, Seed::new(3), None, &graph)?;
    let (a, b) = (in_update.predict(data.x())?, in_graph.predict(data.x())?);
    assert_eq!(bits(&a.mu0), bits(&b.mu0));
    assert_eq!(bits(&a.mu1), bits(&b.mu1));
    // The reported objective includes the term either way.
    for (x, y) in in_update.history().epochs.iter().zip(&in_graph.history().epochs) {
        assert!((x.train_loss - y.train_loss).abs() <= 1e-5 * y.train_loss.abs(), "{x:?} vs {y:?}");
    }
    // And the term matters: without it the fit differs.
    let plain = ite_nets::TarNetParams { l2_heads: 0.0, ..params.clone() }.fit(&data, Seed::new(3))?;
    assert_ne!(bits(&plain.predict(data.x())?.mu1), bits(&a.mu1));
    Ok(())
}

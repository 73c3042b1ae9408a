//! `ite predict` and `ite transfer --source-model` on a saved model that was corrupted after
//! `ite fit` wrote it (issue 14 §5): a zero sd in the outcome scaler, a NaN weight. Each is
//! refused with a non-zero exit and one message naming the model file and the field, no panic,
//! and no output written.

use std::path::Path;

mod common;

use common::{ite, ok, simulate};

/// Fits the study network for 2 epochs on `data` and returns OUT (holding `model/`).
fn fit(dir: &Path, data: &str, name: &str) -> String {
    let out = dir.join(name).to_str().unwrap().to_string();
    ok(&["fit", "--data", data, "--model", "study", "--epochs", "2", "--seed", "1", "--out", &out, "--quiet"]);
    out
}

/// Runs `args`; asserts failure, one message naming `file` and `field`, no panic.
fn refused(args: &[&str], file: &Path, field: &str) {
    let out = ite(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ite {args:?} succeeded");
    assert!(stderr.contains(&file.display().to_string()), "{stderr:?} does not name {}", file.display());
    assert!(stderr.contains(field), "{stderr:?} does not name {field}");
    assert!(!stderr.contains("panicked") && !stderr.contains("of row"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn predict_refuses_a_zero_sd_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = simulate(d, "d.csv", &["--role", "source", "--n", "120", "--seed", "1"]);
    let out = fit(d, &data, "fit");
    let meta = Path::new(&out).join("model/model.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    v["y_scaler"]["sd"][0] = serde_json::json!(0.0);
    std::fs::write(&meta, serde_json::to_string(&v).unwrap()).unwrap();
    let p = d.join("p.csv");
    refused(&["predict", "--model", &out, "--data", &data, "--out", p.to_str().unwrap()], &meta, "y_scaler.sd[0]");
    assert!(!p.exists(), "predictions written from a corrupt model");
    let before: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before.len(), 2, "only d.csv and fit/: {before:?}");
}

#[test]
fn predict_and_transfer_refuse_a_nan_weight() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = simulate(d, "d.csv", &["--role", "source", "--n", "120", "--seed", "1"]);
    let tgt = simulate(d, "t.csv", &["--role", "target", "--n", "40", "--seed", "2"]);
    let out = fit(d, &data, "fit");
    let weights = Path::new(&out).join("model/model.safetensors");
    let dev = candle_core::Device::Cpu;
    let mut t = candle_core::safetensors::load(&weights, &dev).unwrap();
    let w = &t["h0.0.weight"];
    let mut v = w.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    v[0] = f32::NAN;
    let nan = candle_core::Tensor::from_vec(v, w.dims(), &dev).unwrap();
    t.insert("h0.0.weight".into(), nan);
    candle_core::safetensors::save(&t, &weights).unwrap();
    let p = d.join("p.csv");
    refused(&["predict", "--model", &out, "--data", &data, "--out", p.to_str().unwrap()], &weights, "h0.0.weight");
    assert!(!p.exists(), "predictions written from a corrupt model");
    let model = Path::new(&out).join("model");
    let o = d.join("tr");
    let args = [
        "transfer",
        "--source",
        &data,
        "--target",
        &tgt,
        "--strategy",
        "freeze-representation",
        "--source-model",
        model.to_str().unwrap(),
        "--out",
        o.to_str().unwrap(),
        "--quiet",
    ];
    refused(&args, &weights, "h0.0.weight");
    assert!(!o.exists(), "transfer output written from a corrupt model");
}

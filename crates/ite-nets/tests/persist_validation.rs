//! A saved model is validated field by field at load: each corruption of `model.json` or
//! `model.safetensors` (a zero or negative sd, a NaN mean, a NaN weight, a tensor of the wrong
//! shape or dtype, a missing or extra tensor, bad JSON, hyperparameters that do not validate or
//! that do not match the weights) is refused with an error naming the file and the field.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use ite_core::{Fit, Seed};
use ite_nets::{FittedTarNet, NetsError};
use serde_json::{Value, json};

/// Saves a small fitted model into a fresh directory.
fn saved() -> (tempfile::TempDir, PathBuf) {
    let data = common::simulated(120, 5);
    let model = common::quick_params().with_max_epochs(3).fit(&data, Seed::new(2)).expect("fit");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m");
    model.save(&path).expect("save");
    (dir, path)
}

fn edit_json(dir: &Path, f: impl FnOnce(&mut Value)) {
    let p = dir.join("model.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn edit_tensors(dir: &Path, f: impl FnOnce(&mut HashMap<String, Tensor>)) {
    let p = dir.join("model.safetensors");
    let mut t = candle_core::safetensors::load(&p, &Device::Cpu).unwrap();
    f(&mut t);
    candle_core::safetensors::save(&t, &p).unwrap();
}

/// Loading fails with `InvalidModel` on `file`, naming `field`, and `problem` in the message.
fn refused(dir: &Path, file: &str, field: &str, problem: &str) {
    let e = FittedTarNet::load(dir).expect_err("corrupt model loaded");
    let msg = e.to_string();
    match &e {
        NetsError::InvalidModel { path, field: f, .. } => {
            assert_eq!(path, &dir.join(file), "{msg}");
            assert!(f.contains(field), "field {f:?} lacks {field:?}: {msg}");
        }
        other => panic!("expected InvalidModel, got {other:?}"),
    }
    assert!(msg.contains(&dir.join(file).display().to_string()) && msg.contains(field), "{msg}");
    assert!(msg.contains(problem), "{msg:?} lacks {problem:?}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn an_intact_model_loads() {
    let (_d, m) = saved();
    FittedTarNet::load(&m).expect("load");
}

#[test]
fn scaler_fields_are_checked() {
    type Edit = fn(&mut Value);
    let cases: [(Edit, &str, &str); 8] = [
        (|v| v["y_scaler"]["sd"][0] = json!(0.0), "y_scaler.sd[0]", "expected a finite number > 0"),
        (|v| v["x_scaler"]["sd"][1] = json!(0.0), "x_scaler.sd[1]", "is 0"),
        (|v| v["x_scaler"]["sd"][2] = json!(-1.5), "x_scaler.sd[2]", "is -1.5"),
        (|v| v["x_scaler"]["mean"][0] = json!(null), "x_scaler", "invalid type: null"),
        (|v| v["y_scaler"]["mean"][0] = json!(f64::NAN), "y_scaler", "invalid type: null"),
        (|v| v["x_scaler"]["mean"] = json!([0.0, 1.0]), "x_scaler.mean", "has 2 values, expected 3"),
        (|v| v["y_scaler"]["sd"] = json!([]), "y_scaler.sd", "has 0 values, expected 1"),
        (|v| v["x_scaler"]["sd"][0] = json!("one"), "x_scaler", "invalid type"),
    ];
    for (edit, field, problem) in cases {
        let (_d, m) = saved();
        edit_json(&m, edit);
        refused(&m, "model.json", field, problem);
    }
}

#[test]
fn a_nan_mean_is_refused() {
    // JSON has no NaN: serde_json writes a non-finite f32 as null, and a hand-edited `NaN` is not JSON.
    let (_d, m) = saved();
    let p = m.join("model.json");
    let text = std::fs::read_to_string(&p).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let first = v["y_scaler"]["mean"][0].to_string();
    std::fs::write(&p, text.replacen(&format!("\n      {first}\n"), "\n      NaN\n", 1)).unwrap();
    refused(&m, "model.json", "line ", "malformed JSON");
}

#[test]
fn other_json_fields_are_checked() {
    type Edit = fn(&mut Value);
    let cases: [(Edit, &str, &str); 8] = [
        (|v| v["params"]["learning_rate"] = json!(-0.1), "params", "learning_rate"),
        (|v| v["params"]["phi_layers"] = json!([]), "params", "phi_layers"),
        (|v| v["params"]["phi_layers"] = json!([16, 16]), "(all tensors)", "need"),
        (
            |v| v["params"]["head_layers"] = json!([1_000_000_000_000_000u64, 1_000_000_000_000u64]),
            "(all tensors)",
            "memory",
        ),
        (|v| v["feature_names"] = json!(["x1", "x1", "x3"]), "feature_names[1]", "repeated"),
        (|v| drop(v.as_object_mut().unwrap().remove("y_scaler")), "y_scaler", "missing"),
        (|v| v["kind"] = json!("forest"), "kind", "not `tarnet`"),
        (|v| v["history"]["epochs"][0]["train_loss"] = json!("x"), "history", "invalid type"),
    ];
    for (edit, field, problem) in cases {
        let (_d, m) = saved();
        edit_json(&m, edit);
        let file = if field == "(all tensors)" { "model.safetensors" } else { "model.json" };
        refused(&m, file, field, problem);
    }
}

#[test]
fn bad_json_names_the_line_and_column() {
    for text in ["", "{\"kind\": \"tarnet\",", "[1, 2]", "{\"kind\": tarnet}"] {
        let (_d, m) = saved();
        std::fs::write(m.join("model.json"), text).unwrap();
        let field = if text.starts_with('[') { "(top level)" } else { "line " };
        refused(&m, "model.json", field, if field == "line " { "malformed JSON" } else { "JSON object" });
    }
}

#[test]
fn weights_are_checked() {
    type Edit = fn(&mut HashMap<String, Tensor>);
    let cases: [(Edit, &str, &str); 6] = [
        (
            |t| {
                let w = &t["h0.0.weight"];
                let mut v = w.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                v[1] = f32::NAN;
                let nw = Tensor::from_vec(v, w.dims(), &Device::Cpu).unwrap();
                t.insert("h0.0.weight".into(), nw);
            },
            "h0.0.weight",
            "element [0, 1] is NaN",
        ),
        (
            |t| {
                let b = &t["phi.0.bias"];
                let n = b.elem_count();
                let mut v = vec![0.0f32; n];
                v[n - 1] = f32::INFINITY;
                t.insert("phi.0.bias".into(), Tensor::from_vec(v, b.dims(), &Device::Cpu).unwrap());
            },
            "phi.0.bias",
            "is inf",
        ),
        (
            |t| {
                // Same number of values, transposed shape.
                let w = t["phi.0.weight"].t().unwrap().contiguous().unwrap();
                t.insert("phi.0.weight".into(), w);
            },
            "phi.0.weight",
            "has shape",
        ),
        (
            |t| {
                let w = t["h1.0.bias"].to_dtype(DType::F64).unwrap();
                t.insert("h1.0.bias".into(), w);
            },
            "h1.0.bias",
            "dtype",
        ),
        (
            |t| {
                let w = t.remove("h1.0.bias").unwrap();
                t.insert("h1.0.biases".into(), w);
            },
            "h1.0.biases",
            "unexpected tensor",
        ),
        (
            |t| {
                // Missing, with the numbers kept elsewhere so the total count still matches.
                let b = t.remove("h1.0.bias").unwrap();
                let w = &t["h1.0.weight"];
                let joined = Tensor::cat(&[w.flatten_all().unwrap(), b], 0).unwrap();
                t.insert("h1.0.weight".into(), joined);
            },
            "h1.0.bias",
            "missing tensor",
        ),
    ];
    for (edit, field, problem) in cases {
        let (_d, m) = saved();
        edit_tensors(&m, edit);
        refused(&m, "model.safetensors", field, problem);
    }
}

#[test]
fn a_missing_tensor_and_a_truncated_file_are_refused() {
    let (_d, m) = saved();
    edit_tensors(&m, |t| drop(t.remove("h0.0.bias")));
    refused(&m, "model.safetensors", "(all tensors)", "need");
    let (_d, m) = saved();
    let p = m.join("model.safetensors");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    refused(&m, "model.safetensors", "(safetensors)", "cannot read tensors");
}

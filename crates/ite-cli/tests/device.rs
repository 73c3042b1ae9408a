//! End-to-end tests of `--device` on `ite fit`, `ite transfer`, `ite benchmark ihdp` and
//! `ite bench train`: `cpu` gives exactly the output of no flag, `cuda` in a build without the
//! `cuda` feature and malformed values fail with a message naming the flag.

use std::path::{Path, PathBuf};

mod common;

use common::{fails_with, ok, simulate};

/// Runs `args` + `--out DIR/name` + `extra` and returns stdout and predictions.csv.
fn run_to(dir: &Path, name: &str, args: &[&str], extra: &[&str]) -> (String, String) {
    let out = dir.join(name);
    let stdout = ok(&[args, &["--out", out.to_str().unwrap()], extra].concat());
    (stdout, std::fs::read_to_string(out.join("predictions.csv")).unwrap())
}

#[test]
fn fit_on_cpu_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = simulate(d, "d.csv", &["--role", "source", "--n", "200", "--seed", "1"]);
    for model in ["study", "t-learner-mlp"] {
        let args = ["fit", "--data", &data, "--model", model, "--epochs", "3", "--quiet", "--json"];
        let plain = run_to(d, &format!("{model}-plain"), &args, &[]);
        let cpu = run_to(d, &format!("{model}-cpu"), &args, &["--device", "cpu"]);
        assert_eq!(plain, cpu, "{model}");
    }
}

#[test]
fn transfer_on_cpu_is_the_default_with_a_trained_or_loaded_source() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = simulate(d, "src.csv", &["--role", "source", "--n", "400", "--seed", "1"]);
    let tgt = simulate(d, "tgt.csv", &["--role", "target", "--assignment", "biased", "--n", "60", "--seed", "2"]);
    let args = ["transfer", "--source", &src, "--target", &tgt, "--strategy", "fine-tune", "--quiet", "--json"];
    let plain = run_to(d, "plain", &args, &[]);
    assert_eq!(plain, run_to(d, "cpu", &args, &["--device", "cpu"]));
    let model = d.join("plain/source_model");
    let loaded = run_to(d, "loaded", &args, &["--device", "cpu", "--source-model", model.to_str().unwrap()]);
    // The same predictions and summary, apart from where the source network came from.
    assert_eq!(plain.1, loaded.1);
    let without_source = |s: &str| {
        let mut v: serde_json::Value = serde_json::from_str(s.trim()).unwrap();
        v.as_object_mut().unwrap().remove("source_network");
        v
    };
    assert_eq!(without_source(&plain.0), without_source(&loaded.0));
}

#[test]
fn bench_train_runs_on_cpu() {
    let out = ok(&["bench", "train", "--net", "paper", "--steps", "50", "--warmup", "0", "--device", "cpu"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(v["steps"], 50);
}

fn ihdp_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ihdp");
    dir.join("ihdp_npci_1.csv").is_file().then_some(dir)
}

#[test]
fn benchmark_on_cpu_is_the_default() {
    let Some(data) = ihdp_dir() else {
        eprintln!("IHDP data not found; skipping");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let summary = |name: &str, extra: &[&str]| -> serde_json::Value {
        let out = dir.path().join(name);
        let args = ["benchmark", "ihdp", "--model", "tarnet", "--replications", "1", "--max-epochs", "2"];
        ok(&[&args[..], &["--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()], extra].concat());
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        for part in ["median", "mean", "se"] {
            v[part].as_object_mut().unwrap().remove("fit_seconds");
        }
        v["replications"][0].as_object_mut().unwrap().remove("fit_seconds");
        v
    };
    assert_eq!(summary("plain", &[]), summary("cpu", &["--device", "cpu"]));
}

/// The four commands with otherwise valid arguments (checked before any file is read).
fn commands(d: &str) -> Vec<Vec<String>> {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        v(&["fit", "--data", &format!("{d}/none.csv"), "--out", &format!("{d}/o1")]),
        v(&["transfer", "--source", "s.csv", "--target", "t.csv", "--out", &format!("{d}/o2")]),
        v(&["benchmark", "ihdp", "--data", d, "--out", &format!("{d}/o3")]),
        v(&["bench", "train", "--steps", "1"]),
    ]
}

#[test]
fn cuda_needs_the_cuda_feature() {
    if cfg!(feature = "cuda") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for cmd in commands(dir.path().to_str().unwrap()) {
        for dev in ["cuda", "cuda:1"] {
            let args: Vec<&str> = cmd.iter().map(String::as_str).chain(["--device", dev]).collect();
            fails_with(&args, "--device");
            fails_with(&args, "--features cuda");
        }
    }
}

#[test]
fn malformed_devices_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in commands(dir.path().to_str().unwrap()) {
        for dev in ["gpu", "cuda:x", "CPU", ""] {
            let args: Vec<&str> = cmd.iter().map(String::as_str).chain(["--device", dev]).collect();
            fails_with(&args, "--device");
            fails_with(&args, "expected `cpu`, `cuda` or `cuda:N`");
        }
    }
}

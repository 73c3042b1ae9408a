//! End-to-end tests of `ite bench train`: the JSON line it prints and its errors. Speed itself
//! is never asserted.

mod common;

use common::ite;

#[test]
fn prints_one_json_line_with_the_documented_fields() {
    let out = ite(&["bench", "train", "--net", "paper", "--steps", "60", "--warmup", "0", "--roofline"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).expect("JSON");
    assert_eq!(v["net"], "paper");
    assert_eq!(v["batch"], 32);
    // Whole epochs of 50 steps: 60 requested → 100 run.
    assert_eq!(v["steps"], 100);
    assert_eq!(v["threads"], 1);
    let sps = v["steps_per_sec"].as_f64().expect("steps_per_sec");
    assert!(sps.is_finite() && sps > 0.0);
    let frac = v["roofline_fraction"].as_f64().expect("roofline_fraction");
    assert!(frac.is_finite() && frac > 0.0);
}

#[test]
fn ihdp_net_with_another_batch_and_threads() {
    let out = ite(&["bench", "train", "--net", "ihdp", "--steps", "1", "--batch", "20", "--threads", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!((v["net"].as_str(), v["batch"].as_u64(), v["steps"].as_u64()), (Some("ihdp"), Some(20), Some(50)));
    assert_eq!(v["threads"], 2);
    assert!(v.get("roofline_fraction").is_none());
}

#[test]
fn models_trains_networks_together_and_reports_network_steps() {
    let out = ite(&["bench", "train", "--net", "paper", "--steps", "60", "--warmup", "0", "--models", "12"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (v["trainer"].as_str(), v["models"].as_u64(), v["steps"].as_u64()),
        (Some("batched"), Some(12), Some(100))
    );
    let (sps, msps) =
        (v["steps_per_sec"].as_f64().expect("steps"), v["model_steps_per_sec"].as_f64().expect("model steps"));
    assert!(sps > 0.0 && (msps / sps - 12.0).abs() < 1e-9, "{sps} {msps}");
    // Without --models: the single-network trainer, one model.
    let out = ite(&["bench", "train", "--net", "paper", "--steps", "50", "--warmup", "0"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!((v["trainer"].as_str(), v["models"].as_u64()), (Some("single"), Some(1)));
    assert_eq!(v["steps_per_sec"], v["model_steps_per_sec"]);
}

#[test]
fn bad_arguments_name_the_flag() {
    for (args, needle) in [
        (vec!["bench", "train", "--net", "resnet"], "net"),
        (vec!["bench", "train", "--batch", "0"], "--batch"),
        (vec!["bench", "train", "--steps", "0"], "--steps"),
        (vec!["bench", "train", "--threads", "0"], "--threads"),
        (vec!["bench", "train", "--models", "0"], "--models"),
        (vec!["bench", "train", "--models", "8", "--roofline"], "--roofline"),
    ] {
        let out = ite(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

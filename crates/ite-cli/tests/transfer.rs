//! End-to-end tests of `ite transfer`, driving the built binary on simulated files: the
//! outputs it promises, reuse of a saved source model, and errors that name what is wrong
//! and leave no output directory.

mod common;

use common::{fails_with, ok, simulate};

#[test]
fn transfer_writes_predictions_summary_and_models() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = simulate(d, "src.csv", &["--role", "source", "--n", "800", "--seed", "1"]);
    let tgt = simulate(d, "tgt.csv", &["--role", "target", "--assignment", "biased", "--n", "80", "--seed", "2"]);
    let test = simulate(d, "test.csv", &["--role", "target", "--assignment", "biased", "--n", "300", "--seed", "3"]);
    let out = d.join("out");
    let o = out.to_str().unwrap();
    let args = ["transfer", "--source", &src, "--target", &tgt, "--strategy", "freeze-representation"];
    let stdout = ok(&[&args[..], &["--predict", &test, "--seed", "5", "--out", o, "--quiet", "--json"]].concat());
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
        .expect("summary.json is JSON");
    assert_eq!(serde_json::from_str::<serde_json::Value>(stdout.trim()).unwrap(), summary);
    assert_eq!(summary["strategy"], "freeze-representation");
    assert_eq!(summary["source_network"], "transfer-source", "the default --model trained the source model");
    let cita = summary["cita"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&cita), "{cita}");
    // The reading of CITA from the Simulation 2 grid, at the grid size nearest 80 units (100),
    // in the bin that holds this CITA (or null where the grid saw too few such values).
    let reading = &summary["cita_reading"];
    if !reading.is_null() {
        assert_eq!(reading["grid_target_n"], 100, "{reading}");
        let (lo, hi) = (reading["cita_lower"].as_f64().unwrap(), reading["cita_upper"].as_f64().unwrap());
        assert!(lo <= cita && cita < hi, "{cita} outside [{lo}, {hi})");
        assert!(reading["text"].as_str().unwrap().contains("staged alignment beat target-only"));
    }
    let ate = &summary["ate"];
    let (lo, est, hi) =
        (ate["lower"].as_f64().unwrap(), ate["estimate"].as_f64().unwrap(), ate["upper"].as_f64().unwrap());
    assert!(lo <= est && est <= hi && ate["level"] == 0.95 && ate["method"] == "aipw", "{ate}");
    // AIPW on the target (the strategy re-run on 5 folds of its 80 units), the plug-in on the
    // predicted rows; truths of both.
    assert_eq!(summary["overlap"]["n"], 80);
    assert_eq!(summary["inference"]["folds"], 5);
    for key in ["att", "atc"] {
        assert!(summary[key]["lower"].as_f64().unwrap() < summary[key]["upper"].as_f64().unwrap(), "{key}");
    }
    for key in ["ate_true", "att_true", "atc_true", "ate_true_predicted"] {
        assert!(summary[key].is_f64(), "{key}: {summary}");
    }
    assert!(summary["ate_plugin"]["estimate"].is_f64() && summary["ate_plugin"]["lower"].is_null());
    assert!(summary["warnings"].is_array());
    for key in ["pehe", "sqrt_pehe", "ate_bias"] {
        assert!(summary[key].as_f64().unwrap().is_finite(), "{key}");
    }
    let pehe = summary["pehe"].as_f64().unwrap();
    assert!((summary["sqrt_pehe"].as_f64().unwrap() - pehe.sqrt()).abs() < 1e-12);
    let preds = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
    let mut lines = preds.lines();
    assert_eq!(lines.next(), Some("mu0,mu1,ite"));
    assert_eq!(lines.clone().count(), 300);
    for line in lines {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        assert!((v[1] - v[0] - v[2]).abs() < 1e-4, "ite != mu1 - mu0 in {line}");
    }
    for f in ["model/model.safetensors", "model/model.json", "source_model/model.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }

    // One source serves many targets: reusing the saved source model gives the same result.
    let out2 = d.join("out2");
    let model = out.join("source_model");
    let args2 = [&args[..], &["--predict", &test, "--seed", "5", "--quiet", "--json"]].concat();
    let stdout2 =
        ok(&[&args2[..], &["--source-model", model.to_str().unwrap(), "--out", out2.to_str().unwrap()]].concat());
    // The same summary, apart from where the source network came from.
    let (mut first, mut second): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(stdout.trim()).unwrap(), serde_json::from_str(stdout2.trim()).unwrap());
    let loaded = second["source_network"].as_str().unwrap().to_string();
    assert!(loaded.starts_with("loaded from ") && loaded.ends_with("source_model"), "{loaded}");
    for v in [&mut first, &mut second] {
        v.as_object_mut().unwrap().remove("source_network");
    }
    assert_eq!(second, first);
    assert_eq!(std::fs::read(out2.join("predictions.csv")).unwrap(), preds.as_bytes());
    assert!(!out2.join("source_model").exists(), "a loaded source model is not written again");
}

#[test]
fn bad_requests_name_the_problem_and_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = simulate(d, "src.csv", &["--role", "source", "--n", "200", "--seed", "1"]);
    let tgt = simulate(d, "tgt.csv", &["--role", "target", "--n", "60", "--seed", "2"]);
    let out = d.join("out");
    let o = out.to_str().unwrap();
    fails_with(
        &["transfer", "--source", &src, "--target", &tgt, "--strategy", "magic", "--out", o],
        "unknown strategy `magic`; valid strategies: source-only, target-only, fine-tune",
    );
    // A target with other covariates: the message names both files and their columns.
    let other = d.join("other.csv");
    std::fs::write(&other, "a,b,t,y\n1,2,0,1\n2,3,1,2\n3,1,0,1\n").unwrap();
    fails_with(
        &["transfer", "--source", &src, "--target", other.to_str().unwrap(), "--out", o],
        "covariates differ: source",
    );
    fails_with(&["transfer", "--source", &src, "--target", other.to_str().unwrap(), "--out", o], "[a, b]");
    // A target with one arm only.
    let one_arm = d.join("one_arm.csv");
    std::fs::write(&one_arm, "x1,x2,x3,x4,x5,t,y\n1,2,3,4,5,1,1\n2,3,4,5,6,1,2\n").unwrap();
    fails_with(
        &["transfer", "--source", &src, "--target", one_arm.to_str().unwrap(), "--out", o],
        "(target): the control arm is empty",
    );
    fails_with(
        &["transfer", "--source", &src, "--target", &tgt, "--source-model", d.to_str().unwrap(), "--out", o],
        "--source-model",
    );
    assert!(!out.exists(), "a failed run created {o}");
}

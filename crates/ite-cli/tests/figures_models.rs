//! Issue 19, items 4–6 end to end: the figures `ite fit` and `ite transfer` write into
//! OUT/figures/ (valid PNG and SVG, listed in summary.json, none with `--no-figures`); every
//! model `ite fit` offers saved and predicting through `ite predict` exactly as the fit did;
//! one model vocabulary in `fit --model` and `transfer --model` (the old `--net` spellings kept),
//! the target phase's `--epochs`, `--learning-rate`, `--batch-size`, `--config`; the `id` column.

mod common;

use std::path::Path;

use common::{fails_with, ok, simulate};
use serde_json::Value;

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Width and height of a PNG, after checking its signature.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    assert_eq!(&b[12..16], b"IHDR");
    (u32::from_be_bytes(b[16..20].try_into().unwrap()), u32::from_be_bytes(b[20..24].try_into().unwrap()))
}

/// The SVG text, after checking it is a whole SVG document.
fn svg(path: &Path) -> String {
    let t = std::fs::read_to_string(path).unwrap();
    assert!(t.starts_with("<svg") && t.trim_end().ends_with("</svg>"), "{} is not an SVG", path.display());
    t
}

const FIGURES: [&str; 4] = [
    "figures/ite_distribution.png",
    "figures/ite_distribution.svg",
    "figures/propensity_overlap.png",
    "figures/propensity_overlap.svg",
];

#[test]
fn fit_writes_both_figures_as_png_and_svg_and_no_figures_writes_none() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = simulate(d, "d.csv", &["--role", "target", "--assignment", "biased", "--n", "200", "--seed", "1"]);
    let out = d.join("out");
    ok(&["fit", "--data", &data, "--model", "t-learner-ols", "--out", p(&out), "--quiet"]);
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["figures"], serde_json::json!(FIGURES));
    for f in FIGURES.iter().filter(|f| f.ends_with(".png")) {
        assert_eq!(png_size(&out.join(f)), (900, 600), "{f}");
    }
    let ite = svg(&out.join("figures/ite_distribution.svg"));
    // The ATE and its interval are marked with the numbers of summary.json.
    let lower = summary["ate"]["lower"].as_f64().unwrap();
    assert!(ite.contains("ATE (AIPW)") && ite.contains(&format!("{lower:.4}")), "{ite:.400}");
    assert!(ite.contains("t-learner-ols (n = 200)"));
    let overlap = svg(&out.join("figures/propensity_overlap.svg"));
    let treated = summary["n_treated"].as_u64().unwrap();
    assert!(
        overlap.contains(&format!("treated (n = {treated})"))
            && overlap.contains(&format!("control (n = {})", 200 - treated))
    );
    // The manifest lists the figures: a rerun may replace them.
    let manifest = json(&out.join(".ite-output.json"));
    for f in FIGURES {
        assert!(manifest["files"].as_array().unwrap().iter().any(|v| v == f), "{f} not in the manifest");
    }
    let bare = d.join("bare");
    ok(&["fit", "--data", &data, "--model", "t-learner-ols", "--out", p(&bare), "--quiet", "--no-figures"]);
    assert!(!bare.join("figures").exists());
    assert_eq!(json(&bare.join("summary.json"))["figures"], serde_json::json!([]));
}

#[test]
fn transfer_overlays_target_only_and_source_model_and_takes_target_phase_settings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = simulate(d, "src.csv", &["--role", "source", "--n", "300", "--seed", "1"]);
    let tgt = simulate(d, "tgt.csv", &["--role", "target", "--n", "80", "--seed", "2"]);
    let base = ["transfer", "--source", &src, "--target", &tgt, "--strategy", "fine-tune", "--folds", "2", "--quiet"];
    let run = |name: &str, extra: &[&str]| -> std::path::PathBuf {
        let out = d.join(name);
        ok(&[&base[..], extra, &["--out", p(&out)]].concat());
        out
    };
    let a = run("a", &["--epochs", "3"]);
    let summary = json(&a.join("summary.json"));
    assert_eq!(summary["figures"], serde_json::json!(FIGURES));
    assert_eq!(summary["target_training"]["max_epochs"], 3);
    let ite = svg(&a.join("figures/ite_distribution.svg"));
    for label in ["with transfer (fine-tune) (n = 80)", "target only (n = 80)", "source model (n = 80)", "ATE (AIPW)"] {
        assert!(ite.contains(label), "{label} missing");
    }
    assert_eq!(png_size(&a.join("figures/ite_distribution.png")), (900, 600));
    // --learning-rate and --batch-size reach the target phase: the predictions change, and a
    // --config with the same keys does what the flags do.
    let b = run("b", &["--epochs", "3", "--learning-rate", "0.05", "--batch-size", "8", "--no-figures"]);
    assert!(!b.join("figures").exists());
    let pa = std::fs::read_to_string(a.join("predictions.csv")).unwrap();
    let pb = std::fs::read_to_string(b.join("predictions.csv")).unwrap();
    assert_ne!(pa, pb, "--learning-rate/--batch-size changed nothing");
    let cfg = d.join("target.toml");
    std::fs::write(&cfg, "max_epochs = 3\nlearning_rate = 0.05\nbatch_size = 8\n").unwrap();
    let c = run("c", &["--config", p(&cfg), "--no-figures"]);
    assert_eq!(std::fs::read_to_string(c.join("predictions.csv")).unwrap(), pb);
    let tt = &json(&c.join("summary.json"))["target_training"];
    assert_eq!(
        (tt["max_epochs"].as_u64(), tt["learning_rate"].as_f64(), tt["batch_size"].as_u64()),
        (Some(3), Some(0.05), Some(8))
    );
    // Bad settings name the flag or the key.
    let o = d.join("bad");
    fails_with(&[&base[..], &["--learning-rate", "0", "--out", p(&o)]].concat(), "--learning-rate");
    fails_with(&[&base[..], &["--batch-size", "0", "--out", p(&o)]].concat(), "--batch-size");
    std::fs::write(&cfg, "lr = 0.1\n").unwrap();
    fails_with(
        &[&base[..], &["--config", p(&cfg), "--out", p(&o)]].concat(),
        "unknown key `lr`; valid keys: batch_size",
    );
    std::fs::write(&cfg, "batch_size = 0\n").unwrap();
    fails_with(&[&base[..], &["--config", p(&cfg), "--out", p(&o)]].concat(), "batch_size");
    assert!(!o.exists());
}

/// Every model of `ite fit --model`, and the flags that make it quick.
const MODELS: [(&str, &[&str]); 10] = [
    ("tarnet", &["--epochs", "2"]),
    ("cfr-wass", &["--epochs", "2"]),
    ("cfr-mmd", &["--epochs", "2"]),
    ("study", &["--epochs", "2"]),
    ("study-source", &["--epochs", "2"]),
    ("transfer-source", &["--epochs", "2"]),
    ("t-learner-ols", &[]),
    ("s-learner-ols", &[]),
    ("t-learner-mlp", &["--epochs", "2"]),
    ("auto", &["--candidates", "s-learner-ols,t-learner-mlp", "--epochs", "2"]),
];

#[test]
fn every_model_round_trips_through_predict() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = simulate(d, "d.csv", &["--role", "target", "--n", "120", "--seed", "1"]);
    let rows = simulate(d, "rows.csv", &["--role", "target", "--n", "40", "--seed", "2"]);
    for (model, extra) in MODELS {
        let out = d.join(model);
        let base =
            ["fit", "--data", &data, "--model", model, "--predict", &rows, "--folds", "2", "--quiet", "--no-figures"];
        ok(&[&base[..], extra, &["--out", p(&out)]].concat());
        let meta = json(&out.join("fit.json"));
        assert_eq!(meta["persisted"], true, "{model}");
        let again = d.join(format!("{model}.csv"));
        ok(&["predict", "--model", p(&out), "--data", &rows, "--out", p(&again), "--quiet"]);
        let fitted = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
        let predicted = std::fs::read_to_string(&again).unwrap();
        assert_eq!(fitted.lines().count(), 41, "{model}");
        assert_eq!(predicted, fitted, "{model}: ite predict differs from the fit's own predictions");
    }
}

#[test]
fn fit_and_transfer_share_one_model_vocabulary_and_keep_the_old_net_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = simulate(d, "src.csv", &["--role", "source", "--n", "200", "--seed", "1"]);
    let tgt = simulate(d, "tgt.csv", &["--role", "target", "--n", "60", "--seed", "2"]);
    let source_network = |extra: &[&str]| -> String {
        let out = d.join("t");
        let args = ["transfer", "--source", &src, "--target", &tgt, "--strategy", "source-only", "--folds", "2"];
        ok(&[&args[..], extra, &["--quiet", "--no-figures", "--force", "--out", p(&out)]].concat());
        json(&out.join("summary.json"))["source_network"].as_str().unwrap().to_string()
    };
    // `study` is the study's small TARNet in both commands; the old `--net study` is study-source.
    assert_eq!(source_network(&["--model", "study"]), "study");
    assert_eq!(source_network(&["--net", "study"]), "study-source");
    assert_eq!(source_network(&["--net", "ihdp"]), "tarnet");
    assert_eq!(source_network(&["--net", "source"]), "transfer-source");
    assert_eq!(source_network(&["--model", "ihdp"]), "tarnet");
    let out = d.join("f");
    ok(&[
        "fit",
        "--data",
        &tgt,
        "--model",
        "ihdp",
        "--epochs",
        "1",
        "--folds",
        "2",
        "--quiet",
        "--no-figures",
        "--out",
        p(&out),
    ]);
    assert_eq!(json(&out.join("summary.json"))["model"], "tarnet");
    let o = d.join("bad");
    let t = ["transfer", "--source", &src, "--target", &tgt, "--out", p(&o)];
    fails_with(&[&t[..], &["--model", "t-learner-ols"]].concat(), "baseline of `ite fit`, without a representation");
    fails_with(&[&t[..], &["--model", "resnet"]].concat(), "expected one of tarnet, cfr-wass, cfr-mmd, study");
    fails_with(&[&t[..], &["--model", "study", "--net", "study"]].concat(), "cannot be used with");
    fails_with(&[&t[..], &["--model", "study", "--source-model", p(d)]].concat(), "give one of them");
    fails_with(&["fit", "--data", &tgt, "--model", "resnet", "--out", p(&o)], "expected auto or one of tarnet");
    assert!(!o.exists());
    // --help documents the shared names and the old spellings, and lists no --net flag of its own.
    let help = ok(&["transfer", "--help"]);
    assert!(help.contains("study-source") && help.contains("same names and presets as `ite fit"), "{help}");
    assert!(help.contains("--net study = --model study-source"));
    assert!(!help.lines().any(|l| l.trim_start().starts_with("--net")), "--net is listed");
    assert!(ok(&["fit", "--help"]).contains("the same names as `ite transfer --model`"));
}

#[test]
fn a_column_named_id_is_the_id_unless_covariates_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let raw = simulate(d, "raw.csv", &["--role", "target", "--n", "60", "--seed", "1"]);
    let text = std::fs::read_to_string(&raw).unwrap();
    let mut lines = text.lines();
    let mut with_id = format!("id,{}\n", lines.next().unwrap());
    for (i, l) in lines.enumerate() {
        with_id.push_str(&format!("unit-{},{l}\n", i + 1));
    }
    let file = d.join("ids.csv");
    std::fs::write(&file, with_id).unwrap();
    let out = d.join("a");
    ok(&[
        "fit",
        "--data",
        p(&file),
        "--model",
        "t-learner-ols",
        "--folds",
        "2",
        "--quiet",
        "--no-figures",
        "--out",
        p(&out),
    ]);
    let covs = json(&out.join("summary.json"))["covariates"].clone();
    assert_eq!(covs, serde_json::json!(["x1", "x2", "x3", "x4", "x5"]), "id became a covariate");
    let preds = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
    assert!(preds.starts_with("id,mu0,mu1,ite\nunit-1,"), "{preds:.60}");
    // With --covariates and no --id, no column is the id.
    let b = d.join("b");
    let args = ["fit", "--data", p(&file), "--model", "t-learner-ols", "--covariates", "x1,x2", "--folds", "2"];
    ok(&[&args[..], &["--quiet", "--no-figures", "--out", p(&b)]].concat());
    assert!(std::fs::read_to_string(b.join("predictions.csv")).unwrap().starts_with("mu0,mu1,ite\n"));
}

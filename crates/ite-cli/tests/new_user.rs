//! A new user's reports, end to end: a missingness indicator or a category level that is zero in
//! an arm or a cross-fitting fold no longer breaks the linear learners; `ite transfer` refuses
//! target-training flags its strategy does not use; a saved baseline given to
//! `--source-model` is named as such; `ite predict` suggests only what works for its model;
//! help texts describe what their command does; fit.json records no outcome standardisation for
//! a binary outcome.

mod common;

use std::path::Path;

use common::{fails_with, ite, ok};
use serde_json::Value;

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The reproduction's files: a Simulation 1 draw with a `region` column (`region.csv`), then
/// `g1.csv` (one gap in x3, on a treated row) and `g2.csv` (one gap per arm).
fn gappy(dir: &Path) -> (String, String) {
    let sim = common::simulate(dir, "sim.csv", &["--role", "source", "--n", "400", "--seed", "1"]);
    let text = std::fs::read_to_string(sim).unwrap();
    let mut lines: Vec<Vec<String>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut cells: Vec<String> = line.split(',').map(String::from).collect();
        let region = if i == 0 {
            "region"
        } else if cells[0].parse::<f64>().unwrap() > 0.0 {
            "north"
        } else {
            "south"
        };
        cells.push(region.into());
        lines.push(cells);
    }
    let t = lines[0].iter().position(|c| c == "t").unwrap();
    assert_eq!((lines[1][t].as_str(), lines[2][t].as_str()), ("0", "1"), "seed 1: a control row, then a treated one");
    let write = |name: &str, gaps: &[usize]| {
        let mut out = String::new();
        for (i, cells) in lines.iter().enumerate() {
            let mut cells = cells.clone();
            if gaps.contains(&i) {
                cells[2].clear();
            }
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        let p = dir.join(name);
        std::fs::write(&p, out).unwrap();
        p.to_str().unwrap().to_string()
    };
    write("region.csv", &[]);
    (write("g1.csv", &[2]), write("g2.csv", &[1, 2]))
}

#[test]
fn ols_learners_fit_an_indicator_that_is_zero_in_an_arm_or_a_fold() {
    let dir = tempfile::tempdir().unwrap();
    let (g1, g2) = gappy(dir.path());
    for (data, name) in [(&g1, "g1"), (&g2, "g2")] {
        for model in ["t-learner-ols", "s-learner-ols"] {
            let out = dir.path().join(format!("{name}-{model}"));
            let o = out.to_str().unwrap();
            ok(&[
                "fit",
                "--data",
                data,
                "--categorical",
                "region",
                "--missing",
                "impute",
                "--model",
                model,
                "--out",
                o,
            ]);
            let s = read_json(&out.join("summary.json"));
            assert_eq!(s["ate"]["method"], "aipw", "{name} {model}: {s}");
            let est = s["ate"]["estimate"].as_f64().unwrap_or(f64::NAN);
            assert!((est - 1.0).abs() < 0.5, "{name} {model}: AIPW {est}");
            assert!(s["warnings"].as_array().is_none_or(|w| w.is_empty()), "{name} {model}: {s}");
        }
    }
}

#[test]
fn transfer_refuses_target_training_flags_for_strategies_without_a_target_phase() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = common::simulate(d, "src.csv", &["--role", "source", "--n", "100", "--seed", "1"]);
    let tgt = common::simulate(d, "tgt.csv", &["--role", "target", "--n", "40", "--seed", "2"]);
    let cfg = d.join("t.toml");
    std::fs::write(&cfg, "max_epochs = 3\n").unwrap();
    let out = d.join("out");
    let base = ["transfer", "--source", &src, "--target", &tgt, "--out", out.to_str().unwrap(), "--quiet"];
    for strategy in ["pooled", "source-only"] {
        for flag in [
            &["--epochs", "5"][..],
            &["--learning-rate", "0.01"],
            &["--batch-size", "8"],
            &["--config", cfg.to_str().unwrap()],
        ] {
            let want = format!("{} does not apply to --strategy {strategy}", flag[0]);
            fails_with(&[&base[..], &["--strategy", strategy], flag].concat(), &want);
        }
    }
    fails_with(
        &[&base[..], &["--strategy", "auto", "--candidates", "source-only,pooled", "--epochs", "5"]].concat(),
        "--epochs does not apply to any of the candidates source-only, pooled",
    );
    assert!(!out.exists());
}

#[test]
fn transfer_names_a_saved_baseline_and_takes_a_fits_out_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = common::simulate(d, "src.csv", &["--role", "source", "--n", "120", "--seed", "1"]);
    let tgt = common::simulate(d, "tgt.csv", &["--role", "target", "--n", "40", "--seed", "2"]);
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    ok(&["fit", "--data", &src, "--model", "t-learner-ols", "--out", &p("ols"), "--quiet"]);
    let out = p("out");
    let base = ["transfer", "--source", &src, "--target", &tgt, "--strategy", "source-only", "--folds", "2", "--quiet"];
    for given in [p("ols/model"), p("ols")] {
        fails_with(
            &[&base[..], &["--source-model", &given, "--out", &out]].concat(),
            "the model saved there is a t-learner-ols, a baseline without a representation to transfer",
        );
    }
    assert!(!d.join("out").exists());
    // A network's fit: its --out directory is taken as `ite predict --model` takes it.
    ok(&["fit", "--data", &src, "--model", "tarnet", "--epochs", "2", "--folds", "2", "--out", &p("net"), "--quiet"]);
    ok(&[&base[..], &["--source-model", &p("net"), "--out", &out]].concat());
    let s = read_json(&d.join("out/summary.json"));
    assert!(s["source_network"].as_str().unwrap().ends_with("model"), "{s}");
    assert_eq!(s["target_training"], Value::Null);
    // A transfer's --out directory: its source network (source_model/), never the adapted
    // model; without source_model/ (the source was loaded) it says where that came from.
    fails_with(&[&base[..], &["--source-model", &out, "--out", &p("again")]].concat(), "holds no source network");
    ok(&[
        "transfer",
        "--source",
        &src,
        "--target",
        &tgt,
        "--strategy",
        "fine-tune",
        "--model",
        "study",
        "--epochs",
        "2",
    ]
    .into_iter()
    .chain(["--folds", "2", "--quiet", "--out", &p("trained")])
    .collect::<Vec<_>>());
    ok(&[&base[..], &["--source-model", &p("trained"), "--out", &p("again")]].concat());
    let s = read_json(&d.join("again/summary.json"));
    assert!(s["source_network"].as_str().unwrap().ends_with("source_model"), "{s}");
}

#[test]
fn predict_suggests_only_what_works_for_a_model_fitted_without_impute() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (g1, _) = gappy(d);
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    let plain = p("plain");
    let region = p("region.csv");
    ok(&["fit", "--data", &region, "--categorical", "region", "--model", "t-learner-ols", "--out", &plain, "--quiet"]);
    let base = ["predict", "--model", &plain, "--data", &g1, "--out", &p("p.csv")];
    let out = ite(&base);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 3, column `x3`: empty value") && stderr.contains("(--missing drop)"), "{stderr}");
    assert!(!stderr.contains("(--missing impute)"), "{stderr}");
    let out = ite(&[&base[..], &["--missing", "impute"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--missing impute: the model was fitted with --missing error, so it has no training values"),
        "{stderr}"
    );
    assert!(!stderr.contains("invalid parameter"), "{stderr}");
    ok(&[&base[..], &["--missing", "drop"]].concat());
    assert!(d.join("p.csv").is_file());
}

#[test]
fn help_texts_describe_what_their_command_does() {
    let predict = ok(&["predict", "--help"]);
    assert!(!predict.contains("summary.json"), "{predict}");
    assert!(predict.contains("they must be the model's covariates"), "{predict}");
    let describe = ok(&["describe", "--help"]);
    for wrong in ["summary.json", "saved with the model", "carried through to predictions"] {
        assert!(!describe.contains(wrong), "describe --help says {wrong:?}: {describe}");
    }
    // The commands that do save a model and write summary.json keep theirs.
    let fit = ok(&["fit", "--help"]);
    assert!(fit.contains("saved with the model") && fit.contains("summary.json"));
}

#[test]
fn fit_json_records_no_outcome_standardisation_for_a_binary_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim = common::simulate(d, "sim.csv", &["--role", "source", "--n", "120", "--seed", "3"]);
    let text = std::fs::read_to_string(sim).unwrap();
    let mut binary = String::from("x1,x2,x3,x4,x5,t,y\n");
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let y = u8::from(c[6].parse::<f64>().unwrap() > 0.0);
        binary.push_str(&format!("{},{},{y}\n", c[..5].join(","), c[5]));
    }
    let data = d.join("b.csv");
    std::fs::write(&data, binary).unwrap();
    let out = d.join("fit");
    let args = ["fit", "--data", data.to_str().unwrap(), "--model", "tarnet", "--epochs", "2", "--folds", "2"];
    ok(&[&args[..], &["--no-figures", "--quiet", "--out", out.to_str().unwrap()]].concat());
    let meta = read_json(&out.join("fit.json"));
    assert_eq!(meta["settings"]["outcome_type"], "binary", "{meta}");
    assert_eq!(meta["settings"]["standardize_y"], false, "{meta}");
}

//! End-to-end tests of `ite transfer --strategy auto` and `ite fit --model auto`, on small
//! simulated files: selection.csv and summary.json, the refit of the chosen candidate (the same
//! predictions as naming it), determinism over seeds and thread counts, a choice whose answer is
//! known, and errors that name the flag.

mod common;

use std::path::Path;
use std::process::Command;

use common::data::Rng;
use common::{fails_with, ok, simulate};
use serde_json::Value;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn summary(out: &Path) -> Value {
    serde_json::from_str(&read(&out.join("summary.json"))).expect("summary.json is JSON")
}

/// The rows of selection.csv (header checked), as fields.
fn selection_rows(out: &Path) -> Vec<Vec<String>> {
    let text = read(&out.join("selection.csv"));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("candidate,score,value,se,rank,diff,diff_se,chosen,error"));
    assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
    lines.map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// The one chosen candidate of selection.csv (every one of its rows says so, no other row does).
fn chosen(rows: &[Vec<String>]) -> String {
    let names: Vec<&str> = rows.iter().filter(|r| r[7] == "1").map(|r| r[0].as_str()).collect();
    assert_eq!(names.len(), 3, "one candidate, three scores: {rows:?}");
    assert!(names.iter().all(|n| *n == names[0]), "{rows:?}");
    names[0].to_string()
}

/// Runs `ite` with `RAYON_NUM_THREADS` set to `threads`, asserting success.
fn ok_threads(args: &[&str], threads: &str) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_ite")).args(args).env("RAYON_NUM_THREADS", threads).output().expect("run ite");
    assert!(out.status.success(), "ite {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn transfer_auto_refits_the_chosen_strategy_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = simulate(d, "src.csv", &["--role", "source", "--n", "300", "--seed", "1"]);
    let tgt = simulate(d, "tgt.csv", &["--role", "target", "--n", "60", "--seed", "2"]);
    let o = |name: &str| d.join(name).to_str().unwrap().to_string();
    let base = ["transfer", "--source", &src, "--target", &tgt, "--seed", "3", "--quiet"];
    let auto = [&base[..], &["--strategy", "auto", "--candidates", "target-only,source-only,fine-tune"]].concat();
    ok(&[&auto[..], &["--out", &o("auto")]].concat());
    let rows = selection_rows(&d.join("auto"));
    assert_eq!(rows.len(), 9, "{rows:?}");
    let names: Vec<&str> = rows.iter().step_by(3).map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["target-only", "source-only", "fine-tune"]);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[1], ["r-loss", "dr", "pehe-nn"][i % 3]);
        assert!(r[2].parse::<f64>().is_ok() && r[4].parse::<usize>().is_ok(), "{r:?}");
    }
    let chosen = chosen(&rows);
    let s = summary(&d.join("auto"));
    assert_eq!(s["strategy"], chosen.as_str());
    assert_eq!(s["strategy_requested"], "auto");
    let sel = &s["selection"];
    assert_eq!(
        (sel["score"].as_str(), sel["folds"].as_u64(), sel["chosen"].as_str()),
        (Some("r-loss"), Some(5), Some(chosen.as_str()))
    );
    assert_eq!(sel["candidates"].as_array().unwrap().len(), 3);
    assert!(sel["candidates"][0]["scores"]["pehe-nn"]["value"].is_f64() && sel["assumptions"].is_string());

    // The chosen strategy named outright, with the source model auto trained: the same predictions
    // and the same estimates.
    let model = d.join("auto/source_model");
    let fixed = [&base[..], &["--strategy", &chosen, "--source-model", model.to_str().unwrap()]].concat();
    ok(&[&fixed[..], &["--out", &o("fixed")]].concat());
    assert_eq!(read(&d.join("fixed/predictions.csv")), read(&d.join("auto/predictions.csv")));
    assert_eq!(summary(&d.join("fixed"))["ate"], s["ate"]);

    // The same seed again, and other thread counts: the same selection.csv.
    let reuse = [&auto[..], &["--source-model", model.to_str().unwrap()]].concat();
    ok_threads(&[&reuse[..], &["--out", &o("again1")]].concat(), "1");
    ok_threads(&[&reuse[..], &["--out", &o("again2")]].concat(), "2");
    let first = read(&d.join("auto/selection.csv"));
    assert_eq!(read(&d.join("again1/selection.csv")), first);
    assert_eq!(read(&d.join("again2/selection.csv")), first);
}

/// A CSV of `n` units with covariates x1..x3 ~ N(0, 1), randomized treatment, noise sd 0.5 and
/// effect `sign`·(3·x1 + 2).
fn write_data(path: &Path, n: usize, sign: f64, seed: u64) {
    let mut rng = Rng(seed);
    let mut text = String::from("x1,x2,x3,t,y\n");
    for _ in 0..n {
        let x: Vec<f64> = (0..3).map(|_| rng.normal()).collect();
        let t = u8::from(rng.uniform() < 0.5);
        let y = x[0] + 0.5 * x[1] + f64::from(t) * sign * (3.0 * x[0] + 2.0) + 0.5 * rng.normal();
        text.push_str(&format!("{},{},{},{t},{y}\n", x[0], x[1], x[2]));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_source_with_the_opposite_effect_ranks_last() {
    // The source's effect is the target's negated: source-only predicts −τ, an error of
    // E[(6·x1 + 4)²] = 52 per unit, against the noise variance 0.25, so both model-based scores
    // must rank it below the target's own fit (the difference is many standard errors).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (src, tgt) = (d.join("src.csv"), d.join("tgt.csv"));
    write_data(&src, 300, -1.0, 11);
    write_data(&tgt, 150, 1.0, 12);
    let out = d.join("out");
    let args = ["transfer", "--source", src.to_str().unwrap(), "--target", tgt.to_str().unwrap()];
    let auto = ["--strategy", "auto", "--candidates", "source-only,target-only", "--score", "dr", "--quiet"];
    ok(&[&args[..], &auto, &["--out", out.to_str().unwrap()]].concat());
    let rows = selection_rows(&out);
    assert_eq!(chosen(&rows), "target-only");
    for r in rows.iter().filter(|r| r[0] == "source-only" && r[1] != "pehe-nn") {
        assert_eq!(r[4], "2", "{r:?}");
        let (diff, se) = (r[5].parse::<f64>().unwrap(), r[6].parse::<f64>().unwrap());
        assert!(diff > 3.0 * se, "source-only is not clearly worse: {r:?}");
    }
    assert_eq!(summary(&out)["selection"]["score"], "dr");
}

#[test]
fn fit_auto_chooses_among_models_and_refits_the_chosen_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = simulate(d, "data.csv", &["--role", "target", "--n", "120", "--seed", "4"]);
    let o = |name: &str| d.join(name).to_str().unwrap().to_string();
    let base = ["fit", "--data", &data, "--seed", "2", "--quiet"];
    let auto = ["--model", "auto", "--candidates", "t-learner-ols,s-learner-ols", "--epochs", "3"];
    ok(&[&base[..], &auto, &["--out", &o("auto")]].concat());
    let rows = selection_rows(&d.join("auto"));
    assert_eq!(rows.len(), 6);
    let chosen = chosen(&rows);
    let s = summary(&d.join("auto"));
    assert_eq!((s["model"].as_str(), s["model_requested"].as_str()), (Some(chosen.as_str()), Some("auto")));
    let meta: Value = serde_json::from_str(&read(&d.join("auto/fit.json"))).unwrap();
    assert_eq!(meta["model"], chosen.as_str());
    ok(&[&base[..], &["--model", &chosen, "--out", &o("fixed")]].concat());
    assert_eq!(read(&d.join("fixed/predictions.csv")), read(&d.join("auto/predictions.csv")));
}

#[test]
fn bad_auto_requests_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = simulate(d, "src.csv", &["--role", "source", "--n", "100", "--seed", "1"]);
    let tgt = simulate(d, "tgt.csv", &["--role", "target", "--n", "40", "--seed", "2"]);
    let out = d.join("out");
    let o = out.to_str().unwrap();
    let t = ["transfer", "--source", &src, "--target", &tgt, "--out", o];
    fails_with(
        &[&t[..], &["--strategy", "auto", "--candidates", "magic"]].concat(),
        "--candidates: unknown strategy `magic`; valid strategy names: source-only, target-only, fine-tune",
    );
    fails_with(&[&t[..], &["--strategy", "auto", "--candidates", "pooled,pooled"]].concat(), "named twice");
    fails_with(&[&t[..], &["--strategy", "auto", "--candidates", "pooled"]].concat(), "at least two");
    fails_with(&[&t[..], &["--strategy", "AUTO"]].concat(), "or `auto`");
    fails_with(&[&t[..], &["--strategy", "auto", "--score", "bad"]].concat(), "--score");
    fails_with(&[&t[..], &["--candidates", "pooled"]].concat(), "--candidates applies only with --strategy auto");
    fails_with(&[&t[..], &["--strategy", "pooled", "--score", "dr"]].concat(), "--score applies only with");
    let f = ["fit", "--data", &tgt, "--out", o];
    fails_with(
        &[&f[..], &["--model", "auto", "--candidates", "t-learner-ols,magic"]].concat(),
        "--candidates: unknown model `magic`; valid model names: tarnet, cfr-wass",
    );
    fails_with(&[&f[..], &["--candidates", "tarnet"]].concat(), "--candidates applies only with --model auto");
    fails_with(&[&f[..], &["--model", "magic"]].concat(), "expected auto or one of tarnet");
    std::fs::write(d.join("c.toml"), "max_epochs = 3\n").unwrap();
    let config = d.join("c.toml");
    fails_with(
        &[&f[..], &["--model", "auto", "--config", config.to_str().unwrap()]].concat(),
        "--config does not apply",
    );
    assert!(!out.exists(), "a failed run leaves no output");
}

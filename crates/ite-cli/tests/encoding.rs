//! End-to-end tests of `--categorical`, `--missing` and the default `id` column: effects that
//! differ by level are recovered, an unseen level and an undeclared text column are clear
//! errors, `impute` is saved with the model and re-applied by `ite predict`, `drop` keeps the
//! order and ids of the kept rows, and a column named `id` is the id column by default.

mod common;

use std::path::Path;

use common::data::Rng;
use common::{fails_with, ite, ok};
use serde_json::Value;

/// `n` rows `id,x,g,t,y` with level `a` or `b` in `g`: τ = 1 for `a`, 3 for `b`; the outcome
/// also shifts with `g` and `x`. `gap(i)` blanks row `i`'s x.
fn by_level(n: usize, seed: u64, gap: impl Fn(usize) -> bool) -> String {
    let mut rng = Rng(seed);
    let mut s = String::from("id,x,g,t,y\n");
    for i in 0..n {
        let x = rng.normal();
        let b = rng.uniform() < 0.5;
        let t = u8::from(rng.uniform() < 0.5);
        let tau = if b { 3.0 } else { 1.0 };
        let y = x + if b { 0.5 } else { 0.0 } + tau * f64::from(t) + 0.3 * rng.normal();
        let xs = if gap(i) { String::new() } else { format!("{x:.5}") };
        s.push_str(&format!("u{i},{xs},{},{t},{y:.5}\n", if b { "b" } else { "a" }));
    }
    s
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The rows of a predictions file: (id, ite).
fn predictions(path: &Path) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("id,mu0,mu1,ite"), "{text}");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[3].parse().unwrap())
        })
        .collect()
}

/// The mean predicted ITE of the rows whose `g` is `level` (ids `u{i}` index the data rows).
fn level_mean(data: &str, pred: &[(String, f64)], level: &str) -> f64 {
    let levels: Vec<&str> = data.lines().skip(1).map(|l| l.split(',').nth(2).unwrap()).collect();
    let v: Vec<f64> = pred
        .iter()
        .filter(|(id, _)| levels[id.trim_start_matches('u').parse::<usize>().unwrap()] == level)
        .map(|(_, ite)| *ite)
        .collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn effects_that_differ_by_level_are_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = by_level(600, 7, |_| false);
    let f = write(d, "d.csv", &text);
    for (model, tol) in [("t-learner-ols", 0.2), ("study", 0.6)] {
        let out = d.join(model);
        let mut args = vec!["fit", "--data", &f, "--categorical", "g", "--model", model, "--folds", "2", "--quiet"];
        if model == "study" {
            args.extend(["--epochs", "60"]);
        }
        args.extend(["--out", out.to_str().unwrap()]);
        ok(&args);
        let pred = predictions(&out.join("predictions.csv"));
        let (a, b) = (level_mean(&text, &pred, "a"), level_mean(&text, &pred, "b"));
        assert!((a - 1.0).abs() < tol && (b - 3.0).abs() < tol, "{model}: mean CATE a {a}, b {b}");
        let summary = read_json(&out.join("summary.json"));
        assert_eq!(summary["covariates"], serde_json::json!(["x", "g=b"]), "{summary}");
        assert_eq!(summary["preprocessing"]["categorical"]["g"], serde_json::json!(["a", "b"]));
    }
    // The saved network predicts the same through `ite predict` (the levels come from the model).
    let p = d.join("p.csv");
    ok(&["predict", "--model", d.join("study").to_str().unwrap(), "--data", &f, "--out", p.to_str().unwrap()]);
    assert_eq!(predictions(&p), predictions(&d.join("study/predictions.csv")));
}

#[test]
fn unseen_levels_and_undeclared_text_columns_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = write(d, "d.csv", &by_level(80, 3, |_| false));
    // A text column not named in --categorical: file, line, column, and the flag to pass.
    fails_with(
        &["fit", "--data", &f, "--model", "t-learner-ols", "--out", d.join("o").to_str().unwrap()],
        "d.csv: line 2, column `g`: `a` is not a number; if column `g` holds categories, pass --categorical g",
    );
    fails_with(&["describe", "--data", &f], "pass --categorical g");
    // describe lists the levels.
    let described = ok(&["describe", "--data", &f, "--categorical", "g"]);
    assert!(described.contains("levels      `g`: a, b (reference `a`)"), "{described}");
    assert!(described.contains("covariates  2 [x, g=b]"), "{described}");
    // A level the model never saw: file, line, column and level.
    let m = d.join("m");
    ok(&[
        "fit",
        "--data",
        &f,
        "--categorical",
        "g",
        "--epochs",
        "2",
        "--folds",
        "2",
        "--quiet",
        "--out",
        m.to_str().unwrap(),
    ]);
    let p = write(d, "p.csv", "id,x,g\nv1,0.5,a\nv2,0.1,c\n");
    fails_with(
        &["predict", "--model", m.to_str().unwrap(), "--data", &p, "--out", d.join("p_out.csv").to_str().unwrap()],
        "p.csv: line 3, column `g`: level `c` was not seen in the training data, whose levels are a, b",
    );
    // --categorical naming a column that is not a covariate.
    fails_with(
        &["fit", "--data", &f, "--categorical", "g,region", "--out", d.join("o").to_str().unwrap()],
        "--categorical names `region`, which is not a covariate column",
    );
    assert!(!d.join("o").exists());
}

#[test]
fn transfer_encodes_source_and_target_with_the_union_of_levels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = write(d, "s.csv", &by_level(200, 11, |_| false));
    // The target has a level `c` that the source lacks.
    let tgt_text = by_level(60, 12, |_| false).replacen(",a,", ",c,", 3);
    let tgt = write(d, "t.csv", &tgt_text);
    let out = d.join("tr");
    ok(&[
        "transfer",
        "--source",
        &src,
        "--target",
        &tgt,
        "--categorical",
        "g",
        "--strategy",
        "target-only",
        "--folds",
        "2",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["preprocessing"]["categorical"]["g"], serde_json::json!(["a", "b", "c"]), "{summary}");
    for m in ["model", "source_model"] {
        let enc = read_json(&out.join(m).join("encoding.json"));
        assert_eq!(enc["columns"][1]["kind"]["levels"], serde_json::json!(["a", "b", "c"]), "{m}: {enc}");
    }
    // The saved target model predicts the target's rows as the transfer did.
    let p = d.join("p.csv");
    ok(&["predict", "--model", out.to_str().unwrap(), "--data", &tgt, "--out", p.to_str().unwrap()]);
    assert_eq!(predictions(&p), predictions(&out.join("predictions.csv")));
    // A later run from the saved source model reuses its encoding: a target with only levels
    // a and b still gets the three columns, and a level the source model never saw is refused.
    let saved = out.join("source_model");
    let saved = saved.to_str().unwrap();
    let tgt2 = write(d, "t2.csv", &by_level(60, 13, |_| false));
    let out2 = d.join("tr2");
    let run = |target: &str, o: &Path| -> std::process::Output {
        ite(&[
            "transfer",
            "--source",
            &src,
            "--target",
            target,
            "--source-model",
            saved,
            "--strategy",
            "target-only",
            "--folds",
            "2",
            "--quiet",
            "--out",
            o.to_str().unwrap(),
        ])
    };
    let done = run(&tgt2, &out2);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let summary = read_json(&out2.join("summary.json"));
    assert_eq!(summary["preprocessing"]["categorical"]["g"], serde_json::json!(["a", "b", "c"]), "{summary}");
    let tgt3 = write(d, "t3.csv", &by_level(60, 14, |_| false).replacen(",b,", ",d,", 1));
    let failed = run(&tgt3, &d.join("tr3"));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(stderr.contains("t3.csv: line ") && stderr.contains("column `g`: level `d` was not seen"), "{stderr}");
}

/// The gappy file of the imputation test: x blank in every tenth row, no outcome in row u7, no
/// level in row u9.
fn gappy() -> String {
    let text = by_level(120, 5, |i| i % 10 == 4);
    let edit = |line: &str, k: usize, v: &str| {
        let mut f: Vec<&str> = line.split(',').collect();
        f[k] = v;
        f.join(",")
    };
    let rows: Vec<&str> = text.lines().collect();
    text.replace(rows[8], &edit(rows[8], 4, "NA")).replace(rows[10], &edit(rows[10], 2, ""))
}

#[test]
fn impute_matches_imputing_by_hand_and_predict_applies_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = gappy();
    let f = write(d, "gaps.csv", &text);
    // By hand: the rows with an outcome; x's mean over them; the most frequent level; the
    // indicators and the one-hot column written as ordinary numeric columns.
    let kept: Vec<Vec<&str>> =
        text.lines().skip(1).map(|l| l.split(',').collect::<Vec<_>>()).filter(|f| f[4] != "NA").collect();
    let xs: Vec<f64> = kept.iter().filter(|f| !f[1].is_empty()).map(|f| f[1].parse().unwrap()).collect();
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let n_b = kept.iter().filter(|f| f[2] == "b").count();
    let mode = if n_b > kept.iter().filter(|f| f[2] == "a").count() { "b" } else { "a" };
    let mut hand = String::from("id,x,x_missing,g=b,g_missing,t,y\n");
    for r in &kept {
        let x = if r[1].is_empty() { mean.to_string() } else { r[1].to_string() };
        let g = if r[2].is_empty() { mode } else { r[2] };
        let flag = |b: bool| if b { "1" } else { "0" };
        hand.push_str(&format!(
            "{},{x},{},{},{},{},{}\n",
            r[0],
            flag(r[1].is_empty()),
            flag(g == "b"),
            flag(r[2].is_empty()),
            r[3],
            r[4]
        ));
    }
    let hand_f = write(d, "hand.csv", &hand);
    // A small ridge: an indicator with one gap is constant within an arm.
    let ridge = write(d, "ridge.toml", "ridge = 0.001\n");
    let (auto, by_hand) = (d.join("auto"), d.join("hand"));
    let out = ite(&[
        "fit",
        "--data",
        &f,
        "--categorical",
        "g",
        "--missing",
        "impute",
        "--model",
        "t-learner-ols",
        "--config",
        &ridge,
        "--folds",
        "2",
        "--out",
        auto.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--data") && stderr.contains("dropped 1 of 120 rows"), "{stderr}");
    ok(&[
        "fit",
        "--data",
        &hand_f,
        "--model",
        "t-learner-ols",
        "--config",
        &ridge,
        "--folds",
        "2",
        "--quiet",
        "--out",
        by_hand.to_str().unwrap(),
    ]);
    let (a, b) = (predictions(&auto.join("predictions.csv")), predictions(&by_hand.join("predictions.csv")));
    assert_eq!(a.len(), 119);
    for ((ia, va), (ib, vb)) in a.iter().zip(&b) {
        assert_eq!(ia, ib);
        assert!((va - vb).abs() < 1e-9, "{ia}: {va} vs {vb} by hand");
    }
    let summary = read_json(&auto.join("summary.json"));
    assert_eq!(summary["rows_dropped"], 1, "the row without an outcome is dropped, not imputed");
    assert_eq!(summary["covariates"], serde_json::json!(["x", "x_missing", "g=b", "g_missing"]), "{summary}");
    assert_eq!(summary["preprocessing"]["missing_indicators"], serde_json::json!(["x", "g"]));

    // A saved network: the stored values are the hand-computed ones, and `ite predict` on the
    // gappy file gives the fit's own predictions, row for row.
    let m = d.join("m");
    ok(&[
        "fit",
        "--data",
        &f,
        "--categorical",
        "g",
        "--missing",
        "impute",
        "--epochs",
        "3",
        "--folds",
        "2",
        "--quiet",
        "--out",
        m.to_str().unwrap(),
    ]);
    let enc = read_json(&m.join("model/encoding.json"));
    assert!((enc["columns"][0]["kind"]["fill"].as_f64().unwrap() - mean).abs() < 1e-12, "{enc}");
    assert_eq!(enc["columns"][1]["kind"]["fill"], mode, "{enc}");
    let p = d.join("p.csv");
    ok(&["predict", "--model", m.to_str().unwrap(), "--data", &f, "--out", p.to_str().unwrap()]);
    let later = predictions(&p);
    // predict reads no outcome, so it keeps row u7, which the fit dropped.
    assert_eq!(later.len(), 120);
    let later: Vec<(String, f64)> = later.into_iter().filter(|(id, _)| id != "u7").collect();
    assert_eq!(predictions(&m.join("predictions.csv")), later);
}

#[test]
fn drop_keeps_order_and_ids_of_the_kept_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = write(d, "gaps.csv", &by_level(100, 9, |i| i == 3 || i == 50 || i == 51));
    // Without --missing: today's message.
    fails_with(
        &["fit", "--data", &f, "--categorical", "g", "--out", d.join("o").to_str().unwrap()],
        "gaps.csv: line 5, column `x`: empty value (expected a number)",
    );
    let m = d.join("m");
    let out = ite(&[
        "fit",
        "--data",
        &f,
        "--categorical",
        "g",
        "--missing",
        "drop",
        "--epochs",
        "2",
        "--folds",
        "2",
        "--out",
        m.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dropped 3 of 100 rows with a missing value (--missing drop), lines 5, 52, 53"),
        "{stderr}"
    );
    let summary = read_json(&m.join("summary.json"));
    assert_eq!(summary["rows_dropped"], 3);
    assert_eq!(summary["n_train"], 97);
    let ids: Vec<String> = predictions(&m.join("predictions.csv")).into_iter().map(|(id, _)| id).collect();
    let want: Vec<String> = (0..100).filter(|i| ![3, 50, 51].contains(i)).map(|i| format!("u{i}")).collect();
    assert_eq!(ids, want);
    // predict drops by the model's policy; without an id column the ids are the row numbers.
    let p = write(d, "p.csv", "x,g\n0.1,a\n,b\n0.3,b\n");
    let q = d.join("q.csv");
    let out = ite(&["predict", "--model", m.to_str().unwrap(), "--data", &p, "--out", q.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ids: Vec<String> = predictions(&q).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["1", "3"]);
    // impute needs values the model does not have.
    fails_with(
        &["predict", "--model", m.to_str().unwrap(), "--data", &p, "--out", q.to_str().unwrap(), "--missing", "impute"],
        "--missing impute: the model was fitted with --missing drop, so it has no training values to fill gaps",
    );
}

#[test]
fn a_column_named_id_is_the_id_column_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = by_level(60, 2, |_| false).replace(",a,", ",0,").replace(",b,", ",1,").replace("\nu", "\n");
    let f = write(d, "d.csv", &text);
    let described = ok(&["describe", "--data", &f]);
    assert!(described.contains("covariates  2 [x, g]"), "{described}");
    assert!(described.contains("ids         column `id`"), "{described}");
    // Naming the covariates makes `id` an ordinary column, here a covariate.
    let described = ok(&["describe", "--data", &f, "--covariates", "x,g,id"]);
    assert!(described.contains("covariates  3 [x, g, id]"), "{described}");
    assert!(!described.contains("ids "), "{described}");
    // --id with another name: `id` is a covariate again.
    let renamed = write(d, "r.csv", &text.replacen("id,x,g,t,y", "id,x,pid,t,y", 1));
    let described = ok(&["describe", "--data", &renamed, "--id", "pid"]);
    assert!(described.contains("covariates  2 [id, x]"), "{described}");
    // fit carries the ids through to its predictions.
    let m = d.join("m");
    ok(&["fit", "--data", &f, "--model", "t-learner-ols", "--folds", "2", "--quiet", "--out", m.to_str().unwrap()]);
    assert_eq!(predictions(&m.join("predictions.csv"))[0].0, "0");
    // --help says so.
    let help = ok(&["fit", "--help"]);
    assert!(help.contains("named `id` when the file has one"), "{help}");
}

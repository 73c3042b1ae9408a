//! Issue 14, §3 and §6: column roles are exclusive, covariates are matched by name, and every
//! message names the file, line, column, flag or variable and what was expected, in one line.
//! Also: negative numbers reach the range checks, a closed stdout ends quietly, and no ATE
//! estimate or interval is made from an arm of one unit.

use std::path::Path;
use std::process::{Command, Stdio};

mod common;

use common::{fails_with, ite, ok};

/// A small valid file: 40 units, covariates a, b, treatment t, outcome y, truth mu0, mu1, id.
fn rows(order_ba: bool, eol: &str) -> String {
    let mut s = if order_ba { format!("id,b,a,t,y,mu0,mu1{eol}") } else { format!("id,a,b,t,y,mu0,mu1{eol}") };
    for i in 0..40 {
        let a = (i as f64 * 0.37).sin();
        let b = (i % 7) as f64 - 3.0;
        let t = i % 2;
        let mu0 = 0.5 * a + 0.1 * b;
        let mu1 = mu0 + 1.0 + 0.2 * a;
        let y = if t == 1 { mu1 } else { mu0 } + 0.05 * ((i * 13 % 11) as f64 - 5.0);
        let (c1, c2) = if order_ba { (b, a) } else { (a, b) };
        s.push_str(&format!("u{i},{c1},{c2},{t},{y},{mu0},{mu1}{eol}"));
    }
    s
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

/// A persisted TARNet (2 epochs) fitted on `data` into `out`.
fn tarnet(data: &str, out: &str) {
    ok(&["fit", "--data", data, "--model", "tarnet", "--epochs", "2", "--id", "id", "--out", out, "--quiet"]);
}

/// stderr of a failing run, checked to be one line without a panic.
fn one_line_error(args: &[&str]) -> String {
    let out = ite(args);
    assert!(!out.status.success(), "ite {args:?} succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "not one line: {stderr:?}");
    stderr
}

// ---------------------------------------------------------------- §3 column roles

#[test]
fn overlapping_column_roles_are_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "d.csv", &rows(false, "\n"));
    let out = p(d, "out");
    let cases: &[(&[&str], &str)] = &[
        (&["--covariates", "a,y"], "column `y` is both the outcome and a covariate"),
        (&["--covariates", "a,t"], "column `t` is both the treatment and a covariate"),
        (&["--covariates", "a,mu1"], "column `mu1` is both the true treated mean (mu1) and a covariate"),
        (&["--covariates", "a,mu0"], "column `mu0` is both the true control mean (mu0) and a covariate"),
        (&["--treatment", "t", "--outcome", "t"], "column `t` is both the treatment and the outcome"),
        (&["--outcome", "mu1"], "column `mu1` is both the outcome and the true treated mean (mu1)"),
        (&["--id", "id", "--covariates", "a,id"], "column `id` is both the id and a covariate"),
        (&["--id", "t"], "column `t` is both the treatment and the id"),
        (&["--covariates", "a,b,a"], "column `a` is listed twice as a covariate"),
    ];
    for (flags, want) in cases {
        // fit (the OLS T-learner used to report ITE = 0 here)
        let mut args = vec!["fit", "--data", &data, "--model", "t-learner-ols", "--out", &out];
        args.extend_from_slice(flags);
        fails_with(&args, want);
        // describe
        let mut args = vec!["describe", "--data", &data];
        args.extend_from_slice(flags);
        fails_with(&args, want);
        // transfer (fails before any training)
        let mut args = vec!["transfer", "--source", &data, "--target", &data, "--strategy", "fine-tune", "--out", &out];
        args.extend_from_slice(flags);
        fails_with(&args, want);
    }
    assert!(!d.join("out").exists(), "nothing is written");
    // predict: the same check on the file to predict
    let model = p(d, "m");
    tarnet(&data, &model);
    let preds = p(d, "p.csv");
    fails_with(
        &["predict", "--model", &model, "--data", &data, "--out", &preds, "--covariates", "a,y"],
        "column `y` is both the outcome and a covariate",
    );
    fails_with(
        &["predict", "--model", &model, "--data", &data, "--out", &preds, "--id", "a"],
        "column `a` is both the id and a covariate",
    );
    assert!(!d.join("p.csv").exists());
    // distinct roles are fine
    ok(&["describe", "--data", &data, "--id", "id", "--covariates", "b,a"]);
}

#[test]
fn covariates_are_matched_by_name_in_fit_predict_and_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "d.csv", &rows(false, "\n"));
    let swapped = write(d, "ba.csv", &rows(true, "\n"));
    // ite fit --predict: a file with the same covariates in another order gives the same predictions
    let (o1, o2) = (p(d, "o1"), p(d, "o2"));
    let fit = |predict: &str, out: &str| {
        ok(&["fit", "--data", &data, "--model", "t-learner-ols", "--id", "id", "--predict", predict, "--out", out]);
        std::fs::read_to_string(Path::new(out).join("predictions.csv")).unwrap()
    };
    assert_eq!(fit(&data, &o1), fit(&swapped, &o2));
    // ite predict: the same, and the same as fit --predict of the saved model
    let model = p(d, "m");
    tarnet(&data, &model);
    let predict = |file: &str, out: &str| {
        ok(&["predict", "--model", &model, "--data", file, "--id", "id", "--out", out, "--quiet"]);
        std::fs::read_to_string(out).unwrap()
    };
    assert_eq!(predict(&data, &p(d, "p1.csv")), predict(&swapped, &p(d, "p2.csv")));
    // a missing or an extra covariate is an error naming it, in every command
    let missing = write(d, "missing.csv", "id,b,t\nu1,1,0\nu2,2,1\n");
    let extra = write(d, "extra.csv", "id,a,b,c\nu1,1,2,3\nu2,2,3,4\n");
    let out = p(d, "none");
    fails_with(
        &["predict", "--model", &model, "--data", &missing, "--id", "id", "--out", &out],
        "missing.csv: no covariate column `a`, which the model needs; the model has covariates [a, b]",
    );
    fails_with(
        &["predict", "--model", &model, "--data", &extra, "--id", "id", "--out", &out],
        "extra.csv: column `c` is not a covariate of the model, which has [a, b]",
    );
    for (file, want) in [(&missing, "no covariate column `a`"), (&extra, "column `c` is not a covariate of --data")] {
        let args = ["fit", "--data", &data, "--model", "t-learner-ols", "--id", "id", "--predict", file, "--out", &out];
        fails_with(&args, want);
        let args = [
            "transfer",
            "--source",
            &data,
            "--target",
            &data,
            "--source-model",
            &format!("{model}/model"),
            "--strategy",
            "fine-tune",
            "--id",
            "id",
            "--predict",
            file,
            "--out",
            &out,
        ];
        fails_with(&args, if file == &extra { "column `c` is not a covariate of source" } else { want });
    }
    // an explicit --covariates in another order is matched too
    ok(&["predict", "--model", &model, "--data", &extra, "--covariates", "b,a", "--id", "id", "--out", &out]);
}

// ---------------------------------------------------------------- §6 messages and ends

#[test]
fn crlf_files_report_the_file_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `abc` on file line 6, LF and CRLF
    for (name, eol) in [("lf.csv", "\n"), ("crlf.csv", "\r\n")] {
        let text = format!("a,t,y{eol}1,0,2{eol}1,1,2{eol}2,0,3{eol}2,1,3{eol}abc,0,1{eol}3,1,4{eol}");
        let f = write(d, name, &text);
        let want = format!("{name}: line 6, column `a`: `abc` is not a number");
        fails_with(&["describe", "--data", &f], &want);
        fails_with(&["fit", "--data", &f, "--model", "t-learner-ols", "--out", &p(d, "o")], &want);
    }
    // the same in a file to predict, and for a short row
    let data = write(d, "d.csv", &rows(false, "\r\n"));
    let bad = write(d, "bad.csv", "a,b\r\n1,2\r\n3,4\r\n5\r\n");
    fails_with(
        &["fit", "--data", &data, "--model", "t-learner-ols", "--id", "id", "--predict", &bad, "--out", &p(d, "o")],
        "bad.csv: line 4: row has 1 fields but the header has 2",
    );
    let t = write(d, "t.csv", "a,t,y\r\n1,0,2\r\n1,1,2\r\n1,7,2\r\n");
    fails_with(&["describe", "--data", &t], "t.csv: line 4, column `t`: `7` is not a treatment value");
}

#[test]
fn numeric_flags_accept_negative_numbers_so_the_range_check_answers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "d.csv", &rows(false, "\n"));
    let out = p(d, "o");
    let fit = |flag: &str, value: &str| {
        let args = ["fit", "--data", &data, "--id", "id", "--model", "tarnet", "--out", &out, flag, value];
        one_line_error(&args)
    };
    let e = fit("--learning-rate", "-0.1");
    assert!(e.contains("`learning_rate` = -0.1: expected a finite number > 0"), "{e}");
    let e = fit("--alpha", "-1");
    assert!(e.contains("`alpha` = -1") && !e.contains("unexpected argument"), "{e}");
    // clap's own message (with its usage hint): the value is named, not taken for a flag
    let o = ite(&["fit", "--data", &data, "--id", "id", "--model", "tarnet", "--out", &out, "--epochs", "-3"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.starts_with("error: invalid value '-3' for '--epochs <N>'"), "{e}");
    let o = ite(&["simulate", "sim1", "--role", "target", "--n", "50", "--noise-sd", "-0.5", "--out", &p(d, "s.csv")]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && e.starts_with("error: invalid value '-0.5' for '--noise-sd <SD>': must be a finite number ≥ 0"),
        "{e}"
    );
    assert!(!d.join("o").exists() && !d.join("s.csv").exists());
}

/// Runs `ite` with its stdout a pipe whose reader is already gone.
fn run_with_closed_stdout(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ite"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly_and_keeps_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "d.csv", &rows(false, "\n"));
    // `ite describe … | head -1`
    let out = run_with_closed_stdout(&["describe", "--data", &data, "--id", "id"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "{:?}: {stderr}", out.status);
    // `ite fit … --json | true`: the outputs are complete
    let o = p(d, "o");
    let out = run_with_closed_stdout(&[
        "fit",
        "--data",
        &data,
        "--id",
        "id",
        "--model",
        "t-learner-ols",
        "--out",
        &o,
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("panicked"), "{:?}: {stderr}", out.status);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("o/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["n_train"], 40);
    assert_eq!(std::fs::read_to_string(d.join("o/predictions.csv")).unwrap().lines().count(), 41);
    // the same for predict and simulate
    let m = p(d, "m");
    tarnet(&data, &m);
    let out =
        run_with_closed_stdout(&["predict", "--model", &m, "--data", &data, "--id", "id", "--out", &p(d, "p.csv")]);
    assert!(out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert_eq!(std::fs::read_to_string(d.join("p.csv")).unwrap().lines().count(), 41);
    let s = p(d, "s.csv");
    let out = run_with_closed_stdout(&["simulate", "sim1", "--role", "source", "--n", "30", "--out", &s]);
    assert!(out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert_eq!(std::fs::read_to_string(&s).unwrap().lines().count(), 31);
}

#[test]
fn out_of_range_shard_variables_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = p(dir.path(), "grid");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_COUNT", "3")], "`SLURM_ARRAY_TASK_ID` = 5: expected below"),
        (&[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "0")], "`SLURM_ARRAY_TASK_COUNT` = 0"),
        (
            &[("JOB_COMPLETION_INDEX", "4"), ("ITE_SHARD_COUNT", "4")],
            "`JOB_COMPLETION_INDEX` = 4: expected below ITE_SHARD_COUNT = 4",
        ),
    ];
    for (vars, want) in cases {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ite"));
        cmd.args(["reproduce", "sim1", "--quick", "--seed", "1", "--out", &out]);
        for k in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "JOB_COMPLETION_INDEX"] {
            cmd.env_remove(k);
        }
        cmd.env_remove("ITE_SHARD_COUNT");
        cmd.envs(vars.iter().copied());
        let o = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && stderr.contains(want), "{vars:?}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn no_interval_from_an_arm_of_one_unit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = rows(false, "\n");
    let data = write(d, "d.csv", &text);
    let lines: Vec<&str> = text.lines().collect();
    // a 2-unit target: one control (u0), one treated (u1)
    let two = write(d, "two.csv", &format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2]));
    let m = p(d, "m");
    tarnet(&data, &m);
    let source_model = format!("{m}/model");
    let transfer = |json: bool, out: &str| {
        let mut args = vec![
            "transfer",
            "--source",
            &data,
            "--target",
            &two,
            "--source-model",
            &source_model,
            "--strategy",
            "fine-tune",
            "--id",
            "id",
            "--out",
            out,
        ];
        if json {
            args.push("--json");
        }
        let o = ite(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (human, stderr) = transfer(false, &p(d, "t1"));
    assert!(
        human.contains("ATE, ATT, ATC: no AIPW estimate (the control arm has 1 unit, fewer than the 5 folds"),
        "{human}"
    );
    assert!(human.contains("(model-based, no interval)"), "{human}");
    assert!(stderr.contains("warning: no AIPW estimates of ATE, ATT and ATC"), "{stderr}");
    assert!(stderr.contains("warning: small arm: the control arm has 1 of 2 units"), "{stderr}");
    let (stdout, _) = transfer(true, &p(d, "t2"));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for key in ["ate", "att", "atc"] {
        assert!(v[key]["estimate"].is_null() && v[key]["lower"].is_null() && v[key]["se"].is_null(), "{v}");
        assert!(v[key]["undefined"].as_str().unwrap().contains("control arm has 1 unit,"), "{v}");
        assert_eq!(v[key]["method"], "aipw");
    }
    assert!(v["ate_plugin"]["estimate"].is_f64() && v["ate_plugin"]["lower"].is_null(), "{v}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("t2/summary.json")).unwrap()).unwrap();
    assert!(saved["ate"]["lower"].is_null() && saved["warnings"].as_array().unwrap().len() >= 2, "{saved}");
    // predict: the mean of one model's predictions never gets an interval
    let one = write(d, "one.csv", &format!("{}\n{}\n", lines[0], lines[1]));
    let s = ok(&["predict", "--model", &m, "--data", &one, "--id", "id", "--out", &p(d, "p1.csv"), "--quiet"]);
    assert!(s.contains("(model-based, no interval)"), "{s}");
    let s = ok(&["predict", "--model", &m, "--data", &two, "--id", "id", "--out", &p(d, "p2.csv"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert!(v["ate_plugin"]["lower"].is_null() && v["ate_plugin"]["undefined"].as_str().is_some(), "{v}");
    // fit with one treated unit in its training data has no AIPW estimate of its training ATE
    // lines[k] holds unit k - 1, treated when k - 1 is odd: keep u1 as the only treated unit
    let kept: Vec<&str> =
        lines.iter().enumerate().filter(|(k, _)| *k <= 2 || (k - 1) % 2 == 0).map(|(_, l)| *l).collect();
    let few = kept.join("\n") + "\n";
    let few = write(d, "few.csv", &few);
    let s = ok(&[
        "fit",
        "--data",
        &few,
        "--model",
        "tarnet",
        "--epochs",
        "2",
        "--id",
        "id",
        "--out",
        &p(d, "f"),
        "--quiet",
    ]);
    assert!(s.contains("no AIPW estimate (the treated arm has 1 unit,"), "{s}");
}

#[test]
fn long_values_and_open_quotes_give_one_short_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let long = "9".repeat(3000) + "x";
    let f = write(d, "long.csv", &format!("a,t,y\n1,0,2\n{long},1,2\n"));
    let e = one_line_error(&["describe", "--data", &f]);
    assert!(
        e.contains("long.csv: line 3, column `a`: `99999") && e.contains("(3001 characters)` is not a number"),
        "{e}"
    );
    assert!(e.len() < 200, "{e}");
    let f = write(d, "quote.csv", "a,t,y\n1,0,2\n\"1,1,2\n3,0,1\n");
    let e = one_line_error(&["fit", "--data", &f, "--model", "t-learner-ols", "--out", &p(d, "o")]);
    assert!(
        e.contains(
            "quote.csv: line 3: row has 1 fields but the header has 3 (a quote `\"` on this line is never closed)"
        ),
        "{e}"
    );
    let f = write(d, "quote2.csv", "a,t,y\n1,0,2\n1,0,\"2\n3,0,1\n");
    let e = one_line_error(&["describe", "--data", &f]);
    assert!(e.contains("line 3, column `y`: `2 3,0,1` is not a number (the value spans lines"), "{e}");
    // a long column name in a role overlap is clipped too
    let name = "c".repeat(500);
    let f = write(d, "wide.csv", &format!("{name},t,y\n1,0,2\n"));
    let e = one_line_error(&["describe", "--data", &f, "--covariates", &format!("{name},{name}")]);
    assert!(e.contains("(500 characters)` is listed twice as a covariate") && e.len() < 250, "{e}");
    // a TOML value of the wrong kind names the key and the expected kind
    let data = write(d, "d.csv", &rows(false, "\n"));
    let c = write(d, "c.toml", "batch_size = \"big\"\n");
    let e = one_line_error(&[
        "fit",
        "--data",
        &data,
        "--id",
        "id",
        "--model",
        "tarnet",
        "--config",
        &c,
        "--out",
        &p(d, "o"),
    ]);
    assert!(e.contains("c.toml: key `batch_size` = \"big\": expected a whole number ≥ 0, found a string"), "{e}");
}

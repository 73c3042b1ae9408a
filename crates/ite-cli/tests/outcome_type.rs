//! End-to-end tests of `--outcome-type`: `auto` picks binary on a 0/1 outcome and continuous
//! otherwise (and says so); `binary` on another value is an error naming the flag, file, line
//! and column; a binary model predicts probabilities, is saved as binary and gives identical
//! predictions through `ite predict`; the OLS learners turn logistic; `ite transfer` carries the
//! outcome type to its source and adapted models.

mod common;

use std::path::Path;

use common::data::Rng;
use common::{fails_with, ite, ok};
use serde_json::Value;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// `n` rows `id,x1,x2,t,y`: logit μ0 = −0.3 + 0.9·x1 − 0.6·x2, logit μ1 = logit μ0 + 0.8,
/// t ~ Bernoulli(0.5); y ~ Bernoulli(μ_t), or μ_t plus noise when `continuous`.
fn logistic_csv(n: usize, seed: u64, continuous: bool) -> String {
    let mut rng = Rng(seed);
    let mut s = String::from("id,x1,x2,t,y\n");
    for i in 0..n {
        let (x1, x2) = (rng.normal(), rng.normal());
        let t = u8::from(rng.uniform() < 0.5);
        let m = sigmoid(-0.3 + 0.9 * x1 - 0.6 * x2 + 0.8 * f64::from(t));
        let y =
            if continuous { format!("{:.4}", m + 0.1 * rng.normal()) } else { u8::from(rng.uniform() < m).to_string() };
        s.push_str(&format!("u{i},{x1:.4},{x2:.4},{t},{y}\n"));
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

/// Every mu0 and mu1 of a predictions file.
fn means(path: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().skip(1).flat_map(|l| l.split(',').skip(1).take(2).map(|v| v.parse::<f64>().unwrap())).collect()
}

const QUICK: [&str; 6] = ["--epochs", "8", "--folds", "2", "--quiet", "--force"];

#[test]
fn auto_picks_binary_on_a_0_1_outcome_and_continuous_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let binary = write(dir.path(), "binary.csv", &logistic_csv(300, 1, false));
    let continuous = write(dir.path(), "continuous.csv", &logistic_csv(300, 2, true));
    let (ob, oc) = (dir.path().join("ob"), dir.path().join("oc"));
    let out = ite(&[
        "fit",
        "--data",
        &binary,
        "--model",
        "study",
        "--epochs",
        "8",
        "--folds",
        "2",
        "--out",
        ob.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("outcome type binary (--outcome-type auto: every value of `y` is 0 or 1)"),
        "stderr does not say which type auto chose: {stderr}"
    );
    let summary = read_json(&ob.join("summary.json"));
    assert_eq!(summary["outcome_type"], "binary");
    assert_eq!(summary["outcome_type_from"], "auto");
    assert_eq!(read_json(&ob.join("model/model.json"))["params"]["outcome_type"], "binary");
    let m = means(&ob.join("predictions.csv"));
    assert_eq!(m.len(), 600);
    assert!(m.iter().all(|&v| v > 0.0 && v < 1.0), "a predicted mean outside (0, 1)");

    let mut args = vec!["fit", "--data", &continuous, "--model", "study", "--out", oc.to_str().unwrap()];
    args.extend(QUICK);
    ok(&args);
    let summary = read_json(&oc.join("summary.json"));
    assert_eq!(summary["outcome_type"], "continuous");
    assert_eq!(summary["outcome_type_from"], "auto");
    assert_eq!(read_json(&oc.join("model/model.json"))["params"]["outcome_type"], "continuous");
    // The flag overrides auto: a 0/1 outcome fitted as continuous.
    let mut args = vec!["fit", "--data", &binary, "--model", "t-learner-ols", "--outcome-type", "continuous"];
    args.extend(["--out", oc.to_str().unwrap()]);
    args.extend(QUICK[2..].iter());
    ok(&args);
    let summary = read_json(&oc.join("summary.json"));
    assert_eq!(
        (summary["outcome_type"].as_str(), summary["outcome_type_from"].as_str()),
        (Some("continuous"), Some("flag"))
    );
    assert_eq!(read_json(&oc.join("fit.json"))["settings"]["logistic"], Value::Null);
}

#[test]
fn binary_on_another_value_names_the_flag_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = logistic_csv(120, 3, false);
    // Data row 5 (file line 6) gets y = 2.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let row: Vec<&str> = lines[5].rsplitn(2, ',').collect();
    lines[5] = format!("{},2", row[1]);
    text = lines.join("\n") + "\n";
    let bad = write(dir.path(), "bad.csv", &text);
    let good = write(dir.path(), "good.csv", &logistic_csv(120, 4, false));
    let out = dir.path().join("o");
    let want = format!("--outcome-type binary: {bad}: line 6, column `y`: outcome 2 is not 0 or 1");
    fails_with(
        &[
            "fit",
            "--data",
            &bad,
            "--model",
            "t-learner-ols",
            "--outcome-type",
            "binary",
            "--out",
            out.to_str().unwrap(),
        ],
        &want,
    );
    fails_with(
        &["transfer", "--source", &good, "--target", &bad, "--outcome-type", "binary", "--out", out.to_str().unwrap()],
        &want,
    );
    assert!(!out.exists(), "no output after an error");
    // auto reads the same file as continuous.
    let mut args = vec!["fit", "--data", &bad, "--model", "t-learner-ols", "--out", out.to_str().unwrap()];
    args.extend(QUICK[2..].iter());
    ok(&args);
    assert_eq!(read_json(&out.join("summary.json"))["outcome_type"], "continuous");
    // A bad value of the flag itself names it.
    fails_with(&["fit", "--data", &good, "--outcome-type", "logit", "--out", "x"], "--outcome-type");
}

#[test]
fn a_saved_binary_model_gives_identical_predictions_through_predict() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &logistic_csv(300, 5, false));
    let other = write(dir.path(), "other.csv", &logistic_csv(100, 6, false));
    // The networks, and the logistic learners the OLS models become on a binary outcome.
    for model in ["study", "t-learner-mlp", "t-learner-ols", "s-learner-ols"] {
        let out = dir.path().join(format!("fit-{model}"));
        let mut args =
            vec!["fit", "--data", &data, "--model", model, "--predict", &other, "--out", out.to_str().unwrap()];
        // `--epochs` does not apply to the OLS learners; the rest of QUICK does.
        args.extend(if model.ends_with("-ols") { &QUICK[2..] } else { &QUICK[..] });
        ok(&args);
        let p = dir.path().join(format!("p-{model}.csv"));
        let json = ok(&[
            "predict",
            "--model",
            out.to_str().unwrap(),
            "--data",
            &other,
            "--out",
            p.to_str().unwrap(),
            "--json",
        ]);
        let report: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(report["outcome_type"], "binary", "{model}");
        let (a, b) =
            (std::fs::read_to_string(out.join("predictions.csv")).unwrap(), std::fs::read_to_string(&p).unwrap());
        assert_eq!(a, b, "{model}: ite predict differs from the fit's predictions");
        assert!(means(&p).iter().all(|&v| v > 0.0 && v < 1.0), "{model}");
    }
}

#[test]
fn ols_learners_turn_logistic_and_transfer_carries_the_outcome_type() {
    let dir = tempfile::tempdir().unwrap();
    let source = write(dir.path(), "s.csv", &logistic_csv(400, 7, false));
    let target = write(dir.path(), "t.csv", &logistic_csv(150, 8, false));
    for model in ["t-learner-ols", "s-learner-ols"] {
        let out = dir.path().join(model);
        let mut args = vec!["fit", "--data", &source, "--model", model, "--out", out.to_str().unwrap()];
        args.extend(QUICK[2..].iter());
        ok(&args);
        assert_eq!(read_json(&out.join("fit.json"))["settings"]["logistic"], true, "{model}");
        assert!(means(&out.join("predictions.csv")).iter().all(|&v| v > 0.0 && v < 1.0), "{model}");
    }
    let out = dir.path().join("tr");
    let mut args = vec!["transfer", "--source", &source, "--target", &target, "--out", out.to_str().unwrap()];
    args.extend(["--folds", "2", "--quiet"]);
    ok(&args);
    assert_eq!(read_json(&out.join("summary.json"))["outcome_type"], "binary");
    for m in ["model", "source_model"] {
        assert_eq!(read_json(&out.join(m).join("model.json"))["params"]["outcome_type"], "binary", "{m}");
    }
    assert!(means(&out.join("predictions.csv")).iter().all(|&v| v > 0.0 && v < 1.0));
    // A binary source model is refused for a continuous transfer.
    let sm = out.join("source_model");
    fails_with(
        &[
            "transfer",
            "--source",
            &source,
            "--target",
            &target,
            "--source-model",
            sm.to_str().unwrap(),
            "--outcome-type",
            "continuous",
            "--out",
            dir.path().join("tr2").to_str().unwrap(),
        ],
        "the model was fitted for a binary outcome, but --outcome-type is continuous",
    );
    // A continuous source model on 0/1 files under auto: the model's type is kept, and said.
    let fc = dir.path().join("fc");
    let mut args = vec!["fit", "--data", &source, "--model", "study", "--outcome-type", "continuous"];
    args.extend(["--out", fc.to_str().unwrap()]);
    args.extend(QUICK);
    ok(&args);
    let tc = dir.path().join("tc");
    let sm = fc.join("model");
    ok(&[
        "transfer",
        "--source",
        &source,
        "--target",
        &target,
        "--source-model",
        sm.to_str().unwrap(),
        "--strategy",
        "fine-tune",
        "--folds",
        "2",
        "--quiet",
        "--out",
        tc.to_str().unwrap(),
    ]);
    let summary = read_json(&tc.join("summary.json"));
    assert_eq!(
        (summary["outcome_type"].as_str(), summary["outcome_type_from"].as_str()),
        (Some("continuous"), Some("model"))
    );
    assert_eq!(read_json(&tc.join("model/model.json"))["params"]["outcome_type"], "continuous");
}

#[test]
fn a_binary_outcome_constant_in_an_arm_is_warned_about() {
    // Found on IHDP (docs/guide.md §8): cut at its median, the outcome is 1 for every treated
    // child; the networks fit that arm to probabilities near 1 without a word.
    let dir = tempfile::tempdir().unwrap();
    let text: String = logistic_csv(200, 5, false)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.split(',').collect();
            let y = if i > 0 && f[3] == "1" { "1" } else { f[4] };
            format!("{},{},{},{},{y}\n", f[0], f[1], f[2], f[3])
        })
        .collect();
    let data = write(dir.path(), "constant.csv", &text);
    let n_treated = text.lines().skip(1).filter(|l| l.split(',').nth(3) == Some("1")).count();
    let out_dir = dir.path().join("o");
    let out = ite(&["fit", "--data", &data, "--model", "study", "--out", out_dir.to_str().unwrap(), "--epochs", "3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let want =
        format!("binary outcome constant in an arm: `y` is 1 for all {n_treated} treated units of --data {data}");
    assert!(stderr.contains(&want), "{stderr}");
    let warnings = read_json(&out_dir.join("summary.json"))["warnings"].clone();
    assert!(warnings.as_array().unwrap().iter().any(|w| w.as_str().unwrap().starts_with(&want)), "{warnings}");
    // Transfer names the file whose arm is constant; the logistic learner refuses the arm.
    let source = write(dir.path(), "source.csv", &logistic_csv(300, 6, false));
    let t_dir = dir.path().join("t");
    let t = t_dir.to_str().unwrap();
    let out = ite(&[
        "transfer",
        "--source",
        &source,
        "--target",
        &data,
        "--strategy",
        "fine-tune",
        "--epochs",
        "3",
        "--out",
        t,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("treated units of --target {data}")), "{stderr}");
    assert!(!stderr.contains("units of --source"), "{stderr}");
    fails_with(
        &["fit", "--data", &data, "--model", "t-learner-ols", "--out", dir.path().join("l").to_str().unwrap()],
        "every outcome is 1",
    );
}

/// On a 0/1 outcome every ITE lies in [−1, 1]: the conformal ITE intervals are cut to that
/// range, which loses no coverage — on 600 fresh units with known risk differences
/// τ(x) = μ1(x) − μ0(x), at least the nominal 95% of the cut intervals hold τ(x).
#[test]
fn conformal_intervals_of_a_binary_outcome_stay_within_minus_one_and_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &logistic_csv(120, 9, false));
    let fresh = write(dir.path(), "fresh.csv", &logistic_csv(600, 10, false));
    let out = dir.path().join("fit");
    let mut args = vec!["fit", "--data", &data, "--model", "t-learner-ols", "--ite-interval", "conformal"];
    args.extend(["--predict", &fresh, "--out", out.to_str().unwrap()]);
    args.extend(&QUICK[2..]);
    ok(&args);
    // The fresh units' true risk differences, from the generator's logits.
    let taus: Vec<f64> = std::fs::read_to_string(&fresh)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').skip(1).take(2).map(|v| v.parse().unwrap()).collect();
            let z = -0.3 + 0.9 * f[0] - 0.6 * f[1];
            sigmoid(z + 0.8) - sigmoid(z)
        })
        .collect();
    let mut rdr = csv::Reader::from_path(out.join("predictions.csv")).unwrap();
    let head = rdr.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (lo, hi) = (col("ite_lower"), col("ite_upper"));
    let (mut clipped, mut covered) = (0, 0);
    for (rec, tau) in rdr.records().zip(&taus) {
        let rec = rec.unwrap();
        let (l, u): (f64, f64) = (rec[lo].parse().unwrap(), rec[hi].parse().unwrap());
        assert!((-1.0..=1.0).contains(&l) && (-1.0..=1.0).contains(&u) && l <= u, "[{l}, {u}]");
        clipped += usize::from(l == -1.0 || u == 1.0);
        covered += usize::from(l <= *tau && *tau <= u);
    }
    assert!(clipped > 0, "the test should reach the limits");
    assert!(covered as f64 >= 0.95 * taus.len() as f64, "{covered} of {} cover", taus.len());
}

//! Issue 15 in the CLI: `ite fit` reports cross-fitted AIPW estimates of the ATE, ATT and ATC
//! with their intervals (summary.json's contract, `--level`, `--folds`, `--trim`, `--cluster`),
//! the overlap diagnostics and warnings (extreme propensities, a tiny arm, repeated ids), and
//! `ite describe` shows the overlap too. Data are written by the tests (seeded, deterministic).

use std::path::Path;

use serde_json::Value;

mod common;

use common::data::Rng;
use common::{fails_with, ite, ok};

/// `n` units: covariates x1, x2 (standard normal), treatment with logit `slope·x1`, outcome
/// y = x1 + 0.5·x2 + 2·t + noise, truth mu0, mu1, an id per unit.
fn rows(n: usize, seed: u64, slope: f64) -> String {
    let mut rng = Rng(seed);
    let mut s = String::from("id,x1,x2,t,y,mu0,mu1\n");
    for i in 0..n {
        let (x1, x2) = (rng.normal(), rng.normal());
        let e = 1.0 / (1.0 + (-slope * x1).exp());
        let t = u8::from(rng.uniform() < e);
        let mu0 = x1 + 0.5 * x2;
        let mu1 = mu0 + 2.0;
        let y = if t == 1 { mu1 } else { mu0 } + rng.normal();
        s.push_str(&format!("u{i},{x1},{x2},{t},{y},{mu0},{mu1}\n"));
    }
    s
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn out(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

/// `ite fit --model t-learner-ols --json` with `extra` (which may name another model): (summary,
/// stderr).
fn fit(data: &str, dir: &str, extra: &[&str]) -> (Value, String) {
    let mut args = vec!["fit", "--data", data, "--id", "id", "--out", dir, "--json"];
    if !extra.contains(&"--model") {
        args.extend(["--model", "t-learner-ols"]);
    }
    args.extend_from_slice(extra);
    let o = ite(&args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "ite {args:?}: {stderr}");
    let v: Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(Path::new(dir).join("summary.json")).unwrap())
        .expect("summary.json is JSON");
    assert_eq!(v, saved, "stdout and summary.json agree");
    (v, stderr)
}

fn warnings(v: &Value) -> Vec<String> {
    v["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect()
}

fn width(e: &Value) -> f64 {
    e["upper"].as_f64().unwrap() - e["lower"].as_f64().unwrap()
}

#[test]
fn summary_json_has_aipw_estimates_overlap_and_truth_and_honours_the_level() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "rct.csv", &rows(400, 1, 0.0));
    let (v, stderr) = fit(&data, &out(d, "o95"), &[]);
    for key in ["ate", "att", "atc"] {
        let e = &v[key];
        assert_eq!(e["method"], "aipw", "{key}: {e}");
        assert_eq!(e["level"], 0.95);
        for f in ["estimate", "se", "lower", "upper"] {
            assert!(e[f].is_f64(), "{key}.{f}: {e}");
        }
        assert!(e.get("undefined").is_none(), "{e}");
        let (lo, est, hi) =
            (e["lower"].as_f64().unwrap(), e["estimate"].as_f64().unwrap(), e["upper"].as_f64().unwrap());
        assert!(lo < est && est < hi, "{key}: {e}");
        // the truth is a constant effect of 2; n = 400 with noise sd 1 gives se ≈ 0.1
        assert!((est - 2.0).abs() < 0.5 && e["se"].as_f64().unwrap() < 0.3, "{key}: {e}");
        let truth = v[format!("{key}_true")].as_f64().unwrap();
        assert!((truth - 2.0).abs() < 1e-9, "{key}_true over the training data: {truth}");
    }
    let p = &v["ate_plugin"];
    assert!(p["estimate"].is_f64() && p["lower"].is_null() && p["upper"].is_null() && p["se"].is_null(), "{p}");
    assert_eq!(p["undefined"], "no interval without --bootstrap B (refit bootstrap)");
    assert_eq!(p["method"], "plugin");
    for key in ["pehe", "sqrt_pehe", "ate_bias", "ate_true_predicted"] {
        assert!(v[key].is_f64(), "{key}: {v}");
    }
    let inf = &v["inference"];
    assert_eq!((inf["folds"].as_u64(), inf["level"].as_f64()), (Some(5), Some(0.95)), "{inf}");
    assert_eq!((inf["n_used"].as_u64(), inf["n_trimmed"].as_u64()), (Some(400), Some(0)), "{inf}");
    assert_eq!(inf["trim"]["rule"], "none");
    assert!(inf["clusters"].is_null() && inf["cluster_column"].is_null(), "{inf}");
    assert!(inf["assumptions"].as_str().unwrap().contains("unconfounded"), "{inf}");
    let o = &v["overlap"];
    assert_eq!(o["n"], 400);
    assert!(o["propensity_treated"]["median"].is_f64() && o["propensity_control"]["q95"].is_f64(), "{o}");
    assert_eq!(o["balance"].as_array().unwrap().len(), 2);
    assert!(o["ess_treated"].is_f64() && o["share_outside"].is_f64(), "{o}");
    assert!(warnings(&v).is_empty() && !stderr.contains("warning:"), "randomized: {v}\n{stderr}");
    assert!(stderr.contains("cross-fitting 5 folds"), "{stderr}");

    // --level 0.9: the same estimates, narrower intervals, level 0.9 everywhere.
    let (v90, _) = fit(&data, &out(d, "o90"), &["--level", "0.9"]);
    for key in ["ate", "att", "atc"] {
        assert_eq!(v90[key]["estimate"], v[key]["estimate"], "{key}");
        assert_eq!(v90[key]["level"], 0.9);
        assert!(width(&v90[key]) < width(&v[key]) * 0.9, "{key}: {} vs {}", v90[key], v[key]);
    }
    assert_eq!(v90["ate_plugin"]["level"], 0.9);
    // --folds 3 is recorded; the estimate moves a little.
    let (v3, _) = fit(&data, &out(d, "o3"), &["--folds", "3"]);
    assert_eq!(v3["inference"]["folds"], 3);
    assert!((v3["ate"]["estimate"].as_f64().unwrap() - 2.0).abs() < 0.5);

    // The plain report says what each interval covers and under which assumptions, once.
    let human =
        ok(&["fit", "--data", &data, "--model", "t-learner-ols", "--id", "id", "--out", &out(d, "plain"), "--quiet"]);
    assert!(human.contains("95% interval [") && human.contains("(cross-fitted AIPW, 5 folds)"), "{human}");
    assert!(human.contains("the average effect over the population these 400 units represent"), "{human}");
    assert_eq!(human.matches("unconfounded").count(), 1, "{human}");
    assert!(human.contains("ATT ") && human.contains("ATC ") && human.contains("ATE plug-in"), "{human}");
    assert!(human.contains("truth (mu0, mu1 in the data): ATE 2.0000"), "{human}");
}

#[test]
fn extreme_propensities_warn_and_randomized_data_stay_silent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let extreme = write(d, "extreme.csv", &rows(600, 2, 4.0));
    let (v, stderr) = fit(&extreme, &out(d, "x"), &[]);
    let w = warnings(&v);
    assert!(w.iter().any(|s| s.starts_with("limited overlap") && s.contains("outside [0.05, 0.95]")), "{w:?}");
    assert!(w.iter().any(|s| s.starts_with("imbalance") && s.contains("x1")), "{w:?}");
    assert!(v["overlap"]["share_outside"].as_f64().unwrap() > 0.3, "{}", v["overlap"]);
    for s in &w {
        assert!(stderr.contains(&format!("warning: {s}")), "{s} not on stderr: {stderr}");
    }
    // --quiet keeps them out of stderr, not out of summary.json.
    let (vq, stderr) = fit(&extreme, &out(d, "xq"), &["--quiet"]);
    assert!(!stderr.contains("warning:") && warnings(&vq) == w, "{stderr}");
    // Randomized data of several sizes: no warning.
    for (n, seed) in [(80, 3), (300, 4), (1000, 5)] {
        let rct = write(d, &format!("rct{n}.csv"), &rows(n, seed, 0.0));
        let (v, stderr) = fit(&rct, &out(d, &format!("r{n}")), &[]);
        assert!(warnings(&v).is_empty() && !stderr.contains("warning:"), "n {n}: {:?}", warnings(&v));
    }
}

#[test]
fn one_control_among_400_warns_and_gives_no_aipw_estimate() {
    // The case: TARNet reported ATE 0.098 [−0.047, 0.247] (true 2.0), exit 0, no warning.
    // Cross-fitting cannot hold the one control out and still fit a control model, so there is no
    // AIPW estimate and no interval; the run still writes predictions and says why.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = rows(400, 6, 0.0);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for (k, line) in lines.iter_mut().enumerate().skip(1) {
        let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
        let t = u8::from(k != 1);
        let (mu0, mu1): (f64, f64) = (f[5].parse().unwrap(), f[6].parse().unwrap());
        let noise = 0.1 * ((k * 7 % 13) as f64 - 6.0);
        f[3] = t.to_string();
        f[4] = (if t == 1 { mu1 } else { mu0 } + noise).to_string();
        *line = f.join(",");
    }
    let data = write(d, "one_control.csv", &(lines.join("\n") + "\n"));
    let study = ["--model", "study", "--epochs", "3"];
    let (v, stderr) = fit(&data, &out(d, "o"), &study);
    for key in ["ate", "att", "atc"] {
        assert!(v[key]["estimate"].is_null() && v[key]["lower"].is_null(), "{key}: {}", v[key]);
        assert!(v[key]["undefined"].as_str().unwrap().contains("the control arm has 1 unit,"), "{}", v[key]);
    }
    let w = warnings(&v);
    assert!(w.iter().any(|s| s.contains("small arm: the control arm has 1 of 400 units")), "{w:?}");
    assert!(w.iter().any(|s| s.starts_with("no AIPW estimates")), "{w:?}");
    assert!(stderr.contains("warning: small arm"), "{stderr}");
    assert!(v["overlap"]["propensity_model"].as_str().unwrap().contains("all units"), "{}", v["overlap"]);
    assert!(v["ate_plugin"]["estimate"].is_f64() && v["ate_plugin"]["lower"].is_null());
    let human = ok(&[&["fit", "--data", &data, "--id", "id", "--out", &out(d, "p"), "--quiet"], &study[..]].concat());
    assert!(human.contains("ATE, ATT, ATC: no AIPW estimate (the control arm has 1 unit,"), "{human}");
}

/// 60 clusters of 8 units, treatment assigned by cluster, a cluster effect of sd 2 in the
/// outcome: units of a cluster are far from independent.
fn clustered_rows() -> String {
    let mut rng = Rng(9);
    let mut s = String::from("school,x1,t,y,mu0,mu1\n");
    for g in 0..60 {
        let effect = 2.0 * rng.normal();
        let t = u8::from(rng.uniform() < 0.5);
        for _ in 0..8 {
            let x1 = rng.normal();
            let (mu0, mu1) = (x1, x1 + 1.0);
            let y = if t == 1 { mu1 } else { mu0 } + effect + 0.5 * rng.normal();
            s.push_str(&format!("s{g},{x1},{t},{y},{mu0},{mu1}\n"));
        }
    }
    s
}

#[test]
fn cluster_makes_folds_and_standard_errors_cluster_robust() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "schools.csv", &clustered_rows());
    let run = |name: &str, extra: &[&str]| -> Value {
        let o = out(d, name);
        let mut args = vec!["fit", "--data", &data, "--model", "t-learner-ols", "--out", &o, "--json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&ok(&args)).unwrap()
    };
    // Without --cluster the school labels cannot be a covariate (not numbers): name the covariates.
    let naive = run("naive", &["--covariates", "x1"]);
    let robust = run("robust", &["--cluster", "school"]);
    assert_eq!(robust["covariates"], serde_json::json!(["x1"]), "the cluster column is not a covariate");
    assert_eq!(robust["inference"]["clusters"], 60);
    assert_eq!(robust["inference"]["cluster_column"], "school");
    let (se_naive, se_robust) = (naive["ate"]["se"].as_f64().unwrap(), robust["ate"]["se"].as_f64().unwrap());
    assert!(se_robust > 1.5 * se_naive, "cluster-robust se {se_robust} vs naive {se_naive}");
    let human = ok(&["fit", "--data", &data, "--model", "t-learner-ols", "--cluster", "school", "--out", &out(d, "h")]);
    assert!(human.contains("standard errors robust to 60 clusters of `school`"), "{human}");
    // The cluster column has one role.
    let o = out(d, "bad");
    let base = ["fit", "--data", &data, "--model", "t-learner-ols", "--out", &o];
    fails_with(&[&base[..], &["--cluster", "t"]].concat(), "column `t` is both the treatment and the cluster");
    fails_with(&[&base[..], &["--cluster", "y"]].concat(), "column `y` is both the outcome and the cluster");
    fails_with(
        &[&base[..], &["--cluster", "x1", "--covariates", "x1"]].concat(),
        "column `x1` is both the cluster and a covariate",
    );
    fails_with(&[&base[..], &["--cluster", "nope", "--covariates", "x1"]].concat(), "--cluster nope");
    assert!(!Path::new(&o).exists());
}

#[test]
fn repeated_ids_warn_without_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Every unit twice (the rows of 150 people, each measured twice).
    let text = rows(150, 7, 0.0);
    let body: Vec<&str> = text.lines().skip(1).collect();
    let doubled = format!("id,x1,x2,t,y,mu0,mu1\n{}\n{}\n", body.join("\n"), body.join("\n"));
    let data = write(d, "twice.csv", &doubled);
    let (v, stderr) = fit(&data, &out(d, "a"), &[]);
    let w = warnings(&v);
    assert!(w.iter().any(|s| s.starts_with("repeated ids without --cluster: 150 ids appear more than once")), "{w:?}");
    assert!(stderr.contains("warning: repeated ids without --cluster"), "{stderr}");
    // --cluster may name the id column: no warning, and a wider (honest) interval.
    let (vc, _) = fit(&data, &out(d, "b"), &["--cluster", "id"]);
    assert!(!warnings(&vc).iter().any(|s| s.contains("repeated ids")), "{:?}", warnings(&vc));
    assert_eq!(vc["inference"]["clusters"], 150);
    assert!(width(&vc["ate"]) > width(&v["ate"]), "{} vs {}", vc["ate"], v["ate"]);
}

#[test]
fn trimming_reports_the_units_it_drops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "extreme.csv", &rows(600, 8, 3.0));
    let (v, stderr) = fit(&data, &out(d, "fixed"), &["--trim", "0.1,0.9"]);
    let inf = &v["inference"];
    let (used, trimmed) = (inf["n_used"].as_u64().unwrap(), inf["n_trimmed"].as_u64().unwrap());
    assert!(trimmed > 50 && used + trimmed == 600, "{inf}");
    assert_eq!(inf["trim_limits"], serde_json::json!([0.1, 0.9]));
    assert_eq!(inf["trim"], serde_json::json!({"rule": "fixed", "lower": 0.1, "upper": 0.9}));
    let note = format!("trimming (--trim 0.1,0.9) dropped {trimmed} of 600 units");
    assert!(warnings(&v).iter().any(|s| s.starts_with(&note)), "{:?}", warnings(&v));
    assert!(stderr.contains(&format!("warning: {note}")), "{stderr}");
    assert!((v["ate"]["estimate"].as_f64().unwrap() - 2.0).abs() < 0.5, "{}", v["ate"]);
    let (c, _) = fit(&data, &out(d, "crump"), &["--trim", "crump"]);
    assert_eq!(c["inference"]["trim"]["rule"], "crump");
    assert!(c["inference"]["trim_limits"][0].as_f64().unwrap() > 0.0, "{}", c["inference"]);
}

#[test]
fn bad_inference_flags_name_the_flag_and_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "d.csv", &rows(100, 1, 0.0));
    let o = out(d, "o");
    let base = ["fit", "--data", &data, "--model", "t-learner-ols", "--out", &o];
    let cases: &[(&[&str], &[&str])] = &[
        (&["--folds", "1"], &["--folds", "expected an integer ≥ 2"]),
        (&["--folds", "two"], &["--folds", "expected an integer ≥ 2"]),
        (&["--level", "95"], &["--level", "expected a number in (0, 1)", "not a percentage"]),
        (&["--level", "0"], &["--level", "expected a number in (0, 1)"]),
        (&["--trim", "0.9,0.1"], &["--trim", "0 ≤ LO < HI ≤ 1"]),
        (&["--trim", "half"], &["--trim", "expected `none`, `crump` or LO,HI"]),
    ];
    for (flags, wants) in cases {
        for want in *wants {
            fails_with(&[&base[..], flags].concat(), want);
        }
    }
    // More folds than an arm has units: no estimate, said in words, exit 0.
    let (v, _) = fit(&data, &out(d, "k"), &["--folds", "90"]);
    assert!(v["ate"]["undefined"].as_str().unwrap().contains("fewer than the 90 folds"), "{}", v["ate"]);
    assert!(!Path::new(&o).exists());
}

#[test]
fn describe_shows_the_overlap_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let extreme = write(d, "extreme.csv", &rows(600, 2, 4.0));
    let v: Value = serde_json::from_str(&ok(&["describe", "--data", &extreme, "--id", "id", "--json"])).unwrap();
    assert_eq!(v["n"], 600);
    assert!((v["ate_true"].as_f64().unwrap() - 2.0).abs() < 1e-9, "{v}");
    let o = &v["overlap"];
    for key in ["propensity_treated", "propensity_control", "balance", "ess_treated", "ess_control", "share_outside"] {
        assert!(!o[key].is_null(), "{key}: {o}");
    }
    let w: Vec<&str> = v["warnings"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(w.iter().any(|s| s.starts_with("limited overlap")), "{w:?}");
    let plain = ok(&["describe", "--data", &extreme, "--id", "id"]);
    for want in
        ["propensity  logistic", "  treated   min ", "outside     ", "ESS         ", "  x1", "warning     limited"]
    {
        assert!(plain.contains(want), "{want:?} not in {plain}");
    }
    // randomized: no warning; a file without an outcome-independent problem stays quiet
    let rct = write(d, "rct.csv", &rows(300, 3, 0.0));
    let v: Value = serde_json::from_str(&ok(&["describe", "--data", &rct, "--id", "id", "--json"])).unwrap();
    assert!(v["warnings"].as_array().unwrap().is_empty(), "{v}");
    // the cluster column is not a covariate
    let schools = write(d, "schools.csv", &clustered_rows());
    let v: Value =
        serde_json::from_str(&ok(&["describe", "--data", &schools, "--cluster", "school", "--json"])).unwrap();
    assert_eq!((v["covariates"].clone(), v["clusters"].as_u64()), (serde_json::json!(["x1"]), Some(60)), "{v}");
}

#[test]
fn transfer_estimates_the_targets_effects_with_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = common::simulate(d, "src.csv", &["--role", "source", "--n", "600", "--seed", "1"]);
    let tgt = common::simulate(d, "tgt.csv", &["--role", "target", "--n", "80", "--seed", "2"]);
    // The target gains a column of 20 groups of 4 units; the source has no such column.
    let text = std::fs::read_to_string(&tgt).unwrap();
    let mut lines = text.lines();
    let mut s = format!("{},g\n", lines.next().unwrap());
    for (i, l) in lines.enumerate() {
        s.push_str(&format!("{l},g{}\n", i / 4));
    }
    let tgt = write(d, "tgt_g.csv", &s);
    let o = out(d, "o");
    let args = ["transfer", "--source", &src, "--target", &tgt, "--strategy", "fine-tune", "--out", &o, "--json"];
    let v: Value = serde_json::from_str(&ok(&[&args[..], &["--cluster", "g", "--level", "0.9"]].concat())).unwrap();
    assert_eq!((v["inference"]["clusters"].as_u64(), v["inference"]["cluster_column"].as_str()), (Some(20), Some("g")));
    assert_eq!((v["overlap"]["n"].as_u64(), v["ate"]["method"].as_str()), (Some(80), Some("aipw")), "{v}");
    assert!(v["ate"]["se"].as_f64().unwrap() > 0.0 && v["ate"]["level"] == 0.9, "{}", v["ate"]);
    assert!(v["ate_true"].is_f64() && v["ate_plugin"]["lower"].is_null(), "{v}");
    // The cluster column of the target cannot be its treatment.
    fails_with(&[&args[..], &["--cluster", "t"]].concat(), "column `t` is both the treatment and the cluster");
}

#[test]
fn propensity_flag_chooses_the_model_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write(d, "d.csv", &rows(300, 4, 1.0));
    let (v, _) = fit(&data, &out(d, "default"), &[]);
    assert_eq!(v["inference"]["propensity_model"], "logistic", "{}", v["inference"]);
    assert!(v["overlap"]["propensity_model"].as_str().unwrap().starts_with("logistic regression"), "{}", v["overlap"]);
    let (m, _) = fit(&data, &out(d, "mlp"), &["--propensity", "mlp"]);
    assert_eq!(m["inference"]["propensity_model"], "mlp", "{}", m["inference"]);
    assert!(m["overlap"]["propensity_model"].as_str().unwrap().starts_with("MLP"), "{}", m["overlap"]);
    for key in ["ate", "att", "atc"] {
        let e = &m[key];
        assert!(e["lower"].is_f64() && e["upper"].is_f64(), "{key}: {e}");
        // constant effect 2, n = 300: either propensity model lands near it
        assert!((e["estimate"].as_f64().unwrap() - 2.0).abs() < 0.6, "{key}: {e}");
    }
    assert_ne!(v["ate"]["estimate"], m["ate"]["estimate"], "the propensity model changes the AIPW scores");
    let o = out(d, "bad");
    fails_with(
        &["fit", "--data", &data, "--model", "t-learner-ols", "--out", &o, "--propensity", "foo"],
        "--propensity",
    );
    assert!(!Path::new(&o).exists());
}

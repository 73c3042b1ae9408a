//! `--bootstrap B`, `--ensemble K` and `--ite-interval conformal` in `ite fit` and `ite
//! transfer`: what summary.json and predictions.csv hold, that bad values are refused naming the
//! flag, that per-unit intervals hold the truth of simulated data at their level, and that an
//! ensemble is not saved as a model. The intervals' coverage itself is tested in ite-inference.

use std::path::Path;

use serde_json::Value;

mod common;

use common::data::Rng;
use common::{fails_with, ite};

/// `n` units with a heterogeneous effect: mu0 = x1 + 0.5·x2, mu1 = mu0 + 2 + x1, y = mu_t + noise,
/// treatment with logit 0.5·x1.
fn rows(n: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut s = String::from("id,x1,x2,t,y,mu0,mu1\n");
    for i in 0..n {
        let (x1, x2) = (rng.normal(), rng.normal());
        let t = u8::from(rng.uniform() < 1.0 / (1.0 + (-0.5 * x1).exp()));
        let mu0 = x1 + 0.5 * x2;
        let mu1 = mu0 + 2.0 + x1;
        let y = if t == 1 { mu1 } else { mu0 } + rng.normal();
        s.push_str(&format!("u{i},{x1},{x2},{t},{y},{mu0},{mu1}\n"));
    }
    s
}

fn run(args: &[&str]) -> Value {
    let o = ite(args);
    assert!(o.status.success(), "ite {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("--json prints JSON")
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    (header, lines.map(|l| l.split(',').map(str::to_string).collect()).collect())
}

#[test]
fn bootstrap_gives_the_plugin_ate_a_refit_interval() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, rows(300, 1)).unwrap();
    let data = data.to_str().unwrap();
    let out = dir.path().join("o");
    let base = ["fit", "--data", data, "--id", "id", "--model", "t-learner-ols", "--json", "--out"];
    let v = run(&[&base[..], &[out.to_str().unwrap(), "--bootstrap", "40", "--level", "0.9"]].concat());
    let p = &v["ate_plugin"];
    assert_eq!(p["method"], "plugin-bootstrap-percentile");
    assert_eq!(p["level"], 0.9);
    let (lo, est, hi) = (p["lower"].as_f64().unwrap(), p["estimate"].as_f64().unwrap(), p["upper"].as_f64().unwrap());
    assert!(lo < est && est < hi, "{p}");
    assert_eq!(v["bootstrap"]["replicates"], 40);
    assert!(v["bootstrap"]["se"].as_f64().unwrap() > 0.0);
    assert!(v["bootstrap"]["replicate_mean"].as_f64().is_some_and(f64::is_finite), "{}", v["bootstrap"]);
    let b = v["bootstrap"].to_string();
    assert!(b.contains("units resampled with replacement within each arm") && b.contains("not for the ATE"), "{b}");
    // The same seed gives the same interval.
    let again =
        run(&[&base[..], &[dir.path().join("o2").to_str().unwrap(), "--bootstrap", "40", "--level", "0.9"]].concat());
    assert_eq!(again["ate_plugin"], v["ate_plugin"]);
    // Without --bootstrap there is no plug-in interval, and it says why.
    let plain = run(&[&base[..], &[dir.path().join("o3").to_str().unwrap()]].concat());
    assert!(plain["ate_plugin"]["lower"].is_null());
    assert!(plain["ate_plugin"]["undefined"].as_str().unwrap().contains("--bootstrap"));
    fails_with(&[&base[..], &[dir.path().join("o4").to_str().unwrap(), "--bootstrap", "1"]].concat(), "--bootstrap");
}

#[test]
fn an_ensemble_averages_seeds_reports_their_spread_and_saves_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, rows(200, 2)).unwrap();
    let data = data.to_str().unwrap();
    let out = dir.path().join("o");
    let args = ["fit", "--data", data, "--id", "id", "--model", "study", "--epochs", "20", "--folds", "3", "--json"];
    let v = run(&[&args[..], &["--ensemble", "3", "--out", out.to_str().unwrap()]].concat());
    let e = &v["ensemble"];
    assert_eq!(e["members"], 3);
    let ates: Vec<f64> = e["member_ates"].as_array().unwrap().iter().map(|a| a.as_f64().unwrap()).collect();
    assert_eq!(ates.len(), 3);
    let mean = ates.iter().sum::<f64>() / 3.0;
    assert!(
        (mean - v["ate_plugin"]["estimate"].as_f64().unwrap()).abs() < 1e-9,
        "the plug-in ATE is the members' mean"
    );
    assert!(e["between_seed_sd"].as_f64().unwrap() > 0.0, "three seeds of a network differ");
    assert!(!out.join("model").exists(), "an ensemble is not saved as one model");
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(out.join("fit.json")).unwrap()).unwrap();
    assert_eq!(meta["persisted"], false);
    assert_eq!(v["ate"]["method"], "aipw");
    fails_with(
        &[&args[..], &["--ensemble", "0", "--out", dir.path().join("o2").to_str().unwrap()]].concat(),
        "--ensemble",
    );
}

#[test]
fn conformal_intervals_bracket_each_prediction_and_hold_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, rows(600, 3)).unwrap();
    let out = dir.path().join("o");
    let v = run(&[
        "fit",
        "--data",
        data.to_str().unwrap(),
        "--id",
        "id",
        "--model",
        "t-learner-ols",
        "--json",
        "--ite-interval",
        "conformal",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(v["ite_interval"]["method"], "conformal");
    assert!(v["ite_interval"]["half_width"].as_f64().unwrap() > 0.0);
    let (header, body) = csv_rows(&out.join("predictions.csv"));
    assert_eq!(header, ["id", "mu0", "mu1", "ite", "ite_lower", "ite_upper"]);
    let truth: Vec<f64> = rows(600, 3)
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').skip(1).map(|x| x.parse().unwrap()).collect();
            f[5] - f[4]
        })
        .collect();
    let mut held = 0;
    for (row, tau) in body.iter().zip(&truth) {
        let [ite, lo, hi] = [3, 4, 5].map(|k| row[k].parse::<f64>().unwrap());
        assert!(lo <= ite && ite <= hi, "{row:?}");
        held += usize::from(lo <= *tau && *tau <= hi);
    }
    let share = held as f64 / truth.len() as f64;
    assert!(share >= 0.92, "conformal 95% intervals held the true τ(x) of {share:.3} of units");
    fails_with(
        &[
            "fit",
            "--data",
            data.to_str().unwrap(),
            "--ite-interval",
            "exact",
            "--out",
            dir.path().join("x").to_str().unwrap(),
        ],
        "--ite-interval",
    );
}

#[test]
fn transfer_takes_the_same_flags() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("s.csv");
    let target = dir.path().join("t.csv");
    std::fs::write(&source, rows(400, 4)).unwrap();
    std::fs::write(&target, rows(120, 5)).unwrap();
    let out = dir.path().join("o");
    let v = run(&[
        "transfer",
        "--source",
        source.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--id",
        "id",
        "--strategy",
        "fine-tune",
        "--folds",
        "3",
        "--ensemble",
        "2",
        "--bootstrap",
        "4",
        "--ite-interval",
        "conformal",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(v["ensemble"]["members"], 2);
    assert_eq!(v["bootstrap"]["replicates"], 4);
    // Only the target is resampled, and the summary says what that leaves out.
    let r = v["bootstrap"]["resampling"].as_str().unwrap();
    assert!(r.contains("the source is held fixed (its sample and the network trained on it"), "{r}");
    assert_eq!(v["ite_interval"]["method"], "conformal");
    assert!(v["cita"].as_f64().unwrap().is_finite());
    assert!(!out.join("model").exists(), "ensemble members are not saved");
    let (header, body) = csv_rows(&out.join("predictions.csv"));
    assert_eq!(header.len(), 6);
    assert_eq!(body.len(), 120);
}

/// What a careful first user ran into (issue 15 review): each case gives a message that says what
/// happened and what to do.
#[test]
fn fragile_or_missing_results_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, rows(60, 6)).unwrap();
    let data = data.to_str().unwrap();
    let o = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // Too few units for a 99.9% conformal interval: summary.json says so, not only stderr.
    let v = run(&[
        "fit",
        "--data",
        data,
        "--id",
        "id",
        "--model",
        "t-learner-ols",
        "--json",
        "--quiet",
        "--level",
        "0.999",
        "--ite-interval",
        "conformal",
        "--out",
        &o("a"),
    ]);
    assert_eq!(v["ite_interval"]["method"], "conformal");
    assert!(v["ite_interval"]["undefined"].as_str().unwrap().contains("calibration"), "{}", v["ite_interval"]);
    // Fewer than 200 refits: a warning.
    let v = run(&[
        "fit",
        "--data",
        data,
        "--id",
        "id",
        "--model",
        "t-learner-ols",
        "--json",
        "--bootstrap",
        "20",
        "--out",
        &o("b"),
    ]);
    let w = v["warnings"].to_string();
    assert!(w.contains("fewer than 200 refits"), "{w}");
    // An ensemble cannot be used by `ite predict`, and the message says why.
    run(&[
        "fit",
        "--data",
        data,
        "--id",
        "id",
        "--model",
        "study",
        "--epochs",
        "5",
        "--ensemble",
        "2",
        "--json",
        "--out",
        &o("c"),
    ]);
    fails_with(&["predict", "--model", &o("c"), "--data", data, "--id", "id", "--out", &o("p.csv")], "ensemble of 2");
    // A negative trim limit is answered by the range check, not taken for a flag.
    fails_with(&["fit", "--data", data, "--trim", "-0.1,0.9", "--out", &o("d")], "0 ≤ LO < HI ≤ 1");
}

/// `n` pupils in schools of 20 (`id,school,x1,t,y`), pupil `i` of school `s` treated when
/// `treated(s, i)`; y = x1 + t + noise.
fn schools(n: usize, seed: u64, treated: impl Fn(usize, usize) -> bool) -> String {
    let mut text = String::from("id,school,x1,t,y\n");
    let mut rng = Rng(seed);
    for i in 0..n {
        let school = i / 20;
        let t = u8::from(treated(school, i));
        let x1 = rng.normal();
        text.push_str(&format!("u{i},s{school},{x1},{t},{}\n", x1 + f64::from(t) + rng.normal()));
    }
    text
}

#[test]
fn few_clusters_warn() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("c.csv");
    // 6 schools of 20, treatment by school.
    std::fs::write(&data, schools(120, 7, |school, _| school % 2 == 1)).unwrap();
    let out = dir.path().join("o");
    let v = run(&[
        "fit",
        "--data",
        data.to_str().unwrap(),
        "--id",
        "id",
        "--cluster",
        "school",
        "--folds",
        "2",
        "--model",
        "t-learner-ols",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let w = v["warnings"].to_string();
    assert!(w.contains("few clusters: 6 clusters of `school` (3 with treated units, 3 with controls)"), "{w}");
    // The refit bootstrap resamples whole schools, within each arm, and warns about so few.
    let out = dir.path().join("b");
    let (data, out) = (data.to_str().unwrap(), out.to_str().unwrap());
    let fit = ["fit", "--data", data, "--id", "id", "--cluster", "school", "--folds", "2", "--model", "t-learner-ols"];
    let b = run(&[&fit[..], &["--bootstrap", "30", "--json", "--out", out]].concat());
    let r = b["bootstrap"]["resampling"].as_str().unwrap();
    assert!(r.starts_with("whole clusters of `school` resampled with replacement within each arm (6 clusters"), "{r}");
    let w = b["warnings"].to_string();
    assert!(w.contains("--bootstrap with --cluster school: only 3 clusters in an arm"), "{w}");
    // The saved model knows `school` is not a covariate: predicting the same file sets it aside.
    let preds = dir.path().join("p.csv");
    let o = ite(&["predict", "--model", out, "--data", data, "--id", "id", "--out", preds.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&preds).unwrap().lines().count(), 121);
    // The imbalance limit counts clusters: with 3 per arm, chance imbalance is large.
    assert!(v["overlap"]["smd_limit"].as_f64().unwrap() > 1.0, "{}", v["overlap"]["smd_limit"]);
}

/// A cluster bootstrap with every treated unit in one school has nothing to resample for that
/// arm: no interval, a warning that says why, and no talk of refits or coverage.
#[test]
fn a_cluster_bootstrap_without_two_treated_clusters_gives_no_interval() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("one.csv");
    std::fs::write(&data, schools(80, 11, |school, i| school == 0 && i % 2 == 0)).unwrap();
    let (data, out) = (data.to_str().unwrap(), dir.path().join("o"));
    let args = ["fit", "--data", data, "--id", "id", "--cluster", "school", "--folds", "2", "--model", "t-learner-ols"];
    let v = run(&[&args[..], &["--bootstrap", "30", "--json", "--out", out.to_str().unwrap()]].concat());
    assert!(v["ate_plugin"]["lower"].is_null(), "{}", v["ate_plugin"]);
    let w = v["warnings"].to_string();
    assert!(w.contains("--bootstrap: no interval for ate_plugin: the treated units lie in 1 cluster"), "{w}");
    assert!(!w.contains("to resample; with fewer than 30"), "{w}");
}

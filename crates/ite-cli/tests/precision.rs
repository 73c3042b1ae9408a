//! Numeric precision end to end (issue 14 §4): an outcome around 3·10⁷ or 10⁹ with an effect of
//! exactly 1.5 keeps it through CSV reading, the OLS T-learner, predictions.csv and summary.json
//! (f32 outcomes made every ITE 0 or 2 and the true ATE 1.387 at 3·10⁷).

use std::path::Path;

mod common;

use common::ok;

/// 300 units: covariates a (small) and year (2000..2029); mu0 = level + 0.5·a + 0.1·(year − 2000),
/// mu1 = mu0 + 1.5; y = mu_t exactly.
fn rows(level: f64) -> String {
    let mut s = String::from("a,year,t,y,mu0,mu1\n");
    for i in 0..300 {
        let a = (i as f64 * 0.37).sin();
        let year = 2000.0 + (i % 30) as f64;
        let mu0 = level + 0.5 * a + 0.1 * (year - 2000.0);
        let mu1 = mu0 + 1.5;
        let t = i % 2;
        let y = if t == 1 { mu1 } else { mu0 };
        s.push_str(&format!("{a},{year},{t},{y},{mu0},{mu1}\n"));
    }
    s
}

#[test]
fn an_effect_of_1_5_survives_an_outcome_level_of_3e7_and_1e9() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for level in [3e7, 1e9] {
        let f = d.join(format!("d{level}.csv"));
        std::fs::write(&f, rows(level)).unwrap();
        let out = d.join(format!("o{level}"));
        let f = f.to_str().unwrap();
        ok(&["fit", "--data", f, "--model", "t-learner-ols", "--out", out.to_str().unwrap(), "--quiet"]);
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        let ate_true = summary["ate_true"].as_f64().unwrap();
        let ate = summary["ate"]["estimate"].as_f64().unwrap();
        assert!((ate_true - 1.5).abs() <= 1.5e-6, "level {level}: true ATE {ate_true}");
        assert!((ate - 1.5).abs() <= 1.5e-6, "level {level}: ATE {ate}");
        check_ites(&out.join("predictions.csv"), level);
    }
}

fn check_ites(path: &Path, level: f64) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("mu0,mu1,ite"));
    let mut n = 0;
    for line in lines {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        assert!((v[2] - 1.5).abs() <= 1.5e-6, "level {level}: {line}");
        assert!((v[1] - v[0] - 1.5).abs() <= 1.5e-6, "level {level}: {line}");
        n += 1;
    }
    assert_eq!(n, 300);
}

//! End-to-end tests of `ite simulate`, driving the built binary: valid runs for
//! every scenario, byte-identical output for the same seed, and errors that name
//! the flag, fail, and leave no file.

use std::path::Path;

mod common;

use common::{ihdp_dir, ite, ok};

fn header_and_rows(path: &Path) -> (String, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    (header, lines.count())
}

#[test]
fn every_scenario_writes_the_documented_columns() {
    let dir = tempfile::tempdir().unwrap();
    let f = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let src = f("src.csv");
    let stdout = ok(&["simulate", "sim1", "--role", "source", "--n", "1000", "--seed", "1", "--out", &src]);
    assert!(stdout.contains("wrote 1000 units"), "{stdout}");
    assert_eq!(header_and_rows(Path::new(&src)), ("x1,x2,x3,x4,x5,t,y,mu0,mu1".to_string(), 1000));
    let five = "x1,x2,x3,x4,x5,t,y,mu0,mu1";
    let runs: Vec<(Vec<&str>, &str)> = vec![
        (vec!["sim1", "--role", "target", "--assignment", "randomized", "--n", "300", "--seed", "2"], five),
        (vec!["sim1", "--role", "target", "--assignment", "biased", "--n", "300", "--seed", "2"], five),
        (
            vec![
                "sim1",
                "--role",
                "target",
                "--assignment",
                "biased",
                "--n",
                "300",
                "--seed",
                "2",
                "--from-source",
                &src,
            ],
            five,
        ),
        (vec!["sim1", "--role", "target", "--n", "300", "--seed", "2", "--from-source", &src], five),
        (vec!["sim1", "--role", "source", "--n", "300", "--dim", "3", "--noise-sd", "0.5"], "x1,x2,x3,t,y,mu0,mu1"),
        (vec!["sim2", "--role", "source", "--n", "300", "--seed", "3"], five),
        (vec!["sim2", "--role", "target", "--n", "300", "--seed", "3"], five),
        (
            vec![
                "sim2",
                "--role",
                "target",
                "--shift",
                "covariate",
                "--level",
                "0.5",
                "--assignment",
                "biased",
                "--n",
                "300",
            ],
            five,
        ),
        (
            vec![
                "sim2",
                "--role",
                "target",
                "--shift",
                "effect",
                "--level",
                "1",
                "--assignment",
                "randomized",
                "--n",
                "300",
            ],
            five,
        ),
        (vec!["sim2", "--role", "target", "--shift", "prognostic", "--level", "0.25", "--n", "300"], five),
        (vec!["nie-wager-a", "--n", "300", "--seed", "4"], five),
        (vec!["nie-wager-a", "--n", "300", "--propensity-adj", "-0.5"], five),
        (vec!["nie-wager-b", "--n", "300", "--dim", "7"], "x1,x2,x3,x4,x5,x6,x7,t,y,mu0,mu1"),
        (vec!["nie-wager-c", "--n", "300", "--noise-sd", "2"], five),
        (vec!["nie-wager-d", "--n", "300", "--propensity-adj", "1"], five),
    ];
    for (k, (args, header)) in runs.iter().enumerate() {
        let out = f(&format!("o{k}.csv"));
        let mut full = vec!["simulate"];
        full.extend(args.iter().copied());
        full.extend(["--out", &out]);
        let stdout = ok(&full);
        assert!(stdout.contains("wrote 300 units"), "{stdout}");
        assert_eq!(header_and_rows(Path::new(&out)), (header.to_string(), 300), "{args:?}");
        // The file reads back through the project's own CSV reader, with truth.
        let d = ite_core::read_csv(&out, &ite_core::CsvLayout::default()).unwrap();
        assert!(d.truth().is_some());
    }
    if let Some(d) = ihdp_dir() {
        let out = f("ihdp.csv");
        ok(&[
            "simulate",
            "ihdp-like",
            "--data",
            d.to_str().unwrap(),
            "--replication",
            "2",
            "--n",
            "2000",
            "--out",
            &out,
        ]);
        let (header, rows) = header_and_rows(Path::new(&out));
        assert!(header.starts_with("x1,x2,") && header.ends_with("x25,t,y,mu0,mu1"), "{header}");
        assert_eq!(rows, 2000);
    }
}

#[test]
fn same_seed_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = |k: &str| dir.path().join(k).to_str().unwrap().to_string();
    let variants: Vec<Vec<&str>> = vec![
        vec!["sim1", "--role", "source"],
        vec!["sim1", "--role", "target", "--assignment", "biased"],
        vec!["sim2", "--role", "target", "--shift", "effect", "--level", "0.75", "--assignment", "biased"],
        vec!["nie-wager-d"],
    ];
    for (k, v) in variants.iter().enumerate() {
        let (a, b, c) = (p(&format!("{k}a.csv")), p(&format!("{k}b.csv")), p(&format!("{k}c.csv")));
        for (out, seed) in [(&a, "7"), (&b, "7"), (&c, "8")] {
            let mut args = vec!["simulate"];
            args.extend(v.iter().copied());
            args.extend(["--n", "500", "--seed", seed, "--out", out]);
            ok(&args);
        }
        let (a, b, c) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), std::fs::read(&c).unwrap());
        assert_eq!(a, b, "{v:?}: same seed, different bytes");
        assert_ne!(a, c, "{v:?}: different seeds, same bytes");
    }
}

#[test]
fn library_and_cli_agree() {
    use ite_core::{Dgp, Seed};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    ok(&["simulate", "sim1", "--role", "source", "--n", "50", "--seed", "99", "--out", out.to_str().unwrap()]);
    let lib = ite_dgp::Sim1Source::default().sample_seeded(50, Seed::new(99)).unwrap();
    let mut want = Vec::new();
    ite_core::write_csv_to(&mut want, &lib).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), want);
}

#[test]
fn errors_name_the_flag_fail_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.csv");
    let o = out.to_str().unwrap();
    let src_missing = dir.path().join("missing.csv");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["sim1", "--role", "source", "--n", "0"], "--n"),
        (vec!["sim1", "--role", "source", "--n", "-5"], "--n"),
        (vec!["sim1", "--role", "source", "--n", "abc"], "--n"),
        (vec!["sim1", "--role", "source"], "--n"),
        (vec!["sim1", "--n", "10"], "--role"),
        (vec!["sim1", "--role", "sink", "--n", "10"], "--role"),
        (vec!["sim3", "--role", "source", "--n", "10"], "sim3"),
        (vec!["sim2", "--role", "target", "--shift", "effect", "--level", "-0.5", "--n", "10"], "--level"),
        (vec!["sim2", "--role", "target", "--shift", "covariate", "--level", "2", "--n", "10"], "--level"),
        (vec!["sim2", "--role", "target", "--shift", "effect", "--n", "10"], "--level"),
        (vec!["sim2", "--role", "target", "--shift", "sideways", "--level", "1", "--n", "10"], "--shift"),
        (vec!["sim2", "--role", "target", "--assignment", "random", "--n", "10"], "--assignment"),
        (vec!["sim2", "--role", "source", "--assignment", "biased", "--n", "10"], "--assignment"),
        (vec!["sim2", "--role", "source", "--dim", "3", "--n", "10"], "--dim"),
        (vec!["sim1", "--role", "source", "--noise-sd", "-1", "--n", "10"], "--noise-sd"),
        (
            vec!["sim1", "--role", "target", "--from-source", src_missing.to_str().unwrap(), "--n", "10"],
            "--from-source",
        ),
        (vec!["nie-wager-a", "--role", "source", "--n", "10"], "--role"),
        (vec!["nie-wager-b", "--dim", "4", "--n", "10"], "--dim"),
        (vec!["nie-wager-c", "--propensity-adj", "1", "--n", "10"], "--propensity-adj"),
        (vec!["sim1", "--role", "target", "--shift", "effect", "--n", "10"], "--shift"),
        (vec!["ihdp-like", "--data", "/nonexistent", "--dim", "3", "--n", "10"], "--dim"),
        (vec!["ihdp-like", "--n", "10"], "--data"),
        (vec!["ihdp-like", "--data", "/nonexistent", "--n", "10"], "/nonexistent"),
    ];
    for (args, flag) in cases {
        let mut full = vec!["simulate"];
        full.extend(args.iter().copied());
        full.extend(["--out", o]);
        let r = ite(&full);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success(), "{args:?} should fail");
        assert!(stderr.contains(flag), "{args:?}: stderr should name {flag}: {stderr}");
        assert!(!out.exists(), "{args:?} left a file");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{args:?} left a temporary file");
    }
    // Missing output directory: an error naming the path, nothing written.
    let bad = dir.path().join("no/such/dir/x.csv");
    let r = ite(&["simulate", "sim1", "--role", "source", "--n", "5", "--out", bad.to_str().unwrap()]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("no/such/dir"));
}

#[test]
fn help_lists_the_scenarios() {
    let out = ite(&["simulate", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for s in [
        "sim1",
        "sim2",
        "nie-wager-a",
        "nie-wager-b",
        "nie-wager-c",
        "nie-wager-d",
        "ihdp-like",
        "--from-source",
        "--shift",
    ] {
        assert!(help.contains(s), "help lacks {s}: {help}");
    }
}

//! End-to-end tests of `ite fit`, `ite predict` and `ite transfer` on users' files: valid files
//! (LF, CRLF, quoted fields, ids) give predictions and a summary; a table of malformed files and
//! flags each end with a non-zero exit, one message naming the file, line, column or flag, no
//! panic, and nothing written (no output directory, no temporary left beside it).

use std::path::{Path, PathBuf};

mod common;

use common::{ite, ok};

/// A small valid file: 40 units, covariates a, b, treatment t, outcome y, truth mu0, mu1, id.
fn valid_rows(crlf: bool, quoted: bool) -> String {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut s = format!("id,a,b,t,y,mu0,mu1{eol}");
    for i in 0..40 {
        let a = (i as f64 * 0.37).sin();
        let b = (i % 7) as f64 - 3.0;
        let t = i % 2;
        let mu0 = 0.5 * a + 0.1 * b;
        let mu1 = mu0 + 1.0 + 0.2 * a;
        let y = if t == 1 { mu1 } else { mu0 } + 0.05 * ((i * 13 % 11) as f64 - 5.0);
        if quoted {
            s.push_str(&format!("\"u{i}\",\"{a}\",{b},\"{t}\",{y},{mu0},{mu1}{eol}"));
        } else {
            s.push_str(&format!("u{i},{a},{b},{t},{y},{mu0},{mu1}{eol}"));
        }
    }
    s
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn valid_files_lf_crlf_and_quoted_give_the_same_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut preds = Vec::new();
    for (k, (crlf, quoted)) in [(false, false), (true, false), (true, true)].into_iter().enumerate() {
        let f = write(d, &format!("d{k}.csv"), valid_rows(crlf, quoted).as_bytes());
        let out = d.join(format!("out{k}"));
        let stdout = ok(&[
            "fit",
            "--data",
            &f,
            "--model",
            "t-learner-ols",
            "--id",
            "id",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ]);
        let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("--json prints JSON");
        assert_eq!(summary["model"], "t-learner-ols");
        assert_eq!(summary["n_train"], 40);
        assert_eq!(summary["covariates"], serde_json::json!(["a", "b"]));
        assert!(summary["pehe"].as_f64().unwrap() < 0.05, "{summary}");
        let (lo, hi) = (summary["ate"]["lower"].as_f64().unwrap(), summary["ate"]["upper"].as_f64().unwrap());
        assert!(lo < hi && summary["ate"]["method"] == "aipw", "{summary}");
        let p = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
        assert!(p.starts_with("id,mu0,mu1,ite\nu0,"), "{p}");
        assert_eq!(p.lines().count(), 41);
        preds.push(p);
    }
    assert_eq!(preds[0], preds[1], "CRLF changes nothing");
    assert_eq!(preds[0], preds[2], "quotes change nothing");

    // A network: fit, save, predict later with the id carried through; plain lines without --json.
    let f = write(d, "d.csv", valid_rows(false, false).as_bytes());
    let out = d.join("net");
    let o = out.to_str().unwrap();
    let stdout = ok(&[
        "fit", "--data", &f, "--model", "study", "--epochs", "3", "--seed", "4", "--id", "id", "--out", o, "--quiet",
    ]);
    assert!(stdout.contains("fitted study on 40 units") && stdout.contains("(cross-fitted AIPW, 5 folds)"), "{stdout}");
    assert!(stdout.contains("ATE plug-in") && stdout.contains("(model-based, no interval)"), "{stdout}");
    assert!(out.join("model/model.json").is_file() && out.join("fit.json").is_file());
    let pf = d.join("p.csv");
    ok(&["predict", "--model", o, "--data", &f, "--id", "id", "--out", pf.to_str().unwrap(), "--quiet"]);
    let later = std::fs::read_to_string(&pf).unwrap();
    let at_fit = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
    assert_eq!(later, at_fit, "predict reproduces fit's predictions");
    assert!(later.starts_with("id,mu0,mu1,ite\nu0,"));
}

/// Runs `args`; asserts failure, a message containing every `want`, no panic, and that the
/// scratch directory holds exactly the files it held before.
fn fails(d: &Path, args: &[&str], wants: &[&str]) {
    let before = entries(d);
    let out = ite(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 1: our errors; 2: clap's usage errors; never a signal (a crash).
    assert!(matches!(out.status.code(), Some(1 | 2)), "ite {args:?}: {:?} {stderr}", out.status);
    for want in wants {
        assert!(stderr.contains(want), "ite {args:?}:\nstderr {stderr}\nlacks {want:?}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(entries(d), before, "ite {args:?} left something behind");
}

#[test]
fn malformed_files_and_flags_fail_with_one_precise_message_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let no_id: String =
        valid_rows(false, false).lines().map(|l| format!("{}\n", l.split_once(',').unwrap().1)).collect();
    let good = write(d, "good.csv", no_id.as_bytes());
    let out = d.join("out");
    let o = out.to_str().unwrap().to_string();
    let body = "a,b,t,y\n1,2,0,1\n2,3,1,2\n3,1,0,1\n4,4,1,3\n";
    // (file name, bytes, expected message parts); each run as `ite fit --data FILE`.
    let files: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("empty.csv", b"".to_vec(), vec!["empty.csv: the file is empty"]),
        ("header_only.csv", b"a,b,t,y\n".to_vec(), vec!["header_only.csv: no data rows"]),
        ("no_t.csv", b"a,b,y\n1,2,1\n".to_vec(), vec!["no_t.csv: no column `t`; the header has [a, b, y]"]),
        ("no_y.csv", b"a,b,t\n1,2,1\n".to_vec(), vec!["no column `y`"]),
        (
            "dup.csv",
            b"a,a,t,y\n1,2,0,1\n".to_vec(),
            vec!["dup.csv: line 1, column `a`: column name appears more than once"],
        ),
        (
            "text.csv",
            format!("{body}x,2,1,2\n").into_bytes(),
            vec!["text.csv: line 6, column `a`: `x` is not a number"],
        ),
        (
            "nan.csv",
            format!("{body}1,2,1,NaN\n").into_bytes(),
            vec!["nan.csv: line 6, column `y`: `NaN` is not a finite"],
        ),
        ("inf.csv", format!("{body}1,-inf,1,2\n").into_bytes(), vec!["line 6, column `b`: `-inf` is not a finite"]),
        ("empty_value.csv", format!("{body}1,,1,2\n").into_bytes(), vec!["line 6, column `b`: empty value"]),
        (
            "t2.csv",
            format!("{body}1,2,2,2\n").into_bytes(),
            vec!["line 6, column `t`: `2` is not a treatment value (expected 0 or 1)"],
        ),
        ("t_yes.csv", format!("{body}1,2,yes,2\n").into_bytes(), vec!["line 6, column `t`: `yes`"]),
        ("one_arm.csv", b"a,b,t,y\n1,2,1,1\n2,3,1,2\n".to_vec(), vec!["one_arm.csv: the control arm is empty"]),
        (
            "ragged.csv",
            format!("{body}1,2,1\n").into_bytes(),
            vec!["ragged.csv: line 6: row has 3 fields but the header has 4"],
        ),
        ("semicolon.csv", b"a;b;t;y\n1;2;0;1\n".to_vec(), vec!["no column `t`", "is the delimiter `,`?"]),
        (
            "latin1.csv",
            [body.as_bytes(), b"1,\xe9,1,2\n"].concat(),
            vec!["latin1.csv: line 6, column `b`: value is not valid UTF-8"],
        ),
        (
            "mu0_only.csv",
            b"a,t,y,mu0\n1,0,1,1\n2,1,2,1\n".to_vec(),
            vec!["column `mu0` is present but `mu1` is missing"],
        ),
        ("only_ty.csv", b"t,y\n0,1\n1,2\n".to_vec(), vec!["only_ty.csv: no covariate columns"]),
        ("huge.csv", format!("{body}1e101,2,1,2\n").into_bytes(), vec!["line 6, column `a`: `1e101` is too large"]),
    ];
    for (name, bytes, wants) in &files {
        let f = write(d, name, bytes);
        fails(d, &["fit", "--data", &f, "--model", "t-learner-ols", "--out", &o], wants);
    }
    let n_file_cases = files.len();

    // Files that are not there or not files.
    let missing = d.join("missing.csv");
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            vec!["fit".into(), "--data".into(), missing.display().to_string(), "--out".into(), o.clone()],
            vec!["--data", "missing.csv: no such file, expected a CSV file"],
        ),
        (
            vec!["fit".into(), "--data".into(), d.display().to_string(), "--out".into(), o.clone()],
            vec!["--data", "is a directory, expected a CSV file"],
        ),
        (
            vec![
                "fit".into(),
                "--data".into(),
                good.clone(),
                "--predict".into(),
                missing.display().to_string(),
                "--out".into(),
                o.clone(),
            ],
            vec!["--predict", "missing.csv: no such file"],
        ),
        (
            vec![
                "fit".into(),
                "--data".into(),
                good.clone(),
                "--bootstrap".into(),
                "1000000".into(),
                "--out".into(),
                o.clone(),
            ],
            vec!["--bootstrap", "from 2 to 100000"],
        ),
        // --out names an existing file; a missing parent directory.
        (
            vec!["fit".into(), "--data".into(), good.clone(), "--out".into(), good.clone()],
            vec!["--out", "is a file, expected a directory"],
        ),
        (
            vec![
                "fit".into(),
                "--data".into(),
                good.clone(),
                "--out".into(),
                d.join("no/such/out").display().to_string(),
            ],
            vec!["--out", "does not exist"],
        ),
        // Column flags naming absent columns.
        (
            vec![
                "fit".into(),
                "--data".into(),
                good.clone(),
                "--treatment".into(),
                "treat".into(),
                "--out".into(),
                o.clone(),
            ],
            vec!["good.csv: no column `treat`"],
        ),
        (
            vec![
                "fit".into(),
                "--data".into(),
                good.clone(),
                "--covariates".into(),
                "a,zz".into(),
                "--out".into(),
                o.clone(),
            ],
            vec!["good.csv: no column `zz`"],
        ),
        (
            vec!["fit".into(), "--data".into(), good.clone(), "--id".into(), "pid".into(), "--out".into(), o.clone()],
            vec!["no column `pid`"],
        ),
        // Bad flag values.
        (
            vec![
                "fit".into(),
                "--data".into(),
                good.clone(),
                "--model".into(),
                "magic".into(),
                "--out".into(),
                o.clone(),
            ],
            vec!["--model", "magic", "tarnet"],
        ),
        (
            vec!["fit".into(), "--data".into(), good.clone(), "--seed".into(), "abc".into(), "--out".into(), o.clone()],
            vec!["--seed"],
        ),
        (
            vec![
                "fit".into(),
                "--data".into(),
                good.clone(),
                "--delimiter".into(),
                ";;".into(),
                "--out".into(),
                o.clone(),
            ],
            vec!["--delimiter", "one ASCII character"],
        ),
        (
            vec!["fit".into(), "--data".into(), good.clone(), "--epochs".into(), "0".into(), "--out".into(), o.clone()],
            vec!["--epochs", "max_epochs", "≥ 1"],
        ),
        (
            vec!["fit".into(), "--data".into(), good.clone(), "--learning-rate=-1".into(), "--out".into(), o.clone()],
            vec!["learning_rate", "> 0"],
        ),
        (
            vec![
                "fit".into(),
                "--data".into(),
                good.clone(),
                "--model".into(),
                "t-learner-ols".into(),
                "--epochs".into(),
                "5".into(),
                "--out".into(),
                o.clone(),
            ],
            vec!["--epochs does not apply to --model t-learner-ols"],
        ),
        (vec!["fit".into(), "--data".into(), good.clone()], vec!["--out"]),
    ];
    let n_flag_cases = cases.len();
    for (args, wants) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(d, &args, wants);
    }

    // --config: unknown key, bad value, wrong type, not TOML, a directory.
    let configs: Vec<(&str, &str, Vec<&str>)> = vec![
        ("unknown.toml", "max_epoch = 3\n", vec!["unknown.toml: unknown key `max_epoch`; valid keys:", "max_epochs"]),
        ("zero.toml", "batch_size = 0\n", vec!["zero.toml", "`batch_size` = 0: expected an integer ≥ 1"]),
        ("range.toml", "val_fraction = 0.95\n", vec!["val_fraction", "[0, 0.9]"]),
        ("type.toml", "learning_rate = \"fast\"\n", vec!["type.toml: key `learning_rate`"]),
        ("syntax.toml", "max_epochs = = 3\n", vec!["syntax.toml: not valid TOML"]),
        ("ipm.toml", "ipm = { kind = \"rbf-mmd\", epsilon = 1.0 }\n", vec!["unknown key `ipm.epsilon`"]),
        ("ols.toml", "ridge = -1.0\n", vec!["ols.toml", "ridge"]),
    ];
    for (name, text, wants) in &configs {
        let c = write(d, name, text.as_bytes());
        let model = if *name == "ols.toml" { "t-learner-ols" } else { "study" };
        fails(d, &["fit", "--data", &good, "--model", model, "--config", &c, "--out", &o], wants);
    }
    fails(d, &["fit", "--data", &good, "--config", d.to_str().unwrap(), "--out", &o], &["--config", "is a directory"]);

    // Mismatched covariates between training and prediction files, and between source and target.
    let other = write(d, "other.csv", b"a,c,t,y\n1,2,0,1\n2,3,1,2\n");
    fails(
        d,
        &["fit", "--data", &good, "--predict", &other, "--model", "t-learner-ols", "--out", &o],
        &["other.csv: no covariate column `b`, which --data"],
    );
    fails(d, &["transfer", "--source", &good, "--target", &other, "--out", &o], &["covariates differ", "other.csv"]);
    let absent = d.join("absent.csv");
    let absent = absent.to_str().unwrap();
    fails(
        d,
        &["transfer", "--source", &good, "--target", absent, "--out", &o],
        &["--target", "absent.csv: no such file"],
    );
    // Source-only fits nothing on the target: its refits would all be the same model.
    for extra in [["--bootstrap", "20"], ["--ensemble", "3"]] {
        let args = ["transfer", "--source", &good, "--target", &good, "--strategy", "source-only", extra[0], extra[1]];
        fails(d, &[&args[..], &["--out", &o]].concat(), &[extra[0], "does not apply to --strategy source-only"]);
    }

    // predict: a model directory that is not one, an ensemble fit (not saved), a file without the
    // model's covariates, an --out that is a directory.
    let pout = d.join("p.csv");
    let p = pout.to_str().unwrap();
    fails(
        d,
        &["predict", "--model", d.join("nomodel").to_str().unwrap(), "--data", &good, "--out", p],
        &["--model", "no such directory"],
    );
    fails(
        d,
        &["predict", "--model", d.to_str().unwrap(), "--data", &good, "--out", p],
        &["--model", "no saved model here"],
    );
    let ens = d.join("ens");
    let e = ens.to_str().unwrap();
    ok(&["fit", "--data", &good, "--model", "t-learner-ols", "--ensemble", "2", "--out", e, "--quiet", "--no-figures"]);
    fails(d, &["predict", "--model", e, "--data", &good, "--out", p], &["ensemble of 2 `t-learner-ols` models"]);
    let net = d.join("net");
    ok(&["fit", "--data", &good, "--model", "study", "--epochs", "2", "--out", net.to_str().unwrap(), "--quiet"]);
    fails(
        d,
        &["predict", "--model", net.to_str().unwrap(), "--data", &other, "--out", p],
        &["other.csv: no covariate column `b`, which the model needs"],
    );
    fails(
        d,
        &["predict", "--model", net.to_str().unwrap(), "--data", &good, "--out", d.to_str().unwrap()],
        &["--out", "is a directory"],
    );

    let total = n_file_cases + n_flag_cases + configs.len() + 1 + 2 + 5;
    assert!(total >= 20, "{total} malformed cases");
    assert!(!out.exists(), "a failed run created {o}");
    assert!(!entries(d).iter().any(|p| p.file_name().unwrap().to_string_lossy().starts_with(".ite-tmp")));
}

//! End-to-end tests of `ite describe` and the program's global flags, driving the built binary.

mod common;

use common::ite;

#[test]
fn version_and_help() {
    let out = ite(&["--version"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("ite {}", env!("CARGO_PKG_VERSION")));
    let out = ite(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("describe"));
}

#[test]
fn describes_a_valid_crlf_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("d.csv");
    std::fs::write(&f, "age;\"treated\";score;mu0;mu1\r\n1;0;2;1;2\r\n2;1;3;1;3\r\n3;1;4;2;3\r\n").unwrap();
    let out = ite(&[
        "describe",
        "--data",
        f.to_str().unwrap(),
        "--treatment",
        "treated",
        "--outcome",
        "score",
        "--delimiter",
        ";",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("units       3"), "{stdout}");
    assert!(stdout.contains("treated     2 (66.7%)"), "{stdout}");
    assert!(stdout.contains("covariates  1 [age]"), "{stdout}");
    assert!(stdout.contains("true ATE 1.3333"), "{stdout}");
}

#[test]
fn bad_input_is_one_clear_message_and_a_failure_status() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.csv");
    std::fs::write(&f, "x,t,y\n1,0,2\n2,3,3\n").unwrap();
    let out = ite(&["describe", "--data", f.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.csv: line 3, column `t`: `3` is not a treatment value"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let out = ite(&["describe", "--data", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("directory"));
    let out = ite(&["describe", "--data", f.to_str().unwrap(), "--delimiter", "ab"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--delimiter"));
}

//! `ite benchmark ihdp`: a short run writes the summary the issue specifies; bad input fails
//! without creating the output directory.

use std::process::Command;

mod common;

use common::ihdp_dir;

#[test]
fn short_ihdp_run_writes_the_summary() -> anyhow::Result<()> {
    let Some(data) = ihdp_dir() else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_ite"))
        .args(["benchmark", "ihdp", "--model", "tarnet", "--seed", "3", "--replications", "1,2"])
        .args(["--max-epochs", "2"])
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .output()?;
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json"))?)?;
    assert_eq!(summary["model"], "tarnet");
    let reps = summary["replications"].as_array().expect("replications");
    assert_eq!(reps.len(), 2);
    assert_eq!(reps[0]["replication"], 1);
    for key in ["sqrt_pehe_in", "sqrt_pehe_out", "ate_abs_error_out", "fit_seconds"] {
        assert!(reps[1][key].as_f64().is_some(), "{key}");
        for block in ["median", "mean", "se"] {
            assert!(summary[block][key].as_f64().is_some(), "{block}.{key}");
        }
    }
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(stdout.contains("median"), "{stdout}");

    let bad = tmp.path().join("bad");
    let status = Command::new(env!("CARGO_BIN_EXE_ite"))
        .args(["benchmark", "ihdp", "--model", "no-such-model", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&bad)
        .output()?;
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stderr).contains("unknown model `no-such-model`"));
    assert!(!bad.exists());
    Ok(())
}

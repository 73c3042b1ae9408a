//! Shared helpers of the end-to-end tests: run the built `ite` binary and check its outcome.
#![allow(dead_code)]

pub mod data;
pub mod grid;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The IHDP data directory: `ITE_IHDP_DIR`, else `../shared/data/ihdp` beside the checkout.
///
/// `None` (the caller skips its IHDP part) when replication 1 is not there — unless
/// `ITE_REQUIRE_IHDP` is set to anything but `0` (`.ci/run` sets it): then missing data panics,
/// so CI cannot pass without running the IHDP tests.
pub fn ihdp_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ITE_IHDP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ihdp"));
    if dir.join("ihdp_npci_1.csv").is_file() {
        return Some(dir);
    }
    let required = std::env::var("ITE_REQUIRE_IHDP").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        !required,
        "IHDP data missing: no ihdp_npci_1.csv in {} and ITE_REQUIRE_IHDP is set; put the data there or \
         point ITE_IHDP_DIR at it",
        dir.display()
    );
    eprintln!("IHDP data not found in {}; skipping (ITE_REQUIRE_IHDP=1 makes this an error)", dir.display());
    None
}

/// Runs `ite` with `args` and returns what it did.
pub fn ite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ite")).args(args).output().expect("run ite")
}

/// Runs `ite`, asserts success and returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = ite(args);
    assert!(out.status.success(), "ite {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `ite`, asserts failure with `want` in stderr and no panic.
pub fn fails_with(args: &[&str], want: &str) {
    let out = ite(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ite {args:?} succeeded");
    assert!(stderr.contains(want), "ite {args:?}: stderr {stderr:?} lacks {want:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Draws a Simulation 1 sample with `ite simulate sim1 EXTRA --out DIR/NAME` and returns its path.
pub fn simulate(dir: &Path, name: &str, extra: &[&str]) -> String {
    let path = dir.join(name).to_str().unwrap().to_string();
    let mut args = vec!["simulate", "sim1"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", &path]);
    ok(&args);
    path
}

//! Shared helpers of the end-to-end tests: run the built `ite` binary and check its outcome.
#![allow(dead_code)]

use std::process::{Command, Output};

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

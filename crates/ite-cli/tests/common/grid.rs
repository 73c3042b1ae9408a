//! The grid tests' shared pieces: a tiny Simulation 1 grid and `ite` as a `Command` (to spawn,
//! stop or kill it) with the shard variables of the caller's environment removed.

use std::process::{Command, Output};

/// A tiny Simulation 1 grid: two source sizes, two target sizes, two methods, 2 epochs, a
/// 100-unit test draw (add `--reps` and `--seed`).
pub const GRID: [&str; 10] = [
    "--source-n",
    "200,300",
    "--target-n",
    "30,40",
    "--methods",
    "target-only,fine-tune",
    "--max-epochs",
    "2",
    "--test",
    "100",
];

/// [`GRID`] with 2 replications at seed 3.
pub const TINY: [&str; 14] = [
    GRID[0], GRID[1], GRID[2], GRID[3], GRID[4], GRID[5], GRID[6], GRID[7], GRID[8], GRID[9], "--reps", "2", "--seed",
    "3",
];

/// `ite ARGS` as a command, without `SLURM_ARRAY_TASK_ID` or `JOB_COMPLETION_INDEX`.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ite"));
    c.args(args).env_remove("SLURM_ARRAY_TASK_ID").env_remove("JOB_COMPLETION_INDEX");
    c
}

/// Runs [`command`], asserts success and returns the whole output.
pub fn ok_output(args: &[&str]) -> Output {
    let out = command(args).output().expect("run ite");
    assert!(out.status.success(), "ite {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

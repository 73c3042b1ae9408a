//! The `ite` program: individual treatment effects from CSV files, simulations
//! and the study's reproduction, from the command line.
//!
//! Each subcommand lives in its own module under `commands/`; this file only
//! parses arguments, dispatches, and turns errors into one message and a
//! non-zero exit status.

#![deny(unsafe_code)]

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// `println!` that returns an error instead of panicking when stdout is closed (`ite … | head
/// -1`): the caller's `?` ends the command, and `main` ends quietly on [`StdoutClosed`].
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err(crate::stdout_error)
    }};
}

mod args;
mod commands;
mod config;
mod device;
mod figures;
mod inference;
mod models;
mod outcome;
mod output;
mod preprocess;
mod resampling;
mod saved;
mod selection;
mod threads;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Individual treatment effects with neural networks and transfer learning.
///
/// Reads causal data as CSV: a header line, a treatment column `t` (0/1), an
/// outcome column `y`, optional true means `mu0`, `mu1`, and covariates in every
/// other column (all names can be changed with flags).
#[derive(Debug, Parser)]
#[command(name = "ite", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a CSV file and describe it: units, arms, covariates, truth.
    Describe(commands::describe::Args),
    /// Draw a sample from a simulation (sim1, sim2, nie-wager-a..d, ihdp-like) and write it as CSV.
    Simulate(commands::simulate::Args),
    /// Measure speed: training steps per second of the reference networks (JSON).
    Bench(commands::bench::Args),
    /// Run a published benchmark (IHDP) and write a summary.
    Benchmark(commands::benchmark::Args),
    /// Adapt a model trained on a large source sample to a small target sample.
    Transfer(commands::transfer::Args),
    /// Fit a network (TARNet, CFR, the study's net) or a baseline on a CSV file; write model, predictions, summary.
    Fit(commands::fit::Args),
    /// Apply a saved model to a CSV file and write mu0, mu1, ite per row.
    Predict(commands::predict::Args),
    /// Reproduce the study's Simulation 1 or 2 grid (resumable, shardable); write results, summary, figures.
    Reproduce(commands::reproduce::Args),
    /// Combine the output directories of `ite reproduce` shards into one result.
    Merge(commands::merge::Args),
}

/// The command line of every subcommand accepts negative numbers as values (`--learning-rate
/// -0.1` reaches the range check instead of being taken for a flag).
fn allow_negative_numbers(cmd: clap::Command) -> clap::Command {
    cmd.allow_negative_numbers(true).mut_subcommands(allow_negative_numbers)
}

/// Stdout was closed by its reader: not a failure of the command (outputs already written stay).
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout is closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// An error writing to stdout: [`StdoutClosed`] for a closed pipe, else one naming stdout.
pub fn stdout_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        anyhow::anyhow!("writing to stdout: {e}")
    }
}

fn main() -> ExitCode {
    let matches = allow_negative_numbers(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Describe(a) => commands::describe::run(a),
        Command::Simulate(a) => commands::simulate::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Benchmark(a) => commands::benchmark::run(a),
        Command::Transfer(a) => commands::transfer::run(a),
        Command::Fit(a) => commands::fit::run(a),
        Command::Predict(a) => commands::predict::run(a),
        Command::Reproduce(a) => commands::reproduce::run(a),
        Command::Merge(a) => commands::merge::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.chain().any(|c| c.is::<StdoutClosed>()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! Experiment grids: the study's Simulation 1 and 2 grids (cells × methods × replications),
//! run in parallel on one machine or split into shards on a cluster, resumable after an
//! interruption, and merged back into one result.
//!
//! ```no_run
//! use std::path::Path;
//! use ite_core::Seed;
//! use ite_eval::grid::{GridSpec, RunOptions, run_grid};
//! let spec = GridSpec::sim1_quick();
//! let opts = RunOptions { seed: Seed::new(1), quick: true, ..RunOptions::default() };
//! let report = run_grid(&spec, &opts, Path::new("out/sim1-quick"), &|row, p| {
//!     eprintln!("{}/{} {} n={} ε_PEHE {:.3}", p.done, p.total, row.method, row.target_n, row.pehe);
//! })?;
//! assert_eq!(report.rows.len(), spec.task_keys()?.len());
//! # Ok::<(), ite_eval::EvalError>(())
//! ```
//!
//! An output directory holds `run.json` (the parameters; a restart with other parameters is
//! refused), `results.csv` (one row per finished task, appended as tasks finish, sorted by task
//! key once the run completes) and `summary.csv` (per cell and method). With
//! [`GridSpec::intervals`] each task also estimates its target's ATE by cross-fitted AIPW, and
//! `summary.csv` gains the intervals' coverage and mean width (docs/inference.md). A grid with
//! selection methods ([`SELECTION_METHODS`]: `auto-r-loss`, `auto-dr`, `auto-pehe-nn`, `oracle`)
//! also gets `selection.csv` and `cita.csv` ([`write_selection_outputs`]).

mod experiment;
mod lock;
mod runner;
mod selection;
mod shard;
mod store;

pub use experiment::{
    AUTO_DR, AUTO_PEHE_NN, AUTO_R_LOSS, Cell, Experiment, GridSeeds, GridSpec, Group, Intervals, ORACLE, Protocol,
    SELECTION_METHODS, SelectionMethod, TestSet,
};
pub use lock::{GridLock, LOCK_FILE};
pub use runner::{
    GridRun, Plan, Progress, RunOptions, RunReport, cell_data, plan_grid, plan_grid_with, run_grid, run_grid_with,
    shard_task_keys, source_data,
};
pub use selection::{
    CITA_FILE, CitaRow, SELECTION_FILE, SelectionRow, cita_table, selection_table, write_selection_outputs,
};
pub use shard::Shard;
pub use store::{
    MergeReport, RESULTS_FILE, RUN_FILE, ResultsFile, RunManifest, SUMMARY_FILE, SummaryRow, merge_runs,
    same_measurements, sort_rows, summarize, write_sorted_results, write_summary,
};

//! # ite-eval
//!
//! Evaluation of ITE estimators: metrics (ε_PEHE and its root, ATE bias and
//! error, policy risk), bootstrap intervals, replication summaries, experiment
//! grids that run in parallel, resume after interruption and split into
//! shards, and the study's figures. Depends on `ite-core`, `ite-dgp`,
//! `ite-nets`, `ite-transfer` and `ite-metrics`.
//!
//! The metrics, the bootstrap interval and [`Summary`] live in `ite-metrics` (which needs
//! neither networks nor plotting) and are re-exported here under their old paths.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod figures;
pub mod grid;
pub mod metrics;
pub mod results;
mod summary;

pub use error::EvalError;
pub use figures::draw_all;
pub use ite_metrics::{BootstrapParams, Interval, MetricsError, ate_interval};
pub use metrics::{EffectMetrics, IteStats, effect_metrics};
pub use results::{ResultRow, TaskKey, read_results, write_results_to};
pub use summary::Summary;

//! # ite
//!
//! Individual treatment effects with neural networks, and transfer of what a
//! network learned on a large source sample to a small target sample.
//!
//! This umbrella crate re-exports the workspace's crates so that examples and
//! benchmarks — and users who want everything — need one dependency:
//!
//! | module | crate | what it holds |
//! |---|---|---|
//! | [`core`] | `ite-core` | data, seeds, CSV, shared traits |
//! | [`dgp`] | `ite-dgp` | simulations and dataset loaders |
//! | [`nets`] | `ite-nets` | TARNet, CFR, training, baselines |
//! | [`inference`] | `ite-inference` | propensity, overlap, cross-fitted AIPW ATE/ATT/ATC, refit bootstrap, ensembles, conformal ITE intervals |
//! | [`transfer`] | `ite-transfer` | transfer strategies, CITA |
//! | [`metrics`] | `ite-metrics` | PEHE, ATE error, policy risk, summaries |
//! | [`eval`] | `ite-eval` | experiment grids, figures (and the metrics again) |

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub use ite_core as core;
pub use ite_dgp as dgp;
pub use ite_eval as eval;
pub use ite_inference as inference;
pub use ite_metrics as metrics;
pub use ite_nets as nets;
pub use ite_transfer as transfer;

//! # ite-transfer
//!
//! Transfer strategies that adapt a network fitted on a large source sample to
//! a small target sample — source-only, target-only, fine-tuning, frozen
//! representation, L2-SP, the study's staged alignment, pooled training — all
//! behind [`ite_core::TransferStrategy`], plus the task-affinity measure CITA.
//! Depends on `ite-core` and `ite-nets`.

pub mod cita;
mod error;

pub use error::TransferError;

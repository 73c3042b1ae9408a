//! # ite-transfer
//!
//! Transfer strategies that adapt a network fitted on a large source sample to
//! a small target sample — source-only, target-only, fine-tuning, frozen
//! representation, L2-SP, the study's staged alignment, pooled training — all
//! behind [`ite_core::TransferStrategy`], plus the task-affinity measure CITA
//! ([`task_affinity`]), reported with every transfer by [`transfer_with_cita`].
//! Depends on `ite-core` and `ite-nets`.
//!
//! Each strategy lives in its own module, with its parameters documented in a
//! table, a note on when it helps and when it hurts, and its [`StrategyEntry`]
//! (name, description, constructor with the epoch cap) for the [`Registry`] that
//! the CLI and the grids of `ite-eval` choose strategies from. A new strategy is
//! one type implementing `TransferStrategy<FittedTarNet>`; to choose it by name
//! (e.g. in a grid) register its entry in a [`Registry`] — see
//! `examples/custom_strategy.rs`. Neither needs an edit here.
//!
//! A strategy whose last training phase is one TARNet fit on the target (target-only,
//! fine-tune, freeze-representation, staged alignment's heads) says so in its entry ([`StrategyEntry::net_fit`], a [`NetFit`]);
//! [`transfer_many`] then runs it on many targets at once with the batched trainer of
//! `ite-nets`, as the grids of `ite-eval` do for the replications of a cell.
//!
//! Which strategy to use on a target without ground truth: [`select_strategy`] scores the
//! candidates of a registry on held-out folds of the target (R-loss, doubly robust loss,
//! PEHE_nn; `ite_inference::SelectionParams`).

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod cita;
pub mod cita_scale;
pub mod entry;
mod error;
pub mod fine_tune;
pub mod fisher;
pub mod freeze_representation;
pub mod l2_sp;
mod learner;
mod many;
mod net_fit;
pub mod pooled;
pub mod registry;
mod run;
mod sampling;
mod select;
pub mod source_only;
pub mod staged_alignment;
pub mod target_only;
mod training;
mod unit_grads;

pub use cita_scale::{CitaReading, cita_reading};
pub use entry::{BoxedStrategy, NetFitPlan, StrategyConfig, StrategyEntry};
pub use error::{Result, TransferError};
pub use fine_tune::FineTune;
pub use fisher::{CitaParams, task_affinity};
pub use freeze_representation::FreezeRepresentation;
pub use l2_sp::L2Sp;
pub use learner::{EntryLearner, StrategyLearner};
pub use many::{Transferred, transfer_many};
pub use net_fit::{NetFit, Start};
pub use pooled::Pooled;
pub use registry::{Registry, STRATEGY_NAMES, strategy_by_name};
pub use run::{TransferOutcome, transfer_with_cita};
pub use select::select_strategy;
pub use source_only::SourceOnly;
pub use staged_alignment::StagedAlignment;
pub use target_only::TargetOnly;
pub use training::TargetTraining;

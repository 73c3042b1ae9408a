//! One module per `ite` subcommand, each with its `Args` and a `run` function.

pub mod bench;
pub mod benchmark;
pub mod describe;
pub mod fit;
pub mod merge;
pub mod predict;
pub mod reproduce;
pub mod simulate;
pub mod transfer;

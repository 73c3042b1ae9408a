//! One module per `ite` subcommand, each with its `Args` and a `run` function.

pub mod describe;

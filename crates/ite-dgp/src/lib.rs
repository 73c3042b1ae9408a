//! # ite-dgp
//!
//! Data-generating processes and dataset loaders for individual-treatment-effect
//! studies: the two simulations of Aydın & Brandt (linear Simulation 1 with
//! randomized and non-randomized targets; nonlinear Simulation 2 with covariate,
//! effect and prognostic shifts), the Nie–Wager setups A–D, and a loader for the
//! IHDP benchmark. Every process implements [`ite_core::Dgp`] and fills in the
//! true potential-outcome means. Depends only on `ite-core`.

mod error;
pub mod ihdp;

pub use error::DgpError;

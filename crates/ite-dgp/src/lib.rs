//! # ite-dgp
//!
//! Data-generating processes and dataset loaders for individual-treatment-effect
//! studies: the two simulations of Aydın & Brandt (linear Simulation 1 with
//! randomized and non-randomized targets; nonlinear Simulation 2 with covariate,
//! effect and prognostic shifts), the Nie–Wager setups A–D, and a loader for the
//! IHDP benchmark. Every process implements [`ite_core::Dgp`] and fills in the
//! true potential-outcome means. Depends only on `ite-core`.

//!
//! | process | type | what it draws |
//! |---|---|---|
//! | Simulation 1 source | [`Sim1Source`] | linear population, randomized |
//! | Simulation 1 target | [`Sim1Target`] | randomized or biased (accept–reject on Y(0)); fresh or resampled rows |
//! | Simulation 2 source | [`Sim2Source`] | nonlinear population, randomized |
//! | Simulation 2 target | [`Sim2Target`] | covariate / effect / prognostic shift at level c; randomized or biased |
//! | Nie–Wager A–D | [`NieWager`] | CausalML's `synthetic_data` modes 1–4 |
//! | any dataset, bootstrapped | [`Resample`] | rows drawn with replacement (e.g. IHDP-like samples) |
//!
//! Internally every draw is `f64`; outputs are `f64` [`ite_core::CausalData`] too.
//!
//! ```
//! use ite_core::{Dgp, Seed};
//! use ite_dgp::{Assignment, Shift, Sim1Source, Sim2Target};
//! let seed = Seed::new(42);
//! let source = Sim1Source::default().sample_seeded(1000, seed.stream("source"))?;
//! let target = Sim2Target::new(Shift::Effect, 0.5, Assignment::Biased).sample_seeded(100, seed.stream("target"))?;
//! assert_eq!((source.n(), target.n()), (1000, 100));
//! # Ok::<(), ite_dgp::DgpError>(())
//! ```

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod common;
mod error;
pub mod ihdp;
mod mvn;
mod nie_wager;
mod resample;
mod sim1;
mod sim2;

pub use common::{Assignment, expit};
pub use error::DgpError;
pub use mvn::MvNormal;
pub use nie_wager::{NieWager, NieWagerSetup};
pub use resample::Resample;
pub use sim1::{Sim1Params, Sim1Source, Sim1Target, TargetDraw};
pub use sim2::{Shift, Sim2Params, Sim2Population, Sim2Source, Sim2Target, Standardization};

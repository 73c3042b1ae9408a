//! # ite-inference
//!
//! Statistical inference for treatment effects: numbers that come with an honest statement of
//! their uncertainty and of the assumptions they rest on.
//!
//! Module map (one piece per file):
//!
//! | module | what it holds |
//! |---|---|
//! | `error` | [`InferenceError`] |
//! | `estimate` | [`Estimate`]: a number with its standard error, interval, level and method |
//! | `learner` | [`OutcomeLearner`]: what cross-fitting, bootstrap, ensembles and conformal refit |
//! | `folds` | [`Folds`]: seeded cross-fitting folds, stratified by arm, clusters kept whole |

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod estimate;
mod folds;
mod learner;

pub use error::{InferenceError, Result};
pub use estimate::{Estimate, check_level, normal_interval, z_two_sided};
pub use folds::{Folds, cluster_codes};
pub use learner::{BoxError, FitLearner, OutcomeLearner};

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

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod error;

pub use error::{InferenceError, Result};

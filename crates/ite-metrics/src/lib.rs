//! # ite-metrics
//!
//! Metrics of individual-treatment-effect estimates that a crate can use without compiling
//! experiment grids, figures or networks (it depends on `ite-core` only):
//!
//! - ground-truth metrics of predicted potential outcomes against the true ones: ε_PEHE and
//!   √ε_PEHE ([`pehe`], [`sqrt_pehe`]), ATE bias and absolute error, statistics of τ̂
//!   ([`IteStats`]), all of them at once ([`effect_metrics`] → [`EffectMetrics`]), and policy
//!   risk ([`policy_risk`]);
//! - the bootstrap percentile interval of the mean of per-unit values ([`ate_interval`]; not an
//!   interval for a fitted model's ATE — `ite-inference` has those);
//! - [`Summary`] of a metric over replications;
//! - the small statistics ([`stats`]: mean, sd, median, quantile), re-exported from
//!   `ite-core`.
//!
//! Statistical inference for effects (propensity, overlap, AIPW, refit bootstrap, conformal
//! intervals) lives in `ite-inference`.
//! `ite-eval` re-exports everything here (`ite_eval::metrics::pehe`, `ite_eval::Summary`,
//! `ite_eval::ate_interval`, ...), so either path works.
//!
//! ```
//! use ite_core::PotentialOutcomes;
//! let truth = PotentialOutcomes::new(vec![0.0; 3], vec![1.0, 2.0, 3.0])?;
//! let pred = PotentialOutcomes::new(vec![0.0; 3], vec![1.0, 2.0, 4.0])?;
//! let m = ite_metrics::effect_metrics(&pred, &truth)?;
//! assert_eq!(m.pehe, 1.0 / 3.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod bootstrap;
mod effect;
mod error;
mod summary;

pub use bootstrap::{BootstrapParams, Interval, ate_interval};
pub use effect::{
    EffectMetrics, IteStats, ate_abs_error, ate_bias, effect_metrics, ite_stats, pehe, policy_risk, sqrt_pehe,
};
pub use error::{MetricsError, Result};
pub use ite_core::stats;
pub use summary::Summary;

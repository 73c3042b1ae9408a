//! Metrics of ITE estimates against the truth (ε_PEHE and √ε_PEHE, ATE bias and error,
//! policy risk, statistics of τ̂), re-exported from `ite-metrics`, which a crate can use
//! without grids and figures.
//!
//! ε_PEHE is the *mean squared* error of the individual effects, `mean((τ̂ − τ)²)`: [`pehe`]
//! is the mean square, [`sqrt_pehe`] the root (the TARNet paper's figure). These functions
//! return [`ite_metrics::MetricsError`], which converts into [`crate::EvalError`] with `?`.

pub use ite_core::stats::median;
pub use ite_metrics::{
    EffectMetrics, IteStats, ate_abs_error, ate_bias, effect_metrics, ite_stats, pehe, policy_risk, sqrt_pehe,
};

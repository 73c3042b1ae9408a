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
//! | `propensity` | [`PropensityParams`]: cross-fitted L2 logistic regression for e(x); [`PropensityLearner`]: any propensity model cross-fitting can refit ([`cross_fit_propensity`]) |
//! | `overlap` | [`OverlapReport`] diagnostics and warnings, [`Trim`] (fixed limits, Crump et al. 2009) |
//! | `aipw` | [`AipwParams`]: cross-fitted AIPW ATE/ATT/ATC with influence-function (cluster-robust) intervals |
//! | `folds` | [`Folds`]: seeded cross-fitting folds, stratified by arm, clusters kept whole |
//! | `bootstrap` | [`refit_bootstrap`]: refit bootstrap of the plug-in ATE, resampling within arms (or whole clusters, [`refit_cluster_bootstrap`], [`cluster_pool_sizes`]) ([`RefitBootstrapParams`], [`BootstrapResult`]) |
//! | `ensemble` | [`EnsembleLearner`]: seed ensembles that average μ̂0, μ̂1, and the between-seed spread of the ATE ([`EnsembleReport`]) |
//! | `scores` | [`Score`]: the R-loss, doubly robust loss and PEHE_nn of a CATE model without ground truth ([`unit_losses`], [`nearest_other_arm`], [`mean_se`]) |
//! | `selection` | [`SelectionParams`]: choose among candidate models by cross-validated scores ([`SelectionReport`]) |
//! | `conformal` | [`conformal_ite_intervals`]: per-unit ITE intervals by the conformal meta-learner (Alaa et al. 2023) on doubly robust pseudo-outcomes |

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod aipw;
mod bootstrap;
mod conformal;
mod ensemble;
mod error;
mod estimate;
mod folds;
mod learner;
mod overlap;
mod propensity;
pub mod scores;
mod selection;

pub use aipw::{AipwParams, AipwReport, CrossFit, Effects, aipw_effects};
pub use bootstrap::{
    BootstrapResult, NORMAL_METHOD, PERCENTILE_METHOD, RefitBootstrapParams, cluster_pool_sizes, refit_bootstrap,
    refit_cluster_bootstrap,
};
pub use conformal::{
    CalibrationSet, ConformalIntervals, conformal_ite_intervals, conformal_quantile, dr_pseudo_outcomes,
};
pub use ensemble::{EnsembleLearner, EnsembleReport};
pub use error::{InferenceError, Result};
pub use estimate::{Estimate, check_level, normal_interval, z_two_sided};
pub use folds::{Folds, cluster_codes, clusters_per_arm};
pub use learner::{BoxError, FitJob, FitLearner, OutcomeLearner, fit_each};
pub use overlap::{CovariateBalance, OverlapParams, OverlapReport, PropensityQuantiles, Trim, crump_alpha};
pub use propensity::{FittedPropensity, PropensityLearner, PropensityParams, cross_fit_propensity};
pub use scores::{Score, ScoreNuisances, mean_se, nearest_other_arm, unit_losses};
pub use selection::{Candidate, CandidateResult, ScoreValue, SelectionParams, SelectionReport};

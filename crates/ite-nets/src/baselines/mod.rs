//! Linear baselines users compare the networks against: the T-learner with
//! one ordinary-least-squares regression per arm, and the S-learner with one
//! regression of y on x, t and t·x. Both optionally ridge-penalised, fitted in
//! `f64` by a QR decomposition that reports collinear columns by name. For a binary (0/1)
//! outcome, their logistic counterparts ([`LogisticTLearnerParams`], [`LogisticSLearnerParams`],
//! fitted by `linfa-logistic`) predict probabilities in (0, 1).
//!
//! ```
//! use ite_core::{Dgp, Fit, IteModel, Seed};
//! use ite_dgp::Sim1Source;
//! use ite_nets::baselines::{OlsSLearnerParams, OlsTLearnerParams};
//!
//! let data = Sim1Source::default().sample_seeded(2000, Seed::new(1))?;
//! let t = OlsTLearnerParams::default().fit(&data, Seed::new(0))?;
//! let s = OlsSLearnerParams::default().fit(&data, Seed::new(0))?;
//! // Simulation 1's effect is linear, so both recover τ(x) = 1 + 0.05·Σx closely.
//! let (tau_t, tau_s) = (t.ite(data.x())?, s.ite(data.x())?);
//! assert!((tau_t[0] - tau_s[0]).abs() < 1e-4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod logistic;
mod ols;
mod s_learner_ols;
mod t_learner_ols;

pub use logistic::{
    LogisticParams, LogisticSLearner, LogisticSLearnerParams, LogisticTLearner, LogisticTLearnerParams,
};
pub use s_learner_ols::{OlsSLearner, OlsSLearnerParams};
pub use t_learner_ols::{OlsTLearner, OlsTLearnerParams};

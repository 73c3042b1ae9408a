//! # ite-nets
//!
//! Representation networks for individual treatment effects on candle: TARNet
//! (a shared representation Φ and two outcome heads) and CFR (TARNet plus an
//! integral probability metric between the treated and control
//! representations), their seeded training loop with early stopping, the
//! baselines users compare against (OLS and MLP T-/S-learners), and model
//! persistence — for continuous outcomes and for binary (0/1) ones, whose models output
//! logits and predict probabilities ([`TarNetParams::outcome_type`], [`outcome`]); and a small network for the propensity score
//! ([`MlpPropensityParams`], an `ite_inference::PropensityLearner`). Depends on `ite-core`, and
//! on `ite-inference` for that trait only.
//!
//! ```no_run
//! use ite_core::{Fit, IteModel, Seed};
//! use ite_nets::TarNetParams;
//! # fn data() -> ite_core::CausalData { unimplemented!() }
//! let data = data();
//! let model = TarNetParams::default().fit(&data, Seed::new(1))?;
//! let tau = model.ite(data.x())?;
//! model.save("out/model")?;
//! # Ok::<(), ite_nets::NetsError>(())
//! ```
//!
//! For transfer code: [`FittedTarNet::vars`] gives the named variables, in the groups
//! [`VarGroup`] `phi`, `h0` and `h1`; [`TarNetParams::fit_with_options`] warm-starts from a prior model, trains only the
//! variables selected by [`TrainOptions::trainable`] prefixes and adds
//! [`TrainOptions::extra_loss`] to the objective; [`FittedTarNet::representation`] is Φ(x);
//! [`ipm`] has the distances between representations.

#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod activation;
pub mod baselines;
pub mod batched;
#[cfg(feature = "bench")]
pub mod bench;
pub mod error;
mod history;
pub mod hyperparams;
pub mod init;
pub mod ipm;
#[allow(unsafe_code)]
mod kernels;
pub mod loss;
pub mod mlp;
pub mod optim;
pub mod outcome;
pub mod persist;
pub mod propensity_mlp;
pub mod scaler;
pub mod t_learner_mlp;
pub mod tarnet;
pub mod train;
pub mod vars;

pub use batched::{BatchOptions, BatchTask, BatchedTarNet};
pub use error::{NetsError, Result};
pub use hyperparams::{Activation, Ipm, SinkhornConfig, TarNetParams};
pub use kernels::set_backend_threads;
pub use propensity_mlp::MlpPropensityParams;
pub use scaler::Standardizer;
pub use t_learner_mlp::{MlpTLearner, MlpTLearnerParams};
pub use tarnet::{FittedTarNet, TarNet};
pub use train::{EpochRecord, ExtraLoss, LossContext, TrainHistory, TrainOptions};
pub use vars::{TarNetVars, VarGroup};

//! Training TARNet and CFR, in parts: `batch` (seeded split and shuffle, the rows on the
//! device, each epoch's minibatches), the objective (factual loss + L2 + α·IPM + an extra
//! term), early stopping (best snapshot, patience, divergence check, restore; shared with the
//! MLP T-learner), the loop ([`train()`]) and the fit entry points
//! ([`TarNetParams::fit_with_options`](crate::TarNetParams::fit_with_options),
//! [`TarNetParams::fit_on`](crate::TarNetParams::fit_on)).

pub(crate) mod batch;
pub(crate) mod early_stop;
mod fit;
mod objective;
mod options;
mod run;

pub use crate::history::{EpochRecord, TrainHistory};
pub use ite_core::sampling::stratified_split;
pub use options::{ExtraLoss, LossContext, TrainOptions};
pub use run::{clip_gradients, train};

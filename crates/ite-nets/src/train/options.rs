//! What a training run takes beyond the hyperparameters: [`TrainOptions`] (trained variables,
//! an extra loss term, gradient clipping, the device) and the [`LossContext`] an extra term sees.

use candle_core::{Device, Tensor};

use crate::tarnet::TarNet;
use crate::vars::TarNetVars;

/// What an extra loss term sees at each training step.
#[derive(Debug)]
pub struct LossContext<'a> {
    /// The network being trained.
    pub net: &'a TarNet,
    /// Its variables (for penalties such as L2-SP).
    pub vars: &'a TarNetVars,
    /// The standardised covariates of the minibatch (`b × p`).
    pub x: &'a Tensor,
    /// The minibatch's treatment.
    pub t: &'a [u8],
    /// The minibatch's representation Φ(x) (`b × rep_dim`), part of the graph.
    pub phi: &'a Tensor,
    /// Epoch number (0-based).
    pub epoch: usize,
}

/// An extra loss term added to the training objective at every step.
pub type ExtraLoss<'a> = dyn Fn(&LossContext<'_>) -> candle_core::Result<Tensor> + 'a;

/// Options of a training run beyond the hyperparameters: which variables train, which
/// extra loss terms are added, and where the tensors live. `Default` trains everything on the
/// TARNet/CFR objective, on the prior model's device or else the CPU.
#[derive(Default)]
pub struct TrainOptions<'a> {
    /// Name prefixes of the variables that train (e.g. `VarGroup::prefixes(&VarGroup::HEADS)` to freeze Φ);
    /// `None` trains all.
    pub trainable: Option<Vec<String>>,
    /// A term added to the loss at every step (e.g. an L2-SP penalty toward source weights).
    pub extra_loss: Option<&'a ExtraLoss<'a>>,
    /// Drop the factual loss (and the L2 and IPM terms) from the objective, leaving only
    /// `extra_loss` (used by alignment phases). Early stopping still watches the factual loss.
    pub only_extra_loss: bool,
    /// Rescale the gradient of the trained variables to at most this global Euclidean norm
    /// before each Adam step (`None`: no clipping).
    pub clip_grad_norm: Option<f64>,
    /// The device the network is built and trained on (`None`: the prior model's device when
    /// warm-starting, else [`Device::Cpu`]). Initial weights are drawn on the host from the
    /// seeded generator and then copied there, so a seed gives the same start on every device.
    pub device: Option<Device>,
}

impl std::fmt::Debug for TrainOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainOptions")
            .field("trainable", &self.trainable)
            .field("extra_loss", &self.extra_loss.is_some())
            .field("only_extra_loss", &self.only_extra_loss)
            .field("clip_grad_norm", &self.clip_grad_norm)
            .field("device", &self.device)
            .finish()
    }
}

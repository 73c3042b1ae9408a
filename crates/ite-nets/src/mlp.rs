//! Dense layers and multilayer perceptrons over named candle variables (`<prefix>.<k>.weight`,
//! `<prefix>.<k>.bias`).

use candle_core::{Device, Tensor, Var};
use ite_core::IteRng;

use crate::hyperparams::Activation;
use crate::init;

/// One dense layer `y = x W + b`, with `W` of shape `(in, out)`.
#[derive(Debug, Clone)]
pub struct Linear {
    /// Weight matrix, `(in, out)`.
    pub weight: Var,
    /// Bias, `(out,)`.
    pub bias: Var,
}

impl Linear {
    /// `x W + b` for `x` of shape `(n, in)`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_activated(x, None)
    }

    /// `act(x W + b)`, fused into one operation on the CPU (see [`crate::dense`]).
    pub fn forward_activated(&self, x: &Tensor, activation: Option<Activation>) -> candle_core::Result<Tensor> {
        crate::dense::dense(x, self.weight.as_tensor(), self.bias.as_tensor(), activation)
    }
}

/// Applies an activation.
pub fn activate(x: &Tensor, activation: Activation) -> candle_core::Result<Tensor> {
    match activation {
        Activation::Relu => x.relu(),
        Activation::Elu => crate::activation::elu(x),
    }
}

/// A multilayer perceptron: dense layers with an activation after every layer except,
/// optionally, the last.
#[derive(Debug, Clone)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<Linear>,
    /// The activation.
    pub activation: Activation,
    /// Whether the last layer is followed by the activation too (true for Φ, false for heads).
    pub activate_last: bool,
}

impl Mlp {
    /// Builds layers `widths[0] → widths[1] → …`, naming variables `<prefix>.<k>.weight|bias`
    /// and drawing weights from `rng` in layer order (on the host, then copied to `device`);
    /// returns the MLP and its named variables.
    pub fn new(
        prefix: &str,
        widths: &[usize],
        activation: Activation,
        activate_last: bool,
        rng: &mut IteRng,
        device: &Device,
    ) -> candle_core::Result<(Self, Vec<(String, Var)>)> {
        let mut layers = Vec::new();
        let mut named = Vec::new();
        for (k, w) in widths.windows(2).enumerate() {
            let weight = init::glorot_uniform(w[0], w[1], rng, device)?;
            let bias = init::zeros(w[1], device)?;
            named.push((format!("{prefix}.{k}.weight"), weight.clone()));
            named.push((format!("{prefix}.{k}.bias"), bias.clone()));
            layers.push(Linear { weight, bias });
        }
        Ok((Mlp { layers, activation, activate_last }, named))
    }

    /// Forward pass for `x` of shape `(n, in)`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        let last = self.layers.len().saturating_sub(1);
        for (k, layer) in self.layers.iter().enumerate() {
            let act = (k < last || self.activate_last).then_some(self.activation);
            h = layer.forward_activated(&h, act)?;
        }
        Ok(h)
    }
}

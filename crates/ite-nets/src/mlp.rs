//! Dense layers and multilayer perceptrons over named candle variables (`<prefix>.<k>.weight`,
//! `<prefix>.<k>.bias`).

use candle_core::{Device, Tensor, Var};
use ite_core::IteRng;

use crate::activation::activate;
use crate::hyperparams::Activation;
use crate::init;
use crate::kernels::{self, Floats};

/// One dense layer `y = act(x W + b)`.
///
/// The weight is stored `(in, out)`, so a layer maps `x` `(n, in)` to `(n, out)` by `x W`
/// without a transpose; this is the transpose of `candle_nn::Linear`'s `(out, in)` weight
/// (and of PyTorch's `nn.Linear`).
#[derive(Debug, Clone)]
pub struct Dense {
    /// Weight matrix, `(in, out)`.
    pub weight: Var,
    /// Bias, `(out,)`.
    pub bias: Var,
}

impl Dense {
    /// `act(x W + b)` for `x` of shape `(n, in)`, or `x W + b` when `activation` is `None`;
    /// fused into one operation on contiguous f32 CPU tensors, built from candle's `matmul`,
    /// `broadcast_add` and activation otherwise.
    pub fn forward(&self, x: &Tensor, activation: Option<Activation>) -> candle_core::Result<Tensor> {
        dense(x, self.weight.as_tensor(), self.bias.as_tensor(), activation)
    }
}

/// `act(x W + b)` for `x` `(n, in)`, `W` `(in, out)`, `b` `(out,)`; differentiable in all three.
fn dense(x: &Tensor, w: &Tensor, b: &Tensor, activation: Option<Activation>) -> candle_core::Result<Tensor> {
    let fused = [x, w, b].iter().all(|t| kernels::fusable(t, Floats::F32))
        && x.rank() == 2
        && w.rank() == 2
        && b.rank() == 1
        && x.dim(1)? == w.dim(0)?
        && w.dim(1)? == b.dim(0)?;
    if fused {
        return kernels::dense::dense(x, w, b, activation);
    }
    let z = x.matmul(w)?.broadcast_add(b)?;
    match activation {
        None => Ok(z),
        Some(a) => activate(&z, a),
    }
}

/// A multilayer perceptron: dense layers with an activation after every layer except,
/// optionally, the last.
#[derive(Debug, Clone)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<Dense>,
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
            layers.push(Dense { weight, bias });
        }
        Ok((Mlp { layers, activation, activate_last }, named))
    }

    /// Forward pass for `x` of shape `(n, in)`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        let last = self.layers.len().saturating_sub(1);
        for (k, layer) in self.layers.iter().enumerate() {
            let act = (k < last || self.activate_last).then_some(self.activation);
            h = layer.forward(&h, act)?;
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 250.0 - 2.0).collect()
    }

    #[test]
    fn a_dense_layer_computes_act_of_x_w_plus_b() -> candle_core::Result<()> {
        let x = Tensor::new(&[[1f32, -2.0]], &Device::Cpu)?;
        let layer =
            Dense { weight: Var::new(&[[1f32], [1.0]], &Device::Cpu)?, bias: Var::new(&[0.5f32], &Device::Cpu)? };
        assert_eq!(layer.forward(&x, Some(Activation::Relu))?.to_vec2::<f32>()?, vec![vec![0.0]]);
        assert_eq!(layer.forward(&x, None)?.to_vec2::<f32>()?, vec![vec![-0.5]]);
        Ok(())
    }

    /// A transposed (non-contiguous) or f64 input takes candle's path and gives the same values.
    #[test]
    fn strided_and_f64_inputs_fall_back_to_candle() -> candle_core::Result<()> {
        let w = Tensor::from_vec(data(8, 2), (4, 2), &Device::Cpu)?;
        let b = Tensor::from_vec(data(2, 3), 2, &Device::Cpu)?;
        let xt = Tensor::from_vec(data(12, 1), (4, 3), &Device::Cpu)?.t()?;
        for act in [None, Some(Activation::Relu), Some(Activation::Elu)] {
            let a = dense(&xt, &w, &b, act)?;
            let r = dense(&xt.contiguous()?, &w, &b, act)?;
            assert!((a - &r)?.abs()?.max_all()?.to_scalar::<f32>()? < 1e-6);
            let f64s = |t: &Tensor| t.to_dtype(candle_core::DType::F64);
            let d = dense(&f64s(&xt.contiguous()?)?, &f64s(&w)?, &f64s(&b)?, act)?.to_dtype(candle_core::DType::F32)?;
            assert!((d - &r)?.abs()?.max_all()?.to_scalar::<f32>()? < 1e-5);
        }
        Ok(())
    }
}

//! Activations after hidden layers: ReLU and ELU (α = 1). On contiguous f32 CPU tensors ELU is
//! one fused op (a vectorised branch-free exponential forward, a backward from the output
//! alone; see the crate's kernels): candle's built-in `elu` is a scalar loop whose backward
//! builds five temporary tensors, and profiling TARNet on IHDP showed activations dominating
//! the step time.

use candle_core::Tensor;

use crate::hyperparams::Activation;
use crate::kernels::{self, Floats};

/// ELU with α = 1, `x` for `x > 0` and `exp(x) − 1` otherwise; differentiable. The fused op
/// runs on contiguous f32 CPU tensors; other devices, dtypes or strided inputs use candle's own
/// `elu`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[-1f32, 0.0, 2.0], &Device::Cpu)?;
/// let y = ite_nets::activation::elu(&x)?.to_vec1::<f32>()?;
/// assert!((y[0] - (-1f32).exp_m1()).abs() < 2e-7 && y[1] == 0.0 && y[2] == 2.0);
/// # Ok::<(), candle_core::Error>(())
/// ```
pub fn elu(x: &Tensor) -> candle_core::Result<Tensor> {
    if kernels::fusable(x, Floats::F32) { kernels::elu::elu(x) } else { x.elu(1.0) }
}

/// Applies `activation` elementwise (ReLU through candle, ELU through [`elu`]).
pub fn activate(x: &Tensor, activation: Activation) -> candle_core::Result<Tensor> {
    match activation {
        Activation::Relu => x.relu(),
        Activation::Elu => elu(x),
    }
}

//! Seeded weight initialisation: candle's CPU random generator cannot be seeded, so every
//! initial weight is drawn here, on the host, from an [`ite_core::IteRng`] stream, then put
//! on the training device (the same start on every device).

use candle_core::{DType, Device, Tensor, Var};
use ite_core::IteRng;
use rand::RngExt;

/// A `(fan_in, fan_out)` weight matrix drawn from Glorot's uniform distribution
/// U(−√(6/(fan_in + fan_out)), +√(6/(fan_in + fan_out))) (Glorot & Bengio 2010), row-major,
/// from `rng`, on `device`.
pub fn glorot_uniform(fan_in: usize, fan_out: usize, rng: &mut IteRng, device: &Device) -> candle_core::Result<Var> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    let values: Vec<f32> = (0..fan_in * fan_out).map(|_| (2.0 * rng.random::<f32>() - 1.0) * limit).collect();
    Var::from_tensor(&Tensor::from_vec(values, (fan_in, fan_out), device)?)
}

/// A zero bias vector of length `n` on `device`.
pub fn zeros(n: usize, device: &Device) -> candle_core::Result<Var> {
    Var::zeros(n, DType::F32, device)
}

//! Adam with the update fused into one in-place pass per variable on the CPU.
//!
//! candle-nn's `AdamW` spends about a dozen tensor operations (and allocations) per variable
//! per step, which on TARNet's small layers costs more than the layers themselves. [`Adam`]
//! keeps the moment estimates on the host and updates each variable's storage in place with a
//! single loop; it falls back to candle-nn's `AdamW` (weight decay 0) off the CPU. The update
//! is the textbook one (Kingma & Ba), with no weight decay — add any L2 term to the loss, or
//! let the update add its gradient ([`Adam::add_l2`]):
//!
//! g ← g + 2λθ (with [`Adam::add_l2`]), m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
//! θ ← θ − lr · m̂ / (√v̂ + ε), m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ).

use candle_core::Var;
use candle_core::backprop::GradStore;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use crate::kernels::adam::{Moments, Step};
use crate::kernels::{self, Floats};

/// Adam's settings (the defaults are PyTorch's and candle's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Step size.
    pub lr: f64,
    /// Decay of the first-moment estimate.
    pub beta1: f64,
    /// Decay of the second-moment estimate.
    pub beta2: f64,
    /// Added to √v̂ in the denominator.
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

/// Adam over a fixed list of variables (see the module documentation).
///
/// ```
/// use candle_core::{Device, Var};
/// use candle_nn::Optimizer;
/// use ite_nets::optim::{Adam, AdamConfig};
/// let w = Var::new(&[1f32, -2.0], &Device::Cpu)?;
/// let mut adam = Adam::new(vec![w.clone()], AdamConfig { lr: 0.1, ..AdamConfig::default() })?;
/// let loss = w.as_tensor().sqr()?.sum_all()?;
/// adam.backward_step(&loss)?;
/// // The first Adam step moves every coordinate by lr against the gradient's sign.
/// let after = w.as_tensor().to_vec1::<f32>()?;
/// assert!((after[0] - 0.9).abs() < 1e-6 && (after[1] + 1.9).abs() < 1e-6);
/// # Ok::<(), candle_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Adam {
    config: AdamConfig,
    step_t: i32,
    vars: Vec<(Var, Moments)>,
    /// candle-nn's AdamW (weight decay 0) when some variable is not an f32 CPU tensor.
    fallback: Option<AdamW>,
}

impl Optimizer for Adam {
    type Config = AdamConfig;

    fn new(vars: Vec<Var>, config: AdamConfig) -> candle_core::Result<Self> {
        let fused = vars.iter().all(|v| kernels::fusable(v.as_tensor(), Floats::F32));
        if !fused {
            let params = ParamsAdamW {
                lr: config.lr,
                beta1: config.beta1,
                beta2: config.beta2,
                eps: config.eps,
                weight_decay: 0.0,
            };
            return Ok(Adam { config, step_t: 0, vars: Vec::new(), fallback: Some(AdamW::new(vars, params)?) });
        }
        let vars = vars
            .into_iter()
            .map(|var| {
                let n = var.elem_count();
                (var, Moments::new(n))
            })
            .collect();
        Ok(Adam { config, step_t: 0, vars, fallback: None })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        if let Some(fallback) = &mut self.fallback {
            return fallback.step(grads);
        }
        self.step_t = self.step_t.saturating_add(1);
        let c = self.config;
        let scale_m = 1.0 / (1.0 - c.beta1.powi(self.step_t));
        let scale_v = 1.0 / (1.0 - c.beta2.powi(self.step_t));
        for (var, moments) in &mut self.vars {
            let g = match grads.get(var.as_tensor()) {
                Some(g) => g.contiguous()?,
                // Without a gradient from the loss, only the L2 term moves the variable.
                None if moments.l2x2 != 0.0 => var.as_tensor().zeros_like()?,
                None => continue,
            };
            let k = Step {
                beta1: c.beta1 as f32,
                beta2: c.beta2 as f32,
                // lr · m̂ / (√v̂ + ε) = (lr · scale_m) · m / (√(scale_v · v) + ε)
                step: (c.lr * scale_m) as f32,
                scale_v: scale_v as f32,
                eps: c.eps as f32,
            };
            kernels::adam::update(var.as_tensor(), &g, moments, k)?;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
        if let Some(f) = &mut self.fallback {
            f.set_learning_rate(lr);
        }
    }
}

impl Adam {
    /// Whether the update runs fused on the CPU (false: candle-nn's `AdamW` fallback).
    pub fn is_fused(&self) -> bool {
        self.fallback.is_none()
    }

    /// Adds `lambda · ‖var‖²` to the objective inside the update: its gradient 2λθ is added to
    /// `var`'s gradient before the moments, which is what adding the term to the loss does,
    /// without building it into the graph at every step. The result is bit-identical when the
    /// loss's own gradient of `var` is a single term (as a layer's weight's is); with several,
    /// the graph sums them and the L2 term in its own order. The term's value is not part of
    /// any loss the caller computes; add it there if it is reported.
    ///
    /// Returns false, and changes nothing, when the optimizer is not fused ([`Adam::is_fused`])
    /// or `var` is not one of its variables; then add the term to the loss instead.
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use candle_nn::Optimizer;
    /// use ite_nets::optim::{Adam, AdamConfig};
    /// let w = Var::new(&[1f32, -2.0], &Device::Cpu)?;
    /// let mut adam = Adam::new(vec![w.clone()], AdamConfig { lr: 0.1, ..AdamConfig::default() })?;
    /// assert!(adam.add_l2(&w, 0.5));
    /// // A loss that does not involve w: only the L2 term 0.5·‖w‖² moves it, toward 0.
    /// let other = Var::new(&[3f32], &Device::Cpu)?;
    /// adam.backward_step(&other.as_tensor().sqr()?.sum_all()?)?;
    /// let after = w.as_tensor().to_vec1::<f32>()?;
    /// assert!((after[0] - 0.9).abs() < 1e-6 && (after[1] + 1.9).abs() < 1e-6);
    /// # Ok::<(), candle_core::Error>(())
    /// ```
    pub fn add_l2(&mut self, var: &Var, lambda: f64) -> bool {
        if self.fallback.is_some() {
            return false;
        }
        let id = var.as_tensor().id();
        match self.vars.iter_mut().find(|(v, _)| v.as_tensor().id() == id) {
            Some((_, moments)) => {
                // The graph's gradient of λ‖θ‖² is (2 · λ_f32) · θ; the same product here keeps
                // the two routes bit-identical.
                moments.l2x2 = 2.0 * lambda as f32;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// The fused update matches candle-nn's AdamW (weight decay 0) step for step.
    #[test]
    fn matches_candle_adamw() -> candle_core::Result<()> {
        let init: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) * 0.3).collect();
        let a = Var::from_tensor(&Tensor::from_vec(init.clone(), (3, 4), &Device::Cpu)?)?;
        let b = Var::from_tensor(&Tensor::from_vec(init, (3, 4), &Device::Cpu)?)?;
        let cfg = AdamConfig { lr: 0.05, ..AdamConfig::default() };
        let mut ours = Adam::new(vec![a.clone()], cfg)?;
        let params = ParamsAdamW { lr: 0.05, weight_decay: 0.0, ..ParamsAdamW::default() };
        let mut theirs = AdamW::new(vec![b.clone()], params)?;
        for _ in 0..25 {
            ours.backward_step(&(a.as_tensor().sqr()? * a.as_tensor().sin()?)?.sum_all()?)?;
            theirs.backward_step(&(b.as_tensor().sqr()? * b.as_tensor().sin()?)?.sum_all()?)?;
        }
        let (x, y) = (a.as_tensor().flatten_all()?.to_vec1::<f32>()?, b.as_tensor().flatten_all()?.to_vec1::<f32>()?);
        for (p, q) in x.iter().zip(&y) {
            assert!((p - q).abs() < 1e-5, "{p} vs {q}");
        }
        Ok(())
    }

    /// The L2 term added by the update trains exactly (bit for bit) as the same term in the loss.
    #[test]
    fn l2_in_the_update_matches_l2_in_the_loss() -> candle_core::Result<()> {
        let init: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) * 0.3).collect();
        let make = || Var::from_tensor(&Tensor::from_vec(init.clone(), (3, 4), &Device::Cpu)?);
        let (a, b) = (make()?, make()?);
        let cfg = AdamConfig { lr: 0.05, ..AdamConfig::default() };
        let (mut in_update, mut in_loss) = (Adam::new(vec![a.clone()], cfg)?, Adam::new(vec![b.clone()], cfg)?);
        assert!(in_update.add_l2(&a, 0.3));
        // The variable enters the data term once, as a weight enters its layer, so its gradient
        // has a single data contribution (more would be summed in graph order).
        let data = |v: &Var| (v.as_tensor().sin()? * 3.0)?.exp()?.sum_all();
        for _ in 0..25 {
            in_update.backward_step(&data(&a)?)?;
            let l2 = crate::loss::l2_penalty(&[b.as_tensor().clone()], 0.3)?.expect("penalty");
            in_loss.backward_step(&(data(&b)? + l2)?)?;
        }
        let bits = |v: &Var| -> candle_core::Result<Vec<u32>> {
            Ok(v.as_tensor().flatten_all()?.to_vec1::<f32>()?.iter().map(|x| x.to_bits()).collect())
        };
        assert_eq!(bits(&a)?, bits(&b)?);
        assert_ne!(a.as_tensor().flatten_all()?.to_vec1::<f32>()?, init);
        // A variable that is not the optimizer's is refused.
        let stranger = Var::new(&[1f32], &Device::Cpu)?;
        assert!(!in_update.add_l2(&stranger, 0.3));
        Ok(())
    }

    /// A variable without a gradient (frozen or unused) is left bit-for-bit unchanged.
    #[test]
    fn variables_without_gradient_are_untouched() -> candle_core::Result<()> {
        let a = Var::new(&[1f32, 2.0], &Device::Cpu)?;
        let frozen = Var::new(&[3f32, 4.0], &Device::Cpu)?;
        let mut adam = Adam::new(vec![a.clone(), frozen.clone()], AdamConfig::default())?;
        adam.backward_step(&a.as_tensor().sqr()?.sum_all()?)?;
        assert_eq!(frozen.as_tensor().to_vec1::<f32>()?, vec![3.0, 4.0]);
        assert_ne!(a.as_tensor().to_vec1::<f32>()?, vec![1.0, 2.0]);
        Ok(())
    }
}

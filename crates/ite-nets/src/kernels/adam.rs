//! The fused Adam update: one in-place pass over a variable's storage per step, with the
//! moment estimates kept on the host (the arithmetic is documented in `optim.rs`).

use std::sync::Mutex;

use candle_core::{CpuStorage, InplaceOp2, Layout, Tensor};

/// One variable's Adam state.
#[derive(Debug)]
pub(crate) struct Moments {
    /// First-moment estimate m.
    pub m: Vec<f32>,
    /// Second-moment estimate v.
    pub v: Vec<f32>,
    /// 2λ of the variable's L2 term λ‖θ‖² (0 without one), added as 2λθ to its gradient.
    pub l2x2: f32,
}

impl Moments {
    /// Zero moments and no L2 term for a variable of `n` values.
    pub(crate) fn new(n: usize) -> Self {
        Moments { m: vec![0.0; n], v: vec![0.0; n], l2x2: 0.0 }
    }
}

/// The constants of one step, in f32.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    /// β₁.
    pub beta1: f32,
    /// β₂.
    pub beta2: f32,
    /// lr · scale_m, scale_m = 1 / (1 − β₁ᵗ).
    pub step: f32,
    /// scale_v = 1 / (1 − β₂ᵗ).
    pub scale_v: f32,
    /// ε.
    pub eps: f32,
}

/// Updates `theta` (a contiguous f32 CPU variable; check with [`super::fusable`]) in place
/// from its gradient `grad` (contiguous, same size) and its `moments`:
/// g ← g + l2x2·θ, m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − step · m / (√(scale_v·v) + ε).
pub(crate) fn update(theta: &Tensor, grad: &Tensor, moments: &mut Moments, k: Step) -> candle_core::Result<()> {
    theta.inplace_op2(grad, &AdamUpdate { moments: Mutex::new(moments), k })
}

/// One variable's update: θ (in place) with gradient g; the moments live in the optimizer.
struct AdamUpdate<'a> {
    moments: Mutex<&'a mut Moments>,
    k: Step,
}

impl InplaceOp2 for AdamUpdate<'_> {
    fn name(&self) -> &'static str {
        "ite-adam"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> candle_core::Result<()> {
        let (CpuStorage::F32(theta), CpuStorage::F32(grad)) = (s1, s2) else {
            candle_core::bail!("ite-adam: variables and gradients must be f32");
        };
        let (Some((a1, b1)), Some((a2, b2))) = (l1.contiguous_offsets(), l2.contiguous_offsets()) else {
            candle_core::bail!("ite-adam: variables and gradients must be contiguous");
        };
        let (theta, grad) = (&mut theta[a1..b1], &grad[a2..b2]);
        let mut guard = self.moments.lock().unwrap_or_else(|e| e.into_inner());
        let Moments { m, v, l2x2 } = &mut **guard;
        if theta.len() != grad.len() || theta.len() != m.len() {
            candle_core::bail!("ite-adam: gradient of {} values for a variable of {}", grad.len(), theta.len());
        }
        adam_update(theta, grad, m, v, [self.k.beta1, self.k.beta2, self.k.step, self.k.scale_v, self.k.eps, *l2x2]);
        Ok(())
    }
}

super::avx2_dispatch!(
    /// The elementwise Adam update; `k` = [β₁, β₂, lr·scale_m, scale_v, ε, 2λ].
    fn adam_update(theta: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], k: [f32; 6]) -> () => adam_update_body
);

#[inline(always)]
fn adam_update_body(theta: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], k: [f32; 6]) {
    let [b1, b2, step, scale_v, eps, l2x2] = k;
    for (((th, &g), m), v) in theta.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = g + l2x2 * *th;
        *m = b1 * *m + (1.0 - b1) * g;
        *v = b2 * *v + (1.0 - b2) * g * g;
        *th -= step * *m / ((scale_v * *v).sqrt() + eps);
    }
}

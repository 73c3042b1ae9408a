//! The fused ELU (α = 1): one pass forward, and a backward pass computed from the output alone
//! (ELU′(x) = 1 for y > 0, y + 1 otherwise). The negative branch uses [`exp_m1_nonpositive`],
//! a branch-free exponential the compiler vectorises (libm's `expf` is a scalar call per
//! element).

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use super::f32_slice;

/// ELU (α = 1) of a contiguous f32 CPU tensor (check with [`super::fusable`]) as one
/// differentiable op.
pub(crate) fn elu(x: &Tensor) -> candle_core::Result<Tensor> {
    x.apply_op1(EluFwd)
}

struct EluFwd;

impl CustomOp1 for EluFwd {
    fn name(&self) -> &'static str {
        "ite-elu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(storage, layout, self.name())?;
        let mut y = x.to_vec();
        elu_in_place(&mut y);
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let slope = res.contiguous()?.apply_op1_no_bwd(&EluSlope)?;
        Ok(Some(grad_res.mul(&slope)?))
    }
}

/// ELU′ as a function of the ELU output y.
struct EluSlope;

impl CustomOp1 for EluSlope {
    fn name(&self) -> &'static str {
        "ite-elu-slope"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let y = f32_slice(storage, layout, self.name())?;
        let s: Vec<f32> = y.iter().map(|&v| if v > 0.0 { 1.0 } else { v + 1.0 }).collect();
        Ok((CpuStorage::F32(s), layout.shape().clone()))
    }
}

super::avx2_dispatch!(
    /// ELU (α = 1) over a slice, in place.
    pub(crate) fn elu_in_place(v: &mut [f32]) -> () => elu_in_place_body
);

#[inline(always)]
fn elu_in_place_body(v: &mut [f32]) {
    // max(x, 0) + exp_m1(min(x, 0)) is x for x > 0 and exp(x) − 1 otherwise, exactly (one of
    // the two terms is 0). Written as a select, `if x > 0.0 { x } else { e }`, it compiles to a
    // masked store, which is microcoded on AMD CPUs and made this loop three times slower.
    for x in v.iter_mut() {
        *x = x.max(0.0) + exp_m1_nonpositive(*x);
    }
}

/// `exp(x) − 1` for `x ≤ 0` (any input is accepted; positive inputs are clamped to 0 and give 0),
/// branch-free so that loops over it vectorise: Cody–Waite reduction x = k·ln 2 + r with
/// |r| ≤ ln 2 / 2, a degree-7 Taylor polynomial for exp(r), and 2^k built from the exponent bits.
/// Absolute error below 2·10⁻⁷ over the whole range (tested against `f32::exp_m1`); inputs
/// below −87 give −1.
#[inline(always)]
fn exp_m1_nonpositive(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 0.0);
    // Round to nearest by adding and subtracting 1.5·2²³ (|x·log₂e| < 2²²): unlike
    // `f32::round`, which is a libm call on baseline x86-64, this vectorises.
    const ROUND: f32 = 12_582_912.0;
    let k = (x * LOG2E + ROUND) - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    // exp(r) on |r| ≤ 0.347 by Horner's rule.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^k for k in [−126, 0]: the exponent field k + 127, read off the low mantissa bits of
    // 2²³ + k + 127 (exact for these integers) with integer operations only, which vectorise
    // (a float-to-int `as` cast is saturating and does not).
    let scale = f32::from_bits((k + (8_388_608.0 + 127.0)).to_bits() << 23);
    p * scale - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn exp_m1_matches_libm_over_the_range() {
        let mut worst = 0f32;
        let mut x = -90.0f32;
        while x <= 0.0 {
            worst = worst.max((exp_m1_nonpositive(x) - x.exp_m1()).abs());
            x += 1e-3;
        }
        assert!(worst < 2e-7, "largest absolute error {worst}");
        assert_eq!(exp_m1_nonpositive(0.0), 0.0);
        assert_eq!(exp_m1_nonpositive(-1000.0), -1.0);
        assert_eq!(exp_m1_nonpositive(5.0), 0.0);
    }

    #[test]
    fn elu_in_place_is_identity_on_positives_and_exp_m1_on_negatives() {
        let mut v = vec![2.5f32, 0.0, -0.5, -30.0];
        elu_in_place(&mut v);
        assert_eq!(v[0], 2.5);
        assert_eq!(v[1], 0.0);
        assert!((v[2] - (-0.5f32).exp_m1()).abs() < 2e-7);
        assert!((v[3] + 1.0).abs() < 2e-7);
    }

    #[test]
    fn fused_elu_and_its_gradient_match_candles() -> candle_core::Result<()> {
        let x = Var::new(&[-3f32, -0.5, 0.0, 0.25, 2.0], &Device::Cpu)?;
        let (fused, plain) = (elu(x.as_tensor())?, x.as_tensor().elu(1.0)?);
        let d = (&fused - &plain)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(d < 2e-7, "forward differs by {d}");
        let (gf, gp) = ((fused * 3.0)?.sum_all()?.backward()?, (plain * 3.0)?.sum_all()?.backward()?);
        let diff = (gf.get(x.as_tensor()).expect("fused") - gp.get(x.as_tensor()).expect("plain"))?;
        assert!(diff.abs()?.max_all()?.to_scalar::<f32>()? < 1e-6);
        Ok(())
    }
}

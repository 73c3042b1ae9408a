//! The crate's CPU kernels, in one private module: candle custom ops (fused dense layer, ELU,
//! factual loss, squared norm, Sinkhorn divergence), the Adam update, the single-threaded
//! `gemm` wrapper, the AVX2 dispatch, the backend's thread count ([`set_backend_threads`]) and the one check that decides whether a tensor can go
//! through them. All of the crate's `unsafe` code is here.
//!
//! The model files (`activation.rs`, `mlp.rs`, `loss.rs`, `optim.rs`, `ipm.rs`) hold the
//! mathematics and the public entry points: each asks [`fusable`] and calls a kernel, or builds
//! the same quantity from candle's tensor operations on other devices and dtypes.

pub(crate) mod adam;
pub(crate) mod dense;
pub(crate) mod elu;
mod gemm;
pub(crate) mod lanes;
pub(crate) mod loss;
pub(crate) mod sinkhorn;
mod threads;

pub use threads::set_backend_threads;

use candle_core::{CpuStorage, DType, Layout, Storage, Tensor};

/// The dtypes a fused op accepts: f32 only (the layers, losses and Adam), or f32 and f64 (the
/// Sinkhorn divergence, which solves in f64 on the host either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Floats {
    /// f32 tensors only.
    F32,
    /// f32 or f64 tensors.
    F32OrF64,
}

/// Whether `t` can go through a fused op taking `floats`: a contiguous CPU tensor of one of
/// those dtypes. Other tensors go through candle's own operations.
pub(crate) fn fusable(t: &Tensor, floats: Floats) -> bool {
    let dtype_ok = match floats {
        Floats::F32 => t.dtype() == DType::F32,
        Floats::F32OrF64 => matches!(t.dtype(), DType::F32 | DType::F64),
    };
    t.device().is_cpu() && dtype_ok && t.is_contiguous()
}

/// The f32 values of a contiguous CPU storage (shared by the custom ops); `what` names the op
/// and operand in the error.
fn f32_slice<'a>(storage: &'a CpuStorage, layout: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(v) = storage else {
        candle_core::bail!("{what}: only f32 tensors are supported");
    };
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("{what}: the input must be contiguous"),
    }
}

/// Row-major f64 copy of a contiguous f32/f64 CPU storage.
fn f64_copy(s: &CpuStorage, l: &Layout, what: &str) -> candle_core::Result<Vec<f64>> {
    let Some((lo, hi)) = l.contiguous_offsets() else {
        candle_core::bail!("{what}: inputs must be contiguous");
    };
    match s {
        CpuStorage::F32(v) => Ok(v[lo..hi].iter().map(|&x| f64::from(x)).collect()),
        CpuStorage::F64(v) => Ok(v[lo..hi].to_vec()),
        _ => candle_core::bail!("{what}: inputs must be f32 or f64"),
    }
}

/// The CPU storage behind a tensor's storage guard (backward passes read their inputs here).
fn cpu<'a>(s: &'a Storage, what: &str) -> candle_core::Result<&'a CpuStorage> {
    match s {
        Storage::Cpu(c) => Ok(c),
        _ => candle_core::bail!("{what}: backward on a non-CPU tensor"),
    }
}

/// Runtime dispatch of hot loops to AVX2 code on CPUs that have it.
///
/// Release builds target baseline x86-64 (SSE2), so loops that the compiler vectorises run
/// two f64 (four f32) lanes wide. `avx2_dispatch!(vis fn name(args) -> Ret => body_fn);`
/// defines `name`, which calls `body_fn` (an `#[inline(always)]` function with the same
/// arguments) compiled a second time with AVX2 enabled when the CPU has it, and the baseline
/// build otherwise. Only the vector width changes (no fused multiply-add is introduced: Rust
/// never contracts `a * b + c`), so both copies give bit-identical results.
macro_rules! avx2_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty => $body:path) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn with_avx2($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, detected just above.
                    return unsafe { with_avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

use avx2_dispatch;

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn fusable_takes_contiguous_cpu_tensors_of_the_accepted_dtypes() -> candle_core::Result<()> {
        let f32m = Tensor::zeros((3, 2), DType::F32, &Device::Cpu)?;
        let f64m = Tensor::zeros((3, 2), DType::F64, &Device::Cpu)?;
        assert!(fusable(&f32m, Floats::F32) && fusable(&f32m, Floats::F32OrF64));
        assert!(!fusable(&f64m, Floats::F32) && fusable(&f64m, Floats::F32OrF64));
        assert!(!fusable(&f32m.t()?, Floats::F32));
        assert!(!fusable(&f32m.to_dtype(DType::BF16)?, Floats::F32OrF64));
        Ok(())
    }
}

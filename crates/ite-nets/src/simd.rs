//! Runtime dispatch of hot loops to AVX2 code on CPUs that have it.
//!
//! Release builds target baseline x86-64 (SSE2), so loops that the compiler vectorises run
//! two f64 (four f32) lanes wide. [`avx2_dispatch!`] compiles a function a second time with
//! AVX2 enabled and picks that copy at run time when the CPU supports it. Only the vector width
//! changes (no fused multiply-add is introduced: Rust never contracts `a * b + c`), so both
//! copies give bit-identical results.

/// `avx2_dispatch!(vis fn name(args) -> Ret => body_fn);` defines `name`, which calls
/// `body_fn` (an `#[inline(always)]` function with the same arguments) compiled with AVX2 when
/// the CPU has it, and the baseline build otherwise.
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

pub(crate) use avx2_dispatch;

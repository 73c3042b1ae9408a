//! The vector operations the lane kernels are written in, over one [`Lanes`] value: an AVX2 +
//! FMA implementation ([`Avx`], `core::arch` intrinsics) and a portable one ([`Portable`],
//! plain f32 arithmetic) that give the same bits for every input.
//!
//! Every operation is exactly specified: IEEE-754 add, sub, mul, div and sqrt (correctly
//! rounded), fused multiply-add (one rounding: the `vfmadd` instruction, or `f32::mul_add`,
//! which is libm's correctly rounded `fmaf` where the CPU lacks FMA), `max`/`min` defined as
//! `a > b ? a : b` and `a < b ? a : b` (the semantics of `vmaxps`/`vminps`, NaN included),
//! and bit operations.

use super::{LANES, Lanes};

/// One [`Lanes`] value in registers.
pub(crate) trait Vector: Copy {
    fn load(p: &Lanes) -> Self;
    fn store(self, p: &mut Lanes);
    fn splat(x: f32) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn sqrt(self) -> Self;
    /// `self · b + c`, rounded once.
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// Per lane `self > o ? self : o`.
    fn max(self, o: Self) -> Self;
    /// Per lane `self < o ? self : o`.
    fn min(self, o: Self) -> Self;
    /// Per lane 1.0 where `self > 0`, else 0.0.
    fn positive(self) -> Self;
    /// The bits shifted left by 23 (an exponent field from small integers' mantissa bits).
    fn shl23(self) -> Self;
    /// Per lane `keep`'s sign bit set ? `old` : `self`.
    fn keep_where(self, old: Self, keep: Self) -> Self;
}

/// Plain f32 arithmetic, lane by lane.
#[derive(Clone, Copy)]
pub(crate) struct Portable(Lanes);

impl Portable {
    #[inline(always)]
    fn map2(self, o: Self, f: impl Fn(f32, f32) -> f32) -> Self {
        Portable(std::array::from_fn(|k| f(self.0[k], o.0[k])))
    }
}

impl Vector for Portable {
    #[inline(always)]
    fn load(p: &Lanes) -> Self {
        Portable(*p)
    }
    #[inline(always)]
    fn store(self, p: &mut Lanes) {
        *p = self.0;
    }
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Portable([x; LANES])
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.map2(o, |a, b| a + b)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.map2(o, |a, b| a - b)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.map2(o, |a, b| a * b)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self.map2(o, |a, b| a / b)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        self.map2(self, |a, _| a.sqrt())
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        Portable(std::array::from_fn(|k| self.0[k].mul_add(b.0[k], c.0[k])))
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        self.map2(o, |a, b| if a > b { a } else { b })
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        self.map2(o, |a, b| if a < b { a } else { b })
    }
    #[inline(always)]
    fn positive(self) -> Self {
        self.map2(self, |a, _| if a > 0.0 { 1.0 } else { 0.0 })
    }
    #[inline(always)]
    fn shl23(self) -> Self {
        self.map2(self, |a, _| f32::from_bits(a.to_bits() << 23))
    }
    #[inline(always)]
    fn keep_where(self, old: Self, keep: Self) -> Self {
        Portable(std::array::from_fn(|k| if keep.0[k].is_sign_negative() { old.0[k] } else { self.0[k] }))
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx::Avx;

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    use super::{Lanes, Vector};

    /// AVX2 + FMA registers. Only used inside functions compiled with those features, on CPUs
    /// detected to have them (`fma_dispatch!`).
    #[derive(Clone, Copy)]
    pub(crate) struct Avx(__m256);

    // SAFETY (every method): the intrinsics need AVX and FMA, which the only callers (bodies
    // run through `fma_dispatch!`'s AVX2 + FMA branch) have; loads and stores go through
    // references to whole `[f32; 8]` values, so every pointer is valid for 32 bytes.
    impl Vector for Avx {
        #[inline(always)]
        fn load(p: &Lanes) -> Self {
            Avx(unsafe { _mm256_loadu_ps(p.as_ptr()) })
        }
        #[inline(always)]
        fn store(self, p: &mut Lanes) {
            unsafe { _mm256_storeu_ps(p.as_mut_ptr(), self.0) }
        }
        #[inline(always)]
        fn splat(x: f32) -> Self {
            Avx(unsafe { _mm256_set1_ps(x) })
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            Avx(unsafe { _mm256_add_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            Avx(unsafe { _mm256_sub_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            Avx(unsafe { _mm256_mul_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            Avx(unsafe { _mm256_div_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn sqrt(self) -> Self {
            Avx(unsafe { _mm256_sqrt_ps(self.0) })
        }
        #[inline(always)]
        fn mul_add(self, b: Self, c: Self) -> Self {
            Avx(unsafe { _mm256_fmadd_ps(self.0, b.0, c.0) })
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            Avx(unsafe { _mm256_max_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn min(self, o: Self) -> Self {
            Avx(unsafe { _mm256_min_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn positive(self) -> Self {
            Avx(unsafe { _mm256_and_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(self.0, _mm256_setzero_ps()), _mm256_set1_ps(1.0)) })
        }
        #[inline(always)]
        fn shl23(self) -> Self {
            Avx(unsafe { _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_castps_si256(self.0))) })
        }
        #[inline(always)]
        fn keep_where(self, old: Self, keep: Self) -> Self {
            Avx(unsafe { _mm256_blendv_ps(self.0, old.0, keep.0) })
        }
    }
}

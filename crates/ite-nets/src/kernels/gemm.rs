//! A bounds-checked, single-threaded wrapper over the `gemm` crate's matrix product (one fit
//! per thread; parallelism goes across fits, so results never depend on the thread count).

/// A row-major matrix view for [`gemm()`]: data with row and column strides.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

/// `dst (m × n, row-major) = [dst +] lhs (m × k) · rhs (k × n)`, single-threaded.
pub(crate) fn gemm(
    dst: &mut [f32],
    (m, n, k): (usize, usize, usize),
    lhs: View<'_>,
    rhs: View<'_>,
    accumulate: bool,
) -> candle_core::Result<()> {
    let last = |v: View<'_>, rows: usize, cols: usize| (rows - 1) * v.rs + (cols - 1) * v.cs;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if dst.len() < m * n || (k > 0 && (last(lhs, m, k) >= lhs.data.len() || last(rhs, k, n) >= rhs.data.len())) {
        candle_core::bail!("ite-dense: matrix shapes do not match their buffers");
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return Ok(());
    }
    // SAFETY: every index the kernel touches, (rows − 1)·rs + (cols − 1)·cs for each operand
    // and m·n for `dst`, was checked above to lie inside its slice; `dst` is a unique borrow, so
    // it cannot alias the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_with_strides_accumulation_and_shape_checks() -> candle_core::Result<()> {
        // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]].
        let (a, b) = ([1f32, 2.0, 3.0, 4.0], [5f32, 6.0, 7.0, 8.0]);
        let mut y = [1f32; 4];
        gemm(&mut y, (2, 2, 2), View { data: &a, rs: 2, cs: 1 }, View { data: &b, rs: 2, cs: 1 }, true)?;
        assert_eq!(y, [20.0, 23.0, 44.0, 51.0]);
        // Aᵀ · B, Aᵀ read with swapped strides: [[1, 3], [2, 4]] · B = [[26, 30], [38, 44]].
        gemm(&mut y, (2, 2, 2), View { data: &a, rs: 1, cs: 2 }, View { data: &b, rs: 2, cs: 1 }, false)?;
        assert_eq!(y, [26.0, 30.0, 38.0, 44.0]);
        // k = 0 without accumulation zeroes; a buffer too short is refused.
        gemm(&mut y, (2, 2, 0), View { data: &[], rs: 0, cs: 1 }, View { data: &[], rs: 2, cs: 1 }, false)?;
        assert_eq!(y, [0.0; 4]);
        assert!(
            gemm(&mut y, (2, 2, 3), View { data: &a, rs: 3, cs: 1 }, View { data: &b, rs: 2, cs: 1 }, false).is_err()
        );
        Ok(())
    }
}

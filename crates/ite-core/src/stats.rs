//! Small statistics of `f64` values — mean, sample variance and standard deviation, median,
//! quantile — in one place, so that every crate computes them the same way.
//!
//! Sums run left to right over the values in their order (`Iterator::sum`), so a result does
//! not depend on which crate asks for it. None of these functions checks for NaN; an empty
//! input gives NaN (not a panic).

/// Arithmetic mean, `Σ v / n`, summed in order; NaN when `values` is empty.
///
/// ```
/// assert_eq!(ite_core::stats::mean(&[1.0, 2.0, 6.0]), 3.0);
/// ```
pub fn mean(values: &[f64]) -> f64 {
    mean_of(values.iter().copied())
}

/// [`mean`] of the values an iterator yields (for values computed on the fly, such as
/// differences of two columns), without collecting them.
pub fn mean_of(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len() as f64;
    values.sum::<f64>() / n
}

/// Sample variance, `Σ (v − mean)² / (n − 1)`; 0 for one value, NaN for none.
///
/// ```
/// assert_eq!(ite_core::stats::variance(&[1.0, 2.0, 3.0, 6.0]), 14.0 / 3.0);
/// ```
pub fn variance(values: &[f64]) -> f64 {
    let n = values.len();
    match n {
        0 => f64::NAN,
        1 => 0.0,
        _ => {
            let m = mean(values);
            values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64
        }
    }
}

/// Sample standard deviation, `√`[`variance`] (n − 1 denominator); 0 for one value, NaN for
/// none.
pub fn sd(values: &[f64]) -> f64 {
    variance(values).sqrt()
}

/// Median (the mean of the two middle values for an even count); NaN when empty.
///
/// ```
/// assert_eq!(ite_core::stats::median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(ite_core::stats::median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The `q`-quantile (`q` in [0, 1]) of `values`, by [`quantile_sorted`] on a sorted copy.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, q)
}

/// The `q`-quantile (`q` in [0, 1]) of values sorted in ascending order, interpolating
/// linearly between order statistics: `h = (n − 1)·q`, `v[⌊h⌋] + (h − ⌊h⌋)·(v[⌈h⌉] − v[⌊h⌋])`
/// (Hyndman and Fan 1996, type 7; R's and NumPy's default). NaN when empty.
///
/// ```
/// use ite_core::stats::quantile_sorted;
/// assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25), 2.0);
/// assert_eq!(quantile_sorted(&[0.0, 10.0], 0.95), 9.5);
/// ```
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values_and_empty_input() {
        let v = [1.0, 2.0, 3.0, 10.0];
        assert_eq!(mean(&v), 4.0);
        assert_eq!(mean_of(v.iter().copied()), 4.0);
        // deviations -3, -2, -1, 6 → 50 / 3
        assert_eq!(variance(&v), 50.0 / 3.0);
        assert_eq!(sd(&v), (50.0f64 / 3.0).sqrt());
        assert_eq!(median(&v), 2.5);
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 1.0), 10.0);
        assert_eq!(sd(&[7.0]), 0.0);
        for f in [mean, variance, sd, median] {
            assert!(f(&[]).is_nan());
        }
        assert!(quantile(&[], 0.5).is_nan());
    }
}

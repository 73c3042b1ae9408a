//! Seeded subsampling without replacement, shared by CITA and staged alignment.

use ite_core::IteRng;
use rand::RngExt;

/// At most `k` of `pool`, uniformly without replacement (partial Fisher–Yates), sorted.
/// Returns `pool` sorted when it has `k` or fewer entries.
pub(crate) fn subsample(mut pool: Vec<usize>, k: usize, rng: &mut IteRng) -> Vec<usize> {
    let k = k.min(pool.len());
    for i in 0..k {
        let j = rng.random_range(i..pool.len());
        pool.swap(i, j);
    }
    pool.truncate(k);
    pool.sort_unstable();
    pool
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsample_is_a_sorted_subset_without_repeats() {
        let mut rng = ite_core::Seed::new(1).rng();
        let s = subsample((10..110).collect(), 30, &mut rng);
        assert_eq!(s.len(), 30);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert!(s.iter().all(|v| (10..110).contains(v)));
        assert_eq!(subsample(vec![3, 1, 2], 10, &mut rng), vec![1, 2, 3]);
    }
}

//! Seeded shuffles, splits and subsamples: the one place where the workspace permutes or
//! picks units at random.
//!
//! Two shuffles live here, and they are *not* interchangeable, because each call site must keep
//! drawing the numbers it always drew (results are reproducible from a seed):
//!
//! - [`shuffle`] is `rand`'s [`SliceRandom::shuffle`]: a Fisher–Yates shuffle whose indices
//!   come from `rand`'s `IncreasingUniform`, which takes several indices from one random word.
//!   New code should use it.
//! - [`fisher_yates`] is the textbook Durstenfeld form written out, one
//!   `random_range(0..=i)` per position from the end. The training loop's minibatch order and
//!   [`stratified_split`] use it.
//!
//! For one seed the two give different permutations; both are uniform.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use crate::Seed;

/// Shuffles `v` uniformly in place with `rand`'s [`SliceRandom::shuffle`].
///
/// ```
/// let mut v: Vec<usize> = (0..10).collect();
/// ite_core::sampling::shuffle(&mut v, &mut ite_core::Seed::new(1).rng());
/// v.sort();
/// assert_eq!(v, (0..10).collect::<Vec<_>>());
/// ```
pub fn shuffle<T, R: Rng + ?Sized>(v: &mut [T], rng: &mut R) {
    v.shuffle(rng);
}

/// Shuffles `v` uniformly in place with the Fisher–Yates shuffle in Durstenfeld's form
/// (Knuth, TAOCP vol. 2, Algorithm 3.4.2 P): for `i` from `n − 1` down to 1, draw `j`
/// uniformly from `0..=i` (`RngExt::random_range`) and swap `v[i]` and `v[j]`. It draws
/// `n − 1` numbers, none for `n ≤ 1`.
///
/// Kept, alongside [`shuffle`], because the training loop's minibatch order and
/// [`stratified_split`] have always drawn these numbers.
pub fn fisher_yates<T, R: Rng + ?Sized>(v: &mut [T], rng: &mut R) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// At most `k` entries of `pool`, uniformly without replacement, sorted ascending.
///
/// A partial Fisher–Yates shuffle from the front: for `i` in `0..min(k, n)`, draw `j`
/// uniformly from `i..n` and swap `pool[i]` and `pool[j]`; keep the first `min(k, n)`.
/// Draws `min(k, n)` numbers (so also when `k ≥ n`, where the result is all of `pool`).
///
/// ```
/// let s = ite_core::sampling::subsample((0..100).collect(), 5, &mut ite_core::Seed::new(1).rng());
/// assert_eq!(s.len(), 5);
/// assert!(s.windows(2).all(|w| w[0] < w[1]));
/// ```
pub fn subsample<R: Rng + ?Sized>(mut pool: Vec<usize>, k: usize, rng: &mut R) -> Vec<usize> {
    let k = k.min(pool.len());
    for i in 0..k {
        let j = rng.random_range(i..pool.len());
        pool.swap(i, j);
    }
    pool.truncate(k);
    pool.sort_unstable();
    pool
}

/// Splits the units `0..t.len()` into (train, validation) index lists, each sorted, within
/// treatment arms: in each arm (0, then 1) the units are shuffled with [`fisher_yates`] and
/// the first `round(fraction · arm size)` go to validation, capped so that at least one unit
/// of a non-empty arm stays in training. One generator, `seed.rng()`, serves both arms.
///
/// `fraction` is expected in [0, 1); 0 gives an empty validation list.
///
/// ```
/// let t = [0u8, 1, 0, 1, 0, 1, 0, 1, 0, 1];
/// let (train, val) = ite_core::sampling::stratified_split(&t, 0.2, ite_core::Seed::new(3));
/// assert_eq!((train.len(), val.len()), (8, 2));
/// assert_eq!(val.iter().filter(|&&i| t[i] == 1).count(), 1);
/// ```
pub fn stratified_split(t: &[u8], fraction: f64, seed: Seed) -> (Vec<usize>, Vec<usize>) {
    let mut rng = seed.rng();
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for arm in [0u8, 1] {
        let mut idx: Vec<usize> = (0..t.len()).filter(|&i| t[i] == arm).collect();
        fisher_yates(&mut idx, &mut rng);
        let n_val = ((fraction * idx.len() as f64).round() as usize).min(idx.len().saturating_sub(1));
        val.extend_from_slice(&idx[..n_val]);
        train.extend_from_slice(&idx[n_val..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    (train, val)
}

/// A mask of `n` flags with `min(k, n)` of them set, chosen uniformly: the positions that
/// come first after [`shuffle`] of `0..n`. For holding out a test set (`mask[i]` = unit `i`
/// is held out).
///
/// ```
/// let mask = ite_core::sampling::holdout_mask(10, 3, &mut ite_core::Seed::new(1).rng());
/// assert_eq!(mask.iter().filter(|&&b| b).count(), 3);
/// ```
pub fn holdout_mask<R: Rng + ?Sized>(n: usize, k: usize, rng: &mut R) -> Vec<bool> {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, rng);
    let mut mask = vec![false; n];
    for &i in &order[..k.min(n)] {
        mask[i] = true;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_are_permutations_and_differ_from_each_other() {
        let (mut a, mut b): (Vec<usize>, Vec<usize>) = ((0..50).collect(), (0..50).collect());
        shuffle(&mut a, &mut Seed::new(1).rng());
        fisher_yates(&mut b, &mut Seed::new(1).rng());
        assert_ne!(a, b);
        let mut c = a.clone();
        c.sort_unstable();
        assert_eq!(c, (0..50).collect::<Vec<_>>());
        c = b.clone();
        c.sort_unstable();
        assert_eq!(c, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn subsample_is_a_sorted_subset_without_repeats() {
        let mut rng = Seed::new(1).rng();
        let s = subsample((10..110).collect(), 30, &mut rng);
        assert_eq!(s.len(), 30);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert!(s.iter().all(|v| (10..110).contains(v)));
        assert_eq!(subsample(vec![3, 1, 2], 10, &mut rng), vec![1, 2, 3]);
    }

    #[test]
    fn stratified_split_keeps_arms_and_one_training_unit() {
        let t = [0u8, 0, 0, 0, 1, 1];
        let (train, val) = stratified_split(&t, 0.5, Seed::new(2));
        assert_eq!((train.len(), val.len()), (3, 3));
        let (train, val) = stratified_split(&[1u8], 0.9, Seed::new(2));
        assert_eq!((train, val), (vec![0], vec![]));
        assert_eq!(holdout_mask(4, 9, &mut Seed::new(1).rng()), vec![true; 4]);
    }
}

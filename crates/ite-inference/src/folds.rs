//! Seeded cross-fitting folds ([`Folds`]): stratified by treatment arm, and keeping a cluster's
//! units together when clusters are given (households, schools, repeated measures of a person).
//!
//! Cross-fitting (Chernozhukov et al. 2018, "Double/debiased machine learning") fits the nuisance
//! models on K−1 folds and predicts the held-out one, so no unit's estimate uses a model that saw
//! it. With clusters, a cluster's units must fall in one fold, otherwise the model is scored on
//! near-copies of its training units.

use ite_core::Seed;
use ite_core::SettingsError;
use ite_core::sampling::shuffle;

use crate::error::{InferenceError, Result};

/// An assignment of `n` units to `k` folds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folds {
    fold: Vec<usize>,
    k: usize,
}

fn check_k(k: usize) -> Result<()> {
    if k < 2 {
        return Err(SettingsError::new("folds", k, "an integer ≥ 2").into());
    }
    Ok(())
}

impl Folds {
    /// [`Folds::clustered`] when `clusters` holds one code per unit, [`Folds::stratified`]
    /// otherwise: what cross-fitting, selection and the AIPW estimates use.
    ///
    /// # Errors
    /// As [`Folds::clustered`] or [`Folds::stratified`].
    pub fn for_units(t: &[u8], clusters: Option<&[usize]>, k: usize, seed: Seed) -> Result<Self> {
        match clusters {
            Some(c) => Folds::clustered(t, c, k, seed),
            None => Folds::stratified(t, k, seed),
        }
    }

    /// Assigns units to `k` folds at random, stratified by arm: each fold gets ⌊n_a/k⌋ or
    /// ⌈n_a/k⌉ units of arm `a`, and fold sizes differ by at most one overall.
    ///
    /// ```
    /// let t = [0u8, 0, 0, 0, 0, 0, 1, 1, 1, 1];
    /// let f = ite_inference::Folds::stratified(&t, 2, ite_core::Seed::new(1))?;
    /// for k in 0..2 {
    ///     let treated = f.test(k).iter().filter(|&&i| t[i] == 1).count();
    ///     assert_eq!(treated, 2);
    /// }
    /// # Ok::<(), ite_inference::InferenceError>(())
    /// ```
    ///
    /// # Errors
    /// [`InferenceError::Settings`] when `k < 2`; [`InferenceError::Data`] when an arm has
    /// fewer than `k` units (some training split would then miss it).
    pub fn stratified(t: &[u8], k: usize, seed: Seed) -> Result<Self> {
        check_k(k)?;
        let mut rng = seed.rng();
        let mut fold = vec![0; t.len()];
        let mut next = 0usize;
        for arm in [0u8, 1] {
            let mut idx: Vec<usize> = (0..t.len()).filter(|&i| t[i] == arm).collect();
            if idx.len() < k {
                return Err(InferenceError::data(format!(
                    "the {} arm has {} unit{}, fewer than the {k} folds of cross-fitting (use fewer folds, or \
                     more data)",
                    if arm == 1 { "treated" } else { "control" },
                    idx.len(),
                    if idx.len() == 1 { "" } else { "s" }
                )));
            }
            shuffle(&mut idx, &mut rng);
            for i in idx {
                fold[i] = next % k;
                next += 1;
            }
        }
        Ok(Folds { fold, k })
    }

    /// Assigns whole clusters to `k` folds, stratified by each cluster's majority arm.
    /// `clusters[i]` is unit `i`'s cluster code (see [`cluster_codes`]).
    ///
    /// # Errors
    /// [`InferenceError::Settings`] when `k < 2`; [`InferenceError::LengthMismatch`] when
    /// `clusters` and `t` differ in length; [`InferenceError::Data`] when there are fewer than
    /// `k` clusters or a training split (all folds but one) misses an arm.
    pub fn clustered(t: &[u8], clusters: &[usize], k: usize, seed: Seed) -> Result<Self> {
        check_k(k)?;
        if clusters.len() != t.len() {
            return Err(InferenceError::LengthMismatch {
                what: "cluster codes and treatment".into(),
                left: clusters.len(),
                right: t.len(),
            });
        }
        let n_clusters = clusters.iter().max().map_or(0, |m| m + 1);
        let mut treated = vec![0usize; n_clusters];
        let mut size = vec![0usize; n_clusters];
        for (&c, &a) in clusters.iter().zip(t) {
            size[c] += 1;
            treated[c] += usize::from(a);
        }
        let present: Vec<usize> = (0..n_clusters).filter(|&c| size[c] > 0).collect();
        if present.len() < k {
            return Err(InferenceError::data(format!(
                "{} clusters, fewer than the {k} folds of cross-fitting",
                present.len()
            )));
        }
        let mut rng = seed.rng();
        let mut cluster_fold = vec![0; n_clusters];
        let mut next = 0usize;
        for majority_treated in [false, true] {
            let mut idx: Vec<usize> =
                present.iter().copied().filter(|&c| (2 * treated[c] > size[c]) == majority_treated).collect();
            shuffle(&mut idx, &mut rng);
            for c in idx {
                cluster_fold[c] = next % k;
                next += 1;
            }
        }
        let folds = Folds { fold: clusters.iter().map(|&c| cluster_fold[c]).collect(), k };
        for f in 0..k {
            for arm in [0u8, 1] {
                if !folds.train(f).iter().any(|&i| t[i] == arm) {
                    return Err(InferenceError::data(format!(
                        "with whole clusters in {k} folds, the training split without fold {} has no {} unit",
                        f + 1,
                        if arm == 1 { "treated" } else { "control" }
                    )));
                }
            }
        }
        Ok(folds)
    }

    /// Number of folds.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.fold.len()
    }

    /// Whether there are no units.
    pub fn is_empty(&self) -> bool {
        self.fold.is_empty()
    }

    /// The fold of unit `i` (panics if `i ≥ len()`, like slice indexing).
    pub fn fold_of(&self, i: usize) -> usize {
        self.fold[i]
    }

    /// The units of fold `f`, ascending.
    pub fn test(&self, f: usize) -> Vec<usize> {
        (0..self.fold.len()).filter(|&i| self.fold[i] == f).collect()
    }

    /// The units of every fold but `f`, ascending.
    pub fn train(&self, f: usize) -> Vec<usize> {
        (0..self.fold.len()).filter(|&i| self.fold[i] != f).collect()
    }
}

/// Codes `0..m` for cluster labels, in order of first appearance, and the number of clusters `m`.
///
/// ```
/// let (codes, m) = ite_inference::cluster_codes(&["b", "a", "b"]);
/// assert_eq!((codes, m), (vec![0, 1, 0], 2));
/// ```
pub fn cluster_codes<S: AsRef<str>>(labels: &[S]) -> (Vec<usize>, usize) {
    let mut seen = std::collections::HashMap::new();
    let codes = labels
        .iter()
        .map(|l| {
            let next = seen.len();
            *seen.entry(l.as_ref().to_string()).or_insert(next)
        })
        .collect();
    (codes, seen.len())
}

/// The number of distinct clusters holding treated units and holding control units:
/// `(treated, control)`, for cluster codes `codes` (one per unit) and treatment `t`. A cluster
/// with both kinds of unit counts in both.
///
/// ```
/// let t = [1u8, 1, 0, 0, 1];
/// assert_eq!(ite_inference::clusters_per_arm(&t, &[0, 0, 1, 2, 2]), (2, 2));
/// ```
pub fn clusters_per_arm(t: &[u8], codes: &[usize]) -> (usize, usize) {
    let count = |arm: u8| {
        codes
            .iter()
            .zip(t)
            .filter(|(_, a)| **a == arm)
            .map(|(c, _)| *c)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    (count(1), count(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_folds_balance_each_arm_and_are_seeded() {
        let t: Vec<u8> = (0..103).map(|i| u8::from(i % 3 == 0)).collect();
        let f = Folds::stratified(&t, 5, Seed::new(7)).unwrap();
        assert_eq!(f, Folds::stratified(&t, 5, Seed::new(7)).unwrap());
        assert_ne!(f, Folds::stratified(&t, 5, Seed::new(8)).unwrap());
        let n1 = t.iter().filter(|&&a| a == 1).count();
        let mut sizes = vec![];
        for k in 0..5 {
            let test = f.test(k);
            let treated = test.iter().filter(|&&i| t[i] == 1).count();
            assert!(treated == n1 / 5 || treated == n1 / 5 + 1, "fold {k}: {treated}");
            sizes.push(test.len());
            assert_eq!(test.len() + f.train(k).len(), t.len());
        }
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
    }

    #[test]
    fn small_arms_and_bad_k_are_refused() {
        let t = [0u8, 0, 0, 0, 1, 1];
        assert!(Folds::stratified(&t, 3, Seed::new(1)).unwrap_err().to_string().contains("treated arm has 2"));
        assert!(Folds::stratified(&t, 1, Seed::new(1)).is_err());
    }

    #[test]
    fn clusters_stay_in_one_fold() {
        let t: Vec<u8> = (0..60).map(|i| u8::from((i / 3) % 2 == 0)).collect();
        let clusters: Vec<usize> = (0..60).map(|i| i / 3).collect();
        let f = Folds::clustered(&t, &clusters, 4, Seed::new(2)).unwrap();
        for i in 0..60 {
            assert_eq!(f.fold_of(i), f.fold_of(3 * (i / 3)));
        }
        assert!(Folds::clustered(&t, &clusters[..59], 4, Seed::new(2)).is_err());
        assert!(Folds::clustered(&t, &vec![0; 60], 2, Seed::new(2)).unwrap_err().to_string().contains("1 clusters"));
    }
}

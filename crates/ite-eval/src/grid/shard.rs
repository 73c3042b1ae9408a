//! Shards: the K-th of N disjoint shares of a grid's task groups, from `--shard K/N` or from a
//! cluster's array-job environment (Slurm, Kubernetes indexed jobs).

use std::str::FromStr;

use ite_core::SettingsError;
use serde::{Deserialize, Serialize};

use crate::error::EvalError;

/// The `index`-th (0-based) of `count` disjoint shares of a grid.
///
/// Task groups (one source sample and model each, in the canonical order of
/// [`crate::grid::GridSpec::groups`]: source n, then replication) go round-robin: group `i`
/// belongs to shard `i % count`. Every shard then holds every source size in about equal
/// measure, and the union of the shards is the whole grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based index, below `count`.
    pub index: usize,
    /// Number of shards, ≥ 1.
    pub count: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = EvalError;
    /// Parses `K/N` with 0 ≤ K < N.
    fn from_str(s: &str) -> Result<Self, EvalError> {
        let bad = || -> EvalError {
            SettingsError::text("shard", s, "K/N with whole numbers 0 ≤ K < N (0-based, e.g. 0/3, 1/3, 2/3)").into()
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        Shard::new(k, n).map_err(|_| bad())
    }
}

impl Shard {
    /// The whole grid: shard 0 of 1.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`, checked.
    pub fn new(index: usize, count: usize) -> Result<Shard, EvalError> {
        if count == 0 || index >= count {
            return Err(SettingsError::text("shard", format!("{index}/{count}"), "0 ≤ K < N").into());
        }
        Ok(Shard { index, count })
    }

    /// Whether the `i`-th task group (canonical order) belongs to this shard.
    pub fn holds(&self, group_index: usize) -> bool {
        group_index % self.count == self.index
    }

    /// The shard an array job's environment names, if any:
    ///
    /// - Slurm (`sbatch --array=A-B`): index `SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN` (MIN
    ///   taken as 0 when unset), count `SLURM_ARRAY_TASK_COUNT`;
    /// - Kubernetes indexed Job: index `JOB_COMPLETION_INDEX`, count `ITE_SHARD_COUNT` (set it
    ///   to the Job's `completions` in the pod template; Kubernetes does not export it).
    ///
    /// `Ok(None)` when neither is set; an error when they are set but malformed.
    pub fn from_env() -> Result<Option<Shard>, EvalError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Shard::from_env`] over any variable lookup (for tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, EvalError> {
        let num = |name: &str| -> Result<Option<usize>, EvalError> {
            match var(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .map(Some)
                    .map_err(|_| SettingsError::text(name, v.as_str(), "a whole number").into()),
            }
        };
        let missing = |name: &str, with: &str| -> EvalError {
            SettingsError::text(name, "(unset)", format!("set alongside {with}")).into()
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let count = num("SLURM_ARRAY_TASK_COUNT")?
                .ok_or_else(|| missing("SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_ID"))?;
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                SettingsError::new("SLURM_ARRAY_TASK_ID", id, format!("at least SLURM_ARRAY_TASK_MIN = {min}"))
            })?;
            if count == 0 {
                return Err(SettingsError::new("SLURM_ARRAY_TASK_COUNT", count, "at least 1").into());
            }
            return Shard::new(index, count).map(Some).map_err(|_| {
                let expected = format!(
                    "below SLURM_ARRAY_TASK_MIN + SLURM_ARRAY_TASK_COUNT = {min} + {count} (one task per shard)"
                );
                SettingsError::new("SLURM_ARRAY_TASK_ID", id, expected).into()
            });
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = num("ITE_SHARD_COUNT")?.ok_or_else(|| missing("ITE_SHARD_COUNT", "JOB_COMPLETION_INDEX"))?;
            if count == 0 {
                return Err(SettingsError::new("ITE_SHARD_COUNT", count, "at least 1").into());
            }
            return Shard::new(index, count).map(Some).map_err(|_| {
                SettingsError::new("JOB_COMPLETION_INDEX", index, format!("below ITE_SHARD_COUNT = {count}")).into()
            });
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_partitions() {
        assert_eq!("1/3".parse::<Shard>().unwrap(), Shard { index: 1, count: 3 });
        for bad in ["3/3", "1", "a/3", "0/0", "-1/2"] {
            assert!(bad.parse::<Shard>().unwrap_err().to_string().contains("`shard`"), "{bad}");
        }
        // Every group in exactly one shard.
        for g in 0..20 {
            let owners = (0..3).filter(|k| Shard { index: *k, count: 3 }.holds(g)).count();
            assert_eq!(owners, 1);
        }
    }

    #[test]
    fn reads_slurm_and_kubernetes_variables() {
        fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        }
        assert_eq!(Shard::from_vars(env(&[])).unwrap(), None);
        let slurm = [("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "3")];
        assert_eq!(Shard::from_vars(env(&slurm)).unwrap(), Some(Shard { index: 1, count: 3 }));
        let k8s = [("JOB_COMPLETION_INDEX", "2"), ("ITE_SHARD_COUNT", "4")];
        assert_eq!(Shard::from_vars(env(&k8s)).unwrap(), Some(Shard { index: 2, count: 4 }));
        let err = Shard::from_vars(env(&[("JOB_COMPLETION_INDEX", "2")])).unwrap_err().to_string();
        assert!(err.contains("ITE_SHARD_COUNT"), "{err}");
        // out of range: the message names the variables, not `shard`
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_COUNT", "3")],
                "`SLURM_ARRAY_TASK_ID` = 5: expected below SLURM_ARRAY_TASK_MIN + SLURM_ARRAY_TASK_COUNT = 0 + 3",
            ),
            (
                &[("SLURM_ARRAY_TASK_ID", "13"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "10")],
                "`SLURM_ARRAY_TASK_ID` = 13: expected below SLURM_ARRAY_TASK_MIN + SLURM_ARRAY_TASK_COUNT = 10 + 3",
            ),
            (&[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "0")], "`SLURM_ARRAY_TASK_COUNT` = 0"),
            (
                &[("JOB_COMPLETION_INDEX", "4"), ("ITE_SHARD_COUNT", "4")],
                "`JOB_COMPLETION_INDEX` = 4: expected below ITE_SHARD_COUNT = 4",
            ),
            (&[("JOB_COMPLETION_INDEX", "0"), ("ITE_SHARD_COUNT", "0")], "`ITE_SHARD_COUNT` = 0: expected at least 1"),
        ];
        for (vars, want) in cases {
            let err = Shard::from_vars(env(vars)).unwrap_err().to_string();
            assert!(err.contains(want), "{vars:?}: {err}");
        }
    }
}

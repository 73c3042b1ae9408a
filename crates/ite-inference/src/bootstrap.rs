//! The refit bootstrap of the plug-in ATE ([`refit_bootstrap`]): resample the units with
//! replacement within each arm, refit the outcome model, and read the spread of the model's mean
//! ITE over fixed prediction rows.
//!
//! The plug-in ATE of a fitted model is `τ̂ = (1/m) Σ_j (μ̂1(x_j) − μ̂0(x_j))` over the `m`
//! prediction rows `x_j` (often the training units themselves, or a target population). It has no
//! closed-form standard error for a neural network; the nonparametric bootstrap (Efron and
//! Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 6 and 13) estimates its sampling
//! distribution by refitting on resamples. Resampling *within each arm* keeps the arm sizes
//! `n0`, `n1` of the data, as in a stratified bootstrap: every replicate can fit both arms, and
//! the treated share — fixed by design in a trial — does not vary between replicates.
//!
//! The prediction rows stay fixed: the interval is for the mean effect over *those* rows given
//! the model class (the conditional sample ATE when they are the training units); it reflects
//! the refit's sensitivity to the training sample and to the learner's seed, not any bias of the
//! model class. For a doubly robust interval that does not rest on the outcome model being right,
//! use the cross-fitted AIPW estimate instead.

use ite_core::stats::{quantile_sorted, sd};
use ite_core::{CausalData, Covariates, Params, Seed, SettingsError};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::error::{InferenceError, Result};
use crate::estimate::Estimate;
use crate::learner::{FitJob, OutcomeLearner};

/// Method name of the percentile interval ([`BootstrapResult::percentile`]).
pub const PERCENTILE_METHOD: &str = "plugin-bootstrap-percentile";
/// Method name of the normal interval ([`BootstrapResult::normal`]).
pub const NORMAL_METHOD: &str = "plugin-bootstrap-normal";

/// Settings of the refit bootstrap ([`refit_bootstrap`]).
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `replicates` | 200 | B, number of bootstrap resamples, each a full refit of the outcome model | integer ≥ 2 (≥ 200 advised for 95% percentile limits; ≥ 1000 for stable ones) |
/// | `level` | 0.95 | nominal two-sided coverage of both intervals | a number in (0, 1) |
///
/// ```
/// use ite_core::Params;
/// use ite_inference::RefitBootstrapParams;
/// assert!(RefitBootstrapParams::default().validate().is_ok());
/// let e = RefitBootstrapParams { replicates: 1, ..Default::default() }.validate().unwrap_err();
/// assert_eq!(e.name, "replicates");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefitBootstrapParams {
    /// Number of bootstrap replicates B (≥ 2).
    pub replicates: usize,
    /// Nominal coverage of the intervals, in (0, 1).
    pub level: f64,
}

impl Default for RefitBootstrapParams {
    fn default() -> Self {
        RefitBootstrapParams { replicates: 200, level: 0.95 }
    }
}

impl Params for RefitBootstrapParams {
    type Error = SettingsError;

    /// Checks `replicates ≥ 2` and `level` in (0, 1); the error names the first invalid field.
    fn validate(&self) -> Result<(), SettingsError> {
        if self.replicates < 2 {
            return Err(SettingsError::new("replicates", self.replicates, "an integer ≥ 2 (200 or more advised)"));
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(SettingsError::new("level", self.level, "a number in (0, 1), e.g. 0.95"));
        }
        Ok(())
    }
}

/// What [`refit_bootstrap`] returns: the replicates and the two intervals built from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapResult {
    /// The plug-in ATE of each replicate `b = 0..B`, in replicate order (outcome units); empty
    /// when an arm has fewer than two units.
    pub replicates: Vec<f64>,
    /// The caller's point estimate with the percentile interval: the `(1 − level)/2` and
    /// `(1 + level)/2` quantiles of the replicates (linear interpolation,
    /// [`ite_core::stats::quantile_sorted`]); `se` is the replicates' standard deviation.
    /// Method [`PERCENTILE_METHOD`].
    pub percentile: Estimate,
    /// The caller's point estimate ± `z_{(1+level)/2}` · sd of the replicates (n − 1
    /// denominator); `se` is that sd. Method [`NORMAL_METHOD`].
    pub normal: Estimate,
}

/// Refit bootstrap of the plug-in ATE over the rows of `predict`.
///
/// Replicate `b` (`0 ≤ b < B`) draws `n0` control units with replacement from the control arm
/// and `n1` treated units from the treated arm (generator `seed.stream("resample").index(b)`),
/// refits `learner` on them with seed `seed.index(b)`, predicts μ̂0, μ̂1 on `predict` and records
/// the mean of μ̂1 − μ̂0. Replicates run in parallel (rayon) and are collected by index, so the
/// result is the same whatever the number of threads, provided the learner is deterministic for
/// a seed (as [`OutcomeLearner`] requires).
///
/// `estimate` is the point estimate, computed by the caller: the plug-in ATE of the model fitted
/// on the full data, over the same `predict` rows. It is taken rather than recomputed so that
/// the reported number is the one the user's fit gives (and to save a fit). The percentile
/// limits do not depend on it; the normal interval is centred on it.
///
/// `progress(k)` is called with the number `k` of replicates finished so far, in increasing
/// order, after each chunk of refits (8 per thread of the pool, handed to
/// [`OutcomeLearner::fit_predict_many`] together); the last call has `k = B`.
///
/// When an arm has fewer than two units nothing is fitted: the result has no replicates and two
/// [`Estimate::without_interval`] estimates that say why.
///
/// # Errors
/// [`InferenceError::Settings`] when `params` is invalid; [`InferenceError::Learner`] when a
/// refit fails (the first failing replicate in index order is named); [`InferenceError::Data`]
/// when a replicate's plug-in ATE is not finite or `predict` has no rows.
pub fn refit_bootstrap<L: OutcomeLearner + ?Sized>(
    params: &RefitBootstrapParams,
    data: &CausalData,
    learner: &L,
    predict: &Covariates,
    estimate: f64,
    seed: Seed,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BootstrapResult> {
    check(params, predict)?;
    let arms: [Vec<usize>; 2] = [0u8, 1].map(|a| (0..data.n()).filter(|&i| data.t()[i] == a).collect());
    if let Some(a) = arms.iter().position(|idx| idx.len() < 2) {
        let why = format!(
            "the {} arm has {} unit(s); a bootstrap needs at least 2 in each arm",
            if a == 1 { "treated" } else { "control" },
            arms[a].len()
        );
        return Ok(without_intervals(Vec::new(), estimate, params.level, why));
    }
    let draw = |b: usize| resample(data, &arms, seed, b);
    refit_all(params, (learner, predict), &draw, (estimate, seed), progress)
}

/// The refit bootstrap over clusters ([`refit_bootstrap`]'s cluster version): `clusters[i]`
/// labels row `i`'s cluster (any numbers; rows with equal labels form one cluster), and each
/// replicate draws whole clusters with replacement, so that units that share a cluster (a
/// school, a household, a person measured repeatedly) are resampled together and the interval
/// carries their correlation (Cameron, Gelbach and Miller 2008, *Rev. Econ. Stat.* 90,
/// 414–427). When every cluster lies within one arm (a cluster-randomized design) the clusters
/// are drawn within each arm, keeping the number of treated and control clusters; otherwise
/// from all clusters, a draw without both arms being drawn again (`seed.stream("resample")
/// .index(b)`, then `.index(1)`, `.index(2)`, … of that stream).
///
/// When an arm's units lie in fewer than two clusters, nothing is fitted and both intervals say
/// why, as [`refit_bootstrap`] does for an arm of one unit.
///
/// # Errors
/// Those of [`refit_bootstrap`]; [`InferenceError::LengthMismatch`] when `clusters` does not
/// have one label per row of `data`; [`InferenceError::Data`] when 100 draws in a row lack an arm.
#[allow(clippy::too_many_arguments)]
pub fn refit_cluster_bootstrap<L: OutcomeLearner + ?Sized>(
    params: &RefitBootstrapParams,
    data: &CausalData,
    clusters: &[usize],
    learner: &L,
    predict: &Covariates,
    estimate: f64,
    seed: Seed,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BootstrapResult> {
    check(params, predict)?;
    if clusters.len() != data.n() {
        return Err(InferenceError::LengthMismatch {
            what: "cluster labels and data rows".into(),
            left: clusters.len(),
            right: data.n(),
        });
    }
    let groups = ClusterRows::new(data.t(), clusters);
    if let Some(why) = groups.too_few() {
        return Ok(without_intervals(Vec::new(), estimate, params.level, why));
    }
    let draw = |b: usize| groups.resample(data, seed, b);
    refit_all(params, (learner, predict), &draw, (estimate, seed), progress)
}

/// How [`refit_cluster_bootstrap`] draws the clusters labelled `clusters` (one label per row,
/// treatments `t`): the sizes of its pools — two (control clusters, treated clusters) when every
/// cluster lies in one arm, else one of all clusters. For reports and warnings about the draw.
///
/// ```
/// let t = [0u8, 0, 1, 1, 0, 1];
/// assert_eq!(ite_inference::cluster_pool_sizes(&t, &[1, 1, 2, 2, 3, 4]), vec![2, 2]);
/// assert_eq!(ite_inference::cluster_pool_sizes(&t, &[1, 1, 1, 2, 2, 2]), vec![2]);
/// ```
pub fn cluster_pool_sizes(t: &[u8], clusters: &[usize]) -> Vec<usize> {
    ClusterRows::new(t, clusters).pools.iter().map(Vec::len).collect()
}

/// Errors unless `params` are valid and there are rows to predict.
fn check(params: &RefitBootstrapParams, predict: &Covariates) -> Result<()> {
    params.validate()?;
    if predict.n_rows() == 0 {
        return Err(InferenceError::data("refit bootstrap: no prediction rows"));
    }
    Ok(())
}

/// The estimate without either interval, saying `why`.
fn without_intervals(replicates: Vec<f64>, estimate: f64, level: f64, why: String) -> BootstrapResult {
    BootstrapResult {
        replicates,
        percentile: Estimate::without_interval(estimate, level, PERCENTILE_METHOD, why.clone()),
        normal: Estimate::without_interval(estimate, level, NORMAL_METHOD, why),
    }
}

/// The rows of each cluster, and how the clusters are drawn.
struct ClusterRows {
    /// Rows of each cluster, clusters in order of first appearance.
    rows: Vec<Vec<usize>>,
    /// The clusters to draw from: one pool per arm when every cluster lies within one arm
    /// (control clusters, then treated), else one pool of all.
    pools: Vec<Vec<usize>>,
    /// Clusters with control units and clusters with treated units.
    with_arm: [usize; 2],
}

impl ClusterRows {
    fn new(t: &[u8], labels: &[usize]) -> Self {
        let mut index = std::collections::HashMap::new();
        let mut rows: Vec<Vec<usize>> = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            let next = rows.len();
            let c = *index.entry(*label).or_insert(next);
            if c == next {
                rows.push(Vec::new());
            }
            rows[c].push(i);
        }
        let arm_of = |c: &Vec<usize>| {
            let first = t[c[0]];
            c.iter().all(|&i| t[i] == first).then_some(first)
        };
        let arms: Option<Vec<u8>> = rows.iter().map(arm_of).collect();
        let pools = match arms {
            Some(arms) => [0u8, 1].iter().map(|&a| (0..rows.len()).filter(|&c| arms[c] == a).collect()).collect(),
            None => vec![(0..rows.len()).collect()],
        };
        let with_arm = [0u8, 1].map(|a| rows.iter().filter(|c| c.iter().any(|&i| t[i] == a)).count());
        ClusterRows { rows, pools, with_arm }
    }

    /// Why there are too few clusters to resample, if there are: an arm whose units all lie in
    /// one cluster (every draw with that arm repeats that cluster, so the arm's sampling spread
    /// would be missing). Every pool then has at least 2 clusters too.
    fn too_few(&self) -> Option<String> {
        let a = self.with_arm.iter().position(|&n| n < 2)?;
        let arm = if a == 1 { "treated" } else { "control" };
        Some(format!(
            "the {arm} units lie in {} cluster(s); a cluster bootstrap needs them in at least 2 to draw from",
            self.with_arm[a]
        ))
    }

    /// Replicate `b`'s resample: as many clusters as each pool holds, drawn with replacement;
    /// an unstratified draw that lacks an arm is drawn again.
    fn resample(&self, data: &CausalData, seed: Seed, b: usize) -> Result<CausalData> {
        let stream = seed.stream("resample").index(b as u64);
        for attempt in 0..100u64 {
            let mut rng = if attempt == 0 { stream.rng() } else { stream.index(attempt).rng() };
            let mut rows = Vec::with_capacity(data.n());
            for pool in &self.pools {
                for _ in 0..pool.len() {
                    rows.extend_from_slice(&self.rows[pool[rng.random_range(0..pool.len())]]);
                }
            }
            let treated = rows.iter().filter(|&&i| data.t()[i] == 1).count();
            if treated > 0 && treated < rows.len() {
                return Ok(data.select(&rows)?);
            }
        }
        Err(InferenceError::data(format!(
            "bootstrap replicate {}: 100 draws of clusters in a row had only one arm",
            b + 1
        )))
    }
}

/// Runs the `params.replicates` refits on the samples `draw(b)` and builds the intervals.
fn refit_all<L: OutcomeLearner + ?Sized>(
    params: &RefitBootstrapParams,
    (learner, predict): (&L, &Covariates),
    draw: &(dyn Fn(usize) -> Result<CausalData> + Sync),
    (estimate, seed): (f64, Seed),
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BootstrapResult> {
    let (b_total, level) = (params.replicates, params.level);
    // The replicates' fits go to the learner in chunks (a batched learner trains a chunk
    // together), with progress reported after each chunk.
    let mut replicates = Vec::with_capacity(b_total);
    let mut start = 0;
    while start < b_total {
        let end = (start + refit_chunk()).min(b_total);
        let samples: Vec<CausalData> = (start..end).map(draw).collect::<Result<_>>()?;
        let jobs: Vec<FitJob<'_>> = samples
            .iter()
            .zip(start..end)
            .map(|(sample, b)| FitJob { train: sample, predict, seed: seed.index(b as u64) })
            .collect();
        for (r, b) in learner.fit_predict_many(&jobs).into_iter().zip(start..end) {
            replicates.push(replicate_ate(r, predict, b, b_total)?);
        }
        progress(end);
        start = end;
    }
    summarize(replicates, estimate, level)
}

/// Bootstrap refits handed to the learner at once: a pack of the batched trainer (8 networks)
/// per thread of the pool, so that a batched learner fills every thread and progress is
/// reported as often as the work allows. The results do not depend on it.
fn refit_chunk() -> usize {
    8 * rayon::current_num_threads().max(1)
}

/// Replicate `b`'s resample: the units drawn with replacement within each arm
/// (`seed.stream("resample").index(b)`).
fn resample(data: &CausalData, arms: &[Vec<usize>; 2], seed: Seed, b: usize) -> Result<CausalData> {
    let mut rng = seed.stream("resample").index(b as u64).rng();
    let mut rows = Vec::with_capacity(data.n());
    for arm in arms {
        rows.extend((0..arm.len()).map(|_| arm[rng.random_range(0..arm.len())]));
    }
    Ok(data.select(&rows)?)
}

/// Replicate `b`'s plug-in ATE from its refit's predictions.
fn replicate_ate(
    po: std::result::Result<ite_core::PotentialOutcomes, crate::learner::BoxError>,
    predict: &Covariates,
    b: usize,
    b_total: usize,
) -> Result<f64> {
    let context = || format!("bootstrap replicate {} of {b_total}", b + 1);
    let po = po.map_err(|e| InferenceError::Learner { context: context(), message: e.to_string() })?;
    if po.len() != predict.n_rows() {
        return Err(InferenceError::LengthMismatch {
            what: format!("{}: predictions and prediction rows", context()),
            left: po.len(),
            right: predict.n_rows(),
        });
    }
    let ate = po.ate();
    if !ate.is_finite() {
        return Err(InferenceError::data(format!("{}: the plug-in ATE is {ate}", context())));
    }
    Ok(ate)
}

/// Both intervals from the replicates; none when they are all equal (the learner's model did
/// not change with the sample, so their spread says nothing about the estimate's).
fn summarize(replicates: Vec<f64>, estimate: f64, level: f64) -> Result<BootstrapResult> {
    if replicates.windows(2).all(|w| w[0] == w[1]) {
        let why = format!(
            "all {} refits gave the same plug-in ATE: the model does not change with the resampled data \
             (it is not fitted to it), so the refits say nothing about the estimate's uncertainty",
            replicates.len()
        );
        return Ok(without_intervals(replicates, estimate, level, why));
    }
    let se = sd(&replicates);
    let mut sorted = replicates.clone();
    sorted.sort_by(f64::total_cmp);
    let alpha = 1.0 - level;
    let lower = quantile_sorted(&sorted, alpha / 2.0);
    let upper = quantile_sorted(&sorted, 1.0 - alpha / 2.0);
    let percentile = Estimate {
        estimate,
        se: Some(se),
        lower: Some(lower),
        upper: Some(upper),
        level,
        method: PERCENTILE_METHOD.into(),
        undefined: None,
    };
    let normal = Estimate::normal(estimate, se, level, NORMAL_METHOD)?;
    Ok(BootstrapResult { replicates, percentile, normal })
}

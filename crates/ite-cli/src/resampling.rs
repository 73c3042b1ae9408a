//! The refitting extras of `ite fit` and `ite transfer`: `--ensemble K` (average μ̂0, μ̂1 over K
//! seeds, everywhere the model is fitted), `--bootstrap B` (a refit-bootstrap interval for the
//! model-based mean ITE, `ate_plugin`) and `--ite-interval conformal` (per-unit ITE intervals,
//! `ite_lower`/`ite_upper` in predictions.csv), each computed by `ite-inference`.

use anyhow::Result;
use ite_core::{CausalData, Covariates, PotentialOutcomes, Seed};
use ite_inference::{
    BootstrapResult, BoxError, CalibrationSet, ConformalIntervals, EnsembleLearner, EnsembleReport, FitJob,
    OutcomeLearner, RefitBootstrapParams, cluster_pool_sizes, conformal_ite_intervals, refit_bootstrap,
    refit_cluster_bootstrap,
};
use serde_json::{Value, json};

use crate::inference::{Clusters, Inference, decimals, percent};
use crate::output::Ui;

/// Per-unit ITE intervals, by method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IteInterval {
    /// No per-unit intervals.
    None,
    /// Conformal meta-learner on doubly robust pseudo-outcomes (Alaa, Ahmad & van der Laan 2023),
    /// calibrated on the cross-fitted AIPW nuisances.
    Conformal,
}

/// The flags of the refitting extras.
#[derive(Debug, Clone, clap::Args)]
pub struct ResamplingArgs {
    /// Refit-bootstrap replicates for an interval of the model-based mean ITE (`ate_plugin`):
    /// units (with --cluster, whole clusters) are resampled within arms and the model refitted B
    /// times (2 to 100000; 200 or more for a stable interval). In `ite transfer` only the target
    /// is resampled, and source-only refuses it. Off by default.
    #[arg(long, value_name = "B", value_parser = parse_replicates)]
    pub bootstrap: Option<usize>,
    /// Fit K copies of the model with different seeds and average their μ̂0, μ̂1 — for the
    /// predictions, every cross-fitting fold and every bootstrap replicate (K times the work);
    /// reports the between-seed sd of the mean ITE (1 to 1000). With K > 1 no model is saved.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = parse_members)]
    pub ensemble: usize,
    /// Per-unit intervals of the ITE in predictions.csv (`ite_lower`, `ite_upper`): `conformal`
    /// or `none`.
    #[arg(long, value_name = "METHOD", value_enum, default_value = "none")]
    pub ite_interval: IteInterval,
}

/// The most bootstrap replicates `--bootstrap` takes: 1000 give stable percentile limits, and
/// a larger number is more likely a typo than a plan (each is a full refit).
const MAX_REPLICATES: usize = 100_000;

/// The most ensemble members `--ensemble` takes (each multiplies every fit).
const MAX_MEMBERS: usize = 1000;

fn parse_replicates(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(b) if (2..=MAX_REPLICATES).contains(&b) => Ok(b),
        _ => Err(format!(
            "`{s}`: expected an integer from 2 to {MAX_REPLICATES} (bootstrap replicates, each a full refit; 200 or \
             more for a stable interval)"
        )),
    }
}

fn parse_members(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if (1..=MAX_MEMBERS).contains(&k) => Ok(k),
        _ => Err(format!("`{s}`: expected an integer from 1 to {MAX_MEMBERS} (ensemble members; 1 = a single model)")),
    }
}

/// `learner`, or an ensemble of `members` copies of it when `members > 1`.
pub struct MaybeEnsemble<'a, L: ?Sized> {
    learner: &'a L,
    members: usize,
}

impl<'a, L: OutcomeLearner + ?Sized> MaybeEnsemble<'a, L> {
    /// Wraps `learner` as `args` ask.
    pub fn new(learner: &'a L, args: &ResamplingArgs) -> Self {
        MaybeEnsemble { learner, members: args.ensemble }
    }

    fn ensemble(&self) -> EnsembleLearner<Forward<'_, L>> {
        EnsembleLearner { inner: Forward(self.learner), members: self.members }
    }

    /// The ensemble's predictions on `x` and its between-seed report, fitted on `data` (members
    /// get `seed.index(m)`); `None` when `members` is 1.
    pub fn fit_report(
        &self,
        data: &CausalData,
        x: &Covariates,
        seed: Seed,
    ) -> Result<Option<(PotentialOutcomes, EnsembleReport)>> {
        if self.members <= 1 {
            return Ok(None);
        }
        Ok(Some(self.ensemble().fit_report(data, x, seed)?))
    }
}

impl<L: OutcomeLearner + ?Sized> OutcomeLearner for MaybeEnsemble<'_, L> {
    fn fit_predict(&self, train: &CausalData, predict: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError> {
        if self.members <= 1 {
            self.learner.fit_predict(train, predict, seed)
        } else {
            self.ensemble().fit_predict(train, predict, seed)
        }
    }

    /// A single model hands the jobs to its learner at once (a batched learner trains them
    /// together); an ensemble fits each job's members together.
    fn fit_predict_many(&self, jobs: &[FitJob<'_>]) -> Vec<Result<PotentialOutcomes, BoxError>> {
        if self.members <= 1 {
            self.learner.fit_predict_many(jobs)
        } else {
            ite_inference::fit_each(&self.ensemble(), jobs)
        }
    }
}

/// A borrowed learner, forwarding both methods (so an ensemble's members reach the learner's
/// own `fit_predict_many`).
pub struct Forward<'a, L: ?Sized>(&'a L);

impl<L: OutcomeLearner + ?Sized> OutcomeLearner for Forward<'_, L> {
    fn fit_predict(&self, train: &CausalData, predict: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError> {
        self.0.fit_predict(train, predict, seed)
    }

    fn fit_predict_many(&self, jobs: &[FitJob<'_>]) -> Vec<Result<PotentialOutcomes, BoxError>> {
        self.0.fit_predict_many(jobs)
    }
}

/// What the extras computed.
#[derive(Debug, Default)]
pub struct Extras {
    /// The refit bootstrap of `ate_plugin`.
    pub bootstrap: Option<BootstrapResult>,
    /// What the bootstrap resampled and what it held fixed, in words.
    pub bootstrap_scheme: String,
    /// The ensemble's between-seed report.
    pub ensemble: Option<EnsembleReport>,
    /// Per-unit ITE intervals of the predicted rows.
    pub conformal: Option<ConformalIntervals>,
    /// Why requested conformal intervals could not be computed.
    pub conformal_undefined: Option<String>,
    /// Why a requested extra could not be computed, or why its result is fragile (warnings).
    pub warnings: Vec<String>,
}

/// What the extras need of a run: the training data, the (possibly ensembled) learner, the
/// predicted rows, the level, the seed of the bootstrap, and the progress reporter.
pub struct Context<'a, L: ?Sized> {
    /// The data the model is fitted on (`--data`, or the target).
    pub data: &'a CausalData,
    /// The outcome learner, as fitted everywhere else.
    pub learner: &'a L,
    /// The predicted rows.
    pub x: &'a Covariates,
    /// Nominal level of every interval.
    pub level: f64,
    /// Seed of the refit bootstrap.
    pub seed: Seed,
    /// Progress.
    pub ui: &'a Ui,
    /// `--cluster`: the bootstrap then resamples whole clusters.
    pub clusters: Option<&'a Clusters>,
    /// What every refit keeps as it is and what that leaves out of the interval (`ite transfer`:
    /// the trained source network), in words.
    pub held_fixed: Option<&'static str>,
}

impl<'a, L: ?Sized> Context<'a, L> {
    /// The context of a run on `data` without clusters and with nothing held fixed.
    pub fn new(data: &'a CausalData, learner: &'a L, x: &'a Covariates, level: f64, seed: Seed, ui: &'a Ui) -> Self {
        Context { data, learner, x, level, seed, ui, clusters: None, held_fixed: None }
    }
}

impl<L: OutcomeLearner + ?Sized> Context<'_, L> {
    /// Runs the extras `args` ask for, given the run's predictions `pred` of the rows `x`, its
    /// AIPW result and its ensemble report.
    pub fn extras(
        &self,
        args: &ResamplingArgs,
        pred: &PotentialOutcomes,
        inf: &Inference,
        ensemble: Option<EnsembleReport>,
    ) -> Result<Extras> {
        let mut extras = Extras { ensemble, ..Extras::default() };
        extras.bootstrap = self.bootstrap(args, pred.ate())?;
        if let Some(b) = &extras.bootstrap {
            match &b.percentile.undefined {
                Some(why) => extras.warnings.push(format!("--bootstrap: no interval for ate_plugin: {why}")),
                None => {
                    extras.warnings.extend(bootstrap_warnings(b));
                    extras.warnings.extend(self.clusters.and_then(|c| few_clusters(c, self.data.t())));
                }
            }
            extras.bootstrap_scheme = self.scheme();
        }
        conformal(args, self.level, self.data, inf, &pred.ite(), &mut extras);
        Ok(extras)
    }

    /// `--bootstrap B` of the mean predicted ITE over `x` (point estimate `plugin`), with progress.
    fn bootstrap(&self, args: &ResamplingArgs, plugin: f64) -> Result<Option<BootstrapResult>> {
        let Some(b) = args.bootstrap else { return Ok(None) };
        let params = RefitBootstrapParams { replicates: b, level: self.level };
        let members = args.ensemble;
        let times = if members > 1 { format!(" (each an ensemble ×{members} seeds)") } else { String::new() };
        let phase = self.ui.phase(format!("refit bootstrap of the plug-in ATE: {b} refits{times}"));
        let step = (b / 10).max(1);
        let progress = |k: usize| {
            if k.is_multiple_of(step) || k == b {
                phase.set_progress(k, b);
            }
        };
        let (data, learner, x, seed) = (self.data, self.learner, self.x, self.seed);
        let res = match self.clusters {
            Some(c) => refit_cluster_bootstrap(&params, data, &c.codes, learner, x, plugin, seed, &progress)?,
            None => refit_bootstrap(&params, data, learner, x, plugin, seed, &progress)?,
        };
        phase.done();
        Ok(Some(res))
    }

    /// What the bootstrap resampled and what it held fixed, in words (summary.json's
    /// `bootstrap.resampling` and the plain report).
    fn scheme(&self) -> String {
        let drawn = match self.clusters {
            Some(c) if cluster_pool_sizes(self.data.t(), &c.codes).len() == 2 => format!(
                "whole clusters of `{}` resampled with replacement within each arm ({} clusters, every one of them \
                 all treated or all control)",
                c.column, c.count
            ),
            Some(c) => format!(
                "whole clusters of `{}` resampled with replacement ({} clusters, some with both arms)",
                c.column, c.count
            ),
            None => "units resampled with replacement within each arm".to_string(),
        };
        match self.held_fixed {
            Some(fixed) => format!("{drawn}; the model refitted on each sample; {fixed}"),
            None => format!("{drawn}; the model refitted on each sample"),
        }
    }
}

/// A warning when the cluster bootstrap draws from fewer than 30 clusters (in an arm, when it
/// draws within arms): with 30 per arm its percentile interval covered 92.7% at the 95% level
/// in `ite-inference`'s tests, and fewer clusters cover less.
fn few_clusters(c: &Clusters, t: &[u8]) -> Option<String> {
    let pools = cluster_pool_sizes(t, &c.codes);
    let fewest = pools.iter().copied().min()?;
    (fewest < 30).then(|| {
        let where_ = if pools.len() == 2 { " in an arm" } else { "" };
        let clusters = if fewest == 1 { "cluster" } else { "clusters" };
        format!(
            "--bootstrap with --cluster {}: only {fewest} {clusters}{where_} to resample; with fewer than 30 the \
             cluster bootstrap's interval tends to cover less than its level",
            c.column
        )
    })
}

/// Warnings about a refit bootstrap: too few refits for stable percentile limits, or a full-data
/// fit whose mean predicted ITE lies outside the interval of its own refits (an unstable model).
fn bootstrap_warnings(b: &BootstrapResult) -> Vec<String> {
    let mut out = Vec::new();
    let n = b.replicates.len();
    if n > 0 && n < 200 {
        out.push(format!(
            "--bootstrap {n}: fewer than 200 refits; the percentile limits of ate_plugin are themselves noisy"
        ));
    }
    let p = &b.percentile;
    if let (Some(lo), Some(hi)) = (p.lower, p.upper)
        && !(lo <= p.estimate && p.estimate <= hi)
    {
        out.push(format!(
            "unstable model: the full-data fit's mean predicted ITE ({:.4}) lies outside the interval of its own {n} \
             refits [{lo:.4}, {hi:.4}]; the model's predictions depend strongly on its seed and sample (try \
             --ensemble K), and ate (AIPW) is the estimate to report",
            p.estimate
        ));
    }
    out
}

/// Per-unit conformal intervals of the predicted rows' ITEs `tau_test`, calibrated on the
/// cross-fitted nuisances of the AIPW run over the kept units (a warning when there are none).
pub fn conformal(
    args: &ResamplingArgs,
    level: f64,
    data: &CausalData,
    inf: &Inference,
    tau_test: &[f64],
    extras: &mut Extras,
) {
    if args.ite_interval == IteInterval::None {
        return;
    }
    let Ok(report) = &inf.aipw else {
        extras
            .warnings
            .push("no conformal ITE intervals: they are calibrated on the AIPW cross-fit, which failed".into());
        return;
    };
    let idx: Vec<usize> = (0..data.n()).filter(|&i| report.kept[i]).collect();
    let pick = |v: &[f64]| -> Vec<f64> { idx.iter().map(|&i| v[i]).collect() };
    let cf = &report.cross_fit;
    let (mu0, mu1, e) = (pick(&cf.mu0), pick(&cf.mu1), pick(&cf.e));
    let y = pick(data.y());
    let t: Vec<u8> = idx.iter().map(|&i| data.t()[i]).collect();
    let tau_hat: Vec<f64> = mu1.iter().zip(&mu0).map(|(a, b)| a - b).collect();
    let cal = CalibrationSet { y: &y, t: &t, mu0: &mu0, mu1: &mu1, e: &e, tau_hat: &tau_hat };
    match conformal_ite_intervals(&cal, tau_test, level) {
        Ok(mut c) => {
            // On a 0/1 outcome every ITE lies in [−1, 1]: cutting the intervals to that range
            // loses no coverage.
            if data.y().iter().all(|&v| v == 0.0 || v == 1.0) {
                c.lower.iter_mut().for_each(|v| *v = v.max(-1.0));
                c.upper.iter_mut().for_each(|v| *v = v.min(1.0));
            }
            extras.conformal = Some(c)
        }
        Err(e) => {
            extras.warnings.push(format!("no conformal ITE intervals: {e}"));
            extras.conformal_undefined = Some(e.to_string());
        }
    }
}

/// The summary keys of the extras: `ate_plugin` with the bootstrap interval (percentile),
/// `bootstrap`, `ensemble`, `ite_interval`.
pub fn json(extras: &Extras, summary: &mut Value) {
    if let Some(b) = &extras.bootstrap {
        summary["ate_plugin"] = json!(b.percentile);
        summary["bootstrap"] = json!({
            "replicates": b.replicates.len(),
            "replicate_mean": ite_core::stats::mean_of(b.replicates.iter().copied()),
            "se": b.normal.se,
            "normal": b.normal,
            "resampling": extras.bootstrap_scheme,
            "covers": "how the model-based mean ITE over the predicted rows varies over samples like this one; it \
                       carries the model's bias, so it is an interval for the model's estimate, not for the ATE (see \
                       `ate`, AIPW, for that)",
        });
    }
    if let Some(e) = &extras.ensemble {
        summary["ensemble"] = json!({
            "members": e.member_ates.len(),
            "member_ates": e.member_ates,
            "between_seed_sd": e.between_seed_sd,
            "ate_plugin": e.ate,
        });
    }
    if let Some(why) = &extras.conformal_undefined {
        summary["ite_interval"] = json!({ "method": "conformal", "undefined": why });
    }
    if let Some(c) = &extras.conformal {
        summary["ite_interval"] = json!({
            "method": "conformal",
            "description": "conformal meta-learner on doubly robust pseudo-outcomes (Alaa, Ahmad & van der Laan 2023), \
                            calibrated on the cross-fitted AIPW nuisances",
            "level": c.level,
            "half_width": c.half_width,
            "n_calibration": c.n_calibration,
            "covers": "each unit's conditional average effect τ(x) at least at the level (conservatively, marginally \
                       over units, not for every x), if the AIPW assumptions hold; not the unit's realised Y(1) − Y(0)",
        });
    }
}

/// The plain lines of the extras.
pub fn lines(extras: &Extras, summary: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(b) = &extras.bootstrap {
        match &b.percentile.undefined {
            Some(why) => out.push(format!("no plug-in interval: {why}")),
            None => out.push(format!(
                "the plug-in interval comes from {} refits: {}. It shows how the model-based mean ITE varies over \
                 samples, but carries the model's bias, so it can miss the true ATE where AIPW, under \
                 unconfoundedness and overlap, does not",
                b.replicates.len(),
                extras.bootstrap_scheme
            )),
        }
    }
    if let Some(e) = &extras.ensemble {
        let d = decimals(summary["ate"]["se"].as_f64().unwrap_or(e.between_seed_sd.max(1e-12)));
        out.push(format!(
            "ensemble of {} seeds: mean predicted ITE {:.d$}, between-seed sd {:.d$} (the average of the members is \
             what is reported; its own seed spread is about sd/√{})",
            e.member_ates.len(),
            e.ate,
            e.between_seed_sd,
            e.member_ates.len()
        ));
    }
    if let Some(c) = &extras.conformal {
        let d = decimals(c.half_width);
        // On a 0/1 outcome the intervals were cut to [−1, 1] (see `conformal`).
        let cut = if c.lower.iter().chain(&c.upper).any(|v| v.abs() == 1.0) { ", cut to [-1, 1]" } else { "" };
        out.push(format!(
            "per-unit ITE intervals (conformal, {}): predicted ITE ± {:.d$}{cut} in predictions.csv (ite_lower, ite_upper); \
             on average over units (not for every x) they cover a unit's expected effect τ(x) at least {} of the \
             time, if the AIPW assumptions hold — not one person's realised effect",
            percent(c.level),
            c.half_width,
            percent(c.level)
        ));
    }
    out
}

/// Every warning of the run — the AIPW/overlap ones, the extras', then `more` (the outcome's) —
/// stored in the summary's `warnings` and returned for stderr.
pub fn all_warnings(inf: &Inference, extras: &Extras, more: Vec<String>, summary: &mut Value) -> Vec<String> {
    let warnings: Vec<String> = inf.warnings.iter().chain(&extras.warnings).cloned().chain(more).collect();
    summary["warnings"] = json!(warnings);
    warnings
}

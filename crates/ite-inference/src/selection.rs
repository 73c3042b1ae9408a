//! Choosing among candidate CATE models (transfer strategies, network kinds, baselines) from the
//! data alone ([`SelectionParams::select`]): each candidate is fitted on K−1 seeded folds and
//! predicts the held-out fold, and its out-of-fold CATEs are scored by the R-loss, the doubly
//! robust loss and PEHE_nn ([`crate::Score`]) against cross-fitted nuisances on the same folds.
//!
//! The nuisances: the propensity ê is a cross-fitted propensity model (logistic by default); the
//! outcome means μ̂0, μ̂1 are, by default, the mean of the candidates' own out-of-fold
//! predictions (no extra fit; a unit's nuisance never uses its own outcome), or a learner of the
//! caller's cross-fitted on the same folds. With a right propensity, neither choice biases the
//! R-loss or DR ranking (see [`crate::scores`]); a better μ̂ only makes it less noisy.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use ite_core::{CausalData, Params, PotentialOutcomes, Seed, SettingsError};

use crate::error::{InferenceError, Result};
use crate::folds::Folds;
use crate::learner::OutcomeLearner;
use crate::propensity::{PropensityLearner, PropensityParams, folds_and_propensity};
use crate::scores::{Score, ScoreNuisances, mean_se, nearest_other_arm, unit_losses};

/// Settings of model selection.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `folds` | 5 | K: each candidate is fitted K times, on K−1 folds, and scored on the held-out one (seeded, stratified by arm, clusters kept whole) | ≥ 2, ≤ the smaller arm |
/// | `score` | [`Score::RLoss`] | the score the choice is made by (all three are reported) | `RLoss`, `Dr`, `PeheNn` |
/// | `propensity` | [`PropensityParams::default`] | the logistic propensity model of [`SelectionParams::select`], and the clipping of any propensity model | see its table |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SelectionParams {
    /// Number of folds.
    pub folds: usize,
    /// The score that chooses.
    pub score: Score,
    /// The propensity model.
    pub propensity: PropensityParams,
}

impl Default for SelectionParams {
    fn default() -> Self {
        SelectionParams { folds: 5, score: Score::RLoss, propensity: PropensityParams::default() }
    }
}

impl Params for SelectionParams {
    type Error = InferenceError;
    fn validate(&self) -> Result<()> {
        if self.folds < 2 {
            return Err(SettingsError::new("folds", self.folds, "an integer ≥ 2").into());
        }
        self.propensity.validate()
    }
}

/// A candidate model: a name and the learner that fits it.
#[derive(Clone, Copy)]
pub struct Candidate<'a> {
    /// The name tables and files show.
    pub name: &'a str,
    /// Fits the candidate on some units and predicts others.
    pub learner: &'a dyn OutcomeLearner,
}

impl std::fmt::Debug for Candidate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidate").field("name", &self.name).finish_non_exhaustive()
    }
}

/// One candidate's value under one score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreValue {
    /// The mean per-unit loss (lower is better).
    pub value: f64,
    /// Its standard error over units (or clusters).
    pub se: f64,
    /// 1 for the lowest value; ties go to the earlier candidate.
    pub rank: usize,
    /// The value minus the best candidate's (0 for the best).
    pub diff: f64,
    /// Standard error of `diff` (paired over units; NaN for the best).
    pub diff_se: f64,
}

/// One candidate's outcome: its scores, or why it could not be scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateResult {
    /// The candidate's name.
    pub name: String,
    /// Its value under each score, in the order of [`Score::ALL`] (empty when it failed).
    pub scores: Vec<ScoreValue>,
    /// The error of the first fold it failed on (it then takes no part in the ranking).
    pub error: Option<String>,
}

impl CandidateResult {
    /// Its value under `score` (`None` when it failed).
    pub fn score(&self, score: Score) -> Option<&ScoreValue> {
        let i = Score::ALL.iter().position(|s| *s == score)?;
        self.scores.get(i)
    }
}

/// What [`SelectionParams::select`] returns.
#[derive(Debug, Clone)]
pub struct SelectionReport {
    /// The score the choice was made by.
    pub score: Score,
    /// Every candidate, in the order given.
    pub candidates: Vec<CandidateResult>,
    /// The index (into `candidates`) of the best candidate under each score, in the order of
    /// [`Score::ALL`].
    pub best: [usize; 3],
    /// The nuisances the scores used (out-of-fold).
    pub nuisances: ScoreNuisances,
    /// The folds.
    pub folds: Folds,
}

impl SelectionReport {
    /// The index of the chosen candidate (best under [`SelectionReport::score`]).
    pub fn chosen(&self) -> usize {
        self.best_by(self.score)
    }

    /// The index of the best candidate under `score`.
    pub fn best_by(&self, score: Score) -> usize {
        let i = Score::ALL.iter().position(|s| *s == score).unwrap_or(0);
        self.best[i]
    }

    /// The chosen candidate's name.
    pub fn chosen_name(&self) -> &str {
        &self.candidates[self.chosen()].name
    }
}

/// A fit, or the error it met (with its fold).
type Fitted<T> = std::result::Result<T, String>;
type FoldPrediction = (usize, usize, Fitted<PotentialOutcomes>);

impl SelectionParams {
    /// Scores every candidate on `data` with the logistic propensity model [`SelectionParams::propensity`]
    /// and the candidates' mean as the outcome nuisance: [`SelectionParams::select_with`].
    ///
    /// # Errors
    /// As [`SelectionParams::select_with`].
    pub fn select(
        &self,
        data: &CausalData,
        candidates: &[Candidate<'_>],
        clusters: Option<&[usize]>,
        seed: Seed,
    ) -> Result<SelectionReport> {
        self.select_with(data, candidates, None, &self.propensity, clusters, seed)
    }

    /// Fits each candidate on K−1 folds of `data` and predicts the held-out fold; cross-fits the
    /// propensity model `propensity` (clipped to `self.propensity.clip`) and, when given, the
    /// outcome nuisance `outcome` on the same folds (otherwise μ̂0, μ̂1 are the mean of the
    /// candidates' out-of-fold predictions); scores each candidate's out-of-fold CATE under the
    /// three [`Score`]s, with standard errors over units (cluster-robust with `clusters`, one code
    /// per unit, which also keeps a cluster's units in one fold).
    ///
    /// Seeds: folds `seed.stream("folds")`; every candidate on fold `f` gets
    /// `seed.stream("fit").index(f)` (common random numbers); propensity
    /// `seed.stream("propensity")`; outcome nuisance `seed.stream("nuisance").index(f)`. Fits run in
    /// parallel and are collected by index: the result does not depend on the thread count.
    ///
    /// A candidate that fails on a fold is reported with its error and left out of the ranking.
    ///
    /// # Errors
    /// Settings errors; [`InferenceError::Data`] when there is no candidate, every candidate
    /// failed, or an arm is smaller than the folds; the propensity model's or the outcome
    /// nuisance's failure.
    pub fn select_with<P: PropensityLearner + ?Sized>(
        &self,
        data: &CausalData,
        candidates: &[Candidate<'_>],
        outcome: Option<&dyn OutcomeLearner>,
        propensity: &P,
        clusters: Option<&[usize]>,
        seed: Seed,
    ) -> Result<SelectionReport> {
        self.validate()?;
        if candidates.is_empty() {
            return Err(InferenceError::data("model selection needs at least one candidate"));
        }
        let (folds, e) = folds_and_propensity(data, self.folds, clusters, (propensity, self.propensity.clip), seed)?;
        let fits = out_of_fold(data, candidates, &folds, seed.stream("fit"))?;
        if let Some(Err(first)) = fits.first().filter(|_| fits.iter().all(|f| f.is_err())) {
            return Err(InferenceError::data(format!("every candidate failed (the first: {first})")));
        }
        let (mu0, mu1) = match outcome {
            Some(learner) => {
                let one = out_of_fold(
                    data,
                    &[Candidate { name: "outcome nuisance", learner }],
                    &folds,
                    seed.stream("nuisance"),
                )?;
                match one.into_iter().next() {
                    Some(Ok(po)) => (po.mu0, po.mu1),
                    Some(Err(msg)) => {
                        return Err(InferenceError::Learner { context: "outcome nuisance".into(), message: msg });
                    }
                    None => return Err(InferenceError::data("no outcome nuisance")),
                }
            }
            None => candidate_mean(&fits)?,
        };
        let neighbour = nearest_other_arm(data.x(), data.t())?;
        let nuisances = ScoreNuisances { mu0, mu1, e, neighbour };
        let losses: Vec<Option<Vec<Vec<f64>>>> = fits
            .iter()
            .map(|fit| match fit {
                Ok(po) => {
                    let tau = po.ite();
                    Score::ALL
                        .iter()
                        .map(|&s| unit_losses(s, data.y(), data.t(), &tau, &nuisances))
                        .collect::<Result<Vec<_>>>()
                        .map(Some)
                }
                Err(_) => Ok(None),
            })
            .collect::<Result<_>>()?;
        let (candidates, best) = rank(candidates, &fits, &losses, clusters);
        Ok(SelectionReport { score: self.score, candidates, best, nuisances, folds })
    }
}

/// Every candidate's out-of-fold predictions (or the first error it met, with its fold).
fn out_of_fold(
    data: &CausalData,
    candidates: &[Candidate<'_>],
    folds: &Folds,
    seed: Seed,
) -> Result<Vec<Fitted<PotentialOutcomes>>> {
    let k = folds.k();
    let jobs: Vec<(usize, usize)> = (0..candidates.len()).flat_map(|c| (0..k).map(move |f| (c, f))).collect();
    let preds: Vec<FoldPrediction> = jobs
        .into_par_iter()
        .map(|(c, f)| {
            let test = folds.test(f);
            let result = (|| {
                let train = data.select(&folds.train(f)).map_err(|e| e.to_string())?;
                let x_test = data.x().select_rows(&test).map_err(|e| e.to_string())?;
                let po = candidates[c]
                    .learner
                    .fit_predict(&train, &x_test, seed.index(f as u64))
                    .map_err(|e| e.to_string())?;
                if po.mu0.len() != test.len() || po.mu1.len() != test.len() {
                    return Err(format!("predicted {} units of {}", po.mu0.len(), test.len()));
                }
                if let Some(i) = po.mu0.iter().chain(&po.mu1).position(|v| !v.is_finite()) {
                    return Err(format!("a prediction is not finite (value {} of the fold)", i + 1));
                }
                Ok(po)
            })()
            .map_err(|msg| format!("fold {} of {k}: {msg}", f + 1));
            (c, f, result)
        })
        .collect();
    let n = data.n();
    let mut out: Vec<Fitted<(Vec<f64>, Vec<f64>)>> =
        (0..candidates.len()).map(|_| Ok((vec![0.0; n], vec![0.0; n]))).collect();
    for (c, f, result) in preds {
        let slot = &mut out[c];
        match (slot.as_mut(), result) {
            (Ok((mu0, mu1)), Ok(po)) => {
                for (j, i) in folds.test(f).into_iter().enumerate() {
                    mu0[i] = po.mu0[j];
                    mu1[i] = po.mu1[j];
                }
            }
            // Keeps the error of the lowest fold (preds arrive in job order).
            (Ok(_), Err(msg)) => *slot = Err(msg),
            (Err(_), _) => {}
        }
    }
    out.into_iter()
        .map(|r| match r {
            Ok((mu0, mu1)) => PotentialOutcomes::new(mu0, mu1).map(Ok).map_err(|e| InferenceError::data(e.to_string())),
            Err(msg) => Ok(Err(msg)),
        })
        .collect()
}

/// The mean of the successful candidates' out-of-fold μ̂0, μ̂1.
fn candidate_mean(fits: &[Fitted<PotentialOutcomes>]) -> Result<(Vec<f64>, Vec<f64>)> {
    let ok: Vec<&PotentialOutcomes> = fits.iter().filter_map(|f| f.as_ref().ok()).collect();
    let Some(first) = ok.first() else {
        let why = fits.iter().find_map(|f| f.as_ref().err()).cloned().unwrap_or_default();
        return Err(InferenceError::data(format!("every candidate failed (the first: {why})")));
    };
    let n = first.len();
    let k = ok.len() as f64;
    let mean = |get: fn(&PotentialOutcomes) -> &Vec<f64>| -> Vec<f64> {
        (0..n).map(|i| ok.iter().map(|po| get(po)[i]).sum::<f64>() / k).collect()
    };
    Ok((mean(|po| &po.mu0), mean(|po| &po.mu1)))
}

/// Scores, ranks and differences from the best, per score.
fn rank(
    candidates: &[Candidate<'_>],
    fits: &[Fitted<PotentialOutcomes>],
    losses: &[Option<Vec<Vec<f64>>>],
    clusters: Option<&[usize]>,
) -> (Vec<CandidateResult>, [usize; 3]) {
    let mut results: Vec<CandidateResult> = candidates
        .iter()
        .zip(fits)
        .map(|(c, f)| CandidateResult {
            name: c.name.to_string(),
            scores: Vec::new(),
            error: f.as_ref().err().cloned(),
        })
        .collect();
    let mut best = [0usize; 3];
    for (s, slot) in best.iter_mut().enumerate() {
        let means: Vec<Option<(f64, f64)>> =
            losses.iter().map(|l| l.as_ref().map(|l| mean_se(&l[s], clusters))).collect();
        let mut order: Vec<usize> = (0..candidates.len()).filter(|&c| means[c].is_some()).collect();
        order.sort_by(|&a, &b| {
            let (va, vb) = (means[a].map_or(f64::INFINITY, |m| m.0), means[b].map_or(f64::INFINITY, |m| m.0));
            va.total_cmp(&vb).then(a.cmp(&b))
        });
        let Some(&top) = order.first() else { continue };
        *slot = top;
        let top_losses = losses[top].as_ref().map(|l| l[s].clone()).unwrap_or_default();
        for (r, &c) in order.iter().enumerate() {
            let (Some((value, se)), Some(l)) = (means[c], losses[c].as_ref()) else { continue };
            let d: Vec<f64> = l[s].iter().zip(&top_losses).map(|(a, b)| a - b).collect();
            let (diff, diff_se) = if c == top { (0.0, f64::NAN) } else { mean_se(&d, clusters) };
            results[c].scores.push(ScoreValue { value, se, rank: r + 1, diff, diff_se });
        }
    }
    (results, best)
}

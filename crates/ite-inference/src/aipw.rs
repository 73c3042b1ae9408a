//! Doubly robust estimates of the ATE, ATT and ATC: cross-fitted AIPW with influence-function
//! standard errors (cluster-robust when clusters are given) and normal intervals.
//!
//! With out-of-fold outcome predictions μ̂0, μ̂1 and propensities ê (see [`AipwParams::cross_fit`]),
//!
//! - ATE: ψᵢ = μ̂1ᵢ − μ̂0ᵢ + tᵢ(yᵢ − μ̂1ᵢ)/êᵢ − (1 − tᵢ)(yᵢ − μ̂0ᵢ)/(1 − êᵢ), θ̂ = mean ψ;
//! - ATT: θ̂ = Σ[tᵢ(yᵢ − μ̂0ᵢ) − (1 − tᵢ) êᵢ/(1 − êᵢ) (yᵢ − μ̂0ᵢ)] / n₁;
//! - ATC: θ̂ = Σ[(1 − tᵢ)(μ̂1ᵢ − yᵢ) + tᵢ (1 − êᵢ)/êᵢ (yᵢ − μ̂1ᵢ)] / n₀;
//!
//! each with its influence function IFᵢ and se² = Σ IFᵢ² / (n(n − 1)), or, with G clusters,
//! se² = G/(G − 1) · Σ_g (Σ_{i∈g} IFᵢ)² / n². The interval is θ̂ ± z·se.
//!
//! The propensity model is [`AipwParams::propensity`] (logistic regression) unless another
//! [`PropensityLearner`] is passed to [`AipwParams::estimate_with`] / [`AipwParams::cross_fit_with`]
//! (e.g. the small network `ite_nets::MlpPropensityParams`): it is cross-fitted on the same folds
//! as the outcome model, folds in parallel and collected by index (fold `f` gets the seed
//! `seed.stream("propensity").index(f)`), and its probabilities are clipped to
//! [`PropensityParams::clip`] of [`AipwParams::propensity`] whichever model made them.
//!
//! The estimates are consistent when unconfoundedness and overlap hold and *either* the outcome
//! model or the propensity model is right (double robustness); the intervals are valid when
//! both converge fast enough (the product of their errors is o(n^−1/2)).
//!
//! References: Robins, Rotnitzky & Zhao (1994), JASA 89(427); Hahn (1998), Econometrica 66(2)
//! (ATT); Chernozhukov, Chetverikov, Demirer, Duflo, Hansen, Newey & Robins (2018),
//! "Double/debiased machine learning for treatment and structural parameters", Econometrics
//! Journal 21(1) (cross-fitting).

use serde::{Deserialize, Serialize};

use ite_core::{CausalData, Covariates, Params, Seed, SettingsError};

use crate::error::{InferenceError, Result};
use crate::estimate::{Estimate, check_level};
use crate::folds::Folds;
use crate::learner::{FitJob, OutcomeLearner};
use crate::overlap::Trim;
use crate::propensity::{PropensityLearner, PropensityParams, folds_and_propensity};

/// Settings of cross-fitted AIPW.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `folds` | 5 | K of K-fold cross-fitting (seeded, stratified by arm, clusters kept whole) | ≥ 2, ≤ the smaller arm |
/// | `level` | 0.95 | nominal coverage of the intervals | (0, 1) |
/// | `propensity` | [`PropensityParams::default`] | the logistic propensity model (used by [`AipwParams::estimate`]), and the clipping of any propensity model | see its table |
/// | `trim` | [`Trim::None`] | which units enter the estimates, by propensity (trimming changes the estimand to the kept units) | valid limits |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AipwParams {
    /// Number of cross-fitting folds.
    pub folds: usize,
    /// Nominal coverage.
    pub level: f64,
    /// The propensity model.
    pub propensity: PropensityParams,
    /// Trimming rule.
    pub trim: Trim,
}

impl Default for AipwParams {
    fn default() -> Self {
        AipwParams { folds: 5, level: 0.95, propensity: PropensityParams::default(), trim: Trim::None }
    }
}

impl Params for AipwParams {
    type Error = InferenceError;

    fn validate(&self) -> Result<()> {
        if self.folds < 2 {
            return Err(SettingsError::new("folds", self.folds, "an integer ≥ 2").into());
        }
        check_level("level", self.level)?;
        self.propensity.validate()?;
        self.trim.validate()
    }
}

/// Out-of-fold nuisance estimates: unit `i`'s values come from models fitted without its fold.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossFit {
    /// μ̂0(xᵢ), outcome units.
    pub mu0: Vec<f64>,
    /// μ̂1(xᵢ), outcome units.
    pub mu1: Vec<f64>,
    /// ê(xᵢ), clipped to [clip, 1 − clip].
    pub e: Vec<f64>,
    /// The folds.
    pub folds: Folds,
}

/// The three doubly robust estimates, and which units they use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effects {
    /// Average effect over the (kept) units.
    pub ate: Estimate,
    /// Average effect over the (kept) treated units.
    pub att: Estimate,
    /// Average effect over the (kept) control units.
    pub atc: Estimate,
    /// Units the estimates use (all, or those kept by trimming).
    pub n_used: usize,
    /// Units dropped by trimming.
    pub n_trimmed: usize,
    /// The propensity limits units were kept within ((0, 1) without trimming).
    pub trim_limits: (f64, f64),
    /// Clusters of the cluster-robust standard errors (`None`: units are independent).
    pub clusters: Option<usize>,
}

/// What [`AipwParams::estimate`] returns: the estimates and the nuisances behind them.
#[derive(Debug, Clone)]
pub struct AipwReport {
    /// ATE, ATT, ATC.
    pub effects: Effects,
    /// The out-of-fold nuisances (for diagnostics, conformal intervals, ...).
    pub cross_fit: CrossFit,
    /// `kept[i]`: whether unit `i` entered the estimates.
    pub kept: Vec<bool>,
}

impl AipwParams {
    /// Cross-fits the outcome model and the logistic propensity model [`AipwParams::propensity`]:
    /// [`AipwParams::cross_fit_with`] with `&self.propensity`.
    ///
    /// # Errors
    /// As [`AipwParams::cross_fit_with`].
    pub fn cross_fit<L: OutcomeLearner + ?Sized>(
        &self,
        data: &CausalData,
        learner: &L,
        clusters: Option<&[usize]>,
        seed: Seed,
    ) -> Result<CrossFit> {
        self.cross_fit_with(data, learner, &self.propensity, clusters, seed)
    }

    /// Cross-fits the outcome model and the propensity model `propensity` on the same seeded folds
    /// (clusters kept whole when `clusters` holds one code per unit). Folds run in parallel;
    /// fold `f`'s outcome model gets the seed `seed.stream("outcome").index(f)` and its propensity
    /// model `seed.stream("propensity").index(f)`, so the result does not depend on the thread
    /// count. Propensities are clipped to [`PropensityParams::clip`] of `self.propensity`.
    ///
    /// # Errors
    /// Settings errors; [`InferenceError::Data`] when an arm is smaller than the folds;
    /// [`InferenceError::Learner`] / [`InferenceError::Propensity`] when a model fails on a fold.
    pub fn cross_fit_with<L: OutcomeLearner + ?Sized, P: PropensityLearner + ?Sized>(
        &self,
        data: &CausalData,
        learner: &L,
        propensity: &P,
        clusters: Option<&[usize]>,
        seed: Seed,
    ) -> Result<CrossFit> {
        self.validate()?;
        let (folds, e) = folds_and_propensity(data, self.folds, clusters, (propensity, self.propensity.clip), seed)?;
        let k = folds.k();
        let tests: Vec<Vec<usize>> = (0..k).map(|f| folds.test(f)).collect();
        let trains: Vec<CausalData> =
            (0..k).map(|f| data.select(&folds.train(f))).collect::<std::result::Result<_, _>>()?;
        let x_tests: Vec<Covariates> =
            tests.iter().map(|test| data.x().select_rows(test)).collect::<std::result::Result<_, _>>()?;
        let jobs: Vec<FitJob<'_>> = (0..k)
            .map(|f| FitJob { train: &trains[f], predict: &x_tests[f], seed: seed.stream("outcome").index(f as u64) })
            .collect();
        let per_fold: Vec<(Vec<usize>, ite_core::PotentialOutcomes)> = learner
            .fit_predict_many(&jobs)
            .into_iter()
            .zip(tests)
            .enumerate()
            .map(|(f, (po, test))| {
                let po = po.map_err(|e| InferenceError::Learner {
                    context: format!("fold {} of {k}", f + 1),
                    message: e.to_string(),
                })?;
                if po.mu0.len() != test.len() || po.mu1.len() != test.len() {
                    return Err(InferenceError::LengthMismatch {
                        what: format!("predictions of fold {}", f + 1),
                        left: po.mu0.len(),
                        right: test.len(),
                    });
                }
                Ok((test, po))
            })
            .collect::<Result<_>>()?;
        let n = data.n();
        let (mut mu0, mut mu1) = (vec![0.0; n], vec![0.0; n]);
        for (rows, po) in per_fold {
            for (j, i) in rows.into_iter().enumerate() {
                mu0[i] = po.mu0[j];
                mu1[i] = po.mu1[j];
            }
        }
        Ok(CrossFit { mu0, mu1, e, folds })
    }

    /// Cross-fits (see [`AipwParams::cross_fit`]), trims by `trim`, and estimates ATE, ATT, ATC,
    /// with the logistic propensity model [`AipwParams::propensity`].
    ///
    /// # Errors
    /// As [`AipwParams::cross_fit`] and [`aipw_effects`].
    pub fn estimate<L: OutcomeLearner + ?Sized>(
        &self,
        data: &CausalData,
        learner: &L,
        clusters: Option<&[usize]>,
        seed: Seed,
    ) -> Result<AipwReport> {
        self.estimate_with(data, learner, &self.propensity, clusters, seed)
    }

    /// [`AipwParams::estimate`] with the propensity model `propensity` (see
    /// [`AipwParams::cross_fit_with`]).
    ///
    /// # Errors
    /// As [`AipwParams::cross_fit_with`] and [`aipw_effects`].
    pub fn estimate_with<L: OutcomeLearner + ?Sized, P: PropensityLearner + ?Sized>(
        &self,
        data: &CausalData,
        learner: &L,
        propensity: &P,
        clusters: Option<&[usize]>,
        seed: Seed,
    ) -> Result<AipwReport> {
        let cross_fit = self.cross_fit_with(data, learner, propensity, clusters, seed)?;
        let limits = self.trim.limits(&cross_fit.e);
        let kept = self.trim.kept(&cross_fit.e);
        let mut effects = aipw_effects(data.y(), data.t(), &cross_fit, &kept, clusters, self.level)?;
        effects.trim_limits = limits;
        Ok(AipwReport { effects, cross_fit, kept })
    }
}

/// Standard error from influence-function values (one per used unit), cluster-robust when
/// `clusters` (codes of the used units) is given. `None` when it cannot be computed.
fn se_from_if(ifs: &[f64], clusters: Option<&[usize]>) -> Option<f64> {
    let n = ifs.len() as f64;
    match clusters {
        None => (ifs.len() >= 2).then(|| (ifs.iter().map(|v| v * v).sum::<f64>() / (n * (n - 1.0))).sqrt()),
        Some(c) => {
            let mut sums = std::collections::BTreeMap::<usize, f64>::new();
            for (&g, &v) in c.iter().zip(ifs) {
                *sums.entry(g).or_default() += v;
            }
            let g = sums.len() as f64;
            (sums.len() >= 2).then(|| (g / (g - 1.0) * sums.values().map(|s| s * s).sum::<f64>() / (n * n)).sqrt())
        }
    }
}

/// One estimand from its per-unit scores `a` and the indicator `d` of its population
/// (θ̂ = Σa / Σd, IFᵢ = (aᵢ − dᵢθ̂)/(Σd/n)).
fn estimand(a: &[f64], d: &[f64], clusters: Option<&[usize]>, level: f64, what: &str) -> Result<Estimate> {
    let n = a.len() as f64;
    let nd: f64 = d.iter().sum();
    if nd == 0.0 {
        return Err(InferenceError::data(format!("{what}: no units in its population")));
    }
    let theta = a.iter().sum::<f64>() / nd;
    let ifs: Vec<f64> = a.iter().zip(d).map(|(ai, di)| (ai - di * theta) / (nd / n)).collect();
    match se_from_if(&ifs, clusters) {
        Some(se) if se.is_finite() => Estimate::normal(theta, se, level, "aipw"),
        _ => Ok(Estimate::without_interval(theta, level, "aipw", "fewer than two units or clusters")),
    }
}

/// ATE, ATT and ATC from out-of-fold nuisances (see the module doc for the formulas), over the
/// units with `kept[i]`; `clusters` holds one code per unit (all units, not only the kept ones).
/// An arm with fewer than two kept units gives estimates without intervals.
///
/// # Errors
/// [`InferenceError::LengthMismatch`] for inputs of different lengths; [`InferenceError::Data`]
/// when no unit is kept or an arm has none; settings errors for `level`.
pub fn aipw_effects(
    y: &[f64],
    t: &[u8],
    cf: &CrossFit,
    kept: &[bool],
    clusters: Option<&[usize]>,
    level: f64,
) -> Result<Effects> {
    check_level("level", level)?;
    let n = y.len();
    for (what, len) in
        [("treatment", t.len()), ("mu0", cf.mu0.len()), ("mu1", cf.mu1.len()), ("e", cf.e.len()), ("kept", kept.len())]
    {
        if len != n {
            return Err(InferenceError::LengthMismatch { what: format!("{what} and outcome"), left: len, right: n });
        }
    }
    if let Some(c) = clusters
        && c.len() != n
    {
        return Err(InferenceError::LengthMismatch { what: "clusters and outcome".into(), left: c.len(), right: n });
    }
    let idx: Vec<usize> = (0..n).filter(|&i| kept[i]).collect();
    let n1 = idx.iter().filter(|&&i| t[i] == 1).count();
    let n0 = idx.len() - n1;
    if n1 == 0 || n0 == 0 {
        return Err(InferenceError::data(format!(
            "after trimming, {n1} treated and {n0} control units remain; an average effect needs both arms"
        )));
    }
    let cl: Option<Vec<usize>> = clusters.map(|c| idx.iter().map(|&i| c[i]).collect());
    let cl = cl.as_deref();
    let (mut ate, mut att, mut atc) = (Vec::new(), Vec::new(), Vec::new());
    let (mut all, mut d1, mut d0) = (Vec::new(), Vec::new(), Vec::new());
    for &i in &idx {
        let (ti, yi, m0, m1, e) = (f64::from(t[i]), y[i], cf.mu0[i], cf.mu1[i], cf.e[i]);
        ate.push(m1 - m0 + ti * (yi - m1) / e - (1.0 - ti) * (yi - m0) / (1.0 - e));
        att.push(ti * (yi - m0) - (1.0 - ti) * e / (1.0 - e) * (yi - m0));
        atc.push((1.0 - ti) * (m1 - yi) + ti * (1.0 - e) / e * (yi - m1));
        all.push(1.0);
        d1.push(ti);
        d0.push(1.0 - ti);
    }
    let small = n1 < 2 || n0 < 2;
    let mut out = [
        estimand(&ate, &all, cl, level, "ATE")?,
        estimand(&att, &d1, cl, level, "ATT")?,
        estimand(&atc, &d0, cl, level, "ATC")?,
    ];
    if small {
        for e in &mut out {
            *e = Estimate::without_interval(
                e.estimate,
                level,
                "aipw",
                format!("an arm has fewer than two units ({n1} treated, {n0} control)"),
            );
        }
    }
    let [ate, att, atc] = out;
    Ok(Effects {
        ate,
        att,
        atc,
        n_used: idx.len(),
        n_trimmed: n - idx.len(),
        trim_limits: (0.0, 1.0),
        clusters: clusters.map(|c| c.iter().collect::<std::collections::BTreeSet<_>>().len()),
    })
}

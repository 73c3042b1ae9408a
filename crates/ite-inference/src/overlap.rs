//! Overlap (positivity) diagnostics and trimming.
//!
//! Every estimator of an average effect needs each kind of unit to have a real chance of both
//! treatments: where the propensity e(x) is near 0 or 1, one arm has (almost) no units to learn
//! from, inverse-propensity weights explode and model-based estimates extrapolate. This module
//! measures that ([`OverlapReport`]), turns it into warnings ([`OverlapReport::warnings`]) and
//! trims units with extreme propensities when asked ([`Trim`]).
//!
//! References: Crump, Hotz, Imbens & Mitnik (2009), "Dealing with limited overlap in estimation
//! of average treatment effects", Biometrika 96(1) (the trimming rule); Austin (2009), "Balance
//! diagnostics for comparing the distribution of baseline covariates between treatment groups
//! in propensity-score matched samples", Stat. Med. 28 (standardised mean differences, 0.25 rule
//! of thumb from Rubin 2001); Kish (1965) (effective sample size).

use serde::{Deserialize, Serialize};

use ite_core::stats::quantile;
use ite_core::{Covariates, Params, SettingsError};

use crate::error::{InferenceError, Result};

/// Which units an estimate keeps, by their propensity.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Trim {
    /// Keep every unit (the default).
    #[default]
    None,
    /// Keep units with `lower ≤ ê ≤ upper`.
    Fixed {
        /// Lowest propensity kept.
        lower: f64,
        /// Highest propensity kept.
        upper: f64,
    },
    /// The Crump et al. (2009) rule: keep `α ≤ ê ≤ 1 − α` with the α that minimises the
    /// asymptotic variance of the trimmed ATE (α = 0 when no trimming helps).
    Crump,
}

impl Trim {
    /// Checks the limits of [`Trim::Fixed`] (0 ≤ lower < upper ≤ 1).
    pub fn validate(&self) -> Result<()> {
        if let Trim::Fixed { lower, upper } = *self
            && !((0.0..1.0).contains(&lower) && lower < upper && upper <= 1.0)
        {
            return Err(SettingsError::text("trim", format!("{lower},{upper}"), "limits 0 ≤ lower < upper ≤ 1").into());
        }
        Ok(())
    }

    /// The limits `(lower, upper)` this rule applies to the propensities `e`.
    pub fn limits(&self, e: &[f64]) -> (f64, f64) {
        match *self {
            Trim::None => (0.0, 1.0),
            Trim::Fixed { lower, upper } => (lower, upper),
            Trim::Crump => {
                let a = crump_alpha(e);
                (a, 1.0 - a)
            }
        }
    }

    /// `kept[i]`: whether unit `i` stays, by its propensity.
    pub fn kept(&self, e: &[f64]) -> Vec<bool> {
        let (lo, hi) = self.limits(e);
        e.iter().map(|&v| lo <= v && v <= hi).collect()
    }
}

/// The α of Crump et al. (2009, Theorem 1): with g = 1/(e(1 − e)), no trimming when
/// max g ≤ 2·mean g; otherwise α = 1/2 − √(1/4 − 1/γ) for the γ solving γ = 2·E[g | g ≤ γ]
/// (over the observed g: on each interval between sorted values the right side is constant).
///
/// ```
/// // Good overlap: nothing trimmed.
/// assert_eq!(ite_inference::crump_alpha(&[0.3, 0.5, 0.6, 0.4]), 0.0);
/// // Most units at 0.5 (g = 4), a few extreme ones: γ = 2·4 = 8, α = 1/2 − √(1/8) ≈ 0.146.
/// let mut e = vec![0.5; 90];
/// e.extend([0.001, 0.002, 0.999, 0.998, 0.01, 0.02, 0.98, 0.97, 0.05, 0.95]);
/// let a = ite_inference::crump_alpha(&e);
/// assert!((a - (0.5 - 0.125f64.sqrt())).abs() < 1e-12, "{a}");
/// ```
pub fn crump_alpha(e: &[f64]) -> f64 {
    let mut g: Vec<f64> = e.iter().map(|&v| 1.0 / (v * (1.0 - v)).max(1e-12)).collect();
    if g.is_empty() {
        return 0.0;
    }
    g.sort_by(f64::total_cmp);
    let total: f64 = g.iter().sum();
    let max = g[g.len() - 1];
    if max <= 2.0 * total / g.len() as f64 {
        return 0.0;
    }
    // γ = 2·E[g | g ≤ γ] with the empirical distribution: on [g_k, g_{k+1}) the right side is
    // 2·mean(g_1..g_k), so the fixed point is the first such mean that falls in its own interval.
    let mut prefix = 0.0;
    let mut gamma = max;
    for (k, &v) in g.iter().enumerate() {
        prefix += v;
        let candidate = 2.0 * prefix / (k + 1) as f64;
        let next = g.get(k + 1).copied().unwrap_or(f64::INFINITY);
        if candidate >= v && candidate < next {
            gamma = candidate;
            break;
        }
    }
    let disc = (0.25 - 1.0 / gamma).max(0.0);
    0.5 - disc.sqrt()
}

/// Thresholds of the overlap report and its warnings.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `limits` | (0.05, 0.95) | propensities outside count as "outside the overlap limits" | 0 ≤ lower < upper ≤ 1 |
/// | `max_share_outside` | 0.10 | warn when a larger share of units is outside `limits` | [0, 1] |
/// | `min_arm_units` | 10 | warn when an arm has fewer units | ≥ 0 |
/// | `min_arm_share` | 0.02 | warn when an arm holds a smaller share of the units | [0, 1] |
/// | `max_abs_smd` | 0.25 | warn when a covariate's absolute standardised mean difference is larger (and larger than chance, see [`OverlapReport::smd_limit`]) | > 0 |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OverlapParams {
    /// Propensity limits.
    pub limits: (f64, f64),
    /// Largest share of units outside `limits` without a warning.
    pub max_share_outside: f64,
    /// Fewest units of an arm without a warning.
    pub min_arm_units: usize,
    /// Smallest share of an arm without a warning.
    pub min_arm_share: f64,
    /// Largest |SMD| without a warning.
    pub max_abs_smd: f64,
}

impl Default for OverlapParams {
    fn default() -> Self {
        OverlapParams {
            limits: (0.05, 0.95),
            max_share_outside: 0.10,
            min_arm_units: 10,
            min_arm_share: 0.02,
            max_abs_smd: 0.25,
        }
    }
}

impl Params for OverlapParams {
    type Error = InferenceError;

    fn validate(&self) -> Result<()> {
        let (lo, hi) = self.limits;
        if !((0.0..1.0).contains(&lo) && lo < hi && hi <= 1.0) {
            return Err(SettingsError::text("overlap.limits", format!("{lo},{hi}"), "0 ≤ lower < upper ≤ 1").into());
        }
        for (name, v) in
            [("overlap.max_share_outside", self.max_share_outside), ("overlap.min_arm_share", self.min_arm_share)]
        {
            if !(0.0..=1.0).contains(&v) {
                return Err(SettingsError::new(name, v, "a number in [0, 1]").into());
            }
        }
        if !(self.max_abs_smd > 0.0 && self.max_abs_smd.is_finite()) {
            return Err(SettingsError::new("overlap.max_abs_smd", self.max_abs_smd, "a finite number > 0").into());
        }
        Ok(())
    }
}

/// Quantiles of the propensity in one arm: min, 5%, 25%, median, 75%, 95%, max.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PropensityQuantiles {
    /// Smallest propensity.
    pub min: f64,
    /// 5% quantile.
    pub q05: f64,
    /// 25% quantile.
    pub q25: f64,
    /// Median.
    pub median: f64,
    /// 75% quantile.
    pub q75: f64,
    /// 95% quantile.
    pub q95: f64,
    /// Largest propensity.
    pub max: f64,
}

impl PropensityQuantiles {
    fn of(v: &[f64]) -> Option<Self> {
        if v.is_empty() {
            return None;
        }
        let q = |p| quantile(v, p);
        Some(PropensityQuantiles {
            min: q(0.0),
            q05: q(0.05),
            q25: q(0.25),
            median: q(0.5),
            q75: q(0.75),
            q95: q(0.95),
            max: q(1.0),
        })
    }
}

/// The balance of one covariate between the arms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CovariateBalance {
    /// Covariate name.
    pub name: String,
    /// Standardised mean difference (mean₁ − mean₀) / √((s₁² + s₀²)/2); 0 when both variances are 0.
    pub smd: f64,
}

/// Overlap diagnostics of one dataset (propensities from a cross-fitted model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverlapReport {
    /// Units.
    pub n: usize,
    /// Treated units.
    pub n_treated: usize,
    /// Control units.
    pub n_control: usize,
    /// Propensity limits used for `share_outside`.
    pub limits: (f64, f64),
    /// Units with a propensity outside `limits`.
    pub n_outside: usize,
    /// `n_outside / n`.
    pub share_outside: f64,
    /// Propensity quantiles among the treated (`None` for an empty arm).
    pub propensity_treated: Option<PropensityQuantiles>,
    /// Propensity quantiles among the controls.
    pub propensity_control: Option<PropensityQuantiles>,
    /// Standardised mean difference of each covariate, in column order.
    pub balance: Vec<CovariateBalance>,
    /// Kish effective sample size of the treated under ATE weights 1/ê: (Σw)²/Σw².
    pub ess_treated: f64,
    /// Kish effective sample size of the controls under ATE weights 1/(1 − ê).
    pub ess_control: f64,
    /// The thresholds of [`OverlapReport::warnings`].
    pub params: OverlapParams,
    /// Clusters with treated units and with control units, when units come in clusters (set by
    /// [`OverlapReport::with_clusters`]): the chance limit of the SMD then counts clusters.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clusters: Option<(usize, usize)>,
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / n;
    let var = if n > 1.0 { v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (m, var)
}

fn kish(w: impl Iterator<Item = f64> + Clone) -> f64 {
    let s: f64 = w.clone().sum();
    let s2: f64 = w.map(|a| a * a).sum();
    if s2 > 0.0 { s * s / s2 } else { 0.0 }
}

impl OverlapReport {
    /// Diagnostics of covariates `x`, treatment `t` and propensities `e` (one per unit).
    ///
    /// # Errors
    /// [`InferenceError::LengthMismatch`] when the lengths differ; settings errors from `params`.
    pub fn new(x: &Covariates, t: &[u8], e: &[f64], params: OverlapParams) -> Result<Self> {
        params.validate()?;
        for (what, len) in [("treatment", t.len()), ("propensities", e.len())] {
            if len != x.n_rows() {
                return Err(InferenceError::LengthMismatch {
                    what: format!("{what} and covariates"),
                    left: len,
                    right: x.n_rows(),
                });
            }
        }
        let n = t.len();
        let n_treated = t.iter().filter(|&&a| a == 1).count();
        let (lo, hi) = params.limits;
        let n_outside = e.iter().filter(|&&v| v < lo || v > hi).count();
        let arm = |a: u8| -> Vec<f64> { e.iter().zip(t).filter(|(_, s)| **s == a).map(|(v, _)| *v).collect() };
        let balance = (0..x.n_cols())
            .map(|j| {
                let col =
                    |a: u8| -> Vec<f64> { x.rows().zip(t).filter(|(_, s)| **s == a).map(|(r, _)| r[j]).collect() };
                let (m1, v1) = mean_var(&col(1));
                let (m0, v0) = mean_var(&col(0));
                let pooled = ((v1 + v0) / 2.0).sqrt();
                let smd = if pooled > 0.0 { (m1 - m0) / pooled } else { 0.0 };
                CovariateBalance { name: x.names()[j].clone(), smd: if smd.is_finite() { smd } else { 0.0 } }
            })
            .collect();
        let w1 = e.iter().zip(t).filter(|(_, s)| **s == 1).map(|(v, _)| 1.0 / v);
        let w0 = e.iter().zip(t).filter(|(_, s)| **s == 0).map(|(v, _)| 1.0 / (1.0 - v));
        Ok(OverlapReport {
            n,
            n_treated,
            n_control: n - n_treated,
            limits: params.limits,
            n_outside,
            share_outside: if n > 0 { n_outside as f64 / n as f64 } else { 0.0 },
            propensity_treated: PropensityQuantiles::of(&arm(1)),
            propensity_control: PropensityQuantiles::of(&arm(0)),
            balance,
            ess_treated: kish(w1),
            ess_control: kish(w0),
            params,
            clusters: None,
        })
    }

    /// The report for units in clusters: `codes[i]` is unit `i`'s cluster. Covariates of a
    /// cluster's units move together, so chance imbalance is set by the number of clusters per
    /// arm (clusters holding treated units, clusters holding controls), not of units.
    ///
    /// # Errors
    /// [`InferenceError::LengthMismatch`] when `codes` and `t` differ in length.
    pub fn with_clusters(mut self, t: &[u8], codes: &[usize]) -> Result<Self> {
        if codes.len() != t.len() {
            return Err(InferenceError::LengthMismatch {
                what: "cluster codes and treatment".into(),
                left: codes.len(),
                right: t.len(),
            });
        }
        self.clusters = Some(crate::folds::clusters_per_arm(t, codes));
        Ok(self)
    }

    /// The |SMD| above which a covariate is reported as imbalanced: `max_abs_smd`, or, when larger,
    /// what chance alone exceeds with probability 1% over all covariates of a randomized sample
    /// (z at 1 − 0.005/p times √(1/n₁ + 1/n₀), Bonferroni over p covariates; n₁, n₀ count
    /// clusters after [`OverlapReport::with_clusters`]). Without the second
    /// term a randomized sample of 50 units would be reported imbalanced about half the time.
    pub fn smd_limit(&self) -> f64 {
        let p = self.balance.len().max(1) as f64;
        let (n1, n0) = self.clusters.unwrap_or((self.n_treated, self.n_control));
        if n1 == 0 || n0 == 0 {
            return self.params.max_abs_smd;
        }
        let chance =
            crate::estimate::z_two_sided(1.0 - 0.01 / p).unwrap_or(2.576) * (1.0 / n1 as f64 + 1.0 / n0 as f64).sqrt();
        self.params.max_abs_smd.max(chance)
    }

    /// Decimals, at least `min` (and at most 6), at which every |SMD| over [`Self::smd_limit`]
    /// prints larger than the limit, so that a flagged covariate never reads as equal to it.
    pub fn smd_decimals(&self, min: usize) -> usize {
        let limit = self.smd_limit();
        let flagged: Vec<f64> = self.balance.iter().map(|b| b.smd.abs()).filter(|&s| s > limit).collect();
        (min..6).find(|&d| flagged.iter().all(|s| format!("{s:.d$}") != format!("{limit:.d$}"))).unwrap_or(6)
    }

    /// One sentence per problem the data have for estimating an average effect: too many units
    /// outside the propensity limits, an arm too small, a covariate badly imbalanced. Empty when
    /// nothing is wrong.
    pub fn warnings(&self) -> Vec<String> {
        let p = &self.params;
        let mut out = Vec::new();
        if self.share_outside > p.max_share_outside {
            out.push(format!(
                "limited overlap: {:.1}% of units ({} of {}) have an estimated propensity outside [{}, {}]; \
                 estimates there extrapolate and weighted estimates are unstable (consider --trim)",
                100.0 * self.share_outside,
                self.n_outside,
                self.n,
                self.limits.0,
                self.limits.1
            ));
        }
        for (name, k) in [("treated", self.n_treated), ("control", self.n_control)] {
            let share = if self.n > 0 { k as f64 / self.n as f64 } else { 0.0 };
            if k < p.min_arm_units || share < p.min_arm_share {
                out.push(format!(
                    "small arm: the {name} arm has {k} of {} units ({:.1}%); effects are estimated mostly by \
                     extrapolation and intervals may not hold their level",
                    self.n,
                    100.0 * share
                ));
            }
        }
        let limit = self.smd_limit();
        let d = self.smd_decimals(2);
        let bad: Vec<String> = self
            .balance
            .iter()
            .filter(|b| b.smd.abs() > limit)
            .map(|b| format!("{} ({:+.d$})", b.name, b.smd))
            .collect();
        if !bad.is_empty() {
            out.push(format!(
                "imbalance: standardised mean difference above {limit:.d$} for {}; the arms differ in these \
                 covariates, so a difference in means is confounded and the estimate rests on the models",
                bad.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smd_and_ess_match_their_formulas() {
        let x = Covariates::with_default_names(vec![0.0, 2.0, 1.0, 3.0], 1).unwrap();
        let t = [0u8, 0, 1, 1];
        let e = [0.5, 0.5, 0.25, 0.5];
        let r = OverlapReport::new(&x, &t, &e, OverlapParams::default()).unwrap();
        // means 1 and 2, variances 2 and 2 → SMD 1/√2.
        assert!((r.balance[0].smd - 1.0 / 2f64.sqrt()).abs() < 1e-12);
        // treated weights 4 and 2: (6)²/(16+4) = 1.8.
        assert!((r.ess_treated - 1.8).abs() < 1e-12);
        assert!((r.ess_control - 2.0).abs() < 1e-12);
        assert_eq!(r.n_outside, 0);
    }

    #[test]
    fn a_flagged_smd_never_prints_equal_to_the_limit() {
        let x = Covariates::with_default_names(vec![0.0, 2.0, 1.0, 3.0], 1).unwrap();
        let mut r = OverlapReport::new(&x, &[0, 0, 1, 1], &[0.5; 4], OverlapParams::default()).unwrap();
        r.clusters = Some((1000, 1000)); // a chance limit far below the fixed one
        r.params.max_abs_smd = 0.4166;
        r.balance[0].smd = -0.4171;
        assert_eq!(format!("{:.2}", r.smd_limit()), format!("{:.2}", r.balance[0].smd.abs()));
        assert_eq!(r.smd_decimals(2), 4, "0.42 and 0.417 would show the two as equal");
        let warning = r.warnings().join(" ");
        assert!(warning.contains("above 0.4166 for") && warning.contains("(-0.4171)"), "{warning}");
        r.balance[0].smd = 0.9;
        assert_eq!(r.smd_decimals(2), 2);
        assert_eq!(r.smd_decimals(3), 3);
    }

    #[test]
    fn trimming_rules() {
        let e = [0.01, 0.5, 0.99, 0.3];
        assert_eq!(Trim::Fixed { lower: 0.05, upper: 0.95 }.kept(&e), vec![false, true, false, true]);
        assert_eq!(Trim::None.kept(&e), vec![true; 4]);
        assert!(Trim::Fixed { lower: 0.6, upper: 0.4 }.validate().is_err());
    }
}

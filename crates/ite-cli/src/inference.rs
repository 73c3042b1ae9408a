//! The inference part of `ite fit`, `ite transfer` and `ite describe`: the flags (`--folds`,
//! `--level`, `--trim`, `--cluster`, `--propensity`), the cross-fitted AIPW estimates of the ATE,
//! ATT and ATC (`ite-inference`), the overlap diagnostics, the warnings, and the words that say
//! what each interval covers and under which assumptions.

use anyhow::{Context, Result};
use ite_core::{CausalData, Covariates, CsvLayout, RawCsv, Seed};
use ite_inference::{
    AipwParams, AipwReport, Estimate, Folds, OutcomeLearner, OverlapParams, OverlapReport, PropensityLearner,
    PropensityParams, Trim, cluster_codes,
};
use ite_nets::MlpPropensityParams;
use serde_json::{Value, json};

/// What the intervals rest on, in one sentence (`inference.assumptions` in summary.json).
pub const ASSUMPTIONS: &str = "The AIPW intervals are valid if treatment is unconfounded given the covariates (no \
     unmeasured confounder) and every unit could get either treatment (overlap); the estimate stays consistent when \
     either the outcome model or the propensity model is right, and the interval needs both to be estimated well \
     (cross-fitting keeps the model's own fit out of each unit's score).";

/// The flags of the doubly robust estimates (`ite fit`, `ite transfer`).
#[derive(Debug, Clone, clap::Args)]
pub struct InferenceArgs {
    /// Folds of cross-fitting for the AIPW estimates of ATE, ATT and ATC (≥ 2; each arm needs at
    /// least this many units). The model is fitted once more per fold. With `--strategy auto` or
    /// `--model auto`, also the folds each candidate is scored on.
    #[arg(long, value_name = "K", default_value_t = 5, value_parser = parse_folds)]
    pub folds: usize,
    /// Nominal coverage of every interval, a number in (0, 1).
    #[arg(long, value_name = "L", default_value_t = 0.95, value_parser = parse_level)]
    pub level: f64,
    /// Which units the AIPW estimates keep, by estimated propensity ê: `none`, `crump` (the rule
    /// of Crump et al. 2009) or `LO,HI` (keep LO ≤ ê ≤ HI, e.g. 0.05,0.95). Trimming changes
    /// the estimand to the kept units.
    #[arg(long, value_name = "none|crump|LO,HI", default_value = "none", value_parser = parse_trim, allow_hyphen_values = true)]
    pub trim: Trim,
    /// Column of cluster labels (households, schools, a person's repeated rows): folds keep a
    /// cluster together, standard errors are cluster-robust and --bootstrap resamples whole
    /// clusters. Not a covariate; it may be the --id column.
    #[arg(long, value_name = "COL")]
    pub cluster: Option<String>,
    /// The propensity model of the AIPW estimates and the overlap diagnostics, cross-fitted on
    /// the same folds: `logistic` (L2 logistic regression) or `mlp` (a small network, hidden
    /// layers 32, 32, trained by cross-entropy with early stopping; for propensities that are
    /// not linear in the logit, at the cost of a network fit per fold).
    #[arg(long, value_name = "logistic|mlp", value_enum, default_value = "logistic")]
    pub propensity: PropensityModel,
}

/// The `--propensity` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PropensityModel {
    /// L2 logistic regression (`ite_inference::PropensityParams`).
    Logistic,
    /// A small MLP (`ite_nets::MlpPropensityParams`).
    Mlp,
}

impl PropensityModel {
    /// The name summary.json records (`inference.propensity_model`).
    pub fn name(self) -> &'static str {
        match self {
            PropensityModel::Logistic => "logistic",
            PropensityModel::Mlp => "mlp",
        }
    }

    /// The model in words, for the overlap's `propensity_model`.
    fn description(self) -> &'static str {
        match self {
            PropensityModel::Logistic => "logistic regression (L2)",
            PropensityModel::Mlp => "MLP (hidden layers 32, 32; cross-entropy, early stopping)",
        }
    }
}

fn parse_folds(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if k >= 2 => Ok(k),
        _ => Err(format!("`{s}`: expected an integer ≥ 2 (the number of cross-fitting folds)")),
    }
}

fn parse_level(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        Ok(v) if (1.0..100.0).contains(&v) => {
            Err(format!("`{s}`: expected a number in (0, 1), e.g. 0.95 (a share, not a percentage)"))
        }
        _ => Err(format!("`{s}`: expected a number in (0, 1), e.g. 0.95")),
    }
}

fn parse_trim(s: &str) -> Result<Trim, String> {
    let expected = "expected `none`, `crump` or LO,HI with 0 ≤ LO < HI ≤ 1 (e.g. 0.05,0.95)";
    match s.trim() {
        "none" => Ok(Trim::None),
        "crump" => Ok(Trim::Crump),
        other => {
            let (lo, hi) = other.split_once(',').ok_or_else(|| format!("`{s}`: {expected}"))?;
            let (Ok(lower), Ok(upper)) = (lo.trim().parse::<f64>(), hi.trim().parse::<f64>()) else {
                return Err(format!("`{s}`: {expected}"));
            };
            let trim = Trim::Fixed { lower, upper };
            trim.validate().map_err(|_| format!("`{s}`: {expected}"))?;
            Ok(trim)
        }
    }
}

impl InferenceArgs {
    /// The AIPW settings these flags describe.
    pub fn params(&self) -> AipwParams {
        AipwParams { folds: self.folds, level: self.level, trim: self.trim, ..AipwParams::default() }
    }

    /// `layout` with the cluster column's role.
    pub fn layout(&self, mut layout: CsvLayout) -> CsvLayout {
        layout.cluster.clone_from(&self.cluster);
        layout
    }

    /// The `--trim` value as the user writes it.
    fn trim_text(&self) -> String {
        match self.trim {
            Trim::None => "none".into(),
            Trim::Crump => "crump".into(),
            Trim::Fixed { lower, upper } => format!("{lower},{upper}"),
        }
    }
}

/// The cluster labels of a file, as codes.
#[derive(Debug, Clone)]
pub struct Clusters {
    /// The column they come from.
    pub column: String,
    /// One code per row, `0..count`.
    pub codes: Vec<usize>,
    /// Number of clusters.
    pub count: usize,
}

impl Clusters {
    /// The `--cluster` labels of the `kept` rows of `raw` (none when the flag is absent).
    pub fn read(column: Option<&str>, raw: &RawCsv, kept: &[usize]) -> Result<Option<Self>> {
        let Some(column) = column else { return Ok(None) };
        let labels = raw.labels(column, kept).with_context(|| format!("--cluster {column}"))?;
        let (codes, count) = cluster_codes(&labels);
        Ok(Some(Clusters { column: column.to_string(), codes, count }))
    }
}

/// Propensities for the overlap report when there are no AIPW ones: cross-fitted on `k` folds
/// where the arms allow, else fitted in-sample; with a description of which.
fn propensities(
    x: &Covariates,
    t: &[u8],
    k: usize,
    clusters: Option<&Clusters>,
    seed: Seed,
) -> Result<(Vec<f64>, String), String> {
    let p = PropensityParams::default();
    let folds = Folds::for_units(t, clusters.map(|c| c.codes.as_slice()), k, seed.stream("folds"));
    if let Ok(folds) = folds
        && let Ok(e) = p.cross_fit(x, t, &folds)
    {
        return Ok((e, format!("logistic regression (L2), cross-fitted on {k} folds")));
    }
    let all: Vec<usize> = (0..t.len()).collect();
    let fitted = p.fit(x, t, &all).map_err(|e| e.to_string())?;
    Ok((
        fitted.predict_rows(x, &all),
        "logistic regression (L2), fitted on all units (too few units for cross-fitting)".into(),
    ))
}

/// The overlap diagnostics of a dataset, with the description of its propensity model.
#[derive(Debug, Clone)]
pub struct Overlap {
    /// The report.
    pub report: OverlapReport,
    /// How the propensities were estimated.
    pub propensity_model: String,
    /// The estimated propensity of every unit (for the overlap figure).
    pub e: Vec<f64>,
}

impl Overlap {
    /// Diagnostics from given propensities.
    fn from_e(
        x: &Covariates,
        t: &[u8],
        e: &[f64],
        clusters: Option<&Clusters>,
        propensity_model: String,
    ) -> Result<Self, String> {
        let mut report = OverlapReport::new(x, t, e, OverlapParams::default()).map_err(|e| e.to_string())?;
        if let Some(c) = clusters {
            report = report.with_clusters(t, &c.codes).map_err(|e| e.to_string())?;
        }
        Ok(Overlap { report, propensity_model, e: e.to_vec() })
    }

    /// Diagnostics with propensities estimated here (5 folds where the arms allow), for `ite
    /// describe` and when the AIPW estimates could not be made.
    pub fn estimate(x: &Covariates, t: &[u8], clusters: Option<&Clusters>, seed: Seed) -> Result<Self, String> {
        let (e, model) = propensities(x, t, 5, clusters, seed)?;
        Overlap::from_e(x, t, &e, clusters, model)
    }

    /// The report as JSON, with `propensity_model` and `smd_limit` (the |SMD| above which a
    /// covariate is reported imbalanced).
    pub fn json(&self) -> Value {
        let mut v = serde_json::to_value(&self.report).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert("propensity_model".into(), json!(self.propensity_model));
            o.insert("smd_limit".into(), json!(self.report.smd_limit()));
        }
        v
    }

    /// Plain lines for `ite describe`.
    pub fn lines(&self) -> Vec<String> {
        let r = &self.report;
        let q = |p: &Option<ite_inference::PropensityQuantiles>| match p {
            Some(q) => format!(
                "min {:.3}  5% {:.3}  25% {:.3}  median {:.3}  75% {:.3}  95% {:.3}  max {:.3}",
                q.min, q.q05, q.q25, q.median, q.q75, q.q95, q.max
            ),
            None => "no units".into(),
        };
        let mut out = vec![
            format!("propensity  {}", self.propensity_model),
            format!("  treated   {}", q(&r.propensity_treated)),
            format!("  control   {}", q(&r.propensity_control)),
            format!(
                "outside     {} of {} units ({:.1}%) have a propensity outside [{}, {}]",
                r.n_outside,
                r.n,
                100.0 * r.share_outside,
                r.limits.0,
                r.limits.1
            ),
            format!(
                "ESS         treated {:.1} of {}, control {:.1} of {} (Kish, inverse-propensity weights)",
                r.ess_treated, r.n_treated, r.ess_control, r.n_control
            ),
            format!(
                "SMD         standardised mean differences (imbalanced above {:.d$}{}):",
                r.smd_limit(),
                // Above 1 the limit is chance's with few units or clusters in an arm.
                if r.smd_limit() > 1.0 {
                    ": with so few units or clusters per arm chance alone makes large differences, so only an \
                     extreme one is flagged"
                } else {
                    ""
                },
                d = r.smd_decimals(2)
            ),
        ];
        let width = r.balance.iter().map(|b| b.name.chars().count()).max().unwrap_or(0).min(30);
        let d = r.smd_decimals(3);
        for b in &r.balance {
            let flag = if b.smd.abs() > r.smd_limit() { "  imbalanced" } else { "" };
            out.push(format!("  {:<width$}  {:+.d$}{flag}", b.name, b.smd));
        }
        out
    }
}

/// The warning about repeated ids without `--cluster`, when ids repeat.
pub fn repeated_ids_warning(ids: Option<&[String]>, clusters: Option<&Clusters>) -> Option<String> {
    if clusters.is_some() {
        return None;
    }
    let mut count = std::collections::HashMap::<&str, usize>::new();
    for id in ids? {
        *count.entry(id.as_str()).or_default() += 1;
    }
    let repeated: Vec<usize> = count.values().copied().filter(|&c| c > 1).collect();
    if repeated.is_empty() {
        return None;
    }
    Some(format!(
        "repeated ids without --cluster: {} ids appear more than once ({} rows); rows of one unit are not \
         independent, and treating copies as new units shrinks the standard error: pass --cluster with the id \
         column (or a column of the groups) for cluster-robust intervals",
        repeated.len(),
        repeated.iter().sum::<usize>()
    ))
}

/// Fewest clusters without a warning: cluster-robust standard errors are biased downward with
/// few clusters (Cameron & Miller 2015, "A practitioner's guide to cluster-robust inference",
/// J. Human Resources 50(2)); with 4 clusters assigned by cluster, 95% intervals covered 87 of 100
/// simulated datasets.
pub const MIN_CLUSTERS: usize = 30;

/// A warning when `--cluster` gives fewer than [`MIN_CLUSTERS`] clusters, or an arm lies in fewer
/// than 10 clusters.
pub fn few_clusters_warning(t: &[u8], clusters: Option<&Clusters>) -> Option<String> {
    let c = clusters?;
    let (g1, g0) = ite_inference::clusters_per_arm(t, &c.codes);
    (c.count < MIN_CLUSTERS || g1 < 10 || g0 < 10).then(|| {
        format!(
            "few clusters: {} clusters of `{}` ({g1} with treated units, {g0} with controls); cluster-robust \
             standard errors are too small with fewer than about {MIN_CLUSTERS} clusters, so the intervals may cover \
             less than their level",
            c.count, c.column
        )
    })
}

/// The AIPW estimates of one dataset (or why there are none), its overlap and warnings.
#[derive(Debug)]
pub struct Inference {
    /// The report, or the reason there is none.
    pub aipw: std::result::Result<AipwReport, String>,
    /// Overlap diagnostics (none when not even a propensity could be fitted).
    pub overlap: Option<Overlap>,
    /// Every warning, in order.
    pub warnings: Vec<String>,
    /// Units of the data.
    pub n: usize,
    /// Treated and control units the estimates use.
    pub arms: (usize, usize),
}

/// Runs cross-fitted AIPW of `data` with `learner`; an estimate that the data cannot support
/// (an arm smaller than the folds, a model failing on a fold) becomes a reason and a warning,
/// not an error: the model's predictions are still written.
pub fn run<L: OutcomeLearner + ?Sized>(
    data: &CausalData,
    learner: &L,
    args: &InferenceArgs,
    clusters: Option<&Clusters>,
    seed: Seed,
) -> Inference {
    let params = args.params();
    let mlp = MlpPropensityParams::default();
    let propensity: &dyn PropensityLearner = match args.propensity {
        PropensityModel::Logistic => &params.propensity,
        PropensityModel::Mlp => &mlp,
    };
    let aipw = params
        .estimate_with(data, learner, propensity, clusters.map(|c| c.codes.as_slice()), seed)
        .map_err(|e| e.to_string());
    let overlap = match &aipw {
        Ok(r) => Overlap::from_e(
            data.x(),
            data.t(),
            &r.cross_fit.e,
            clusters,
            format!(
                "{}, cross-fitted on the {} folds of the AIPW estimates",
                args.propensity.description(),
                args.folds
            ),
        ),
        Err(_) => Overlap::estimate(data.x(), data.t(), clusters, seed),
    };
    let mut warnings = Vec::new();
    let overlap = match overlap {
        Ok(o) => {
            warnings.extend(o.report.warnings());
            Some(o)
        }
        Err(e) => {
            warnings.push(format!("no overlap diagnostics: the propensity model failed: {e}"));
            None
        }
    };
    match &aipw {
        Err(why) => warnings.push(format!("no AIPW estimates of ATE, ATT and ATC: {why}")),
        Ok(r) if r.effects.n_trimmed > 0 => {
            let (lo, hi) = r.effects.trim_limits;
            warnings.push(format!(
                "trimming (--trim {}) dropped {} of {} units with an estimated propensity outside [{lo:.3}, {hi:.3}]: \
                 ATE, ATT and ATC are averages over the {} kept units, not over all units",
                args.trim_text(),
                r.effects.n_trimmed,
                data.n(),
                r.effects.n_used
            ));
        }
        Ok(_) => {}
    }
    if let Ok(r) = &aipw {
        let e = &r.effects;
        warnings.extend(beyond_risk_difference_warnings(data.y(), [("ATE", &e.ate), ("ATT", &e.att), ("ATC", &e.atc)]));
    }
    warnings.extend(repeated_ids_warning(data.ids(), clusters));
    warnings.extend(few_clusters_warning(data.t(), clusters));
    let kept = |i: usize| aipw.as_ref().map_or(true, |r| r.kept[i]);
    let n1 = (0..data.n()).filter(|&i| kept(i) && data.t()[i] == 1).count();
    let n0 = (0..data.n()).filter(|&i| kept(i) && data.t()[i] == 0).count();
    Inference { aipw, overlap, warnings, n: data.n(), arms: (n1, n0) }
}

/// On an outcome that is 0 or 1 for every unit, any average effect is a risk difference in
/// [−1, 1]: an AIPW interval reaching past that range says the data cannot support the estimate
/// (typically a few units of one arm carry most of the inverse-propensity weight). One warning
/// per such estimate.
fn beyond_risk_difference_warnings(y: &[f64], estimates: [(&str, &Estimate); 3]) -> Vec<String> {
    if !y.iter().all(|&v| v == 0.0 || v == 1.0) {
        return Vec::new();
    }
    estimates
        .into_iter()
        .filter_map(|(name, e)| match (e.lower, e.upper) {
            (Some(lo), Some(hi)) if lo < -1.0 || hi > 1.0 => Some(format!(
                "the {name}'s interval [{lo:.3}, {hi:.3}] reaches past [-1, 1], the range of any effect on a 0/1 \
                 outcome: the data cannot support this estimate (few units carry most of the weight; see the overlap \
                 diagnostics and the effective sample sizes)"
            )),
            _ => None,
        })
        .collect()
}

/// An estimate as JSON: [`Estimate`]'s fields, or all null but `level`, `method` and `undefined`.
fn estimate_json(e: Option<&Estimate>, level: f64, why: &str) -> Value {
    match e {
        Some(e) => serde_json::to_value(e).unwrap_or(Value::Null),
        None => json!({
            "estimate": null, "se": null, "lower": null, "upper": null,
            "level": level, "method": "aipw", "undefined": why,
        }),
    }
}

impl Inference {
    /// The summary keys: `ate`, `att`, `atc`, `overlap`, `warnings`, `inference`, and with truth
    /// in `data`, `ate_true`, `att_true`, `atc_true` over the units the estimates use.
    pub fn json(&self, data: &CausalData, args: &InferenceArgs, clusters: Option<&Clusters>) -> Value {
        let why = self.aipw.as_ref().err().map_or("", String::as_str);
        let effects = self.aipw.as_ref().ok().map(|r| &r.effects);
        let mut v = json!({
            "ate": estimate_json(effects.map(|e| &e.ate), args.level, why),
            "att": estimate_json(effects.map(|e| &e.att), args.level, why),
            "atc": estimate_json(effects.map(|e| &e.atc), args.level, why),
            "overlap": self.overlap.as_ref().map(Overlap::json),
            "warnings": self.warnings,
            "inference": {
                "method": "aipw",
                "folds": args.folds,
                "level": args.level,
                "trim": args.trim,
                "n_used": effects.map(|e| e.n_used),
                "n_trimmed": effects.map(|e| e.n_trimmed),
                "trim_limits": effects.map(|e| [e.trim_limits.0, e.trim_limits.1]),
                "clusters": clusters.map(|c| c.count),
                "cluster_column": clusters.map(|c| c.column.clone()),
                "propensity": PropensityParams::default(),
                "propensity_model": args.propensity.name(),
                "assumptions": ASSUMPTIONS,
            },
        });
        if let Some(truth) = data.truth() {
            let kept = self.aipw.as_ref().map(|r| r.kept.clone()).unwrap_or_else(|_| vec![true; data.n()]);
            let mean = |arm: Option<u8>| -> Option<f64> {
                let ite: Vec<f64> = (0..data.n())
                    .filter(|&i| kept[i] && arm.is_none_or(|a| data.t()[i] == a))
                    .map(|i| truth.mu1[i] - truth.mu0[i])
                    .collect();
                (!ite.is_empty()).then(|| ite.iter().sum::<f64>() / ite.len() as f64)
            };
            v["ate_true"] = json!(mean(None));
            v["att_true"] = json!(mean(Some(1)));
            v["atc_true"] = json!(mean(Some(0)));
        }
        v
    }

    /// The plain lines: ATE, ATT, ATC with what each covers, and the assumptions once.
    pub fn lines(&self, args: &InferenceArgs, clusters: Option<&Clusters>) -> Vec<String> {
        let r = match &self.aipw {
            Ok(r) => r,
            Err(why) => return vec![format!("ATE, ATT, ATC: no AIPW estimate ({why})")],
        };
        let e = &r.effects;
        let (n1, n0) = self.arms;
        let mut how = format!("cross-fitted AIPW, {} folds", args.folds);
        if let Some(c) = clusters {
            how.push_str(&format!(", standard errors robust to {} clusters of `{}`", c.count, c.column));
        }
        let units = if e.n_trimmed > 0 {
            format!("these {} units (of {}; {} trimmed by propensity)", e.n_used, self.n, e.n_trimmed)
        } else {
            format!("these {} units", e.n_used)
        };
        vec![
            format!(
                "{} ({how}): the average effect over the population {units} represent; valid if treatment is \
                 unconfounded given the covariates and every unit could get either treatment (overlap).",
                interval_text("ATE", &e.ate)
            ),
            format!("{}: the average effect on units like the {n1} treated ones.", interval_text("ATT", &e.att)),
            format!("{}: the average effect on units like the {n0} controls.", interval_text("ATC", &e.atc)),
        ]
    }
}

/// The plain line of the true ATE, ATT, ATC (when the data hold mu0, mu1), and whether each
/// interval holds its truth.
pub fn truth_line(summary: &Value) -> Option<String> {
    summary["ate_true"].as_f64()?;
    let part = |name: &str, key: &str| -> Option<String> {
        let truth = summary[format!("{key}_true")].as_f64()?;
        let e = &summary[key];
        let held = match (e["lower"].as_f64(), e["upper"].as_f64()) {
            (Some(lo), Some(hi)) if lo <= truth && truth <= hi => " (in its interval)",
            (Some(_), Some(_)) => " (outside its interval)",
            _ => "",
        };
        Some(format!("{name} {truth:.4}{held}"))
    };
    let parts: Vec<String> =
        [("ATE", "ate"), ("ATT", "att"), ("ATC", "atc")].iter().filter_map(|(n, k)| part(n, k)).collect();
    // The plug-in interval is over the predicted rows: it is checked against their own true
    // mean ITE (absent when those rows carry no truth).
    let plugin = &summary["ate_plugin"];
    let in_plugin = match (plugin["lower"].as_f64(), plugin["upper"].as_f64(), summary["ate_true_predicted"].as_f64()) {
        (Some(lo), Some(hi), Some(m)) => {
            let side = if lo <= m && m <= hi { "inside" } else { "outside" };
            format!("; the predicted rows' true mean ITE {m:.4} is {side} the plug-in (bootstrap) interval")
        }
        _ => String::new(),
    };
    Some(format!("truth (mu0, mu1 in the data): {}{in_plugin}", parts.join(", ")))
}

/// Decimals that show a number at the precision of `reference` (its standard error, or itself).
pub fn decimals(reference: f64) -> usize {
    if !(reference.is_finite() && reference > 0.0) {
        return 4;
    }
    (3 - reference.log10().floor() as i64).clamp(0, 8) as usize
}

/// A level as a percentage: 0.95 → "95%", 0.995 → "99.5%".
pub fn percent(level: f64) -> String {
    let s = format!("{:.4}", 100.0 * level);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// `NAME est, L% interval [lo, hi]`, or `NAME est, no interval (why)`.
pub fn interval_text(name: &str, e: &Estimate) -> String {
    let d = decimals(e.se.filter(|s| *s > 0.0).unwrap_or(e.estimate.abs()));
    match (e.lower, e.upper) {
        (Some(lo), Some(hi)) => {
            format!("{name} {:.d$}, {} interval [{lo:.d$}, {hi:.d$}]", e.estimate, percent(e.level))
        }
        _ => format!(
            "{name} {:.d$}, no {} interval ({})",
            e.estimate,
            percent(e.level),
            e.undefined.as_deref().unwrap_or("undefined")
        ),
    }
}

#[cfg(test)]
mod tests {
    /// The plug-in interval is checked against the predicted rows' own true mean ITE, which
    /// with `--predict` is not the training sample's ATE; without it, nothing is claimed.
    #[test]
    fn the_plugin_interval_is_checked_against_the_predicted_rows_truth() {
        let mut summary = serde_json::json!({
            "ate_true": 1.97, "ate": { "lower": 1.5, "upper": 2.5 },
            "ate_plugin": { "estimate": 2.9, "lower": 2.01, "upper": 3.81 },
            "ate_true_predicted": 2.81,
        });
        let line = super::truth_line(&summary).unwrap();
        assert!(line.contains("ATE 1.9700 (in its interval)"), "{line}");
        assert!(line.contains("the predicted rows' true mean ITE 2.8100 is inside the plug-in"), "{line}");
        summary["ate_true_predicted"] = serde_json::Value::Null;
        assert!(!super::truth_line(&summary).unwrap().contains("plug-in"));
    }

    /// On a 0/1 outcome an interval past [−1, 1] is warned about, once per estimate; inside the
    /// range, or on another outcome, nothing is said.
    #[test]
    fn intervals_past_the_range_of_a_risk_difference_are_warned_about() {
        let with = |lo: f64, hi: f64| Estimate {
            lower: Some(lo),
            upper: Some(hi),
            ..Estimate::without_interval(0.1, 0.95, "aipw", "")
        };
        let (wide, fine) = (with(-4.07, 2.51), with(-0.2, 0.4));
        let binary = [0.0, 1.0, 1.0, 0.0];
        let w = beyond_risk_difference_warnings(&binary, [("ATE", &fine), ("ATT", &wide), ("ATC", &fine)]);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("ATT's interval [-4.070, 2.510]") && w[0].contains("cannot support"), "{}", w[0]);
        assert!(
            beyond_risk_difference_warnings(&[0.0, 2.0], [("ATE", &wide), ("ATT", &wide), ("ATC", &wide)]).is_empty()
        );
    }

    use super::*;

    #[test]
    fn flags_parse_and_name_the_expected_range() {
        assert_eq!(parse_folds("5"), Ok(5));
        assert!(parse_folds("1").unwrap_err().contains("≥ 2"));
        assert_eq!(parse_level("0.9"), Ok(0.9));
        assert!(parse_level("95").unwrap_err().contains("not a percentage"));
        assert!(parse_level("1").unwrap_err().contains("(0, 1)"));
        assert_eq!(parse_trim("crump"), Ok(Trim::Crump));
        assert_eq!(parse_trim("0.1,0.9"), Ok(Trim::Fixed { lower: 0.1, upper: 0.9 }));
        assert!(parse_trim("0.9,0.1").unwrap_err().contains("0 ≤ LO < HI ≤ 1"));
        assert!(parse_trim("half").is_err());
    }

    #[test]
    fn numbers_are_shown_at_the_precision_of_their_standard_error() {
        let e = Estimate::normal(1794.31, 670.5, 0.95, "aipw").unwrap();
        assert_eq!(interval_text("ATE", &e), "ATE 1794.3, 95% interval [480.2, 3108.5]");
        assert_eq!(percent(0.9), "90%");
        assert_eq!(percent(0.995), "99.5%");
    }
}

//! The `auto` choice of `ite transfer --strategy auto` and `ite fit --model auto`: the flags
//! (`--candidates`, `--score`), the run of `ite_inference::SelectionParams` with the command's
//! folds, clusters and propensity model, and what it leaves: OUT/selection.csv, the `selection`
//! object of summary.json, the plain table and the warnings.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use ite_core::{CausalData, Seed};
use ite_inference::{Candidate, PropensityParams, Score, ScoreValue, SelectionParams, SelectionReport};
use ite_nets::MlpPropensityParams;
use serde_json::{Map, Value, json};

use crate::inference::{Clusters, InferenceArgs, PropensityModel, decimals};

/// The score `auto` chooses by when `--score` is not given (one place to change it).
pub fn default_score() -> Score {
    SelectionParams::default().score
}

/// What the scores rest on, in one sentence (`selection.assumptions` in summary.json).
pub const ASSUMPTIONS: &str = "The scores read the data's own outcomes as if treatment were unconfounded given the \
     covariates and every unit could get either treatment (overlap); where assignment depends on the outcome itself \
     (as in the study's non-randomized targets) they are biased too, toward the fit that follows the confounding.";

/// The flags of the `auto` choice (`ite transfer`, `ite fit`).
#[derive(Debug, Clone, clap::Args)]
pub struct SelectionArgs {
    /// With `auto`: the candidates to choose from, comma-separated [default: all of them].
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub candidates: Option<Vec<String>>,
    /// With `auto`: the score that chooses (all three are reported): `r-loss` (Nie & Wager), `dr`
    /// (doubly robust pseudo-outcome loss) or `pehe-nn` (nearest-neighbour PEHE of cfrnet).
    #[arg(long, value_name = "r-loss|dr|pehe-nn", value_parser = parse_score, help = score_help())]
    pub score: Option<Score>,
}

fn score_help() -> String {
    format!(
        "With `auto`: the score that chooses (all three are reported): `r-loss` (Nie & Wager), `dr` (doubly robust \
         pseudo-outcome loss) or `pehe-nn` (nearest-neighbour PEHE of cfrnet) [default: {}]",
        default_score()
    )
}

fn parse_score(s: &str) -> Result<Score, String> {
    s.trim().parse::<Score>().map_err(|_| format!("`{s}`: expected `r-loss`, `dr` or `pehe-nn`"))
}

impl SelectionArgs {
    /// Refuses `--candidates` and `--score` when `auto` is not asked for (`auto_flag` names the
    /// flag that asks for it, e.g. `--strategy auto`).
    pub fn check_unused(&self, auto: bool, auto_flag: &str) -> Result<()> {
        if auto {
            return Ok(());
        }
        if self.candidates.is_some() {
            bail!("--candidates applies only with {auto_flag} (it lists what auto chooses from)");
        }
        if self.score.is_some() {
            bail!("--score applies only with {auto_flag} (it is the score auto chooses by)");
        }
        Ok(())
    }

    /// The candidates' names: `--candidates` checked against `valid` (each known, none twice), or
    /// every valid name. `what` names one candidate in messages (`strategy`, `model`).
    pub fn names(&self, valid: &[&str], what: &str) -> Result<Vec<String>> {
        let Some(given) = &self.candidates else {
            return Ok(valid.iter().map(|s| (*s).to_string()).collect());
        };
        let mut names: Vec<String> = Vec::new();
        for raw in given {
            let name = raw.trim();
            if !valid.contains(&name) {
                bail!("--candidates: unknown {what} `{name}`; valid {what} names: {}", valid.join(", "));
            }
            if names.iter().any(|n| n == name) {
                bail!("--candidates: `{name}` is named twice");
            }
            names.push(name.to_string());
        }
        if names.is_empty() {
            bail!("--candidates: no {what} named; valid {what} names: {}", valid.join(", "));
        }
        if names.len() == 1 {
            bail!(
                "--candidates: name at least two {what}s to choose from (auto with one candidate is `{}` itself)",
                names[0]
            );
        }
        Ok(names)
    }

    /// The selection settings: K = `--folds`, the chosen score, the default propensity clipping.
    pub fn params(&self, inference: &InferenceArgs) -> SelectionParams {
        SelectionParams {
            folds: inference.folds,
            score: self.score.unwrap_or_else(default_score),
            propensity: PropensityParams::default(),
        }
    }
}

/// Scores `candidates` on `data` with the command's folds, clusters and `--propensity` model.
///
/// # Errors
/// When the selection cannot be made (an arm smaller than the folds, every candidate failed).
pub fn select(
    params: &SelectionParams,
    data: &CausalData,
    candidates: &[Candidate<'_>],
    inference: &InferenceArgs,
    clusters: Option<&Clusters>,
    seed: Seed,
) -> Result<SelectionReport> {
    let codes = clusters.map(|c| c.codes.as_slice());
    let report = match inference.propensity {
        PropensityModel::Logistic => params.select_with(data, candidates, None, &params.propensity, codes, seed),
        PropensityModel::Mlp => {
            params.select_with(data, candidates, None, &MlpPropensityParams::default(), codes, seed)
        }
    };
    report.map_err(|e| anyhow!("auto (--folds {}): {e}", params.folds))
}

/// A finite number as text, else an empty cell.
fn cell(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite()).map(|v| v.to_string()).unwrap_or_default()
}

/// A finite number as JSON, else null.
fn number(v: Option<f64>) -> Value {
    v.filter(|v| v.is_finite()).map_or(Value::Null, |v| json!(v))
}

/// Writes `candidate,score,value,se,rank,diff,diff_se,chosen,error`: one row per candidate and
/// score (in the order of [`Score::ALL`]); empty cells where there is no finite value.
pub fn write_csv(path: &Path, report: &SelectionReport) -> Result<()> {
    let chosen = report.chosen();
    ite_core::write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(["candidate", "score", "value", "se", "rank", "diff", "diff_se", "chosen", "error"])?;
        for (i, c) in report.candidates.iter().enumerate() {
            for score in Score::ALL {
                let v = c.score(score);
                csv.write_record([
                    c.name.clone(),
                    score.as_str().to_string(),
                    cell(v.map(|v| v.value)),
                    cell(v.map(|v| v.se)),
                    v.map(|v| v.rank.to_string()).unwrap_or_default(),
                    cell(v.map(|v| v.diff)),
                    cell(v.map(|v| v.diff_se)),
                    u8::from(i == chosen).to_string(),
                    c.error.clone().unwrap_or_default(),
                ])?;
            }
        }
        csv.flush()
    })?;
    Ok(())
}

fn value_json(v: Option<&ScoreValue>) -> Value {
    match v {
        Some(v) => json!({
            "value": number(Some(v.value)),
            "se": number(Some(v.se)),
            "rank": v.rank,
            "diff": number(Some(v.diff)),
            "diff_se": number(Some(v.diff_se)),
        }),
        None => Value::Null,
    }
}

/// The `selection` object of summary.json; `key` names each candidate's name field
/// (`strategy`, `model`).
pub fn json(report: &SelectionReport, key: &str) -> Value {
    let candidates: Vec<Value> = report
        .candidates
        .iter()
        .map(|c| {
            let main = c.score(report.score);
            let scores: Map<String, Value> =
                Score::ALL.iter().map(|s| (s.as_str().to_string(), value_json(c.score(*s)))).collect();
            let mut o = Map::new();
            o.insert(key.to_string(), json!(c.name));
            o.insert("score".into(), number(main.map(|v| v.value)));
            o.insert("se".into(), number(main.map(|v| v.se)));
            o.insert("rank".into(), json!(main.map(|v| v.rank)));
            o.insert("scores".into(), Value::Object(scores));
            o.insert("error".into(), json!(c.error));
            Value::Object(o)
        })
        .collect();
    json!({
        "score": report.score.as_str(),
        "folds": report.folds.k(),
        "chosen": report.chosen_name(),
        "candidates": candidates,
        "assumptions": ASSUMPTIONS,
    })
}

/// The plain table (candidate, score ± se, the difference from the best ± its paired standard
/// error, rank, the chosen one marked) and a line saying what was chosen and by which score;
/// `what` names the candidates (`strategies`, `models`).
pub fn lines(report: &SelectionReport, what: &str) -> Vec<String> {
    let score = report.score;
    let chosen = report.chosen();
    let d = decimals(report.candidates[chosen].score(score).map_or(f64::NAN, |v| v.se));
    let width = report.candidates.iter().map(|c| c.name.chars().count()).max().unwrap_or(0).max(9);
    let mut order: Vec<usize> = (0..report.candidates.len()).collect();
    order.sort_by_key(|&i| report.candidates[i].score(score).map_or(usize::MAX, |v| v.rank));
    let text = |i: usize| report.candidates[i].score(score).map(|v| format!("{:.d$} ± {:.d$}", v.value, v.se));
    let diff = |i: usize| {
        report.candidates[i].score(score).map(|v| {
            if v.diff_se.is_finite() { format!("+{:.d$} ± {:.d$}", v.diff, v.diff_se) } else { "best".to_string() }
        })
    };
    let w = order.iter().filter_map(|&i| text(i)).map(|t| t.chars().count()).max().unwrap_or(0).max(6);
    let wd = order.iter().filter_map(|&i| diff(i)).map(|t| t.chars().count()).max().unwrap_or(0).max(15);
    let mut out = vec![
        format!(
            "auto: {} {what} scored out-of-fold on {} folds ({score}, lower is better; the difference from the best \
             has a paired standard error, the one to compare candidates by)",
            report.candidates.len(),
            report.folds.k()
        ),
        format!("  {:<width$}  {:<w$}  {:<wd$}  rank", "candidate", score.as_str(), "difference"),
    ];
    for &i in &order {
        let c = &report.candidates[i];
        let row = match (c.score(score), text(i), diff(i)) {
            (Some(v), Some(t), Some(df)) => {
                let mark = if i == chosen { "  chosen" } else { "" };
                format!("  {:<width$}  {t:<w$}  {df:<wd$}  {}{mark}", c.name, v.rank)
            }
            _ => format!("  {:<width$}  failed: {}", c.name, c.error.as_deref().unwrap_or("no score")),
        };
        out.push(row);
    }
    out.push(format!(
        "auto chose `{}` by {score} (the lowest; the scores assume unconfoundedness and overlap in these data, and \
         are comparable only within this run: they depend on the candidates)",
        report.chosen_name()
    ));
    out
}

/// Warnings of the choice: each candidate that failed (with its error), and a choice that is
/// not clearly better than the runner-up (difference below twice its standard error).
pub fn warnings(report: &SelectionReport) -> Vec<String> {
    let score = report.score;
    let mut out: Vec<String> = report
        .candidates
        .iter()
        .filter_map(|c| {
            c.error.as_ref().map(|e| format!("auto: `{}` failed and took no part in the choice: {e}", c.name))
        })
        .collect();
    let runner_up = report.candidates.iter().find_map(|c| c.score(score).filter(|v| v.rank == 2).map(|v| (c, v)));
    if let Some((c, v)) = runner_up
        && v.diff_se.is_finite()
        && v.diff <= 2.0 * v.diff_se
    {
        let d = decimals(v.diff_se);
        let same = v.diff.abs() <= 1e-9 * v.value.abs().max(1.0) && v.diff_se <= 1e-9 * v.value.abs().max(1.0);
        out.push(if same {
            format!(
                "auto: `{}` and `{}` score the same by {score} (their predictions agree); the first listed was \
                 taken",
                report.chosen_name(),
                c.name
            )
        } else {
            format!(
                "auto: `{}` is not clearly better than `{}` by {score} (difference {:.d$} ± {:.d$}); the choice is \
             uncertain",
                report.chosen_name(),
                c.name,
                v.diff,
                v.diff_se
            )
        });
    }
    out
}

/// Adds the selection's keys to `summary` (`KEY`: the chosen name, `KEY_requested`: `auto`,
/// `selection`) and its warnings to `warnings` and `summary["warnings"]`.
pub fn record(report: &SelectionReport, key: &str, summary: &mut Value, warnings: &mut Vec<String>) {
    summary[key] = json!(report.chosen_name());
    summary[format!("{key}_requested")] = json!("auto");
    summary["selection"] = json(report, key);
    warnings.extend(self::warnings(report));
    summary["warnings"] = json!(warnings);
}

/// The progress line of the selection: candidates × K fits (× ensemble members).
pub fn phase_text(n_candidates: usize, what: &str, k: usize, members: usize) -> String {
    let times = if members > 1 { format!(" ×{members} seeds") } else { String::new() };
    format!("auto: scoring {n_candidates} {what} on {k} folds ({} fits{times})", n_candidates * k)
}

//! `--outcome-type continuous|binary|auto` of `ite fit` and `ite transfer`: which outcome type
//! the training files have (auto: binary when every outcome value is 0 or 1), checked against
//! the files with messages naming the flag, file, line and column, and reported on stderr and
//! in summary.json (`outcome_type`, `outcome_type_from`).

use std::path::Path;

use anyhow::{Result, bail};
use clap::Args;
use ite_core::{CausalData, OutcomeType, RawCsv};
use serde_json::{Value, json};

/// What `--outcome-type` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeChoice {
    /// Binary when every outcome value of the training files is 0 or 1, continuous otherwise.
    Auto,
    /// This type (binary: every value must be 0 or 1).
    Fixed(OutcomeType),
}

/// `--outcome-type` (`ite fit`, `ite transfer`).
#[derive(Debug, Clone, Args)]
pub struct OutcomeArgs {
    /// The outcome's type: `continuous` (squared error; predicted means unbounded), `binary`
    /// (every value 0 or 1: the networks' heads output logits trained by the binary
    /// cross-entropy, predicted means are probabilities in (0, 1), effects are risk differences,
    /// and t-learner-ols / s-learner-ols fit logistic regressions), or `auto`: binary when every
    /// outcome value of the training file(s) is 0 or 1, continuous otherwise (the choice is said
    /// on stderr and in summary.json). Saved with the model; `ite predict` follows it.
    #[arg(long, value_name = "continuous|binary|auto", default_value = "auto", value_parser = parse_outcome_type)]
    pub outcome_type: OutcomeChoice,
}

fn parse_outcome_type(s: &str) -> Result<OutcomeChoice, String> {
    if s == "auto" {
        return Ok(OutcomeChoice::Auto);
    }
    s.parse().map(OutcomeChoice::Fixed).map_err(|_| format!("`{s}`: expected continuous, binary or auto"))
}

/// One training file: the file as read, the kept rows' data and their row indices in the file
/// (0-based).
pub struct TrainingFile<'a> {
    /// The file as read (for its name and line numbers).
    pub raw: &'a RawCsv,
    /// The kept rows.
    pub data: &'a CausalData,
    /// The file rows of `data`'s rows.
    pub kept: &'a [usize],
}

/// Where the outcome type came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--outcome-type continuous|binary`.
    Flag,
    /// `--outcome-type auto`, from the values.
    Auto,
    /// A loaded model's saved type, where `auto` would have chosen the other.
    Model,
}

impl Origin {
    fn name(self) -> &'static str {
        match self {
            Origin::Flag => "flag",
            Origin::Auto => "auto",
            Origin::Model => "model",
        }
    }
}

/// The resolved outcome type and how it was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Continuous or binary.
    pub kind: OutcomeType,
    /// Where it came from.
    pub from: Origin,
}

impl OutcomeArgs {
    /// The outcome type of `files` (outcome column `column`): the flag's, after checking that a
    /// binary outcome is 0 or 1 everywhere, or with `auto` the one the values show.
    ///
    /// # Errors
    /// `--outcome-type binary` with a value other than 0 or 1, naming the file, line and column.
    pub fn resolve(&self, files: &[TrainingFile<'_>], column: &str) -> Result<Outcome> {
        let first_bad = files.iter().find_map(|f| OutcomeType::first_non_binary(f.data.y()).map(|i| (f, i)));
        match (self.outcome_type, first_bad) {
            (OutcomeChoice::Auto, None) => Ok(Outcome { kind: OutcomeType::Binary, from: Origin::Auto }),
            (OutcomeChoice::Auto, Some(_)) => Ok(Outcome { kind: OutcomeType::Continuous, from: Origin::Auto }),
            (OutcomeChoice::Fixed(OutcomeType::Binary), Some((f, i))) => {
                let value = f.data.y()[i];
                let row = f.kept.get(i).copied().unwrap_or(i);
                let message = format!(
                    "outcome {value} is not 0 or 1 (a binary outcome takes the values 0 and 1 only); give \
                     --outcome-type continuous or auto, or recode the outcome"
                );
                let at = f.raw.cell_error(row, column, message);
                bail!("--outcome-type binary: {at}")
            }
            (OutcomeChoice::Fixed(kind), _) => Ok(Outcome { kind, from: Origin::Flag }),
        }
    }

    /// The flag's type when it names one (`None` for auto).
    pub fn fixed(&self) -> Option<OutcomeType> {
        match self.outcome_type {
            OutcomeChoice::Fixed(kind) => Some(kind),
            OutcomeChoice::Auto => None,
        }
    }
}

impl Outcome {
    /// summary.json's `outcome_type` and `outcome_type_from` (`auto`, `flag` or `model`).
    pub fn json(&self) -> Value {
        json!({ "outcome_type": self.kind.name(), "outcome_type_from": self.from.name() })
    }

    /// Warnings for a binary outcome that takes one value on every unit of an arm of one of the
    /// training `files` (flag, path, data): that arm's model can only learn "always 0" or
    /// "always 1", so its predicted probabilities are pushed to the edge and the effects rest on
    /// that extreme (the logistic T-learner refuses such an arm outright). None for a continuous
    /// outcome or an arm without units.
    pub fn arm_warnings(&self, files: &[(&str, &Path, &CausalData)], column: &str) -> Vec<String> {
        if self.kind != OutcomeType::Binary {
            return Vec::new();
        }
        let mut out = Vec::new();
        for ((flag, path, data), (arm, name)) in
            files.iter().flat_map(|f| [(f, (1u8, "treated")), (f, (0u8, "control"))])
        {
            let what = format!("{flag} {}", path.display());
            let ys: Vec<f64> = data.t().iter().zip(data.y()).filter(|(t, _)| **t == arm).map(|(_, y)| *y).collect();
            if let Some(&first) = ys.first()
                && ys.iter().all(|&y| y == first)
            {
                out.push(format!(
                    "binary outcome constant in an arm: `{column}` is {first} for all {} {name} units of {what}; \
                     that arm's predicted probabilities are pushed toward {first} and the effects rest on that \
                     extreme (t-learner-ols cannot be fitted); consider another coding of the outcome",
                    ys.len()
                ));
            }
        }
        out
    }

    /// The line said on stderr and in the plain report.
    pub fn line(&self, column: &str) -> String {
        let why = match (self.kind, self.from) {
            (OutcomeType::Binary, Origin::Auto) => {
                format!(" (--outcome-type auto: every value of `{column}` is 0 or 1)")
            }
            (OutcomeType::Continuous, Origin::Auto) => {
                format!(" (--outcome-type auto: `{column}` has values other than 0 and 1)")
            }
            (_, Origin::Flag) => " (--outcome-type)".to_string(),
            (_, Origin::Model) => " (the loaded model's)".to_string(),
        };
        let reading = match self.kind {
            OutcomeType::Binary => "predicted means are probabilities and effects risk differences",
            OutcomeType::Continuous => "fitted by squared error",
        };
        format!("outcome type {}{why}: {reading}", self.kind.name())
    }
}

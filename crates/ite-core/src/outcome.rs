//! The type of the outcome: continuous (a regression, squared error) or binary (0/1: a
//! classification, logits and the binary cross-entropy, predicted means in (0, 1) and effects
//! that are risk differences). Saved with a model, so that predictions are read the same way.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::SettingsError;

/// Whether the outcome is continuous or binary (every value 0 or 1).
///
/// ```
/// use ite_core::OutcomeType;
/// assert_eq!(OutcomeType::detect(&[0.0, 1.0, 1.0]), OutcomeType::Binary);
/// assert_eq!(OutcomeType::detect(&[0.0, 0.5]), OutcomeType::Continuous);
/// assert_eq!(OutcomeType::first_non_binary(&[1.0, 0.0, 2.0]), Some(2));
/// assert_eq!("binary".parse::<OutcomeType>()?, OutcomeType::Binary);
/// # Ok::<(), ite_core::SettingsError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeType {
    /// A real-valued outcome: predicted means are unbounded, the loss is the squared error.
    #[default]
    Continuous,
    /// A 0/1 outcome: models predict probabilities in (0, 1), the loss is the binary
    /// cross-entropy, and an effect is a risk difference.
    Binary,
}

impl OutcomeType {
    /// The name on the command line and in files: `continuous` or `binary`.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeType::Continuous => "continuous",
            OutcomeType::Binary => "binary",
        }
    }

    /// Whether this is [`OutcomeType::Binary`].
    pub fn is_binary(self) -> bool {
        self == OutcomeType::Binary
    }

    /// `Binary` when every value of `y` is 0 or 1 (and there is at least one), else `Continuous`.
    pub fn detect(y: &[f64]) -> Self {
        if !y.is_empty() && Self::first_non_binary(y).is_none() { OutcomeType::Binary } else { OutcomeType::Continuous }
    }

    /// The index of the first value of `y` that is neither 0 nor 1.
    pub fn first_non_binary(y: &[f64]) -> Option<usize> {
        y.iter().position(|&v| v != 0.0 && v != 1.0)
    }
}

impl std::fmt::Display for OutcomeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OutcomeType {
    type Err = SettingsError;

    /// `continuous` or `binary`; anything else is a [`SettingsError`] for `outcome_type`.
    fn from_str(s: &str) -> Result<Self, SettingsError> {
        match s {
            "continuous" => Ok(OutcomeType::Continuous),
            "binary" => Ok(OutcomeType::Binary),
            _ => Err(SettingsError::text("outcome_type", s, "`continuous` or `binary`")),
        }
    }
}

//! The error type of `ite-inference`: invalid settings, data that cannot support an estimate,
//! and failures of the models it fits (outcome learner, propensity model).

use ite_core::{CoreError, SettingsError};

/// Result alias for `ite-inference`.
pub type Result<T, E = InferenceError> = std::result::Result<T, E>;

/// Everything that can go wrong while estimating an effect with its uncertainty.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InferenceError {
    /// A setting (folds, level, limits, ...) outside its valid range.
    #[error(transparent)]
    Settings(#[from] SettingsError),

    /// The data cannot support the estimate (an arm too small for the folds, no units left
    /// after trimming, clusters fewer than folds); the message says what is missing.
    #[error("{0}")]
    Data(String),

    /// Inputs that must have one value per unit have different lengths.
    #[error("{what}: {left} values against {right}")]
    LengthMismatch {
        /// Which inputs disagree.
        what: String,
        /// Length of the first input.
        left: usize,
        /// Length of the second input.
        right: usize,
    },

    /// The outcome learner failed on a fold (its own error, as text, with the fold named).
    #[error("outcome model on {context}: {message}")]
    Learner {
        /// Which fit failed (for example "fold 3 of 5").
        context: String,
        /// The learner's error message.
        message: String,
    },

    /// The propensity model failed (logistic regression did not converge, ...).
    #[error("propensity model: {0}")]
    Propensity(String),

    /// An error of the shared data types.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl InferenceError {
    /// A [`InferenceError::Data`] from any message.
    pub fn data(msg: impl Into<String>) -> Self {
        InferenceError::Data(msg.into())
    }
}

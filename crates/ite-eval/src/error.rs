//! The error type of `ite-eval`: mismatched inputs to metrics and invalid settings.

use ite_core::CoreError;

/// Everything that can go wrong in `ite-eval`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// Invalid data or parameters, as reported by `ite-core`.
    #[error(transparent)]
    Core(#[from] CoreError),

    /// Two inputs that must have one value per unit have different lengths.
    #[error("{what}: {left} values against {right}")]
    LengthMismatch {
        /// Which inputs disagree.
        what: String,
        /// Length of the first input.
        left: usize,
        /// Length of the second input.
        right: usize,
    },

    /// A metric over no values.
    #[error("{0}: no values")]
    Empty(String),

    /// A setting outside its valid range.
    #[error("invalid parameter `{name}` = {value}: expected {expected}")]
    InvalidParam {
        /// Parameter name.
        name: String,
        /// The offending value.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
}

//! The error type of `ite-metrics`: inputs of different lengths, empty inputs, invalid settings.

use ite_core::SettingsError;

/// Result alias for `ite-metrics`.
pub type Result<T, E = MetricsError> = std::result::Result<T, E>;

/// Everything that can go wrong when computing a metric or an interval.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
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

    /// A setting (of the bootstrap, say) outside its valid range.
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

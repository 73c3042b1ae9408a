//! The error type of `ite-transfer`.

use ite_core::{CoreError, SettingsError};
use ite_nets::NetsError;

/// Everything that can go wrong in `ite-transfer`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// Invalid data or parameters, as reported by `ite-core`.
    #[error(transparent)]
    Core(#[from] CoreError),

    /// A network failed to train, predict or load.
    #[error(transparent)]
    Nets(#[from] NetsError),

    /// A strategy parameter outside its valid range.
    #[error(transparent)]
    Settings(#[from] SettingsError),

    /// A strategy name that is not registered.
    #[error("unknown strategy `{name}`; valid strategies: {}", valid.join(", "))]
    UnknownStrategy {
        /// The name asked for.
        name: String,
        /// The registered names.
        valid: Vec<String>,
    },

    /// A strategy registered under a name that is already taken.
    #[error("a strategy called `{name}` is already registered")]
    DuplicateStrategy {
        /// The name.
        name: String,
    },

    /// A registered strategy that reports another name than its registry entry.
    #[error("the strategy registered as `{registered}` calls itself `{reported}`; the names must agree")]
    MisnamedStrategy {
        /// The entry's name.
        registered: String,
        /// What the built strategy's `name()` returns.
        reported: String,
    },

    /// A strategy (possibly user-written) failed.
    #[error("strategy `{name}` failed: {error}")]
    Strategy {
        /// The strategy's name.
        name: String,
        /// Its error (part of the message, so not repeated as `source()`).
        error: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Choosing a strategy from the target data failed.
    #[error(transparent)]
    Inference(#[from] ite_inference::InferenceError),

    /// Two Fisher diagonals over different parameter sets.
    #[error("Fisher diagonals have {left} and {right} entries; they must come from the same network")]
    FisherShape {
        /// Entries in the first.
        left: usize,
        /// Entries in the second.
        right: usize,
    },

    /// A Fisher diagonal that cannot be normalised (all zero, negative or non-finite entries).
    #[error("Fisher diagonal {what}: {message}")]
    Fisher {
        /// Which diagonal (F_ss, F_st, F_st⁻).
        what: String,
        /// What is wrong.
        message: String,
    },
}

impl From<candle_core::Error> for TransferError {
    fn from(e: candle_core::Error) -> Self {
        TransferError::Nets(NetsError::from(e))
    }
}

impl TransferError {
    /// Shorthand for `SettingsError::new(name, value, expected).into()`.
    pub fn param(name: impl Into<String>, value: impl std::fmt::Debug, expected: impl Into<String>) -> Self {
        SettingsError::new(name, value, expected).into()
    }
}

/// Result alias for `ite-transfer`.
pub type Result<T, E = TransferError> = std::result::Result<T, E>;

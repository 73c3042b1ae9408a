//! The error type of `ite-nets`: invalid parameters, bad data, numerical backend and file failures.

use std::path::PathBuf;

use ite_core::{CoreError, SettingsError};

/// Result alias for `ite-nets`.
pub type Result<T, E = NetsError> = std::result::Result<T, E>;

/// Everything that can go wrong when building, training, using or storing a network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetsError {
    /// Invalid data or parameters reported by `ite-core` (wrong covariates, bad shapes, ...).
    #[error(transparent)]
    Core(#[from] CoreError),

    /// A hyperparameter outside its valid range.
    #[error(transparent)]
    Settings(#[from] SettingsError),

    /// A failure in the candle tensor backend.
    #[error("tensor backend: {0}")]
    Candle(#[from] candle_core::Error),

    /// Training produced a non-finite loss (diverged).
    #[error("training diverged: {0}")]
    Diverged(String),

    /// An I/O failure on a path (the message includes the I/O error's, so it is not
    /// repeated as `source()`).
    #[error("{path}: {error}")]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying I/O error.
        error: std::io::Error,
    },

    /// A stored model that cannot be used (bad JSON, wrong crate version, missing tensors).
    #[error("{path}: {message}")]
    Model {
        /// The model directory or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A stored model with a field that is missing, malformed or out of range (a zero sd, a NaN
    /// weight, a tensor of the wrong shape, hyperparameters that do not validate).
    #[error("invalid model file {path}: {field}: {problem}")]
    InvalidModel {
        /// The model file (`model.json` or `model.safetensors`).
        path: PathBuf,
        /// The field or tensor (`x_scaler.sd[2]`, `h0.1.weight`, `params`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl NetsError {
    /// A [`SettingsError`] for a value already formatted: [`SettingsError::text`] of
    /// `value.to_string()`. New code writes `SettingsError::new(name, value, expected).into()`
    /// for values and `SettingsError::text` for text.
    pub fn param(name: impl Into<String>, value: impl ToString, expected: impl Into<String>) -> Self {
        SettingsError::text(name, value.to_string(), expected).into()
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        NetsError::Io { path: path.into(), error }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, field: impl Into<String>, problem: impl Into<String>) -> Self {
        NetsError::InvalidModel { path: path.into(), field: field.into(), problem: problem.into() }
    }

    pub(crate) fn model(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        NetsError::Model { path: path.into(), message: message.into() }
    }
}

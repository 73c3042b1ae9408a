//! The error type of `ite-dgp`: invalid process parameters, rejection sampling
//! that cannot finish, and dataset files that cannot be read.

use std::path::PathBuf;

use ite_core::CoreError;

/// Everything that can go wrong in `ite-dgp`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DgpError {
    /// Invalid data or parameters, as reported by `ite-core`.
    #[error(transparent)]
    Core(#[from] CoreError),

    /// A parameter outside its valid range.
    #[error("invalid parameter `{name}` = {value}: expected {expected}")]
    InvalidParam {
        /// Parameter name as the user spells it.
        name: String,
        /// The offending value, formatted.
        value: String,
        /// What would have been accepted.
        expected: String,
    },

    /// Accept–reject sampling drew too many candidates without filling the sample.
    #[error(
        "rejection sampling accepted only {accepted} of {wanted} units after {tries} draws; the selection rule rejects almost everything"
    )]
    Rejection {
        /// Units accepted before giving up.
        accepted: usize,
        /// Units asked for.
        wanted: usize,
        /// Candidates drawn.
        tries: usize,
    },

    /// A dataset file that is missing, unreadable or malformed.
    #[error("{path}: {message}")]
    Dataset {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column where known.
        message: String,
    },
}

impl DgpError {
    /// Shorthand for [`DgpError::InvalidParam`].
    pub fn param(name: impl Into<String>, value: impl ToString, expected: impl Into<String>) -> Self {
        DgpError::InvalidParam { name: name.into(), value: value.to_string(), expected: expected.into() }
    }
}

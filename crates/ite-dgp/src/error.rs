//! The error type of `ite-dgp`: invalid process parameters, rejection sampling
//! that cannot finish, and dataset files that cannot be read.

use std::path::PathBuf;

use ite_core::{CoreError, SettingsError};

/// Everything that can go wrong in `ite-dgp`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DgpError {
    /// Invalid data or parameters, as reported by `ite-core`.
    #[error(transparent)]
    Core(#[from] CoreError),

    /// A parameter outside its valid range.
    #[error(transparent)]
    Settings(#[from] SettingsError),

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

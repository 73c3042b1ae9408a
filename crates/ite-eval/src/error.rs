//! The error type of `ite-eval`: invalid settings, failed metrics, fits and strategies, grid files
//! and figures.

use ite_core::{CoreError, SettingsError};

/// Everything that can go wrong in `ite-eval`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// Invalid data or parameters, as reported by `ite-core`.
    #[error(transparent)]
    Core(#[from] CoreError),

    /// Nothing to work on (no rows for a figure, no directories to merge, no truth).
    #[error("{0}: no values")]
    Empty(String),

    /// Drawing a sample failed (experiment grids).
    #[error(transparent)]
    Dgp(#[from] ite_dgp::DgpError),

    /// Fitting a network failed (experiment grids).
    #[error(transparent)]
    Nets(#[from] ite_nets::NetsError),

    /// A transfer strategy or CITA failed (experiment grids).
    #[error(transparent)]
    Transfer(#[from] ite_transfer::TransferError),

    /// Reading or writing a file of an experiment grid's output directory failed.
    #[error("{path}: {message}")]
    GridFile {
        /// The file or directory.
        path: String,
        /// What went wrong.
        message: String,
    },

    /// An output directory that does not fit the run (other parameters, a duplicate task
    /// with other values, a row outside the grid).
    #[error("{path}: {message}")]
    GridMismatch {
        /// The directory or file.
        path: String,
        /// What does not match, and what to do.
        message: String,
    },

    /// Another process holds a grid directory's lock (a run writing into it, or a merge
    /// reading it).
    #[error("{path}: in use by another process ({holder}); wait for it to end, or choose another directory")]
    GridBusy {
        /// The directory.
        path: String,
        /// The holder, as it wrote itself into the lock file (what, pid, start time).
        holder: String,
    },

    /// Drawing a figure failed (the file that was being drawn, and why).
    #[error("{path}: cannot draw the figure: {message}")]
    Figure {
        /// The figure file.
        path: String,
        /// What went wrong.
        message: String,
    },

    /// A cross-fitted AIPW interval of a grid task failed (a fold's fit or the propensity model).
    #[error("AIPW interval: {0}")]
    Inference(#[from] ite_inference::InferenceError),

    /// A setting outside its valid range.
    #[error(transparent)]
    Settings(#[from] SettingsError),

    /// A metric or interval could not be computed (mismatched or empty inputs, bad settings).
    #[error(transparent)]
    Metrics(#[from] ite_metrics::MetricsError),
}

//! The error type of `ite-transfer`.

use ite_core::CoreError;

/// Everything that can go wrong in `ite-transfer`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// Invalid data or parameters, as reported by `ite-core`.
    #[error(transparent)]
    Core(#[from] CoreError),

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

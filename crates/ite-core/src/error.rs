//! The error type of `ite-core`: bad data, bad parameters, CSV and file problems.
//!
//! Every message names what was wrong and where (file, 1-based line, column,
//! parameter) and what was expected, so a user can fix their input without
//! reading code. Other crates wrap this type in their own error enums.

use std::path::PathBuf;

/// Result alias for `ite-core`.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Everything that can go wrong in `ite-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Data that does not satisfy an invariant of [`crate::CausalData`] or [`crate::Covariates`].
    #[error("invalid data: {0}")]
    InvalidData(String),

    /// A parameter outside its valid range.
    #[error("invalid parameter `{name}` = {value}: expected {expected}")]
    InvalidParam {
        /// Parameter name as the user spells it (field or flag).
        name: String,
        /// The offending value, formatted.
        value: String,
        /// What would have been accepted.
        expected: String,
    },

    /// A problem at a specific place in a CSV file.
    #[error("{file}: line {line}{}: {message}", column.as_ref().map(|c| format!(", column `{c}`")).unwrap_or_default())]
    Csv {
        /// The file (or `<input>` when read from memory).
        file: String,
        /// 1-based line number in the file.
        line: u64,
        /// Column name, when the problem is in one column.
        column: Option<String>,
        /// What was found and what was expected.
        message: String,
    },

    /// A problem with a CSV file as a whole (missing columns, empty file, ...).
    #[error("{file}: {message}")]
    CsvFile {
        /// The file (or `<input>` when read from memory).
        file: String,
        /// What was found and what was expected.
        message: String,
    },

    /// An I/O failure on a path. The message includes the I/O error's, so it is not also
    /// exposed as `source()` (which would print it twice in error chains).
    #[error("{path}: {error}")]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying I/O error.
        error: std::io::Error,
    },
}

impl CoreError {
    /// Shorthand for [`CoreError::InvalidParam`].
    pub fn param(name: impl Into<String>, value: impl ToString, expected: impl Into<String>) -> Self {
        CoreError::InvalidParam { name: name.into(), value: value.to_string(), expected: expected.into() }
    }

    /// Shorthand for [`CoreError::InvalidData`].
    pub fn data(msg: impl Into<String>) -> Self {
        CoreError::InvalidData(msg.into())
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        CoreError::Io { path: path.into(), error }
    }
}

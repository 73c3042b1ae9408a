//! The error type of `ite-core`: bad data, bad parameters, CSV and file problems.
//!
//! Every message names what was wrong and where (file, 1-based line, column,
//! parameter) and what was expected, so a user can fix their input without
//! reading code. Other crates wrap this type in their own error enums.

use std::path::PathBuf;

/// A setting (parameter, flag, configuration key, environment variable) outside its valid
/// range: which one, the value it had and what would have been accepted.
///
/// The one settings error of the workspace: every crate's error enum wraps it
/// (`#[error(transparent)] Settings(#[from] SettingsError)`), so every such message reads the
/// same, `` invalid parameter `NAME` = VALUE: expected EXPECTED ``. A value is shown in its
/// `Debug` form (`0.5`, `1e-6`, `NaN`, `[100, 0]`) by [`SettingsError::new`]; text the user
/// typed (a name, `3/3`) is shown as written by [`SettingsError::text`].
///
/// ```
/// use ite_core::SettingsError;
/// let e = SettingsError::new("level", 1.5, "a number in (0, 1)");
/// assert_eq!(e.to_string(), "invalid parameter `level` = 1.5: expected a number in (0, 1)");
/// let e = SettingsError::text("assignment", "random", "`randomized` or `biased`");
/// assert_eq!(e.to_string(), "invalid parameter `assignment` = random: expected `randomized` or `biased`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameter `{name}` = {value}: expected {expected}")]
#[non_exhaustive]
pub struct SettingsError {
    /// The setting's name as the user spells it (field, flag or variable).
    pub name: String,
    /// The offending value, formatted (see [`SettingsError::new`] and [`SettingsError::text`]).
    pub value: String,
    /// What would have been accepted (a range, a list of choices).
    pub expected: String,
}

impl SettingsError {
    /// `name` had `value` (shown in its `Debug` form) where `expected` was wanted.
    pub fn new(name: impl Into<String>, value: impl std::fmt::Debug, expected: impl Into<String>) -> Self {
        SettingsError { name: name.into(), value: format!("{value:?}"), expected: expected.into() }
    }

    /// Like [`SettingsError::new`] for a value given as text, shown as written: text the user
    /// typed (a strategy or experiment name, `3/3`), or a description standing in for a value
    /// that cannot be shown whole (a matrix, an unset variable).
    ///
    /// ```
    /// use ite_core::SettingsError;
    /// let e = SettingsError::text("cov", "a matrix that is not positive definite", "a positive definite matrix");
    /// assert!(e.to_string().starts_with("invalid parameter `cov` = a matrix that"));
    /// ```
    pub fn text(name: impl Into<String>, text: impl Into<String>, expected: impl Into<String>) -> Self {
        SettingsError { name: name.into(), value: text.into(), expected: expected.into() }
    }
}

/// Result alias for `ite-core`.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Everything that can go wrong in `ite-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Data that does not satisfy an invariant of [`crate::CausalData`] or [`crate::Covariates`].
    #[error("invalid data: {0}")]
    InvalidData(String),

    /// Column roles that overlap: one column named as two of treatment, outcome, `mu0`, `mu1`,
    /// id and covariates (see [`crate::CsvLayout::validate`]).
    #[error("invalid column choice: {0}")]
    InvalidLayout(String),

    /// A parameter outside its valid range.
    #[error(transparent)]
    Settings(#[from] SettingsError),

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

    /// A value of a categorical column that is not among the levels the encoding was fitted on
    /// (see [`crate::Encoding`]): a model cannot predict for a level it never saw.
    #[error(
        "{file}: line {line}, column `{column}`: level `{level}` was not seen in the training data, whose levels are {}; a model cannot predict for a level it never saw (drop those rows, or refit on data that hold the level)",
        shown_levels(levels)
    )]
    UnseenLevel {
        /// The file (or `<input>` when read from memory).
        file: String,
        /// 1-based line number in the file.
        line: u64,
        /// The categorical column.
        column: String,
        /// The value found (clipped when long).
        level: String,
        /// The training levels, sorted.
        levels: Vec<String>,
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

/// The levels as a message shows them: the first 20, then how many there are.
fn shown_levels(levels: &[String]) -> String {
    let shown: Vec<&str> = levels.iter().take(20).map(String::as_str).collect();
    if levels.len() > 20 { format!("{}, … ({} levels)", shown.join(", "), levels.len()) } else { shown.join(", ") }
}

impl CoreError {
    /// Shorthand for [`CoreError::InvalidData`].
    pub fn data(msg: impl Into<String>) -> Self {
        CoreError::InvalidData(msg.into())
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        CoreError::Io { path: path.into(), error }
    }
}

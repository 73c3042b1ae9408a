//! Argument groups shared by several subcommands (column choices for CSV input, categorical
//! covariates and missing values).

use clap::Args;
use ite_core::{CsvLayout, EncodingParams, MissingPolicy};

/// Which columns of the input CSV hold treatment, outcome, covariates and ids.
#[derive(Debug, Clone, Args)]
pub struct ColumnArgs {
    /// Treatment column (values 0 or 1).
    #[arg(long, value_name = "COL", default_value = "t")]
    pub treatment: String,
    /// Outcome column.
    #[arg(long, value_name = "COL", default_value = "y")]
    pub outcome: String,
    /// Covariate columns, comma-separated [default: every column except treatment, outcome, mu0, mu1, id, cluster].
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub covariates: Option<Vec<String>>,
    /// Identifier column, carried through to predictions (not a covariate) [default: the column
    /// named `id` when the file has one and --covariates is not given; with --covariates and no
    /// --id, no column is the id].
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,
    /// Field delimiter (one character, e.g. ';' or '\t' written as a literal tab).
    #[arg(long, value_name = "CHAR", default_value = ",", value_parser = parse_delimiter)]
    pub delimiter: u8,
}

impl ColumnArgs {
    /// The CSV layout these flags describe.
    pub fn layout(&self) -> CsvLayout {
        CsvLayout {
            treatment: self.treatment.clone(),
            outcome: self.outcome.clone(),
            covariates: self.covariates.clone(),
            id: self.id.clone(),
            delimiter: self.delimiter,
            ..CsvLayout::default()
        }
    }
}

/// Categorical covariates and missing values (`ite fit`, `ite transfer`, `ite describe`).
#[derive(Debug, Clone, Args)]
pub struct EncodingArgs {
    /// Categorical covariate columns, comma-separated: each is one-hot encoded against its first
    /// level (levels sorted as text; the first is the reference and gets no column, the others
    /// a 0/1 column `NAME=LEVEL`). The levels are saved with the model, and `ite predict` refuses
    /// a level it never saw. A text column not named here is an error.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// What a missing value (an empty field or `NA`) does: `error` stops; `drop` drops every row
    /// with a missing treatment, outcome, covariate or --cluster label (reported on stderr and in
    /// summary.json); `impute` fills a covariate with its training mean (most frequent level when
    /// categorical) and adds a 0/1 column `NAME_missing` for each covariate with a gap, saved with
    /// the model for `ite predict`; rows missing the treatment, outcome or cluster label are then
    /// dropped (never imputed).
    #[arg(long, value_name = "error|drop|impute", default_value = "error", value_parser = parse_missing)]
    pub missing: MissingPolicy,
}

impl EncodingArgs {
    /// The encoding settings these flags describe, validated (an error names `--categorical`).
    pub fn params(&self) -> anyhow::Result<EncodingParams> {
        let params = EncodingParams { categorical: self.categorical.clone(), missing: self.missing };
        params.validate().map_err(|e| anyhow::anyhow!("--categorical: {e}"))?;
        Ok(params)
    }
}

/// Parses `--missing`.
pub fn parse_missing(s: &str) -> Result<MissingPolicy, String> {
    s.parse().map_err(|_| format!("`{s}`: expected error, drop or impute"))
}

/// How a command reports: progress on stderr, the summary on stdout.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// No progress and no warnings on stderr (warnings stay in summary.json's `warnings`).
    #[arg(long)]
    pub quiet: bool,
    /// Print the summary as one JSON object on stdout (plain lines otherwise).
    #[arg(long)]
    pub json: bool,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    let s = if s == "\\t" || s == "tab" { "\t" } else { s };
    match s.as_bytes() {
        [b] if b.is_ascii() && *b != b'"' && *b != b'\n' && *b != b'\r' => Ok(*b),
        _ => Err(format!("expected one ASCII character other than a quote or newline, got `{s}`")),
    }
}

//! Argument groups shared by several subcommands (column choices for CSV input).

use clap::Args;
use ite_core::CsvLayout;

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
    /// Identifier column, carried through to predictions.
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

//! `ite describe`: read a CSV file with the project's validation and print what it holds.

use std::path::PathBuf;

use anyhow::Result;

use crate::args::ColumnArgs;

/// Arguments of `ite describe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CSV file to check.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

/// Reads and validates the file, then prints a short description.
pub fn run(args: Args) -> Result<()> {
    let data = ite_core::read_csv(&args.data, &args.columns.layout())?;
    let treated = data.n_treated();
    outln!("file        {}", args.data.display())?;
    outln!("units       {}", data.n())?;
    outln!("treated     {treated} ({:.1}%)", 100.0 * data.treated_share())?;
    outln!("control     {}", data.n() - treated)?;
    outln!("covariates  {} [{}]", data.p(), data.feature_names().join(", "))?;
    match data.truth() {
        Some(tr) => println!("truth       mu0, mu1 present; true ATE {:.4}", tr.ate()),
        None => println!("truth       none"),
    }
    if data.ids().is_some() {
        outln!("ids         column `{}`", args.columns.id.as_deref().unwrap_or("id"))?;
    }
    Ok(())
}

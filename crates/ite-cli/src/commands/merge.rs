//! `ite merge OUT1 OUT2 … --out OUT`: combine the output directories of `ite reproduce` shards
//! into one result, identical row for row to a single run of the whole grid.

use std::path::PathBuf;

use anyhow::Result;
use ite_eval::grid::merge_runs;

use crate::commands::reproduce::{draw_figures, print_table};

/// Arguments of `ite merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output directories of `ite reproduce` (shards of one grid, same seed and parameters).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The merged output directory (run.json, results.csv, summary.csv, figures/).
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// No table on stdout and no notes on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Skip drawing figures.
    #[arg(long)]
    pub no_figures: bool,
}

/// Runs `ite merge`.
pub fn run(args: Args) -> Result<()> {
    let inputs: Vec<(&str, &std::path::Path)> = args.dirs.iter().map(|d| ("DIRS", d.as_path())).collect();
    crate::output::check_dir_not_input(&args.out, "--out", &inputs)?;
    let report = merge_runs(&args.dirs, &args.out)?;
    let figures =
        if args.no_figures { Vec::new() } else { draw_figures(&report.rows, &report.manifest.grid, &args.out)? };
    if !args.quiet {
        print_table(&ite_eval::grid::summarize(&report.rows))?;
        if report.missing > 0 {
            eprintln!(
                "[ite merge] warning: {} tasks of the grid are in none of the directories (a shard missing or \
                 unfinished?)",
                report.missing
            );
        }
        let kept = if report.kept > 0 { format!(" (kept {} rows it held before)", report.kept) } else { String::new() };
        eprintln!(
            "[ite merge] {} rows from {} directories into {}{kept}{}",
            report.rows.len(),
            args.dirs.len(),
            args.out.display(),
            if figures.is_empty() { String::new() } else { format!(", {} figure files", figures.len()) }
        );
    }
    Ok(())
}

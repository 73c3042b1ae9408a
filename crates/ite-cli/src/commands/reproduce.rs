//! `ite reproduce sim1|sim2`: run the study's simulation grid (or its quick version) in
//! parallel, resumably, optionally as one shard of a cluster array job, and write
//! OUT/results.csv, OUT/summary.csv and OUT/figures/ (with the selection methods of `--methods
//! ...,auto`, also OUT/selection.csv and OUT/cita.csv).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ite_core::Seed;
use ite_eval::grid::{
    Experiment, GridRun, GridSpec, Intervals, Protocol, RunOptions, SELECTION_METHODS, Shard, SummaryRow, TestSet,
};
use ite_transfer::Registry;

/// Arguments of `ite reproduce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which simulation: sim1 (linear; randomized and biased targets) or sim2 (nonlinear;
    /// covariate, effect and prognostic shift).
    #[arg(value_parser = ["sim1", "sim2"])]
    pub experiment: String,
    /// The small grid that shows the headline in seconds on two cores (sim1: source n
    /// 5000, target n 50, 100, 250, both assignments, 10 replications, target-only,
    /// staged-alignment, fine-tune, freeze-representation; sim2: source n 1000, biased targets
    /// of 100, three shifts at levels 0, 0.5, 1, 5 replications).
    #[arg(long)]
    pub quick: bool,
    /// Replications per cell [default: 100; --quick: 10 for sim1, 5 for sim2].
    #[arg(long, value_name = "N")]
    pub reps: Option<u64>,
    /// Run only the K-th of N disjoint shares (0-based, e.g. 0/3, 1/3, 2/3) and combine them
    /// with `ite merge`. Default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (minus
    /// SLURM_ARRAY_TASK_MIN), or JOB_COMPLETION_INDEX/ITE_SHARD_COUNT (Kubernetes), else all.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Worker threads, each fitting one network at a time [default: available cores].
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Methods (strategy names, comma-separated; `all`: every strategy) [default: sim1 target-only,
    /// staged-alignment (+ fine-tune, freeze-representation with --quick); sim2
    /// staged-alignment, target-only, source-only]. `auto` adds the selection methods
    /// auto-r-loss, auto-dr, auto-pehe-nn (the strategy chosen among the listed ones from the
    /// target data by that score, refit on the whole target) and oracle (the listed strategy of
    /// the lowest true ε_PEHE per replication); each may also be named alone (`all,auto`: every
    /// strategy and the four). With them the run
    /// also writes OUT/selection.csv and OUT/cita.csv (docs/selection.md).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub methods: Option<Vec<String>>,
    /// Folds of the selection methods' choice (each listed strategy fitted K times on K−1
    /// folds of the target) [default: 5].
    #[arg(long, value_name = "K")]
    pub selection_folds: Option<usize>,
    /// How data are drawn and where errors are measured. `clean`: a fresh source sample and
    /// model per replication, fresh targets, a fresh test draw. `study`: the study's published
    /// code — one source sample and model per source size for all replications, sim1 targets
    /// resampled from the source's rows (biased ones by accept–reject on their Y(0)), sim2
    /// biased assignment standardized by the sample's own Y(0) moments, errors measured on the
    /// target sample itself. `study` measures partly on units the source has seen: its errors
    /// are optimistic (a warning is printed and recorded in OUT/run.json).
    #[arg(long, value_name = "P", default_value = "clean", value_parser = ["clean", "study"])]
    pub protocol: String,
    /// Root seed of every draw and fit.
    #[arg(long)]
    pub seed: u64,
    /// Output directory. Restarting with the same arguments resumes an interrupted run.
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// Also estimate each task's target ATE by cross-fitted AIPW (the method re-run on each
    /// training fold of the target, with the cell's source model) with a 95% interval, and
    /// record it with whether it holds the target's true sample ATE (results.csv: ate_sample,
    /// ate_aipw, ate_se, ate_lower, ate_upper, ate_covers, aipw_seconds; summary.csv: coverage,
    /// ci_width_mean). Costs K more fits per task (docs/inference.md).
    #[arg(long)]
    pub intervals: bool,
    /// Cross-fitting folds of --intervals [default: 5].
    #[arg(long, value_name = "K", requires = "intervals")]
    pub folds: Option<usize>,
    /// No progress on stderr and no table on stdout.
    #[arg(long)]
    pub quiet: bool,
    /// Skip drawing figures.
    #[arg(long)]
    pub no_figures: bool,
    /// Cap every training phase's epochs (smoke tests; changes the results).
    #[arg(long, value_name = "N", hide = true)]
    pub max_epochs: Option<usize>,
    /// Size of the fresh test draw per cell (default 2000), or `holdout` for a 30% hold-out of
    /// the target sample (the study's protocol, docs/design.md §4).
    #[arg(long, value_name = "N|holdout", hide = true)]
    pub test: Option<String>,
    /// Only these source sizes (comma-separated) instead of the grid's [default: sim1 1000, 5000,
    /// 10000, 20000, 30000; sim2 1000, 5000; --quick: 5000 for sim1, 1000 for sim2].
    #[arg(long, value_name = "N,M", value_delimiter = ',')]
    pub source_n: Option<Vec<usize>>,
    /// Only these target sizes (comma-separated) instead of the grid's [default: sim1 50, 100,
    /// 250, 500, 1000; sim2 50, 100, 500; --quick: 50, 100, 250 for sim1, 100 for sim2].
    #[arg(long, value_name = "N,M", value_delimiter = ',')]
    pub target_n: Option<Vec<usize>>,
    /// How the clean protocol's source models train: `batched` (default: the source models of
    /// several replications trained together, several times faster) or `single` (one at a time,
    /// as runs written before this option; use it to resume or merge with such a run). The two
    /// agree to rounding, not bit for bit.
    #[arg(long, value_name = "batched|single", default_value = "batched", value_parser = ["batched", "single"])]
    pub source_trainer: String,
    /// How the target fits of target-only, fine-tune, freeze-representation and the heads phase
    /// of staged-alignment train: `batched` (default: a cell's replications together) or
    /// `single` (one at a time, as runs written before this option; use it to resume or merge
    /// with such a run). Under the clean protocol only with `--source-trainer batched`: otherwise
    /// the target fits train one at a time whatever this says.
    #[arg(long, value_name = "batched|single", default_value = "batched", value_parser = ["batched", "single"])]
    pub target_trainer: String,
}

impl Args {
    /// The grid these arguments describe.
    fn spec(&self) -> Result<GridSpec> {
        let experiment: Experiment = self.experiment.parse()?;
        let mut spec = GridSpec::for_experiment(experiment, self.quick);
        if let Some(r) = self.reps {
            if r == 0 {
                bail!("--reps: expected at least 1 replication");
            }
            spec.replications = r;
        }
        if let Some(ms) = &self.methods {
            spec.methods = methods(ms)?;
        }
        if let Some(k) = self.selection_folds {
            spec.selection_folds = k;
        }
        if let Some(v) = &self.source_n {
            spec.source_ns = v.clone();
        }
        if let Some(v) = &self.target_n {
            spec.target_ns = v.clone();
        }
        if let Some(t) = &self.test {
            spec.test = if t == "holdout" {
                TestSet::HoldOut(0.3)
            } else {
                TestSet::FreshDraw(t.parse().with_context(|| format!("--test: `{t}` is neither a size nor `holdout`"))?)
            };
        }
        spec.max_epochs = self.max_epochs;
        spec = spec.with_protocol(self.protocol.parse::<Protocol>()?);
        spec.batched_sources = self.source_trainer == "batched";
        spec.batched_targets = self.target_trainer == "batched";
        if self.intervals {
            let folds = self.folds.unwrap_or(Intervals::default().folds);
            spec.intervals = Some(Intervals { folds, ..Intervals::default() });
        }
        ite_core::Params::validate(&spec)?;
        Ok(spec)
    }

    fn shard(&self) -> Result<Shard> {
        Ok(match &self.shard {
            Some(s) => s.parse().context("--shard")?,
            None => Shard::from_env()?.unwrap_or(Shard::WHOLE),
        })
    }
}

/// The methods of `--methods`: `all` stands for every registered strategy, `auto` for the four
/// selection methods.
fn methods(ms: &[String]) -> Result<Vec<String>> {
    let registry = Registry::builtin();
    let mut out: Vec<String> = Vec::new();
    for m in ms.iter().map(|s| s.trim()) {
        if m == "all" {
            out.extend(registry.names().into_iter().map(String::from));
        } else if m == "auto" {
            out.extend(SELECTION_METHODS.iter().map(|s| s.to_string()));
        } else if registry.contains(m) || SELECTION_METHODS.contains(&m) {
            out.push(m.to_string());
        } else {
            bail!(
                "--methods: unknown method `{m}`; valid methods: {}, {}, `auto` (all four) or `all`",
                registry.names().join(", "),
                SELECTION_METHODS.join(", ")
            );
        }
    }
    Ok(out)
}

/// Runs `ite reproduce`.
pub fn run(args: Args) -> Result<()> {
    let jobs = match args.jobs {
        Some(0) => bail!("--jobs: expected at least 1"),
        Some(j) => j,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    // One thread per fit: the grid's own pool has an explicit size.
    crate::threads::set_backend_threads(1, crate::threads::Override::KeepUsers);
    let spec = args.spec()?;
    let shard = args.shard()?;
    let opts = RunOptions { seed: Seed::new(args.seed), quick: args.quick, jobs, shard };
    // Holds OUT's lock from here to the end: a second run on OUT is refused at once.
    let registry = Registry::builtin();
    let grid = GridRun::open(&spec, &opts, &registry, &args.out).map_err(|e| {
        let text = e.to_string();
        let flags: Vec<&str> =
            [("grid.batched_sources", "--source-trainer"), ("grid.batched_targets", "--target-trainer")]
                .iter()
                .filter(|(field, _)| text.contains(field))
                .map(|(_, flag)| *flag)
                .collect();
        if flags.is_empty() {
            anyhow::Error::from(e)
        } else {
            // Target fits train batched only with batched sources, so --source-trainer single
            // changes both fields.
            anyhow::anyhow!("{text} (set by {}: batched = true, single = false)", flags.join(" and "))
        }
    })?;
    let plan = grid.plan();
    let todo = plan.tasks - plan.finished;
    // Not progress: printed even with --quiet.
    if let Some(w) = spec.protocol.warning() {
        eprintln!("[ite reproduce] warning: {w}");
    }
    if !args.quiet {
        eprintln!(
            "[ite reproduce] {} {}grid ({} protocol), shard {shard}: {} tasks ({} finished earlier), {jobs} jobs, into {}",
            spec.experiment,
            if args.quick { "quick " } else { "" },
            spec.protocol,
            plan.tasks,
            plan.finished,
            args.out.display()
        );
    }
    let progress = Reporter::new(todo as u64, args.quiet);
    let report = grid.run(&|row, p| {
        progress.tick(
            p.done as u64,
            &format!("{} n={} {} rep {}", row.method, row.target_n, row.assignment, row.replication),
        );
    })?;
    progress.finish();
    let figures = if args.no_figures { Vec::new() } else { draw_figures(&report.rows, &spec, &args.out)? };
    if !args.quiet {
        print_table(&report.summary)?;
        eprintln!(
            "[ite reproduce] ran {} tasks, skipped {}; wrote {}/results.csv, summary.csv{}{}",
            report.ran,
            report.skipped,
            args.out.display(),
            if spec.has_selection() { ", selection.csv, cita.csv" } else { "" },
            if figures.is_empty() { String::new() } else { format!(" and {} figure files", figures.len()) }
        );
    }
    Ok(())
}

/// Draws the experiment's figures into OUT/figures.
pub fn draw_figures(rows: &[ite_eval::ResultRow], spec: &GridSpec, out: &Path) -> Result<Vec<PathBuf>> {
    let dir = out.join("figures");
    ite_eval::figures::draw_all(rows, spec.experiment.as_str(), &dir)
        .with_context(|| format!("drawing figures into {}", dir.display()))
}

/// The summary as a table on stdout: ε_PEHE (mean square) and ATE bias, mean ± se; with
/// intervals, their coverage and mean width.
pub fn print_table(summary: &[SummaryRow]) -> Result<()> {
    let intervals = summary.iter().any(|s| s.coverage.is_some());
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |c| format!("{c:.4}"));
    outln!(
        "{:<5} {:>8} {:>8} {:<10} {:<10} {:>5} {:<22} {:>4} {:>17} {:>17} {:>8}{}",
        "exp",
        "source_n",
        "target_n",
        "assignment",
        "shift",
        "level",
        "method",
        "reps",
        "ε_PEHE ± se",
        "ATE bias ± se",
        "CITA",
        if intervals { format!(" {:>8} {:>8}", "coverage", "CI width") } else { String::new() }
    )?;
    for s in summary {
        outln!(
            "{:<5} {:>8} {:>8} {:<10} {:<10} {:>5} {:<22} {:>4} {:>8.4} ± {:<6.4} {:>8.4} ± {:<6.4} {:>8}{}",
            s.experiment,
            s.source_n,
            s.target_n,
            s.assignment,
            s.shift,
            s.level,
            s.method,
            s.count,
            s.pehe_mean,
            s.pehe_se,
            s.ate_bias_mean,
            s.ate_bias_se,
            opt(s.cita_mean),
            if intervals { format!(" {:>8} {:>8}", opt(s.coverage), opt(s.ci_width_mean)) } else { String::new() }
        )?;
    }
    Ok(())
}

/// Progress on stderr: a bar with ETA on a terminal, a line every 30 s (and at the end) otherwise.
pub struct Reporter {
    bar: Option<ProgressBar>,
    lines: Option<Mutex<(Instant, u64)>>,
    total: u64,
    start: Instant,
}

impl Reporter {
    /// A reporter for `total` tasks; silent with `quiet`.
    pub fn new(total: u64, quiet: bool) -> Reporter {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} tasks, ETA {eta} {wide_msg}")
            {
                b.set_style(style.progress_chars("=> "));
            }
            b.enable_steady_tick(Duration::from_millis(500));
            b
        });
        let lines = (!quiet && !tty).then(|| Mutex::new((Instant::now(), 0)));
        Reporter { bar, lines, total, start: Instant::now() }
    }

    /// Records that `done` tasks are finished, the last being `what`.
    pub fn tick(&self, done: u64, what: &str) {
        if let Some(b) = &self.bar {
            b.set_position(done);
            b.set_message(what.to_string());
        }
        if let Some(l) = &self.lines
            && let Ok(mut g) = l.lock()
            && (g.0.elapsed() >= Duration::from_secs(30) || done == self.total)
        {
            *g = (Instant::now(), done);
            let el = self.start.elapsed().as_secs_f64();
            let eta = if done > 0 { el / done as f64 * (self.total - done) as f64 } else { f64::NAN };
            eprintln!("[ite reproduce] {done}/{} tasks, {el:.0} s elapsed, ETA {eta:.0} s", self.total);
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

//! `ite simulate`: draw a sample from one of the project's data-generating
//! processes and write it as CSV (`x1,…,xp,t,y,mu0,mu1`).
//!
//! Each scenario is a clap subcommand with only the flags that apply to it, so a
//! flag that does not apply is rejected by the parser. Every value is checked
//! before anything is drawn, and the file is written atomically, so an invalid
//! command leaves no file behind.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use ite_core::{CausalData, CsvLayout, Dgp, Seed};
use ite_dgp::{
    Assignment, NieWager, NieWagerSetup, Resample, Shift, Sim1Params, Sim1Source, Sim1Target, Sim2Params, Sim2Source,
    Sim2Target, TargetDraw, ihdp,
};

const SCENARIOS: &str = "\
Flags of each scenario (`ite simulate SCENARIO --help` describes them):
  sim1          --role source
                --role target [--assignment randomized|biased] [--from-source SRC.csv]
                (--from-source resamples the rows of SRC.csv with replacement, as the study does;
                 without it the target is a fresh draw from the population)
  sim2          --role source
                --role target [--shift none|covariate|effect|prognostic --level C] [--assignment randomized|biased]
  nie-wager-a   [--propensity-adj ADJ]
  nie-wager-d   [--propensity-adj ADJ]
  ihdp-like     --data DIR [--replication R]

Common: --n N (units, > 0), --seed S, --out FILE.csv; --dim P and --noise-sd SD change the
population (sim1, sim2, nie-wager-*). The sample equals the library's `sample_seeded(N, Seed::new(S))`.

Examples:
  ite simulate sim1 --role source --n 10000 --seed 1 --out source.csv
  ite simulate sim1 --role target --assignment biased --n 250 --seed 2 --from-source source.csv --out target.csv
  ite simulate sim2 --role target --shift covariate --level 0.5 --assignment biased --n 500 --seed 3 --out t.csv";

/// Arguments of `ite simulate`: the scenario and its flags.
#[derive(Debug, clap::Args)]
#[command(
    subcommand_value_name = "SCENARIO",
    subcommand_help_heading = "Scenarios",
    disable_help_subcommand = true,
    after_long_help = SCENARIOS,
    after_help = SCENARIOS
)]
pub struct Args {
    /// The data-generating process.
    #[command(subcommand)]
    pub scenario: Scenario,
}

/// The scenarios `ite simulate` knows, each with its own flags.
#[derive(Debug, clap::Subcommand)]
pub enum Scenario {
    /// Aydın–Brandt Simulation 1 (linear, 5 correlated covariates, τ(x) = 1 + 0.05·Σx).
    Sim1(Sim1Args),
    /// Aydın–Brandt Simulation 2 (nonlinear, shifts).
    Sim2(Sim2Args),
    /// Nie–Wager setup A: difficult nuisance, easy effect.
    NieWagerA(NieWagerAdjustableArgs),
    /// Nie–Wager setup B: randomized trial.
    NieWagerB(NieWagerArgs),
    /// Nie–Wager setup C: easy propensity, difficult baseline.
    NieWagerC(NieWagerArgs),
    /// Nie–Wager setup D: unrelated arms.
    NieWagerD(NieWagerAdjustableArgs),
    /// Rows of one IHDP replication drawn with replacement.
    IhdpLike(IhdpLikeArgs),
}

/// How many units, which seed, where to write: every scenario has these.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Number of units to draw (> 0).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_units)]
    pub n: usize,
    /// Seed; the same seed gives the same file, byte for byte.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Output CSV file (written atomically: on any error no file is left).
    #[arg(long, value_name = "FILE.csv")]
    pub out: PathBuf,
}

/// Changes to a simulated population (sim1, sim2, nie-wager-*).
#[derive(Debug, clap::Args)]
pub struct PopulationArgs {
    /// Number of covariates [default: 5].
    #[arg(long, value_name = "P", value_parser = parse_dim)]
    pub dim: Option<usize>,
    /// Standard deviation of the outcome noise [default: 1].
    #[arg(long, value_name = "SD", allow_negative_numbers = true, value_parser = parse_noise_sd)]
    pub noise_sd: Option<f64>,
}

/// Flags of `ite simulate sim1`.
#[derive(Debug, clap::Args)]
pub struct Sim1Args {
    /// Source or target population.
    #[arg(long, value_enum)]
    pub role: Role,
    /// Treatment assignment of a target [default: randomized].
    #[arg(long, value_enum)]
    pub assignment: Option<AssignmentArg>,
    /// A sim1 source CSV whose rows the target resamples with replacement (without it the
    /// target is a fresh draw from the population).
    #[arg(long, value_name = "SRC.csv")]
    pub from_source: Option<PathBuf>,
    /// Changes to the population.
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Units, seed and output file.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `ite simulate sim2`.
#[derive(Debug, clap::Args)]
pub struct Sim2Args {
    /// Source or target population.
    #[arg(long, value_enum)]
    pub role: Role,
    /// Treatment assignment of a target [default: randomized].
    #[arg(long, value_enum)]
    pub assignment: Option<AssignmentArg>,
    /// Shift of a target [default: none].
    #[arg(long, value_enum)]
    pub shift: Option<ShiftArg>,
    /// Shift level c ≥ 0 of a target (the study: 0, 0.25, 0.5, 0.75, 1).
    #[arg(long, value_name = "C", allow_negative_numbers = true, value_parser = parse_level)]
    pub level: Option<f64>,
    /// Changes to the population.
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Units, seed and output file.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `ite simulate nie-wager-b` and `nie-wager-c`.
#[derive(Debug, clap::Args)]
pub struct NieWagerArgs {
    /// Changes to the population.
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Units, seed and output file.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `ite simulate nie-wager-a` and `nie-wager-d`, whose propensity can be shifted.
#[derive(Debug, clap::Args)]
pub struct NieWagerAdjustableArgs {
    /// Logit shift of the propensity (higher: fewer treated) [default: 0].
    #[arg(long, value_name = "ADJ", allow_negative_numbers = true)]
    pub propensity_adj: Option<f64>,
    /// The flags every Nie–Wager setup has.
    #[command(flatten)]
    pub common: NieWagerArgs,
}

/// Flags of `ite simulate ihdp-like`.
#[derive(Debug, clap::Args)]
pub struct IhdpLikeArgs {
    /// Directory with ihdp_npci_R.csv files.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// IHDP replication to resample.
    #[arg(long, value_name = "R", default_value_t = 1)]
    pub replication: usize,
    /// Units, seed and output file.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Source or target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// The (randomized) source population.
    Source,
    /// A target population.
    Target,
}

/// `--assignment` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AssignmentArg {
    /// Treatment independent of everything.
    Randomized,
    /// Treatment depends on Y(0).
    Biased,
}

/// `--shift` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShiftArg {
    /// No shift.
    None,
    /// Covariate shift: mean c, correlation 0.6c.
    Covariate,
    /// Effect shift: ω_T = ω_S + c·v.
    Effect,
    /// Prognostic shift: γ_T = γ_S + c·v.
    Prognostic,
}

impl From<AssignmentArg> for Assignment {
    fn from(a: AssignmentArg) -> Self {
        match a {
            AssignmentArg::Randomized => Assignment::Randomized,
            AssignmentArg::Biased => Assignment::Biased,
        }
    }
}

impl From<ShiftArg> for Shift {
    fn from(s: ShiftArg) -> Self {
        match s {
            ShiftArg::None => Shift::None,
            ShiftArg::Covariate => Shift::Covariate,
            ShiftArg::Effect => Shift::Effect,
            ShiftArg::Prognostic => Shift::Prognostic,
        }
    }
}

fn parse_units(s: &str) -> Result<usize, String> {
    let n: i64 = s.parse().map_err(|e| format!("{e}"))?;
    if n <= 0 {
        return Err(format!("must be a positive number of units, got {n}"));
    }
    usize::try_from(n).map_err(|_| format!("{n} is too large for this machine"))
}

fn parse_dim(s: &str) -> Result<usize, String> {
    match s.parse::<usize>().map_err(|e| format!("{e}"))? {
        0 => Err("must be at least 1, got 0".to_string()),
        d => Ok(d),
    }
}

fn parse_noise_sd(s: &str) -> Result<f64, String> {
    let sd: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if !(sd.is_finite() && sd >= 0.0) {
        return Err(format!("must be a finite number ≥ 0, got {sd}"));
    }
    Ok(sd)
}

fn parse_level(s: &str) -> Result<f64, String> {
    let level: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if !(level.is_finite() && level >= 0.0) {
        return Err(format!("must be a shift level ≥ 0, got {level}"));
    }
    Ok(level)
}

/// What to sample, fully resolved and validated.
enum Plan {
    Sim1Source(Sim1Source),
    Sim1Target(Sim1Target),
    Sim2Source(Sim2Source),
    Sim2Target(Sim2Target),
    NieWager(NieWager),
    Resample(Resample),
}

impl Plan {
    fn sample(&self, n: usize, seed: Seed) -> Result<CausalData, ite_dgp::DgpError> {
        match self {
            Plan::Sim1Source(d) => d.sample_seeded(n, seed),
            Plan::Sim1Target(d) => d.sample_seeded(n, seed),
            Plan::Sim2Source(d) => d.sample_seeded(n, seed),
            Plan::Sim2Target(d) => d.sample_seeded(n, seed),
            Plan::NieWager(d) => d.sample_seeded(n, seed),
            Plan::Resample(d) => d.sample_seeded(n, seed),
        }
    }

    /// Checks every parameter without drawing anything.
    fn validate(&self) -> Result<(), ite_dgp::DgpError> {
        use ite_core::Params;
        match self {
            Plan::Sim1Source(d) => d.params.validate(),
            Plan::Sim1Target(d) => d.validate(),
            Plan::Sim2Source(d) => d.params.validate(),
            Plan::Sim2Target(d) => d.population().map(|_| ()),
            Plan::NieWager(d) => d.validate(),
            Plan::Resample(_) => Ok(()),
        }
    }
}

/// Draws the sample and writes it.
pub fn run(args: Args) -> Result<()> {
    let (plan, out) = match &args.scenario {
        Scenario::Sim1(a) => (a.plan()?, &a.output),
        Scenario::Sim2(a) => (a.plan()?, &a.output),
        Scenario::NieWagerA(a) => (Plan::NieWager(a.dgp(NieWagerSetup::A)), &a.common.output),
        Scenario::NieWagerB(a) => (Plan::NieWager(a.dgp(NieWagerSetup::B)), &a.output),
        Scenario::NieWagerC(a) => (Plan::NieWager(a.dgp(NieWagerSetup::C)), &a.output),
        Scenario::NieWagerD(a) => (Plan::NieWager(a.dgp(NieWagerSetup::D)), &a.common.output),
        Scenario::IhdpLike(a) => (a.plan()?, &a.output),
    };
    plan.validate().map_err(|e| anyhow::anyhow!("{}", flag_message(e)))?;
    crate::output::check_file_not_input(&out.out, "--out", &args.scenario.inputs())?;
    crate::output::guard_temps(&crate::output::parent_of(&out.out));
    let data = plan.sample(out.n, Seed::new(out.seed)).context("cannot draw the sample")?;
    ite_core::write_csv(&out.out, &data)?;
    let truth = data.truth().map(|t| format!(", true ATE {:.4}", t.ate())).unwrap_or_default();
    outln!(
        "wrote {} units ({} treated), {} covariates{truth} to {}",
        data.n(),
        data.n_treated(),
        data.p(),
        out.out.display()
    )?;
    Ok(())
}

impl Scenario {
    /// The files and directories the scenario reads (option, path).
    fn inputs(&self) -> Vec<(&'static str, &std::path::Path)> {
        match self {
            Scenario::Sim1(a) => a.from_source.as_deref().map(|p| ("--from-source", p)).into_iter().collect(),
            Scenario::IhdpLike(a) => vec![("--data", a.data.as_path())],
            _ => Vec::new(),
        }
    }
}

/// Errors when `flag` was given to a source, which only targets use.
fn reject_for_source(given: bool, flag: &str, scenario: &str, why: &str) -> Result<()> {
    if given {
        bail!("{flag} does not apply to a {scenario} source: {why}");
    }
    Ok(())
}

impl Sim1Args {
    fn plan(&self) -> Result<Plan> {
        let mut params = Sim1Params::default();
        params.dim = self.population.dim.unwrap_or(params.dim);
        params.noise_sd = self.population.noise_sd.unwrap_or(params.noise_sd);
        if self.role == Role::Source {
            let why = "the source is always randomized; use --role target";
            reject_for_source(self.assignment.is_some(), "--assignment", "sim1", why)?;
            reject_for_source(self.from_source.is_some(), "--from-source", "sim1", "it is for targets")?;
            return Ok(Plan::Sim1Source(Sim1Source::new(params)));
        }
        let draw = match &self.from_source {
            Some(path) => {
                let src = self.read_source(path)?;
                params.dim = src.p();
                TargetDraw::Resample(src)
            }
            None => TargetDraw::Population,
        };
        let assignment = self.assignment.map(Into::into).unwrap_or_default();
        Ok(Plan::Sim1Target(Sim1Target { params, assignment, draw, ..Sim1Target::default() }))
    }

    /// Reads `--from-source`, whose covariate count must agree with `--dim` if given.
    fn read_source(&self, path: &std::path::Path) -> Result<CausalData> {
        // `{e}` rather than context: the I/O error already names the path.
        let src = ite_core::read_csv(path, &CsvLayout::default()).map_err(|e| anyhow::anyhow!("--from-source: {e}"))?;
        if let Some(d) = self.population.dim
            && d != src.p()
        {
            bail!("--dim {d} differs from the {} covariates of --from-source {}", src.p(), path.display());
        }
        Ok(src)
    }
}

impl Sim2Args {
    fn plan(&self) -> Result<Plan> {
        let mut params = Sim2Params::default();
        params.dim = self.population.dim.unwrap_or(params.dim);
        params.noise_sd = self.population.noise_sd.unwrap_or(params.noise_sd);
        if self.role == Role::Source {
            let why = "the source is always randomized; use --role target";
            reject_for_source(self.assignment.is_some(), "--assignment", "sim2", why)?;
            let shifted = self.shift.is_some() || self.level.is_some();
            reject_for_source(shifted, "--shift/--level", "sim2", "the source is never shifted")?;
            return Ok(Plan::Sim2Source(Sim2Source::new(params)));
        }
        let shift: Shift = self.shift.map(Into::into).unwrap_or_default();
        let level = match (shift, self.level) {
            (_, Some(level)) => level,
            (Shift::None, None) => 0.0,
            (_, None) => bail!("--level is required with --shift {shift}"),
        };
        let assignment = self.assignment.map(Into::into).unwrap_or_default();
        Ok(Plan::Sim2Target(Sim2Target {
            params,
            shift,
            level,
            assignment,
            standardization: ite_dgp::Standardization::Population,
        }))
    }
}

impl NieWagerArgs {
    fn dgp(&self, setup: NieWagerSetup) -> NieWager {
        let mut dgp = NieWager::new(setup);
        dgp.dim = self.population.dim.unwrap_or(dgp.dim);
        dgp.sigma = self.population.noise_sd.unwrap_or(dgp.sigma);
        dgp
    }
}

impl NieWagerAdjustableArgs {
    fn dgp(&self, setup: NieWagerSetup) -> NieWager {
        let mut dgp = self.common.dgp(setup);
        dgp.propensity_adj = self.propensity_adj.unwrap_or(dgp.propensity_adj);
        dgp
    }
}

impl IhdpLikeArgs {
    fn plan(&self) -> Result<Plan> {
        let r = self.replication;
        let data = ihdp::load_file(&ihdp::replication_path(&self.data, r))
            .with_context(|| format!("--data, replication {r}"))?;
        Ok(Plan::Resample(Resample::new(data)))
    }
}

/// Rewords a library parameter error with the flag a user would change.
fn flag_message(e: ite_dgp::DgpError) -> String {
    let msg = e.to_string();
    let flags = [
        ("`dim`", "--dim"),
        ("`noise_sd`", "--noise-sd"),
        ("`sigma`", "--noise-sd"),
        ("`level`", "--level"),
        ("`propensity_adj`", "--propensity-adj"),
    ];
    for (field, flag) in flags {
        if msg.contains(field) {
            return format!("{flag}: {msg}");
        }
    }
    msg
}

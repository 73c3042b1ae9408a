//! `ite simulate`: draw a sample from one of the project's data-generating
//! processes and write it as CSV (`x1,…,xp,t,y,mu0,mu1`).
//!
//! Every flag is checked before anything is drawn, and the file is written
//! atomically, so an invalid command leaves no file behind.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use ite_core::{CausalData, CsvLayout, Dgp, Seed};
use ite_dgp::{
    Assignment, NieWager, NieWagerSetup, Resample, Shift, Sim1Params, Sim1Source, Sim1Target, Sim2Params, Sim2Source,
    Sim2Target, TargetDraw, ihdp,
};

const SCENARIOS: &str = "\
Scenarios:
  sim1          Aydın–Brandt Simulation 1 (linear, 5 correlated covariates, τ(x) = 1 + 0.05·Σx)
                  --role source
                  --role target [--assignment randomized|biased] [--from-source SRC.csv]
                  (--from-source resamples the rows of SRC.csv with replacement, as the study does;
                   without it the target is a fresh draw from the population)
  sim2          Aydın–Brandt Simulation 2 (nonlinear, shifts)
                  --role source
                  --role target [--shift none|covariate|effect|prognostic --level C] [--assignment randomized|biased]
  nie-wager-a   Nie–Wager setup A: difficult nuisance, easy effect     [--propensity-adj ADJ]
  nie-wager-b   Nie–Wager setup B: randomized trial
  nie-wager-c   Nie–Wager setup C: easy propensity, difficult baseline
  nie-wager-d   Nie–Wager setup D: unrelated arms                      [--propensity-adj ADJ]
  ihdp-like     rows of one IHDP replication drawn with replacement    --data DIR [--replication R]

Common: --n N (units, > 0), --seed S, --out FILE.csv; --dim P and --noise-sd SD change the
population (sim1, sim2, nie-wager-*). The sample equals the library's `sample_seeded(N, Seed::new(S))`.

Examples:
  ite simulate sim1 --role source --n 10000 --seed 1 --out source.csv
  ite simulate sim1 --role target --assignment biased --n 250 --seed 2 --from-source source.csv --out target.csv
  ite simulate sim2 --role target --shift covariate --level 0.5 --assignment biased --n 500 --seed 3 --out t.csv";

/// Arguments of `ite simulate`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = SCENARIOS, after_help = SCENARIOS)]
pub struct Args {
    /// The data-generating process (listed below).
    #[arg(value_enum, value_name = "SCENARIO")]
    pub scenario: Scenario,
    /// Source or target population (sim1, sim2).
    #[arg(long, value_enum)]
    pub role: Option<Role>,
    /// Treatment assignment of a target [default: randomized].
    #[arg(long, value_enum)]
    pub assignment: Option<AssignmentArg>,
    /// Shift of a sim2 target [default: none].
    #[arg(long, value_enum)]
    pub shift: Option<ShiftArg>,
    /// Shift level c ≥ 0 of a sim2 target (the study: 0, 0.25, 0.5, 0.75, 1).
    #[arg(long, value_name = "C", allow_negative_numbers = true)]
    pub level: Option<f64>,
    /// Number of units to draw (> 0).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub n: i64,
    /// Seed; the same seed gives the same file, byte for byte.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// A sim1 source CSV whose rows a sim1 target resamples with replacement.
    #[arg(long, value_name = "SRC.csv")]
    pub from_source: Option<PathBuf>,
    /// Number of covariates [default: 5].
    #[arg(long, value_name = "P")]
    pub dim: Option<usize>,
    /// Standard deviation of the outcome noise [default: 1].
    #[arg(long, value_name = "SD", allow_negative_numbers = true)]
    pub noise_sd: Option<f64>,
    /// Logit shift of the propensity in nie-wager-a and nie-wager-d (higher: fewer treated) [default: 0].
    #[arg(long, value_name = "ADJ", allow_negative_numbers = true)]
    pub propensity_adj: Option<f64>,
    /// Directory with ihdp_npci_R.csv files (ihdp-like).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// IHDP replication to resample (ihdp-like) [default: 1].
    #[arg(long, value_name = "R")]
    pub replication: Option<usize>,
    /// Output CSV file (written atomically: on any error no file is left).
    #[arg(long, value_name = "FILE.csv")]
    pub out: PathBuf,
}

/// The scenarios `ite simulate` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Simulation 1 (linear).
    Sim1,
    /// Simulation 2 (nonlinear, shifts).
    Sim2,
    /// Nie–Wager setup A.
    NieWagerA,
    /// Nie–Wager setup B.
    NieWagerB,
    /// Nie–Wager setup C.
    NieWagerC,
    /// Nie–Wager setup D.
    NieWagerD,
    /// IHDP rows resampled with replacement.
    IhdpLike,
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
    let n = check_n(args.n)?;
    let plan = plan(&args)?;
    let data = plan.sample(n, Seed::new(args.seed)).context("cannot draw the sample")?;
    ite_core::write_csv(&args.out, &data)?;
    let truth = data.truth().map(|t| format!(", true ATE {:.4}", t.ate())).unwrap_or_default();
    println!(
        "wrote {} units ({} treated), {} covariates{truth} to {}",
        data.n(),
        data.n_treated(),
        data.p(),
        args.out.display()
    );
    Ok(())
}

fn check_n(n: i64) -> Result<usize> {
    if n <= 0 {
        bail!("--n must be a positive number of units, got {n}");
    }
    usize::try_from(n).with_context(|| format!("--n {n} is too large for this machine"))
}

fn scenario_name(s: Scenario) -> String {
    s.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
}

/// Errors when `flag` was given for a scenario that does not use it.
fn reject(given: bool, flag: &str, scenario: Scenario, why: &str) -> Result<()> {
    if given {
        bail!("{flag} does not apply to {}: {why}", scenario_name(scenario));
    }
    Ok(())
}

fn plan(a: &Args) -> Result<Plan> {
    let s = a.scenario;
    if let Some(level) = a.level
        && !(level.is_finite() && level >= 0.0)
    {
        bail!("--level must be a shift level ≥ 0, got {level}");
    }
    if let Some(sd) = a.noise_sd
        && !(sd.is_finite() && sd >= 0.0)
    {
        bail!("--noise-sd must be a finite number ≥ 0, got {sd}");
    }
    if let Some(d) = a.dim
        && d == 0
    {
        bail!("--dim must be at least 1, got 0");
    }
    let is_sim = matches!(s, Scenario::Sim1 | Scenario::Sim2);
    let is_nw = matches!(s, Scenario::NieWagerA | Scenario::NieWagerB | Scenario::NieWagerC | Scenario::NieWagerD);
    reject(!is_sim && a.role.is_some(), "--role", s, "only sim1 and sim2 have source and target roles")?;
    reject(!is_sim && a.assignment.is_some(), "--assignment", s, "only sim1 and sim2 targets have it")?;
    reject(s != Scenario::Sim2 && (a.shift.is_some() || a.level.is_some()), "--shift/--level", s, "only sim2 shifts")?;
    reject(s != Scenario::Sim1 && a.from_source.is_some(), "--from-source", s, "only sim1 targets resample a source")?;
    reject(!is_nw && a.propensity_adj.is_some(), "--propensity-adj", s, "only nie-wager-a..d have it")?;
    reject(s != Scenario::IhdpLike && a.data.is_some(), "--data", s, "only ihdp-like reads a dataset")?;
    reject(s != Scenario::IhdpLike && a.replication.is_some(), "--replication", s, "only ihdp-like reads a dataset")?;
    reject(
        s == Scenario::IhdpLike && (a.dim.is_some() || a.noise_sd.is_some()),
        "--dim/--noise-sd",
        s,
        "the rows are IHDP's own",
    )?;
    let role = if is_sim {
        let Some(role) = a.role else {
            bail!("--role is required for {}: `--role source` or `--role target`", scenario_name(s));
        };
        if role == Role::Source {
            reject(a.assignment.is_some(), "--assignment", s, "the source is always randomized; use --role target")?;
            reject(a.shift.is_some() || a.level.is_some(), "--shift/--level", s, "the source is never shifted")?;
            reject(a.from_source.is_some(), "--from-source", s, "it is for targets")?;
        }
        Some(role)
    } else {
        None
    };
    let assignment: Assignment = a.assignment.map(Into::into).unwrap_or_default();
    let plan = match s {
        Scenario::Sim1 => {
            let mut params = Sim1Params::default();
            if let Some(d) = a.dim {
                params.dim = d;
            }
            if let Some(sd) = a.noise_sd {
                params.noise_sd = sd;
            }
            if role == Some(Role::Source) {
                Plan::Sim1Source(Sim1Source::new(params))
            } else {
                let draw = match &a.from_source {
                    Some(path) => {
                        // `{e}` rather than context: the I/O error already names the path.
                        let src = ite_core::read_csv(path, &CsvLayout::default())
                            .map_err(|e| anyhow::anyhow!("--from-source: {e}"))?;
                        if let Some(d) = a.dim
                            && d != src.p()
                        {
                            bail!(
                                "--dim {d} differs from the {} covariates of --from-source {}",
                                src.p(),
                                path.display()
                            );
                        }
                        params.dim = src.p();
                        TargetDraw::Resample(src)
                    }
                    None => TargetDraw::Population,
                };
                Plan::Sim1Target(Sim1Target { params, assignment, draw, ..Sim1Target::default() })
            }
        }
        Scenario::Sim2 => {
            let mut params = Sim2Params::default();
            if let Some(d) = a.dim {
                params.dim = d;
            }
            if let Some(sd) = a.noise_sd {
                params.noise_sd = sd;
            }
            if role == Some(Role::Source) {
                Plan::Sim2Source(Sim2Source::new(params))
            } else {
                let shift: Shift = a.shift.map(Into::into).unwrap_or_default();
                let level = match (shift, a.level) {
                    (_, Some(level)) => level,
                    (Shift::None, None) => 0.0,
                    (_, None) => bail!("--level is required with --shift {shift}"),
                };
                Plan::Sim2Target(Sim2Target { params, shift, level, assignment })
            }
        }
        Scenario::NieWagerA | Scenario::NieWagerB | Scenario::NieWagerC | Scenario::NieWagerD => {
            let setup = match s {
                Scenario::NieWagerA => NieWagerSetup::A,
                Scenario::NieWagerB => NieWagerSetup::B,
                Scenario::NieWagerC => NieWagerSetup::C,
                _ => NieWagerSetup::D,
            };
            let mut dgp = NieWager::new(setup);
            if let Some(d) = a.dim {
                dgp.dim = d;
            }
            if let Some(sd) = a.noise_sd {
                dgp.sigma = sd;
            }
            if let Some(adj) = a.propensity_adj {
                if !matches!(setup, NieWagerSetup::A | NieWagerSetup::D) {
                    bail!(
                        "--propensity-adj applies to nie-wager-a and nie-wager-d only (B is randomized, C's propensity is fixed)"
                    );
                }
                dgp.propensity_adj = adj;
            }
            Plan::NieWager(dgp)
        }
        Scenario::IhdpLike => {
            let Some(dir) = &a.data else {
                bail!("--data DIR is required for ihdp-like (the directory with ihdp_npci_R.csv files)");
            };
            let r = a.replication.unwrap_or(1);
            let data =
                ihdp::load_file(&ihdp::replication_path(dir, r)).with_context(|| format!("--data, replication {r}"))?;
            Plan::Resample(Resample::new(data))
        }
    };
    plan.validate().map_err(|e| anyhow::anyhow!("{}", flag_message(e)))?;
    Ok(plan)
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

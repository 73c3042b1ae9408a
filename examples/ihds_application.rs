//! The study's survey application (IHDS-II): does a household's firewood collection change a
//! child's weekly study time? A source (one state, ~1250 rural enrolled children) and two
//! targets of 350 (a random and a non-randomized subsample of another population); fits
//! target-only, source-only and the study's transfer (staged alignment); reports the mean ITE
//! in minutes of weekly study time for each, and draws the ITE densities per target.
//!
//! The survey's data cannot be shipped. With no arguments the example runs on a synthetic
//! stand-in with the survey's columns, generated here deterministically from the seed (its
//! marginals are documented in `docs/ihds.md`); on a real extract (see `docs/ihds.md`):
//!
//! ```sh
//! cargo run --release --example ihds_application
//! cargo run --release --example ihds_application -- --source up.csv --targets random.csv,selected.csv \
//!     [--treatment collect_fw] [--outcome study_min_wk] [--covariates ln_income,mother_edu,...] \
//!     [--seed 1] [--out ihds_out]
//! ```
//!
//! Writes `OUT/ihds_density.png`, `OUT/summary.csv` and (synthetic run) the stand-in's CSV files
//! `OUT/data/{source,target_random,target_selected}.csv`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Parser;
use ite::core::rand::RngExt;
use ite::core::{CausalData, Covariates, CsvLayout, Fit, IteModel, IteRng, Seed, TransferInput, Truth};
use ite::dgp::expit;
use ite::nets::{FittedTarNet, TarNetParams};
use ite::transfer::{CitaParams, strategy_by_name, transfer_with_cita};
use plotters::prelude::*;
use rand_distr::StandardNormal;

/// The survey's covariates, in this order.
const COVARIATES: [&str; 6] = ["ln_income", "mother_edu", "caste_religion_group", "elec", "dist_school_km", "poor"];
/// The three fits compared, with their labels in the figure.
const METHODS: [(&str, &str); 3] = [
    ("target-only", "without transfer (target only)"),
    ("source-only", "source model"),
    ("staged-alignment", "with transfer (staged alignment)"),
];
/// The study's font for figures, bundled with ite-eval.
static FONT: &[u8] = include_bytes!("../crates/ite-eval/assets/DejaVuSans.ttf");

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "The survey application (IHDS-II) on a real extract, or on a synthetic stand-in without --source")]
struct Opts {
    /// The source extract (CSV); without it the example runs on the synthetic stand-in.
    #[arg(long, value_name = "FILE", requires = "targets")]
    source: Option<PathBuf>,
    /// The target extracts (CSV), comma-separated.
    #[arg(long, value_name = "F1,F2", value_delimiter = ',', requires = "source")]
    targets: Vec<PathBuf>,
    /// Treatment column.
    #[arg(long, value_name = "COL", default_value = "collect_fw")]
    treatment: String,
    /// Outcome column.
    #[arg(long, value_name = "COL", default_value = "study_min_wk")]
    outcome: String,
    /// Covariate columns, comma-separated.
    #[arg(long, value_name = "A,B,..", value_delimiter = ',', default_values = COVARIATES)]
    covariates: Vec<String>,
    /// Seed of the stand-in and of every fit.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "ihds_out")]
    out: PathBuf,
}

// ---------------------------------------------------------------------------------------------
// The synthetic stand-in.

/// A standard normal draw.
fn normal(rng: &mut IteRng) -> f64 {
    rng.sample(StandardNormal)
}

/// How one population (a state, or the pool of other states) differs.
struct Population {
    /// Mean of log annual household income (rupees).
    ln_income_mean: f64,
    /// Shift of the mother's years of schooling.
    edu_shift: f64,
    /// Shift of the log-odds of a household electricity connection.
    elec_shift: f64,
    /// Shares of the caste/religion groups 1..=6.
    caste_shares: [f64; 6],
}

const SOURCE_STATE: Population = Population {
    ln_income_mean: 10.5,
    edu_shift: -1.0,
    elec_shift: -0.4,
    caste_shares: [0.18, 0.42, 0.22, 0.01, 0.16, 0.01],
};

const OTHER_STATES: Population = Population {
    ln_income_mean: 10.9,
    edu_shift: 1.0,
    elec_shift: 0.8,
    caste_shares: [0.22, 0.34, 0.21, 0.10, 0.10, 0.03],
};

/// One synthetic child: covariates in [`COVARIATES`] order, treatment, outcome, true means and
/// the outcome noise (for the non-randomized selection).
struct Unit {
    x: [f64; 6],
    t: u8,
    y: f64,
    mu0: f64,
    mu1: f64,
    noise: f64,
}

fn draw_unit(pop: &Population, rng: &mut IteRng) -> Unit {
    let ln_income = pop.ln_income_mean + 0.9 * normal(rng);
    let edu = (4.0 + pop.edu_shift + 1.5 * (ln_income - 10.5) + 4.0 * normal(rng)).clamp(0.0, 15.0).round();
    let u: f64 = rng.random();
    let mut acc = 0.0;
    let mut caste = 6.0;
    for (k, share) in pop.caste_shares.iter().enumerate() {
        acc += share;
        if u < acc {
            caste = (k + 1) as f64;
            break;
        }
    }
    let disadvantaged = if caste == 3.0 || caste == 4.0 { 1.0 } else { 0.0 };
    let elec = f64::from(u8::from(rng.random::<f64>() < expit(0.6 + pop.elec_shift + 0.9 * (ln_income - 10.5))));
    let dist = (0.3 + 1.1 * (0.6 * normal(rng)).exp()).min(15.0);
    let poor = f64::from(ln_income + 0.5 * normal(rng) < 10.0 - 0.2 * disadvantaged);
    let p_fw = expit(0.4 - 1.0 * elec + 0.7 * poor - 0.4 * (ln_income - 10.5) + 0.5 * disadvantaged);
    let t = u8::from(rng.random::<f64>() < p_fw);
    // Weekly study minutes: about an hour a day on average; richer, better-educated homes more.
    let mu0 =
        400.0 + 45.0 * (ln_income - 10.5) + 14.0 * edu + 40.0 * elec - 35.0 * poor - 30.0 * disadvantaged - 6.0 * dist;
    // Collecting firewood takes study time, less so where mothers are educated, more for the poor.
    let tau = -55.0 + 3.0 * edu - 25.0 * poor + 10.0 * elec;
    let noise = 120.0 * normal(rng);
    let mu1 = mu0 + tau;
    let y = (if t == 1 { mu1 } else { mu0 } + noise).max(0.0);
    Unit { x: [ln_income, edu, caste, elec, dist, poor], t, y, mu0, mu1, noise }
}

fn to_data(units: &[Unit]) -> Result<CausalData> {
    let names = COVARIATES.iter().map(|s| s.to_string()).collect();
    let x = Covariates::new(units.iter().flat_map(|u| u.x.map(|v| v)).collect(), names)?;
    let truth = Truth::new(units.iter().map(|u| u.mu0).collect(), units.iter().map(|u| u.mu1).collect())?;
    let data = CausalData::new(x, units.iter().map(|u| u.t).collect(), units.iter().map(|u| u.y).collect())?;
    Ok(data.with_truth(truth)?)
}

/// The stand-in: a source state of 1250 children, and a random and a non-randomized
/// (accept–reject on the outcome noise, as in the study's Simulation 1) target of 350 from the
/// other states. Deterministic per seed.
fn synthetic(seed: Seed) -> Result<(CausalData, Vec<(String, CausalData)>)> {
    let mut rng = seed.stream("ihds-source").rng();
    let source: Vec<Unit> = (0..1250).map(|_| draw_unit(&SOURCE_STATE, &mut rng)).collect();
    let mut rng = seed.stream("ihds-target-random").rng();
    let random: Vec<Unit> = (0..350).map(|_| draw_unit(&OTHER_STATES, &mut rng)).collect();
    let mut rng = seed.stream("ihds-target-selected").rng();
    let mut selected = Vec::with_capacity(350);
    while selected.len() < 350 {
        let u = draw_unit(&OTHER_STATES, &mut rng);
        // Treated children with high unobserved study propensity, and controls with low, enter.
        let p = expit(u.noise / 120.0 * 1.5);
        let accept = if u.t == 1 { p } else { 1.0 - p };
        if rng.random::<f64>() < accept {
            selected.push(u);
        }
    }
    Ok((
        to_data(&source)?,
        vec![("random target".into(), to_data(&random)?), ("non-randomized target".into(), to_data(&selected)?)],
    ))
}

/// Writes the stand-in in the survey's column layout (no truth columns, like a real extract).
fn write_standin(dir: &Path, name: &str, d: &CausalData) -> Result<()> {
    let mut text = format!("{},collect_fw,study_min_wk\n", COVARIATES.join(","));
    for i in 0..d.n() {
        let row: Vec<String> = d.x().row(i).iter().map(|v| v.to_string()).collect();
        text.push_str(&format!("{},{},{}\n", row.join(","), d.t()[i], d.y()[i]));
    }
    ite::core::write_atomic(dir.join(name), |w| w.write_all(text.as_bytes()))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Fitting and the figure.

/// Gaussian kernel density on `grid` with Silverman's bandwidth.
fn density(values: &[f64], grid: &[f64]) -> Vec<f64> {
    let n = values.len() as f64;
    let mean = values.iter().copied().sum::<f64>() / n;
    let sd = (values.iter().map(|&v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let h = (1.06 * sd * n.powf(-0.2)).max(1e-3);
    grid.iter()
        .map(|&g| {
            values.iter().map(|&v| (-0.5 * ((g - v) / h).powi(2)).exp()).sum::<f64>()
                / (n * h * (std::f64::consts::TAU).sqrt())
        })
        .collect()
}

fn draw_figure(path: &Path, panels: &[(String, Vec<Vec<f64>>)]) -> Result<()> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow::anyhow!("cannot register the bundled font"))?;
    let all: Vec<f64> = panels.iter().flat_map(|(_, s)| s.iter().flatten().copied()).collect();
    let (lo, hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let pad = 0.1 * (hi - lo).max(1.0);
    let grid: Vec<f64> = (0..=200).map(|i| lo - pad + (hi - lo + 2.0 * pad) * f64::from(i) / 200.0).collect();
    let curves: Vec<Vec<Vec<f64>>> =
        panels.iter().map(|(_, s)| s.iter().map(|v| density(v, &grid)).collect()).collect();
    let ymax = curves.iter().flatten().flatten().fold(0.0f64, |a, &b| a.max(b)) * 1.1;
    let root = BitMapBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let colours = [RGBColor(200, 60, 40), RGBColor(120, 120, 120), RGBColor(30, 90, 180)];
    for (area, ((title, _), curves)) in root.split_evenly((1, panels.len())).iter().zip(panels.iter().zip(&curves)) {
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(grid[0]..grid[grid.len() - 1], 0.0..ymax)?;
        chart
            .configure_mesh()
            .x_desc("ITE (minutes of weekly study time)")
            .y_desc("density")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for (k, curve) in curves.iter().enumerate() {
            let c = colours[k];
            chart
                .draw_series(LineSeries::new(grid.iter().copied().zip(curve.iter().copied()), c.stroke_width(2)))?
                .label(METHODS[k].1)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let opts = Opts::parse();
    let seed = Seed::new(opts.seed);
    let synthetic_run = opts.source.is_none();
    let (source, targets) = match &opts.source {
        None => synthetic(seed)?,
        Some(src) => {
            let layout = CsvLayout {
                treatment: opts.treatment.clone(),
                outcome: opts.outcome.clone(),
                covariates: Some(opts.covariates.clone()),
                ..CsvLayout::default()
            };
            let s = ite::core::read_csv(src, &layout)?;
            let mut t = Vec::new();
            for f in &opts.targets {
                let d = ite::core::read_csv(f, &layout)?;
                s.x().check_same_columns("--source", d.x(), &format!("--targets {}", f.display()))?;
                t.push((f.file_stem().map_or("target".into(), |s| s.to_string_lossy().into_owned()), d));
            }
            (s, t)
        }
    };
    for (what, d) in std::iter::once(("source", &source)).chain(targets.iter().map(|(n, d)| (n.as_str(), d))) {
        d.require_both_arms(what)?;
    }

    eprintln!(
        "training the source model (TarNetParams::transfer_source: CFR, linear MMD α = 1, early stopping) on {} children",
        source.n()
    );
    let source_model: FittedTarNet = TarNetParams::transfer_source().fit(&source, seed.stream("source-fit"))?;
    let mut summary = String::from("target,method,mean_ite_min_per_week,cita,true_mean_ite\n");
    let mut panels = Vec::new();
    println!("mean ITE of firewood collection on weekly study time (minutes), per target:");
    for (k, (name, target)) in targets.iter().enumerate() {
        let tseed = seed.index(k as u64);
        let input = TransferInput::new(&source_model, &source, target)?;
        let truth = target.truth().map(|t| t.ate());
        let mut ites = Vec::new();
        for (method, label) in METHODS {
            let strategy = strategy_by_name(method)?;
            // One seed for every method, so CITA (a property of source, target and source model)
            // is the same on each line.
            let out = transfer_with_cita(strategy.as_ref(), input, &CitaParams::default(), tseed.stream("transfer"))?;
            let ite = out.model.ite(target.x())?;
            let mean = ite.iter().copied().sum::<f64>() / ite.len() as f64;
            println!("  {name:<24} {label:<34} {mean:>8.1}   (CITA {:.3})", out.cita);
            summary.push_str(&format!(
                "{name},{method},{mean},{},{}\n",
                out.cita,
                truth.map_or(String::new(), |t| t.to_string())
            ));
            ites.push(ite);
        }
        if let Some(t) = truth {
            println!("  {name:<24} {:<34} {t:>8.1}", "true mean ITE (synthetic data only)");
        }
        panels.push((format!("{name} (n = {})", target.n()), ites));
    }
    // Everything computed: only now does OUT appear.
    std::fs::create_dir_all(&opts.out).with_context(|| format!("--out {}", opts.out.display()))?;
    if synthetic_run {
        let dir = opts.out.join("data");
        std::fs::create_dir_all(&dir)?;
        write_standin(&dir, "source.csv", &source)?;
        write_standin(&dir, "target_random.csv", &targets[0].1)?;
        write_standin(&dir, "target_selected.csv", &targets[1].1)?;
        println!("synthetic stand-in (not survey data); its CSV files are in {}", dir.display());
    }
    ite::core::write_atomic(opts.out.join("summary.csv"), |w| w.write_all(summary.as_bytes()))?;
    let fig = opts.out.join("ihds_density.png");
    draw_figure(&fig, &panels)?;
    println!("wrote {} and {}", fig.display(), opts.out.join("summary.csv").display());
    if synthetic_run {
        println!("(synthetic stand-in: the numbers illustrate the method, they are not the survey's findings)");
    }
    Ok(())
}

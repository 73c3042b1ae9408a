//! `ite fit`: fit a network (TARNet, CFR, the study's net) or a baseline on one CSV file and
//! write the model, predictions and a summary with cross-fitted AIPW estimates of the ATE, ATT
//! and ATC (the model refitted on K−1 folds and predicting the held-out fold), overlap
//! diagnostics and warnings. `--model auto` first chooses the model from the data alone
//! (`crate::selection`) and then does all of this with the chosen one.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use candle_core::Device;
use ite_core::{
    CausalData, CovariateTable, Covariates, Encoding, Fit, IteModel, KeptRows, OutcomeType, Params, PotentialOutcomes,
    Seed, Truth,
};
use ite_inference::{BoxError, Candidate, FitJob, OutcomeLearner, SelectionReport};
use ite_nets::baselines::{
    LogisticParams, LogisticSLearner, LogisticSLearnerParams, LogisticTLearner, LogisticTLearnerParams, OlsSLearner,
    OlsSLearnerParams, OlsTLearner, OlsTLearnerParams,
};
use ite_nets::{BatchedTarNet, FittedTarNet, MlpTLearner, MlpTLearnerParams, TarNetParams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::args::{ColumnArgs, EncodingArgs, ReportArgs};
use crate::config;
use crate::device::DeviceArgs;
use crate::figures::{self, FigureArgs};
use crate::inference::{self, Clusters, InferenceArgs};
use crate::models::{self, ModelKind};
use crate::outcome::{Outcome, OutcomeArgs, TrainingFile};
use crate::output::{self, Ui};
use crate::preprocess;
use crate::resampling::{self, MaybeEnsemble, ResamplingArgs};
use crate::saved::{self, Saved};
use crate::selection::{self, SelectionArgs};

/// What `--model` asks for: one model, or `auto` (chosen from the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    /// Choose among `--candidates` by `--score`.
    Auto,
    /// This model.
    Fixed(ModelKind),
}

fn parse_model(s: &str) -> Result<ModelChoice, String> {
    if s.trim() == "auto" {
        return Ok(ModelChoice::Auto);
    }
    ModelKind::parse(s)
        .map(ModelChoice::Fixed)
        .map_err(|_| format!("`{s}`: expected auto or one of {}", models::names().join(", ")))
}

/// The help of `--model`: the names (`-h`), or a line per model (`--help`).
fn model_help(long: bool) -> String {
    if !long {
        return format!("Model to fit: {}, or auto", models::names().join(", "));
    }
    format!(
        "Model to fit (the same names as `ite transfer --model`), one of:\n{}\n  auto: choose from the data: each of \
         --candidates (default: every model above but study-source and transfer-source) is fitted on K−1 of the --folds folds and scored on the held-out one by --score; the best is refit on \
         all units with the seed `--model NAME` would use; writes OUT/selection.csv. With auto, --epochs, \
         --learning-rate and --batch-size apply to the candidates that train by epochs (the networks and \
         t-learner-mlp), --alpha to the TARNet/CFR networks, each model keeps its defaults otherwise, and --config \
         is refused (its keys belong to one model)",
        models::help_lines(false)
    )
}

/// Arguments of `ite fit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The training sample (CSV).
    #[arg(long, value_name = "F.csv")]
    pub data: PathBuf,
    /// Model to fit.
    #[arg(long, value_name = "MODEL|auto", default_value = "study", value_parser = parse_model,
          help = model_help(false), long_help = model_help(true))]
    pub model: ModelChoice,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Rows to predict (CSV with the same covariates; treatment and outcome optional; mu0, mu1
    /// used for PEHE when present). Default: the training rows.
    #[arg(long, value_name = "P.csv")]
    pub predict: Option<PathBuf>,
    /// Training settings (TOML; keys are the fields of the model's parameters, see docs/guide.md).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Maximum number of epochs (networks); overrides the config's `max_epochs`.
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Adam learning rate (networks); overrides the config's `learning_rate`.
    #[arg(long, value_name = "LR")]
    pub learning_rate: Option<f64>,
    /// Minibatch size (networks); overrides the config's `batch_size`.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// IPM weight α (TARNet/CFR); overrides the config's `alpha`.
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// Root seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory, created only when everything succeeded.
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// Replace a non-empty OUT that ite did not write (all it holds is deleted).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub inference: InferenceArgs,
    #[command(flatten)]
    pub resampling: ResamplingArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub encoding: EncodingArgs,
    #[command(flatten)]
    pub outcome: OutcomeArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(flatten)]
    pub figures: FigureArgs,
}

impl Args {
    /// Applies `--epochs`, `--learning-rate` and `--batch-size` to whichever trained model's
    /// fields they name (the network and the MLP T-learner share them).
    fn override_training(&self, max_epochs: &mut usize, learning_rate: &mut f64, batch_size: &mut usize) {
        if let Some(v) = self.epochs {
            *max_epochs = v;
        }
        if let Some(v) = self.learning_rate {
            *learning_rate = v;
        }
        if let Some(v) = self.batch_size {
            *batch_size = v;
        }
    }
}

/// Config keys of the OLS T-learner.
#[derive(Debug, Serialize, Deserialize)]
struct OlsTKeys {
    ridge: f64,
}

/// Config keys of the OLS S-learner.
#[derive(Debug, Serialize, Deserialize)]
struct OlsSKeys {
    ridge: f64,
    interactions: bool,
}

/// A model's settings after the config file and the flags.
#[derive(Debug)]
enum Settings {
    Net(TarNetParams),
    TOls(OlsTLearnerParams),
    SOls(OlsSLearnerParams),
    Mlp(MlpTLearnerParams),
    /// t-learner-ols on a binary outcome.
    TLogit(LogisticTLearnerParams),
    /// s-learner-ols on a binary outcome.
    SLogit(LogisticSLearnerParams),
}

/// A fitted model of any kind.
enum Fitted {
    Net(Box<FittedTarNet>),
    TOls(OlsTLearner),
    SOls(OlsSLearner),
    Mlp(MlpTLearner),
    TLogit(LogisticTLearner),
    SLogit(LogisticSLearner),
}

impl Fitted {
    /// Writes the model into `dir` for `ite predict` (`crate::saved`).
    fn save(&self, dir: &Path) -> Result<()> {
        match self {
            Fitted::Net(m) => m.save(dir)?,
            Fitted::Mlp(m) => m.save(dir)?,
            Fitted::TOls(m) => saved::save_linear(dir, &saved::LinearModel::t_learner(m))?,
            Fitted::SOls(m) => saved::save_linear(dir, &saved::LinearModel::s_learner(m))?,
            Fitted::TLogit(m) => saved::save_logit(dir, &saved::LogitModel::T { model: m.clone() })?,
            Fitted::SLogit(m) => saved::save_logit(dir, &saved::LogitModel::S { model: m.clone() })?,
        }
        Ok(())
    }

    fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes> {
        Ok(match self {
            Fitted::Net(m) => m.predict(x)?,
            Fitted::TOls(m) => m.predict(x)?,
            Fitted::SOls(m) => m.predict(x)?,
            Fitted::Mlp(m) => m.predict(x)?,
            Fitted::TLogit(m) => m.predict(x)?,
            Fitted::SLogit(m) => m.predict(x)?,
        })
    }
}

fn validated<P: Params>(p: P, what: &str) -> Result<P>
where
    P::Error: std::fmt::Display,
{
    p.validate().map_err(|e| anyhow!("{what}: {e}"))?;
    Ok(p)
}

/// Builds the settings of `kind` for an outcome of type `outcome`: preset of the model, then
/// `--config`, then the flags; each stage checked. With `--model auto` (`auto`), a flag that does
/// not apply to `kind` is ignored rather than refused. A binary outcome goes to the networks'
/// `outcome_type` and turns the OLS learners into logistic ones.
fn settings(args: &Args, kind: ModelKind, auto: bool, outcome: OutcomeType) -> Result<Settings> {
    let table = match &args.config {
        Some(path) => Some((config::read_table(path)?, path.display().to_string())),
        None => None,
    };
    let no_flag = |flag: &str, given: bool| -> Result<()> {
        if given && !auto {
            bail!("{flag} does not apply to --model {}", kind.name());
        }
        Ok(())
    };
    if let Some(mut p) = kind.net_params() {
        if let Some((t, file)) = &table {
            p = validated(config::apply(&p, t, file)?, &format!("--config {file}"))?;
        }
        args.override_training(&mut p.max_epochs, &mut p.learning_rate, &mut p.batch_size);
        if let Some(v) = args.alpha {
            p.alpha = v;
        }
        p.outcome_type = outcome;
        // A binary outcome is never standardised: fit.json records what is done.
        p.standardize_y &= !outcome.is_binary();
        return Ok(Settings::Net(validated(p, "flags --epochs/--learning-rate/--batch-size/--alpha")?));
    }
    if kind == ModelKind::TLearnerMlp {
        no_flag("--alpha", args.alpha.is_some())?;
        let mut p = MlpTLearnerParams::default();
        if let Some((t, file)) = &table {
            p = validated(config::apply(&p, t, file)?, &format!("--config {file}"))?;
        }
        args.override_training(&mut p.max_epochs, &mut p.learning_rate, &mut p.batch_size);
        p.outcome_type = outcome;
        return Ok(Settings::Mlp(validated(p, "flags --epochs/--learning-rate/--batch-size")?));
    }
    no_flag("--epochs", args.epochs.is_some())?;
    no_flag("--learning-rate", args.learning_rate.is_some())?;
    no_flag("--batch-size", args.batch_size.is_some())?;
    no_flag("--alpha", args.alpha.is_some())?;
    if outcome.is_binary() {
        return logistic_settings(kind, table.as_ref());
    }
    Ok(if kind == ModelKind::TLearnerOls {
        let mut keys = OlsTKeys { ridge: OlsTLearnerParams::default().ridge };
        if let Some((t, file)) = &table {
            keys = config::apply(&keys, t, file)?;
        }
        let what = table.as_ref().map_or("settings".to_string(), |(_, f)| format!("--config {f}"));
        Settings::TOls(validated(OlsTLearnerParams { ridge: keys.ridge }, &what)?)
    } else {
        let d = OlsSLearnerParams::default();
        let mut keys = OlsSKeys { ridge: d.ridge, interactions: d.interactions };
        if let Some((t, file)) = &table {
            keys = config::apply(&keys, t, file)?;
        }
        let what = table.as_ref().map_or("settings".to_string(), |(_, f)| format!("--config {f}"));
        Settings::SOls(validated(OlsSLearnerParams { ridge: keys.ridge, interactions: keys.interactions }, &what)?)
    })
}

/// t-learner-ols or s-learner-ols on a binary outcome: the logistic learner, with the
/// [`LogisticParams`] keys of `--config` (`ridge`, `max_iterations`, `interactions`).
fn logistic_settings(kind: ModelKind, table: Option<&(toml::Table, String)>) -> Result<Settings> {
    let mut p = LogisticParams::default();
    if let Some((t, file)) = table {
        p = config::apply(&p, t, file)?;
    }
    let what = table.map_or("settings".to_string(), |(_, f)| format!("--config {f}"));
    let p = validated(p, &what)?;
    Ok(if kind == ModelKind::TLearnerOls { Settings::TLogit(p.t_learner()) } else { Settings::SLogit(p.s_learner()) })
}

/// One model's fit as an outcome learner (the selection's candidates, and the fit itself).
struct ModelLearner<'a> {
    settings: &'a Settings,
    device: &'a Device,
}

impl ModelLearner<'_> {
    /// TARNet / CFR settings for which batched training pays (`TarNetParams::batching_pays`:
    /// small networks), on the CPU: then every refit (cross-fitting folds, bootstrap replicates,
    /// ensemble members, selection folds) trains through `ite_nets::BatchedTarNet`, many
    /// networks at once. The model itself is fitted alone, as before.
    fn batched(&self) -> Option<BatchedTarNet> {
        match self.settings {
            Settings::Net(p) if self.device.is_cpu() && p.batching_pays() => Some(BatchedTarNet(p.clone())),
            _ => None,
        }
    }
}

impl OutcomeLearner for ModelLearner<'_> {
    fn fit_predict(&self, train: &CausalData, x: &Covariates, seed: Seed) -> Result<PotentialOutcomes, BoxError> {
        if let Some(b) = self.batched() {
            return b.fit_predict(train, x, seed);
        }
        Ok(fit(self.settings, train, seed, self.device)?.predict(x)?)
    }

    fn fit_predict_many(&self, jobs: &[FitJob<'_>]) -> Vec<Result<PotentialOutcomes, BoxError>> {
        match self.batched() {
            Some(b) => b.fit_predict_many(jobs),
            None => ite_inference::fit_each(self, jobs),
        }
    }
}

/// With `--model auto`: scores the candidate models on `data` (seed stream `selection`) and
/// returns the chosen model's kind and the report.
fn choose(
    args: &Args,
    data: &CausalData,
    (clusters, outcome): (Option<&Clusters>, OutcomeType),
    device: &Device,
    ui: &Ui,
    seed: Seed,
) -> Result<(ModelKind, SelectionReport)> {
    let mut names = args.selection.names(&models::names(), "model")?;
    let kinds: Vec<ModelKind> =
        names.iter().map(|n| ModelKind::parse(n).map_err(|e| anyhow!("--candidates: {e}"))).collect::<Result<_>>()?;
    let (names, kinds): (Vec<String>, Vec<ModelKind>) = if args.selection.candidates.is_none() {
        names.drain(..).zip(kinds).filter(|(_, k)| k.auto_default()).unzip()
    } else {
        (names, kinds)
    };
    let settings: Vec<Settings> = kinds.iter().map(|&k| settings(args, k, true, outcome)).collect::<Result<_>>()?;
    let bases: Vec<ModelLearner<'_>> = settings.iter().map(|settings| ModelLearner { settings, device }).collect();
    let learners: Vec<MaybeEnsemble<'_, _>> = bases.iter().map(|b| MaybeEnsemble::new(b, &args.resampling)).collect();
    let candidates: Vec<Candidate<'_>> =
        names.iter().zip(&learners).map(|(name, learner)| Candidate { name, learner }).collect();
    let params = args.selection.params(&args.inference);
    let phase = ui.phase(selection::phase_text(names.len(), "models", params.folds, args.resampling.ensemble));
    let report = selection::select(&params, data, &candidates, &args.inference, clusters, seed)?;
    phase.done();
    Ok((kinds[report.chosen()], report))
}

fn settings_json(s: &Settings) -> Value {
    match s {
        Settings::Net(p) => json!(p),
        Settings::Mlp(p) => json!(p),
        Settings::TOls(p) => json!({ "ridge": p.ridge }),
        Settings::SOls(p) => json!({ "ridge": p.ridge, "interactions": p.interactions }),
        Settings::TLogit(p) => json!({ "logistic": true, "ridge": p.0.ridge, "max_iterations": p.0.max_iterations }),
        Settings::SLogit(p) => json!({ "logistic": true, "ridge": p.0.ridge, "max_iterations": p.0.max_iterations,
                                        "interactions": p.0.interactions }),
    }
}

fn fit(settings: &Settings, data: &CausalData, seed: Seed, device: &Device) -> Result<Fitted> {
    Ok(match settings {
        Settings::Net(p) => Fitted::Net(Box::new(p.fit_on(data, seed, device)?)),
        Settings::TOls(p) => Fitted::TOls(p.fit(data, seed)?),
        Settings::SOls(p) => Fitted::SOls(p.fit(data, seed)?),
        Settings::Mlp(p) => Fitted::Mlp(p.fit_on(data, seed, device)?),
        Settings::TLogit(p) => Fitted::TLogit(p.fit(data, seed)?),
        Settings::SLogit(p) => Fitted::SLogit(p.fit(data, seed)?),
    })
}

/// What `ite fit` reads: the training data, its clusters, the rows to predict, the encoding
/// fitted on the data, and the rows kept of each file.
struct Inputs<'a> {
    data: CausalData,
    clusters: Option<Clusters>,
    predict: Option<CovariateTable>,
    encoding: Encoding,
    files: Vec<(&'static str, &'a Path, KeptRows)>,
    outcome: Outcome,
}

/// Reads `--data` (both arms required) under `--categorical` and `--missing`, its `--cluster`
/// labels and the `--predict` rows (encoded as the data).
fn read_inputs(args: &Args) -> Result<Inputs<'_>> {
    let layout = args.inference.layout(args.columns.layout());
    let (encoding, mut samples) = preprocess::read_samples(&[("--data", &args.data)], &layout, &args.encoding, None)?;
    let sample = samples.pop().ok_or_else(|| anyhow!("--data: nothing read"))?;
    sample.data.require_both_arms(&args.data.display().to_string())?;
    let file = TrainingFile { raw: &sample.raw, data: &sample.data, kept: &sample.rows.kept };
    let outcome = args.outcome.resolve(&[file], &args.columns.outcome)?;
    let clusters = Clusters::read(args.inference.cluster.as_deref(), &sample.raw, &sample.rows.kept)?;
    let mut files = vec![("--data", args.data.as_path(), sample.rows)];
    let predict = match &args.predict {
        Some(p) => {
            let what = format!("--data {}", args.data.display());
            let (table, rows) = preprocess::predict_rows(("--predict", p), &layout, &encoding, &what)?;
            files.push(("--predict", p.as_path(), rows));
            Some(table)
        }
        None => None,
    };
    Ok(Inputs { data: sample.data, clusters, predict, encoding, files, outcome })
}

/// The file `ite fit` leaves in OUT to say what it fitted (read by `ite predict`).
pub const FIT_META: &str = "fit.json";

/// The files `ite fit` reads, by flag (none of which OUT may be or contain).
fn input_files(args: &Args) -> Vec<(&'static str, &Path)> {
    let mut inputs = vec![("--data", args.data.as_path())];
    inputs.extend(args.predict.as_deref().map(|p| ("--predict", p)));
    inputs.extend(args.config.as_deref().map(|p| ("--config", p)));
    inputs
}

/// Fits the model (after choosing it, with `--model auto`), cross-fits it for the AIPW
/// estimates, and writes OUT/{predictions.csv, summary.json, fit.json[, model/][, selection.csv]}.
pub fn run(args: Args) -> Result<()> {
    let auto = args.model == ModelChoice::Auto;
    args.selection.check_unused(auto, "--model auto")?;
    if auto && args.config.is_some() {
        bail!(
            "--config does not apply to --model auto (its keys belong to one model); choose first, then fit the chosen model with --config"
        );
    }
    let inputs = input_files(&args);
    let out = output::OutDir { path: &args.out, flag: "--out", force: args.force, inputs: &inputs };
    out.check()?;
    let ui = Ui::new("fit", &args.report);
    if let ModelChoice::Fixed(kind) = args.model {
        settings(&args, kind, false, args.outcome.fixed().unwrap_or_default())?;
    }
    let device = args.device.device()?;
    let Inputs { data, clusters, predict, encoding, files, outcome } = read_inputs(&args)?;
    preprocess::note_dropped(&ui, &encoding, &files);
    ui.note(&outcome.line(&args.columns.outcome));
    let seed = Seed::new(args.seed);
    let (kind, selected) = match args.model {
        ModelChoice::Fixed(kind) => (kind, None),
        ModelChoice::Auto => {
            let (kind, report) =
                choose(&args, &data, (clusters.as_ref(), outcome.kind), &device, &ui, seed.stream("selection"))?;
            (kind, Some(report))
        }
    };
    let settings = settings(&args, kind, auto, outcome.kind)?;

    let (x, truth, ids): (&Covariates, Option<&Truth>, Option<&[String]>) = match &predict {
        Some(tab) => (&tab.x, tab.truth.as_ref(), tab.ids.as_deref()),
        None => (data.x(), data.truth(), data.ids()),
    };
    let base = ModelLearner { settings: &settings, device: &device };
    let learner = MaybeEnsemble::new(&base, &args.resampling);
    let members = args.resampling.ensemble;
    let times = if members > 1 { format!(" ×{members} seeds") } else { String::new() };
    let phase = ui.phase(format!("fitting {}{times} on {} units ({} covariates)", kind.name(), data.n(), data.p()));
    let (model, pred, ensemble) = match learner.fit_report(&data, x, seed.stream("fit"))? {
        Some((pred, report)) => (None, pred, Some(report)),
        None => {
            let m = fit(&settings, &data, seed.stream("fit"), &device)?;
            let pred = m.predict(x)?;
            (Some(m), pred, None)
        }
    };
    phase.done();
    let k = args.inference.folds;
    let phase =
        ui.phase(format!("cross-fitting {k} folds for the AIPW estimates ({k} more fits of {}{times})", kind.name()));
    let inf = inference::run(&data, &learner, &args.inference, clusters.as_ref(), seed.stream("aipw"));
    phase.done();
    let level = args.inference.level;
    let ctx = resampling::Context::new(&data, &learner, x, level, seed.stream("bootstrap"), &ui);
    let ctx = resampling::Context { clusters: clusters.as_ref(), ..ctx };
    let extras = ctx.extras(&args.resampling, &pred, &inf, ensemble)?;
    let mut summary = json!({
        "model": kind.name(),
        "n_train": data.n(),
        "n_treated": data.n_treated(),
        "n_predicted": x.n_rows(),
        "covariates": data.feature_names(),
        "seed": args.seed,
    });
    output::merge(&mut summary, preprocess::json(&encoding, &files));
    output::merge(&mut summary, outcome.json());
    output::merge(&mut summary, inf.json(&data, &args.inference, clusters.as_ref()));
    output::merge(&mut summary, output::plugin_summary(&pred, truth, level, output::PLUGIN_NO_INTERVAL)?);
    resampling::json(&extras, &mut summary);
    let arms = outcome.arm_warnings(&[("--data", args.data.as_path(), &data)], &args.columns.outcome);
    let mut warnings = resampling::all_warnings(&inf, &extras, arms, &mut summary);
    if let Some(report) = &selected {
        selection::record(report, "model", &mut summary, &mut warnings);
    }
    let mut meta = fit_meta(&args, kind, &data, &settings);
    meta["outcome_type"] = json!(outcome.kind.name());
    let figs = if args.figures.no_figures { Vec::new() } else { fit_figures(kind, &pred, &inf, &data, &summary) };
    summary["figures"] = json!(figures::files(&figs));

    out.write("fit", |dir| {
        output::write_predictions(&dir.join("predictions.csv"), &pred, ids, extras.conformal.as_ref())?;
        output::write_json(&dir.join("summary.json"), &summary)?;
        output::write_json(&dir.join(FIT_META), &meta)?;
        if let Some(report) = &selected {
            selection::write_csv(&dir.join("selection.csv"), report)?;
        }
        if let Some(m) = &model {
            m.save(&dir.join("model"))?;
            preprocess::save(&dir.join("model"), &encoding, args.inference.cluster.as_deref())?;
        }
        figures::write(dir, &figs)
    })?;
    let mut human = preprocess::lines(&encoding);
    human.push(outcome.line(&args.columns.outcome));
    human.extend(human_lines(&args, kind, &summary, (&inf, &extras), selected.as_ref(), clusters.as_ref()));
    ui.warn(&warnings);
    ui.report(&summary, &human)
}

/// The figures of a fit: the predicted ITEs with the estimates marked, and the propensity
/// overlap of the training data.
fn fit_figures(
    kind: ModelKind,
    pred: &PotentialOutcomes,
    inf: &inference::Inference,
    data: &CausalData,
    summary: &Value,
) -> Vec<ite_eval::figures::Distribution> {
    let what = format!("{} ({} rows)", kind.name(), pred.mu0.len());
    let mut figs = vec![figures::ite_figure(&what, vec![(kind.name().to_string(), pred.ite())], summary)];
    figs.extend(figures::overlap_figure(inf.overlap.as_ref(), data.t()));
    figs
}

/// The contents of `fit.json`: what was fitted, whether it was saved, on which columns.
fn fit_meta(args: &Args, kind: ModelKind, data: &CausalData, settings: &Settings) -> Value {
    let members = args.resampling.ensemble;
    let mut meta = json!({
        "model": kind.name(),
        "persisted": members == 1,
        "ensemble": members,
        "covariates": data.feature_names(),
        "treatment": args.columns.treatment,
        "outcome": args.columns.outcome,
        "settings": settings_json(settings),
    });
    if args.model == ModelChoice::Auto {
        meta["model_requested"] = json!("auto");
    }
    meta
}

/// The plain report: the selection table (with auto), what was fitted, the estimates and
/// extras, the truth, whether the model was saved, and where the outputs went.
fn human_lines(
    args: &Args,
    kind: ModelKind,
    summary: &Value,
    (inf, extras): (&inference::Inference, &resampling::Extras),
    selected: Option<&SelectionReport>,
    clusters: Option<&Clusters>,
) -> Vec<String> {
    let members = args.resampling.ensemble;
    let times = if members > 1 { format!(" ×{members} seeds") } else { String::new() };
    let (k, n) = (args.inference.folds, summary["n_train"].as_u64().unwrap_or(0));
    let saved = if members == 1 {
        format!("model saved in {} (`ite predict --model {}`)", args.out.join("model").display(), args.out.display())
    } else {
        format!("the {members} ensemble members are not saved (a saved model is one model); predictions only")
    };
    let mut human = selected.map(|r| selection::lines(r, "models")).unwrap_or_default();
    let refits = match extras.bootstrap.as_ref().map(|b| b.replicates.len()) {
        Some(n) if n > 0 => format!(", and {n} times on resamples for the refit bootstrap"),
        _ => String::new(),
    };
    human.push(if inf.aipw.is_ok() {
        format!(
            "fitted {}{times} on {n} units, {k} times more for the cross-fitted AIPW estimates{refits}",
            kind.name()
        )
    } else {
        format!("fitted {}{times} on {n} units{refits}", kind.name())
    });
    human.extend(inf.lines(&args.inference, clusters));
    human.push(output::plugin_line(summary));
    human.extend(resampling::lines(extras, summary));
    human.extend(inference::truth_line(summary));
    human.extend([saved, format!("wrote {}", args.out.display())]);
    human
}

/// Loads the model under `dir` for `ite predict`: `dir` itself (holding `model.json`) or
/// `dir/model`, with the directory it was read from; explains when `dir` holds a fit that saved
/// no model (an ensemble).
pub fn load_model(dir: &Path) -> Result<(Saved, PathBuf)> {
    let model_dir = model_dir(dir, "--model")?;
    let model = Saved::load(&model_dir).with_context(|| format!("--model {}", dir.display()))?;
    Ok((model, model_dir))
}

/// The directory of the model saved under `dir`, given to `flag`: `dir` itself (holding
/// `model.json`) or `dir/model` (the --out directory of `ite fit` or `ite transfer`); explains
/// when `dir` holds a fit that saved no model (an ensemble).
pub fn model_dir(dir: &Path, flag: &str) -> Result<PathBuf> {
    if !dir.is_dir() {
        bail!(
            "{flag} {}: no such directory (expected the --out directory of `ite fit` or `ite transfer`)",
            dir.display()
        );
    }
    let meta_path = dir.join(FIT_META);
    if meta_path.is_file() {
        let text = std::fs::read_to_string(&meta_path).with_context(|| format!("{flag} {}", meta_path.display()))?;
        let meta: Value =
            serde_json::from_str(&text).map_err(|e| anyhow!("{flag} {}: malformed {FIT_META}: {e}", dir.display()))?;
        if meta["persisted"] == json!(false) {
            let name = meta["model"].as_str().unwrap_or("?");
            let members = meta["ensemble"].as_u64().unwrap_or(1);
            if members <= 1 {
                bail!(
                    "{flag} {}: this fit saved no model (an older ite could not save `{name}`); rerun `ite fit \
                     --model {name}` with this ite to save one",
                    dir.display()
                );
            }
            bail!(
                "{flag} {}: this fit is an ensemble of {members} `{name}` models, and ensembles are not saved \
                 (a saved model is one model); rerun `ite fit --model {name} --ensemble {members} --predict \
                 FILE.csv`, or fit without --ensemble to save a model",
                dir.display()
            );
        }
    }
    let model_dir = if dir.join(saved::MODEL_FILE).is_file() { dir.to_path_buf() } else { dir.join("model") };
    if !model_dir.join(saved::MODEL_FILE).is_file() {
        bail!(
            "{flag} {}: no saved model here (expected {}/model.json or model.json)",
            dir.display(),
            dir.join("model").display()
        );
    }
    Ok(model_dir)
}

//! `ite transfer`: fit (or load) a source model, adapt it to a target sample with a transfer
//! strategy, and write predictions, a summary with CITA and cross-fitted AIPW estimates of the
//! target's ATE, ATT and ATC (the strategy re-run on each fold of the target with the same
//! source model), and the models. `--strategy auto` first chooses the strategy from the target
//! alone (`crate::selection`) and then does all of this with the chosen one.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ite_core::{
    CausalData, Covariates, CsvLayout, Encoding, IteModel, KeptRows, Params, PotentialOutcomes, Seed, TransferInput,
    Truth,
};
use ite_inference::{Candidate, SelectionReport};
use ite_nets::{FittedTarNet, TarNetParams};
use ite_transfer::{
    BoxedStrategy, CitaParams, EntryLearner, Registry, StrategyConfig, task_affinity, transfer_with_cita,
};
use serde_json::json;

use crate::args::{ColumnArgs, EncodingArgs, ReportArgs};
use crate::device::DeviceArgs;
use crate::figures::{self, FigureArgs};
use crate::inference::{self, Clusters, InferenceArgs};
use crate::models::{self, ModelKind};
use crate::outcome::{self, Outcome, OutcomeArgs, TrainingFile};
use crate::output::{self, Ui};
use crate::preprocess;
use crate::resampling::{self, MaybeEnsemble, ResamplingArgs};
use crate::saved::{self, Saved};
use crate::selection::{self, SelectionArgs};

/// Arguments of `ite transfer`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The large source sample (CSV).
    #[arg(long, value_name = "SRC.csv")]
    pub source: PathBuf,
    /// The small target sample (CSV), with the same covariates as the source.
    #[arg(long, value_name = "TGT.csv")]
    pub target: PathBuf,
    /// Transfer strategy (the names and descriptions come from the built-in strategy registry).
    #[arg(long, default_value = "staged-alignment", help = strategy_help(false), long_help = strategy_help(true))]
    pub strategy: String,
    /// A source network saved by an earlier run, instead of training one: the --out directory of
    /// `ite transfer` (its source_model/), or the --out directory (or OUT/model) of `ite fit`
    /// with a network. --source is still required: CITA, and strategies that train on source
    /// rows (pooled), read it.
    #[arg(long, value_name = "DIR")]
    pub source_model: Option<PathBuf>,
    /// The network trained on the source when no --source-model is given.
    #[arg(long, value_name = "NET", value_parser = parse_net, help = net_help(false), long_help = net_help(true))]
    pub model: Option<ModelKind>,
    /// The name of --model before issue 19, with its old values: `source` (now transfer-source),
    /// `study` (now study-source: `--model study` is the study's small TARNet, as in `ite fit`)
    /// and `ihdp` (now tarnet).
    #[arg(long, hide = true, value_parser = ["source", "study", "ihdp"], conflicts_with = "model")]
    pub net: Option<String>,
    /// Maximum epochs of every training phase on the target (caps each strategy's own, e.g. 300
    /// for fine-tune; the source network keeps its preset's). Not for source-only or pooled,
    /// which have none.
    #[arg(long, value_name = "N", value_parser = parse_epochs)]
    pub epochs: Option<usize>,
    /// Adam learning rate of the training phase on the target (fine-tune, freeze-representation,
    /// l2-sp, target-only, staged-alignment's phase 2) [default: the source network's × the
    /// strategy's scale, e.g. 0.1×].
    #[arg(long, value_name = "LR", value_parser = parse_rate)]
    pub learning_rate: Option<f64>,
    /// Minibatch size of the training phase on the target [default: the source network's].
    #[arg(long, value_name = "N", value_parser = parse_batch)]
    pub batch_size: Option<usize>,
    /// Settings of the training phase on the target (TOML; keys `max_epochs`, `learning_rate`,
    /// `batch_size`, each optional; --epochs, --learning-rate and --batch-size override them).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Rows to predict (CSV with the same covariates; treatment and outcome optional; mu0, mu1
    /// used for PEHE when present). Default: the target.
    #[arg(long, value_name = "P.csv")]
    pub predict: Option<PathBuf>,
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
    pub selection: SelectionArgs,
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

/// The help of `--strategy`, from [`Registry::builtin`]: the names (`-h`), or a line per
/// strategy with its description (`--help`).
fn strategy_help(long: bool) -> String {
    let registry = Registry::builtin();
    if !long {
        return format!("Transfer strategy: {}, or auto", registry.names().join(", "));
    }
    let lines: Vec<String> = registry.entries().iter().map(|e| format!("  {}: {}", e.name, e.description)).collect();
    format!(
        "Transfer strategy, one of:\n{}\n  auto: choose from the target alone: each of --candidates (default: every \
         strategy above) is run on K−1 of the --folds target folds and scored on the held-out one by --score; the \
         best is refit on the whole target with the seed `--strategy NAME` would use; writes OUT/selection.csv",
        lines.join("\n")
    )
}

/// The help of `--model`: the network names (`-h`), or a line per network (`--help`).
fn net_help(long: bool) -> String {
    let names = models::network_names().join(", ");
    if !long {
        return format!("Network trained on the source: {names} [default: transfer-source]");
    }
    format!(
        "Network trained on the source when no --source-model is given (the same names and presets as `ite fit \
         --model`; the baselines of `ite fit` have no representation to transfer) [default: transfer-source]:\n{}\n\
         The old flag --net still works with its old values: --net source = --model transfer-source, --net study \
         = --model study-source, --net ihdp = --model tarnet.",
        models::help_lines(true)
    )
}

/// Parses `--model`: a network name of [`models`], or an error listing them.
fn parse_net(s: &str) -> Result<ModelKind, String> {
    let expected = || format!("`{s}`: expected one of {}", models::network_names().join(", "));
    match ModelKind::parse(s) {
        Ok(k) if k.net_params().is_some() => Ok(k),
        Ok(k) => Err(format!(
            "{} (`{}` is a baseline of `ite fit`, without a representation to transfer)",
            expected(),
            k.name()
        )),
        Err(_) => Err(expected()),
    }
}

/// Parses `--epochs`: an integer ≥ 1.
fn parse_epochs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}`: expected an integer ≥ 1 (the most epochs of a training phase on the target)")),
    }
}

/// Parses `--learning-rate`: a finite number > 0.
fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}`: expected a number > 0 (the learning rate of the target phase, e.g. 0.0001)")),
    }
}

/// Parses `--batch-size`: an integer ≥ 1.
fn parse_batch(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}`: expected an integer ≥ 1 (the minibatch size of the target phase)")),
    }
}

/// The keys of `ite transfer --config`: the target phase's settings.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct TargetKeys {
    max_epochs: Option<usize>,
    learning_rate: Option<f64>,
    batch_size: Option<usize>,
}

impl Args {
    /// The settings every strategy is built with: `--config`'s keys, overridden by `--epochs`,
    /// `--learning-rate` and `--batch-size`; checked, the error naming the file or flags.
    fn strategy_config(&self) -> Result<StrategyConfig> {
        let mut keys = TargetKeys::default();
        if let Some(path) = &self.config {
            let file = path.display().to_string();
            keys = crate::config::apply(&keys, &crate::config::read_table(path)?, &file)?;
            let c = StrategyConfig {
                max_epochs: keys.max_epochs,
                learning_rate: keys.learning_rate,
                batch_size: keys.batch_size,
            };
            c.validate().map_err(|e| anyhow::anyhow!("--config {file}: {e}"))?;
        }
        Ok(StrategyConfig {
            max_epochs: self.epochs.or(keys.max_epochs),
            learning_rate: self.learning_rate.or(keys.learning_rate),
            batch_size: self.batch_size.or(keys.batch_size),
        })
    }

    /// The source network to train: `--model`, the old `--net` translated, or the default.
    fn source_kind(&self) -> ModelKind {
        match (self.model, self.net.as_deref()) {
            (Some(k), _) => k,
            (None, Some("study")) => ModelKind::StudySource,
            (None, Some("ihdp")) => ModelKind::Tarnet,
            _ => ModelKind::TransferSource,
        }
    }
}

/// The strategy `name` of the built-in registry, or an error naming `--strategy`.
fn build_strategy(name: &str, config: &StrategyConfig) -> Result<BoxedStrategy> {
    Registry::builtin().build(name, config).map_err(strategy_error)
}

/// A registry's refusal of a `--strategy` name or its settings, as the flag's error.
fn strategy_error(e: ite_transfer::TransferError) -> anyhow::Error {
    anyhow::anyhow!("--strategy: {e}, or `auto` (choose from the target data)")
}

/// Strategy `name` of `registry` as an outcome learner whose refits (folds, bootstrap
/// replicates, ensemble members) train together where the strategy allows
/// (`ite_transfer::EntryLearner`).
fn strategy_learner<'a>(
    registry: &'a Registry,
    name: &str,
    config: &StrategyConfig,
    (source_model, source): (&'a FittedTarNet, &'a CausalData),
) -> Result<EntryLearner<'a>> {
    let entry = registry.entry(name).map_err(strategy_error)?;
    Ok(EntryLearner { entry, config: *config, source_model, source })
}

/// With `--strategy auto`: scores the candidate strategies on the target (seed stream
/// `selection`) and returns the report; the caller refits the chosen one.
fn choose(
    args: &Args,
    names: &[String],
    (source_model, source, target): (&FittedTarNet, &CausalData, &CausalData),
    clusters: Option<&Clusters>,
    ui: &Ui,
    seed: Seed,
) -> Result<SelectionReport> {
    let config = args.strategy_config()?;
    let registry = Registry::builtin();
    let bases: Vec<EntryLearner<'_>> =
        names.iter().map(|n| strategy_learner(&registry, n, &config, (source_model, source))).collect::<Result<_>>()?;
    let learners: Vec<MaybeEnsemble<'_, _>> = bases.iter().map(|b| MaybeEnsemble::new(b, &args.resampling)).collect();
    let candidates: Vec<Candidate<'_>> =
        names.iter().zip(&learners).map(|(name, learner)| Candidate { name, learner }).collect();
    let params = args.selection.params(&args.inference);
    let k = params.folds;
    let phase = ui.phase(selection::phase_text(names.len(), "strategies", k, args.resampling.ensemble));
    let report = selection::select(&params, target, &candidates, &args.inference, clusters, seed)?;
    phase.done();
    Ok(report)
}

/// The checks of the settings before any work: `--candidates`/`--score` only with auto, the
/// strategy's name, the target phase's settings (returned, with the candidates' names under
/// auto), `--model` not beside `--source-model`, and `--source-model` resolved to the network's
/// directory ([`source_model_dir`]).
fn checked_settings(args: &mut Args, auto: bool) -> Result<(Vec<String>, StrategyConfig)> {
    args.selection.check_unused(auto, "--strategy auto")?;
    let names = if auto { args.selection.names(&Registry::builtin().names(), "strategy")? } else { Vec::new() };
    let config = args.strategy_config()?;
    if !auto {
        build_strategy(&args.strategy, &config)?;
    }
    check_target_training(args, auto, &names)?;
    check_refits(args)?;
    if args.source_model.is_some() && (args.model.is_some() || args.net.is_some()) {
        bail!(
            "--model names the network trained on the source, but --source-model loads a trained one: give one of them"
        );
    }
    if let Some(given) = &args.source_model {
        args.source_model = Some(source_model_dir(given)?);
    }
    Ok((names, config))
}

/// What the refit bootstrap of `ite transfer` keeps as it is, and what that leaves out, for a
/// strategy that uses the source (its trained network, or its sample: pooled).
const SOURCE_HELD_FIXED: &str = "the source is held fixed (its sample and the network trained on it; only the target \
                                 is resampled), so the interval leaves out the source sample's uncertainty";

/// What the refit bootstrap of strategy `name` holds fixed: the source, when the strategy uses it.
fn held_fixed(registry: &Registry, name: &str) -> Option<&'static str> {
    registry.get(name).filter(|e| e.uses_source).map(|_| SOURCE_HELD_FIXED)
}

/// Refuses `--bootstrap` and `--ensemble K > 1` with `--strategy source-only`, which fits
/// nothing on the target: every refit and every member would be the same source model.
fn check_refits(args: &Args) -> Result<()> {
    if args.strategy != ite_transfer::SourceOnly::NAME {
        return Ok(());
    }
    let flag = match (args.resampling.bootstrap, args.resampling.ensemble) {
        (Some(_), _) => "--bootstrap",
        (None, k) if k > 1 => "--ensemble",
        _ => return Ok(()),
    };
    bail!(
        "{flag} does not apply to --strategy source-only: it fits nothing on the target, so every refit would be the \
         same source model (a zero-width interval, or identical members); the AIPW interval (`ate`) is the one to report"
    )
}

/// The target-training flags given (`--epochs`, `--learning-rate`, `--batch-size`, `--config`).
fn target_training_flags(args: &Args) -> Vec<&'static str> {
    [
        ("--epochs", args.epochs.is_some()),
        ("--learning-rate", args.learning_rate.is_some()),
        ("--batch-size", args.batch_size.is_some()),
        ("--config", args.config.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, given)| given.then_some(flag))
    .collect()
}

/// Whether the built-in strategy `name` has a training phase on the target that the
/// target-training flags set.
fn trains_on_target(name: &str) -> bool {
    Registry::builtin().get(name).is_some_and(|e| e.trains_on_target)
}

/// Refuses a target-training flag for a strategy without a training phase on the target
/// (`source-only`, `pooled`), or under auto when no candidate has one.
fn check_target_training(args: &Args, auto: bool, candidates: &[String]) -> Result<()> {
    let Some(flag) = target_training_flags(args).first().copied() else { return Ok(()) };
    let registry = Registry::builtin();
    let users: Vec<&str> = registry.entries().iter().filter(|e| e.trains_on_target).map(|e| e.name).collect();
    let users = users.join(", ");
    if !auto && !trains_on_target(&args.strategy) {
        bail!(
            "{flag} does not apply to --strategy {}: it has no training phase on the target to set \
             (--epochs, --learning-rate, --batch-size and --config apply to {users})",
            args.strategy
        );
    }
    if auto && !candidates.iter().any(|n| trains_on_target(n)) {
        bail!(
            "{flag} does not apply to any of the candidates {}: none has a training phase on the target \
             (--epochs, --learning-rate, --batch-size and --config apply to {users})",
            candidates.join(", ")
        );
    }
    Ok(())
}

/// The files `ite transfer` reads, by flag (none of which OUT may be or contain).
fn input_files(args: &Args) -> Vec<(&'static str, &Path)> {
    let mut inputs = vec![("--source", args.source.as_path()), ("--target", args.target.as_path())];
    inputs.extend(args.source_model.as_deref().map(|p| ("--source-model", p)));
    inputs.extend(args.predict.as_deref().map(|p| ("--predict", p)));
    inputs.extend(args.config.as_deref().map(|p| ("--config", p)));
    inputs
}

/// Runs the transfer (after choosing the strategy, with `--strategy auto`), re-runs it on the
/// target's folds for the AIPW estimates, and writes OUT/{predictions.csv, summary.json, model/,
/// source_model/[, selection.csv]}.
pub fn run(mut args: Args) -> Result<()> {
    let auto = args.strategy == "auto";
    let (names, config) = checked_settings(&mut args, auto)?;
    let inputs = input_files(&args);
    let out = output::OutDir { path: &args.out, flag: "--out", force: args.force, inputs: &inputs };
    out.check()?;
    let ui = Ui::new("transfer", &args.report);
    let layout = args.inference.layout(args.columns.layout());
    let Samples { source, target, encoding, clusters, mut files, outcome } = read_samples(&args, &layout)?;
    preprocess::note_dropped(&ui, &encoding, &files);
    let seed = Seed::new(args.seed);
    // Strategies train on the source model's device.
    let device = args.device.device()?;
    let (source_model, trained_source, outcome) = source_model(&args, (&source, outcome), &device, &ui, seed)?;
    let selected = if auto {
        let data = (&source_model, &source, &target);
        Some(choose(&args, &names, data, clusters.as_ref(), &ui, seed.stream("selection"))?)
    } else {
        None
    };
    let name = selected.as_ref().map_or(args.strategy.as_str(), SelectionReport::chosen_name).to_string();
    let strategy = build_strategy(&name, &config)?;
    let (x, truth, ids) = predicted_rows(&args, &layout, &encoding, &target, &mut files)?;
    let registry = Registry::builtin();
    let base = strategy_learner(&registry, &name, &config, (&source_model, &source))?;
    let learner = MaybeEnsemble::new(&base, &args.resampling);
    let members = args.resampling.ensemble;
    let times = if members > 1 { format!(" ×{members} seeds") } else { String::new() };
    let phase = ui.phase(format!("adapting to {} target units with `{name}`{times}", target.n()));
    let input = TransferInput::new(&source_model, &source, &target)?;
    let (model, pred, ensemble, cita) = match learner.fit_report(&target, &x, seed.stream("transfer"))? {
        Some((pred, report)) => {
            let cita = task_affinity(input, &CitaParams::default(), seed.stream("transfer"))?;
            (None, pred, Some(report), cita)
        }
        None => {
            let outcome =
                transfer_with_cita(strategy.as_ref(), input, &CitaParams::default(), seed.stream("transfer"))?;
            let pred = outcome.model.predict(&x)?;
            (Some(outcome.model), pred, None, outcome.cita)
        }
    };
    phase.done();
    let k = args.inference.folds;
    let phase = ui.phase(format!(
        "cross-fitting {k} folds of the target for the AIPW estimates ({k} more runs of `{name}`{times})"
    ));
    let inf = inference::run(&target, &learner, &args.inference, clusters.as_ref(), seed.stream("aipw"));
    phase.done();
    let level = args.inference.level;
    let ctx = resampling::Context::new(&target, &learner, &x, level, seed.stream("bootstrap"), &ui);
    let ctx = resampling::Context { clusters: clusters.as_ref(), held_fixed: held_fixed(&registry, &name), ..ctx };
    let extras = ctx.extras(&args.resampling, &pred, &inf, ensemble)?;
    let mut summary = json!({
        "strategy": name,
        "source_network": source_network(&args, trained_source),
        "cita": cita,
        "cita_reading": cita_reading_json(cita, target.n()),
        "target_training": target_training_json(&config, trains_on_target(&name)),
        "n_source": source.n(),
        "n_target": target.n(),
        "n_predicted": x.n_rows(),
        "seed": args.seed,
    });
    output::merge(&mut summary, preprocess::json(&encoding, &files));
    output::merge(&mut summary, outcome.json());
    output::merge(&mut summary, inf.json(&target, &args.inference, clusters.as_ref()));
    output::merge(&mut summary, output::plugin_summary(&pred, truth.as_ref(), level, output::PLUGIN_NO_INTERVAL)?);
    resampling::json(&extras, &mut summary);
    let files = [("--source", args.source.as_path(), &source), ("--target", args.target.as_path(), &target)];
    let arms = outcome.arm_warnings(&files, &args.columns.outcome);
    let mut warnings = resampling::all_warnings(&inf, &extras, arms, &mut summary);
    if let Some(report) = &selected {
        selection::record(report, "strategy", &mut summary, &mut warnings);
    }
    let models = (&source_model, &source, &target);
    let figs = transfer_figures(&args, &name, (&pred, &x), models, &inf, &summary, seed.stream("transfer"))?;
    summary["figures"] = json!(figures::files(&figs));

    // Everything computed: only now does OUT appear.
    out.write("transfer", |dir| {
        output::write_predictions(&dir.join("predictions.csv"), &pred, ids.as_deref(), extras.conformal.as_ref())?;
        output::write_json(&dir.join("summary.json"), &summary)?;
        if let Some(report) = &selected {
            selection::write_csv(&dir.join("selection.csv"), report)?;
        }
        if let Some(m) = &model {
            m.save(dir.join("model"))?;
            preprocess::save(&dir.join("model"), &encoding, args.inference.cluster.as_deref())?;
        }
        if trained_source {
            source_model.save(dir.join("source_model"))?;
            preprocess::save(&dir.join("source_model"), &encoding, args.inference.cluster.as_deref())?;
        }
        figures::write(dir, &figs)
    })?;
    let human = human_lines(&args, &summary, (&inf, &extras), (selected.as_ref(), &outcome), clusters.as_ref());
    ui.warn(&warnings);
    ui.report(&summary, &human)
}

/// The plain report: the selection table (with auto), the strategy and CITA, the estimates and
/// extras, the truth, and where the outputs went.
/// `summary.json`'s `cita_reading`: the Simulation 2 grid's bin for this CITA and target size
/// (`ite_transfer::cita_reading`), with its text; null when the grid saw too few such values.
fn cita_reading_json(cita: f64, target_n: usize) -> serde_json::Value {
    match ite_transfer::cita_reading(cita, target_n) {
        Some(r) => json!({
            "grid_target_n": r.bin.target_n,
            "cita_lower": r.bin.lower,
            "cita_upper": r.bin.upper,
            "cases": r.bin.count,
            "staged_beats_target_only": r.bin.staged_beats_target_only,
            "best_source_beats_target_only": r.bin.best_source_beats_target_only,
            "text": r.to_string(),
        }),
        None => serde_json::Value::Null,
    }
}

fn human_lines(
    args: &Args,
    summary: &serde_json::Value,
    (inf, extras): (&inference::Inference, &resampling::Extras),
    (selected, outcome): (Option<&SelectionReport>, &Outcome),
    clusters: Option<&Clusters>,
) -> Vec<String> {
    let mut human = vec![outcome.line(&args.columns.outcome)];
    human.extend(selected.map(|r| selection::lines(r, "strategies")).unwrap_or_default());
    let name = summary["strategy"].as_str().unwrap_or("?");
    let cita = summary["cita"].as_f64().unwrap_or(f64::NAN);
    human.push(format!("strategy `{name}`, CITA {cita:.4} (0 = source and target alike)"));
    human.push(match summary["cita_reading"]["text"].as_str() {
        Some(text) => format!("  reading CITA: {text}"),
        None => "  reading CITA: the Simulation 2 grid of docs/selection.md saw too few such values to say".into(),
    });
    human.extend(inf.lines(&args.inference, clusters));
    human.push(output::plugin_line(summary));
    human.extend(resampling::lines(extras, summary));
    human.extend(inference::truth_line(summary));
    let members = args.resampling.ensemble;
    if members > 1 {
        human.push(format!("the {members} adapted ensemble members are not saved; predictions only"));
    }
    human.push(format!("wrote {}", args.out.display()));
    human
}

/// What `ite transfer` reads: source and target under one encoding, the target's clusters, and
/// the rows kept of each file.
struct Samples<'a> {
    source: CausalData,
    target: CausalData,
    encoding: Encoding,
    clusters: Option<Clusters>,
    files: Vec<(&'static str, &'a Path, KeptRows)>,
    outcome: Outcome,
}

/// Reads `--source` and `--target` (both arms in each, the same covariates) under one
/// encoding: fitted on both files together (`--categorical` levels from their union, `impute`
/// values over both), or the one saved with `--source-model`; and the target's `--cluster`.
fn read_samples<'a>(args: &'a Args, layout: &CsvLayout) -> Result<Samples<'a>> {
    let saved = match &args.source_model {
        Some(dir) => preprocess::load_saved(dir)?.map(|e| (e, format!("--source-model {}", dir.display()))),
        None => None,
    };
    let files = [("--source", args.source.as_path()), ("--target", args.target.as_path())];
    let fixed = saved.as_ref().map(|(e, from)| (e, from.as_str()));
    let (encoding, samples) = preprocess::read_samples(&files, layout, &args.encoding, fixed)?;
    let [s, t] = <[preprocess::Sample; 2]>::try_from(samples).map_err(|_| anyhow::anyhow!("expected two samples"))?;
    let clusters = Clusters::read(args.inference.cluster.as_deref(), &t.raw, &t.rows.kept)?;
    let outcome = args.outcome.resolve(
        &[
            TrainingFile { raw: &s.raw, data: &s.data, kept: &s.rows.kept },
            TrainingFile { raw: &t.raw, data: &t.data, kept: &t.rows.kept },
        ],
        &args.columns.outcome,
    )?;
    let (source, target) = (s.data, t.data);
    let files = vec![("--source", args.source.as_path(), s.rows), ("--target", args.target.as_path(), t.rows)];
    source.require_both_arms(&format!("{} (source)", args.source.display()))?;
    target.require_both_arms(&format!("{} (target)", args.target.display()))?;
    source.x().check_same_columns(
        &format!("source {}", args.source.display()),
        target.x(),
        &format!("target {}", args.target.display()),
    )?;
    Ok(Samples { source, target, encoding, clusters, files, outcome })
}

/// The rows to predict: `--predict` (matched to the source's covariates by name, encoded as the
/// source and target; its kept rows join `files`) or the target, with their truth and ids when
/// the file has them.
fn predicted_rows<'a>(
    args: &'a Args,
    layout: &CsvLayout,
    encoding: &Encoding,
    target: &CausalData,
    files: &mut Vec<(&'static str, &'a Path, KeptRows)>,
) -> Result<(Covariates, Option<Truth>, Option<Vec<String>>)> {
    Ok(match &args.predict {
        Some(p) => {
            let what = format!("source {}", args.source.display());
            let (tab, rows) = preprocess::predict_rows(("--predict", p), layout, encoding, &what)?;
            files.push(("--predict", p.as_path(), rows));
            (tab.x, tab.truth, tab.ids)
        }
        None => (target.x().clone(), target.truth().cloned(), target.ids().map(<[String]>::to_vec)),
    })
}

/// The figures of a transfer (none with `--no-figures`): the predicted ITEs of the transferred
/// model, of a target-only model (fitted here with seed `seed`, the model `--strategy
/// target-only` fits with the same settings, unless the strategy is target-only) and of the source model, overlaid with the estimates marked; and the target's
/// propensity overlap.
fn transfer_figures(
    args: &Args,
    name: &str,
    (pred, x): (&PotentialOutcomes, &Covariates),
    (source_model, source, target): (&FittedTarNet, &CausalData, &CausalData),
    inf: &inference::Inference,
    summary: &serde_json::Value,
    seed: Seed,
) -> Result<Vec<ite_eval::figures::Distribution>> {
    if args.figures.no_figures {
        return Ok(Vec::new());
    }
    let mut samples = Vec::new();
    if name != "target-only" && name != "source-only" {
        samples.push((format!("with transfer ({name})"), pred.ite()));
    }
    let target_only = if name == "target-only" {
        pred.ite()
    } else {
        let strategy = build_strategy("target-only", &args.strategy_config()?)?;
        let input = TransferInput::new(source_model, source, target)?;
        strategy.transfer(input, seed)?.predict(x)?.ite()
    };
    samples.push(("target only".to_string(), target_only));
    let source_ite = if name == "source-only" { pred.ite() } else { source_model.predict(x)?.ite() };
    samples.push(("source model".to_string(), source_ite));
    let what = format!("`{name}` and the alternatives ({} rows)", x.n_rows());
    let mut figs = vec![figures::ite_figure(&what, samples, summary)];
    figs.extend(figures::overlap_figure(inf.overlap.as_ref(), target.t()));
    Ok(figs)
}

/// summary.json's `target_training`: the settings given for the target phase (null: the
/// strategy's own); null as a whole when the strategy run has no training phase on the target
/// (`source-only`, `pooled`: under `--strategy auto`, the settings went to the other candidates).
fn target_training_json(c: &StrategyConfig, trains_on_target: bool) -> serde_json::Value {
    if !trains_on_target {
        return serde_json::Value::Null;
    }
    json!({ "max_epochs": c.max_epochs, "learning_rate": c.learning_rate, "batch_size": c.batch_size })
}

/// summary.json's `source_network`: the `--model` network trained here, or where the model was
/// loaded from.
fn source_network(args: &Args, trained: bool) -> String {
    match (&args.source_model, trained) {
        (Some(dir), false) => format!("loaded from {}", dir.display()),
        _ => args.source_kind().name().to_string(),
    }
}

/// The directory of the network `--source-model DIR` names: DIR or DIR/model (the --out
/// directory of `ite fit` or `ite transfer`, as `ite predict --model` takes); an error naming
/// the kind when the model there is a baseline, not a network with a representation.
fn source_model_dir(given: &Path) -> Result<PathBuf> {
    // The --out directory of `ite transfer` holds the adapted model (model/) and the source
    // network (source_model/): the source network is the one to start from again.
    let transfer_source = given.join("source_model");
    let is_transfer_out = std::fs::read_to_string(given.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .filter(|v| v.get("strategy").is_some() && v.get("source_network").is_some());
    let given_dir = if transfer_source.join(saved::MODEL_FILE).is_file() {
        transfer_source.as_path()
    } else if let Some(summary) = is_transfer_out {
        bail!(
            "--source-model {}: this is the --out directory of `ite transfer`, whose model/ is the adapted target \
             model, and it holds no source network (source_model/ is written only when the run trained one; this \
             one's was {}): give that source network instead",
            given.display(),
            summary["source_network"].as_str().unwrap_or("?")
        );
    } else {
        given
    };
    let dir = crate::commands::fit::model_dir(given_dir, "--source-model")?;
    let kind = Saved::kind(&dir).with_context(|| format!("--source-model {}", given.display()))?;
    // The kind as `ite fit --model` names it.
    let user_name = |kind: &str| match kind {
        "t-learner-logistic" => "t-learner-ols (a logistic regression on this binary outcome)".to_string(),
        "s-learner-logistic" => "s-learner-ols (a logistic regression on this binary outcome)".to_string(),
        "mlp-t-learner" => "t-learner-mlp".to_string(),
        other => other.to_string(),
    };
    match kind.as_deref() {
        None | Some("tarnet") => Ok(dir),
        Some(kind) => bail!(
            "--source-model {}: the model saved there is a {}, a baseline without a representation to \
             transfer; the source model must be a network (tarnet, cfr-wass, ...): train one with `ite fit --model \
             tarnet --out DIR` and give --source-model DIR, or leave --source-model out to train one on --source",
            given.display(),
            user_name(kind)
        ),
    }
}

/// The source model and the outcome type of the transfer: loaded from `--source-model` (then
/// the model's outcome type, which must agree with the flag and the files), or trained on the
/// source for `outcome` (then `true`).
fn source_model(
    args: &Args,
    (source, outcome): (&ite_core::CausalData, Outcome),
    device: &candle_core::Device,
    ui: &Ui,
    seed: Seed,
) -> Result<(FittedTarNet, bool, Outcome)> {
    Ok(match &args.source_model {
        Some(dir) => {
            let m = FittedTarNet::load_on(dir, device).with_context(|| format!("--source-model {}", dir.display()))?;
            m.check_features(source.x()).with_context(|| format!("--source-model {}", dir.display()))?;
            ui.note(&format!("loaded source model from {}", dir.display()));
            let saved = m.outcome_type();
            // The files' type when the model agrees, else (auto on 0/1 files, continuous model) the model's.
            let resolved =
                if saved == outcome.kind { outcome } else { Outcome { kind: saved, from: outcome::Origin::Model } };
            if saved != outcome.kind && (outcome.from != outcome::Origin::Auto || saved.is_binary()) {
                bail!(
                    "--source-model {}: the model was fitted for a {saved} outcome, but {}; give --outcome-type {saved} \
                     with 0/1 outcomes, or train a new source model",
                    dir.display(),
                    if outcome.from == outcome::Origin::Auto {
                        format!("`{}` of --source/--target has values other than 0 and 1", args.columns.outcome)
                    } else {
                        format!("--outcome-type is {}", outcome.kind)
                    }
                );
            }
            ui.note(&resolved.line(&args.columns.outcome));
            (m, false, resolved)
        }
        None => {
            let kind = args.source_kind();
            if let Some(net) = &args.net {
                ui.note(&format!("--net {net} is the old spelling of --model {}", kind.name()));
            }
            let params =
                kind.net_params().unwrap_or_else(TarNetParams::transfer_source).with_outcome_type(outcome.kind);
            ui.note(&outcome.line(&args.columns.outcome));
            let phase = ui.phase(format!("training the source model ({}) on {} units", kind.name(), source.n()));
            let m = params.fit_on(source, seed.stream("source"), device)?;
            phase.done();
            (m, true, outcome)
        }
    })
}

//! The definition of an experiment grid: which cells, methods and replications it holds, the
//! study's grids for Simulations 1 and 2 (full and quick), and the seed of every draw and fit.

use std::str::FromStr;

use ite_core::{Params, Seed};
use ite_dgp::{Assignment, Shift};
use ite_inference::Score;
use ite_nets::TarNetParams;
use ite_transfer::{Registry, StagedAlignment};
use serde::{Deserialize, Serialize};

use crate::error::EvalError;
use crate::results::TaskKey;

/// Which simulation of the study a grid runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Experiment {
    /// Simulation 1: linear population, randomized or biased targets from the source population.
    Sim1,
    /// Simulation 2: nonlinear population, targets with covariate, effect or prognostic shift.
    Sim2,
}

impl Experiment {
    /// `sim1` or `sim2`, as in `results.csv` and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Experiment::Sim1 => "sim1",
            Experiment::Sim2 => "sim2",
        }
    }
}

impl std::fmt::Display for Experiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Experiment {
    type Err = EvalError;
    fn from_str(s: &str) -> Result<Self, EvalError> {
        match s {
            "sim1" => Ok(Experiment::Sim1),
            "sim2" => Ok(Experiment::Sim2),
            other => Err(ite_core::SettingsError::text("experiment", other, "`sim1` or `sim2`").into()),
        }
    }
}

/// Where a task's ITE metrics are measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestSet {
    /// A fresh draw of this many units from the target population (same assignment, same
    /// shift); the target sample is used whole for training. More precise than a split.
    FreshDraw(usize),
    /// The study's protocol (docs/design.md §4): this share of the target sample is held out
    /// for the metrics and the methods train on the rest.
    HoldOut(f64),
}

/// How a grid draws its data and where it measures: our protocol, or the study's published
/// code's (issue 17's table, left column).
///
/// | | `clean` (the default) | `study` |
/// |---|---|---|
/// | source sample and model | fresh per replication (seed of the group) | one dataset per source size, the same in every replication (seed `"study-source"` indexed by the source size only), so one source model per size |
/// | source network ([`Protocol::source_params`]) | `ite_nets::TarNetParams::transfer_source` (fitted to convergence with early stopping on a source validation split) | `ite_nets::TarNetParams::study_source` (CFR-Wasserstein, α = 10, 20 epochs) without an activation after Φ's last layer (`phi_final_activation = false`) |
/// | randomized Simulation 1 target | fresh population draw | rows of that source dataset, resampled with replacement |
/// | biased Simulation 1 target | accept–reject on Y(0) over fresh draws | the same accept–reject over rows of that source dataset |
/// | biased Simulation 2 target | Y(0) standardized by the population's exact moments | by the sample's own mean and sd ([`ite_dgp::Standardization::Sample`]) |
/// | test set | [`GridSpec::test`] | the whole target sample (the training units): Simulation 2 as the study; Simulation 1's code has none, so the same |
/// | `staged-alignment` ([`Protocol::registry`]) | `StagedAlignment::default()` | `StagedAlignment::study_code()`: the published code's Sinkhorn (blur 0.01), per-arm loss and fixed-epoch phases |
///
/// Under `study` the metrics are measured partly on units the source model has seen (Simulation
/// 1: the target rows *are* source rows) and on the target's own training units
/// ([`Protocol::warning`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Fresh sources per replication, fresh targets, fresh test draws.
    #[default]
    Clean,
    /// The study's published code.
    Study,
}

impl Protocol {
    /// `clean` or `study`, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Clean => "clean",
            Protocol::Study => "study",
        }
    }

    /// What a reader of a `study` run must know (`None` for `clean`): printed on stderr at the
    /// start of the run and recorded in `run.json`.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            Protocol::Clean => None,
            Protocol::Study => Some(
                "study protocol: metrics are measured on the target's own training units, and Simulation 1's targets \
                 are rows of the source sample, so the source model has seen the outcomes of the units it is \
                 evaluated on; its errors are optimistic and not comparable with the clean protocol's",
            ),
        }
    }
}

impl Protocol {
    /// The protocol's source network: `clean` — [`TarNetParams::transfer_source`] (fitted to
    /// convergence, early stopping on a source validation split); `study` — the study's
    /// CFR-Wasserstein source ([`TarNetParams::study_source`]) without an activation after Φ's
    /// last layer, as the study's code ([`TarNetParams::phi_final_activation`]).
    pub fn source_params(self) -> TarNetParams {
        match self {
            Protocol::Clean => TarNetParams::transfer_source(),
            Protocol::Study => TarNetParams { phi_final_activation: false, ..TarNetParams::study_source() },
        }
    }
}

impl Protocol {
    /// The strategies a grid of this protocol runs: `base` under `clean`; under `study`, `base`
    /// with `staged-alignment` (when registered) running the study code's settings
    /// ([`ite_transfer::StagedAlignment::study_code`]) under the same name.
    pub fn registry(self, base: &Registry) -> std::borrow::Cow<'_, Registry> {
        match self {
            Protocol::Study if base.contains(StagedAlignment::NAME) => {
                let mut r = base.clone();
                // Cannot fail: the name is registered.
                let _ = r.replace(StagedAlignment::STUDY_ENTRY);
                std::borrow::Cow::Owned(r)
            }
            _ => std::borrow::Cow::Borrowed(base),
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = EvalError;
    fn from_str(s: &str) -> Result<Self, EvalError> {
        match s {
            "clean" => Ok(Protocol::Clean),
            "study" => Ok(Protocol::Study),
            other => Err(ite_core::SettingsError::text("protocol", other, "`clean` or `study`").into()),
        }
    }
}

/// An experiment grid: cells (source n × target n × assignment × shift × level) × methods ×
/// replications, with how tasks are evaluated.
///
/// | name | default ([`GridSpec::sim1`]) | meaning | valid range |
/// |---|---|---|---|
/// | `experiment` | `Sim1` | which simulation | `Sim1`, `Sim2` |
/// | `source_ns` | 1000, 5000, 10000, 20000, 30000 | source sample sizes | non-empty, each ≥ 20 |
/// | `target_ns` | 50, 100, 250, 500, 1000 | target sample sizes (before any hold-out) | non-empty, each ≥ 10 |
/// | `assignments` | randomized, biased | target assignments | `randomized`, `biased` |
/// | `shifts` | none | shift kinds (Simulation 2: covariate, effect, prognostic) | `none`, `covariate`, `effect`, `prognostic` (sim1: only `none`) |
/// | `levels` | 0 | shift levels c | finite, in [0, 1]; sim1: only 0 |
/// | `methods` | target-only, staged-alignment | strategy names, and the selection methods [`SELECTION_METHODS`] | non-empty, no repeats; registered (built-in: [`Registry::builtin`]) or a selection method; with a selection method, at least two registered ones (the candidates) |
/// | `replications` | 100 | replications per cell | ≥ 1 |
/// | `test` | `FreshDraw(2000)` | where the metrics are measured (ignored by the `study` protocol: the target sample itself) | `FreshDraw(n ≥ 10)`, `HoldOut(share in [0.1, 0.9])` |
/// | `max_epochs` | `None` | caps every training phase's epochs (source, target, alignment); for tests and smoke runs | ≥ 1 |
/// | `intervals` | `None` | also estimate each task's target ATE by cross-fitted AIPW with an interval ([`Intervals`]) | valid [`Intervals`] |
/// | `selection_folds` | 5 | K of the selection methods' K-fold choice among the fixed methods (`ite_inference::SelectionParams::folds`) | 2..=20 |
/// | `protocol` | `Clean` | how sources, targets and test sets are drawn ([`Protocol`]); `run.json` without it reads as `Clean` | `Clean`, `Study` |
/// | `source` | [`Protocol::source_params`] of `protocol` (clean: `TarNetParams::transfer_source`) | the source network's hyperparameters (every phase's epochs capped by `max_epochs`); `run.json` without it reads as `TarNetParams::study_source`, the network of runs written before it existed | a valid `TarNetParams` |
/// | `batched_sources` | `true` | clean protocol: train the source models of a wave of groups together with the batched trainer (`TarNetParams::fit_many`) when the source network allows it; `run.json` without it reads as `false` | `true`, `false` |
/// | `batched_targets` | `true` | with batched sources (clean protocol) or under the study protocol: train the target fits of the methods whose last phase is one network fit (`ite_transfer::NetFit`: target-only, fine-tune, freeze-representation, staged alignment's heads) of a cell's replications in a wave together (`ite_transfer::transfer_many`); `run.json` without it reads as `false` | `true`, `false` |
///
/// **Selection methods.** Besides registered strategies (the *fixed* methods), `methods` may
/// hold `auto-r-loss`, `auto-dr`, `auto-pehe-nn` and `oracle` ([`SELECTION_METHODS`]). An
/// `auto-*` row is the fixed method chosen on the cell's training target alone by
/// `ite_transfer::select_strategy` (every fixed method re-run on K−1 folds, scored on the
/// held-out fold by the R-loss, the DR loss or PEHE_nn) and then refit on the whole target; an
/// `oracle` row is the fixed method with the lowest true ε_PEHE in that cell and replication
/// (ties: the earlier method). Since every method of a cell is fitted with the same seed, the
/// refit *is* the fixed method's fit: a selection row's measurements are those of the fixed row
/// it names in `chosen` ([`crate::ResultRow::chosen`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridSpec {
    /// The simulation.
    pub experiment: Experiment,
    /// Source sample sizes.
    pub source_ns: Vec<usize>,
    /// Target sample sizes.
    pub target_ns: Vec<usize>,
    /// Target assignments, by name (`randomized`, `biased`).
    pub assignments: Vec<String>,
    /// Shift kinds, by name (`none` for Simulation 1).
    pub shifts: Vec<String>,
    /// Shift levels.
    pub levels: Vec<f64>,
    /// Methods (strategy names).
    pub methods: Vec<String>,
    /// Replications per cell.
    pub replications: u64,
    /// Where metrics are measured.
    pub test: TestSet,
    /// Cap on the epochs of every training phase.
    pub max_epochs: Option<usize>,
    /// Cross-fitted AIPW intervals of each task's target ATE (`None`: none, and the rows'
    /// interval columns are empty). Recorded in `run.json`, so runs with and without intervals
    /// neither resume into nor merge with each other.
    #[serde(default)]
    pub intervals: Option<Intervals>,
    /// Folds of the selection methods' choice. Recorded in `run.json` (runs written before it
    /// existed read as 5), so runs with other folds neither resume into nor merge with each other.
    #[serde(default = "default_selection_folds")]
    pub selection_folds: usize,
    /// The protocol. Recorded in `run.json` (runs written before it existed read as `clean`), so
    /// runs of the two protocols neither resume into nor merge with each other.
    #[serde(default)]
    pub protocol: Protocol,
    /// The source network. Recorded in `run.json` (runs written before it existed read as
    /// `TarNetParams::study_source`, what they used), so runs with other source networks neither
    /// resume into nor merge with each other. Set it with [`GridSpec::with_protocol`] to follow
    /// a protocol's choice.
    #[serde(default = "legacy_source")]
    pub source: TarNetParams,
    /// Whether the source models of the clean protocol are trained a wave at a time by the
    /// batched trainer (`TarNetParams::fit_many`, when the source network allows it:
    /// `TarNetParams::batch_support`) rather than one at a time. The two agree to f32 rounding
    /// at the first step, not bit for bit over a fit, so this is recorded in `run.json` (runs
    /// written before it existed read as `false`, how they were trained) and runs that differ
    /// in it neither resume into nor merge with each other.
    #[serde(default)]
    pub batched_sources: bool,
    /// Whether (with batched sources under the clean protocol, [`GridSpec::trains_sources_batched`];
    /// always under the study protocol) the target fits of the methods whose last training
    /// phase is one network fit (`ite_transfer::NetFit`) are
    /// trained for the replications of a cell in a wave together
    /// (`ite_transfer::transfer_many`) rather than one at a time. Recorded in `run.json` like
    /// [`GridSpec::batched_sources`] (runs written before it existed read as `false`).
    #[serde(default)]
    pub batched_targets: bool,
}

fn legacy_source() -> TarNetParams {
    TarNetParams::study_source()
}

fn default_selection_folds() -> usize {
    5
}

/// `auto-r-loss`: the fixed method chosen by the R-loss.
pub const AUTO_R_LOSS: &str = "auto-r-loss";
/// `auto-dr`: the fixed method chosen by the doubly robust loss.
pub const AUTO_DR: &str = "auto-dr";
/// `auto-pehe-nn`: the fixed method chosen by PEHE_nn.
pub const AUTO_PEHE_NN: &str = "auto-pehe-nn";
/// `oracle`: the fixed method with the lowest true ε_PEHE in the cell and replication.
pub const ORACLE: &str = "oracle";
/// The selection methods of a grid, in the order tables list them (`ite reproduce --methods
/// ...,auto` adds all four).
pub const SELECTION_METHODS: [&str; 4] = [AUTO_R_LOSS, AUTO_DR, AUTO_PEHE_NN, ORACLE];

/// A selection method of a grid: a choice among the grid's fixed methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionMethod {
    /// Chosen from the target data by this score.
    Auto(Score),
    /// Chosen by the true ε_PEHE.
    Oracle,
}

impl SelectionMethod {
    /// The selection method called `name` (`None` for a fixed method).
    pub fn of(name: &str) -> Option<SelectionMethod> {
        match name {
            AUTO_R_LOSS => Some(SelectionMethod::Auto(Score::RLoss)),
            AUTO_DR => Some(SelectionMethod::Auto(Score::Dr)),
            AUTO_PEHE_NN => Some(SelectionMethod::Auto(Score::PeheNn)),
            ORACLE => Some(SelectionMethod::Oracle),
            _ => None,
        }
    }
}

/// How a grid task estimates its target's ATE with an interval: cross-fitted AIPW
/// (`ite_inference::AipwParams`, logistic propensity, no trimming) with the task's own method as
/// the outcome model — the strategy re-run on each training fold of the target with the cell's
/// fitted source model (`ite_transfer::StrategyLearner`; target-only methods ignore the source).
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `folds` | 5 | K of the K-fold cross-fitting (seeded, stratified by arm) | 2..=20 |
/// | `level` | 0.95 | nominal coverage of the interval | (0, 1) |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Intervals {
    /// Cross-fitting folds.
    pub folds: usize,
    /// Nominal coverage.
    pub level: f64,
}

impl Default for Intervals {
    fn default() -> Self {
        Intervals { folds: 5, level: 0.95 }
    }
}

impl Params for Intervals {
    type Error = EvalError;
    fn validate(&self) -> Result<(), EvalError> {
        if !(2..=20).contains(&self.folds) {
            return Err(invalid("intervals.folds", self.folds, "an integer in 2..=20"));
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(invalid("intervals.level", self.level, "a number in (0, 1), e.g. 0.95"));
        }
        Ok(())
    }
}

impl Default for GridSpec {
    fn default() -> Self {
        GridSpec::sim1()
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl GridSpec {
    /// The study's Simulation 1 grid: source n ∈ {1000, 5000, 10000, 20000, 30000}, target n ∈
    /// {50, 100, 250, 500, 1000}, randomized and biased targets, 100 replications, target-only
    /// and staged alignment (the study's TL-TARNet).
    pub fn sim1() -> Self {
        GridSpec {
            experiment: Experiment::Sim1,
            source_ns: vec![1000, 5000, 10000, 20000, 30000],
            target_ns: vec![50, 100, 250, 500, 1000],
            assignments: strings(&["randomized", "biased"]),
            shifts: strings(&["none"]),
            levels: vec![0.0],
            methods: strings(&["target-only", "staged-alignment"]),
            replications: 100,
            test: TestSet::FreshDraw(2000),
            max_epochs: None,
            intervals: None,
            selection_folds: 5,
            protocol: Protocol::Clean,
            source: Protocol::Clean.source_params(),
            batched_sources: true,
            batched_targets: true,
        }
    }

    /// A small Simulation 1 grid that still shows the headline (transfer against target-only on
    /// small biased targets): source n 5000, target n ∈ {50, 100, 250}, both assignments, 10
    /// replications, target-only, staged alignment, fine-tune and frozen representation
    /// (240 tasks; 3.4–3.7 s on a quiet two-core machine, `ite reproduce sim1 --quick --seed 1
    /// --no-figures`, docs/performance.md).
    pub fn sim1_quick() -> Self {
        GridSpec {
            source_ns: vec![5000],
            target_ns: vec![50, 100, 250],
            methods: strings(&["target-only", "staged-alignment", "fine-tune", "freeze-representation"]),
            replications: 10,
            ..GridSpec::sim1()
        }
    }

    /// The study's Simulation 2 grid: source n ∈ {1000, 5000}, target n ∈ {50, 100, 500},
    /// covariate, effect and prognostic shift at levels {0, 0.25, 0.5, 0.75, 1}, randomized and
    /// biased targets, 100 replications; staged alignment (transfer), target-only, source-only.
    pub fn sim2() -> Self {
        GridSpec {
            experiment: Experiment::Sim2,
            source_ns: vec![1000, 5000],
            target_ns: vec![50, 100, 500],
            assignments: strings(&["randomized", "biased"]),
            shifts: strings(&["covariate", "effect", "prognostic"]),
            levels: vec![0.0, 0.25, 0.5, 0.75, 1.0],
            methods: strings(&["staged-alignment", "target-only", "source-only"]),
            replications: 100,
            test: TestSet::FreshDraw(2000),
            max_epochs: None,
            intervals: None,
            selection_folds: 5,
            protocol: Protocol::Clean,
            source: Protocol::Clean.source_params(),
            batched_sources: true,
            batched_targets: true,
        }
    }

    /// A small Simulation 2 grid: source n 1000, biased targets of 100, the three shifts at
    /// levels {0, 0.5, 1}, 5 replications, the three methods of [`GridSpec::sim2`].
    pub fn sim2_quick() -> Self {
        GridSpec {
            source_ns: vec![1000],
            target_ns: vec![100],
            assignments: strings(&["biased"]),
            levels: vec![0.0, 0.5, 1.0],
            replications: 5,
            ..GridSpec::sim2()
        }
    }

    /// Whether the source models train a wave at a time by the batched trainer: the clean
    /// protocol, [`GridSpec::batched_sources`], and a source network the batched trainer takes
    /// (`TarNetParams::batch_support`). `run.json` records this value.
    pub fn trains_sources_batched(&self) -> bool {
        self.protocol == Protocol::Clean && self.batched_sources && self.source_params().batch_support().is_ok()
    }

    /// Whether the target fits of the one-fit methods train batched: [`GridSpec::batched_targets`],
    /// with batched sources under the clean protocol ([`GridSpec::trains_sources_batched`]), or
    /// under the study protocol (whose source models are shared, one per size). `run.json`
    /// records this value.
    pub fn trains_targets_batched(&self) -> bool {
        self.batched_targets && (self.trains_sources_batched() || self.protocol == Protocol::Study)
    }

    /// This grid under `protocol`, with that protocol's source network
    /// ([`Protocol::source_params`]).
    pub fn with_protocol(self, protocol: Protocol) -> Self {
        GridSpec { protocol, source: protocol.source_params(), ..self }
    }

    /// The source network's hyperparameters as the grid trains them: [`GridSpec::source`] with
    /// its epochs capped by `max_epochs`.
    pub fn source_params(&self) -> TarNetParams {
        match self.max_epochs {
            Some(cap) => {
                let e = self.source.max_epochs.min(cap);
                self.source.clone().with_max_epochs(e)
            }
            None => self.source.clone(),
        }
    }

    /// The grid for `experiment`, full or quick.
    pub fn for_experiment(experiment: Experiment, quick: bool) -> Self {
        match (experiment, quick) {
            (Experiment::Sim1, false) => GridSpec::sim1(),
            (Experiment::Sim1, true) => GridSpec::sim1_quick(),
            (Experiment::Sim2, false) => GridSpec::sim2(),
            (Experiment::Sim2, true) => GridSpec::sim2_quick(),
        }
    }

    /// The cells of the grid, in canonical order (source n, target n, assignment, shift, level).
    pub fn cells(&self) -> Result<Vec<Cell>, EvalError> {
        self.validate_fields()?;
        let assignments = parse_all::<Assignment>(&self.assignments)?;
        let shifts = parse_all::<Shift>(&self.shifts)?;
        let mut cells = Vec::new();
        for &source_n in &self.source_ns {
            for &target_n in &self.target_ns {
                for &assignment in &assignments {
                    for &shift in &shifts {
                        for &level in &self.levels {
                            cells.push(Cell { source_n, target_n, assignment, shift, level });
                        }
                    }
                }
            }
        }
        Ok(cells)
    }

    /// The task groups, in canonical order (source n, then replication): each group shares one
    /// source sample and one fitted source model.
    pub fn groups(&self) -> Result<Vec<Group>, EvalError> {
        self.validate_fields()?;
        Ok(self
            .source_ns
            .iter()
            .flat_map(|&source_n| (0..self.replications).map(move |replication| Group { source_n, replication }))
            .collect())
    }

    /// Checks the grid like [`Params::validate`], with `registry` as the strategies its
    /// `methods` may name (`validate` takes the built-in ones); what a grid run calls.
    ///
    /// # Errors
    /// [`EvalError::Settings`] naming the first field out of range, or a method `registry`
    /// does not hold (the message lists the registered names).
    pub fn validate_with(&self, registry: &Registry) -> Result<(), EvalError> {
        self.validate_fields()?;
        if let Some(m) = self.fixed_methods().into_iter().find(|m| !registry.contains(m)) {
            return Err(invalid(
                "methods",
                m,
                &format!("strategy names: {}, or {}", registry.names().join(", "), SELECTION_METHODS.join(", ")),
            ));
        }
        if let Some(m) = registry.names().into_iter().find(|m| SelectionMethod::of(m).is_some()) {
            return Err(invalid(
                "registry",
                m,
                &format!("strategies not named like a grid's selection methods ({})", SELECTION_METHODS.join(", ")),
            ));
        }
        Ok(())
    }

    /// The fixed methods (registered strategies), in `methods` order: the candidates of the
    /// selection methods.
    pub fn fixed_methods(&self) -> Vec<&str> {
        self.methods.iter().map(String::as_str).filter(|m| SelectionMethod::of(m).is_none()).collect()
    }

    /// Whether `methods` holds a selection method.
    pub fn has_selection(&self) -> bool {
        self.methods.iter().any(|m| SelectionMethod::of(m).is_some())
    }

    /// Every task of the grid, as keys, in canonical order.
    pub fn task_keys(&self) -> Result<Vec<TaskKey>, EvalError> {
        let cells = self.cells()?;
        let mut keys = Vec::new();
        for g in self.groups()? {
            for c in cells.iter().filter(|c| c.source_n == g.source_n) {
                for m in &self.methods {
                    keys.push(c.key(self.experiment, m, g.replication));
                }
            }
        }
        Ok(keys)
    }
}

fn parse_all<T: FromStr<Err = ite_dgp::DgpError>>(names: &[String]) -> Result<Vec<T>, EvalError> {
    names.iter().map(|s| s.parse::<T>().map_err(EvalError::from)).collect()
}

fn invalid(name: &str, value: impl std::fmt::Debug, expected: &str) -> EvalError {
    ite_core::SettingsError::new(name, value, expected).into()
}

fn check_unique<T: PartialEq + std::fmt::Debug>(name: &str, v: &[T]) -> Result<(), EvalError> {
    if v.is_empty() {
        return Err(invalid(name, v, "at least one value"));
    }
    for (i, a) in v.iter().enumerate() {
        if v[..i].contains(a) {
            return Err(invalid(name, v, &format!("no repeated values ({a:?} appears twice)")));
        }
    }
    Ok(())
}

impl Params for GridSpec {
    type Error = EvalError;
    /// Checks every field, the methods against the built-in strategies
    /// ([`GridSpec::validate_with`] takes another registry).
    fn validate(&self) -> Result<(), EvalError> {
        self.validate_with(&Registry::builtin())
    }
}

impl GridSpec {
    /// Every check but whether the methods are registered.
    fn validate_fields(&self) -> Result<(), EvalError> {
        check_unique("source_ns", &self.source_ns)?;
        if let Some(n) = self.source_ns.iter().find(|n| **n < 20) {
            return Err(invalid("source_ns", n, "sample sizes of at least 20"));
        }
        check_unique("target_ns", &self.target_ns)?;
        if let Some(n) = self.target_ns.iter().find(|n| **n < 10) {
            return Err(invalid("target_ns", n, "sample sizes of at least 10"));
        }
        check_unique("assignments", &self.assignments)?;
        parse_all::<Assignment>(&self.assignments)?;
        check_unique("shifts", &self.shifts)?;
        let shifts = parse_all::<Shift>(&self.shifts)?;
        check_unique("levels", &self.levels)?;
        if let Some(l) = self.levels.iter().find(|l| !(0.0..=1.0).contains(*l)) {
            return Err(invalid("levels", l, "shift levels in [0, 1]"));
        }
        if self.experiment == Experiment::Sim1 && (shifts != [Shift::None] || self.levels != [0.0]) {
            return Err(invalid("shifts", &self.shifts, "Simulation 1 has no shifts: shifts = [none], levels = [0]"));
        }
        check_unique("methods", &self.methods)?;
        if self.replications == 0 {
            return Err(invalid("replications", self.replications, "at least 1"));
        }
        match self.test {
            TestSet::FreshDraw(n) if n < 10 => return Err(invalid("test", self.test, "a fresh draw of ≥ 10 units")),
            TestSet::HoldOut(s) if !(0.1..=0.9).contains(&s) => {
                return Err(invalid("test", self.test, "a hold-out share in [0.1, 0.9]"));
            }
            _ => {}
        }
        if self.max_epochs == Some(0) {
            return Err(invalid("max_epochs", self.max_epochs, "at least 1"));
        }
        if let Some(i) = &self.intervals {
            i.validate()?;
        }
        self.source.validate().map_err(|e| invalid("source", e.to_string(), "valid source-network hyperparameters"))?;
        if !(2..=20).contains(&self.selection_folds) {
            return Err(invalid("selection_folds", self.selection_folds, "an integer in 2..=20"));
        }
        if self.has_selection() && self.fixed_methods().len() < 2 {
            return Err(invalid(
                "methods",
                &self.methods,
                "at least two strategies besides the selection methods (they are the candidates)",
            ));
        }
        Ok(())
    }
}

/// The tasks that share a source sample and a fitted source model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Group {
    /// Source sample size.
    pub source_n: usize,
    /// Replication index.
    pub replication: u64,
}

/// One cell of a grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Source sample size.
    pub source_n: usize,
    /// Target sample size.
    pub target_n: usize,
    /// Target assignment.
    pub assignment: Assignment,
    /// Shift kind (`None` in Simulation 1).
    pub shift: Shift,
    /// Shift level.
    pub level: f64,
}

impl Cell {
    /// The key of `method` on this cell in `replication`.
    pub fn key(&self, experiment: Experiment, method: &str, replication: u64) -> TaskKey {
        TaskKey {
            experiment: experiment.as_str().into(),
            source_n: self.source_n,
            target_n: self.target_n,
            assignment: self.assignment.as_str().into(),
            shift: self.shift.as_str().into(),
            level_bits: self.level.to_bits(),
            method: method.into(),
            replication,
        }
    }
}

/// The seeds of a grid's draws and fits, derived from the root seed by names and indices only,
/// so a task's result does not depend on which other tasks run, on shards or on threads.
///
/// | what | seed |
/// |---|---|
/// | source sample | `root.stream(exp).stream("source").index(source_n).index(rep)` |
/// | source model | `root.stream(exp).stream("source-fit").index(source_n).index(rep)` |
/// | source sample, `study` protocol (every replication) | `root.stream(exp).stream("study-source").index(source_n)` |
/// | source model, `study` protocol (every replication) | `root.stream(exp).stream("study-source-fit").index(source_n)` |
/// | target sample | `root.stream(exp).stream("target").stream(assignment).stream(shift).index(level bits).index(target_n).index(rep)` |
/// | test sample / hold-out split | as the target, with `"test"` for `"target"` |
/// | methods and CITA | `root.stream(exp).stream("fit").index(source_n)` then as the target's path |
/// | AIPW interval (folds, fold fits) | the methods' seed, `.stream("aipw")` (the same folds for every method of a cell) |
/// | selection methods (folds, fold fits, propensity; one selection per cell and replication) | the methods' seed, `.stream("selection")` |
///
/// The target and test samples do not depend on the source size, so every source size meets the
/// same targets (common random numbers across the source-size axis). Under the `study`
/// protocol Simulation 1's targets are drawn from the source's rows, so they depend on the source
/// size through the rows, not through the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridSeeds {
    root: Seed,
}

impl GridSeeds {
    /// Seeds under `root` for `experiment`.
    pub fn new(root: Seed, experiment: Experiment) -> Self {
        GridSeeds { root: root.stream(experiment.as_str()) }
    }

    /// The source sample of a group.
    pub fn source(&self, g: Group) -> Seed {
        self.root.stream("source").index(g.source_n as u64).index(g.replication)
    }

    /// The source model of a group.
    pub fn source_fit(&self, g: Group) -> Seed {
        self.root.stream("source-fit").index(g.source_n as u64).index(g.replication)
    }

    /// The source sample of every replication with `source_n` units under the `study` protocol.
    pub fn study_source(&self, source_n: usize) -> Seed {
        self.root.stream("study-source").index(source_n as u64)
    }

    /// The source model of every replication with `source_n` units under the `study` protocol.
    pub fn study_source_fit(&self, source_n: usize) -> Seed {
        self.root.stream("study-source-fit").index(source_n as u64)
    }

    fn cell_path(base: Seed, c: &Cell, rep: u64) -> Seed {
        base.stream(c.assignment.as_str())
            .stream(c.shift.as_str())
            .index(c.level.to_bits())
            .index(c.target_n as u64)
            .index(rep)
    }

    /// The target sample of a cell.
    pub fn target(&self, c: &Cell, rep: u64) -> Seed {
        Self::cell_path(self.root.stream("target"), c, rep)
    }

    /// The test sample (or hold-out split) of a cell.
    pub fn test(&self, c: &Cell, rep: u64) -> Seed {
        Self::cell_path(self.root.stream("test"), c, rep)
    }

    /// The methods' fits and CITA on a cell (shared by the methods: common random numbers).
    pub fn fit(&self, c: &Cell, rep: u64) -> Seed {
        Self::cell_path(self.root.stream("fit").index(c.source_n as u64), c, rep)
    }
}

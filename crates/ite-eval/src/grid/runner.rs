//! Running a grid: task groups in parallel on a dedicated rayon pool, one source model per group
//! (per source size under the study protocol) reused by every cell and method, each finished
//! task appended to `results.csv` at once, and finished tasks skipped when a run is restarted; a
//! grid's selection methods choose among the fixed methods of each cell. Under the clean
//! protocol the sources of a wave of groups train together (batched), and so do the target fits
//! of a cell's replications in the wave (`ite_transfer::transfer_many`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ite_core::{CausalData, Dgp, Fit, IteModel, Seed, TransferInput};
use ite_dgp::{Sim1Source, Sim1Target, Sim2Source, Sim2Target, Standardization};
use ite_inference::{AipwParams, InferenceError, SelectionParams, SelectionReport};
use ite_nets::{BatchOptions, BatchTask, FittedTarNet};
use ite_transfer::{
    CitaParams, EntryLearner, Registry, StrategyConfig, StrategyEntry, TransferError, select_strategy, task_affinity,
    transfer_many,
};
use rayon::prelude::*;

use crate::error::EvalError;
use crate::grid::experiment::{
    Cell, Experiment, GridSeeds, GridSpec, Group, Intervals, Protocol, SelectionMethod, TestSet,
};
use crate::grid::lock::GridLock;
use crate::grid::selection::write_selection_outputs;
use crate::grid::shard::Shard;
use crate::grid::store::{
    RESULTS_FILE, ResultsFile, RunManifest, SUMMARY_FILE, SummaryRow, write_sorted_results, write_summary,
};
use crate::metrics::effect_metrics;
use crate::results::{ResultRow, TaskKey};

/// How to run a grid (what does not change its rows, except `seed` and the shard's share).
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `seed` | 1 | root seed of every draw and fit | any |
/// | `quick` | false | label stored in `run.json` (the grid itself is in the [`GridSpec`]) | — |
/// | `jobs` | available cores | worker threads; each task runs on one thread | ≥ 1 |
/// | `shard` | `0/1` | the share of task groups to run | `index < count` |
///
/// The tensor backend has its own threading (candle's CPU matmul reads `RAYON_NUM_THREADS`);
/// set `RAYON_NUM_THREADS=1` before the program starts any thread, as `ite reproduce` does, so
/// that `jobs` workers use `jobs` cores. Results do not depend on `jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Root seed.
    pub seed: Seed,
    /// Whether the grid is the quick one (recorded in `run.json`).
    pub quick: bool,
    /// Worker threads.
    pub jobs: usize,
    /// Share of the grid.
    pub shard: Shard,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: Seed::new(1),
            quick: false,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            shard: Shard::WHOLE,
        }
    }
}

/// Where a run stands, passed with every finished row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Tasks finished by this run so far.
    pub done: usize,
    /// Tasks this run has to do (finished ones of an earlier run excluded).
    pub total: usize,
    /// Tasks found finished in `results.csv` at the start and skipped.
    pub skipped: usize,
}

/// What [`run_grid`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// Every row of this shard, sorted by task key (earlier runs' included).
    pub rows: Vec<ResultRow>,
    /// Tasks run now.
    pub ran: usize,
    /// Tasks skipped as finished by an earlier run.
    pub skipped: usize,
    /// `summary.csv`'s rows.
    pub summary: Vec<SummaryRow>,
}

/// The tasks of a run before it starts: how many, how many already finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Tasks of this shard.
    pub tasks: usize,
    /// Of them, finished in `results.csv`.
    pub finished: usize,
}

/// The task groups of `shard` with their cells (canonical order).
fn shard_groups(spec: &GridSpec, shard: Shard) -> Result<Vec<(Group, Vec<Cell>)>, EvalError> {
    let cells = spec.cells()?;
    Ok(spec
        .groups()?
        .into_iter()
        .enumerate()
        .filter(|(i, _)| shard.holds(*i))
        .map(|(_, g)| (g, cells.iter().filter(|c| c.source_n == g.source_n).copied().collect()))
        .collect())
}

/// The task keys of one shard of a grid, in canonical order.
pub fn shard_task_keys(spec: &GridSpec, shard: Shard) -> Result<Vec<TaskKey>, EvalError> {
    let mut keys = Vec::new();
    for (g, cells) in shard_groups(spec, shard)? {
        for c in cells {
            for m in &spec.methods {
                keys.push(c.key(spec.experiment, m, g.replication));
            }
        }
    }
    Ok(keys)
}

/// Draws the target population's sample of a cell (the `clean` protocol).
fn draw_target(experiment: Experiment, c: &Cell, n: usize, seed: Seed) -> Result<CausalData, EvalError> {
    Ok(match experiment {
        Experiment::Sim1 => Sim1Target::new(c.assignment).sample_seeded(n, seed)?,
        Experiment::Sim2 => Sim2Target::new(c.shift, c.level, c.assignment).sample_seeded(n, seed)?,
    })
}

/// Draws the target sample of a cell under the `study` protocol: Simulation 1 from the rows of
/// the group's `source` sample, Simulation 2 with Y(0) standardized by the sample's moments.
fn draw_study_target(
    experiment: Experiment,
    c: &Cell,
    n: usize,
    seed: Seed,
    source: &CausalData,
) -> Result<CausalData, EvalError> {
    Ok(match experiment {
        Experiment::Sim1 => Sim1Target::resampling(source.clone(), c.assignment).sample_seeded(n, seed)?,
        Experiment::Sim2 => {
            Sim2Target { standardization: Standardization::Sample, ..Sim2Target::new(c.shift, c.level, c.assignment) }
                .sample_seeded(n, seed)?
        }
    })
}

/// Draws a source sample.
fn draw_source(experiment: Experiment, n: usize, seed: Seed) -> Result<CausalData, EvalError> {
    Ok(match experiment {
        Experiment::Sim1 => Sim1Source::default().sample_seeded(n, seed)?,
        Experiment::Sim2 => Sim2Source::default().sample_seeded(n, seed)?,
    })
}

/// The source sample of a group: its own draw under the `clean` protocol; under `study` the
/// draw of its source size, the same for every replication ([`GridSeeds::study_source`]).
pub fn source_data(spec: &GridSpec, seeds: &GridSeeds, g: Group) -> Result<CausalData, EvalError> {
    match spec.protocol {
        Protocol::Clean => draw_source(spec.experiment, g.source_n, seeds.source(g)),
        Protocol::Study => draw_source(spec.experiment, g.source_n, seeds.study_source(g.source_n)),
    }
}

/// The training sample and the test sample of a cell (the `study` protocol draws the group's
/// source sample first: Simulation 1's targets are its rows).
pub fn cell_data(
    spec: &GridSpec,
    seeds: &GridSeeds,
    c: &Cell,
    rep: u64,
) -> Result<(CausalData, CausalData), EvalError> {
    match spec.protocol {
        Protocol::Clean => cell_data_from(spec, seeds, c, rep, None),
        Protocol::Study => {
            let source = source_data(spec, seeds, Group { source_n: c.source_n, replication: rep })?;
            cell_data_from(spec, seeds, c, rep, Some(&source))
        }
    }
}

/// [`cell_data`] with the group's source sample at hand (`None` under the `clean` protocol,
/// which does not use it). Under `study` the test sample is the target sample itself.
fn cell_data_from(
    spec: &GridSpec,
    seeds: &GridSeeds,
    c: &Cell,
    rep: u64,
    source: Option<&CausalData>,
) -> Result<(CausalData, CausalData), EvalError> {
    if spec.protocol == Protocol::Study {
        let source = source.ok_or_else(|| EvalError::Empty("the source sample of a study-protocol cell".into()))?;
        let target = draw_study_target(spec.experiment, c, c.target_n, seeds.target(c, rep), source)?;
        return Ok((target.clone(), target));
    }
    let target = draw_target(spec.experiment, c, c.target_n, seeds.target(c, rep))?;
    match spec.test {
        TestSet::FreshDraw(n) => Ok((target, draw_target(spec.experiment, c, n, seeds.test(c, rep))?)),
        TestSet::HoldOut(share) => {
            let n_test = ((target.n() as f64) * share).round() as usize;
            let is_test = ite_core::sampling::holdout_mask(target.n(), n_test, &mut seeds.test(c, rep).rng());
            Ok(target.split_by(|i| is_test[i])?)
        }
    }
}

/// The interval columns of a task's row (all `None` without intervals).
#[derive(Debug, Default)]
struct AipwFields {
    sample: Option<f64>,
    estimate: Option<f64>,
    se: Option<f64>,
    lower: Option<f64>,
    upper: Option<f64>,
    covers: Option<u8>,
    seconds: Option<f64>,
}

/// Cross-fitted AIPW of the target's ATE with the strategy of `entry` re-run on each training fold of
/// `train` (source model and source as given), against the sample ATE of `train`. A target that
/// cannot give an estimate (an arm smaller than the folds) or an interval (an arm under two
/// units) gets empty estimate fields and `covers = 0`: a missing interval covers nothing.
///
/// # Errors
/// [`EvalError::Empty`] when `train` has no truth; [`EvalError::Inference`] when a fold's fit or
/// the propensity model fails.
fn aipw_fields(
    iv: Intervals,
    (entry, config): (&StrategyEntry, &StrategyConfig),
    (source_model, source, train): (&FittedTarNet, &CausalData, &CausalData),
    seed: Seed,
) -> Result<AipwFields, EvalError> {
    let sample = train
        .truth()
        .map(|t| t.ate())
        .ok_or_else(|| EvalError::Empty("true potential outcomes of the target sample".into()))?;
    // The folds' fits train together where the strategy allows (`transfer_many`).
    let learner = EntryLearner { entry, config: *config, source_model, source };
    let params = AipwParams { folds: iv.folds, level: iv.level, ..AipwParams::default() };
    let start = Instant::now();
    let result = params.estimate(train, &learner, None, seed.stream("aipw"));
    let seconds = Some(start.elapsed().as_secs_f64());
    let missing = AipwFields { sample: Some(sample), covers: Some(0), seconds, ..AipwFields::default() };
    match result {
        Ok(report) => {
            let ate = report.effects.ate;
            Ok(AipwFields {
                estimate: Some(ate.estimate),
                se: ate.se,
                lower: ate.lower,
                upper: ate.upper,
                covers: Some(u8::from(ate.covers(sample))),
                ..missing
            })
        }
        Err(InferenceError::Data(_)) => Ok(missing),
        Err(e) => Err(e.into()),
    }
}

/// A group of a wave with its cells and its (batched) source sample and model.
type WaveGroup<'w> = (Group, &'w [Cell], &'w (CausalData, FittedTarNet));

/// A cell's fit of one method made ahead by `ite_transfer::transfer_many`, with its time
/// (`fit_seconds`: a batched fit's share of its pack's training, `Transferred::seconds`).
struct Prefit {
    method: String,
    model: FittedTarNet,
    seconds: f64,
}

struct Ctx<'a> {
    spec: &'a GridSpec,
    registry: &'a Registry,
    seeds: GridSeeds,
    done: &'a HashSet<TaskKey>,
    file: &'a ResultsFile,
    rows: &'a Mutex<Vec<ResultRow>>,
    counter: &'a AtomicUsize,
    total: usize,
    skipped: usize,
    on_row: &'a (dyn Fn(&ResultRow, Progress) + Sync),
    /// The `study` protocol's source sample and model per source size (empty under `clean`).
    shared: HashMap<usize, (CausalData, FittedTarNet)>,
}

impl Ctx<'_> {
    fn todo(&self, c: &Cell, rep: u64) -> Vec<String> {
        self.spec
            .methods
            .iter()
            .filter(|m| !self.done.contains(&c.key(self.spec.experiment, m, rep)))
            .cloned()
            .collect()
    }

    /// The cells of `cells` with methods still to do in group `g`, each with those methods.
    fn group_todo(&self, g: Group, cells: &[Cell]) -> Vec<(Cell, Vec<String>)> {
        cells.iter().map(|c| (*c, self.todo(c, g.replication))).filter(|(_, ms)| !ms.is_empty()).collect()
    }

    /// Runs group `g`'s cells; `prefit` is its source sample and model when already fitted (a
    /// wave of batched sources), else they are drawn and fitted here.
    fn run_group(
        &self,
        g: Group,
        cells: &[Cell],
        prefit: Option<&(CausalData, FittedTarNet)>,
    ) -> Result<(), EvalError> {
        let todo = self.group_todo(g, cells);
        if todo.is_empty() {
            return Ok(());
        }
        let run = |source: &CausalData, model: &FittedTarNet| {
            todo.par_iter().try_for_each(|(c, ms)| {
                let data = cell_data_from(self.spec, &self.seeds, c, g.replication, Some(source))?;
                self.run_cell(g, (source, model), c, ms, data, &[])
            })
        };
        if let Some((source, model)) = self.shared.get(&g.source_n).or(prefit) {
            return run(source, model);
        }
        if self.spec.protocol == Protocol::Study {
            return Err(EvalError::Empty(format!("the shared source model of source size {}", g.source_n)));
        }
        let source = draw_source(self.spec.experiment, g.source_n, self.seeds.source(g))?;
        let model = self.spec.source_params().fit(&source, self.seeds.source_fit(g))?;
        run(&source, &model)
    }

    /// Runs `groups` in waves of `wave` groups: the sources of the wave's groups that have work
    /// left are drawn (in parallel) and fitted together by the batched trainer, then the wave's
    /// cells run. Each source model depends only on its group's seeds, not on the wave.
    fn run_waves(&self, groups: &[(Group, Vec<Cell>)], wave: usize) -> Result<(), EvalError> {
        for chunk in groups.chunks(wave.max(1)) {
            let busy: Vec<&(Group, Vec<Cell>)> =
                chunk.iter().filter(|(g, cells)| !self.group_todo(*g, cells).is_empty()).collect();
            let sources: Vec<CausalData> = busy
                .par_iter()
                .map(|(g, _)| draw_source(self.spec.experiment, g.source_n, self.seeds.source(*g)))
                .collect::<Result<_, EvalError>>()?;
            let tasks: Vec<BatchTask<'_>> = busy
                .iter()
                .zip(&sources)
                .map(|((g, _), data)| BatchTask { data, seed: self.seeds.source_fit(*g), prior: None })
                .collect();
            let models = self.spec.source_params().fit_many(&tasks, &BatchOptions::default())?;
            let fitted: Vec<(CausalData, FittedTarNet)> = sources.into_iter().zip(models).collect();
            if self.spec.trains_targets_batched() {
                let wave: Vec<WaveGroup<'_>> =
                    busy.iter().zip(&fitted).map(|((g, cells), pre)| (*g, cells.as_slice(), pre)).collect();
                self.run_wave_cells(&wave)?;
            } else {
                busy.iter()
                    .zip(&fitted)
                    .par_bridge()
                    .try_for_each(|((g, cells), pre)| self.run_group(*g, cells, Some(pre)))?;
            }
        }
        Ok(())
    }

    /// Under the study protocol: runs `groups` in waves of `wave` groups with their shared
    /// source models ([`Ctx::fit_shared_sources`]), each wave's cells by [`Ctx::run_wave_cells`].
    fn run_shared_waves(&self, groups: &[(Group, Vec<Cell>)], wave: usize) -> Result<(), EvalError> {
        for chunk in groups.chunks(wave.max(1)) {
            let mut busy = Vec::new();
            for (g, cells) in chunk.iter().filter(|(g, cells)| !self.group_todo(*g, cells).is_empty()) {
                let Some(pre) = self.shared.get(&g.source_n) else {
                    return Err(EvalError::Empty(format!("the shared source model of source size {}", g.source_n)));
                };
                busy.push((*g, cells.as_slice(), pre));
            }
            self.run_wave_cells(&busy)?;
        }
        Ok(())
    }

    /// Runs the cells of a wave, each cell over all the wave's groups at once: the cell's
    /// training and test samples of every group are drawn, the fixed methods whose last training
    /// phase is one network fit ([`Ctx::batched_methods`]) are fitted for all those groups
    /// together (`ite_transfer::transfer_many`: packs of eight, in parallel), then each group's
    /// cell runs with those fits. Each fit depends only on its cell's and replication's seeds.
    fn run_wave_cells(&self, wave: &[WaveGroup<'_>]) -> Result<(), EvalError> {
        // Groups of one source size have the same cells (the grid's cells of that size).
        let mut units: Vec<(Cell, Vec<usize>)> = Vec::new();
        for (w, (_, cells, _)) in wave.iter().enumerate() {
            for c in *cells {
                match units.iter_mut().find(|(u, _)| u == c) {
                    Some((_, ws)) => ws.push(w),
                    None => units.push((*c, vec![w])),
                }
            }
        }
        let batched = self.batched_methods()?;
        // Cells in parallel too, so that a worker waiting for a pack's last network, or with
        // no pack of its own, takes up another cell.
        units.par_iter().try_for_each(|(cell, ws)| {
            let cell = *cell;
            let todo: Vec<(&WaveGroup<'_>, Vec<String>)> = ws
                .iter()
                .map(|&w| (&wave[w], self.todo(&cell, wave[w].0.replication)))
                .filter(|(_, ms)| !ms.is_empty())
                .collect();
            let data: Vec<(CausalData, CausalData)> = todo
                .par_iter()
                .map(|((g, _, (source, _)), _)| {
                    cell_data_from(self.spec, &self.seeds, &cell, g.replication, Some(source))
                })
                .collect::<Result<_, EvalError>>()?;
            let mut prefits: Vec<Vec<Prefit>> = todo.iter().map(|_| Vec::new()).collect();
            for m in &batched {
                let needs: Vec<usize> =
                    (0..todo.len()).filter(|&i| self.fixed_methods(&todo[i].1).contains(&m.as_str())).collect();
                let inputs = needs
                    .iter()
                    .map(|&i| {
                        let ((g, _, (source, model)), _) = &todo[i];
                        let input = TransferInput::new(model, source, &data[i].0).map_err(EvalError::Core)?;
                        Ok((input, self.seeds.fit(&cell, g.replication)))
                    })
                    .collect::<Result<Vec<_>, EvalError>>()?;
                let config = StrategyConfig { max_epochs: self.spec.max_epochs, ..StrategyConfig::default() };
                for (i, t) in needs.into_iter().zip(transfer_many(self.registry.entry(m)?, &config, &inputs)?) {
                    prefits[i].push(Prefit { method: m.clone(), model: t.model, seconds: t.seconds });
                }
            }
            todo.par_iter().zip(data).zip(prefits).try_for_each(|((((g, _, (source, model)), ms), cell_data), pre)| {
                self.run_cell(*g, (source, model), &cell, ms, cell_data, &pre)
            })
        })
    }

    /// The grid's fixed methods whose last training phase is one network fit
    /// (`ite_transfer::StrategyEntry::net_fit`), which `ite_transfer::transfer_many` trains
    /// batched.
    fn batched_methods(&self) -> Result<Vec<String>, EvalError> {
        let mut out = Vec::new();
        for m in self.spec.fixed_methods() {
            if self.registry.entry(m)?.net_fit.is_some() {
                out.push(m.to_string());
            }
        }
        Ok(out)
    }

    /// The fixed methods a cell with `methods` to do fits: those methods, or every fixed
    /// method when one of them is a selection method (its rows repeat the chosen one's).
    fn fixed_methods<'m>(&'m self, methods: &'m [String]) -> Vec<&'m str> {
        if methods.iter().any(|m| SelectionMethod::of(m).is_some()) {
            self.spec.fixed_methods()
        } else {
            methods.iter().map(String::as_str).collect()
        }
    }

    /// Under the `study` protocol, draws and fits the source of every source size that
    /// `groups` still need, in parallel over the sizes (on the grid's pool), into `shared`: every
    /// shard that needs a size fits the same model from the same seeds.
    fn fit_shared_sources(&mut self, groups: &[(Group, Vec<Cell>)]) -> Result<(), EvalError> {
        if self.spec.protocol != Protocol::Study {
            return Ok(());
        }
        let mut sizes: Vec<usize> = groups
            .iter()
            .filter(|(g, cells)| cells.iter().any(|c| !self.todo(c, g.replication).is_empty()))
            .map(|(g, _)| g.source_n)
            .collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes.dedup();
        let (spec, seeds) = (self.spec, self.seeds);
        let fitted = sizes
            .par_iter()
            .map(|&n| {
                let source = source_data(spec, &seeds, Group { source_n: n, replication: 0 })?;
                let model = spec.source_params().fit(&source, seeds.study_source_fit(n))?;
                Ok((n, (source, model)))
            })
            .collect::<Result<Vec<_>, EvalError>>()?;
        self.shared.extend(fitted);
        Ok(())
    }

    /// Runs the methods `methods` of cell `c` in group `g` on its training and test samples
    /// `(train, test)`; a method with a fit in `prefit` (batched) uses it instead of fitting.
    fn run_cell(
        &self,
        g: Group,
        (source, model): (&CausalData, &FittedTarNet),
        c: &Cell,
        methods: &[String],
        (train, test): (CausalData, CausalData),
        prefit: &[Prefit],
    ) -> Result<(), EvalError> {
        let rep = g.replication;
        let truth =
            test.truth().ok_or_else(|| EvalError::Empty("true potential outcomes of the test sample".into()))?.clone();
        let seed = self.seeds.fit(c, rep);
        let input = TransferInput::new(model, source, &train).map_err(EvalError::Core)?;
        let selecting: Vec<(&String, SelectionMethod)> =
            methods.iter().filter_map(|m| SelectionMethod::of(m).map(|s| (m, s))).collect();
        // With a selection method to do, every fixed method is fitted (a finished one again: the
        // same seed gives the same fit), since the selection rows repeat the chosen one's row.
        let fixed = self.fixed_methods(methods);
        let entries = fixed.iter().map(|m| self.registry.entry(m)).collect::<Result<Vec<&StrategyEntry>, _>>()?;
        // CITA depends on the source model, source and target only: once per cell, recorded on
        // the rows of the methods that use the source.
        let cita = if entries.iter().any(|e| e.uses_source) {
            Some(task_affinity(input, &CitaParams::default(), seed)?)
        } else {
            None
        };
        let config = StrategyConfig { max_epochs: self.spec.max_epochs, ..StrategyConfig::default() };
        let mut fits = Vec::with_capacity(fixed.len());
        for (m, entry) in fixed.iter().zip(entries) {
            // Every training phase of the strategy capped like the source's (`GridSpec::source_params`).
            let strategy = self.registry.build(m, &config)?;
            let start = Instant::now();
            let (fitted, fit_seconds) = match prefit.iter().find(|p| p.method == *m) {
                Some(p) => (&p.model, p.seconds),
                None => (&strategy.transfer(input, seed)?, start.elapsed().as_secs_f64()),
            };
            let em = effect_metrics(&fitted.predict(test.x())?, &truth)?;
            let mut row = ResultRow {
                pehe: em.pehe,
                ate_bias: em.ate_bias,
                ate_true: em.ate_true,
                ite_mean: em.ite.mean,
                ite_median: em.ite.median,
                ite_sd: em.ite.sd,
                cita: if entry.uses_source { cita } else { None },
                fit_seconds,
                ..base_row(self.spec.experiment, c, m, rep)
            };
            // A task of this run is written as soon as it is finished, so that an interrupted
            // run keeps it.
            if methods.contains(&row.method) {
                if let Some(iv) = self.spec.intervals {
                    with_intervals(&mut row, aipw_fields(iv, (entry, &config), (model, source, &train), seed)?);
                }
                self.emit(row.clone())?;
            }
            fits.push((row, entry));
        }
        let picks = if selecting.is_empty() {
            Vec::new()
        } else {
            let selection = self.select(&fixed, (model, source, &train), seed)?;
            selecting.iter().map(|(m, how)| (m.as_str(), pick(*how, &selection, &fits))).collect()
        };
        // A chosen method whose own row an earlier run finished has no interval yet.
        if let Some(iv) = self.spec.intervals {
            for (row, entry) in &mut fits {
                if !methods.contains(&row.method) && picks.iter().any(|(_, p)| p.0 == row.method) {
                    with_intervals(row, aipw_fields(iv, (entry, &config), (model, source, &train), seed)?);
                }
            }
        }
        for (m, (chosen, seconds)) in picks {
            let Some((row, _)) = fits.iter().find(|(r, _)| r.method == chosen) else { continue };
            self.emit(ResultRow {
                method: m.to_string(),
                chosen: Some(chosen),
                selection_seconds: seconds,
                ..row.clone()
            })?;
        }
        Ok(())
    }

    /// Scores the fixed methods `fixed` on the cell's training target
    /// (`ite_transfer::select_strategy`, seed `seed.stream("selection")`), timed. `None` when the
    /// target cannot be split into the folds (an arm smaller than `selection_folds`).
    fn select(
        &self,
        fixed: &[&str],
        data: (&FittedTarNet, &CausalData, &CausalData),
        seed: Seed,
    ) -> Result<Option<(SelectionReport, f64)>, EvalError> {
        let params = SelectionParams { folds: self.spec.selection_folds, ..SelectionParams::default() };
        let config = StrategyConfig { max_epochs: self.spec.max_epochs, ..StrategyConfig::default() };
        let start = Instant::now();
        match select_strategy(self.registry, fixed, &config, &params, data, None, seed.stream("selection")) {
            Ok(report) => Ok(Some((report, start.elapsed().as_secs_f64()))),
            Err(TransferError::Inference(InferenceError::Data(_))) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Appends a finished row, reports it and keeps it.
    fn emit(&self, row: ResultRow) -> Result<(), EvalError> {
        self.file.append(&row)?;
        let done = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        (self.on_row)(&row, Progress { done, total: self.total, skipped: self.skipped });
        self.rows.lock().map_err(|_| EvalError::Empty("rows (a worker panicked)".into()))?.push(row);
        Ok(())
    }
}

/// The fixed method a selection method stands for in a cell and replication, and the seconds of
/// the selection (for `auto-*`). `auto-*` takes the best candidate under its score, or the first
/// fixed method when the selection could not run; `oracle` the lowest true ε_PEHE (ties: the
/// earlier method).
fn pick(
    how: SelectionMethod,
    selection: &Option<(SelectionReport, f64)>,
    fits: &[(ResultRow, &StrategyEntry)],
) -> (String, Option<f64>) {
    match (how, selection) {
        (SelectionMethod::Auto(score), Some((report, seconds))) => {
            (report.candidates[report.best_by(score)].name.clone(), Some(*seconds))
        }
        (SelectionMethod::Auto(_), None) => (fits.first().map(|f| f.0.method.clone()).unwrap_or_default(), None),
        (SelectionMethod::Oracle, _) => {
            let mut best: Option<&ResultRow> = None;
            for (r, _) in fits {
                if best.is_none_or(|b| r.pehe < b.pehe) {
                    best = Some(r);
                }
            }
            (best.map(|b| b.method.clone()).unwrap_or_default(), None)
        }
    }
}

/// A row of `method` on cell `c` in `rep` with the measurements still zero.
fn base_row(experiment: Experiment, c: &Cell, method: &str, rep: u64) -> ResultRow {
    ResultRow {
        experiment: experiment.as_str().into(),
        source_n: c.source_n,
        target_n: c.target_n,
        assignment: c.assignment.as_str().into(),
        shift: c.shift.as_str().into(),
        level: c.level,
        method: method.into(),
        replication: rep,
        ..ResultRow::without_intervals()
    }
}

/// Fills the interval columns of `row`.
fn with_intervals(row: &mut ResultRow, ci: AipwFields) {
    row.ate_sample = ci.sample;
    row.ate_aipw = ci.estimate;
    row.ate_se = ci.se;
    row.ate_lower = ci.lower;
    row.ate_upper = ci.upper;
    row.ate_covers = ci.covers;
    row.aipw_seconds = ci.seconds;
}

/// Prepares `out` for a run and says how many tasks it holds and how many are finished, without
/// running anything (creates `out`, `run.json` and `results.csv` when missing). Refused, like a
/// run, while another process holds `out` ([`EvalError::GridBusy`]).
pub fn plan_grid(spec: &GridSpec, opts: &RunOptions, out: &Path) -> Result<Plan, EvalError> {
    plan_grid_with(spec, opts, &Registry::builtin(), out)
}

/// [`plan_grid`] for a grid whose methods are strategies of `registry`.
pub fn plan_grid_with(spec: &GridSpec, opts: &RunOptions, registry: &Registry, out: &Path) -> Result<Plan, EvalError> {
    Ok(GridRun::open(spec, opts, registry, out)?.plan())
}

/// A grid run prepared in its directory and holding the directory's lock ([`GridLock`]) from
/// [`GridRun::open`] until it is dropped: look at its [`plan`](GridRun::plan), then
/// [`run`](GridRun::run) it, with no other process able to write into the directory between.
#[derive(Debug)]
pub struct GridRun<'a> {
    spec: &'a GridSpec,
    opts: RunOptions,
    registry: std::borrow::Cow<'a, Registry>,
    out: PathBuf,
    file: ResultsFile,
    existing: Vec<ResultRow>,
    keys: Vec<TaskKey>,
    _lock: GridLock,
}

impl<'a> GridRun<'a> {
    /// Locks `out` (creating it), checks or writes its `run.json` and repairs its `results.csv`.
    ///
    /// # Errors
    /// [`EvalError::GridBusy`] at once, naming the holder, when another process holds `out`;
    /// as [`run_grid_with`] otherwise.
    pub fn open(
        spec: &'a GridSpec,
        opts: &RunOptions,
        registry: &'a Registry,
        out: &Path,
    ) -> Result<GridRun<'a>, EvalError> {
        // Under the study protocol `staged-alignment` runs the study code's settings.
        let registry = spec.protocol.registry(registry);
        let (lock, file, existing, keys) = prepare(spec, opts, &registry, out)?;
        Ok(GridRun { spec, opts: *opts, registry, out: out.to_path_buf(), file, existing, keys, _lock: lock })
    }

    /// How many tasks the run holds and how many an earlier run finished.
    pub fn plan(&self) -> Plan {
        Plan { tasks: self.keys.len(), finished: self.existing.len() }
    }

    /// Runs the tasks not yet finished, as [`run_grid_with`]; the lock is released at the end.
    pub fn run(self, on_row: &(dyn Fn(&ResultRow, Progress) + Sync)) -> Result<RunReport, EvalError> {
        let GridRun { spec, opts, registry, out, file, existing, keys, _lock } = self;
        execute(spec, &opts, &registry, &out, (file, existing, keys), on_row)
    }
}

type Prepared = (ResultsFile, Vec<ResultRow>, Vec<TaskKey>);

fn prepare(
    spec: &GridSpec,
    opts: &RunOptions,
    registry: &Registry,
    out: &Path,
) -> Result<(GridLock, ResultsFile, Vec<ResultRow>, Vec<TaskKey>), EvalError> {
    spec.validate_with(registry)?;
    if opts.jobs == 0 {
        return Err(ite_core::SettingsError::new("jobs", 0, "at least 1").into());
    }
    let manifest = RunManifest {
        seed: opts.seed.value(),
        quick: opts.quick,
        // The flag as it acts, so that a run whose source network the batched trainer does not
        // take (the study protocol's, runs from before the flag) reads the same either way.
        grid: GridSpec {
            batched_sources: spec.trains_sources_batched(),
            batched_targets: spec.trains_targets_batched(),
            ..spec.clone()
        },
        shard: opts.shard,
        version: env!("CARGO_PKG_VERSION").into(),
        warning: spec.protocol.warning().map(String::from),
    };
    let dir_err = |e: std::io::Error| EvalError::GridFile { path: out.display().to_string(), message: e.to_string() };
    if out.is_file() {
        return Err(EvalError::GridFile {
            path: out.display().to_string(),
            message: "is a file; expected an output directory".into(),
        });
    }
    std::fs::create_dir_all(out).map_err(dir_err)?;
    // Held from here to the end of the run: a second run on `out` is refused at once.
    let lock = GridLock::exclusive(out, "a grid run")?;
    match RunManifest::read(out)? {
        Some(old) => {
            let diff = old.differences(&manifest, false);
            if !diff.is_empty() {
                return Err(EvalError::GridMismatch {
                    path: out.join("run.json").display().to_string(),
                    message: format!(
                        "this directory holds a run with other parameters (the run's value vs this one's: {}); \
                         rerun with the same parameters to resume it, or choose another --out",
                        diff.join("; ")
                    ),
                });
            }
        }
        None => {
            if out.join(RESULTS_FILE).exists() {
                return Err(EvalError::GridMismatch {
                    path: out.display().to_string(),
                    message: "holds results.csv but no run.json; choose another --out".into(),
                });
            }
            manifest.write(out)?;
        }
    }
    let keys = shard_task_keys(spec, opts.shard)?;
    let (file, existing) = ResultsFile::open(&out.join(RESULTS_FILE))?;
    let key_set: HashSet<&TaskKey> = keys.iter().collect();
    if let Some(r) = existing.iter().find(|r| !key_set.contains(&r.key())) {
        return Err(EvalError::GridMismatch {
            path: out.join(RESULTS_FILE).display().to_string(),
            message: format!(
                "holds a row outside this run's tasks ({} target_n={} {} rep {}); choose another --out",
                r.method, r.target_n, r.assignment, r.replication
            ),
        });
    }
    Ok((lock, file, existing, keys))
}

/// Runs (or resumes) the tasks of `opts.shard` of `spec` into `out`, its methods chosen among
/// the built-in strategies ([`run_grid_with`] takes a registry with strategies of your own).
///
/// `out` receives `run.json` at once, `results.csv` one row per finished task (appended and
/// flushed as each finishes), and at the end `results.csv` sorted by task key and `summary.csv`
/// (and, when the grid has selection methods, `selection.csv` and `cita.csv`).
/// Restarted on the same `out` with the same parameters, it skips the finished tasks; with other
/// parameters it refuses ([`EvalError::GridMismatch`]). `on_row` is called after each row is
/// written (from worker threads).
///
/// Source samples and models are made once per (source n, replication) and shared by every
/// cell and method of that group (under the `study` protocol once per source n, before the
/// groups run, and shared by every replication: each shard that needs a size fits the same
/// model from the same seeds); within a cell, CITA is computed once and recorded on every row
/// of a method that uses the source. Each task's numbers depend only on the seed and the task.
///
/// A cell with a selection method still to do ([`GridSpec`]'s `auto-*`, `oracle`) fits every
/// fixed method (a finished one again, to the same values: the same seed gives the same fit),
/// runs one selection among them on its training target for the three `auto-*` rows
/// (`ite_transfer::select_strategy`, [`GridSpec::selection_folds`] folds), and writes each
/// selection row as a copy of the chosen method's row with `chosen` and, for `auto-*`,
/// `selection_seconds` filled. A target too small for the folds (an arm under
/// `selection_folds` units) gets the first fixed method, with `selection_seconds` empty.
pub fn run_grid(
    spec: &GridSpec,
    opts: &RunOptions,
    out: &Path,
    on_row: &(dyn Fn(&ResultRow, Progress) + Sync),
) -> Result<RunReport, EvalError> {
    run_grid_with(spec, opts, &Registry::builtin(), out, on_row)
}

/// [`run_grid`] for a grid whose methods are strategies of `registry`: the built-in ones and any
/// a user registered ([`Registry::register`]). Each is built with its entry's defaults and the
/// grid's epoch cap ([`StrategyConfig::max_epochs`]); the rows carry the registered name.
///
/// # Errors
/// As [`run_grid`]; a method `registry` does not hold is refused before anything runs
/// ([`EvalError::Settings`] on `methods`, listing the registered names).
pub fn run_grid_with(
    spec: &GridSpec,
    opts: &RunOptions,
    registry: &Registry,
    out: &Path,
    on_row: &(dyn Fn(&ResultRow, Progress) + Sync),
) -> Result<RunReport, EvalError> {
    GridRun::open(spec, opts, registry, out)?.run(on_row)
}

fn execute(
    spec: &GridSpec,
    opts: &RunOptions,
    registry: &Registry,
    out: &Path,
    (file, existing, keys): Prepared,
    on_row: &(dyn Fn(&ResultRow, Progress) + Sync),
) -> Result<RunReport, EvalError> {
    let done: HashSet<TaskKey> = existing.iter().map(ResultRow::key).collect();
    let total = keys.len() - done.len();
    let rows = Mutex::new(Vec::new());
    let counter = AtomicUsize::new(0);
    let mut ctx = Ctx {
        spec,
        registry,
        seeds: GridSeeds::new(opts.seed, spec.experiment),
        done: &done,
        file: &file,
        rows: &rows,
        counter: &counter,
        total,
        skipped: done.len(),
        on_row,
        shared: HashMap::new(),
    };
    let mut groups = shard_groups(spec, opts.shard)?;
    // Largest sources first, so that the run does not end waiting on one long source fit
    // (results do not depend on the order: every group has its own seeds).
    groups.sort_by_key(|(g, _)| std::cmp::Reverse(g.source_n));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs)
        .thread_name(|i| format!("ite-grid-{i}"))
        .build()
        .map_err(|e| {
            ite_core::SettingsError::new("jobs", opts.jobs, format!("a thread count the system allows ({e})"))
        })?;
    // `par_bridge` hands the groups out in this order as workers become free (a plain
    // `par_iter` splits the list in halves, so one worker started on the smallest groups and the
    // run ended on a large source fit with the other worker idle).
    pool.install(|| ctx.fit_shared_sources(&groups))?;
    if spec.trains_sources_batched() {
        // A pack of sources per worker per wave: the packs train in parallel, then the cells.
        pool.install(|| ctx.run_waves(&groups, ite_nets::batched::PACK * opts.jobs))?;
    } else if spec.trains_targets_batched() {
        // The study protocol: shared source models, the target fits of a wave batched.
        pool.install(|| ctx.run_shared_waves(&groups, ite_nets::batched::PACK * opts.jobs))?;
    } else {
        pool.install(|| groups.iter().par_bridge().try_for_each(|(g, cells)| ctx.run_group(*g, cells, None)))?;
    }
    drop(file);
    let mut all = existing;
    all.extend(rows.into_inner().map_err(|_| EvalError::Empty("rows (a worker panicked)".into()))?);
    write_sorted_results(&out.join(RESULTS_FILE), &all)?;
    let summary = write_summary(&out.join(SUMMARY_FILE), &all)?;
    if spec.has_selection() {
        write_selection_outputs(out, &all, &spec.methods)?;
    }
    let ran = counter.load(Ordering::SeqCst);
    crate::grid::store::sort_rows(&mut all);
    Ok(RunReport { rows: all, ran, skipped: done.len(), summary })
}

//! The selection methods of a grid (`auto-r-loss`, `auto-dr`, `auto-pehe-nn`, `oracle`) on a tiny
//! Simulation 2 grid (few units, two epochs): an auto row repeats, bit for bit, the row of the
//! fixed method it chose in the same cell and replication; the oracle row is the fixed method of
//! the lowest ε_PEHE; the rows do not depend on the number of worker threads and a run resumed
//! after losing its selection rows writes them again identically (intervals included); a target
//! too small for the folds falls back to the first fixed method; a user-registered strategy
//! is a candidate and can be chosen; selection.csv and cita.csv are written; bad grids are
//! refused.

use std::collections::BTreeMap;

use ite_core::{Params, Seed, TransferInput, TransferStrategy};
use ite_eval::grid::{
    CITA_FILE, GridSpec, ORACLE, RESULTS_FILE, RunOptions, SELECTION_FILE, SELECTION_METHODS, Shard, TestSet, run_grid,
    run_grid_with,
};
use ite_eval::{ResultRow, TaskKey, read_results};
use ite_nets::FittedTarNet;
use ite_transfer::{BoxedStrategy, Registry, StrategyConfig, StrategyEntry, TargetOnly, TransferError};

fn with_auto(fixed: &[&str]) -> Vec<String> {
    fixed.iter().chain(SELECTION_METHODS.iter()).map(|s| s.to_string()).collect()
}

fn tiny(fixed: &[&str]) -> GridSpec {
    GridSpec {
        source_ns: vec![200],
        target_ns: vec![40],
        assignments: vec!["randomized".into(), "biased".into()],
        shifts: vec!["effect".into()],
        levels: vec![0.0, 1.0],
        methods: with_auto(fixed),
        replications: 2,
        test: TestSet::FreshDraw(100),
        max_epochs: Some(2),
        selection_folds: 3,
        ..GridSpec::sim2()
    }
}

fn opts(jobs: usize) -> RunOptions {
    RunOptions { seed: Seed::new(5), quick: false, jobs, shard: Shard::WHOLE }
}

fn quiet(_: &ResultRow, _: ite_eval::grid::Progress) {}

fn values(rows: &[ResultRow]) -> Vec<ResultRow> {
    let mut v: Vec<ResultRow> = rows.iter().map(ResultRow::without_timings).collect();
    v.sort_by_key(ResultRow::key);
    v
}

/// The rows of each cell-replication, by method.
fn by_cell(rows: &[ResultRow]) -> BTreeMap<TaskKey, BTreeMap<String, ResultRow>> {
    let mut m: BTreeMap<TaskKey, BTreeMap<String, ResultRow>> = BTreeMap::new();
    for r in rows {
        m.entry(TaskKey { method: String::new(), ..r.key() }).or_default().insert(r.method.clone(), r.clone());
    }
    m
}

/// Every selection row repeats, bit for bit, the row of the fixed method it names; the oracle
/// names the first fixed method of the lowest ε_PEHE; fixed rows name nothing.
fn check_selection_rows(all: &[ResultRow], fixed: &[&str]) {
    for (cell, rows) in by_cell(all) {
        assert_eq!(rows.len(), fixed.len() + 4, "{cell:?}");
        for m in SELECTION_METHODS {
            let r = &rows[m];
            let chosen = r.chosen.clone().unwrap();
            assert!(fixed.contains(&chosen.as_str()), "{r:?}");
            let want = ResultRow {
                method: m.into(),
                chosen: Some(chosen.clone()),
                selection_seconds: r.selection_seconds,
                ..rows[&chosen].clone()
            };
            assert_eq!(r, &want, "{m} is not the row of {chosen}");
            if m == ORACLE {
                assert_eq!(r.selection_seconds, None, "{r:?}");
            }
        }
        let min = fixed.iter().map(|f| rows[*f].pehe).fold(f64::INFINITY, f64::min);
        assert_eq!(rows[ORACLE].pehe, min);
        let first_min = fixed.iter().find(|f| rows[**f].pehe == min).unwrap();
        assert_eq!(rows[ORACLE].chosen.as_deref(), Some(*first_min));
        assert!(fixed.iter().all(|f| rows[*f].chosen.is_none() && rows[*f].selection_seconds.is_none()));
    }
}

#[test]
fn auto_rows_repeat_the_chosen_fit_and_do_not_depend_on_jobs_or_resuming() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = ["target-only", "fine-tune", "source-only"];
    let spec = tiny(&fixed);
    let one = run_grid(&spec, &opts(1), &dir.path().join("one"), &quiet).unwrap();
    let two = run_grid(&spec, &opts(2), &dir.path().join("two"), &quiet).unwrap();
    assert_eq!(one.rows.len(), spec.task_keys().unwrap().len());
    assert_eq!(values(&one.rows), values(&two.rows), "--jobs changed the rows");
    check_selection_rows(&one.rows, &fixed);
    let autos = one.rows.iter().filter(|r| r.method.starts_with("auto-"));
    assert!(autos.clone().all(|r| r.selection_seconds.is_some_and(|s| s >= 0.0)));
    // Not every selection picks the same strategy: the rows are choices, not a constant.
    let picked: std::collections::HashSet<&str> = autos.filter_map(|r| r.chosen.as_deref()).collect();
    assert!(picked.len() > 1, "{picked:?}");
    for f in [SELECTION_FILE, CITA_FILE] {
        let text = std::fs::read_to_string(dir.path().join("one").join(f)).unwrap();
        assert!(text.lines().count() > 1 && !text.to_lowercase().contains("nan"), "{f}: {text}");
        assert_eq!(text, std::fs::read_to_string(dir.path().join("two").join(f)).unwrap(), "{f}");
    }

    // Resumed after losing every selection row and one fixed row: the same rows again.
    let c = dir.path().join("c");
    std::fs::create_dir(&c).unwrap();
    std::fs::copy(dir.path().join("one/run.json"), c.join("run.json")).unwrap();
    let kept: Vec<ResultRow> = one
        .rows
        .iter()
        .filter(|r| {
            let lost =
                SELECTION_METHODS.contains(&r.method.as_str()) || (r.method == "fine-tune" && r.replication == 1);
            !lost
        })
        .cloned()
        .collect();
    ite_eval::grid::write_sorted_results(&c.join(RESULTS_FILE), &kept).unwrap();
    let resumed = run_grid(&spec, &opts(2), &c, &quiet).unwrap();
    assert_eq!(resumed.skipped, kept.len());
    assert_eq!(resumed.ran, one.rows.len() - kept.len());
    assert_eq!(values(&resumed.rows), values(&one.rows));
    assert_eq!(values(&read_results(&c.join(RESULTS_FILE)).unwrap()), values(&one.rows));
}

/// With intervals, a selection row repeats the chosen row's interval too, also when the chosen
/// row was finished by an earlier run (its interval is computed again, to the same values).
#[test]
fn selection_rows_carry_the_chosen_interval_after_a_resume() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = ["target-only", "fine-tune"];
    let spec = GridSpec {
        replications: 1,
        intervals: Some(ite_eval::grid::Intervals { folds: 2, level: 0.9 }),
        ..tiny(&fixed)
    };
    let full = run_grid(&spec, &opts(2), &dir.path().join("full"), &quiet).unwrap();
    check_selection_rows(&full.rows, &fixed);
    assert!(full.rows.iter().all(|r| r.ate_aipw.is_some() && r.ate_covers.is_some()), "{:?}", full.rows);
    let c = dir.path().join("c");
    std::fs::create_dir(&c).unwrap();
    std::fs::copy(dir.path().join("full/run.json"), c.join("run.json")).unwrap();
    let kept: Vec<ResultRow> =
        full.rows.iter().filter(|r| !SELECTION_METHODS.contains(&r.method.as_str())).cloned().collect();
    ite_eval::grid::write_sorted_results(&c.join(RESULTS_FILE), &kept).unwrap();
    let resumed = run_grid(&spec, &opts(1), &c, &quiet).unwrap();
    assert_eq!(resumed.ran, full.rows.len() - kept.len());
    assert_eq!(values(&resumed.rows), values(&full.rows));
}

/// A target too small for the selection's folds: the auto rows take the first fixed method and
/// have no selection time; the oracle is unaffected.
#[test]
fn a_selection_that_cannot_run_falls_back_to_the_first_fixed_method() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = ["fine-tune", "target-only"];
    let spec = GridSpec { target_ns: vec![12], selection_folds: 20, replications: 1, ..tiny(&fixed) };
    let report = run_grid(&spec, &opts(2), &dir.path().join("x"), &quiet).unwrap();
    check_selection_rows(&report.rows, &fixed);
    for r in report.rows.iter().filter(|r| r.method.starts_with("auto-")) {
        assert_eq!((r.chosen.as_deref(), r.selection_seconds), (Some("fine-tune"), None), "{r:?}");
    }
}

/// Target-only under another name: the same fit as `target-only` for the same seed.
struct MyTargetOnly {
    inner: BoxedStrategy,
}

impl MyTargetOnly {
    const NAME: &str = "my-target-only";
    // With target-only's plan too, so that a grid batches its fits as it batches target-only's
    // and the two stay equal bit for bit.
    const ENTRY: StrategyEntry = StrategyEntry::new(Self::NAME, "target-only under another name", Self::build)
        .without_source()
        .with_net_fit(|c, input, seed| Ok(TargetOnly::configured(c).net_fit(input, seed)));

    fn build(config: &StrategyConfig) -> BoxedStrategy {
        let inner = Registry::builtin().build("target-only", config).expect("target-only is built in");
        Box::new(MyTargetOnly { inner })
    }
}

impl TransferStrategy<FittedTarNet> for MyTargetOnly {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        Self::NAME
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet, TransferError> {
        self.inner.transfer(input, seed)
    }
}

/// A user-registered strategy is a candidate: it ties target-only exactly (the same fit on every
/// fold), and a tie goes to the earlier method, so it is chosen in every row where it comes
/// first, and target-only in every row where target-only comes first. Neither can happen by
/// chance.
#[test]
fn a_registered_strategy_takes_part_in_auto() {
    let mut registry = Registry::builtin();
    registry.register(MyTargetOnly::ENTRY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (k, fixed) in [[MyTargetOnly::NAME, "target-only"], ["target-only", MyTargetOnly::NAME]].iter().enumerate() {
        let spec = GridSpec { replications: 1, levels: vec![1.0], ..tiny(fixed) };
        let report = run_grid_with(&spec, &opts(2), &registry, &dir.path().join(k.to_string()), &quiet).unwrap();
        let auto: Vec<&ResultRow> = report.rows.iter().filter(|r| r.chosen.is_some()).collect();
        assert_eq!(auto.len(), 2 * 4);
        assert!(auto.iter().all(|r| r.chosen.as_deref() == Some(fixed[0])), "{auto:?}");
    }
}

#[test]
fn bad_selection_grids_are_refused() {
    let one_fixed = GridSpec { methods: with_auto(&["target-only"]), ..tiny(&[]) };
    let e = one_fixed.validate().unwrap_err().to_string();
    assert!(e.contains("methods") && e.contains("at least two"), "{e}");
    for k in [1, 21] {
        let e = GridSpec { selection_folds: k, ..tiny(&["target-only", "fine-tune"]) }.validate().unwrap_err();
        assert!(e.to_string().contains("selection_folds"), "{e}");
    }
    // A registered strategy may not take a selection method's name.
    let mut registry = Registry::builtin();
    registry.register(StrategyEntry::new(ORACLE, "named like the oracle", MyTargetOnly::build)).unwrap();
    let e = tiny(&["target-only", "fine-tune"]).validate_with(&registry).unwrap_err().to_string();
    assert!(e.contains("oracle"), "{e}");
    // Unknown fixed methods are still refused, naming the selection methods as valid too.
    let e = tiny(&["target-only", "nope"]).validate().unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("auto-r-loss"), "{e}");
    // Runs written before `selection_folds` existed read it as 5.
    let mut json = serde_json::to_value(GridSpec::sim2()).unwrap();
    json.as_object_mut().unwrap().remove("selection_folds");
    assert_eq!(serde_json::from_value::<GridSpec>(json).unwrap().selection_folds, 5);
}

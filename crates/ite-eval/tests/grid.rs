//! Experiment grids end to end on tiny grids (few units, two epochs): shards merged equal one
//! run row for row, results do not depend on the number of worker threads, an interrupted run
//! resumes to each task exactly once, a directory of other parameters is refused; and the
//! bootstrap ATE interval covers the true ATE about 95% of the time.

mod common;

use common::{opts, quiet, tiny_sim1, tiny_sim2};

use ite_core::Params;
use ite_core::{Dgp, Seed};
use ite_eval::grid::{
    Experiment, GridSeeds, GridSpec, Intervals, RunOptions, Shard, cell_data, merge_runs, run_grid, same_measurements,
    shard_task_keys,
};
use ite_eval::{BootstrapParams, EvalError, ResultRow, ate_interval, read_results};
use std::collections::HashSet;

/// Rows without their wall-clock field, sorted: what must agree between runs.
fn values(rows: &[ResultRow]) -> Vec<ResultRow> {
    let mut v: Vec<ResultRow> = rows.iter().map(ResultRow::without_timings).collect();
    v.sort_by_key(ResultRow::key);
    v
}

fn assert_each_task_once(rows: &[ResultRow], spec: &GridSpec) {
    let keys: Vec<_> = rows.iter().map(ResultRow::key).collect();
    let unique: HashSet<_> = keys.iter().cloned().collect();
    assert_eq!(unique.len(), keys.len(), "a task appears twice");
    let want: HashSet<_> = spec.task_keys().unwrap().into_iter().collect();
    assert_eq!(unique, want);
}

#[test]
fn shards_merged_equal_one_run_and_jobs_do_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = tiny_sim1();
    let one = run_grid(&spec, &opts(1, Shard::WHOLE), &d.join("one"), &quiet).unwrap();
    assert_each_task_once(&one.rows, &spec);
    assert_eq!(one.rows.len(), 16);
    // Two workers: the same numbers.
    let two = run_grid(&spec, &opts(2, Shard::WHOLE), &d.join("two"), &quiet).unwrap();
    assert_eq!(values(&one.rows), values(&two.rows));
    // Metrics are finite, CITA only for the method that uses the source.
    for r in &one.rows {
        assert!(r.pehe.is_finite() && r.pehe >= 0.0 && r.ite_sd.is_finite());
        assert_eq!(r.cita.is_some(), r.method != "target-only", "{r:?}");
    }
    // Three shards: disjoint, together the grid; merged = the single run, row for row.
    let mut dirs = Vec::new();
    let mut seen = HashSet::new();
    for k in 0..3 {
        let shard = Shard::new(k, 3).unwrap();
        let out = d.join(format!("shard{k}"));
        let rep = run_grid(&spec, &opts(2, shard), &out, &quiet).unwrap();
        assert_eq!(rep.rows.len(), shard_task_keys(&spec, shard).unwrap().len());
        for r in &rep.rows {
            assert!(seen.insert(r.key()), "task in two shards");
        }
        dirs.push(out);
    }
    let merged = merge_runs(&dirs, &d.join("merged")).unwrap();
    assert_eq!(merged.missing, 0);
    assert_eq!(values(&merged.rows), values(&one.rows));
    // The merged file on disk, in order, equals the single run's file.
    let (a, b) =
        (read_results(&d.join("merged/results.csv")).unwrap(), read_results(&d.join("one/results.csv")).unwrap());
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).all(|(x, y)| same_measurements(x, y)));
    assert_eq!(
        std::fs::read_to_string(d.join("merged/summary.csv")).unwrap().lines().count(),
        std::fs::read_to_string(d.join("one/summary.csv")).unwrap().lines().count()
    );
    // A shard of another seed does not merge.
    let other = RunOptions { seed: Seed::new(8), ..opts(2, Shard::new(0, 3).unwrap()) };
    run_grid(&spec, &other, &d.join("other"), &quiet).unwrap();
    let err = merge_runs(&[dirs[1].clone(), d.join("other")], &d.join("bad")).unwrap_err();
    assert!(matches!(err, EvalError::GridMismatch { .. }) && err.to_string().contains("seed"), "{err}");
    assert!(!d.join("bad").exists());
}

#[test]
fn interrupted_run_resumes_to_each_task_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = tiny_sim2();
    let full = run_grid(&spec, &opts(2, Shard::WHOLE), &d.join("full"), &quiet).unwrap();
    assert_each_task_once(&full.rows, &spec);
    // Source-only and staged alignment carry CITA; sim2 rows carry shift and level.
    assert!(full.rows.iter().all(|r| r.shift == "covariate" && (r.cita.is_some() == (r.method != "target-only"))));
    // Simulate a kill: the first rows of a run and a torn half-written line.
    let text = std::fs::read_to_string(d.join("full/results.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let out = d.join("resumed");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(d.join("full/run.json"), out.join("run.json")).unwrap();
    let kept = 3;
    let mut partial = lines[..=kept].join("\n");
    partial.push('\n');
    partial.push_str(&lines[kept + 1][..10]);
    std::fs::write(out.join("results.csv"), partial).unwrap();
    let rep = run_grid(&spec, &opts(1, Shard::WHOLE), &out, &quiet).unwrap();
    assert_eq!((rep.skipped, rep.ran), (kept, full.rows.len() - kept));
    assert_each_task_once(&rep.rows, &spec);
    assert_eq!(values(&rep.rows), values(&full.rows));
    let on_disk = read_results(&out.join("results.csv")).unwrap();
    assert_each_task_once(&on_disk, &spec);
    // Nothing left: a third start runs nothing.
    let again = run_grid(&spec, &opts(2, Shard::WHOLE), &out, &quiet).unwrap();
    assert_eq!((again.ran, again.skipped), (0, full.rows.len()));
    // Other parameters into the same directory: refused, naming what differs.
    let more = GridSpec { replications: 2, ..spec.clone() };
    let err = run_grid(&more, &opts(2, Shard::WHOLE), &out, &quiet).unwrap_err().to_string();
    assert!(err.contains("run.json") && err.contains("replications"), "{err}");
    let err = run_grid(&spec, &opts(2, Shard::new(1, 2).unwrap()), &out, &quiet).unwrap_err().to_string();
    assert!(err.contains("shard"), "{err}");
}

/// Simulation 2 with a hold-out test set and intervals: the interval is computed on the training
/// part of the target, against that part's sample ATE; merged shards keep the intervals.
#[test]
fn intervals_on_a_held_out_sim2_grid_use_the_training_part_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = GridSpec { intervals: Some(Intervals { folds: 3, level: 0.9 }), ..tiny_sim2() };
    let one = run_grid(&spec, &opts(2, Shard::WHOLE), &d.join("one"), &quiet).unwrap();
    assert_each_task_once(&one.rows, &spec);
    let seeds = GridSeeds::new(Seed::new(7), Experiment::Sim2);
    for r in &one.rows {
        let cells = spec.cells().unwrap();
        let cell = cells.iter().find(|c| c.key(Experiment::Sim2, &r.method, r.replication) == r.key()).unwrap();
        let (train, _) = cell_data(&spec, &seeds, cell, r.replication).unwrap();
        assert_eq!(train.n(), 28);
        assert_eq!(r.ate_sample, Some(train.truth().unwrap().ate()), "{r:?}");
        let (lo, hi) = (r.ate_lower.unwrap(), r.ate_upper.unwrap());
        assert_eq!(r.ate_covers, Some(u8::from(lo <= r.ate_sample.unwrap() && r.ate_sample.unwrap() <= hi)));
    }
    let shards: Vec<_> = (0..2).map(|k| d.join(format!("s{k}"))).collect();
    for (k, out) in shards.iter().enumerate() {
        run_grid(&spec, &opts(1, Shard::new(k, 2).unwrap()), out, &quiet).unwrap();
    }
    let merged = merge_runs(&shards, &d.join("merged")).unwrap();
    assert_eq!(values(&merged.rows), values(&one.rows));
    assert_eq!(std::fs::read(d.join("merged/summary.csv")).unwrap(), std::fs::read(d.join("one/summary.csv")).unwrap());
    assert!(merged.rows.iter().all(|r| r.ate_aipw.is_some()));
    // Intervals settings are checked.
    let bad = GridSpec { intervals: Some(Intervals { folds: 1, level: 0.95 }), ..tiny_sim2() };
    assert!(bad.validate().unwrap_err().to_string().contains("intervals.folds"));
}

#[test]
fn grid_definitions_validate_and_match_the_study() {
    let s1 = GridSpec::sim1();
    assert_eq!(s1.task_keys().unwrap().len(), 5 * 5 * 2 * 2 * 100);
    let s2 = GridSpec::sim2();
    assert_eq!(s2.task_keys().unwrap().len(), 2 * 3 * 2 * 3 * 5 * 3 * 100);
    assert_eq!(GridSpec::for_experiment(Experiment::Sim1, true), GridSpec::sim1_quick());
    let bad = GridSpec { methods: vec!["magic".into()], ..GridSpec::sim1() };
    assert!(ite_core::Params::validate(&bad).unwrap_err().to_string().contains("`methods`"));
    let bad = GridSpec { shifts: vec!["effect".into()], ..GridSpec::sim1() };
    assert!(ite_core::Params::validate(&bad).unwrap_err().to_string().contains("`shifts`"));
    let bad = GridSpec { target_ns: vec![50, 50], ..GridSpec::sim1() };
    assert!(ite_core::Params::validate(&bad).unwrap_err().to_string().contains("repeated"));
}

#[test]
fn bootstrap_interval_covers_the_true_ate_about_95_percent() {
    // τ̂ of 200 units, half treated, drawn around a true ATE of 1 (sd 1 in both arms); the
    // interval for mean(τ̂) should cover 1 in about 95% of 200 repetitions.
    let params = BootstrapParams { resamples: 1000, level: 0.95 };
    let dgp = ite_dgp::Sim1Target::new(ite_dgp::Assignment::Randomized);
    let mut covered = 0;
    let reps = 200;
    for r in 0..reps {
        let seed = Seed::new(11).index(r);
        let data = dgp.sample_seeded(200, seed.stream("data")).unwrap();
        // A noisy "estimate": the true τ(x) plus unit-variance noise.
        let truth = data.truth().unwrap().ite();
        let mut rng = seed.stream("noise").rng();
        let ite_hat: Vec<f64> = truth
            .iter()
            .map(|t| t + f64::from(rand_distr::Distribution::<f32>::sample(&rand_distr::StandardNormal, &mut rng)))
            .collect();
        let ci = ate_interval(&ite_hat, data.t(), &params, seed.stream("bootstrap")).unwrap();
        // The population ATE of Simulation 1 is exactly 1 (τ(x) = 1 + 0.05·Σx, E x = 0).
        if ci.lower <= 1.0 && 1.0 <= ci.upper {
            covered += 1;
        }
    }
    let coverage = covered as f64 / reps as f64;
    assert!((0.90..=0.99).contains(&coverage), "coverage {coverage}");
}

/// Runs `batched` and `single` (grids that differ in the trainer flag `field` only) in `d` and
/// checks: rows of method `exact` are equal bit for bit, the others agree within 10⁻³ relative
/// and not all bit for bit; `single` is refused on `batched`'s directory with a message naming
/// `field`; `single`'s `run.json` without `field` (a run from before the flag) resumes as one at
/// a time. Returns the batched run's rows.
fn compare_trainers(
    batched: &GridSpec,
    single: &GridSpec,
    field: &str,
    exact: &str,
    d: &std::path::Path,
) -> Vec<ResultRow> {
    let b_rows = run_grid(batched, &opts(2, Shard::WHOLE), &d.join("b"), &quiet).unwrap().rows;
    let s_rows = run_grid(single, &opts(2, Shard::WHOLE), &d.join("s"), &quiet).unwrap().rows;
    let (vb, vs) = (values(&b_rows), values(&s_rows));
    assert_eq!(vb.len(), vs.len());
    let mut moved = 0;
    for (b, s) in vb.iter().zip(&vs) {
        assert_eq!(b.key(), s.key());
        if b.method == exact {
            assert_eq!(b, s, "{exact} does not change with {field}");
        } else {
            let rel = (b.pehe - s.pehe).abs() / s.pehe.abs().max(1e-12);
            assert!(rel < 1e-3, "{b:?} vs {s:?}");
            moved += usize::from(b.pehe != s.pehe);
        }
    }
    assert!(moved > 0, "the two trainers should not agree bit for bit");
    // The other trainer is another run.
    let err = run_grid(single, &opts(2, Shard::WHOLE), &d.join("b"), &quiet).unwrap_err();
    assert!(err.to_string().contains(field), "{err}");
    // run.json written before the flag existed reads as one at a time, and resumes as such.
    let path = d.join("s").join("run.json");
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json["grid"].as_object_mut().unwrap().remove(field);
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let again = run_grid(single, &opts(2, Shard::WHOLE), &d.join("s"), &quiet).unwrap();
    assert_eq!(again.ran, 0);
    b_rows
}

/// Source models trained a wave at a time by the batched trainer (the default) against one at
/// a time: rows of methods that do not use the source are identical, the others agree to the
/// batched trainer's rounding on this tiny grid (a source model whose early stopping lands on
/// another epoch would differ more: docs/performance.md, "Grids"); the flag is part of the run,
/// so the two do not resume into each other; a `run.json` without it reads as one-at-a-time.
#[test]
fn batched_sources_agree_with_single_sources_and_are_another_run() {
    let dir = tempfile::tempdir().unwrap();
    // Target fits one at a time in both, so that only the source trainer differs.
    let spec = GridSpec { max_epochs: Some(6), batched_targets: false, ..tiny_sim1() };
    assert!(spec.batched_sources && spec.trains_sources_batched() && !spec.trains_targets_batched());
    let single = GridSpec { batched_sources: false, ..spec.clone() };
    compare_trainers(&spec, &single, "batched_sources", "target-only", dir.path());
}

/// Target fits of the methods whose last phase is one network fit (target-only, fine-tune,
/// freeze-representation, staged alignment's heads) trained for a cell's replications together
/// (the default) against one at a time: the same rows to the batched trainer's rounding, l2-sp
/// (no plan) bit for bit; results do not depend on the worker count (so not on which
/// replications share a pack); the flag is part of the run; a `run.json` without it reads as
/// one at a time.
#[test]
fn batched_targets_agree_with_single_targets_and_are_another_run() {
    let dir = tempfile::tempdir().unwrap();
    let methods = ["target-only", "fine-tune", "freeze-representation", "staged-alignment", "l2-sp"];
    let spec = GridSpec {
        max_epochs: Some(6),
        replications: 3,
        methods: methods.iter().map(|m| m.to_string()).collect(),
        ..tiny_sim1()
    };
    assert!(spec.trains_targets_batched());
    let single = GridSpec { batched_targets: false, ..spec.clone() };
    let batched = compare_trainers(&spec, &single, "batched_targets", "l2-sp", dir.path());
    let one_job = run_grid(&spec, &opts(1, Shard::WHOLE), &dir.path().join("b1"), &quiet).unwrap();
    assert_eq!(values(&batched), values(&one_job.rows), "jobs changed a batched target fit");
}

/// Under the study protocol (shared source models) the one-fit methods' target fits of a
/// wave's replications train together too: they agree with one at a time to rounding, l2-sp
/// (no plan) bit for bit, and the worker count changes nothing.
#[test]
fn study_protocol_batches_target_fits_too() {
    let dir = tempfile::tempdir().unwrap();
    let methods = ["target-only", "staged-alignment", "l2-sp"];
    let spec = GridSpec {
        max_epochs: Some(6),
        replications: 3,
        methods: methods.iter().map(|m| m.to_string()).collect(),
        ..tiny_sim1()
    }
    .with_protocol(ite_eval::grid::Protocol::Study);
    assert!(spec.trains_targets_batched() && !spec.trains_sources_batched());
    let single = GridSpec { batched_targets: false, ..spec.clone() };
    let batched = compare_trainers(&spec, &single, "batched_targets", "l2-sp", dir.path());
    let one_job = run_grid(&spec, &opts(1, Shard::WHOLE), &dir.path().join("b1"), &quiet).unwrap();
    assert_eq!(values(&batched), values(&one_job.rows), "jobs changed a batched target fit");
}

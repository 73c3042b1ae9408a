//! One writer per grid (issue 14 §2) at the library level: a grid directory held by another
//! writer is refused before anything is written; a merge keeps the rows its output held; and
//! summaries do not depend on the order of the rows.

use ite_core::Seed;
use ite_eval::grid::{GridLock, GridSpec, RunOptions, Shard, TestSet, merge_runs, plan_grid, run_grid, summarize};
use ite_eval::{EvalError, ResultRow};

fn tiny() -> GridSpec {
    GridSpec {
        source_ns: vec![200],
        target_ns: vec![30],
        methods: vec!["target-only".into()],
        replications: 2,
        test: TestSet::FreshDraw(100),
        max_epochs: Some(2),
        ..GridSpec::sim1()
    }
}

fn opts(shard: Shard) -> RunOptions {
    RunOptions { seed: Seed::new(7), quick: false, jobs: 1, shard }
}

fn quiet(_: &ResultRow, _: ite_eval::grid::Progress) {}

#[test]
fn a_held_directory_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    std::fs::create_dir_all(&out).unwrap();
    let held = GridLock::exclusive(&out, "holder").unwrap();
    for err in [
        plan_grid(&tiny(), &opts(Shard::WHOLE), &out).unwrap_err(),
        run_grid(&tiny(), &opts(Shard::WHOLE), &out, &quiet).unwrap_err(),
    ] {
        assert!(matches!(&err, EvalError::GridBusy { holder, .. } if holder.contains("holder, pid")), "{err}");
    }
    assert!(!out.join("run.json").exists() && !out.join("results.csv").exists());
    drop(held);
    assert_eq!(run_grid(&tiny(), &opts(Shard::WHOLE), &out, &quiet).unwrap().rows.len(), 4);
}

#[test]
fn merge_keeps_the_rows_its_output_held() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (s0, s1, m) = (d.join("s0"), d.join("s1"), d.join("m"));
    let spec = GridSpec { source_ns: vec![200, 300], ..tiny() };
    run_grid(&spec, &opts(Shard::new(0, 2).unwrap()), &s0, &quiet).unwrap();
    run_grid(&spec, &opts(Shard::new(1, 2).unwrap()), &s1, &quiet).unwrap();
    let full = merge_runs(&[s0.clone(), s1.clone()], &m).unwrap();
    assert_eq!((full.rows.len(), full.missing, full.kept), (8, 0, 0));
    let again = merge_runs(std::slice::from_ref(&s1), &m).unwrap();
    assert_eq!((again.rows.len(), again.missing, again.kept), (8, 0, 4));
    assert_eq!(again.rows, full.rows);
    let err = merge_runs(std::slice::from_ref(&s0), &s0).unwrap_err().to_string();
    assert!(err.contains("must differ"), "{err}");
}

#[test]
fn summaries_do_not_depend_on_row_order() {
    let rows: Vec<ResultRow> = (0..7u64)
        .map(|rep| ResultRow {
            experiment: "sim1".into(),
            source_n: 100,
            target_n: 30,
            assignment: "biased".into(),
            shift: "none".into(),
            level: 0.0,
            method: "target-only".into(),
            replication: rep,
            pehe: 0.1 + 1e-3 * (rep as f64).powi(3) / 3.0,
            ate_bias: 0.7 / (rep as f64 + 1.3),
            ate_true: 1.0 / 3.0 + rep as f64 * 1e-9,
            ite_mean: 0.3 * rep as f64 / 7.0,
            ite_median: 0.0,
            ite_sd: 0.2 + 0.01 / (rep as f64 + 0.7),
            cita: Some(0.1 * rep as f64 / 3.0),
            fit_seconds: 0.0,
            ate_sample: Some(1.0 / 3.0),
            ate_aipw: Some(0.3 + 0.01 * rep as f64),
            ate_se: Some(0.1 / 3.0),
            ate_lower: Some(0.1 / 7.0 * rep as f64),
            ate_upper: Some(1.0 / 3.0 + 0.2 / 7.0 * rep as f64),
            ate_covers: Some(u8::from(rep % 3 != 0)),
            aipw_seconds: Some(0.0),
            chosen: None,
            selection_seconds: None,
        })
        .collect();
    let mut reversed = rows.clone();
    reversed.reverse();
    let mut rotated = rows.clone();
    rotated.rotate_left(3);
    let (a, b, c) = (summarize(&rows), summarize(&reversed), summarize(&rotated));
    let bits = |s: &[ite_eval::grid::SummaryRow]| {
        format!(
            "{:?}",
            s.iter()
                .map(|r| (r.pehe_mean.to_bits(), r.ci_width_mean.map(f64::to_bits), r.coverage.map(f64::to_bits)))
                .collect::<Vec<_>>()
        )
    };
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a[0].coverage, Some(4.0 / 7.0));
}

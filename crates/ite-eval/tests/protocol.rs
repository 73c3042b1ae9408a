//! The grids' two protocols: the `clean` protocol's rows, with the source network of the time
//! (`TarNetParams::study_source`), are those of the code before the protocol existed (values
//! computed with main's `ite` at commit 74bf47e; staged alignment's defaults changed since, so
//! its rows are left out), and the `study`
//! protocol (one source per source size, Simulation 1 targets resampled from the source's rows,
//! the target sample as test set) runs deterministically, independently of jobs and shards, and
//! is recorded so that the two protocols never resume into or merge with each other.

mod common;

use common::{opts, quiet, tiny_sim1, tiny_sim2};

use ite_core::Seed;
use ite_eval::ResultRow;
use ite_eval::grid::{
    Experiment, GridSeeds, GridSpec, Group, Protocol, RunManifest, Shard, cell_data, merge_runs, run_grid, source_data,
};
use ite_nets::TarNetParams;

fn study(spec: GridSpec) -> GridSpec {
    spec.with_protocol(Protocol::Study)
}

fn values(rows: &[ResultRow]) -> Vec<ResultRow> {
    let mut v: Vec<ResultRow> = rows.iter().map(ResultRow::without_timings).collect();
    v.sort_by_key(ResultRow::key);
    v
}

/// (source n, assignment, level, method, replication, ε_PEHE, ATE bias), written by main's `ite
/// reproduce` (commit 74bf47e, before the protocols) with the arguments of `tiny_sim1` and
/// `tiny_sim2` and seed 7.
const MAIN_SIM1: [(usize, &str, f64, &str, u64, f64, f64); 8] = [
    (200, "biased", 0.0, "fine-tune", 0, 0.9334788962457473, -0.9509817770374315),
    (200, "biased", 0.0, "target-only", 1, 1.5032312628373727, -1.195164571911736),
    (200, "randomized", 0.0, "fine-tune", 1, 0.9643734066127368, -0.9558532830955871),
    (200, "randomized", 0.0, "target-only", 0, 0.8494361749555835, -0.8694108974773809),
    (300, "biased", 0.0, "fine-tune", 1, 0.6571571397409494, -0.7832903935819358),
    (300, "biased", 0.0, "target-only", 1, 0.28798194974600355, -0.08922742075265822),
    (300, "randomized", 0.0, "fine-tune", 0, 0.835500039910362, -0.8888546899743792),
    (300, "randomized", 0.0, "target-only", 1, 0.7760082817894837, -0.846632000819499),
];
const MAIN_SIM2: [(usize, &str, f64, &str, u64, f64, f64); 4] = [
    (200, "biased", 0.0, "source-only", 0, 5.234483365607727, -1.1957284705784634),
    (200, "biased", 0.0, "target-only", 0, 4.417749937586804, -0.7881705239362782),
    (200, "biased", 1.0, "source-only", 0, 58.698182916318736, -6.670337975286246),
    (200, "biased", 1.0, "target-only", 0, 65.0244488377442, -6.892144882191506),
];

/// `spec` with the source network of the code before issue 17.
fn legacy(spec: GridSpec) -> GridSpec {
    GridSpec { source: TarNetParams::study_source(), ..spec }
}

/// On the machine the values were written on the rows agree bit for bit; the tolerance only
/// absorbs another CPU's SIMD rounding (a change of protocol moves them by far more).
fn assert_main_rows(rows: &[ResultRow], want: &[(usize, &str, f64, &str, u64, f64, f64)]) {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    for &(n, a, level, m, rep, pehe, bias) in want {
        let r = rows
            .iter()
            .find(|r| r.source_n == n && r.assignment == a && r.level == level && r.method == m && r.replication == rep)
            .unwrap_or_else(|| panic!("no row {n} {a} {level} {m} {rep}"));
        assert!(close(r.pehe, pehe) && close(r.ate_bias, bias), "{r:?} vs main's {pehe} {bias}");
    }
}

#[test]
fn clean_rows_equal_mains() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = run_grid(&legacy(tiny_sim1()), &opts(2, Shard::WHOLE), &dir.path().join("s1"), &quiet).unwrap();
    assert_main_rows(&s1.rows, &MAIN_SIM1);
    let s2 = run_grid(&legacy(tiny_sim2()), &opts(1, Shard::WHOLE), &dir.path().join("s2"), &quiet).unwrap();
    assert_main_rows(&s2.rows, &MAIN_SIM2);
    // The clean protocol writes no warning; a run.json written before the protocol and the
    // source field existed (neither field) reads as clean with the old source network, and
    // resumes.
    let m = RunManifest::read(&dir.path().join("s1")).unwrap().unwrap();
    assert_eq!((m.grid.protocol, m.warning), (Protocol::Clean, None));
    let path = dir.path().join("s1").join("run.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["grid"].as_object_mut().unwrap().remove("protocol");
    json["grid"].as_object_mut().unwrap().remove("source");
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let again = run_grid(&legacy(tiny_sim1()), &opts(2, Shard::WHOLE), &dir.path().join("s1"), &quiet).unwrap();
    assert_eq!((again.ran, again.skipped), (0, 16));
    // The default source network since issue 17 is another run: it does not resume into it.
    let err = run_grid(&tiny_sim1(), &opts(2, Shard::WHOLE), &dir.path().join("s1"), &quiet).unwrap_err();
    assert!(err.to_string().contains("source"), "{err}");
}

#[test]
fn study_source_is_one_per_source_size() {
    for spec in [study(tiny_sim1()), study(tiny_sim2())] {
        let seeds = GridSeeds::new(Seed::new(7), spec.experiment);
        let g = |replication| Group { source_n: 200, replication };
        let a = source_data(&spec, &seeds, g(0)).unwrap();
        assert_eq!(a, source_data(&spec, &seeds, g(1)).unwrap());
        assert_eq!(a, source_data(&spec, &seeds, g(5)).unwrap());
        assert_eq!(a.n(), 200);
        // The clean protocol draws a source per replication.
        let clean = GridSpec { protocol: Protocol::Clean, ..spec.clone() };
        assert_ne!(source_data(&clean, &seeds, g(0)).unwrap(), source_data(&clean, &seeds, g(1)).unwrap());
    }
}

#[test]
fn study_sim1_targets_are_source_rows_and_the_test_set() {
    let spec = study(GridSpec { target_ns: vec![150], ..tiny_sim1() });
    let seeds = GridSeeds::new(Seed::new(7), Experiment::Sim1);
    let source = source_data(&spec, &seeds, Group { source_n: 200, replication: 1 }).unwrap();
    let rows: Vec<(Vec<f64>, u8, f64)> =
        (0..source.n()).map(|i| (source.x().row(i).to_vec(), source.t()[i], source.y()[i])).collect();
    for cell in spec.cells().unwrap().iter().filter(|c| c.source_n == 200) {
        let (train, test) = cell_data(&spec, &seeds, cell, 1).unwrap();
        assert_eq!(train, test, "the study protocol measures on the target sample");
        assert_eq!(train.n(), 150);
        for i in 0..train.n() {
            let row = (train.x().row(i).to_vec(), train.t()[i], train.y()[i]);
            assert!(rows.contains(&row), "{} target row {i} is not a source row", cell.assignment);
        }
        // Resampled with replacement: 150 draws of 200 rows repeat some.
        let distinct: std::collections::HashSet<String> =
            (0..train.n()).map(|i| format!("{:?}", train.x().row(i))).collect();
        assert!(distinct.len() < 150, "{}", distinct.len());
    }
}

#[test]
fn study_grid_is_deterministic_and_kept_apart_from_clean() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = study(tiny_sim1());
    let one = run_grid(&spec, &opts(1, Shard::WHOLE), &d.join("one"), &quiet).unwrap();
    assert_eq!(one.rows.len(), 16);
    let two = run_grid(&spec, &opts(2, Shard::WHOLE), &d.join("two"), &quiet).unwrap();
    assert_eq!(values(&one.rows), values(&two.rows));
    // Shards each fit the shared source models themselves: merged, the same rows.
    let dirs: Vec<_> = (0..3).map(|k| d.join(format!("shard{k}"))).collect();
    for (k, dir) in dirs.iter().enumerate() {
        run_grid(&spec, &opts(1, Shard::new(k, 3).unwrap()), dir, &quiet).unwrap();
    }
    let merged = merge_runs(&dirs, &d.join("merged")).unwrap();
    assert_eq!(values(&merged.rows), values(&one.rows));
    // They differ from the clean protocol's rows, carry the protocol and its warning, and
    // neither protocol resumes into the other's directory.
    let clean = run_grid(&tiny_sim1(), &opts(1, Shard::WHOLE), &d.join("clean"), &quiet).unwrap();
    assert_ne!(values(&clean.rows), values(&one.rows));
    let m = RunManifest::read(&d.join("one")).unwrap().unwrap();
    assert_eq!(m.grid.protocol, Protocol::Study);
    assert!(m.warning.as_deref().is_some_and(|w| w.contains("source model has seen")), "{:?}", m.warning);
    let e = run_grid(&tiny_sim1(), &opts(1, Shard::WHOLE), &d.join("one"), &quiet).unwrap_err().to_string();
    assert!(e.contains("grid.protocol"), "{e}");
    let e = merge_runs(&[d.join("one"), d.join("clean")], &d.join("mixed")).unwrap_err().to_string();
    assert!(e.contains("grid.protocol"), "{e}");
}

#[test]
fn study_sim2_grid_runs() {
    let dir = tempfile::tempdir().unwrap();
    let spec = study(tiny_sim2());
    let a = run_grid(&spec, &opts(2, Shard::WHOLE), &dir.path().join("a"), &quiet).unwrap();
    assert_eq!(a.rows.len(), 6);
    assert!(a.rows.iter().all(|r| r.pehe.is_finite()));
    let b = run_grid(&spec, &opts(1, Shard::WHOLE), &dir.path().join("b"), &quiet).unwrap();
    assert_eq!(values(&a.rows), values(&b.rows));
}

#[test]
fn an_invalid_source_network_is_refused_naming_the_field() {
    let spec = GridSpec { source: TarNetParams { batch_size: 0, ..TarNetParams::transfer_source() }, ..tiny_sim1() };
    let e = ite_core::Params::validate(&spec).unwrap_err().to_string();
    assert!(e.contains("source") && e.contains("batch_size"), "{e}");
    assert_eq!(GridSpec::sim1().source, TarNetParams::transfer_source(), "the clean protocol's source by default");
    assert_eq!(GridSpec::sim1().with_protocol(Protocol::Study).source, Protocol::Study.source_params());
}

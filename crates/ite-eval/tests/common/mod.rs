//! Tiny grids (few units, two epochs) and run options shared by the grid tests.

#![allow(dead_code)]

use ite_core::Seed;
use ite_eval::ResultRow;
use ite_eval::grid::{GridSpec, RunOptions, Shard, TestSet};

/// Simulation 1: two source sizes, one target size, two methods, two replications.
pub fn tiny_sim1() -> GridSpec {
    GridSpec {
        source_ns: vec![200, 300],
        target_ns: vec![30],
        methods: vec!["target-only".into(), "fine-tune".into()],
        replications: 2,
        test: TestSet::FreshDraw(100),
        max_epochs: Some(2),
        ..GridSpec::sim1()
    }
}

/// Simulation 2: biased targets under covariate shift at levels 0 and 1, three methods.
pub fn tiny_sim2() -> GridSpec {
    GridSpec {
        source_ns: vec![200],
        target_ns: vec![40],
        assignments: vec!["biased".into()],
        shifts: vec!["covariate".into()],
        levels: vec![0.0, 1.0],
        methods: vec!["staged-alignment".into(), "source-only".into(), "target-only".into()],
        replications: 1,
        test: TestSet::HoldOut(0.3),
        max_epochs: Some(2),
        ..GridSpec::sim2()
    }
}

/// Seed 7, `jobs` workers, `shard`.
pub fn opts(jobs: usize, shard: Shard) -> RunOptions {
    RunOptions { seed: Seed::new(7), quick: false, jobs, shard }
}

/// A progress callback that does nothing.
pub fn quiet(_: &ResultRow, _: ite_eval::grid::Progress) {}

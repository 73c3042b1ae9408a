//! Criterion benches of the work the study's grids are made of: one training step of the two
//! reference networks (study size and IHDP size), a full IHDP fit, and one Simulation 1 grid
//! cell (source model, CITA, target-only and staged alignment on a non-randomized target).
//!
//! ```text
//! cargo bench --bench training                 # everything
//! cargo bench --bench training -- step/paper   # one bench
//! cargo bench --bench training -- batched-step # the batched trainer, per network-step
//! ```
//!
//! Runs single-threaded (RAYON_NUM_THREADS=1), as `ite reproduce` runs one fit per core. The
//! IHDP fit needs `../shared/data/ihdp` (or `ITE_IHDP_DIR`) and is skipped without it.

#![deny(unsafe_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ite::core::{Fit, Seed};
use ite::dgp::ihdp;
use ite::eval::grid::{GridSpec, RunOptions, run_grid};
use ite::nets::TarNetParams;
use ite::nets::bench::{BATCHES_PER_EPOCH, BenchNet, sample, train_steps, train_steps_batched};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One backend thread (called before any benchmark starts a thread).
fn one_thread() {
    ite::nets::set_backend_threads(1);
}

/// Time per training step: each iteration trains 10 epochs of 50 steps on a fixed sample,
/// and the time is divided back out per step.
fn steps(c: &mut Criterion) {
    one_thread();
    let mut group = c.benchmark_group("step");
    for net in BenchNet::ALL {
        let batch = net.default_batch();
        let data = sample(net, batch * BATCHES_PER_EPOCH, Seed::new(1)).expect("benchmark sample");
        group.bench_function(net.name(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let start = Instant::now();
                    let done = train_steps(net, &data, batch, 10 * BATCHES_PER_EPOCH, Seed::new(i))
                        .expect("benchmark training");
                    total += start.elapsed() / done as u32;
                }
                total
            });
        });
    }
    group.finish();
}

/// Time per network-step of the batched trainer (`TarNetParams::fit_many`), next to `step/…`:
/// K networks (8 and 32 at study size, 8 at IHDP size) each train 10 epochs of 50 steps on the
/// same sample with their own seeds; the time is divided by steps × K.
fn batched_steps(c: &mut Criterion) {
    one_thread();
    let mut group = c.benchmark_group("batched-step");
    for (net, models) in [(BenchNet::Paper, 8), (BenchNet::Paper, 32), (BenchNet::Ihdp, 8)] {
        let batch = net.default_batch();
        let data = sample(net, batch * BATCHES_PER_EPOCH, Seed::new(1)).expect("benchmark sample");
        group.bench_function(format!("{}-k{models}", net.name()), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let start = Instant::now();
                    let done = train_steps_batched(net, &data, batch, 10 * BATCHES_PER_EPOCH, Seed::new(i), models)
                        .expect("benchmark training");
                    total += start.elapsed() / (done * models) as u32;
                }
                total
            });
        });
    }
    group.finish();
}

fn ihdp_dir() -> PathBuf {
    std::env::var_os("ITE_IHDP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ihdp"))
}

/// A full TARNet fit on IHDP replication 1 (the paper's configuration, early stopping).
fn ihdp_fit(c: &mut Criterion) {
    one_thread();
    let Ok(rep) = ihdp::load_replication(&ihdp_dir(), 1) else {
        eprintln!("skipping fit/ihdp-tarnet: no IHDP data at {} (set ITE_IHDP_DIR)", ihdp_dir().display());
        return;
    };
    let mut group = c.benchmark_group("fit");
    group.sample_size(10);
    group.bench_function("ihdp-tarnet", |b| {
        b.iter(|| TarNetParams::ihdp().fit(&rep.train, Seed::new(1)).expect("IHDP fit"));
    });
    group.finish();
}

/// One Simulation 1 cell: source n 5000, biased target n 50, one replication, target-only and
/// staged alignment (source model, CITA, both fits, evaluation).
fn grid_cell(c: &mut Criterion) {
    one_thread();
    let spec = GridSpec {
        source_ns: vec![5000],
        target_ns: vec![50],
        assignments: vec!["biased".into()],
        methods: vec!["target-only".into(), "staged-alignment".into()],
        replications: 1,
        ..GridSpec::sim1()
    };
    let opts = RunOptions { jobs: 1, ..RunOptions::default() };
    let mut group = c.benchmark_group("grid");
    group.sample_size(10);
    group.bench_function("sim1-cell", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().expect("temporary directory");
            run_grid(&spec, &opts, dir.path(), &|_, _| {}).expect("grid cell")
        });
    });
    group.finish();
}

criterion_group!(benches, steps, batched_steps, ihdp_fit, grid_cell);
criterion_main!(benches);

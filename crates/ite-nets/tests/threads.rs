//! Same seed → identical bits at 1 and 2 backend threads. Its own test binary with a single
//! test, because it changes `RAYON_NUM_THREADS`, which candle reads at every matrix product.

mod common;

use ite_core::{Fit, IteModel, Seed};
use ite_nets::{Ipm, TarNetParams};

#[test]
fn identical_bits_at_one_and_two_threads() -> anyhow::Result<()> {
    let data = common::simulated(300, 31);
    // Wide enough that the matrix products are split across threads.
    let params = TarNetParams::default()
        .with_layers(vec![200, 200], vec![100])
        .with_max_epochs(3)
        .with_ipm(Ipm::Wasserstein(Default::default()), 1.0);
    let mut runs = Vec::new();
    for threads in [1, 2, 1] {
        // This binary has one test, and no other thread reads the environment meanwhile.
        ite_nets::set_backend_threads(threads);
        assert_eq!(candle_core::utils::get_num_threads(), threads);
        let po = params.fit(&data, Seed::new(8))?.predict(data.x())?;
        runs.push(po.mu0.iter().chain(&po.mu1).map(|v| v.to_bits()).collect::<Vec<u64>>());
    }
    assert_eq!(runs[0], runs[1], "1 and 2 threads differ");
    assert_eq!(runs[0], runs[2]);
    Ok(())
}

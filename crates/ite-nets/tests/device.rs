//! The device API on the CPU: `fit_on(cpu)` is `fit`, a fitted or loaded model remembers its
//! device, a warm start trains on the prior's device, and the MLP T-learner takes one too.

mod common;

use candle_core::Device;
use ite_core::{Fit, FitWith, IteModel, Seed};
use ite_nets::{FittedTarNet, MlpTLearnerParams, TrainOptions};

fn same(a: &FittedTarNet, b: &FittedTarNet) -> anyhow::Result<()> {
    let (sa, sb) = (a.vars().snapshot()?, b.vars().snapshot()?);
    assert_eq!(sa.keys().collect::<Vec<_>>(), sb.keys().collect::<Vec<_>>());
    for (k, t) in &sa {
        assert_eq!(t.flatten_all()?.to_vec1::<f32>()?, sb[k].flatten_all()?.to_vec1::<f32>()?, "{k}");
    }
    Ok(())
}

#[test]
fn fitting_on_the_cpu_is_the_default() -> anyhow::Result<()> {
    let data = common::simulated(120, 1);
    let params = common::quick_params().with_max_epochs(3);
    let plain = params.fit(&data, Seed::new(2))?;
    let on_cpu = params.fit_on(&data, Seed::new(2), &Device::Cpu)?;
    assert!(plain.device().is_cpu() && on_cpu.device().is_cpu());
    same(&plain, &on_cpu)?;
    assert_eq!(plain.history(), on_cpu.history());
    let options = TrainOptions { device: Some(Device::Cpu), ..Default::default() };
    same(&plain, &params.fit_with_options(&data, Seed::new(2), None, &options)?)?;

    // A warm start trains on the prior's device.
    let warm = params.fit_with(&plain, &data, Seed::new(3))?;
    assert!(warm.device().is_cpu());
    assert!(plain.deep_clone()?.device().is_cpu());

    let dir = tempfile::tempdir()?;
    plain.save(dir.path())?;
    let loaded = FittedTarNet::load_on(dir.path(), &Device::Cpu)?;
    assert!(loaded.device().is_cpu());
    same(&plain, &loaded)?;
    assert_eq!(loaded.predict(data.x())?, plain.predict(data.x())?);
    Ok(())
}

#[test]
fn mlp_t_learner_on_the_cpu_is_the_default() -> anyhow::Result<()> {
    let data = common::simulated(120, 4);
    let params = MlpTLearnerParams { layers: vec![8], max_epochs: 3, ..MlpTLearnerParams::default() };
    let plain = params.fit(&data, Seed::new(5))?;
    let on_cpu = params.fit_on(&data, Seed::new(5), &Device::Cpu)?;
    assert!(on_cpu.device().is_cpu());
    assert_eq!(plain.predict(data.x())?, on_cpu.predict(data.x())?);
    Ok(())
}

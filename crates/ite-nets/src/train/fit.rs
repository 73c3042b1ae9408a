//! The fit entry points of TARNet / CFR: [`Fit`], [`FitWith`] (warm start from a prior model),
//! [`TarNetParams::fit_on`] (a chosen device) and [`TarNetParams::fit_with_options`] (all of it).

use candle_core::Device;
use ite_core::{CausalData, Fit, FitWith, IteModel, Params, Seed};

use crate::error::{NetsError, Result};
use crate::hyperparams::TarNetParams;
use crate::scaler::Standardizer;
use crate::tarnet::{FittedTarNet, TarNet};
use crate::train::options::TrainOptions;
use crate::train::run::train;

impl TarNetParams {
    /// Fits with explicit training options (which variables train, an extra loss term, the
    /// device) and an optional prior model to start from. With a prior the network starts from
    /// a copy of its weights and reuses its covariate and outcome scalers, so Φ keeps its
    /// meaning; it trains on `options.device`, else the prior's device, else the CPU.
    ///
    /// # Errors
    /// Invalid parameters or options, data without both arms, a binary `outcome_type` with an
    /// outcome other than 0 or 1, a prior with other features or
    /// another architecture, a diverged loss, or a device error.
    pub fn fit_with_options(
        &self,
        data: &CausalData,
        seed: Seed,
        prior: Option<&FittedTarNet>,
        options: &TrainOptions<'_>,
    ) -> Result<FittedTarNet> {
        self.validate()?;
        data.require_both_arms("training data")?;
        crate::outcome::check_outcomes(self.outcome_type, data.y(), "training data")?;
        let device = match (&options.device, prior) {
            (Some(d), _) => d.clone(),
            (None, Some(prior)) => prior.device().clone(),
            (None, None) => Device::Cpu,
        };
        let net = TarNet::new_on(self, data.p(), seed, &device)?;
        let (x_scaler, y_scaler) = match prior {
            Some(prior) => self.warm_start(&net, prior, data)?,
            None => self.fit_scalers(data),
        };
        let history = train(self, &net, data, &x_scaler, &y_scaler, seed, options)?;
        Ok(FittedTarNet {
            params: self.clone(),
            net,
            x_scaler,
            y_scaler,
            feature_names: data.feature_names().to_vec(),
            history,
        })
    }

    /// Fits on `device` (e.g. `Device::new_cuda(0)?` in a build with the `cuda` feature); the
    /// same as [`Fit::fit`] on [`Device::Cpu`].
    pub fn fit_on(&self, data: &CausalData, seed: Seed, device: &Device) -> Result<FittedTarNet> {
        self.fit_with_options(data, seed, None, &TrainOptions { device: Some(device.clone()), ..Default::default() })
    }

    /// Copies the prior's weights into `net` and returns the prior's scalers (the outcome's
    /// identity for a binary outcome, whose heads output logits).
    fn warm_start(
        &self,
        net: &TarNet,
        prior: &FittedTarNet,
        data: &CausalData,
    ) -> Result<(Standardizer, Standardizer)> {
        prior.check_features(data.x())?;
        let snapshot = prior.vars().snapshot()?;
        if snapshot.keys().ne(net.vars().names().iter()) {
            return Err(NetsError::param(
                "phi_layers/head_layers",
                format!("{:?}/{:?}", self.phi_layers, self.head_layers),
                "the prior model's architecture (warm start needs the same layers)",
            ));
        }
        let snapshot = snapshot
            .into_iter()
            .map(|(name, t)| Ok((name, t.to_device(net.device())?)))
            .collect::<Result<std::collections::BTreeMap<_, _>>>()?;
        net.vars().restore(&snapshot)?;
        let y_scaler = if self.outcome_type.is_binary() { Standardizer::identity(1) } else { prior.y_scaler.clone() };
        Ok((prior.x_scaler.clone(), y_scaler))
    }

    /// The covariate and outcome scalers of `data` (identity where standardising is off, and
    /// for the outcome when it is binary).
    pub(crate) fn fit_scalers(&self, data: &CausalData) -> (Standardizer, Standardizer) {
        let xs = if self.standardize_x {
            Standardizer::fit_skip_binary(data.x().values(), data.p())
        } else {
            Standardizer::identity(data.p())
        };
        let ys = if self.standardize_y && !self.outcome_type.is_binary() {
            Standardizer::fit(data.y(), 1)
        } else {
            Standardizer::identity(1)
        };
        (xs, ys)
    }
}

impl Fit for TarNetParams {
    type Model = FittedTarNet;

    fn fit(&self, data: &CausalData, seed: Seed) -> Result<FittedTarNet> {
        self.fit_with_options(data, seed, None, &TrainOptions::default())
    }
}

impl FitWith for TarNetParams {
    fn fit_with(&self, prior: &FittedTarNet, data: &CausalData, seed: Seed) -> Result<FittedTarNet> {
        self.fit_with_options(data, seed, Some(prior), &TrainOptions::default())
    }
}

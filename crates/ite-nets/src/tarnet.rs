//! The TARNet network (representation Φ and heads h0, h1) and the fitted model
//! [`FittedTarNet`], which implements [`ite_core::IteModel`].

use candle_core::{Device, Tensor};
use ite_core::{Covariates, IteModel, PotentialOutcomes, Seed};

use crate::error::{NetsError, Result};
use crate::history::TrainHistory;
use crate::hyperparams::TarNetParams;
use crate::mlp::Mlp;
use crate::scaler::Standardizer;
use crate::vars::{TarNetVars, VarGroup};

/// A TARNet: Φ (p → `phi_layers`, the activation after every layer, the last one's only with
/// [`TarNetParams::phi_final_activation`]), and two heads h0, h1 (rep → `head_layers` → 1).
#[derive(Debug, Clone)]
pub struct TarNet {
    phi: Mlp,
    h0: Mlp,
    h1: Mlp,
    unit_norm: bool,
    vars: TarNetVars,
    device: Device,
}

impl TarNet {
    /// A freshly initialised network for `p` covariates on the CPU; weights are drawn from
    /// `seed.stream("init")` in the order Φ, h0, h1.
    pub fn new(params: &TarNetParams, p: usize, seed: Seed) -> Result<Self> {
        Self::new_on(params, p, seed, &Device::Cpu)
    }

    /// [`TarNet::new`] on `device`: the weights are drawn on the host (the same for every
    /// device) and copied there.
    pub fn new_on(params: &TarNetParams, p: usize, seed: Seed, device: &Device) -> Result<Self> {
        let mut rng = seed.stream("init").rng();
        let mut phi_w = vec![p];
        phi_w.extend_from_slice(&params.phi_layers);
        let mut head_w = vec![params.rep_dim()];
        head_w.extend_from_slice(&params.head_layers);
        head_w.push(1);
        let (phi, mut named) =
            Mlp::new(VarGroup::Phi.name(), &phi_w, params.activation, params.phi_final_activation, &mut rng, device)?;
        let (h0, n0) = Mlp::new(VarGroup::H0.name(), &head_w, params.activation, false, &mut rng, device)?;
        let (h1, n1) = Mlp::new(VarGroup::H1.name(), &head_w, params.activation, false, &mut rng, device)?;
        named.extend(n0);
        named.extend(n1);
        let vars = TarNetVars::from_named(named);
        Ok(TarNet { phi, h0, h1, unit_norm: params.unit_norm, vars, device: device.clone() })
    }

    /// The device every variable lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The named variables (`phi.*`, `h0.*`, `h1.*`).
    pub fn vars(&self) -> &TarNetVars {
        &self.vars
    }

    /// Representation Φ(x) for standardised inputs `x` (`n × p`), unit-normed when configured.
    pub fn representation(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let r = self.phi.forward(x)?;
        if self.unit_norm {
            let norm = (r.sqr()?.sum_keepdim(1)? + 1e-12)?.sqrt()?;
            r.broadcast_div(&norm)
        } else {
            Ok(r)
        }
    }

    /// Both heads on a representation: `(h0(r), h1(r))`, each of shape `(n,)`.
    pub fn heads(&self, r: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((self.h0.forward(r)?.squeeze(1)?, self.h1.forward(r)?.squeeze(1)?))
    }
}

/// A fitted TARNet / CFR: network, scalers, feature names, parameters and training history.
///
/// `clone()` is shallow: the copy shares its weight storage with the original (candle `Var`s
/// are reference-counted). Use [`FittedTarNet::deep_clone`] for an independent copy.
#[derive(Debug, Clone)]
pub struct FittedTarNet {
    pub(crate) params: TarNetParams,
    pub(crate) net: TarNet,
    pub(crate) x_scaler: Standardizer,
    pub(crate) y_scaler: Standardizer,
    pub(crate) feature_names: Vec<String>,
    pub(crate) history: TrainHistory,
}

impl FittedTarNet {
    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &TarNetParams {
        &self.params
    }

    /// The network.
    pub fn net(&self) -> &TarNet {
        &self.net
    }

    /// The named variables (shares storage with the network).
    pub fn vars(&self) -> &TarNetVars {
        self.net.vars()
    }

    /// Covariate standardisation (training means and sds).
    pub fn x_scaler(&self) -> &Standardizer {
        &self.x_scaler
    }

    /// Outcome standardisation (one column).
    pub fn y_scaler(&self) -> &Standardizer {
        &self.y_scaler
    }

    /// An independent copy: same parameters, scalers, history and device, weights copied into
    /// new storage.
    pub fn deep_clone(&self) -> Result<FittedTarNet> {
        let net = TarNet::new_on(&self.params, self.feature_names.len(), Seed::new(0), self.device())?;
        net.vars().restore(&self.vars().snapshot()?)?;
        Ok(FittedTarNet { net, ..self.clone() })
    }

    /// Continuous or binary: with a binary outcome the heads output logits and
    /// [`IteModel::predict`] returns their sigmoids, probabilities in (0, 1).
    pub fn outcome_type(&self) -> ite_core::OutcomeType {
        self.params.outcome_type
    }

    /// The device the model's weights live on (where it was trained or loaded).
    pub fn device(&self) -> &Device {
        self.net.device()
    }

    /// Epoch losses and the epoch whose weights were kept.
    pub fn history(&self) -> &TrainHistory {
        &self.history
    }

    /// `x` standardised with the model's scaler, as an `n × p` tensor (checks feature names).
    pub fn standardized(&self, x: &Covariates) -> Result<Tensor> {
        self.check_features(x)?;
        Ok(Tensor::from_vec(self.x_scaler.transform(x.values()), (x.n_rows(), x.n_cols()), self.device())?)
    }

    /// The representation Φ(x) of the rows of `x` (`n × rep_dim`).
    pub fn representation(&self, x: &Covariates) -> Result<Tensor> {
        Ok(self.net.representation(&self.standardized(x)?)?)
    }
}

impl IteModel for FittedTarNet {
    type Error = NetsError;

    fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes> {
        let xs = self.standardized(x)?;
        let (m0, m1) = self.net.heads(&self.net.representation(&xs)?)?;
        let binary = self.params.outcome_type.is_binary();
        let back = |t: Tensor| -> Result<Vec<f64>> {
            let values = t.to_vec1::<f32>()?.into_iter().map(|v| self.y_scaler.inverse_1(v));
            Ok(if binary { values.map(crate::outcome::sigmoid).collect() } else { values.collect() })
        };
        Ok(PotentialOutcomes::new(back(m0)?, back(m1)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyperparams::Activation;

    /// Φ's last layer: ReLU'd (never negative) by default, linear (negative entries) without
    /// `phi_final_activation` — the same weights either way, and the same whether the dense
    /// layers run fused or not (the fused layer takes an optional activation).
    #[test]
    fn phi_final_activation_switches_the_last_relu() -> candle_core::Result<()> {
        let on = TarNetParams { activation: Activation::Relu, ..TarNetParams::study_small() };
        let off = TarNetParams { phi_final_activation: false, ..on.clone() };
        let x = Tensor::from_vec(
            (0..200).map(|i| ((i * 37 % 101) as f32) / 25.0 - 2.0).collect::<Vec<_>>(),
            (40, 5),
            &Device::Cpu,
        )?;
        let (a, b) =
            (TarNet::new(&on, 5, Seed::new(3)).expect("net"), TarNet::new(&off, 5, Seed::new(3)).expect("net"));
        let (ra, rb) = (a.representation(&x)?, b.representation(&x)?);
        assert!(ra.min_all()?.to_scalar::<f32>()? >= 0.0);
        assert!(rb.min_all()?.to_scalar::<f32>()? < 0.0);
        // ReLU of the linear output is the activated one.
        let d = (rb.relu()? - &ra)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(d < 1e-6, "{d}");
        // Saved parameters without the field read as `true`.
        let mut json = serde_json::to_value(&on).expect("json");
        json.as_object_mut().expect("object").remove("phi_final_activation");
        let back: TarNetParams = serde_json::from_value(json).expect("params");
        assert!(back.phi_final_activation);
        Ok(())
    }
}

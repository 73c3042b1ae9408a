//! Saving and loading fitted TARNet / CFR models: `model.safetensors` (weights) and
//! `model.json` (parameters, feature names, scalers, history, crate version), written through a
//! temporary file and a rename so a crash never leaves a half-written model.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use ite_core::Seed;
use serde::{Deserialize, Serialize};

use crate::error::{NetsError, Result};
use crate::history::TrainHistory;
use crate::hyperparams::TarNetParams;
use crate::scaler::Standardizer;
use crate::tarnet::{FittedTarNet, TarNet};

/// File name of the weights.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File name of the metadata.
pub const META_FILE: &str = "model.json";
/// This crate's version, stored in and checked against `model.json`.
pub const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The contents of `model.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    kind: String,
    crate_version: String,
    params: TarNetParams,
    feature_names: Vec<String>,
    x_scaler: Standardizer,
    y_scaler: Standardizer,
    history: TrainHistory,
}

impl FittedTarNet {
    /// Writes `dir/model.safetensors` and `dir/model.json` (creating `dir` if needed).
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| NetsError::io(dir, e))?;
        let tensors: HashMap<String, Tensor> = self.vars().snapshot()?.into_iter().collect();
        let final_path = dir.join(WEIGHTS_FILE);
        // candle writes a private (0600) file; the weights go through `write_atomic`, which
        // gives them the permissions of a plain create like every other output.
        let tmp = dir.join(format!(".ite-tmp-{}-{WEIGHTS_FILE}", std::process::id()));
        candle_core::safetensors::save(&tensors, &tmp)?;
        let bytes = std::fs::read(&tmp).map_err(|e| NetsError::io(&tmp, e));
        let _ = std::fs::remove_file(&tmp);
        let bytes = bytes?;
        ite_core::write_atomic(&final_path, |w| w.write_all(&bytes))?;
        let meta = Meta {
            kind: "tarnet".into(),
            crate_version: CRATE_VERSION.into(),
            params: self.params.clone(),
            feature_names: self.feature_names.clone(),
            x_scaler: self.x_scaler.clone(),
            y_scaler: self.y_scaler.clone(),
            history: self.history.clone(),
        };
        ite_core::write_atomic(dir.join(META_FILE), |w| {
            serde_json::to_writer_pretty(&mut *w, &meta).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        })?;
        Ok(())
    }

    /// Reads a model written by [`Self::save`] onto the CPU. Errors when the crate version
    /// differs, the metadata is malformed, or a tensor is missing or has the wrong shape.
    /// Feature names are checked at prediction.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        Self::load_on(dir, &Device::Cpu)
    }

    /// [`Self::load`] onto `device`: the model predicts there, and transfer strategies started
    /// from it train there.
    pub fn load_on(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let meta_path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&meta_path).map_err(|e| NetsError::io(&meta_path, e))?;
        let meta: Meta = serde_json::from_str(&text)
            .map_err(|e| NetsError::model(&meta_path, format!("malformed metadata: {e}")))?;
        if meta.crate_version != CRATE_VERSION {
            return Err(NetsError::model(
                &meta_path,
                format!("written by ite-nets {} but this is ite-nets {CRATE_VERSION}", meta.crate_version),
            ));
        }
        if meta.kind != "tarnet" {
            return Err(NetsError::model(&meta_path, format!("model kind `{}` is not `tarnet`", meta.kind)));
        }
        let p = meta.feature_names.len();
        if meta.x_scaler.mean.len() != p || meta.x_scaler.sd.len() != p || meta.y_scaler.mean.len() != 1 {
            return Err(NetsError::model(&meta_path, "scaler sizes do not match the feature names"));
        }
        let net = TarNet::new_on(&meta.params, p, Seed::new(0), device)?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&weights_path).map_err(|e| NetsError::io(&weights_path, e))?;
        let loaded = candle_core::safetensors::load_buffer(&bytes, device)
            .map_err(|e| NetsError::model(&weights_path, format!("cannot read tensors: {e}")))?;
        for name in net.vars().names() {
            let Some(t) = loaded.get(&name) else {
                return Err(NetsError::model(&weights_path, format!("missing tensor `{name}`")));
            };
            let var = net.vars().get(&name).ok_or_else(|| NetsError::model(&weights_path, "internal: variable"))?;
            if t.dims() != var.dims() {
                return Err(NetsError::model(
                    &weights_path,
                    format!("tensor `{name}` has shape {:?}, expected {:?}", t.dims(), var.dims()),
                ));
            }
            var.set(t)?;
        }
        Ok(FittedTarNet {
            params: meta.params,
            net,
            x_scaler: meta.x_scaler,
            y_scaler: meta.y_scaler,
            feature_names: meta.feature_names,
            history: meta.history,
        })
    }
}

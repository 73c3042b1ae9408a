//! Saving and loading fitted TARNet / CFR models: `model.safetensors` (weights) and
//! `model.json` (parameters, feature names, scalers, history, crate version), written through a
//! temporary file and a rename so a crash never leaves a half-written model.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use ite_core::{Params, Seed};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

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
#[derive(Debug, Clone, Serialize)]
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
    /// differs, a field is malformed or out of range, or a tensor is missing, of the wrong
    /// shape or not finite (see [`Self::load_on`]).
    /// Feature names are checked at prediction.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        Self::load_on(dir, &Device::Cpu)
    }

    /// [`Self::load`] onto `device`: the model predicts there, and transfer strategies started
    /// from it train there. Every field is validated ([`NetsError::InvalidModel`] names the file
    /// and field): hyperparameters, finite scaler means and finite positive sds of the right
    /// sizes, and every tensor present, `f32`, of the shape the hyperparameters give, and finite.
    pub fn load_on(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let meta_path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&meta_path).map_err(|e| NetsError::io(&meta_path, e))?;
        let meta = read_meta(&text, &meta_path)?;
        let p = meta.feature_names.len();
        let weights_path = dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&weights_path).map_err(|e| NetsError::io(&weights_path, e))?;
        let loaded = candle_core::safetensors::load_buffer(&bytes, device)
            .map_err(|e| NetsError::invalid(&weights_path, "(safetensors)", format!("cannot read tensors: {e}")))?;
        let expected = parameter_count(&meta.params, p);
        let found: usize = loaded.values().map(Tensor::elem_count).sum();
        if expected != Some(found) {
            return Err(NetsError::invalid(
                &weights_path,
                "(all tensors)",
                format!(
                    "hold {found} numbers, but the hyperparameters in {META_FILE} with {p} covariates need {}",
                    expected.map_or("more than fit in memory".into(), |n| n.to_string())
                ),
            ));
        }
        let net = TarNet::new_on(&meta.params, p, Seed::new(0), device)?;
        let names = net.vars().names();
        if let Some(extra) = loaded.keys().find(|k| !names.contains(k)) {
            return Err(NetsError::invalid(
                &weights_path,
                extra.as_str(),
                "unexpected tensor (not part of this network)",
            ));
        }
        for name in names {
            let Some(t) = loaded.get(&name) else {
                return Err(NetsError::invalid(&weights_path, name.as_str(), "missing tensor"));
            };
            let var = net.vars().get(&name).ok_or_else(|| NetsError::model(&weights_path, "internal: variable"))?;
            check_tensor(t, var.dims()).map_err(|problem| NetsError::invalid(&weights_path, name.as_str(), problem))?;
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

/// One field of `model.json`, named in the error when missing or of the wrong type.
fn field<T: DeserializeOwned>(v: &Value, key: &str, path: &Path) -> Result<T> {
    let x = v.get(key).ok_or_else(|| NetsError::invalid(path, key, "missing"))?;
    serde_json::from_value(x.clone()).map_err(|e| NetsError::invalid(path, key, e.to_string()))
}

/// Parses and validates `model.json`: every field present and of its type, this crate's
/// version, kind `tarnet`, hyperparameters that validate, feature names, scalers and history.
fn read_meta(text: &str, path: &Path) -> Result<Meta> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        NetsError::invalid(path, format!("line {} column {}", e.line(), e.column()), format!("malformed JSON: {e}"))
    })?;
    if !v.is_object() {
        return Err(NetsError::invalid(path, "(top level)", "expected a JSON object"));
    }
    let crate_version: String = field(&v, "crate_version", path)?;
    if crate_version != CRATE_VERSION {
        let problem = format!("written by ite-nets {crate_version} but this is ite-nets {CRATE_VERSION}");
        return Err(NetsError::invalid(path, "crate_version", problem));
    }
    let kind: String = field(&v, "kind", path)?;
    if kind != "tarnet" {
        return Err(NetsError::invalid(path, "kind", format!("`{kind}` is not `tarnet`")));
    }
    let meta = Meta {
        kind,
        crate_version,
        params: field(&v, "params", path)?,
        feature_names: field(&v, "feature_names", path)?,
        x_scaler: field(&v, "x_scaler", path)?,
        y_scaler: field(&v, "y_scaler", path)?,
        history: field(&v, "history", path)?,
    };
    meta.params.validate().map_err(|e| NetsError::invalid(path, "params", e.to_string()))?;
    let names = &meta.feature_names;
    if names.is_empty() {
        return Err(NetsError::invalid(path, "feature_names", "empty, expected at least one covariate"));
    }
    for (j, name) in names.iter().enumerate() {
        if name.trim().is_empty() || names[..j].contains(name) {
            return Err(NetsError::invalid(
                path,
                format!("feature_names[{j}]"),
                format!("`{name}` is empty or repeated"),
            ));
        }
    }
    for (key, scaler, len) in [("x_scaler", &meta.x_scaler, names.len()), ("y_scaler", &meta.y_scaler, 1)] {
        scaler.check(len).map_err(|(f, problem)| NetsError::invalid(path, format!("{key}.{f}"), problem))?;
    }
    for (k, e) in meta.history.epochs.iter().enumerate() {
        if !e.train_loss.is_finite() || e.val_loss.is_some_and(|l| !l.is_finite()) {
            return Err(NetsError::invalid(path, format!("history.epochs[{k}]"), "a loss is not a finite number"));
        }
    }
    Ok(meta)
}

/// The number of weights and biases of a TARNet with `p` inputs, `None` on overflow.
fn parameter_count(params: &TarNetParams, p: usize) -> Option<usize> {
    let mlp = |widths: &[usize]| {
        widths.windows(2).try_fold(0usize, |acc, w| acc.checked_add(w[0].checked_mul(w[1])?)?.checked_add(w[1]))
    };
    let phi: Vec<usize> = std::iter::once(p).chain(params.phi_layers.iter().copied()).collect();
    let head: Vec<usize> =
        std::iter::once(params.rep_dim()).chain(params.head_layers.iter().copied()).chain([1]).collect();
    mlp(&phi)?.checked_add(mlp(&head)?.checked_mul(2)?)
}

/// A stored tensor has `dims`, dtype `f32` and only finite values; else what is wrong.
fn check_tensor(t: &Tensor, dims: &[usize]) -> std::result::Result<(), String> {
    if t.dims() != dims {
        return Err(format!("has shape {:?}, expected {dims:?}", t.dims()));
    }
    if t.dtype() != DType::F32 {
        return Err(format!("has dtype {:?}, expected f32", t.dtype()));
    }
    let values = t.flatten_all().and_then(|f| f.to_vec1::<f32>()).map_err(|e| format!("cannot read values: {e}"))?;
    if let Some((k, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        let cols = dims.get(1).copied().unwrap_or(1).max(1);
        let at = if dims.len() == 2 { format!("[{}, {}]", k / cols, k % cols) } else { format!("[{k}]") };
        return Err(format!("element {at} is {v}, expected a finite number"));
    }
    Ok(())
}

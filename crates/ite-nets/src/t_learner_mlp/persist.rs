//! Saving and loading a fitted MLP T-learner: `model.safetensors` (the two networks' weights,
//! `m0.K.weight|bias`, `m1.K.weight|bias`) and `model.json` (kind `mlp-t-learner`, crate
//! version, feature names, scalers, activation and layer widths), as [`crate::persist`] does
//! for TARNet; each file through a temporary file and a rename.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::MlpTLearner;
use crate::error::{NetsError, Result};
use ite_core::OutcomeType;

use crate::hyperparams::Activation;
use crate::mlp::{Dense, Mlp};
use crate::persist::{CRATE_VERSION, META_FILE, WEIGHTS_FILE};
use crate::scaler::Standardizer;

/// The contents of `model.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    kind: String,
    crate_version: String,
    feature_names: Vec<String>,
    x_scaler: Standardizer,
    y_scaler: Standardizer,
    activation: Activation,
    /// Widths of each arm's network, input first (p, hidden…, 1).
    widths: Vec<usize>,
    /// Continuous or binary (heads give logits); files without it are continuous.
    #[serde(default)]
    outcome_type: OutcomeType,
}

/// The kind `model.json` names.
const KIND: &str = "mlp-t-learner";

fn widths(m: &Mlp) -> Vec<usize> {
    let mut w: Vec<usize> = m.layers.first().map(|l| vec![l.weight.dims()[0]]).unwrap_or_default();
    w.extend(m.layers.iter().map(|l| l.bias.dims()[0]));
    w
}

impl MlpTLearner {
    /// Writes `dir/model.safetensors` and `dir/model.json` (creating `dir` if needed).
    ///
    /// # Errors
    /// A file cannot be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| NetsError::io(dir, e))?;
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        for (name, m) in [("m0", &self.m0), ("m1", &self.m1)] {
            for (k, l) in m.layers.iter().enumerate() {
                tensors.insert(format!("{name}.{k}.weight"), l.weight.as_tensor().to_device(&Device::Cpu)?);
                tensors.insert(format!("{name}.{k}.bias"), l.bias.as_tensor().to_device(&Device::Cpu)?);
            }
        }
        let tmp = dir.join(format!(".ite-tmp-{}-{WEIGHTS_FILE}", std::process::id()));
        candle_core::safetensors::save(&tensors, &tmp)?;
        let bytes = std::fs::read(&tmp).map_err(|e| NetsError::io(&tmp, e));
        let _ = std::fs::remove_file(&tmp);
        let bytes = bytes?;
        ite_core::write_atomic(dir.join(WEIGHTS_FILE), |w| w.write_all(&bytes))?;
        let meta = Meta {
            kind: KIND.into(),
            crate_version: CRATE_VERSION.into(),
            feature_names: self.feature_names.clone(),
            x_scaler: self.x_scaler.clone(),
            y_scaler: self.y_scaler.clone(),
            activation: self.m0.activation,
            widths: widths(&self.m0),
            outcome_type: self.outcome_type,
        };
        ite_core::write_atomic(dir.join(META_FILE), |w| {
            serde_json::to_writer_pretty(&mut *w, &meta).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        })?;
        Ok(())
    }

    /// Reads a model written by [`Self::save`] onto the CPU; every field and tensor is checked
    /// ([`NetsError::InvalidModel`] names the file and the field).
    ///
    /// # Errors
    /// A file is missing or malformed, the crate version differs, or a tensor is missing, of the
    /// wrong shape or not finite.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let meta_path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&meta_path).map_err(|e| NetsError::io(&meta_path, e))?;
        let meta: Meta = serde_json::from_str(&text)
            .map_err(|e| NetsError::invalid(&meta_path, "(top level)", format!("not a saved MLP T-learner: {e}")))?;
        check_meta(&meta, &meta_path)?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&weights_path).map_err(|e| NetsError::io(&weights_path, e))?;
        let device = Device::Cpu;
        let loaded = candle_core::safetensors::load_buffer(&bytes, &device)
            .map_err(|e| NetsError::invalid(&weights_path, "(safetensors)", format!("cannot read tensors: {e}")))?;
        let layers = meta.widths.len() - 1;
        if loaded.len() != 4 * layers {
            let problem = format!("{} tensors, expected {} for {layers} layers per arm", loaded.len(), 4 * layers);
            return Err(NetsError::invalid(&weights_path, "(all tensors)", problem));
        }
        let arm = |name: &str| -> Result<Mlp> {
            let mut dense = Vec::with_capacity(layers);
            for (k, w) in meta.widths.windows(2).enumerate() {
                let get = |part: &str, dims: &[usize]| -> Result<Var> {
                    let key = format!("{name}.{k}.{part}");
                    let t =
                        loaded.get(&key).ok_or_else(|| NetsError::invalid(&weights_path, &key, "missing tensor"))?;
                    check_tensor(t, dims).map_err(|problem| NetsError::invalid(&weights_path, &key, problem))?;
                    Ok(Var::from_tensor(t)?)
                };
                dense.push(Dense { weight: get("weight", &[w[0], w[1]])?, bias: get("bias", &[w[1]])? });
            }
            Ok(Mlp { layers: dense, activation: meta.activation, activate_last: false })
        };
        let (m0, m1) = (arm("m0")?, arm("m1")?);
        Ok(MlpTLearner {
            m0,
            m1,
            x_scaler: meta.x_scaler,
            y_scaler: meta.y_scaler,
            feature_names: meta.feature_names,
            device,
            outcome_type: meta.outcome_type,
        })
    }
}

/// Kind, version, features, scalers and widths of a read `model.json`.
fn check_meta(meta: &Meta, path: &Path) -> Result<()> {
    if meta.kind != KIND {
        return Err(NetsError::invalid(path, "kind", format!("`{}` is not `{KIND}`", meta.kind)));
    }
    if meta.crate_version != CRATE_VERSION {
        let problem = format!("written by ite-nets {} but this is ite-nets {CRATE_VERSION}", meta.crate_version);
        return Err(NetsError::invalid(path, "crate_version", problem));
    }
    let p = meta.feature_names.len();
    if p == 0 {
        return Err(NetsError::invalid(path, "feature_names", "empty, expected at least one covariate"));
    }
    let w = &meta.widths;
    if w.len() < 2 || w[0] != p || w[w.len() - 1] != 1 || w.contains(&0) {
        let problem = format!("{w:?}: expected {p} (the covariates), the hidden widths (each ≥ 1), then 1");
        return Err(NetsError::invalid(path, "widths", problem));
    }
    for (key, scaler, len) in [("x_scaler", &meta.x_scaler, p), ("y_scaler", &meta.y_scaler, 1)] {
        scaler.check(len).map_err(|(f, problem)| NetsError::invalid(path, format!("{key}.{f}"), problem))?;
    }
    Ok(())
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
    if values.iter().any(|v| !v.is_finite()) {
        return Err("holds a value that is not a finite number".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ite_core::{IteModel, Seed};

    use super::*;
    use crate::MlpTLearnerParams;

    #[test]
    fn a_saved_mlp_t_learner_predicts_exactly_as_before_and_a_bad_tensor_is_named() {
        let data = small_sample();
        let params = MlpTLearnerParams { layers: vec![8, 4], max_epochs: 3, ..MlpTLearnerParams::default() };
        let m = params.fit_on(&data, Seed::new(1), &Device::Cpu).unwrap();
        let dir = tempfile::tempdir().unwrap();
        m.save(dir.path()).unwrap();
        let back = MlpTLearner::load(dir.path()).unwrap();
        let (a, b) = (back.predict(data.x()).unwrap(), m.predict(data.x()).unwrap());
        assert_eq!((a.mu0, a.mu1), (b.mu0, b.mu1));
        let meta = dir.path().join(META_FILE);
        let text = std::fs::read_to_string(&meta).unwrap().replace("\"widths\": [\n    2,", "\"widths\": [\n    3,");
        std::fs::write(&meta, text).unwrap();
        assert!(MlpTLearner::load(dir.path()).unwrap_err().to_string().contains("widths"));
    }

    /// A small two-covariate sample with both arms.
    fn small_sample() -> ite_core::CausalData {
        let n = 60;
        let x: Vec<f64> = (0..2 * n).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
        let t: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
        let y: Vec<f64> = (0..n).map(|i| x[2 * i] + f64::from(t[i]) * x[2 * i + 1]).collect();
        let cov = ite_core::Covariates::new(x, vec!["a".into(), "b".into()]).unwrap();
        ite_core::CausalData::new(cov, t, y).unwrap()
    }
}

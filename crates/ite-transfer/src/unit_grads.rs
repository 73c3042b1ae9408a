//! The sum over units of the squared per-unit gradient of a TARNet's factual squared error
//! (the raw diagonal Fisher information of [`crate::fisher`]), by a hand-written forward and
//! backward pass in f64 on the host: one pass per unit through the weights, instead of a
//! candle graph and a backward walk per unit (which cost about 40 µs a unit at the study's
//! size and dominated a grid's CITA). For a dense layer `z = a W + b`, unit `i`'s gradient
//! is `∂/∂W[j][o] = a_i[j] · δ_i[o]` and `∂/∂b[o] = δ_i[o]`, with `δ_i = ∂loss_i/∂z`.

use ite_nets::{Activation, FittedTarNet};

use crate::error::{Result, TransferError};

/// One dense layer with its weights in f64 and where its gradients go in the diagonal.
struct Layer {
    /// `n_in × n_out`, row-major (the layout of `ite_nets::mlp::Dense`).
    w: Vec<f64>,
    b: Vec<f64>,
    n_in: usize,
    n_out: usize,
    /// Offsets of the weight's and the bias's entries in the diagonal.
    w_off: usize,
    b_off: usize,
    /// Whether the activation follows the layer.
    act: bool,
}

/// What a layer saw on one unit: its input and its pre-activation output.
struct Trace {
    a: Vec<f64>,
    z: Vec<f64>,
}

/// A TARNet's Φ, h0 and h1 on the host.
pub(crate) struct HostNet {
    phi: Vec<Layer>,
    heads: [Vec<Layer>; 2],
    activation: Activation,
    /// Length of the diagonal (every weight, in the name order of `TarNetVars::iter_sorted`).
    pub(crate) len: usize,
}

impl HostNet {
    /// The network of `model`, or `None` when its representation is unit-normed (not covered
    /// here).
    ///
    /// # Errors
    /// A weight that cannot be read, or a variable layout other than a TARNet's.
    pub(crate) fn of(model: &FittedTarNet) -> Result<Option<HostNet>> {
        let params = model.params();
        if params.unit_norm {
            return Ok(None);
        }
        let vars = model.vars().iter_sorted();
        let mut offsets = std::collections::HashMap::new();
        let mut len = 0;
        for (name, v) in &vars {
            offsets.insert(name.clone(), (len, v));
            len += v.elem_count();
        }
        let mlp = |prefix: &str, last_act: bool| -> Result<Vec<Layer>> {
            let mut layers = Vec::new();
            while let (Some(&(w_off, w)), Some(&(b_off, b))) = (
                offsets.get(&format!("{prefix}.{}.weight", layers.len())),
                offsets.get(&format!("{prefix}.{}.bias", layers.len())),
            ) {
                let (n_in, n_out) = w.as_tensor().dims2()?;
                let to_f64 = |t: &candle_core::Tensor| -> Result<Vec<f64>> {
                    Ok(t.flatten_all()?.to_vec1::<f32>()?.into_iter().map(f64::from).collect())
                };
                let (w, b) = (to_f64(w.as_tensor())?, to_f64(b.as_tensor())?);
                layers.push(Layer { w, b, n_in, n_out, w_off, b_off, act: true });
            }
            let Some(last) = layers.last_mut() else {
                return Err(TransferError::param("model", prefix, "a TARNet with layers `phi`, `h0`, `h1`"));
            };
            last.act = last_act;
            Ok(layers)
        };
        let phi = mlp("phi", params.phi_final_activation)?;
        let heads = [mlp("h0", false)?, mlp("h1", false)?];
        Ok(Some(HostNet { phi, heads, activation: params.activation, len }))
    }

    /// Adds unit `x`'s squared gradient of `(head_arm(Φ(x)) − y)²` to `acc` (`x` standardised,
    /// `y` on the model's standardised scale).
    pub(crate) fn add_squared_gradient(&self, x: &[f64], y: f64, arm: usize, acc: &mut [f64]) {
        let mut traces = Vec::with_capacity(self.phi.len() + self.heads[arm].len());
        let mut a = x.to_vec();
        for layer in self.phi.iter().chain(&self.heads[arm]) {
            let mut z = layer.b.clone();
            for (i, &ai) in a.iter().enumerate() {
                let row = &layer.w[i * layer.n_out..(i + 1) * layer.n_out];
                z.iter_mut().zip(row).for_each(|(zo, w)| *zo += ai * w);
            }
            let out = if layer.act { z.iter().map(|&v| self.act(v)).collect() } else { z.clone() };
            traces.push(Trace { a: std::mem::replace(&mut a, out), z });
        }
        // `a` is the head's output, one value.
        let mut delta = vec![2.0 * (a[0] - y)];
        let layers: Vec<&Layer> = self.phi.iter().chain(&self.heads[arm]).collect();
        for (layer, trace) in layers.iter().zip(&traces).rev() {
            if layer.act {
                delta.iter_mut().zip(&trace.z).for_each(|(d, &z)| *d *= self.slope(z));
            }
            for (o, d) in delta.iter().enumerate() {
                acc[layer.b_off + o] += d * d;
            }
            let mut below = vec![0.0; layer.n_in];
            for (i, (ai, bi)) in trace.a.iter().zip(below.iter_mut()).enumerate() {
                let row = &layer.w[i * layer.n_out..(i + 1) * layer.n_out];
                let g = &mut acc[layer.w_off + i * layer.n_out..layer.w_off + (i + 1) * layer.n_out];
                for ((go, d), w) in g.iter_mut().zip(&delta).zip(row) {
                    let gi = ai * d;
                    *go += gi * gi;
                    *bi += w * d;
                }
            }
            delta = below;
        }
    }

    fn act(&self, z: f64) -> f64 {
        match self.activation {
            Activation::Relu => z.max(0.0),
            Activation::Elu => {
                if z > 0.0 {
                    z
                } else {
                    z.exp_m1()
                }
            }
        }
    }

    /// The activation's derivative at `z` (ReLU: 0 at 0, as candle's).
    fn slope(&self, z: f64) -> f64 {
        match (self.activation, z > 0.0) {
            (_, true) => 1.0,
            (Activation::Relu, false) => 0.0,
            (Activation::Elu, false) => z.exp(),
        }
    }
}

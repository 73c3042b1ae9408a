//! The stacked parameters of one pack: up to [`LANES`] TARNets of one architecture, every
//! tensor lane-interleaved (value `j` of network `k` at `[j][k]`), with gradients, Adam
//! moments, the forward outputs and backward deltas of a minibatch, and the copy in and out of
//! a network's named variables.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use crate::error::Result;
use crate::hyperparams::{Activation, TarNetParams};
use crate::kernels::lanes::{self, Act, AdamLanes, Dims, LANES, Lanes};
use crate::vars::VarGroup;

/// One dense layer of a pack.
pub(crate) struct Layer {
    /// `<group>.<index>`, the prefix of its variables' names.
    pub(crate) name: String,
    pub(crate) n_in: usize,
    pub(crate) n_out: usize,
    pub(crate) act: Act,
    pub(crate) w: Vec<Lanes>,
    pub(crate) b: Vec<Lanes>,
    pub(crate) gw: Vec<Lanes>,
    pub(crate) gb: Vec<Lanes>,
    mw: Vec<Lanes>,
    vw: Vec<Lanes>,
    mb: Vec<Lanes>,
    vb: Vec<Lanes>,
    /// Forward output of the current rows (`rows × n_out`).
    pub(crate) out: Vec<Lanes>,
    /// Gradient at the output, then at the pre-activation (`rows × n_out`).
    pub(crate) delta: Vec<Lanes>,
}

impl Layer {
    fn dims(&self, rows: usize) -> Dims {
        Dims { rows, n_in: self.n_in, n_out: self.n_out }
    }

    /// Lane `k` of the weight (`n_in × n_out`, row-major) and bias.
    fn lane(&self, k: usize) -> (Vec<f32>, Vec<f32>) {
        (self.w.iter().map(|v| v[k]).collect(), self.b.iter().map(|v| v[k]).collect())
    }
}

/// One multilayer perceptron of a pack (Φ, h0 or h1).
pub(crate) struct Stack {
    pub(crate) layers: Vec<Layer>,
}

impl Stack {
    fn new(group: VarGroup, widths: &[usize], act: Act, activate_last: bool, rows: usize) -> Self {
        let last = widths.len().saturating_sub(2);
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(k, w)| {
                let (n_in, n_out) = (w[0], w[1]);
                let zeros = |n: usize| vec![[0f32; LANES]; n];
                Layer {
                    name: format!("{}.{k}", group.name()),
                    n_in,
                    n_out,
                    act: if k < last || activate_last { act } else { Act::Identity },
                    w: zeros(n_in * n_out),
                    b: zeros(n_out),
                    gw: zeros(n_in * n_out),
                    gb: zeros(n_out),
                    mw: zeros(n_in * n_out),
                    vw: zeros(n_in * n_out),
                    mb: zeros(n_out),
                    vb: zeros(n_out),
                    out: zeros(rows * n_out),
                    delta: zeros(rows * n_out),
                }
            })
            .collect();
        Stack { layers }
    }

    /// The output of the last layer for the rows of the last forward pass.
    pub(crate) fn output(&self) -> &[Lanes] {
        self.layers.last().map_or(&[], |l| l.out.as_slice())
    }

    /// Forward pass over the first `rows` rows of `input` (`rows × n_in`).
    pub(crate) fn forward(&mut self, input: &[Lanes], rows: usize) {
        for l in 0..self.layers.len() {
            let (before, rest) = self.layers.split_at_mut(l);
            let layer = &mut rest[0];
            let x = before.last().map_or(input, |p| &p.out[..rows * p.n_out]);
            let d = layer.dims(rows);
            lanes::dense_forward(x, &layer.w, &layer.b, &mut layer.out[..rows * d.n_out], d, layer.act);
        }
    }

    /// Backward pass from the gradient at the output, already in the last layer's `delta`:
    /// the parameter gradients (when `train`), and the gradient at the input written to
    /// `d_input` (when given).
    pub(crate) fn backward(&mut self, input: &[Lanes], rows: usize, train: bool, d_input: Option<&mut [Lanes]>) {
        let n = self.layers.len();
        let mut d_input = d_input;
        for l in (0..n).rev() {
            let (before, rest) = self.layers.split_at_mut(l);
            let layer = &mut rest[0];
            let d = layer.dims(rows);
            let m = rows * d.n_out;
            lanes::activation_backward(&mut layer.delta[..m], &layer.out[..m], layer.act);
            let x = before.last().map_or(input, |p| &p.out[..rows * p.n_out]);
            if train {
                lanes::dense_backward_params(x, &layer.delta[..m], &mut layer.gw, &mut layer.gb, d);
            }
            match before.last_mut() {
                Some(prev) => {
                    lanes::dense_backward_input(&layer.delta[..m], &layer.w, &mut prev.delta[..rows * d.n_in], d)
                }
                None => {
                    if let Some(di) = d_input.as_deref_mut() {
                        lanes::dense_backward_input(&layer.delta[..m], &layer.w, &mut di[..rows * d.n_in], d);
                    }
                }
            }
        }
    }

    /// One Adam update of every layer (weights with `l2x2`, biases without).
    pub(crate) fn adam(&mut self, k: &AdamLanes, l2x2: f32) {
        for layer in &mut self.layers {
            lanes::adam_lanes(&mut layer.w, &layer.gw, &mut layer.mw, &mut layer.vw, &AdamLanes { l2x2, ..*k });
            lanes::adam_lanes(&mut layer.b, &layer.gb, &mut layer.mb, &mut layer.vb, &AdamLanes { l2x2: 0.0, ..*k });
        }
    }

    /// Per lane, Σ‖W‖² over the layers' weights (f64, for reporting).
    pub(crate) fn weight_sq_norms(&self) -> [f64; LANES] {
        let mut s = [0f64; LANES];
        for layer in &self.layers {
            for v in &layer.w {
                for k in 0..LANES {
                    s[k] += f64::from(v[k]) * f64::from(v[k]);
                }
            }
        }
        s
    }
}

/// The networks of a pack: Φ and the two heads.
pub(crate) struct PackNet {
    pub(crate) phi: Stack,
    pub(crate) h0: Stack,
    pub(crate) h1: Stack,
}

/// A network's weights by variable name, on the host: `(shape, row-major values)`.
pub(crate) type HostWeights = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

impl PackNet {
    /// A pack for `p` covariates with buffers for `rows` rows, every lane zero.
    pub(crate) fn new(params: &TarNetParams, p: usize, rows: usize) -> Self {
        let act = match params.activation {
            Activation::Relu => Act::Relu,
            Activation::Elu => Act::Elu,
        };
        let mut phi_w = vec![p];
        phi_w.extend_from_slice(&params.phi_layers);
        let mut head_w = vec![params.rep_dim()];
        head_w.extend_from_slice(&params.head_layers);
        head_w.push(1);
        PackNet {
            phi: Stack::new(VarGroup::Phi, &phi_w, act, params.phi_final_activation, rows),
            h0: Stack::new(VarGroup::H0, &head_w, act, false, rows),
            h1: Stack::new(VarGroup::H1, &head_w, act, false, rows),
        }
    }

    fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.phi.layers.iter().chain(&self.h0.layers).chain(&self.h1.layers)
    }

    fn layers_mut(&mut self) -> impl Iterator<Item = &mut Layer> {
        self.phi.layers.iter_mut().chain(&mut self.h0.layers).chain(&mut self.h1.layers)
    }

    /// Sets lane `k` to a network's weights (every `<layer>.weight` and `<layer>.bias`).
    pub(crate) fn set_lane(&mut self, k: usize, weights: &HostWeights) -> Result<()> {
        for layer in self.layers_mut() {
            for (suffix, dst) in [("weight", &mut layer.w), ("bias", &mut layer.b)] {
                let name = format!("{}.{suffix}", layer.name);
                let Some((_, values)) = weights.get(&name).filter(|(_, v)| v.len() == dst.len()) else {
                    return Err(crate::error::NetsError::param(
                        "prior",
                        &name,
                        "a network of the same architecture (the variable is missing or has another shape)",
                    ));
                };
                for (d, &v) in dst.iter_mut().zip(values) {
                    d[k] = v;
                }
            }
        }
        Ok(())
    }

    /// Lane `k`'s weights as named CPU tensors (for [`crate::vars::TarNetVars::restore`]).
    pub(crate) fn lane_tensors(&self, k: usize) -> Result<BTreeMap<String, Tensor>> {
        let mut out = BTreeMap::new();
        for layer in self.layers() {
            let (w, b) = layer.lane(k);
            out.insert(format!("{}.weight", layer.name), Tensor::from_vec(w, (layer.n_in, layer.n_out), &Device::Cpu)?);
            out.insert(format!("{}.bias", layer.name), Tensor::from_vec(b, layer.n_out, &Device::Cpu)?);
        }
        Ok(out)
    }

    /// Copies lane `k` of every weight and bias into `into` (same architecture).
    pub(crate) fn copy_lane_to(&self, k: usize, into: &mut PackNet) {
        for (src, dst) in self.layers().zip(into.layers_mut()) {
            for (s, d) in src.w.iter().zip(dst.w.iter_mut()) {
                d[k] = s[k];
            }
            for (s, d) in src.b.iter().zip(dst.b.iter_mut()) {
                d[k] = s[k];
            }
        }
    }

    /// A copy of the weights and biases only (the best-epoch snapshot).
    pub(crate) fn weights_only(&self, params: &TarNetParams, p: usize) -> PackNet {
        let mut copy = PackNet::new(params, p, 0);
        for (src, dst) in self.layers().zip(copy.layers_mut()) {
            dst.w.clone_from(&src.w);
            dst.b.clone_from(&src.b);
        }
        copy
    }
}

/// A network's variables as host weights.
pub(crate) fn host_weights(values: &BTreeMap<String, Tensor>) -> Result<HostWeights> {
    values
        .iter()
        .map(|(name, t)| {
            let t = t.to_device(&Device::Cpu)?.to_dtype(candle_core::DType::F32)?;
            Ok((name.clone(), (t.dims().to_vec(), t.flatten_all()?.to_vec1::<f32>()?)))
        })
        .collect()
}

//! One minibatch of a pack: the rows of every lane gathered into a lane-interleaved tile, the
//! forward pass, the TARNet/CFR objective per lane (weighted factual MSE, α · linear MMD²) and
//! its gradients down to every trained layer; and the factual loss of held-out rows.

use crate::batched::pack::PackNet;
use crate::batched::rows::TaskRows;
use crate::kernels::lanes::{LANES, Lanes};

/// The rows of one minibatch (or validation chunk) of every lane: `rows` rows, a lane with
/// fewer rows padded with copies of a real row that carry weight 0 and `valid` 0.
pub(crate) struct Tile {
    pub(crate) rows: usize,
    p: usize,
    x: Vec<Lanes>,
    y: Vec<Lanes>,
    t: Vec<Lanes>,
    w: Vec<Lanes>,
    valid: Vec<Lanes>,
    /// Real rows per lane (at least 1, the divisor of the mean).
    n: Lanes,
    /// Rows `0..h1_end` hold every lane's treated rows: h1 runs on those only.
    h1_end: usize,
    /// Rows `h0_start..rows` hold every lane's control rows: h0 runs on those only.
    h0_start: usize,
}

impl Tile {
    /// An empty tile for up to `cap` rows of `p` covariates.
    pub(crate) fn new(cap: usize, p: usize) -> Self {
        let z = |n: usize| vec![[0f32; LANES]; n];
        Tile {
            rows: 0,
            p,
            x: z(cap * p),
            y: z(cap),
            t: z(cap),
            w: z(cap),
            valid: z(cap),
            n: [1.0; LANES],
            h1_end: 0,
            h0_start: 0,
        }
    }

    /// Fills the tile with `lanes[k]`'s rows `rows_of[k]` (an empty list: the lane takes no
    /// part in this minibatch).
    pub(crate) fn fill(&mut self, lanes: &[&TaskRows; LANES], rows_of: &[Vec<usize>; LANES]) {
        self.rows = rows_of.iter().map(Vec::len).max().unwrap_or(0);
        let (rows, p) = (self.rows, self.p);
        self.n = std::array::from_fn(|k| rows_of[k].len().max(1) as f32);
        let (mut h1_end, mut h0_start) = (0, rows);
        // Lane by lane: each lane's rows are read in order from its own data.
        for (k, (task, mine)) in lanes.iter().zip(rows_of).enumerate() {
            let filler = mine.first().copied().unwrap_or(0);
            for r in 0..rows {
                let (i, real) = match mine.get(r) {
                    Some(&i) => (i, true),
                    None => (filler, false),
                };
                let treated = task.t[i] == 1;
                self.y[r][k] = task.y[i];
                self.t[r][k] = f32::from(task.t[i]);
                self.w[r][k] = if real { task.w[i] } else { 0.0 };
                self.valid[r][k] = if real { 1.0 } else { 0.0 };
                // Without a branch on the row's arm, which would be mispredicted often.
                h1_end = h1_end.max((r + 1) * usize::from(real && treated));
                h0_start = h0_start.min(if real && !treated { r } else { rows });
                for (dst, &v) in self.x[r * p..(r + 1) * p].iter_mut().zip(&task.x[i * p..(i + 1) * p]) {
                    dst[k] = v;
                }
            }
        }
        (self.h1_end, self.h0_start) = (h1_end, h0_start);
    }
}

/// Which groups train.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trained {
    pub(crate) phi: bool,
    pub(crate) h0: bool,
    pub(crate) h1: bool,
}

/// Gradient scratch of the representation (`cap × rep_dim`, twice).
pub(crate) struct Scratch {
    d_rep0: Vec<Lanes>,
    d_rep1: Vec<Lanes>,
}

impl Scratch {
    pub(crate) fn new(cap: usize, rep: usize) -> Self {
        Scratch { d_rep0: vec![[0f32; LANES]; cap * rep], d_rep1: vec![[0f32; LANES]; cap * rep] }
    }
}

/// Forward pass of Φ and both heads on the tile's rows.
fn forward(net: &mut PackNet, tile: &Tile) {
    let rows = tile.rows;
    net.phi.forward(&tile.x[..rows * tile.p], rows);
    let rep = net.phi.output();
    net.h0.forward(rep, rows);
    net.h1.forward(rep, rows);
}

/// Per lane, `Σ_r w_r (y_r − ŷ_r)²` over the tile's rows (ascending), `ŷ = h_t(Φ(x))`.
pub(crate) fn factual_sums(net: &mut PackNet, tile: &Tile) -> Lanes {
    forward(net, tile);
    let (h0, h1) = (net.h0.output(), net.h1.output());
    let mut s = [0f32; LANES];
    for r in 0..tile.rows {
        for k in 0..LANES {
            let pred = if tile.t[r][k] > 0.5 { h1[r][k] } else { h0[r][k] };
            let e = tile.y[r][k] - pred;
            s[k] += tile.w[r][k] * e * e;
        }
    }
    s
}

/// The objective's terms of one minibatch, per lane.
pub(crate) struct StepLoss {
    /// `mean_r w_r (y_r − ŷ_r)²`.
    pub(crate) factual: Lanes,
    /// `α · ‖mean Φ(treated) − mean Φ(control)‖²` (0 without both arms or with α = 0).
    pub(crate) ipm: Lanes,
}

/// The objective of the tile's minibatch and, for the trained groups, its gradients (left in
/// the pack's layers for [`crate::batched::pack::Stack::adam`]).
pub(crate) fn loss_and_gradients(
    net: &mut PackNet,
    tile: &Tile,
    alpha: f32,
    trained: Trained,
    scratch: &mut Scratch,
) -> StepLoss {
    let rows = tile.rows;
    let rep_dim = net.phi.layers.last().map_or(0, |l| l.n_out);
    // Φ on every row; each head only on the rows where some lane has that arm (a head's
    // gradient is exactly zero on the other arm's rows, so skipping them changes no bit).
    let (h1_end, h0_start) = (tile.h1_end, tile.h0_start);
    net.phi.forward(&tile.x[..rows * tile.p], rows);
    {
        let rep = net.phi.output();
        net.h1.forward(&rep[..h1_end * rep_dim], h1_end);
        net.h0.forward(&rep[h0_start * rep_dim..rows * rep_dim], rows - h0_start);
    }
    let mut factual = [0f32; LANES];
    if let (Some(l0), Some(l1)) = (net.h0.layers.last_mut(), net.h1.layers.last_mut()) {
        // The heads' output gradients, written straight into their last layers' deltas.
        // Every row of both is written below.
        let (g0, g1) = (&mut l0.delta[..rows - h0_start], &mut l1.delta[..h1_end]);
        let scale: Lanes = std::array::from_fn(|k| -2.0 / tile.n[k]);
        for r in 0..rows {
            // Selects rather than branches on each lane's arm and validity (the compiler
            // vectorises them; the values are those of skipping a padding row).
            let out1 = if r < h1_end { l1.out[r] } else { [0.0; LANES] };
            let out0 = if r >= h0_start { l0.out[r - h0_start] } else { [0.0; LANES] };
            let (mut gr1, mut gr0) = ([0f32; LANES], [0f32; LANES]);
            for k in 0..LANES {
                let (treated, valid) = (tile.t[r][k] > 0.5, tile.valid[r][k] != 0.0);
                let e = tile.y[r][k] - if treated { out1[k] } else { out0[k] };
                let sum = factual[k] + tile.w[r][k] * e * e;
                factual[k] = if valid { sum } else { factual[k] };
                let g = scale[k] * tile.w[r][k] * e;
                gr1[k] = if valid && treated { g } else { 0.0 };
                gr0[k] = if valid && !treated { g } else { 0.0 };
            }
            if r < h1_end {
                g1[r] = gr1;
            }
            if r >= h0_start {
                g0[r - h0_start] = gr0;
            }
        }
    }
    for (f, n) in factual.iter_mut().zip(tile.n) {
        *f /= n;
    }
    let need_rep_grad = trained.phi;
    {
        let rep = net.phi.output();
        let (d0, d1) = (&mut scratch.d_rep0[..rows * rep_dim], &mut scratch.d_rep1[..rows * rep_dim]);
        d0[..h0_start * rep_dim].fill([0.0; LANES]);
        d1[h1_end * rep_dim..].fill([0.0; LANES]);
        net.h0.backward(
            &rep[h0_start * rep_dim..rows * rep_dim],
            rows - h0_start,
            trained.h0,
            need_rep_grad.then_some(&mut d0[h0_start * rep_dim..]),
        );
        net.h1.backward(
            &rep[..h1_end * rep_dim],
            h1_end,
            trained.h1,
            need_rep_grad.then_some(&mut d1[..h1_end * rep_dim]),
        );
    }
    let mut ipm = [0f32; LANES];
    let Some(last) = net.phi.layers.last_mut() else { return StepLoss { factual, ipm } };
    let rep = &last.out[..rows * rep_dim];
    if need_rep_grad {
        // Φ's output gradient, summed in place: both heads', then the IPM's.
        let d_rep = &mut last.delta[..rows * rep_dim];
        for ((d, a), b) in d_rep.iter_mut().zip(&scratch.d_rep0).zip(&scratch.d_rep1) {
            *d = std::array::from_fn(|k| a[k] + b[k]);
        }
        if alpha > 0.0 {
            ipm = linear_mmd(rep, tile, rep_dim, alpha, Some(d_rep));
        }
        net.phi.backward(&tile.x[..rows * tile.p], rows, true, None);
    } else if alpha > 0.0 {
        ipm = linear_mmd(rep, tile, rep_dim, alpha, None);
    }
    StepLoss { factual, ipm }
}

/// α · linear MMD² between the lanes' treated and control rows of `rep` (CFR's linear IPM,
/// [`crate::ipm::linear_mmd`]), with its gradient added to `d_rep` when given; 0 for a lane
/// whose minibatch lacks an arm.
fn linear_mmd(rep: &[Lanes], tile: &Tile, rep_dim: usize, alpha: f32, d_rep: Option<&mut [Lanes]>) -> Lanes {
    let rows = tile.rows;
    let (mut n1, mut n0) = ([0f32; LANES], [0f32; LANES]);
    let mut mean1 = vec![[0f32; LANES]; rep_dim];
    let mut mean0 = vec![[0f32; LANES]; rep_dim];
    for r in 0..rows {
        for k in 0..LANES {
            if tile.valid[r][k] == 0.0 {
                continue;
            }
            let treated = tile.t[r][k] > 0.5;
            if treated {
                n1[k] += 1.0
            } else {
                n0[k] += 1.0
            }
            for j in 0..rep_dim {
                let v = rep[r * rep_dim + j][k];
                if treated { mean1[j][k] += v } else { mean0[j][k] += v }
            }
        }
    }
    let mut value = [0f32; LANES];
    let mut diff = vec![[0f32; LANES]; rep_dim];
    for k in 0..LANES {
        if n1[k] == 0.0 || n0[k] == 0.0 {
            continue;
        }
        for j in 0..rep_dim {
            let d = mean1[j][k] / n1[k] - mean0[j][k] / n0[k];
            diff[j][k] = d;
            value[k] += d * d;
        }
        value[k] *= alpha;
    }
    let Some(d_rep) = d_rep else { return value };
    for r in 0..rows {
        for k in 0..LANES {
            if tile.valid[r][k] == 0.0 || n1[k] == 0.0 || n0[k] == 0.0 {
                continue;
            }
            let c = if tile.t[r][k] > 0.5 { 2.0 * alpha / n1[k] } else { -2.0 * alpha / n0[k] };
            for j in 0..rep_dim {
                d_rep[r * rep_dim + j][k] += c * diff[j][k];
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batched::pack::host_weights;
    use crate::hyperparams::{Activation, TarNetParams};
    use crate::tarnet::TarNet;
    use ite_core::{CausalData, Covariates, Seed};

    fn data(n: usize, p: usize) -> CausalData {
        let x: Vec<f64> = (0..n * p).map(|i| ((i * 7919 % 997) as f64) / 250.0 - 2.0).collect();
        let t: Vec<u8> = (0..n).map(|i| u8::from(i % 3 != 0)).collect();
        let y: Vec<f64> =
            (0..n).map(|i| x[i * p] + f64::from(t[i]) * (1.0 + x[i * p + 1]) + (i % 5) as f64 * 0.1).collect();
        let names = (0..p).map(|j| format!("x{j}")).collect();
        CausalData::new(Covariates::new(x, names).expect("x"), t, y).expect("data")
    }

    /// The objective of lane `k` (factual + α·IPM).
    fn objective(net: &mut PackNet, tile: &Tile, alpha: f32, k: usize, scratch: &mut Scratch) -> f64 {
        let all = Trained { phi: true, h0: true, h1: true };
        let l = loss_and_gradients(net, tile, alpha, all, scratch);
        f64::from(l.factual[k]) + f64::from(l.ipm[k])
    }

    /// Every analytic gradient of a few parameters of every layer of Φ, h0 and h1 against
    /// central finite differences, for ELU and ReLU, with the linear MMD² term on.
    #[test]
    fn gradients_match_finite_differences() {
        for act in [Activation::Elu, Activation::Relu] {
            let params = TarNetParams {
                phi_layers: vec![6, 5],
                head_layers: vec![4],
                activation: act,
                alpha: 0.7,
                ..TarNetParams::default()
            };
            let d = data(12, 3);
            let (xs, ys) = params.fit_scalers(&d);
            let rows =
                TaskRows::new(&TarNetParams { val_fraction: 0.0, ..params.clone() }, &d, (&xs, &ys), Seed::new(1));
            let mut net = PackNet::new(&params, 3, 12);
            for k in 0..LANES {
                let w = host_weights(
                    &TarNet::new(&params, 3, Seed::new(k as u64)).expect("net").vars().snapshot().expect("w"),
                )
                .expect("host");
                net.set_lane(k, &w).expect("lane");
            }
            let all: Vec<usize> = (0..12).collect();
            let mut tile = Tile::new(12, 3);
            tile.fill(&[&rows; LANES], &std::array::from_fn(|_| all.clone()));
            let mut scratch = Scratch::new(12, params.rep_dim());
            let k = 5;
            objective(&mut net, &tile, 0.7, k, &mut scratch);
            let analytic: Vec<Vec<f32>> = [&net.phi, &net.h0, &net.h1]
                .iter()
                .flat_map(|s| s.layers.iter().map(|l| l.gw.iter().map(|g| g[k]).collect()))
                .collect();
            let mut checked = 0;
            for (li, grads) in analytic.iter().enumerate() {
                for idx in [0, grads.len() / 2, grads.len() - 1] {
                    let h = 1e-3f32;
                    let at = |delta: f32, net: &mut PackNet| {
                        let layer = [&mut net.phi, &mut net.h0, &mut net.h1]
                            .into_iter()
                            .flat_map(|s| s.layers.iter_mut())
                            .nth(li)
                            .expect("layer");
                        layer.w[idx][k] += delta;
                    };
                    at(h, &mut net);
                    let up = objective(&mut net, &tile, 0.7, k, &mut scratch);
                    at(-2.0 * h, &mut net);
                    let down = objective(&mut net, &tile, 0.7, k, &mut scratch);
                    at(h, &mut net);
                    let fd = (up - down) / (2.0 * f64::from(h));
                    let g = f64::from(grads[idx]);
                    assert!(
                        (fd - g).abs() <= 2e-2 * fd.abs().max(g.abs()).max(5e-2),
                        "{act:?} layer {li} [{idx}]: {g} vs {fd}"
                    );
                    checked += 1;
                }
            }
            assert_eq!(checked, 3 * analytic.len());
        }
    }
}

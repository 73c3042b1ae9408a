//! Lane-interleaved kernels of the batched trainer ([`crate::batched`]): [`LANES`] networks of
//! one architecture stored side by side, value `j` of network `k` at `[j][k]`, so that one
//! vector instruction does the same scalar operation for every network.
//!
//! Each lane runs exactly the scalar arithmetic of one network trained alone, in a fixed order
//! (every dot product is a chain of fused multiply-adds over its index, ascending), and lanes
//! never interact: a network's bits do not depend on the networks beside it, on how many there
//! are, or on the register blocking below. The operations are exactly specified
//! ([`vector`]): the AVX2 + FMA build and the portable build give the same bits (tested), so
//! results are the same on every CPU.
//!
//! Shapes (all f32, one [`Lanes`] per value): activations `rows × width`, weights
//! `n_in × n_out` (the layout of [`crate::mlp::Dense`]), biases `n_out`.

mod vector;

#[cfg(target_arch = "x86_64")]
use vector::Avx;
use vector::{Portable, Vector};

/// Networks per pack: one AVX2 vector of f32.
pub(crate) const LANES: usize = 8;

/// One value of every network of a pack.
pub(crate) type Lanes = [f32; LANES];

/// The activation of a layer, as the kernels see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    /// No activation (linear output).
    Identity,
    /// `max(z, 0)`.
    Relu,
    /// `z` for `z > 0`, `exp(z) − 1` otherwise.
    Elu,
}

/// `exp(x) − 1` for `x ≤ 0` (inputs clamped to [−87, 0]): the reduction of `elu.rs`'s
/// `exp_m1_nonpositive` (x = k·ln 2 + r, a degree-7 polynomial for exp(r) by Horner's rule with
/// fused multiply-adds, 2^k from the exponent bits), in vector operations.
#[inline(always)]
fn exp_m1_nonpositive<V: Vector>(x: V) -> V {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0;
    let x = x.max(V::splat(-87.0)).min(V::splat(0.0));
    let k = x.mul(V::splat(LOG2E)).add(V::splat(ROUND)).sub(V::splat(ROUND));
    let r = x.sub(k.mul(V::splat(LN2_HI))).sub(k.mul(V::splat(LN2_LO)));
    let mut p = V::splat(1.0 / 5040.0);
    for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = r.mul_add(p, V::splat(c));
    }
    let scale = k.add(V::splat(8_388_608.0 + 127.0)).shl23();
    p.mul(scale).sub(V::splat(1.0))
}

#[inline(always)]
fn activate<V: Vector>(z: V, act: Act) -> V {
    match act {
        Act::Identity => z,
        Act::Relu => z.max(V::splat(0.0)),
        Act::Elu => z.max(V::splat(0.0)).add(exp_m1_nonpositive(z)),
    }
}

/// Runtime dispatch: `name` runs `body::<Avx>` compiled with AVX2 and FMA when the CPU has
/// both, else `body::<Portable>` (the same bits either way: see the module documentation).
macro_rules! fma_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $body:ident) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn with_fma($($arg: $ty),*) {
                    $body::<Avx>($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports AVX2 and FMA, detected just above.
                    return unsafe { with_fma($($arg),*) };
                }
            }
            $body::<Portable>($($arg),*)
        }
    };
}

/// The sizes of one dense layer over `rows` rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    /// Rows of the minibatch.
    pub rows: usize,
    /// Input width.
    pub n_in: usize,
    /// Output width.
    pub n_out: usize,
}

/// Calls `$block::<V, A, B>` on every block of an `n × m` grid: blocks of `A` along the first
/// axis and `B` along the second, then blocks of 2 and of 1 for what is left (so a width of 10
/// in blocks of 4 is 4 + 4 + 2, keeping several independent accumulators in every block).
macro_rules! blocked {
    ($n:expr, $m:expr, $a:literal, $b:literal, |$x:ident, $y:ident| $block:ident::<$v:ident>($($arg:expr),*)) => {{
        let (n, m) = ($n, $m);
        let width = |left: usize, full: usize| if left >= full { full } else if left >= 2 { 2 } else { 1 };
        let mut $x = 0;
        while $x < n {
            let wa = width(n - $x, $a);
            let mut $y = 0;
            while $y < m {
                let wb = width(m - $y, $b);
                blocked!(@a wa, wb, $a, $b, $block::<$v>($($arg),*));
                $y += wb;
            }
            $x += wa;
        }
    }};
    (@a $wa:ident, $wb:ident, $a:literal, $b:literal, $block:ident::<$v:ident>($($arg:expr),*)) => {
        if $wa == $a {
            blocked!(@b $wb, $a, $b, $block::<$v>($($arg),*))
        } else if $wa == 2 {
            blocked!(@b $wb, 2, $b, $block::<$v>($($arg),*))
        } else {
            blocked!(@b $wb, 1, $b, $block::<$v>($($arg),*))
        }
    };
    (@b $wb:ident, $a:literal, $b:literal, $block:ident::<$v:ident>($($arg:expr),*)) => {
        if $wb == $b {
            $block::<$v, $a, $b>($($arg),*)
        } else if $wb == 2 {
            $block::<$v, $a, 2>($($arg),*)
        } else {
            $block::<$v, $a, 1>($($arg),*)
        }
    };
}

fma_dispatch!(
    /// `out = act(a W + b)`: `a` `rows × n_in`, `w` `n_in × n_out`, `b` `n_out`, `out`
    /// `rows × n_out`. Each output starts at its bias and adds `a[r][i] · w[i][o]` for
    /// `i = 0, 1, …` by fused multiply-add.
    pub(crate) fn dense_forward(a: &[Lanes], w: &[Lanes], b: &[Lanes], out: &mut [Lanes], d: Dims, act: Act) => forward_body
);

#[inline(always)]
fn forward_body<V: Vector>(a: &[Lanes], w: &[Lanes], b: &[Lanes], out: &mut [Lanes], d: Dims, act: Act) {
    // Outputs outer, rows inner: a block of W's columns stays in L1 while the rows stream by.
    blocked!(d.n_out, d.rows, 4, 2, |o, r| forward_block::<V>(a, w, b, out, d, (r, o), act));
}

#[inline(always)]
fn forward_block<V: Vector, const OB: usize, const RB: usize>(
    a: &[Lanes],
    w: &[Lanes],
    b: &[Lanes],
    out: &mut [Lanes],
    d: Dims,
    at: (usize, usize),
    act: Act,
) {
    let (r, o) = at;
    let bias: [V; OB] = std::array::from_fn(|j| V::load(&b[o + j]));
    let mut acc = [bias; RB];
    let rows: [&[Lanes]; RB] = std::array::from_fn(|ri| &a[(r + ri) * d.n_in..(r + ri + 1) * d.n_in]);
    for i in 0..d.n_in {
        let wi = &w[i * d.n_out + o..i * d.n_out + o + OB];
        let wv: [V; OB] = std::array::from_fn(|j| V::load(&wi[j]));
        for ri in 0..RB {
            let av = V::load(&rows[ri][i]);
            for j in 0..OB {
                acc[ri][j] = av.mul_add(wv[j], acc[ri][j]);
            }
        }
    }
    for ri in 0..RB {
        for j in 0..OB {
            activate(acc[ri][j], act).store(&mut out[(r + ri) * d.n_out + o + j]);
        }
    }
}

fma_dispatch!(
    /// The gradient through the activation, in place: `g ← g · act′`, with `act′` read off
    /// the layer's output `y` (ReLU: 1 where y > 0, else 0; ELU: min(y, 0) + 1, which is 1
    /// where y > 0 and y + 1 = exp(z) otherwise).
    pub(crate) fn activation_backward(g: &mut [Lanes], y: &[Lanes], act: Act) => activation_backward_body
);

#[inline(always)]
fn activation_backward_body<V: Vector>(g: &mut [Lanes], y: &[Lanes], act: Act) {
    for (gv, yv) in g.iter_mut().zip(y) {
        let (gx, yx) = (V::load(gv), V::load(yv));
        let slope = match act {
            Act::Identity => continue,
            Act::Relu => yx.positive(),
            Act::Elu => yx.min(V::splat(0.0)).add(V::splat(1.0)),
        };
        gx.mul(slope).store(gv);
    }
}

fma_dispatch!(
    /// The parameter gradients of a dense layer from its input `a` (`rows × n_in`) and the
    /// gradient `dz` at its pre-activation (`rows × n_out`): `dw[i][o] = Σ_r a[r][i]·dz[r][o]`
    /// and `db[o] = Σ_r dz[r][o]`, over `r = 0, 1, …` (overwritten, not accumulated).
    pub(crate) fn dense_backward_params(a: &[Lanes], dz: &[Lanes], dw: &mut [Lanes], db: &mut [Lanes], d: Dims) => params_body
);

#[inline(always)]
fn params_body<V: Vector>(a: &[Lanes], dz: &[Lanes], dw: &mut [Lanes], db: &mut [Lanes], d: Dims) {
    for (o, dbo) in db.iter_mut().enumerate().take(d.n_out) {
        let mut s = V::splat(0.0);
        for r in 0..d.rows {
            s = s.add(V::load(&dz[r * d.n_out + o]));
        }
        s.store(dbo);
    }
    // Inputs outer: a block of the input's columns stays in L1 while dz streams by.
    blocked!(d.n_in, d.n_out, 4, 2, |i, o| weight_block::<V>(a, dz, dw, d, (i, o)));
}

#[inline(always)]
fn weight_block<V: Vector, const IB: usize, const OB: usize>(
    a: &[Lanes],
    dz: &[Lanes],
    dw: &mut [Lanes],
    d: Dims,
    at: (usize, usize),
) {
    let (i, o) = at;
    let mut acc = [[V::splat(0.0); OB]; IB];
    for r in 0..d.rows {
        let ar = &a[r * d.n_in + i..r * d.n_in + i + IB];
        let zr = &dz[r * d.n_out + o..r * d.n_out + o + OB];
        let zv: [V; OB] = std::array::from_fn(|j| V::load(&zr[j]));
        for ii in 0..IB {
            let av = V::load(&ar[ii]);
            for j in 0..OB {
                acc[ii][j] = av.mul_add(zv[j], acc[ii][j]);
            }
        }
    }
    for ii in 0..IB {
        for j in 0..OB {
            acc[ii][j].store(&mut dw[(i + ii) * d.n_out + o + j]);
        }
    }
}

fma_dispatch!(
    /// The gradient at a dense layer's input: `da[r][i] = Σ_o dz[r][o]·w[i][o]`, over
    /// `o = 0, 1, …` (overwritten).
    pub(crate) fn dense_backward_input(dz: &[Lanes], w: &[Lanes], da: &mut [Lanes], d: Dims) => input_body
);

#[inline(always)]
fn input_body<V: Vector>(dz: &[Lanes], w: &[Lanes], da: &mut [Lanes], d: Dims) {
    // Inputs outer, rows inner: a block of W's rows stays in L1 while dz's rows stream by.
    blocked!(d.n_in, d.rows, 4, 2, |i, r| input_block::<V>(dz, w, da, d, (r, i)));
}

#[inline(always)]
fn input_block<V: Vector, const IB: usize, const RB: usize>(
    dz: &[Lanes],
    w: &[Lanes],
    da: &mut [Lanes],
    d: Dims,
    at: (usize, usize),
) {
    let (r, i) = at;
    let mut acc = [[V::splat(0.0); IB]; RB];
    let zrows: [&[Lanes]; RB] = std::array::from_fn(|ri| &dz[(r + ri) * d.n_out..(r + ri + 1) * d.n_out]);
    let wrows: [&[Lanes]; IB] = std::array::from_fn(|ii| &w[(i + ii) * d.n_out..(i + ii + 1) * d.n_out]);
    for o in 0..d.n_out {
        let wv: [V; IB] = std::array::from_fn(|ii| V::load(&wrows[ii][o]));
        for ri in 0..RB {
            let z = V::load(&zrows[ri][o]);
            for ii in 0..IB {
                acc[ri][ii] = z.mul_add(wv[ii], acc[ri][ii]);
            }
        }
    }
    for ri in 0..RB {
        for ii in 0..IB {
            acc[ri][ii].store(&mut da[(r + ri) * d.n_in + i + ii]);
        }
    }
}

/// Adam's constants for one step of every lane (see `optim.rs` for the update).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamLanes {
    /// β₁.
    pub beta1: f32,
    /// β₂.
    pub beta2: f32,
    /// ε.
    pub eps: f32,
    /// 2λ of an L2 term λ‖θ‖² (0 without one).
    pub l2x2: f32,
    /// Per lane, lr / (1 − β₁ᵗ) with that lane's own step count t.
    pub step: Lanes,
    /// Per lane, 1 / (1 − β₂ᵗ).
    pub scale_v: Lanes,
    /// Per lane, 1.0 where the network takes this step, 0.0 where it is stopped or has no
    /// minibatch (its parameters and moments are then left exactly as they are).
    pub active: Lanes,
}

fma_dispatch!(
    /// One Adam update of a tensor of a pack, in place, with the arithmetic of the fused
    /// single-network update: g ← g + 2λθ, m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
    /// θ ← θ − step · m / (√(scale_v · v) + ε); lanes with `active = 0` keep θ, m and v.
    pub(crate) fn adam_lanes(theta: &mut [Lanes], grad: &[Lanes], m: &mut [Lanes], v: &mut [Lanes], k: &AdamLanes) => adam_body
);

#[inline(always)]
fn adam_body<V: Vector>(theta: &mut [Lanes], grad: &[Lanes], m: &mut [Lanes], v: &mut [Lanes], k: &AdamLanes) {
    // Stopped lanes are kept by a sign-bit mask (−0.0 marks them) rather than a branch.
    let keep = V::load(&std::array::from_fn(|l| if k.active[l] != 0.0 { 0.0 } else { -0.0 }));
    let (b1, b2, one) = (V::splat(k.beta1), V::splat(k.beta2), V::splat(1.0));
    let (c1, c2) = (one.sub(b1), one.sub(b2));
    let (l2x2, eps) = (V::splat(k.l2x2), V::splat(k.eps));
    let (step, scale_v) = (V::load(&k.step), V::load(&k.scale_v));
    for (((th, g), m), v) in theta.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
        let (thx, mx, vx) = (V::load(th), V::load(m), V::load(v));
        let g = V::load(g).add(l2x2.mul(thx));
        let m_new = b1.mul(mx).add(c1.mul(g));
        let v_new = b2.mul(vx).add(c2.mul(g).mul(g));
        let th_new = thx.sub(step.mul(m_new).div(scale_v.mul(v_new).sqrt().add(eps)));
        m_new.keep_where(mx, keep).store(m);
        v_new.keep_where(vx, keep).store(v);
        th_new.keep_where(thx, keep).store(th);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes_of(vals: &[f32], lane: usize) -> Vec<Lanes> {
        vals.iter()
            .enumerate()
            .map(|(j, &v)| {
                let mut l: Lanes = std::array::from_fn(|k| v * (1.0 + k as f32 / 7.0) - (j % 3) as f32 * 0.1);
                l[lane] = v;
                l
            })
            .collect()
    }

    fn values(n: usize, salt: u32) -> Vec<f32> {
        (0..n).map(|i| (((i as u32 + 1).wrapping_mul(2_654_435_761) ^ salt) % 1000) as f32 / 400.0 - 1.2).collect()
    }

    fn same_bits(a: &[Lanes], b: &[Lanes]) -> bool {
        a.iter().flatten().map(|v| v.to_bits()).eq(b.iter().flatten().map(|v| v.to_bits()))
    }

    /// The blocked kernels against plain loops, for every block shape (rows and widths that are
    /// not multiples of the blocks), and the dispatched (AVX2 + FMA where the CPU has them)
    /// kernels against the portable ones, bit for bit.
    #[test]
    fn blocked_kernels_match_plain_loops_and_the_portable_build() {
        for &(rows, n_in, n_out) in &[(5, 7, 9), (1, 1, 1), (4, 3, 4), (3, 6, 1), (6, 10, 10), (2, 2, 2)] {
            let d = Dims { rows, n_in, n_out };
            let (a, w, b) = (values(rows * n_in, 1), values(n_in * n_out, 2), values(n_out, 3));
            let lane = 5;
            let (al, wl, bl) = (lanes_of(&a, lane), lanes_of(&w, lane), lanes_of(&b, lane));
            for act in [Act::Identity, Act::Relu, Act::Elu] {
                let mut out = vec![[0f32; LANES]; rows * n_out];
                dense_forward(&al, &wl, &bl, &mut out, d, act);
                let mut portable = vec![[0f32; LANES]; rows * n_out];
                forward_body::<Portable>(&al, &wl, &bl, &mut portable, d, act);
                assert!(same_bits(&out, &portable), "{act:?} {d:?}");
                for r in 0..rows {
                    for o in 0..n_out {
                        let mut z = b[o];
                        for i in 0..n_in {
                            z = a[r * n_in + i].mul_add(w[i * n_out + o], z);
                        }
                        let got = out[r * n_out + o][lane];
                        match act {
                            Act::Identity => assert_eq!(got.to_bits(), z.to_bits()),
                            Act::Relu => assert_eq!(got.to_bits(), z.max(0.0).to_bits()),
                            Act::Elu => assert!((got - if z > 0.0 { z } else { z.exp_m1() }).abs() < 3e-7),
                        }
                    }
                }
                let mut g = lanes_of(&values(rows * n_out, 9), lane);
                let mut gp = g.clone();
                activation_backward(&mut g, &out, act);
                activation_backward_body::<Portable>(&mut gp, &out, act);
                assert!(same_bits(&g, &gp), "{act:?} backward");
            }
            let dz = values(rows * n_out, 4);
            let dzl = lanes_of(&dz, lane);
            let (mut dw, mut db) = (vec![[0f32; LANES]; n_in * n_out], vec![[0f32; LANES]; n_out]);
            dense_backward_params(&al, &dzl, &mut dw, &mut db, d);
            let (mut dwp, mut dbp) = (dw.clone(), db.clone());
            params_body::<Portable>(&al, &dzl, &mut dwp, &mut dbp, d);
            assert!(same_bits(&dw, &dwp) && same_bits(&db, &dbp));
            let mut da = vec![[0f32; LANES]; rows * n_in];
            dense_backward_input(&dzl, &wl, &mut da, d);
            let mut dap = da.clone();
            input_body::<Portable>(&dzl, &wl, &mut dap, d);
            assert!(same_bits(&da, &dap));
            for i in 0..n_in {
                for o in 0..n_out {
                    let s = (0..rows).fold(0f32, |s, r| a[r * n_in + i].mul_add(dz[r * n_out + o], s));
                    assert_eq!(dw[i * n_out + o][lane].to_bits(), s.to_bits());
                }
            }
            for r in 0..rows {
                for i in 0..n_in {
                    let s = (0..n_out).fold(0f32, |s, o| dz[r * n_out + o].mul_add(w[i * n_out + o], s));
                    assert_eq!(da[r * n_in + i][lane].to_bits(), s.to_bits());
                }
            }
        }
    }

    /// exp(x) − 1 to 2.5·10⁻⁷ absolute over (−90, 0], exact at 0 and −1 far out.
    #[test]
    fn exp_m1_matches_libm() {
        let mut worst = 0f32;
        let mut x = -90.0f32;
        while x <= 0.0 {
            let v: Lanes = std::array::from_fn(|k| x + k as f32 * 1e-4);
            let mut got = [0f32; LANES];
            exp_m1_nonpositive(Portable::load(&v)).store(&mut got);
            for k in 0..LANES {
                worst = worst.max((got[k] - v[k].min(0.0).exp_m1()).abs());
            }
            x += 1e-3;
        }
        assert!(worst < 2.5e-7, "largest absolute error {worst}");
        let mut edge = [0f32; LANES];
        exp_m1_nonpositive(Portable::load(&[0.0, -1000.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0])).store(&mut edge);
        assert_eq!(&edge[..3], &[0.0, -1.0, 0.0]);
    }

    /// An inactive lane keeps its parameters and moments bit for bit; an active one moves;
    /// the dispatched and portable updates agree bit for bit.
    #[test]
    fn adam_leaves_inactive_lanes_unchanged() {
        let mut theta: Vec<Lanes> = (0..3).map(|j| std::array::from_fn(|k| 1.0 + (j * k) as f32 * 0.01)).collect();
        let grad: Vec<Lanes> = (0..3).map(|j| std::array::from_fn(|k| 0.25 - (j + k) as f32 * 0.03)).collect();
        let (mut m, mut v) = (vec![[0.1f32; LANES]; 3], vec![[0.2f32; LANES]; 3]);
        let mut active = [1.0f32; LANES];
        active[2] = 0.0;
        let k = AdamLanes {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            l2x2: 0.5,
            step: [1e-3; LANES],
            scale_v: [1.0; LANES],
            active,
        };
        let (theta0, mut tp, mut mp, mut vp) = (theta.clone(), theta.clone(), m.clone(), v.clone());
        adam_lanes(&mut theta, &grad, &mut m, &mut v, &k);
        adam_body::<Portable>(&mut tp, &grad, &mut mp, &mut vp, &k);
        assert!(same_bits(&theta, &tp) && same_bits(&m, &mp) && same_bits(&v, &vp));
        for j in 0..3 {
            assert_eq!((theta[j][2], m[j][2], v[j][2]), (theta0[j][2], 0.1, 0.2));
            assert!(theta[j][0] < theta0[j][0] && m[j][0] != 0.1);
        }
    }
}

//! Lane-interleaved kernels of the batched trainer ([`crate::batched`]): [`LANES`] networks of
//! one architecture stored side by side, value `j` of network `k` at `[j][k]`, so that one
//! vector instruction does the same scalar operation for every network.
//!
//! Each lane runs exactly the scalar arithmetic of one network trained alone, in a fixed order
//! (every dot product is a chain of fused multiply-adds over its index, ascending), and lanes
//! never interact: a network's bits do not depend on the networks beside it, on how many there
//! are, or on the register blocking, chunking and packing below (a sum split into chunks
//! waits in memory between them, exactly). The operations are exactly specified
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

/// `exp(x) − 1` for `x ≤ 0` (inputs clamped to [−87, 0]) of `N` values: the reduction of
/// `elu.rs`'s `exp_m1_nonpositive` (x = k·ln 2 + r, a degree-7 polynomial for exp(r) by Horner's
/// rule with fused multiply-adds, 2^k from the exponent bits), in vector operations. The `N`
/// evaluations' operations are interleaved: one is a long chain of dependent operations, which
/// the CPU overlaps only with the next few.
#[inline(always)]
fn exp_m1_many<V: Vector, const N: usize>(x: [V; N]) -> [V; N] {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0;
    let x: [V; N] = std::array::from_fn(|j| x[j].max(V::splat(-87.0)).min(V::splat(0.0)));
    let k: [V; N] = std::array::from_fn(|j| x[j].mul(V::splat(LOG2E)).add(V::splat(ROUND)).sub(V::splat(ROUND)));
    let r: [V; N] = std::array::from_fn(|j| x[j].sub(k[j].mul(V::splat(LN2_HI))).sub(k[j].mul(V::splat(LN2_LO))));
    let mut p = [V::splat(1.0 / 5040.0); N];
    for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        for j in 0..N {
            p[j] = r[j].mul_add(p[j], V::splat(c));
        }
    }
    std::array::from_fn(|j| p[j].mul(k[j].add(V::splat(8_388_608.0 + 127.0)).shl23()).sub(V::splat(1.0)))
}

/// The activation of `N` values (interleaved, as [`exp_m1_many`]).
#[inline(always)]
fn activate<V: Vector, const N: usize>(z: [V; N], act: Act) -> [V; N] {
    match act {
        Act::Identity => z,
        Act::Relu => std::array::from_fn(|j| z[j].max(V::splat(0.0))),
        Act::Elu => {
            let e = exp_m1_many(z);
            std::array::from_fn(|j| z[j].max(V::splat(0.0)).add(e[j]))
        }
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
        let mut $x = 0;
        while $x < n {
            let wa = block_width(n - $x, $a);
            let mut $y = 0;
            while $y < m {
                let wb = block_width(m - $y, $b);
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

/// Copies columns `cols` of `m` (`rows × width`) into `dst`, block of rows by block of rows
/// (blocks of up to 4, as the kernels take them), each block index-major, so that a block
/// reads one contiguous run.
fn pack_row_blocks(dst: &mut Vec<Lanes>, m: &[Lanes], (rows, width): (usize, usize), cols: std::ops::Range<usize>) {
    dst.clear();
    let mut r = 0;
    while r < rows {
        let rb = block_width(rows - r, 4);
        for c in cols.clone() {
            dst.extend((r..r + rb).map(|q| m[q * width + c]));
        }
        r += rb;
    }
}

/// The width of the next block when `left` values remain and a full block has `full`: the
/// full width, else 2, else 1 (see [`blocked!`]).
#[inline(always)]
fn block_width(left: usize, full: usize) -> usize {
    if left >= full {
        full
    } else if left >= 2 {
        2
    } else {
        1
    }
}

/// Layers at least this wide have their W blocks (forward pass) and their input and output
/// gradient blocks (weight gradients) copied into contiguous buffers first: read in place,
/// their rows lie a whole row of the matrix apart, a stride that maps the block's rows onto a
/// few sets of the L1 cache, which then evicts them before they are used again.
const PACK_WIDTH: usize = 64;

/// Whether `count` runs of `n` values, the first at `base` and each `stride` after the last,
/// lie within a slice of `len` values (no arithmetic overflows).
fn fits(base: usize, count: usize, stride: usize, n: usize, len: usize) -> bool {
    if count == 0 || n == 0 {
        return true;
    }
    let last = (count - 1).checked_mul(stride).and_then(|x| x.checked_add(base)).and_then(|x| x.checked_add(n));
    last.is_some_and(|end| end <= len)
}

/// `s[i]` without a bounds check, for the inner loops of the blocks (their bounds are checked
/// once, by [`fits`], before each loop).
///
/// # Safety
///
/// `i < s.len()`.
#[inline(always)]
unsafe fn unchecked(s: &[Lanes], i: usize) -> &Lanes {
    debug_assert!(i < s.len());
    // SAFETY: the caller guarantees `i < s.len()`.
    unsafe { s.get_unchecked(i) }
}

/// A block's rows of a matrix, read in place or from a packed copy: the value at row `ri` of
/// the block and index `c` of the sum is `.0[ri * .1 + c * .2]`.
type Grid<'a> = (&'a [Lanes], usize, usize);

/// Whether every index `ri · g.1 + c · g.2` with `ri < rows` and `c < n` lies within `g.0`.
fn fits_grid(g: Grid<'_>, rows: usize, n: usize) -> bool {
    if rows == 0 || n == 0 {
        return true;
    }
    let last = (rows - 1).checked_mul(g.1).zip((n - 1).checked_mul(g.2)).and_then(|(x, y)| x.checked_add(y));
    last.is_some_and(|l| l < g.0.len())
}

/// Appends the run `src[s..s + width]` for every `s` of `starts` to `dst`, `width` ≤ 4: copies
/// of a size known when compiled, which are inlined (a copy of a size known only at run time
/// is a call to `memmove`, dearer than the copy itself).
fn gather(dst: &mut Vec<Lanes>, src: &[Lanes], width: usize, starts: impl Iterator<Item = usize>) {
    fn runs<const W: usize>(dst: &mut Vec<Lanes>, src: &[Lanes], starts: impl Iterator<Item = usize>) {
        for s in starts {
            let run: &[Lanes; W] = src[s..s + W].try_into().expect("a run of W values");
            dst.extend_from_slice(run);
        }
    }
    match width {
        4 => runs::<4>(dst, src, starts),
        3 => runs::<3>(dst, src, starts),
        2 => runs::<2>(dst, src, starts),
        1 => runs::<1>(dst, src, starts),
        _ => unreachable!("runs of at most 4 values"),
    }
}

/// `s[i..]`, empty when `i` is past the end (a layer run on no rows has empty inputs).
fn tail(s: &[Lanes], i: usize) -> &[Lanes] {
    s.get(i..).unwrap_or(&[])
}

/// Values of a matrix block read in place or from a packed copy: the value at index `c` of the
/// sum and column `j` of the block is `.0[c * .1 + j]`.
type View<'a> = (&'a [Lanes], usize);

fma_dispatch!(
    /// `out = act(a W + b)`: `a` `rows × n_in`, `w` `n_in × n_out`, `b` `n_out`, `out`
    /// `rows × n_out`. Each output starts at its bias and adds `a[r][i] · w[i][o]` for
    /// `i = 0, 1, …` by fused multiply-add.
    pub(crate) fn dense_forward(a: &[Lanes], w: &[Lanes], b: &[Lanes], out: &mut [Lanes], d: Dims, act: Act) => forward_body
);

#[inline(always)]
fn forward_body<V: Vector>(a: &[Lanes], w: &[Lanes], b: &[Lanes], out: &mut [Lanes], d: Dims, act: Act) {
    // The inputs in chunks that keep `a`'s columns of a chunk in L2 and a block of W's rows of
    // it in L1; an output's partial sum waits in `out` between chunks (stored exactly, so the
    // sum is still one chain over i = 0, 1, …). Within a chunk, outputs outer and rows inner.
    let (mut packed, mut packed_a): (Vec<Lanes>, Vec<Lanes>) = (Vec::new(), Vec::new());
    for (i0, i1) in chunks(d.n_in, chunk_len(d.rows)) {
        let k = Chunk { i0, i1 };
        if d.n_out < PACK_WIDTH {
            blocked!(d.n_out, d.rows, 3, 4, |o, r| forward_block::<V>(
                (tail(a, r * d.n_in + i0), d.n_in, 1),
                (tail(w, i0 * d.n_out + o), d.n_out),
                b,
                out,
                d,
                (r, o),
                k
            ));
            continue;
        }
        // The chunk's columns of `a`, block of rows by block of rows, each `n × rows` (index
        // major), so that a block reads one contiguous run.
        pack_row_blocks(&mut packed_a, a, (d.rows, d.n_in), i0..i1);
        let mut o = 0;
        while o < d.n_out {
            let ob = block_width(d.n_out - o, 3);
            packed.clear();
            gather(&mut packed, w, ob, (i0..i1).map(|i| i * d.n_out + o));
            let mut r = 0;
            while r < d.rows {
                let rb = block_width(d.rows - r, 4);
                let pa = (tail(&packed_a, r * (i1 - i0)), 1, rb);
                blocked!(@a ob, rb, 3, 4, forward_block::<V>(pa, (&packed, ob), b, out, d, (r, o), k));
                r += rb;
            }
            o += ob;
        }
    }
    // The activation in a pass of its own, where its constants stay in registers.
    if act != Act::Identity {
        let mut blocks = out[..d.rows * d.n_out].chunks_exact_mut(4);
        for zs in &mut blocks {
            let y = activate::<V, 4>(std::array::from_fn(|j| V::load(&zs[j])), act);
            for (yj, z) in y.iter().zip(zs) {
                yj.store(z);
            }
        }
        for z in blocks.into_remainder() {
            activate([V::load(z)], act)[0].store(z);
        }
    }
}

/// A range `i0..i1` of a dot product's index.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    i0: usize,
    i1: usize,
}

/// Bytes of a chunk's streamed operand to keep within L2 (of 512 KiB on the machines we
/// measured, with room for the rest).
const CHUNK_BYTES: usize = 160 * 1024;

/// The chunk length of a sum over an index whose operand has `stride` values per index
/// (at least 16, so a chunk's partial sums are stored and reloaded rarely).
fn chunk_len(stride: usize) -> usize {
    (CHUNK_BYTES / (stride.max(1) * std::mem::size_of::<Lanes>())).max(16)
}

/// `0..n` in chunks of `len` (one empty chunk when `n` is 0, so outputs are still written).
fn chunks(n: usize, len: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n.div_ceil(len).max(1)).map(move |c| (c * len, ((c + 1) * len).min(n)))
}

#[inline(always)]
fn forward_block<V: Vector, const OB: usize, const RB: usize>(
    a: Grid<'_>,
    w: View<'_>,
    b: &[Lanes],
    out: &mut [Lanes],
    d: Dims,
    at: (usize, usize),
    k: Chunk,
) {
    let (r, o) = at;
    let mut acc: [[V; OB]; RB] = if k.i0 == 0 {
        [std::array::from_fn(|j| V::load(&b[o + j])); RB]
    } else {
        std::array::from_fn(|ri| std::array::from_fn(|j| V::load(&out[(r + ri) * d.n_out + o + j])))
    };
    let n = k.i1 - k.i0;
    assert!(fits_grid(a, RB, n) && fits(0, n, w.1, OB, w.0.len()));
    for c in 0..n {
        // SAFETY: `c < n` and `j < OB`: within the `n` runs of `OB` values checked by `fits`.
        let wv: [V; OB] = std::array::from_fn(|j| V::load(unsafe { unchecked(w.0, c * w.1 + j) }));
        for (ri, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: `ri < RB` and `c < n`: within the grid checked by `fits_grid`.
            let av = V::load(unsafe { unchecked(a.0, ri * a.1 + c * a.2) });
            for (x, wj) in acc_r.iter_mut().zip(&wv) {
                *x = av.mul_add(*wj, *x);
            }
        }
    }
    for ri in 0..RB {
        for j in 0..OB {
            acc[ri][j].store(&mut out[(r + ri) * d.n_out + o + j]);
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
    // Panels of outputs whose columns of dz stay in L2; within one, inputs outer (a block of
    // the input's columns stays in L1 while the panel's columns of dz stream by). Each weight's
    // sum runs over every row in one chain.
    if d.n_in.max(d.n_out) < PACK_WIDTH {
        blocked!(d.n_in, d.n_out, 4, 3, |i, o| weight_block::<V>(
            (tail(a, i), d.n_in),
            (tail(dz, o), d.n_out),
            dw,
            d,
            (i, o)
        ));
        return;
    }
    let (mut pa, mut pz) = (Vec::new(), Vec::new());
    for (o0, o1) in chunks(d.n_out, chunk_len(d.rows)) {
        // The panel's columns of dz, block by block, each `rows × width`.
        pz.clear();
        let mut o = o0;
        while o < o1 {
            let ob = block_width(o1 - o, 3);
            gather(&mut pz, dz, ob, (0..d.rows).map(|r| r * d.n_out + o));
            o += ob;
        }
        let mut i = 0;
        while i < d.n_in {
            let ib = block_width(d.n_in - i, 4);
            pa.clear();
            gather(&mut pa, a, ib, (0..d.rows).map(|r| r * d.n_in + i));
            let (mut o, mut at) = (o0, 0);
            while o < o1 {
                let ob = block_width(o1 - o, 3);
                blocked!(@a ib, ob, 4, 3, weight_block::<V>((&pa, ib), (&pz[at..], ob), dw, d, (i, o)));
                (o, at) = (o + ob, at + d.rows * ob);
            }
            i += ib;
        }
    }
}

#[inline(always)]
fn weight_block<V: Vector, const IB: usize, const OB: usize>(
    a: View<'_>,
    dz: View<'_>,
    dw: &mut [Lanes],
    d: Dims,
    at: (usize, usize),
) {
    let (i, o) = at;
    let mut acc = [[V::splat(0.0); OB]; IB];
    assert!(fits(0, d.rows, a.1, IB, a.0.len()) && fits(0, d.rows, dz.1, OB, dz.0.len()));
    for r in 0..d.rows {
        // SAFETY: `r < rows` and `j < OB`: within the runs checked by `fits`.
        let zv: [V; OB] = std::array::from_fn(|j| V::load(unsafe { unchecked(dz.0, r * dz.1 + j) }));
        for (ii, acc_i) in acc.iter_mut().enumerate() {
            // SAFETY: `r < rows` and `ii < IB`: within the runs checked by `fits`.
            let av = V::load(unsafe { unchecked(a.0, r * a.1 + ii) });
            for (x, zj) in acc_i.iter_mut().zip(&zv) {
                *x = av.mul_add(*zj, *x);
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
    // The outputs in chunks (as the inputs of `forward_body`); within one, inputs outer and
    // rows inner: a block of W's rows stays in L1 while dz's rows stream by.
    // Wide layers read packed copies (as `forward_body`): the chunk's columns of dz, block of
    // rows by block of rows, and each block of W's rows, index major.
    let (mut pz, mut pw): (Vec<Lanes>, Vec<Lanes>) = (Vec::new(), Vec::new());
    for (o0, o1) in chunks(d.n_out, chunk_len(d.rows)) {
        let (k, n) = (Chunk { i0: o0, i1: o1 }, o1 - o0);
        if d.n_out < PACK_WIDTH {
            blocked!(d.n_in, d.rows, 3, 4, |i, r| input_block::<V>(
                (tail(dz, r * d.n_out + o0), d.n_out, 1),
                (tail(w, i * d.n_out + o0), d.n_out, 1),
                da,
                d,
                (r, i),
                k
            ));
            continue;
        }
        pack_row_blocks(&mut pz, dz, (d.rows, d.n_out), o0..o1);
        let mut i = 0;
        while i < d.n_in {
            let ib = block_width(d.n_in - i, 3);
            pw.clear();
            for o in o0..o1 {
                pw.extend((i..i + ib).map(|q| w[q * d.n_out + o]));
            }
            let mut r = 0;
            while r < d.rows {
                let rb = block_width(d.rows - r, 4);
                let z = (tail(&pz, r * n), 1, rb);
                blocked!(@a ib, rb, 3, 4, input_block::<V>(z, (&pw, 1, ib), da, d, (r, i), k));
                r += rb;
            }
            i += ib;
        }
    }
}

#[inline(always)]
fn input_block<V: Vector, const IB: usize, const RB: usize>(
    dz: Grid<'_>,
    w: Grid<'_>,
    da: &mut [Lanes],
    d: Dims,
    at: (usize, usize),
    k: Chunk,
) {
    let (r, i) = at;
    let mut acc: [[V; IB]; RB] = if k.i0 == 0 {
        [[V::splat(0.0); IB]; RB]
    } else {
        std::array::from_fn(|ri| std::array::from_fn(|ii| V::load(&da[(r + ri) * d.n_in + i + ii])))
    };
    let n = k.i1 - k.i0;
    assert!(fits_grid(dz, RB, n) && fits_grid(w, IB, n));
    for c in 0..n {
        // SAFETY: `ii < IB` and `c < n`: within the grid checked by `fits_grid`.
        let wv: [V; IB] = std::array::from_fn(|ii| V::load(unsafe { unchecked(w.0, ii * w.1 + c * w.2) }));
        for (ri, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: `ri < RB` and `c < n`: within the grid checked by `fits_grid`.
            let z = V::load(unsafe { unchecked(dz.0, ri * dz.1 + c * dz.2) });
            for (x, wi) in acc_r.iter_mut().zip(&wv) {
                *x = z.mul_add(*wi, *x);
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
    if k.active.iter().all(|&a| a != 0.0) {
        adam_loop::<V, false>(theta, grad, m, v, k);
    } else {
        adam_loop::<V, true>(theta, grad, m, v, k);
    }
}

/// [`adam_body`] with (`MIXED`) or without stopped lanes.
#[inline(always)]
fn adam_loop<V: Vector, const MIXED: bool>(
    theta: &mut [Lanes],
    grad: &[Lanes],
    m: &mut [Lanes],
    v: &mut [Lanes],
    k: &AdamLanes,
) {
    // Stopped lanes are kept by a sign-bit mask (−0.0 marks them) rather than a branch. The
    // mask is hidden from the optimiser: knowing it, LLVM turns the blend and store into a
    // masked store, which is microcoded and slow on AMD CPUs.
    let keep = V::load(&std::hint::black_box(std::array::from_fn(|l| if k.active[l] != 0.0 { 0.0 } else { -0.0 })));
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
        if MIXED {
            // The old values pass through `black_box` for the same reason.
            let (mx, vx, thx) = std::hint::black_box((mx, vx, thx));
            m_new.keep_where(mx, keep).store(m);
            v_new.keep_where(vx, keep).store(v);
            th_new.keep_where(thx, keep).store(th);
        } else {
            m_new.store(m);
            v_new.store(v);
            th_new.store(th);
        }
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
        // Then layers run on no rows; the last shapes take the packed paths (a width of at
        // least `PACK_WIDTH`) and, with 700 rows, split their sums into several chunks.
        let shapes = [
            (5, 7, 9),
            (1, 1, 1),
            (4, 3, 4),
            (3, 6, 1),
            (6, 10, 10),
            (2, 2, 2),
            (0, 3, 4),
            (0, 66, 67),
            (7, 66, 65),
            (700, 70, 5),
            (700, 3, 67),
        ];
        for &(rows, n_in, n_out) in &shapes {
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
            exp_m1_many([Portable::load(&v)])[0].store(&mut got);
            for k in 0..LANES {
                worst = worst.max((got[k] - v[k].min(0.0).exp_m1()).abs());
            }
            x += 1e-3;
        }
        assert!(worst < 2.5e-7, "largest absolute error {worst}");
        let mut edge = [0f32; LANES];
        exp_m1_many([Portable::load(&[0.0, -1000.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0])])[0].store(&mut edge);
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
        // With every lane active (the path without blends), each lane moves exactly as the
        // active lanes above.
        let (mut theta2, mut m2, mut v2) = (theta0.clone(), vec![[0.1f32; LANES]; 3], vec![[0.2f32; LANES]; 3]);
        let all = AdamLanes { active: [1.0; LANES], ..k };
        adam_lanes(&mut theta2, &grad, &mut m2, &mut v2, &all);
        let (mut tp2, mut mp2, mut vp2) = (theta0.clone(), vec![[0.1f32; LANES]; 3], vec![[0.2f32; LANES]; 3]);
        adam_body::<Portable>(&mut tp2, &grad, &mut mp2, &mut vp2, &all);
        assert!(same_bits(&theta2, &tp2) && same_bits(&m2, &mp2) && same_bits(&v2, &vp2));
        for j in 0..3 {
            for l in [0, 1, 3, 7] {
                assert_eq!(theta2[j][l].to_bits(), theta[j][l].to_bits());
                assert_eq!((m2[j][l].to_bits(), v2[j][l].to_bits()), (m[j][l].to_bits(), v[j][l].to_bits()));
            }
        }
    }
}

/// Throughput of each kernel alone, at the layer shapes of the study and IHDP networks, against
/// a loop of independent FMAs (the peak): `cargo test --release -p ite-nets --lib kernel_timing
/// -- --ignored --nocapture`.
#[cfg(test)]
mod timing {
    use super::*;
    use std::time::Instant;

    fn time(label: &str, fmas: f64, mut f: impl FnMut()) {
        f();
        let reps = (2e8 / fmas.max(1.0)).clamp(20.0, 20000.0) as usize;
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            best = best.min(start.elapsed().as_secs_f64() / reps as f64);
        }
        eprintln!("{label:40} {:10.2} us  {:6.2} G vec-op/s", best * 1e6, fmas / best / 1e9);
    }

    fma_dispatch!(fn peak(x: &mut [Lanes], n: usize) => peak_body);

    #[inline(always)]
    fn peak_body<V: Vector>(x: &mut [Lanes], n: usize) {
        let mut acc: [V; 12] = std::array::from_fn(|j| V::load(&x[j]));
        let (p, q) = (V::load(&x[12]), V::load(&x[13]));
        for _ in 0..n {
            for a in acc.iter_mut() {
                *a = a.mul_add(p, q);
            }
        }
        for j in 0..12 {
            acc[j].store(&mut x[j]);
        }
    }

    #[test]
    #[ignore]
    fn kernel_timing() {
        let mut x = vec![[0.5f32; LANES]; 14];
        time("peak fma", 12.0 * 100_000.0, || peak(&mut x, 100_000));
        let fill = |n: usize| -> Vec<Lanes> {
            (0..n).map(|i| std::array::from_fn(|k| ((i * 7 + k) % 13) as f32 * 0.01 - 0.05)).collect()
        };
        for &(rows, n_in, n_out) in
            &[(100, 200, 200), (100, 200, 100), (100, 25, 200), (32, 20, 20), (32, 5, 20), (16, 20, 10), (16, 10, 1)]
        {
            let d = Dims { rows, n_in, n_out };
            let (a, w, b) = (fill(rows * n_in), fill(n_in * n_out), fill(n_out));
            let mut out = fill(rows * n_out);
            let f = (rows * n_in * n_out) as f64;
            time(&format!("forward {rows}x{n_in}x{n_out}"), f, || dense_forward(&a, &w, &b, &mut out, d, Act::Elu));
            time(&format!("forward id {rows}x{n_in}x{n_out}"), f, || {
                dense_forward(&a, &w, &b, &mut out, d, Act::Identity)
            });
            let dz = fill(rows * n_out);
            let (mut dw, mut db) = (fill(n_in * n_out), fill(n_out));
            time(&format!("params {rows}x{n_in}x{n_out}"), f, || dense_backward_params(&a, &dz, &mut dw, &mut db, d));
            let mut da = fill(rows * n_in);
            time(&format!("input {rows}x{n_in}x{n_out}"), f, || dense_backward_input(&dz, &w, &mut da, d));
        }
        for n in [1622, 100_000] {
            let (mut th, g, mut m, mut v) = (fill(n), fill(n), fill(n), fill(n));
            for x in v.iter_mut() {
                for y in x.iter_mut() {
                    *y = y.abs();
                }
            }
            let k = AdamLanes {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                l2x2: 0.0,
                step: [1e-3; LANES],
                scale_v: [1.0; LANES],
                active: [1.0; LANES],
            };
            time(&format!("adam {n}"), n as f64, || adam_lanes(&mut th, &g, &mut m, &mut v, &k));
            let mut k2 = k;
            k2.active[3] = 0.0;
            time(&format!("adam mixed {n}"), n as f64, || adam_lanes(&mut th, &g, &mut m, &mut v, &k2));
        }
    }
}

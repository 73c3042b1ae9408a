//! The fused dense layer `act(x W + b)` as one candle custom op on the CPU: the forward pass is
//! one matrix product written over the broadcast bias with the activation applied in place;
//! the backward pass computes the activation's slope from the output and all three gradients
//! (`dx`, `dW`, `db`) in one pass, with no intermediate graph nodes.

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::elu::elu_in_place;
use super::gemm::{View, gemm};
use super::{cpu, f32_slice as slice};
use crate::hyperparams::Activation;

/// `act(x W + b)` for contiguous f32 CPU tensors `x` `(n, in)`, `W` `(in, out)`, `b` `(out,)`
/// (check with [`super::fusable`] and the shapes); differentiable in all three; `None` is the
/// identity (a head's linear output layer).
pub(crate) fn dense(x: &Tensor, w: &Tensor, b: &Tensor, activation: Option<Activation>) -> candle_core::Result<Tensor> {
    x.apply_op3(w, b, Dense { activation })
}

struct Dense {
    activation: Option<Activation>,
}

/// The matrix products of one training step through dense layers of `widths` (input first) at
/// minibatch size `n`: forward `x·W`, backward `xᵀ·g` and `g·Wᵀ` (for the first layer only
/// when `input_grad`, i.e. when its input is itself trained, as a head's input Φ(x) is), on
/// zero-filled buffers; returns the floating-point operations done. Used to measure the matmul
/// roofline of a step ([`crate::bench::matmul_roofline`]).
#[cfg(feature = "bench")]
pub(crate) fn step_matmuls(n: usize, widths: &[usize], input_grad: bool) -> candle_core::Result<f64> {
    let mut flops = 0.0;
    for (k, w) in widths.windows(2).enumerate() {
        let (i, o) = (w[0], w[1]);
        let (x, wt, g) = (vec![0f32; n * i], vec![0f32; i * o], vec![0f32; n * o]);
        let mut y = vec![0f32; n * o];
        gemm(&mut y, (n, o, i), View { data: &x, rs: i, cs: 1 }, View { data: &wt, rs: o, cs: 1 }, true)?;
        let mut dw = vec![0f32; i * o];
        gemm(&mut dw, (i, o, n), View { data: &x, rs: 1, cs: i }, View { data: &g, rs: o, cs: 1 }, false)?;
        flops += 4.0 * (n * i * o) as f64;
        if k > 0 || input_grad {
            let mut dx = vec![0f32; n * i];
            gemm(&mut dx, (n, i, o), View { data: &g, rs: o, cs: 1 }, View { data: &wt, rs: 1, cs: o }, false)?;
            flops += 2.0 * (n * i * o) as f64;
        }
    }
    Ok(flops)
}

impl CustomOp3 for Dense {
    fn name(&self) -> &'static str {
        "ite-dense"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, w, b) = (slice(s1, l1, "ite-dense x")?, slice(s2, l2, "ite-dense W")?, slice(s3, l3, "ite-dense b")?);
        let (n, i) = l1.shape().dims2()?;
        let o = b.len();
        // The bias in every row (`repeat` copies in doubling blocks: a few memcpy calls, not n).
        let mut y = b.repeat(n);
        gemm(&mut y, (n, o, i), View { data: x, rs: i, cs: 1 }, View { data: w, rs: o, cs: 1 }, true)?;
        match self.activation {
            None => {}
            Some(Activation::Relu) => y.iter_mut().for_each(|v| *v = v.max(0.0)),
            Some(Activation::Elu) => elu_in_place(&mut y),
        }
        Ok((CpuStorage::F32(y), Shape::from((n, o))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad_res = grad_res.contiguous()?;
        let (n, o) = res.dims2()?;
        let i = x.dim(1)?;
        let (xs, xl) = x.storage_and_layout();
        let (ws, wl) = w.storage_and_layout();
        let (ys, yl) = res.storage_and_layout();
        let (gs, gl) = grad_res.storage_and_layout();
        let xv = slice(cpu(&xs, "ite-dense")?, xl, "ite-dense x")?;
        let wv = slice(cpu(&ws, "ite-dense")?, wl, "ite-dense W")?;
        let yv = slice(cpu(&ys, "ite-dense")?, yl, "ite-dense output")?;
        let gv = slice(cpu(&gs, "ite-dense")?, gl, "ite-dense gradient")?;
        // Gradient before the activation, from the output: ReLU′ = [y > 0], ELU′ = 1 or y + 1.
        let gp: Vec<f32> = match self.activation {
            None => gv.to_vec(),
            Some(Activation::Relu) => gv.iter().zip(yv).map(|(&g, &y)| if y > 0.0 { g } else { 0.0 }).collect(),
            Some(Activation::Elu) => {
                gv.iter().zip(yv).map(|(&g, &y)| if y > 0.0 { g } else { g * (y + 1.0) }).collect()
            }
        };
        let dev = x.device();
        // dW = xᵀ · gp (i × o); xᵀ is x read with swapped strides.
        let mut dw = vec![0f32; i * o];
        gemm(&mut dw, (i, o, n), View { data: xv, rs: 1, cs: i }, View { data: &gp, rs: o, cs: 1 }, false)?;
        // db = column sums of gp.
        let mut db = vec![0f32; o];
        for row in gp.chunks_exact(o) {
            db.iter_mut().zip(row).for_each(|(d, g)| *d += g);
        }
        // dx = gp · Wᵀ (n × i), only when x is part of the graph.
        let dx = if x.track_op() {
            let mut dx = vec![0f32; n * i];
            gemm(&mut dx, (n, i, o), View { data: &gp, rs: o, cs: 1 }, View { data: wv, rs: 1, cs: o }, false)?;
            Some(Tensor::from_vec(dx, (n, i), dev)?)
        } else {
            None
        };
        Ok((dx, Some(Tensor::from_vec(dw, (i, o), dev)?), Some(Tensor::from_vec(db, o, dev)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn var(values: Vec<f32>, shape: (usize, usize)) -> candle_core::Result<Var> {
        Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu)?)
    }

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 250.0 - 2.0).collect()
    }

    /// candle's unfused graph: matmul, broadcast add, activation.
    fn reference(x: &Tensor, w: &Tensor, b: &Tensor, act: Option<Activation>) -> candle_core::Result<Tensor> {
        let z = x.matmul(w)?.broadcast_add(b)?;
        match act {
            None => Ok(z),
            Some(Activation::Relu) => z.relu(),
            Some(Activation::Elu) => z.elu(1.0),
        }
    }

    /// A scalar loss with a different weight per output, so every gradient entry matters.
    fn loss(y: &Tensor) -> candle_core::Result<Tensor> {
        let (n, o) = y.dims2()?;
        let c = Tensor::from_vec(data(n * o, 7), (n, o), &Device::Cpu)?;
        (y * c)?.sum_all()
    }

    #[test]
    fn forward_and_gradients_match_candles_graph() -> candle_core::Result<()> {
        let (n, i, o) = (7, 5, 4);
        for act in [None, Some(Activation::Relu), Some(Activation::Elu)] {
            let x = var(data(n * i, 1), (n, i))?;
            let w = var(data(i * o, 2).iter().map(|v| v * 0.5).collect(), (i, o))?;
            let b = Var::from_tensor(&Tensor::from_vec(data(o, 3), o, &Device::Cpu)?)?;
            let fused = dense(x.as_tensor(), w.as_tensor(), b.as_tensor(), act)?;
            let plain = reference(x.as_tensor(), w.as_tensor(), b.as_tensor(), act)?;
            let diff = (&fused - &plain)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(diff < 1e-5, "{act:?}: forward differs by {diff}");
            let (gf, gp) = (loss(&fused)?.backward()?, loss(&plain)?.backward()?);
            for (name, v) in [("x", &x), ("W", &w), ("b", &b)] {
                let (a, r) = (gf.get(v.as_tensor()).expect("fused grad"), gp.get(v.as_tensor()).expect("plain grad"));
                let d = (a - r)?.abs()?.max_all()?.to_scalar::<f32>()?;
                assert!(d < 1e-4, "{act:?}: d{name} differs by {d}");
            }
        }
        Ok(())
    }

    #[test]
    fn gradients_match_finite_differences() -> candle_core::Result<()> {
        let (n, i, o) = (6, 4, 3);
        for act in [None, Some(Activation::Relu), Some(Activation::Elu)] {
            let xv = data(n * i, 11);
            let wv: Vec<f32> = data(i * o, 12).iter().map(|v| v * 0.4).collect();
            let bv = data(o, 13);
            let x = var(xv.clone(), (n, i))?;
            let w = var(wv.clone(), (i, o))?;
            let b = Var::from_tensor(&Tensor::from_vec(bv.clone(), o, &Device::Cpu)?)?;
            let grads = loss(&dense(x.as_tensor(), w.as_tensor(), b.as_tensor(), act)?)?.backward()?;
            let f = |xv: &[f32], wv: &[f32], bv: &[f32]| -> candle_core::Result<f64> {
                let x = Tensor::from_vec(xv.to_vec(), (n, i), &Device::Cpu)?;
                let w = Tensor::from_vec(wv.to_vec(), (i, o), &Device::Cpu)?;
                let b = Tensor::from_vec(bv.to_vec(), o, &Device::Cpu)?;
                Ok(f64::from(loss(&dense(&x, &w, &b, act)?)?.to_scalar::<f32>()?))
            };
            let h = 1e-2f32;
            let check = |which: usize, analytic: Vec<f32>| -> candle_core::Result<()> {
                for (k, &an) in analytic.iter().enumerate() {
                    let (mut a, mut c) = ((xv.clone(), wv.clone(), bv.clone()), (xv.clone(), wv.clone(), bv.clone()));
                    match which {
                        0 => (a.0[k] += h, c.0[k] -= h),
                        1 => (a.1[k] += h, c.1[k] -= h),
                        _ => (a.2[k] += h, c.2[k] -= h),
                    };
                    let num = (f(&a.0, &a.1, &a.2)? - f(&c.0, &c.1, &c.2)?) / (2.0 * f64::from(h));
                    let an = f64::from(an);
                    // ReLU kinks make finite differences unreliable right at 0; the data avoid them.
                    assert!((num - an).abs() < 2e-2 * (1.0 + an.abs()), "{act:?} arg {which}[{k}]: {num} vs {an}");
                }
                Ok(())
            };
            let flat = |v: &Var| -> candle_core::Result<Vec<f32>> {
                grads.get(v.as_tensor()).expect("gradient").flatten_all()?.to_vec1::<f32>()
            };
            check(0, flat(&x)?)?;
            check(1, flat(&w)?)?;
            check(2, flat(&b)?)?;
        }
        Ok(())
    }

    #[test]
    fn constant_inputs_get_no_gradient() -> candle_core::Result<()> {
        let x = Tensor::from_vec(data(12, 1), (3, 4), &Device::Cpu)?;
        let w = var(data(8, 2), (4, 2))?;
        let b = Var::from_tensor(&Tensor::zeros(2, candle_core::DType::F32, &Device::Cpu)?)?;
        let grads = loss(&dense(&x, w.as_tensor(), b.as_tensor(), None)?)?.backward()?;
        assert!(grads.get(&x).is_none());
        assert!(grads.get(w.as_tensor()).is_some() && grads.get(b.as_tensor()).is_some());
        Ok(())
    }
}

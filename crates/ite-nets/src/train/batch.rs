//! Batching: the stratified validation split (from `ite_core::sampling`, where every seeded
//! shuffle of the workspace lives), the training and validation rows as tensors on the
//! training device, the frozen-Φ precompute, and each epoch's shuffled block with its
//! minibatch views.

use candle_core::{Device, Tensor};
use ite_core::sampling::{fisher_yates, stratified_split};
use ite_core::{CausalData, IteRng, Seed};

use crate::error::Result;
use crate::hyperparams::TarNetParams;
use crate::loss;
use crate::scaler::Standardizer;
use crate::tarnet::TarNet;

/// `rows` as a `u32` index tensor on `device` (for `index_select`).
pub(crate) fn index_tensor(rows: &[usize], device: &Device) -> Result<Tensor> {
    Ok(Tensor::from_vec(rows.iter().map(|&i| i as u32).collect::<Vec<_>>(), rows.len(), device)?)
}

/// Tensors of a subset of rows: standardised covariates `x` (`n × p`), outcome `y`, treatment
/// `t` (0./1.) and sample weight `w` (each `(n,)`), and the treatment on the host.
#[derive(Clone)]
pub(crate) struct Block {
    pub(crate) x: Tensor,
    pub(crate) y: Tensor,
    pub(crate) t: Tensor,
    pub(crate) w: Tensor,
    pub(crate) t_host: Vec<u8>,
}

impl Block {
    fn new(rows: &[usize], cols: (&[f32], usize), ys: &[f32], t: &[u8], w: &[f32], dev: &Device) -> Result<Self> {
        let (xs, p) = cols;
        let n = rows.len();
        let x: Vec<f32> = rows.iter().flat_map(|&i| xs[i * p..(i + 1) * p].iter().copied()).collect();
        let t_host: Vec<u8> = rows.iter().map(|&i| t[i]).collect();
        Ok(Block {
            x: Tensor::from_vec(x, (n, p), dev)?,
            y: Tensor::from_vec(rows.iter().map(|&i| ys[i]).collect::<Vec<_>>(), n, dev)?,
            t: Tensor::from_vec(t_host.iter().map(|&v| f32::from(v)).collect::<Vec<_>>(), n, dev)?,
            w: Tensor::from_vec(rows.iter().map(|&i| w[i]).collect::<Vec<_>>(), n, dev)?,
            t_host,
        })
    }

    /// The rows `idx` (in that order) and, when given, the same rows of `rep` (a precomputed
    /// representation of this block).
    fn rows_with(&self, idx: &[usize], rep: Option<&Tensor>) -> Result<(Block, Option<Tensor>)> {
        let it = index_tensor(idx, self.x.device())?;
        let block = Block {
            x: self.x.index_select(&it, 0)?,
            y: self.y.index_select(&it, 0)?,
            t: self.t.index_select(&it, 0)?,
            w: self.w.index_select(&it, 0)?,
            t_host: idx.iter().map(|&i| self.t_host[i]).collect(),
        };
        Ok((block, rep.map(|r| r.index_select(&it, 0)).transpose()?))
    }

    /// Rows `start..start + len` as views (no copy); all rows is the block itself.
    pub(crate) fn narrow(&self, start: usize, len: usize) -> Result<Block> {
        Ok(Block {
            x: self.x.narrow(0, start, len)?,
            y: self.y.narrow(0, start, len)?,
            t: self.t.narrow(0, start, len)?,
            w: self.w.narrow(0, start, len)?,
            t_host: self.t_host[start..start + len].to_vec(),
        })
    }
}

/// The (treated, control) weights from per-row weights.
fn weights_by_arm(t: &[u8], w: &[f32]) -> (f32, f32) {
    let pick = |arm: u8| t.iter().zip(w).find(|(v, _)| **v == arm).map(|(_, w)| *w).unwrap_or(1.0);
    (pick(1), pick(0))
}

/// The training and validation rows of one run, on the training device, with Φ(x) of every
/// row when Φ is frozen.
pub(crate) struct TrainingRows {
    /// The training rows, in row order.
    pub(crate) train: Block,
    /// The validation rows (`None` without a validation split).
    pub(crate) val: Option<Block>,
    /// Φ(x) of the training rows, outside the graph, when Φ is frozen.
    pub(crate) train_rep: Option<Tensor>,
    /// Φ(x) of the validation rows, outside the graph, when Φ is frozen.
    pub(crate) val_rep: Option<Tensor>,
}

impl TrainingRows {
    /// Standardises `data`, splits it (stratified on t, `seed.stream("split")`) and puts both
    /// parts on `device`. Sample weights use the training rows' treated share, for training and
    /// validation rows alike.
    pub(crate) fn new(
        params: &TarNetParams,
        data: &CausalData,
        scalers: (&Standardizer, &Standardizer),
        seed: Seed,
        device: &Device,
    ) -> Result<Self> {
        let (x_scaler, y_scaler) = scalers;
        let xs = x_scaler.transform(data.x().values());
        let ys = y_scaler.transform(data.y());
        let (train_rows, val_rows) = stratified_split(data.t(), params.val_fraction, seed.stream("split"));
        let t_train: Vec<u8> = train_rows.iter().map(|&i| data.t()[i]).collect();
        let u_w = loss::sample_weights(&t_train, params.reweight);
        let (w1, w0) = weights_by_arm(&t_train, &u_w);
        let w_all: Vec<f32> = data.t().iter().map(|&v| if v == 1 { w1 } else { w0 }).collect();
        let cols = (xs.as_slice(), data.p());
        let block = |rows: &[usize]| Block::new(rows, cols, &ys, data.t(), &w_all, device);
        let train = block(&train_rows)?;
        let val = if val_rows.is_empty() { None } else { Some(block(&val_rows)?) };
        Ok(TrainingRows { train, val, train_rep: None, val_rep: None })
    }

    /// With Φ frozen, computes Φ(x) of every row once, outside the graph, instead of at every
    /// step (and no gradient flows back through Φ's layers).
    pub(crate) fn freeze_representation(&mut self, net: &TarNet) -> Result<()> {
        self.train_rep = Some(net.representation(&self.train.x)?.detach());
        self.val_rep = match &self.val {
            Some(v) => Some(net.representation(&v.x)?.detach()),
            None => None,
        };
        Ok(())
    }

    /// Number of training rows.
    pub(crate) fn n_train(&self) -> usize {
        self.train.t_host.len()
    }
}

/// The epochs' row orders: one generator (`seed.stream("batches")`) reshuffles the training
/// rows before each epoch unless every row fits in one minibatch.
pub(crate) struct Epochs {
    order: Vec<usize>,
    rng: IteRng,
    batch_size: usize,
}

impl Epochs {
    /// The orders of `n_train` rows in minibatches of `batch_size`.
    pub(crate) fn new(n_train: usize, batch_size: usize, seed: Seed) -> Self {
        Epochs { order: (0..n_train).collect(), rng: seed.stream("batches").rng(), batch_size }
    }

    /// The next epoch's training block and its frozen representation. When every training row
    /// fits in one minibatch, the block as it is (no shuffle, no gather); otherwise the rows
    /// gathered once in a fresh shuffled order, so that each minibatch is a view of
    /// consecutive rows of that copy.
    pub(crate) fn next(&mut self, rows: &TrainingRows) -> Result<(Block, Option<Tensor>)> {
        if self.order.len() <= self.batch_size {
            return Ok((rows.train.clone(), rows.train_rep.clone()));
        }
        fisher_yates(&mut self.order, &mut self.rng);
        rows.train.rows_with(&self.order, rows.train_rep.as_ref())
    }

    /// `(start, len)` of each minibatch of an epoch, in order.
    pub(crate) fn minibatches(&self) -> impl Iterator<Item = (usize, usize)> + use<> {
        let (n, b) = (self.order.len(), self.batch_size);
        (0..n).step_by(b).map(move |start| (start, b.min(n - start)))
    }
}

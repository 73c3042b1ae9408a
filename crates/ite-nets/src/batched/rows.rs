//! One batched network's rows on the host: standardised covariates and outcome, sample
//! weights, the stratified validation split and each epoch's shuffled minibatches — drawn
//! exactly as the single-network trainer draws them (`train/batch.rs`: the same seed streams
//! `split` and `batches`, the same weights), so a batched fit sees the same minibatches.

use ite_core::sampling::{fisher_yates, stratified_split};
use ite_core::{CausalData, IteRng, Seed};

use crate::hyperparams::TarNetParams;
use crate::loss;
use crate::scaler::Standardizer;

/// The rows of one network.
pub(crate) struct TaskRows {
    /// Standardised covariates of every row (`n × p`).
    pub(crate) x: Vec<f32>,
    /// Number of covariates.
    pub(crate) p: usize,
    /// Standardised outcome of every row.
    pub(crate) y: Vec<f32>,
    /// Treatment of every row.
    pub(crate) t: Vec<u8>,
    /// Sample weight of every row (from the training rows' treated share).
    pub(crate) w: Vec<f32>,
    /// The training rows.
    pub(crate) train: Vec<usize>,
    /// The validation rows (empty without a validation split).
    pub(crate) val: Vec<usize>,
    order: Vec<usize>,
    rng: IteRng,
    batch: usize,
}

impl TaskRows {
    /// Standardises `data` with `scalers`, splits it (stratified on t, `seed.stream("split")`)
    /// and prepares the epoch shuffles (`seed.stream("batches")`).
    pub(crate) fn new(
        params: &TarNetParams,
        data: &CausalData,
        scalers: (&Standardizer, &Standardizer),
        seed: Seed,
    ) -> Self {
        let (x_scaler, y_scaler) = scalers;
        let (train, val) = stratified_split(data.t(), params.val_fraction, seed.stream("split"));
        let t_train: Vec<u8> = train.iter().map(|&i| data.t()[i]).collect();
        let u_w = loss::sample_weights(&t_train, params.reweight);
        let pick = |arm: u8| t_train.iter().zip(&u_w).find(|(v, _)| **v == arm).map_or(1.0, |(_, w)| *w);
        let (w1, w0) = (pick(1), pick(0));
        TaskRows {
            x: x_scaler.transform(data.x().values()),
            p: data.p(),
            y: y_scaler.transform(data.y()),
            t: data.t().to_vec(),
            w: data.t().iter().map(|&v| if v == 1 { w1 } else { w0 }).collect(),
            order: (0..train.len()).collect(),
            train,
            val,
            rng: seed.stream("batches").rng(),
            batch: params.batch_size,
        }
    }

    /// Minibatches per epoch.
    pub(crate) fn n_batches(&self) -> usize {
        self.train.len().div_ceil(self.batch)
    }

    /// Starts an epoch: reshuffles the training rows unless they all fit in one minibatch.
    pub(crate) fn shuffle(&mut self) {
        if self.order.len() > self.batch {
            fisher_yates(&mut self.order, &mut self.rng);
        }
    }

    /// The rows of minibatch `s`, treated first, each arm in minibatch order: the tile then
    /// runs each head on fewer rows (a sum over a minibatch's rows is taken in this order).
    /// Written into `into` (replacing its contents); each row's place is computed without a
    /// branch on its arm, which would be mispredicted about as often as the arms alternate.
    pub(crate) fn minibatch_by_arm(&self, s: usize, into: &mut Vec<usize>) {
        let n = self.minibatch(s).len();
        let n1 = self.minibatch(s).map(|i| usize::from(self.t[i] == 1)).sum::<usize>();
        into.clear();
        into.resize(n, 0);
        let (mut at1, mut at0) = (0, n1);
        for i in self.minibatch(s) {
            let treated = usize::from(self.t[i] == 1);
            into[if treated == 1 { at1 } else { at0 }] = i;
            at1 += treated;
            at0 += 1 - treated;
        }
    }

    /// The rows (indices into the data) of minibatch `s` of the current epoch.
    pub(crate) fn minibatch(&self, s: usize) -> impl ExactSizeIterator<Item = usize> + '_ {
        let start = (s * self.batch).min(self.order.len());
        let end = (start + self.batch).min(self.order.len());
        self.order[start..end].iter().map(|&q| self.train[q])
    }
}

//! The record of a training run ([`TrainHistory`], one [`EpochRecord`] per epoch), kept with a
//! fitted model and written to `model.json`.

use serde::{Deserialize, Serialize};

/// One epoch's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number (0-based).
    pub epoch: usize,
    /// Mean training objective over the epoch's minibatches.
    pub train_loss: f64,
    /// Factual loss on the validation rows (`None` without a validation split).
    pub val_loss: Option<f64>,
}

/// What happened during training.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainHistory {
    /// One record per epoch run.
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose weights the model holds (the best validation epoch, or the last).
    pub best_epoch: usize,
    /// Whether training stopped before `max_epochs`.
    pub stopped_early: bool,
}

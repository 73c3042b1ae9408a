//! [`TargetTraining`]: how the strategies that train on the target sample set
//! up that training, starting from the source model's hyperparameters.

use ite_core::Params;
use ite_nets::TarNetParams;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TransferError};

/// Settings of a training phase on the target sample. The network's shape, activation and
/// batch size always come from the source model; these fields set the rest.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `learning_rate_scale` | 1.0 (0.1 in [`TargetTraining::transfer`]) | target learning rate = source learning rate × this | (0, 10] |
/// | `max_epochs` | 300 | epoch budget on the target | ≥ 1 |
/// | `patience` | 30 | early-stopping patience (epochs without a better validation loss) | ≥ 1 |
/// | `val_fraction` | 0.3 | share of the target held out for early stopping (stratified on t); 0 = no early stopping | [0, 0.9] |
/// | `keep_ipm` | false | keep the source's IPM term (α) on the target; off trains a plain TARNet objective | — |
/// | `per_arm_loss` | false | weight the factual loss so each arm counts half (the mean of the controls' and the treated's mean squared errors, as the study's phase 2; `TarNetParams::reweight`) | — |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetTraining {
    /// Multiplier of the source learning rate.
    pub learning_rate_scale: f64,
    /// Maximum epochs on the target.
    pub max_epochs: usize,
    /// Early-stopping patience.
    pub patience: usize,
    /// Validation share for early stopping.
    pub val_fraction: f64,
    /// Whether the source's IPM term stays on.
    pub keep_ipm: bool,
    /// Whether each arm's mean loss counts half, whatever its size. Settings saved before the
    /// field existed read as `false`.
    #[serde(default)]
    pub per_arm_loss: bool,
}

impl Default for TargetTraining {
    fn default() -> Self {
        TargetTraining {
            learning_rate_scale: 1.0,
            max_epochs: 300,
            patience: 30,
            val_fraction: 0.3,
            keep_ipm: false,
            per_arm_loss: false,
        }
    }
}

impl TargetTraining {
    /// The defaults of the strategies that start from source weights: learning rate at 0.1× the
    /// source's, so the target moves the network only as far as its evidence outweighs the
    /// start (on Simulation 1's biased targets this halves ε_PEHE against 1×).
    pub fn transfer() -> Self {
        TargetTraining { learning_rate_scale: 0.1, ..TargetTraining::default() }
    }
}

impl Params for TargetTraining {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        let s = self.learning_rate_scale;
        if !(s > 0.0 && s <= 10.0) {
            return Err(TransferError::param("learning_rate_scale", s, "a number in (0, 10]"));
        }
        if self.max_epochs == 0 {
            return Err(TransferError::param("max_epochs", self.max_epochs, "at least 1"));
        }
        if self.patience == 0 {
            return Err(TransferError::param("patience", self.patience, "at least 1"));
        }
        if !(0.0..=0.9).contains(&self.val_fraction) {
            return Err(TransferError::param("val_fraction", self.val_fraction, "a number in [0, 0.9]"));
        }
        Ok(())
    }
}

impl TargetTraining {
    /// These settings with the epochs and the patience capped at `max_epochs` (unchanged with
    /// `None`); how every strategy applies [`crate::StrategyConfig::max_epochs`].
    pub fn with_epoch_cap(self, max_epochs: Option<usize>) -> Self {
        match max_epochs {
            Some(cap) => {
                TargetTraining { max_epochs: self.max_epochs.min(cap), patience: self.patience.min(cap), ..self }
            }
            None => self,
        }
    }

    /// The network hyperparameters for the target phase, derived from the source's.
    pub fn params_from(&self, source: &TarNetParams) -> TarNetParams {
        let mut p = source
            .clone()
            .with_learning_rate(source.learning_rate * self.learning_rate_scale)
            .with_max_epochs(self.max_epochs)
            .with_patience(self.patience)
            .with_val_fraction(self.val_fraction);
        if !self.keep_ipm {
            p.alpha = 0.0;
        }
        if self.per_arm_loss {
            p.reweight = true;
        }
        p
    }
}

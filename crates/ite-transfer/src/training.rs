//! [`TargetTraining`]: how the strategies that train on the target sample set
//! up that training, starting from the source model's hyperparameters.

use ite_core::Params;
use ite_nets::TarNetParams;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TransferError};

/// Settings of a training phase on the target sample. The network's shape and activation always
/// come from the source model, and its learning rate and batch size unless `learning_rate` /
/// `batch_size` are given; these fields set the rest.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `learning_rate_scale` | 1.0 (0.1 in [`TargetTraining::transfer`]) | target learning rate = source learning rate × this | (0, 10] |
/// | `max_epochs` | 300 | epoch budget on the target | ≥ 1 |
/// | `patience` | 30 | early-stopping patience (epochs without a better validation loss) | ≥ 1 |
/// | `val_fraction` | 0.3 | share of the target held out for early stopping (stratified on t); 0 = no early stopping | [0, 0.9] |
/// | `keep_ipm` | false | keep the source's IPM term (α) on the target; off trains a plain TARNet objective | — |
/// | `learning_rate` | `None` | the target learning rate itself (replaces source × `learning_rate_scale`) | `None` or finite, > 0 |
/// | `batch_size` | `None` | the target minibatch size (`None`: the source's) | `None` or ≥ 1 |
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
    /// The learning rate on the target, replacing source × `learning_rate_scale` (`ite transfer
    /// --learning-rate`). Settings saved before the field existed read as `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    /// The minibatch size on the target (`None`: the source's; `ite transfer --batch-size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
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
            learning_rate: None,
            batch_size: None,
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
        if let Some(r) = self.learning_rate
            && !(r.is_finite() && r > 0.0)
        {
            return Err(TransferError::param("learning_rate", r, "a finite number > 0"));
        }
        if self.batch_size == Some(0) {
            return Err(TransferError::param("batch_size", 0, "at least 1"));
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

    /// These settings with `config`'s epoch cap ([`Self::with_epoch_cap`]), learning rate and
    /// batch size (each kept when `config` leaves it `None`); how every strategy applies a
    /// [`crate::StrategyConfig`] to its target phase.
    pub fn with_config(self, config: &crate::StrategyConfig) -> Self {
        let capped = self.with_epoch_cap(config.max_epochs);
        TargetTraining {
            learning_rate: config.learning_rate.or(capped.learning_rate),
            batch_size: config.batch_size.or(capped.batch_size),
            ..capped
        }
    }

    /// The network hyperparameters for the target phase, derived from the source's.
    pub fn params_from(&self, source: &TarNetParams) -> TarNetParams {
        let rate = self.learning_rate.unwrap_or(source.learning_rate * self.learning_rate_scale);
        let mut p = source
            .clone()
            .with_learning_rate(rate)
            .with_max_epochs(self.max_epochs)
            .with_patience(self.patience)
            .with_val_fraction(self.val_fraction);
        if !self.keep_ipm {
            p.alpha = 0.0;
        }
        if self.per_arm_loss {
            p.reweight = true;
        }
        if let Some(b) = self.batch_size {
            p.batch_size = b;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StrategyConfig;

    #[test]
    fn a_config_sets_the_target_rate_and_batch_and_keeps_the_rest() {
        let source = TarNetParams::study_small();
        let t = TargetTraining::transfer();
        let plain = t.clone().with_config(&StrategyConfig::default()).params_from(&source);
        assert_eq!(plain.learning_rate, source.learning_rate * 0.1);
        assert_eq!(plain.batch_size, source.batch_size);
        let c = StrategyConfig { max_epochs: Some(7), learning_rate: Some(0.02), batch_size: Some(5) };
        let set = t.with_config(&c);
        assert_eq!((set.max_epochs, set.learning_rate, set.batch_size), (7, Some(0.02), Some(5)));
        let p = set.params_from(&source);
        assert_eq!((p.learning_rate, p.batch_size, p.max_epochs), (0.02, 5, 7));
        assert!(TargetTraining { batch_size: Some(0), ..TargetTraining::default() }.validate().is_err());
        assert!(StrategyConfig { learning_rate: Some(f64::NAN), ..c }.validate().is_err());
    }
}

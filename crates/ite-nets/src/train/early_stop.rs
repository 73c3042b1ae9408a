//! Early stopping shared by TARNet/CFR and the MLP T-learner: the divergence check, the best
//! validation epoch's snapshot, patience, and restoring the best weights at the end.

use std::collections::BTreeMap;

use candle_core::Tensor;

use crate::error::{NetsError, Result};
use crate::vars::TarNetVars;

/// [`NetsError::Diverged`] when `value` (the loss called `what`) is not finite.
pub(crate) fn check_finite(value: f64, what: &str, epoch: usize) -> Result<()> {
    if value.is_finite() { Ok(()) } else { Err(NetsError::Diverged(format!("{what} is {value} at epoch {epoch}"))) }
}

/// Tracks the validation loss over epochs: keeps a snapshot of the best epoch's weights and
/// says when `patience` epochs have passed without a strictly lower loss.
pub(crate) struct EarlyStopping {
    patience: usize,
    best: Option<(f64, BTreeMap<String, Tensor>)>,
    since_best: usize,
    best_epoch: usize,
    stopped_early: bool,
}

impl EarlyStopping {
    /// A tracker that stops after `patience` epochs without improvement.
    pub(crate) fn new(patience: usize) -> Self {
        EarlyStopping { patience, best: None, since_best: 0, best_epoch: 0, stopped_early: false }
    }

    /// Records epoch `epoch` with validation loss `val_loss` (`None` without a validation
    /// split: the last epoch is the one kept) and returns whether to stop. Errors when the
    /// validation loss is not finite.
    pub(crate) fn observe(&mut self, epoch: usize, val_loss: Option<f64>, vars: &TarNetVars) -> Result<bool> {
        let Some(vl) = val_loss else {
            self.best_epoch = epoch;
            return Ok(false);
        };
        check_finite(vl, "validation loss", epoch)?;
        if self.best.as_ref().is_none_or(|(b, _)| vl < *b) {
            self.best = Some((vl, vars.snapshot()?));
            self.best_epoch = epoch;
            self.since_best = 0;
        } else {
            self.since_best += 1;
            if self.since_best >= self.patience {
                self.stopped_early = true;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Restores the best epoch's weights into `vars` (when there was a validation split) and
    /// returns `(best_epoch, stopped_early)`.
    pub(crate) fn restore_best(self, vars: &TarNetVars) -> Result<(usize, bool)> {
        if let Some((_, snapshot)) = self.best {
            vars.restore(&snapshot)?;
        }
        Ok((self.best_epoch, self.stopped_early))
    }
}

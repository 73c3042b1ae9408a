//! What a binary outcome changes in every model of this crate: the training outcomes must be
//! 0 or 1, and outputs are logits turned into probabilities by the sigmoid.

use ite_core::{CoreError, OutcomeType};

use crate::error::{NetsError, Result};

/// Errors unless every value of `y` is 0 or 1 when `outcome_type` is binary; `what` names the
/// data in the message (e.g. `training data`).
pub fn check_outcomes(outcome_type: OutcomeType, y: &[f64], what: &str) -> Result<()> {
    if outcome_type.is_binary()
        && let Some(i) = OutcomeType::first_non_binary(y)
    {
        return Err(NetsError::Core(CoreError::data(format!(
            "{what}: outcome of row {} is {}, but a binary outcome (outcome_type = binary) takes the values 0 and 1 only",
            i + 1,
            y[i]
        ))));
    }
    Ok(())
}

/// The logistic function `1 / (1 + e^−z)`, computed without overflow; in (0, 1) for every
/// finite `z` of moderate size (it rounds to 0 or 1 only beyond |z| ≈ 37 in `f64`).
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

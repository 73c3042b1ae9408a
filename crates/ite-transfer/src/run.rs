//! [`transfer_with_cita`]: run any strategy and report the task affinity next to its model.

use ite_core::{Seed, TransferInput, TransferStrategy};
use ite_nets::FittedTarNet;

use crate::error::{Result, TransferError};
use crate::fisher::{CitaParams, task_affinity};

/// An adapted model with the task affinity of its source and target.
#[derive(Debug)]
pub struct TransferOutcome<M> {
    /// The adapted model.
    pub model: M,
    /// CITA of source and target through the source model, in [0, 1] (small = close).
    pub cita: f64,
}

/// Runs `strategy` on `input` and computes CITA. Works for built-in and user-written
/// strategies alike; a strategy's own error is wrapped in [`TransferError::Strategy`].
pub fn transfer_with_cita<S>(
    strategy: &S,
    input: TransferInput<'_, FittedTarNet>,
    cita_params: &CitaParams,
    seed: Seed,
) -> Result<TransferOutcome<S::Model>>
where
    S: TransferStrategy<FittedTarNet> + ?Sized,
{
    let cita = task_affinity(input, cita_params, seed)?;
    let model = strategy
        .transfer(input, seed)
        .map_err(|e| TransferError::Strategy { name: strategy.name().to_string(), error: Box::new(e) })?;
    Ok(TransferOutcome { model, cita })
}

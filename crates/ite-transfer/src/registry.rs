//! The built-in strategies by name, for programs that choose one at run time (`ite transfer
//! --strategy NAME`). A user-written strategy does not need to be registered: anything that
//! implements [`TransferStrategy`] runs through [`crate::transfer_with_cita`].

use ite_core::TransferStrategy;
use ite_nets::FittedTarNet;

use crate::error::{Result, TransferError};
use crate::{FineTune, FreezeRepresentation, L2Sp, Pooled, SourceOnly, StagedAlignment, TargetOnly};

/// A built-in strategy behind a trait object.
pub type BoxedStrategy =
    Box<dyn TransferStrategy<FittedTarNet, Model = FittedTarNet, Error = TransferError> + Send + Sync>;

/// Names of the built-in strategies, in the order `--help` lists them.
pub const STRATEGY_NAMES: [&str; 7] =
    ["source-only", "target-only", "fine-tune", "freeze-representation", "l2-sp", "staged-alignment", "pooled"];

/// The built-in strategy `name` with its default settings.
///
/// ```
/// let s = ite_transfer::strategy_by_name("staged-alignment")?;
/// assert_eq!(s.name(), "staged-alignment");
/// let err = ite_transfer::strategy_by_name("magic").err().expect("unknown name").to_string();
/// assert!(err.contains("fine-tune") && err.contains("pooled"));
/// # Ok::<(), ite_transfer::TransferError>(())
/// ```
pub fn strategy_by_name(name: &str) -> Result<BoxedStrategy> {
    Ok(match name {
        "source-only" => Box::new(SourceOnly),
        "target-only" => Box::new(TargetOnly::default()),
        "fine-tune" => Box::new(FineTune::default()),
        "freeze-representation" => Box::new(FreezeRepresentation::default()),
        "l2-sp" => Box::new(L2Sp::default()),
        "staged-alignment" => Box::new(StagedAlignment::default()),
        "pooled" => Box::new(Pooled::default()),
        _ => {
            return Err(TransferError::UnknownStrategy {
                name: name.into(),
                valid: STRATEGY_NAMES.iter().map(|s| s.to_string()).collect(),
            });
        }
    })
}

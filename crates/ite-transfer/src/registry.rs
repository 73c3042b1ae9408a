//! [`Registry`]: the transfer strategies a program can choose by name — the built-in ones
//! ([`Registry::builtin`]) and any a user registers — each one [`StrategyEntry`] (name, one-line
//! description, constructor that applies the [`StrategyConfig`]). `ite transfer --strategy`,
//! `ite reproduce --methods` and the grids of `ite-eval` all read their names from here.
//!
//! A strategy needs no entry to run once: anything that implements [`TransferStrategy`](ite_core::TransferStrategy) runs
//! through [`crate::transfer_with_cita`]. It needs one to be chosen by name, e.g. in a grid.

use ite_core::Params;

use crate::entry::{BoxedStrategy, StrategyConfig, StrategyEntry};
use crate::error::{Result, TransferError};
use crate::{FineTune, FreezeRepresentation, L2Sp, Pooled, SourceOnly, StagedAlignment, TargetOnly};

/// The built-in strategies, in the order help texts list them.
const BUILTIN: [StrategyEntry; 7] = [
    SourceOnly::ENTRY,
    TargetOnly::ENTRY,
    FineTune::ENTRY,
    FreezeRepresentation::ENTRY,
    L2Sp::ENTRY,
    StagedAlignment::ENTRY,
    Pooled::ENTRY,
];

/// Names of the built-in strategies, in the order `--help` lists them (those of
/// [`Registry::builtin`]).
pub const STRATEGY_NAMES: [&str; BUILTIN.len()] = {
    let mut names = [""; BUILTIN.len()];
    let mut i = 0;
    while i < BUILTIN.len() {
        names[i] = BUILTIN[i].name;
        i += 1;
    }
    names
};

/// Strategies by name: the built-in ones plus any registered, in registration order.
///
/// ```
/// use ite_transfer::{Registry, StrategyConfig};
/// let registry = Registry::builtin();
/// let s = registry.build("staged-alignment", &StrategyConfig::default())?;
/// assert_eq!(s.name(), "staged-alignment");
/// let err = registry.build("magic", &StrategyConfig::default()).err().expect("unknown name").to_string();
/// assert!(err.contains("fine-tune") && err.contains("pooled"));
/// # Ok::<(), ite_transfer::TransferError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    entries: Vec<StrategyEntry>,
}

impl Default for Registry {
    /// The built-in strategies.
    fn default() -> Self {
        Registry::builtin()
    }
}

impl Registry {
    /// A registry with no strategy.
    pub fn empty() -> Self {
        Registry { entries: Vec::new() }
    }

    /// The built-in strategies: source-only, target-only, fine-tune, freeze-representation,
    /// l2-sp, staged-alignment, pooled.
    pub fn builtin() -> Self {
        Registry { entries: BUILTIN.to_vec() }
    }

    /// Adds `entry`.
    ///
    /// # Errors
    /// [`TransferError::DuplicateStrategy`] when its name is taken, [`TransferError::Settings`]
    /// when the name is empty or holds whitespace or a comma (names are listed comma-separated).
    pub fn register(&mut self, entry: StrategyEntry) -> Result<&mut Self> {
        let name = entry.name;
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ',') {
            return Err(TransferError::param("name", name, "a non-empty name without whitespace or commas"));
        }
        if self.contains(name) {
            return Err(TransferError::DuplicateStrategy { name: name.into() });
        }
        self.entries.push(entry);
        Ok(self)
    }

    /// Replaces the entry of `entry`'s name (the same place in the order): how a grid protocol
    /// swaps in other settings of a strategy under the same name.
    ///
    /// # Errors
    /// [`TransferError::UnknownStrategy`], listing the registered names, when no entry has that
    /// name.
    pub fn replace(&mut self, entry: StrategyEntry) -> Result<&mut Self> {
        let names = self.names();
        match self.entries.iter_mut().find(|e| e.name == entry.name) {
            Some(slot) => {
                *slot = entry;
                Ok(self)
            }
            None => Err(TransferError::UnknownStrategy {
                name: entry.name.into(),
                valid: names.into_iter().map(String::from).collect(),
            }),
        }
    }

    /// The registered names, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name).collect()
    }

    /// The entries, in registration order.
    pub fn entries(&self) -> &[StrategyEntry] {
        &self.entries
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&StrategyEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Whether a strategy called `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The entry called `name`.
    ///
    /// # Errors
    /// [`TransferError::UnknownStrategy`], listing the registered names, when there is none.
    pub fn entry(&self, name: &str) -> Result<&StrategyEntry> {
        self.get(name).ok_or_else(|| TransferError::UnknownStrategy {
            name: name.into(),
            valid: self.names().into_iter().map(String::from).collect(),
        })
    }

    /// The strategy `name` with its default settings and `config` applied.
    ///
    /// # Errors
    /// [`TransferError::UnknownStrategy`] for a name not registered; [`TransferError::Settings`]
    /// for an invalid `config`; [`TransferError::MisnamedStrategy`] when the built strategy
    /// reports another name than its entry.
    pub fn build(&self, name: &str, config: &StrategyConfig) -> Result<BoxedStrategy> {
        config.validate()?;
        let entry = self.entry(name)?;
        let strategy = (entry.build)(config);
        if strategy.name() != entry.name {
            return Err(TransferError::MisnamedStrategy {
                registered: entry.name.into(),
                reported: strategy.name().into(),
            });
        }
        Ok(strategy)
    }
}

/// The built-in strategy `name` with its default settings (shorthand for
/// `Registry::builtin().build(name, &StrategyConfig::default())`).
///
/// ```
/// let s = ite_transfer::strategy_by_name("staged-alignment")?;
/// assert_eq!(s.name(), "staged-alignment");
/// let err = ite_transfer::strategy_by_name("magic").err().expect("unknown name").to_string();
/// assert!(err.contains("fine-tune") && err.contains("pooled"));
/// # Ok::<(), ite_transfer::TransferError>(())
/// ```
pub fn strategy_by_name(name: &str) -> Result<BoxedStrategy> {
    Registry::builtin().build(name, &StrategyConfig::default())
}

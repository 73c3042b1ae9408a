//! [`Registry`]: the transfer strategies a program can choose by name — the built-in ones
//! ([`Registry::builtin`]) and any a user registers — each one [`StrategyEntry`] (name, one-line
//! description, constructor that applies the [`StrategyConfig`]). `ite transfer --strategy`,
//! `ite reproduce --methods` and the grids of `ite-eval` all read their names from here.
//!
//! A strategy needs no entry to run once: anything that implements [`TransferStrategy`] runs
//! through [`crate::transfer_with_cita`]. It needs one to be chosen by name, e.g. in a grid.

use ite_core::{Params, TransferStrategy};
use ite_nets::FittedTarNet;

use crate::error::{Result, TransferError};
use crate::{FineTune, FreezeRepresentation, L2Sp, Pooled, SourceOnly, StagedAlignment, TargetOnly};

/// A strategy behind a trait object, as a [`Registry`] builds it.
pub type BoxedStrategy =
    Box<dyn TransferStrategy<FittedTarNet, Model = FittedTarNet, Error = TransferError> + Send + Sync>;

/// What every strategy of a registry is built with.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `max_epochs` | `None` | caps the epochs (and the early-stopping patience) of every training phase of the strategy; for tests and smoke runs (changes the results) | `None` or ≥ 1 |
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StrategyConfig {
    /// Cap on the epochs of every training phase.
    pub max_epochs: Option<usize>,
}

impl Params for StrategyConfig {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        if self.max_epochs == Some(0) {
            return Err(TransferError::param("max_epochs", self.max_epochs, "None or at least 1"));
        }
        Ok(())
    }
}

/// One strategy of a [`Registry`]: how to find it, describe it and build it.
///
/// Each built-in strategy defines its entry once, next to its type (e.g.
/// [`crate::FineTune::ENTRY`]). A user's entry is made with [`StrategyEntry::new`]:
///
/// ```
/// use ite_transfer::{BoxedStrategy, Registry, StrategyConfig, StrategyEntry, TargetOnly, TargetTraining};
///
/// // A target-only fit at half the source's learning rate, under a name of its own.
/// fn build(config: &StrategyConfig) -> BoxedStrategy {
///     let training = TargetTraining { learning_rate_scale: 0.5, ..TargetTraining::default() };
///     Box::new(TargetOnly { training, ..TargetOnly::default() }.with_epoch_cap(config.max_epochs))
/// }
/// let entry = StrategyEntry::new("target-only-slow", "target-only at 0.5× the learning rate", build)
///     .without_source();
/// let mut registry = Registry::builtin();
/// registry.register(entry)?;
/// assert!(registry.contains("target-only-slow"));
/// # Ok::<(), ite_transfer::TransferError>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct StrategyEntry {
    /// The name the strategy is chosen by, and that its [`TransferStrategy::name`] returns.
    pub name: &'static str,
    /// One line for help texts and listings.
    pub description: &'static str,
    /// Builds the strategy with its default settings and the config applied (its epoch cap).
    pub build: fn(&StrategyConfig) -> BoxedStrategy,
    /// Whether the strategy reads the source model or sample (false: a grid records no task
    /// affinity for it).
    pub uses_source: bool,
}

impl StrategyEntry {
    /// An entry for a strategy that uses the source (see [`StrategyEntry::without_source`]).
    /// `build` must apply the config's epoch cap to every training phase it runs.
    pub const fn new(
        name: &'static str,
        description: &'static str,
        build: fn(&StrategyConfig) -> BoxedStrategy,
    ) -> Self {
        StrategyEntry { name, description, build, uses_source: true }
    }

    /// The same entry, marked as ignoring the source model and sample.
    pub const fn without_source(self) -> Self {
        StrategyEntry { uses_source: false, ..self }
    }
}

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
    /// [`TransferError::DuplicateStrategy`] when its name is taken, [`TransferError::InvalidParam`]
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
    /// [`TransferError::UnknownStrategy`] for a name not registered; [`TransferError::InvalidParam`]
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

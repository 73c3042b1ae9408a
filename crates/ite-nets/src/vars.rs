//! [`TarNetVars`]: the named trainable variables of a network, with selection by name prefix,
//! snapshots and restores (early stopping, warm starts, persistence).

use std::collections::BTreeMap;

use candle_core::{Tensor, Var};
use candle_nn::VarMap;

/// The three variable groups of a TARNet (Shalit, Johansson & Sontag 2017): the shared
/// representation Φ and the outcome heads h0 (control) and h1 (treated).
///
/// A variable's name is `<group>.<layer>.<weight|bias>`, e.g. `phi.0.weight`; select a group's
/// variables by its [`VarGroup::prefix`] (what [`TarNetVars::select`] and
/// `TrainOptions::trainable` take) instead of writing the strings.
///
/// ```
/// use ite_nets::vars::VarGroup;
/// assert_eq!(VarGroup::Phi.prefix(), "phi.");
/// assert_eq!(VarGroup::prefixes(&VarGroup::HEADS), vec!["h0.".to_string(), "h1.".to_string()]);
/// assert_eq!(VarGroup::of("h1.0.weight"), Some(VarGroup::H1));
/// assert!(VarGroup::Phi.holds("phi.2.bias") && !VarGroup::Phi.holds("h0.0.bias"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VarGroup {
    /// The representation Φ (`phi.*`).
    Phi,
    /// The control outcome head h0 (`h0.*`).
    H0,
    /// The treated outcome head h1 (`h1.*`).
    H1,
}

impl VarGroup {
    /// Every group, in the order the network creates them (Φ, h0, h1).
    pub const ALL: [VarGroup; 3] = [VarGroup::Phi, VarGroup::H0, VarGroup::H1];

    /// The two outcome heads.
    pub const HEADS: [VarGroup; 2] = [VarGroup::H0, VarGroup::H1];

    /// The group's name, the first part of its variables' names: `phi`, `h0` or `h1`.
    pub const fn name(self) -> &'static str {
        match self {
            VarGroup::Phi => "phi",
            VarGroup::H0 => "h0",
            VarGroup::H1 => "h1",
        }
    }

    /// The prefix of the group's variable names: `phi.`, `h0.` or `h1.`.
    pub const fn prefix(self) -> &'static str {
        match self {
            VarGroup::Phi => "phi.",
            VarGroup::H0 => "h0.",
            VarGroup::H1 => "h1.",
        }
    }

    /// Whether the variable called `var_name` belongs to this group.
    pub fn holds(self, var_name: &str) -> bool {
        var_name.starts_with(self.prefix())
    }

    /// The group of the variable called `var_name`, if it belongs to one.
    pub fn of(var_name: &str) -> Option<VarGroup> {
        VarGroup::ALL.into_iter().find(|g| g.holds(var_name))
    }

    /// The prefixes of `groups`, as [`TarNetVars::select`] and `TrainOptions::trainable` take them.
    pub fn prefixes(groups: &[VarGroup]) -> Vec<String> {
        groups.iter().map(|g| g.prefix().to_string()).collect()
    }
}

impl std::fmt::Display for VarGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The named variables of a network, kept in a candle [`VarMap`].
///
/// Names are `<group>.<layer>.<weight|bias>` with group `phi`, `h0` or `h1` ([`VarGroup`]).
/// Every listing is sorted by name, so orders never depend on the hash map.
#[derive(Clone)]
pub struct TarNetVars {
    map: VarMap,
}

impl std::fmt::Debug for TarNetVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TarNetVars").field("names", &self.names()).finish()
    }
}

impl TarNetVars {
    pub(crate) fn from_named(named: Vec<(String, Var)>) -> Self {
        let map = VarMap::new();
        {
            let mut data = map.data().lock().unwrap_or_else(|e| e.into_inner());
            for (name, var) in named {
                data.insert(name, var);
            }
        }
        TarNetVars { map }
    }

    fn sorted(&self) -> BTreeMap<String, Var> {
        let data = self.map.data().lock().unwrap_or_else(|e| e.into_inner());
        data.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// All variable names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.sorted().into_keys().collect()
    }

    /// The variable called `name`.
    pub fn get(&self, name: &str) -> Option<Var> {
        self.map.data().lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    /// `(name, variable)` pairs, sorted by name.
    pub fn iter_sorted(&self) -> Vec<(String, Var)> {
        self.sorted().into_iter().collect()
    }

    /// Variables whose name starts with one of `prefixes` (e.g. `VarGroup::prefixes(&VarGroup::HEADS)`,
    /// that is `["h0.", "h1."]`), sorted by name.
    pub fn select(&self, prefixes: &[String]) -> Vec<(String, Var)> {
        self.sorted().into_iter().filter(|(n, _)| prefixes.iter().any(|p| n.starts_with(p.as_str()))).collect()
    }

    /// Deep copies of every variable's current value, by name.
    pub fn snapshot(&self) -> candle_core::Result<BTreeMap<String, Tensor>> {
        self.sorted().into_iter().map(|(n, v)| Ok((n, v.as_tensor().detach().copy()?))).collect()
    }

    /// Sets every variable named in `values` to that value (shapes must match); errors on a name
    /// this network does not have.
    pub fn restore(&self, values: &BTreeMap<String, Tensor>) -> candle_core::Result<()> {
        let vars = self.sorted();
        for (name, value) in values {
            match vars.get(name) {
                Some(var) => var.set(value)?,
                None => candle_core::bail!("the network has no variable `{name}`"),
            }
        }
        Ok(())
    }

    /// Total number of scalar parameters.
    pub fn n_parameters(&self) -> usize {
        self.sorted().values().map(|v| v.elem_count()).sum()
    }
}

//! [`TarNetVars`]: the named trainable variables of a network, with selection by name prefix,
//! snapshots and restores (early stopping, warm starts, persistence).

use std::collections::BTreeMap;

use candle_core::{Tensor, Var};
use candle_nn::VarMap;

/// The named variables of a network, kept in a candle [`VarMap`].
///
/// Names are `<part>.<layer>.<weight|bias>` with part `phi`, `h0` or `h1`. Every listing is
/// sorted by name, so orders never depend on the hash map.
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

    /// The underlying candle `VarMap` (shares storage with the network).
    pub fn var_map(&self) -> &VarMap {
        &self.map
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

    /// Variables whose name starts with one of `prefixes` (e.g. `["h0.", "h1."]`), sorted by name.
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

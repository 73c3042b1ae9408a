//! Pieces shared by the simulations: how a target's treatment is assigned, the
//! logistic function, and a row buffer that turns `f64` draws into `CausalData`.

use ite_core::{CausalData, Covariates, SettingsError, Truth, default_names};

use crate::error::DgpError;

/// How treatment is assigned in a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Assignment {
    /// Treatment independent of everything (a randomized trial).
    #[default]
    Randomized,
    /// Treatment depends on the untreated outcome Y(0), noise included, so
    /// no adjustment for the covariates removes the confounding.
    Biased,
}

impl Assignment {
    /// The name used on the command line (`randomized`, `biased`).
    pub fn as_str(self) -> &'static str {
        match self {
            Assignment::Randomized => "randomized",
            Assignment::Biased => "biased",
        }
    }
}

impl std::fmt::Display for Assignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Assignment {
    type Err = DgpError;
    fn from_str(s: &str) -> Result<Self, DgpError> {
        match s {
            "randomized" => Ok(Assignment::Randomized),
            "biased" => Ok(Assignment::Biased),
            other => Err(SettingsError::text("assignment", other, "`randomized` or `biased`").into()),
        }
    }
}

/// The logistic function 1 / (1 + e^−v), stable for large |v|.
pub fn expit(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

/// Rows accumulated and stored in `f64`.
pub(crate) struct Rows {
    p: usize,
    x: Vec<f64>,
    t: Vec<u8>,
    y: Vec<f64>,
    mu0: Vec<f64>,
    mu1: Vec<f64>,
}

impl Rows {
    pub(crate) fn with_capacity(n: usize, p: usize) -> Self {
        Rows {
            p,
            x: Vec::with_capacity(n * p),
            t: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            mu0: Vec::with_capacity(n),
            mu1: Vec::with_capacity(n),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.t.len()
    }

    /// Appends one unit; the observed outcome is `y1` if treated, else `y0`.
    pub(crate) fn push(&mut self, x: &[f64], treated: bool, y0: f64, y1: f64, mu0: f64, mu1: f64) {
        debug_assert_eq!(x.len(), self.p);
        self.x.extend_from_slice(x);
        self.t.push(u8::from(treated));
        self.y.push(if treated { y1 } else { y0 });
        self.mu0.push(mu0);
        self.mu1.push(mu1);
    }

    /// The dataset, covariates named `names` (default `x1..xp`).
    pub(crate) fn finish(self, names: Option<Vec<String>>) -> Result<CausalData, DgpError> {
        let names = names.unwrap_or_else(|| default_names(self.p));
        let x = Covariates::new(self.x, names)?;
        let truth = Truth::new(self.mu0, self.mu1)?;
        Ok(CausalData::from_parts(x, self.t, self.y, Some(truth), None)?)
    }
}

/// Errors unless `n ≥ 1`.
pub(crate) fn check_n(n: usize) -> Result<(), DgpError> {
    if n == 0 {
        return Err(SettingsError::new("n", 0, "at least 1 unit").into());
    }
    Ok(())
}

/// Errors unless `v` is finite.
pub(crate) fn check_finite(name: &str, v: f64) -> Result<(), DgpError> {
    if !v.is_finite() {
        return Err(SettingsError::new(name, v, "a finite number").into());
    }
    Ok(())
}

/// Errors unless `v` is finite and `> 0` (`allow_zero`: `≥ 0`).
pub(crate) fn check_positive(name: &str, v: f64, allow_zero: bool) -> Result<(), DgpError> {
    let ok = v.is_finite() && if allow_zero { v >= 0.0 } else { v > 0.0 };
    if !ok {
        return Err(SettingsError::new(
            name,
            v,
            if allow_zero { "a finite number ≥ 0" } else { "a finite number > 0" },
        )
        .into());
    }
    Ok(())
}

/// Errors unless `v` is a probability strictly between 0 and 1.
pub(crate) fn check_open_probability(name: &str, v: f64) -> Result<(), DgpError> {
    if !(v > 0.0 && v < 1.0) {
        return Err(SettingsError::new(name, v, "a probability strictly between 0 and 1").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expit_is_stable_and_symmetric() {
        assert_eq!(expit(0.0), 0.5);
        assert!((expit(2.0) + expit(-2.0) - 1.0).abs() < 1e-15);
        assert_eq!(expit(-1000.0), 0.0);
        assert_eq!(expit(1000.0), 1.0);
        assert!((expit(1.0) - 0.731_058_578_630_004_9).abs() < 1e-15);
    }

    #[test]
    fn assignment_parses() {
        assert_eq!("biased".parse::<Assignment>().unwrap(), Assignment::Biased);
        let e = "random".parse::<Assignment>().unwrap_err().to_string();
        assert!(e.contains("`assignment` = random"), "{e}");
    }
}

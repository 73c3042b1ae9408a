//! An estimate with its uncertainty ([`Estimate`]) and the normal interval it is built from.
//!
//! Every interval `ite` reports is one of these: a point estimate, a standard error where the
//! method has one, the interval's limits, its nominal level and the method's name, so a reader
//! (or `summary.json`) always knows what was computed.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::{InferenceError, Result};
use ite_core::SettingsError;

/// A point estimate with its standard error and a two-sided interval at `level`.
///
/// `se`, `lower` and `upper` are `None` when the data cannot give them (an arm with fewer than
/// two units, a single cluster); `undefined` then says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The point estimate (outcome units).
    pub estimate: f64,
    /// Its standard error (outcome units), when the method has one.
    pub se: Option<f64>,
    /// Lower limit of the interval.
    pub lower: Option<f64>,
    /// Upper limit of the interval.
    pub upper: Option<f64>,
    /// Nominal coverage of the interval, in (0, 1).
    pub level: f64,
    /// How it was computed: `"aipw"`, `"plugin-bootstrap"`, ...
    pub method: String,
    /// Why there is no interval, when there is none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub undefined: Option<String>,
}

impl Estimate {
    /// The estimate with a normal interval `estimate ± z_{(1+level)/2} · se`.
    ///
    /// ```
    /// let e = ite_inference::Estimate::normal(1.0, 0.5, 0.95, "aipw")?;
    /// assert!((e.lower.unwrap() - (1.0 - 1.959964 * 0.5)).abs() < 1e-5);
    /// # Ok::<(), ite_inference::InferenceError>(())
    /// ```
    ///
    /// # Errors
    /// [`InferenceError::Settings`] when `level` is not in (0, 1);
    /// [`InferenceError::Data`] when `se` is negative or not finite.
    pub fn normal(estimate: f64, se: f64, level: f64, method: &str) -> Result<Self> {
        if !(se.is_finite() && se >= 0.0) {
            return Err(InferenceError::data(format!("{method}: standard error {se} is not a finite number ≥ 0")));
        }
        let (lower, upper) = normal_interval(estimate, se, level)?;
        Ok(Estimate {
            estimate,
            se: Some(se),
            lower: Some(lower),
            upper: Some(upper),
            level,
            method: method.into(),
            undefined: None,
        })
    }

    /// An estimate without an interval, with the reason.
    pub fn without_interval(estimate: f64, level: f64, method: &str, why: impl Into<String>) -> Self {
        Estimate {
            estimate,
            se: None,
            lower: None,
            upper: None,
            level,
            method: method.into(),
            undefined: Some(why.into()),
        }
    }

    /// Whether the interval holds `value` (false when there is no interval).
    pub fn covers(&self, value: f64) -> bool {
        matches!((self.lower, self.upper), (Some(l), Some(u)) if l <= value && value <= u)
    }

    /// `upper − lower`, when there is an interval.
    pub fn width(&self) -> Option<f64> {
        Some(self.upper? - self.lower?)
    }
}

/// Checks that a nominal level is in (0, 1); `name` is the parameter's name in the error.
pub fn check_level(name: &str, level: f64) -> Result<()> {
    if !(level > 0.0 && level < 1.0) {
        return Err(SettingsError::new(name, level, "a number in (0, 1), e.g. 0.95").into());
    }
    Ok(())
}

/// The standard normal quantile `z` with `P(|Z| ≤ z) = level` (1.959964 at 0.95), from `statrs`.
///
/// # Errors
/// [`InferenceError::Settings`] when `level` is not in (0, 1).
pub fn z_two_sided(level: f64) -> Result<f64> {
    check_level("level", level)?;
    let normal = Normal::new(0.0, 1.0).map_err(|e| InferenceError::data(e.to_string()))?;
    Ok(normal.inverse_cdf(0.5 + level / 2.0))
}

/// `(estimate − z·se, estimate + z·se)` with `z` from [`z_two_sided`].
pub fn normal_interval(estimate: f64, se: f64, level: f64) -> Result<(f64, f64)> {
    let z = z_two_sided(level)?;
    Ok((estimate - z * se, estimate + z * se))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_the_normal_table() {
        assert!((z_two_sided(0.95).unwrap() - 1.959_963_985).abs() < 1e-8);
        assert!((z_two_sided(0.90).unwrap() - 1.644_853_627).abs() < 1e-8);
        assert!(z_two_sided(1.0).is_err() && z_two_sided(0.0).is_err() && z_two_sided(f64::NAN).is_err());
    }

    #[test]
    fn covers_needs_an_interval() {
        let e = Estimate::normal(1.0, 0.1, 0.95, "x").unwrap();
        assert!(e.covers(1.1) && !e.covers(1.3));
        assert!(!Estimate::without_interval(1.0, 0.95, "x", "one unit").covers(1.0));
        assert!(Estimate::normal(1.0, f64::NAN, 0.95, "x").is_err());
    }
}

//! The traits every other crate implements (docs/design.md §3).
//!
//! - [`Dgp`]: a data-generating process that samples [`CausalData`].
//! - [`Params`] → [`Fit`] → a fitted [`IteModel`]: hyperparameters are values
//!   that validate themselves; fitting them to data with a [`Seed`] returns a
//!   model (linfa's pattern). [`FitWith`] fits starting from a prior model.
//! - [`TransferStrategy`]: a fitted source model plus source and target data
//!   → an adapted model. Built-in and user-written strategies use the same trait.
//!
//! Each trait has an associated `Error`, so each crate keeps its own error enum.
//!
//! A whole, if tiny, estimator — difference in means — shows the shape:
//!
//! ```
//! use ite_core::{CausalData, CoreError, Covariates, Fit, IteModel, Params, PotentialOutcomes, Seed, SettingsError};
//!
//! /// Hyperparameters: none to speak of, but they still validate.
//! struct DiffInMeans { shrink: f64 }
//! struct FittedDiffInMeans { m0: f64, m1: f64, names: Vec<String> }
//!
//! impl Params for DiffInMeans {
//!     type Error = CoreError;
//!     fn validate(&self) -> Result<(), CoreError> {
//!         if !(0.0..=1.0).contains(&self.shrink) {
//!             return Err(SettingsError::new("shrink", self.shrink, "a number in [0, 1]").into());
//!         }
//!         Ok(())
//!     }
//! }
//! impl Fit for DiffInMeans {
//!     type Model = FittedDiffInMeans;
//!     fn fit(&self, data: &CausalData, _seed: Seed) -> Result<FittedDiffInMeans, CoreError> {
//!         self.validate()?;
//!         data.require_both_arms("training data")?;
//!         let mean = |arm| {
//!             let v: Vec<f64> = data.y().iter().zip(data.t()).filter(|(_, t)| **t == arm).map(|(y, _)| *y).collect();
//!             v.iter().sum::<f64>() / v.len() as f64
//!         };
//!         let (m0, m1) = (mean(0), mean(1));
//!         let m1 = m0 + (1.0 - self.shrink) * (m1 - m0);
//!         Ok(FittedDiffInMeans { m0, m1, names: data.feature_names().to_vec() })
//!     }
//! }
//! impl IteModel for FittedDiffInMeans {
//!     type Error = CoreError;
//!     fn feature_names(&self) -> &[String] { &self.names }
//!     fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes, CoreError> {
//!         self.check_features(x)?;
//!         PotentialOutcomes::new(vec![self.m0; x.n_rows()], vec![self.m1; x.n_rows()])
//!     }
//! }
//!
//! let x = Covariates::with_default_names(vec![0.0; 4], 1)?;
//! let data = CausalData::new(x.clone(), vec![0, 0, 1, 1], vec![1.0, 3.0, 4.0, 6.0])?;
//! let model = DiffInMeans { shrink: 0.0 }.fit(&data, Seed::new(1))?;
//! assert_eq!(model.ate(&x)?, 3.0);
//! assert!(DiffInMeans { shrink: 2.0 }.fit(&data, Seed::new(1)).is_err());
//! # Ok::<(), CoreError>(())
//! ```

use crate::data::{CausalData, Covariates, PotentialOutcomes};
use crate::error::CoreError;
use crate::seed::{IteRng, Seed};

/// A data-generating process.
pub trait Dgp {
    /// The error sampling can return (bad parameters, a rejection sampler that cannot fill `n`).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Draws `n` units, with [`crate::Truth`] filled in. Deterministic for a given generator state.
    fn sample(&self, n: usize, rng: &mut IteRng) -> Result<CausalData, Self::Error>;

    /// Draws `n` units from a fresh generator for `seed` (same seed → same data).
    fn sample_seeded(&self, n: usize, seed: Seed) -> Result<CausalData, Self::Error> {
        self.sample(n, &mut seed.rng())
    }
}

/// Hyperparameters that validate themselves.
///
/// Implementors document each field in a table (name | default | meaning | valid range).
pub trait Params {
    /// The error for an invalid parameter; names the parameter and its valid range.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Checks every field; the error names the first invalid one.
    fn validate(&self) -> Result<(), Self::Error>;
}

/// Hyperparameters that can be fitted to data, returning a fitted model.
pub trait Fit: Params {
    /// The fitted model.
    type Model: IteModel;

    /// Validates `self`, then fits on `data`. All randomness derives from `seed`.
    fn fit(&self, data: &CausalData, seed: Seed) -> Result<Self::Model, Self::Error>;
}

/// Fitting that starts from a prior model (warm start, the natural shape of transfer).
pub trait FitWith: Fit {
    /// Fits on `data` starting from `prior`'s parameters.
    fn fit_with(&self, prior: &Self::Model, data: &CausalData, seed: Seed) -> Result<Self::Model, Self::Error>;
}

/// A fitted model of individual treatment effects.
pub trait IteModel {
    /// The error prediction can return (wrong covariates, a numerical backend failure).
    type Error: std::error::Error + Send + Sync + 'static + From<CoreError>;

    /// The covariate names the model was fitted on, in order.
    fn feature_names(&self) -> &[String];

    /// Predicted potential-outcome means for each row of `x`.
    fn predict(&self, x: &Covariates) -> Result<PotentialOutcomes, Self::Error>;

    /// Predicted individual effects τ̂(x) = μ̂1(x) − μ̂0(x) (EconML's `effect`).
    fn ite(&self, x: &Covariates) -> Result<Vec<f64>, Self::Error> {
        Ok(self.predict(x)?.ite())
    }

    /// Predicted average effect over the rows of `x`.
    fn ate(&self, x: &Covariates) -> Result<f64, Self::Error> {
        Ok(self.predict(x)?.ate())
    }

    /// Errors unless `x` has the covariates the model was fitted on, by name and order.
    fn check_features(&self, x: &Covariates) -> Result<(), CoreError> {
        if self.feature_names() != x.names() {
            return Err(CoreError::data(format!(
                "the model was fitted on covariates [{}] but the data has [{}]",
                self.feature_names().join(", "),
                x.names().join(", ")
            )));
        }
        Ok(())
    }
}

/// What a transfer strategy starts from.
#[derive(Debug)]
#[non_exhaustive]
pub struct TransferInput<'a, S> {
    /// The model fitted on the source sample.
    pub source_model: &'a S,
    /// The source sample (some strategies use it: pooled training, alignment to source embeddings).
    pub source: &'a CausalData,
    /// The target sample to adapt to.
    pub target: &'a CausalData,
}

impl<'a, S> TransferInput<'a, S> {
    /// Bundles the inputs, checking that source and target have the same covariates.
    pub fn new(source_model: &'a S, source: &'a CausalData, target: &'a CausalData) -> Result<Self, CoreError> {
        source.x().check_same_columns("source", target.x(), "target")?;
        Ok(TransferInput { source_model, source, target })
    }
}

impl<S> Clone for TransferInput<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for TransferInput<'_, S> {}

/// A way to adapt a model fitted on a source sample to a target sample.
///
/// `S` is the source model's type (for the built-in strategies, a fitted
/// TARNet). A new strategy is one type implementing this trait; nothing else
/// needs to change.
pub trait TransferStrategy<S> {
    /// The adapted model.
    type Model: IteModel;
    /// The error adaptation can return.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A short kebab-case name (`"fine-tune"`, `"staged-alignment"`, ...).
    fn name(&self) -> &str;

    /// Adapts `input.source_model` to `input.target`. All randomness derives from `seed`.
    fn transfer(&self, input: TransferInput<'_, S>, seed: Seed) -> Result<Self::Model, Self::Error>;
}

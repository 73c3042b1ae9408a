//! # ite-core
//!
//! Shared types and traits of the `ite` workspace, on which every other crate
//! builds and which depends on no other `ite` crate: [`CausalData`] (covariates,
//! binary treatment, outcome, optional [`Truth`]), validated on construction;
//! CSV input and output with errors that name file, line and column
//! ([`read_csv`], [`write_csv`], [`write_atomic`]); categorical covariates and missing values
//! ([`Encoding`], [`EncodingParams`], [`MissingPolicy`]), fitted on training files and saved
//! with a model; the [`OutcomeType`] (continuous or binary); [`Seed`], one `u64` from
//! which named, order-independent random streams derive; and the traits of the
//! design — [`Dgp`], [`Params`] → [`Fit`] → [`IteModel`], [`FitWith`],
//! [`TransferStrategy`] — with the [`CoreError`] type and the one [`SettingsError`] that
//! every crate's error wraps; [`sampling`] (seeded shuffles, splits, subsamples) and [`stats`]
//! (mean, sd, median, quantile), shared by all crates.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod csv_io;
mod data;
mod encoding;
mod error;
mod outcome;
pub mod sampling;
mod seed;
pub mod stats;
mod traits;

pub use csv_io::{
    CovariateTable, CsvLayout, MISSING_HINT, RawCsv, read_covariates_csv, read_covariates_csv_from,
    read_covariates_csv_matching, read_covariates_csv_matching_from, read_csv, read_csv_from, read_labels,
    read_labels_from, write_atomic, write_csv, write_csv_to,
};
pub use data::{CausalData, Covariates, PotentialOutcomes, Truth, default_names};
pub use encoding::{
    ColumnEncoding, ColumnKind, EncodedCovariates, EncodedData, Encoding, EncodingParams, KeptRows, MissingPolicy,
    is_missing,
};
pub use error::{CoreError, Result, SettingsError};
pub use outcome::OutcomeType;
pub use seed::{IteRng, Seed};
pub use traits::{Dgp, Fit, FitWith, IteModel, Params, TransferInput, TransferStrategy};

/// Re-export of `rand`, so dependants use the same version as [`IteRng`].
pub use rand;

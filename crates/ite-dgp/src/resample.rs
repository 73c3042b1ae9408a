//! A process that draws rows of an existing dataset uniformly with replacement
//! (a bootstrap population), for example IHDP-like samples of any size.

use ite_core::{CausalData, Dgp, IteRng};
use rand::RngExt;

use crate::common::check_n;
use crate::error::DgpError;

/// Rows of `data` drawn uniformly with replacement. Every row keeps its
/// covariates, treatment, outcome, truth and id: the sample is honest about
/// being a resample — no unit is new, only the mix of units is.
///
/// ```
/// use ite_core::{Dgp, Seed};
/// use ite_dgp::{Resample, Sim1Source};
/// let base = Sim1Source::default().sample_seeded(100, Seed::new(1))?;
/// let boot = Resample::new(base.clone()).sample_seeded(1000, Seed::new(2))?;
/// assert_eq!(boot.n(), 1000);
/// assert!(boot.x().rows().all(|r| base.x().rows().any(|b| b == r)));
/// # Ok::<(), ite_dgp::DgpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Resample {
    /// The rows to draw from.
    pub data: CausalData,
}

impl Resample {
    /// A resampler of `data`.
    pub fn new(data: CausalData) -> Self {
        Resample { data }
    }
}

impl Dgp for Resample {
    type Error = DgpError;

    fn sample(&self, n: usize, rng: &mut IteRng) -> Result<CausalData, DgpError> {
        check_n(n)?;
        let m = self.data.n();
        let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..m)).collect();
        Ok(self.data.select(&idx)?)
    }
}

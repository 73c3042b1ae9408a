//! Summaries of a metric over replications: mean, its standard error, median, count.

use ite_core::stats::{mean, median, sd};
use serde::{Deserialize, Serialize};

/// A metric summarised over replications.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of replications.
    pub count: usize,
    /// Mean over replications.
    pub mean: f64,
    /// Standard error of the mean: sd / √count (n − 1 denominator; 0 for one value).
    pub se: f64,
    /// Median over replications.
    pub median: f64,
}

impl Summary {
    /// Summarises `values`; `None` when there are none.
    ///
    /// ```
    /// let s = ite_metrics::Summary::of(&[1.0, 2.0, 3.0, 6.0]).unwrap();
    /// assert_eq!((s.count, s.mean, s.median), (4, 3.0, 2.5));
    /// assert!((s.se - (14.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-12);
    /// ```
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        Some(Summary { count: n, mean: mean(values), se: sd(values) / (n as f64).sqrt(), median: median(values) })
    }
}

//! Summaries of a metric over replications: [`Summary`], from `ite-metrics`.

pub use ite_metrics::Summary;

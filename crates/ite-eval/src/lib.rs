//! # ite-eval
//!
//! Evaluation of ITE estimators: metrics (ε_PEHE and its root, ATE bias and
//! error, policy risk), bootstrap intervals, replication summaries, experiment
//! grids that run in parallel, resume after interruption and split into
//! shards, and the study's figures. Depends on `ite-core`, `ite-dgp`,
//! `ite-nets` and `ite-transfer`.

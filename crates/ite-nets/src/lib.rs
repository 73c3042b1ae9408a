//! # ite-nets
//!
//! Representation networks for individual treatment effects on candle: TARNet
//! (a shared representation Φ and two outcome heads) and CFR (TARNet plus an
//! integral probability metric between the treated and control
//! representations), their seeded training loop with early stopping, the
//! baselines users compare against (OLS and MLP T-/S-learners), and model
//! persistence. Depends only on `ite-core`.

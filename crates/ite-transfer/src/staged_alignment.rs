//! `staged-alignment`: the study's TL-TARNet (Aydın & Brandt). Phase 1 trains the
//! representation Φ alone on the target to minimise
//! W(Φ_T treated, Φ_S treated) + W(Φ_T controls, Φ_S controls) + W(Φ_T controls, Φ_T treated),
//! with the source embeddings Φ_S fixed and the gradient norm clipped at 1; phase 2 freezes Φ
//! and refits the heads on the target's factual loss. W is the entropic Wasserstein
//! (Sinkhorn) distance of `ite_nets::ipm`.
//!
//! **Defaults** (issue 17; docs/reproduction.md, "Staged alignment's defaults"): one phase-1
//! epoch at 0.1× the source learning rate, then the heads refit for a fixed 10 epochs at 0.025×,
//! with no validation split and no early stopping — the study's structure (fixed epochs, no
//! validation), with rates chosen on Simulation 1 (source 10 000, biased targets of 250 and 1000,
//! randomized 500) and Simulation 2 (source 5000 and 1000, effect and covariate shift at c = 1),
//! then checked on the full grids. The result stays close to the source model: right when the
//! target is the source's population seen through a biased assignment (Simulation 1's targets
//! select on Y(0)'s noise, so every fit to their factual outcomes drifts toward a confounded
//! effect), wrong when the target's effect really differs (Simulation 2's effect shift), where
//! `fine-tune` adapts and `auto` can choose it.
//!
//! **Measured** (6 replications, ε_PEHE on 2000 fresh target units): Simulation 1, source
//! 10 000, biased target 1000: these defaults 0.135, the previous ones (5 alignment epochs, heads
//! early-stopped on a 30% target validation split at 0.1×, up to 300 epochs) 0.81, target-only
//! 0.88; a strong alignment (30 epochs at the full rate) did worse than target-only in earlier
//! sweeps, because on a biased target the arms differ in their covariates and aligning them
//! collapses the directions of x that carry the effect.

use candle_core::{DType, Tensor};
use ite_core::{CausalData, Params, Seed, TransferInput, TransferStrategy};
use ite_nets::ipm::{sinkhorn_divergence, sinkhorn_divergence_to_fixed};
use ite_nets::vars::VarGroup;
use ite_nets::{FittedTarNet, LossContext, SinkhornConfig, TrainOptions};

use crate::entry::{StrategyConfig, StrategyEntry};
use crate::error::{Result, TransferError};
use crate::net_fit::{NetFit, Start};
use crate::sampling::subsample;
use crate::training::TargetTraining;

/// The study's two-phase transfer.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `align_epochs` | 1 | phase-1 epochs (no early stopping: the factual loss is not its objective) | ≥ 1 |
/// | `align_learning_rate_scale` | 0.1 | phase-1 learning rate = source learning rate × this | (0, 10] |
/// | `clip_grad_norm` | 1.0 | phase-1 gradient norm clip | > 0 |
/// | `source_points` | 200 | source embeddings kept per arm (a seeded subsample; each step costs O(batch × this)) | ≥ 1 |
/// | `sinkhorn` | [`SinkhornConfig::default`] | Sinkhorn solver for W | valid config |
/// | `training` | [`StagedAlignment::heads_refit`]: 10 epochs at 0.025× the source learning rate, no validation split | phase-2 (heads) training settings | see [`TargetTraining`] |
#[derive(Debug, Clone, PartialEq)]
pub struct StagedAlignment {
    /// Phase-1 epochs.
    pub align_epochs: usize,
    /// Phase-1 learning-rate multiplier.
    pub align_learning_rate_scale: f64,
    /// Phase-1 gradient-norm clip.
    pub clip_grad_norm: f64,
    /// Source embeddings kept per arm.
    pub source_points: usize,
    /// Sinkhorn solver settings.
    pub sinkhorn: SinkhornConfig,
    /// Phase-2 settings.
    pub training: TargetTraining,
}

impl Default for StagedAlignment {
    fn default() -> Self {
        StagedAlignment {
            align_epochs: 1,
            align_learning_rate_scale: 0.1,
            clip_grad_norm: 1.0,
            source_points: 200,
            sinkhorn: SinkhornConfig::default(),
            training: StagedAlignment::heads_refit(),
        }
    }
}

impl StagedAlignment {
    /// The strategy's name, `staged-alignment`.
    pub const NAME: &str = "staged-alignment";

    /// Its registry entry.
    pub const ENTRY: StrategyEntry = StrategyEntry::new(
        Self::NAME,
        "the study's TL-TARNet: Φ aligned to the source (Sinkhorn), then the heads refit",
        |c| Box::new(StagedAlignment::default().configured(c)),
    )
    .with_net_fit(|c, input, seed| StagedAlignment::default().configured(c).net_fit(input, seed));

    /// The registry entry of [`StagedAlignment::study_code`] under the name `staged-alignment`:
    /// what a grid under the study protocol runs in its place (`ite_eval::grid::Protocol`).
    pub const STUDY_ENTRY: StrategyEntry = StrategyEntry::new(
        Self::NAME,
        "the study's TL-TARNet with its published code's settings (study protocol)",
        |c| Box::new(StagedAlignment::study_code().configured(c)),
    )
    .with_net_fit(|c, input, seed| StagedAlignment::study_code().configured(c).net_fit(input, seed));

    /// These settings with `config` applied (the epoch cap to both phases, the learning rate
    /// and batch size to the heads phase), as the registry entries build them.
    pub fn configured(self, config: &StrategyConfig) -> Self {
        let s = self.with_epoch_cap(config.max_epochs);
        StagedAlignment { training: s.training.with_config(config), ..s }
    }

    /// Phase 1 ([`StagedAlignment::align`], seed `seed.stream("staged-alignment")`) and the
    /// heads phase as a fit, which `transfer(input, seed)` runs: the source model's network
    /// with the target training settings, starting from the aligned model, the heads trainable,
    /// seed `seed.stream("staged-alignment").stream("heads")`.
    ///
    /// # Errors
    /// Invalid settings; phase 1's errors.
    pub fn net_fit(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<NetFit> {
        self.validate()?;
        let seed = seed.stream("staged-alignment");
        let embeddings = SourceEmbeddings::compute(input.source_model, input.source, self.source_points, seed)?;
        let aligned = self.align(input.source_model, &embeddings, input.target, seed)?;
        Ok(NetFit {
            params: self.training.params_from(input.source_model.params()),
            seed: seed.stream("heads"),
            start: Start::Model(Box::new(aligned)),
            trainable: Some(VarGroup::HEADS.to_vec()),
        })
    }

    /// The settings of the study's published code (Aydın & Brandt; the authors' repository
    /// TL_TARNet) where it gives them, and values chosen by us where it is silent.
    ///
    /// From the code: phase 1 trains Φ alone with the gradient norm clipped at 1 for a fixed
    /// number of epochs; W is geomloss's debiased Sinkhorn divergence with p = 2 and blur 0.01,
    /// i.e. an absolute ε = blur² = 1e-4 ([`SinkhornConfig`] with `relative: false`; ours runs at
    /// most 100 log-domain iterations where geomloss anneals ε); phase 2 refits the heads alone
    /// for a fixed number of epochs with no validation split, on the mean of the controls' and
    /// the treated's mean squared errors ([`TargetTraining::per_arm_loss`]), no L2.
    ///
    /// Chosen by us (the code has no driver script): 5 alignment epochs at the source learning
    /// rate, and 20 heads epochs at 0.1× it — of the settings tried (5 or 20 alignment epochs at
    /// 1×; 5, 20, 50 heads epochs at 1×, 20 and 100 at 0.1×), the one closest to the study's TL on
    /// Simulation 1, source 5000, targets of 50 and 250, both assignments, under the study
    /// protocol (8 replications); the other cells validate it (docs/reproduction.md).
    pub fn study_code() -> Self {
        StagedAlignment {
            align_epochs: 5,
            align_learning_rate_scale: 1.0,
            clip_grad_norm: 1.0,
            source_points: 200,
            sinkhorn: SinkhornConfig { epsilon: 1e-4, relative: false, max_iter: 100, tol: 1e-4 },
            training: TargetTraining {
                learning_rate_scale: 0.1,
                max_epochs: 20,
                val_fraction: 0.0,
                per_arm_loss: true,
                ..TargetTraining::default()
            },
        }
    }

    /// The default phase 2: the heads refit for a fixed 10 epochs at 0.025× the source learning
    /// rate, no validation split (so no early stopping on the target's factual loss).
    pub fn heads_refit() -> TargetTraining {
        TargetTraining { learning_rate_scale: 0.025, max_epochs: 10, val_fraction: 0.0, ..TargetTraining::default() }
    }

    /// These settings with the alignment epochs and the heads' epochs and patience capped at
    /// `max_epochs`.
    pub fn with_epoch_cap(self, max_epochs: Option<usize>) -> Self {
        let align_epochs = max_epochs.map_or(self.align_epochs, |cap| self.align_epochs.min(cap));
        StagedAlignment { align_epochs, training: self.training.with_epoch_cap(max_epochs), ..self }
    }
}

impl Params for StagedAlignment {
    type Error = TransferError;
    fn validate(&self) -> Result<()> {
        if self.align_epochs == 0 {
            return Err(TransferError::param("align_epochs", self.align_epochs, "at least 1"));
        }
        let s = self.align_learning_rate_scale;
        if !(s > 0.0 && s <= 10.0) {
            return Err(TransferError::param("align_learning_rate_scale", s, "a number in (0, 10]"));
        }
        if !(self.clip_grad_norm > 0.0 && self.clip_grad_norm.is_finite()) {
            return Err(TransferError::param("clip_grad_norm", self.clip_grad_norm, "a finite number > 0"));
        }
        if self.source_points == 0 {
            return Err(TransferError::param("source_points", self.source_points, "at least 1"));
        }
        let c = &self.sinkhorn;
        if !(c.epsilon > 0.0 && c.epsilon.is_finite()) || c.max_iter == 0 {
            return Err(TransferError::param("sinkhorn", c, "epsilon > 0 and max_iter ≥ 1"));
        }
        self.training.validate()
    }
}

/// The source model's embeddings of (a subsample of) the source sample, per arm; fixed
/// during alignment.
#[derive(Debug, Clone)]
pub struct SourceEmbeddings {
    /// Φ_S of treated source units (`k × rep_dim`).
    pub treated: Tensor,
    /// Φ_S of control source units (`k × rep_dim`).
    pub control: Tensor,
}

impl SourceEmbeddings {
    /// Embeds up to `per_arm` units of each arm of `source` (a seeded subsample without
    /// replacement) with `model`'s representation.
    pub fn compute(model: &FittedTarNet, source: &CausalData, per_arm: usize, seed: Seed) -> Result<Self> {
        source.require_both_arms("source data")?;
        let mut rng = seed.stream("source-embeddings").rng();
        let mut embed = |arm: u8| -> Result<Tensor> {
            let arm_rows: Vec<usize> = (0..source.n()).filter(|&i| source.t()[i] == arm).collect();
            let idx = subsample(arm_rows, per_arm, &mut rng);
            Ok(model.representation(&source.x().select_rows(&idx)?)?.detach())
        };
        Ok(SourceEmbeddings { control: embed(0)?, treated: embed(1)? })
    }
}

fn rows(r: &Tensor, t: &[u8], arm: u8) -> candle_core::Result<Option<Tensor>> {
    let idx: Vec<u32> = (0..t.len()).filter(|&i| t[i] == arm).map(|i| i as u32).collect();
    if idx.is_empty() {
        return Ok(None);
    }
    let n = idx.len();
    r.index_select(&Tensor::from_vec(idx, n, r.device())?, 0).map(Some)
}

/// The phase-1 objective on representations `phi` of target units with treatment `t`.
/// Terms whose arm is absent from `phi` are left out. With `exact`, every term is the full
/// Sinkhorn divergence (0 for identical samples); without, source-only constants are dropped.
pub fn alignment_loss(
    phi: &Tensor,
    t: &[u8],
    source: &SourceEmbeddings,
    cfg: &SinkhornConfig,
    exact: bool,
) -> candle_core::Result<Tensor> {
    // Without `exact`, the source-only term OT_ε(b, b) (constant: the source embeddings are
    // fixed) is dropped; the gradient is the divergence's.
    let to_source = if exact { sinkhorn_divergence } else { sinkhorn_divergence_to_fixed };
    let (c, tr) = (rows(phi, t, 0)?, rows(phi, t, 1)?);
    let mut total = Tensor::zeros((), DType::F32, phi.device())?;
    if let Some(tr) = &tr {
        total = (total + to_source(tr, &source.treated, cfg)?)?;
    }
    if let Some(c) = &c {
        total = (total + to_source(c, &source.control, cfg)?)?;
    }
    if let (Some(c), Some(tr)) = (&c, &tr) {
        total = (total + sinkhorn_divergence(c, tr, cfg)?)?;
    }
    Ok(total)
}

/// The full alignment distance (exact Sinkhorn divergences) of `model`'s representation of
/// the whole `target` to the source embeddings.
pub fn alignment_distance(
    model: &FittedTarNet,
    target: &CausalData,
    source: &SourceEmbeddings,
    cfg: &SinkhornConfig,
) -> Result<f64> {
    let phi = model.representation(target.x())?;
    let v = alignment_loss(&phi, target.t(), source, cfg, true)?;
    Ok(f64::from(v.to_scalar::<f32>()?))
}

impl StagedAlignment {
    /// Phase 1 only: Φ aligned on the target, heads untouched (exposed for inspection and tests).
    pub fn align(
        &self,
        source_model: &FittedTarNet,
        embeddings: &SourceEmbeddings,
        target: &CausalData,
        seed: Seed,
    ) -> Result<FittedTarNet> {
        self.validate()?;
        let sp = source_model.params();
        let params = sp
            .clone()
            .with_learning_rate(sp.learning_rate * self.align_learning_rate_scale)
            .with_max_epochs(self.align_epochs)
            .with_val_fraction(0.0);
        let cfg = self.sinkhorn;
        let loss = move |ctx: &LossContext<'_>| alignment_loss(ctx.phi, ctx.t, embeddings, &cfg, false);
        let options = TrainOptions {
            trainable: Some(VarGroup::prefixes(&[VarGroup::Phi])),
            extra_loss: Some(&loss),
            only_extra_loss: true,
            clip_grad_norm: Some(self.clip_grad_norm),
            ..TrainOptions::default()
        };
        Ok(params.fit_with_options(target, seed.stream("align"), Some(source_model), &options)?)
    }
}

impl TransferStrategy<FittedTarNet> for StagedAlignment {
    type Model = FittedTarNet;
    type Error = TransferError;

    fn name(&self) -> &str {
        Self::NAME
    }

    fn transfer(&self, input: TransferInput<'_, FittedTarNet>, seed: Seed) -> Result<FittedTarNet> {
        self.net_fit(input, seed)?.fit(input.source_model, input.target)
    }
}

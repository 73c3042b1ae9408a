//! Hyperparameters of TARNet / CFR ([`TarNetParams`]) and their validation.

use ite_core::{OutcomeType, SettingsError};
use serde::{Deserialize, Serialize};

use crate::error::NetsError;

/// Activation after every hidden layer of Φ and of the heads (the output layer is linear).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, `exp(x) − 1` otherwise (α = 1), as in the TARNet paper.
    Elu,
}

/// Integral probability metric between the representations of controls and treated (CFR).
///
/// All three are differentiable; see [`crate::ipm`] for the exact definitions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Ipm {
    /// Squared distance between the two means (linear-kernel MMD²).
    LinearMmd,
    /// Biased MMD² with the Gaussian kernel `exp(−‖a − b‖² / (2σ²))`.
    RbfMmd {
        /// Kernel bandwidth σ (> 0).
        sigma: f64,
    },
    /// Entropic Wasserstein-2 (Sinkhorn divergence, squared-Euclidean cost).
    Wasserstein(SinkhornConfig),
}

/// Settings of the Sinkhorn solver behind [`Ipm::Wasserstein`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SinkhornConfig {
    /// Entropic regularisation ε, relative to the mean cross cost (ε = `epsilon` · mean C) when
    /// `relative`, absolute otherwise.
    pub epsilon: f64,
    /// Whether `epsilon` scales with the mean cost (scale-free; the default).
    pub relative: bool,
    /// Maximum number of log-domain Sinkhorn iterations.
    pub max_iter: usize,
    /// Stop early once the largest change of a dual potential, relative to ε, is below this.
    pub tol: f64,
}

impl Default for SinkhornConfig {
    fn default() -> Self {
        SinkhornConfig { epsilon: 0.1, relative: true, max_iter: 100, tol: 1e-4 }
    }
}

/// Hyperparameters of TARNet and CFR (CFR = TARNet with `alpha > 0`).
///
/// `Default` is the TARNet paper's IHDP configuration (Shalit, Johansson & Sontag 2017), with
/// the epoch budget tuned for the IHDP benchmark (see `docs/benchmarks.md`).
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `phi_layers` | `[200, 200, 200]` | widths of the representation Φ's layers | ≥ 1 layer, each ≥ 1 |
/// | `head_layers` | `[100, 100, 100]` | widths of each head's hidden layers (a linear output of width 1 follows) | each ≥ 1 (may be empty) |
/// | `activation` | `Elu` | activation after every hidden layer | `Elu`, `Relu` |
/// | `phi_final_activation` | `true` | apply the activation after Φ's last layer too (`false`: the representation is linear in the last hidden layer and may be negative, as in the study's code) | — |
/// | `unit_norm` | `false` | divide each representation row by its Euclidean norm | — |
/// | `alpha` | `0.0` | weight α of the IPM term (0 = TARNet, > 0 = CFR) | finite, ≥ 0 |
/// | `ipm` | `Wasserstein(default)` | which IPM when `alpha > 0` | `RbfMmd.sigma` > 0; Sinkhorn `epsilon` > 0, `max_iter` ≥ 1 |
/// | `learning_rate` | `1e-3` | Adam step size | finite, > 0 |
/// | `batch_size` | `100` | minibatch size (the last partial batch is used too) | ≥ 1 |
/// | `l2_heads` | `1e-4` | weight λ of λ·Σw² over the heads' weight matrices | finite, ≥ 0 |
/// | `reweight` | `false` | weight units by w = t/(2u) + (1 − t)/(2(1 − u)), u = treated share | — |
/// | `val_fraction` | `0.3` | share of training rows held out, stratified on t, for early stopping (0 = none) | [0, 0.9] |
/// | `patience` | `15` | epochs without validation improvement before stopping | ≥ 1 |
/// | `max_epochs` | `300` | maximum passes over the training rows | ≥ 1 |
/// | `standardize_x` | `true` | standardise non-binary covariates with training means/sds (stored with the model; 0/1 columns are left as they are) | — |
/// | `standardize_y` | `true` | standardise the outcome on the training data, inverted at prediction (never for a binary outcome) | — |
/// | `outcome_type` | `Continuous` | `Continuous`: the heads output means, the factual loss is the squared error; `Binary`: the heads output logits, the factual loss is the binary cross-entropy (weighted as the squared error), predicted means are their sigmoids in (0, 1) and an effect is a risk difference | `Continuous`, `Binary` (training outcomes all 0 or 1) |
///
/// ```
/// use ite_core::Params;
/// use ite_nets::{Ipm, TarNetParams};
/// let p = TarNetParams::default().with_ipm(Ipm::LinearMmd, 1.0);
/// p.validate()?;
/// let e = TarNetParams { batch_size: 0, ..TarNetParams::default() }.validate().unwrap_err();
/// assert!(e.to_string().contains("batch_size"));
/// # Ok::<(), ite_nets::NetsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TarNetParams {
    /// Widths of Φ's layers.
    pub phi_layers: Vec<usize>,
    /// Widths of each head's hidden layers (the output layer of width 1 is added).
    pub head_layers: Vec<usize>,
    /// Activation after every hidden layer.
    pub activation: Activation,
    /// Whether Φ's last layer is followed by the activation too. Parameters saved before the
    /// field existed read as `true`.
    #[serde(default = "default_true")]
    pub phi_final_activation: bool,
    /// Normalise each representation to unit Euclidean norm.
    pub unit_norm: bool,
    /// IPM weight α (0 = TARNet).
    pub alpha: f64,
    /// The IPM used when `alpha > 0`.
    pub ipm: Ipm,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Minibatch size.
    pub batch_size: usize,
    /// L2 penalty weight on the heads' weight matrices.
    pub l2_heads: f64,
    /// Inverse-propensity-style reweighting of the factual loss by the treated share.
    pub reweight: bool,
    /// Share of rows held out (stratified on t) for early stopping; 0 disables early stopping.
    pub val_fraction: f64,
    /// Epochs without improvement of the validation loss before stopping.
    pub patience: usize,
    /// Maximum number of epochs.
    pub max_epochs: usize,
    /// Standardise non-binary covariates (means and sds stored with the model).
    pub standardize_x: bool,
    /// Standardise the outcome (inverted at prediction); ignored for a binary outcome.
    pub standardize_y: bool,
    /// Continuous (squared error) or binary (logits, binary cross-entropy, predicted
    /// probabilities). Parameters saved before the field existed read as continuous.
    #[serde(default)]
    pub outcome_type: OutcomeType,
}

fn default_true() -> bool {
    true
}

impl Default for TarNetParams {
    fn default() -> Self {
        TarNetParams {
            phi_layers: vec![200, 200, 200],
            head_layers: vec![100, 100, 100],
            activation: Activation::Elu,
            phi_final_activation: true,
            unit_norm: false,
            alpha: 0.0,
            ipm: Ipm::Wasserstein(SinkhornConfig::default()),
            learning_rate: 1e-3,
            batch_size: 100,
            l2_heads: 1e-4,
            reweight: false,
            val_fraction: 0.3,
            patience: 15,
            max_epochs: 300,
            standardize_x: true,
            standardize_y: true,
            outcome_type: OutcomeType::Continuous,
        }
    }
}

impl TarNetParams {
    /// The TARNet paper's IHDP configuration (same as `Default`).
    pub fn ihdp() -> Self {
        Self::default()
    }

    /// CFR with the Wasserstein (Sinkhorn) IPM on the IHDP configuration; α = 1.
    pub fn cfr_wasserstein() -> Self {
        Self::default().with_ipm(Ipm::Wasserstein(SinkhornConfig::default()), 1.0)
    }

    /// CFR with the RBF-kernel MMD on the IHDP configuration; σ = 1, α = 1.
    pub fn cfr_mmd() -> Self {
        Self::default().with_ipm(Ipm::RbfMmd { sigma: 1.0 }, 1.0)
    }

    /// The reference study's small network (Aydın & Brandt): Φ = p→20→20→20, heads
    /// 20→10→10→1, ReLU, Adam 1e-3, batch 32, no L2; TARNet (α = 0).
    pub fn study_small() -> Self {
        TarNetParams {
            phi_layers: vec![20, 20, 20],
            head_layers: vec![10, 10],
            activation: Activation::Relu,
            batch_size: 32,
            l2_heads: 0.0,
            ..Self::default()
        }
    }

    /// The study's source model: [`Self::study_small`] as CFR-Wasserstein with α = 10, trained for
    /// 20 epochs without a validation split.
    pub fn study_source() -> Self {
        TarNetParams { val_fraction: 0.0, max_epochs: 20, ..Self::study_small() }
            .with_ipm(Ipm::Wasserstein(SinkhornConfig::default()), 10.0)
    }

    /// The source network of `ite transfer` and of the grids' clean protocol: the study's widths
    /// (Φ = p→20→20→20, heads 20→10→10→1), ELU, Adam 1e-3, batch 32, no L2; CFR with the linear
    /// MMD ([`Ipm::LinearMmd`], α = 1); early stopping on a 20% validation split (patience 30,
    /// at most 300 epochs), best weights restored.
    ///
    /// Replaces [`Self::study_source`] there (issue 17): on Simulation 2's randomized source
    /// that preset gives source-only ε_PEHE 0.62–1.43 at n = 5000, because 20 epochs stop far
    /// short of the nonlinear surfaces and α = 10 flattens the representation; this one 0.13
    /// (5000) and 0.33 (1000), against the study's 0.23 and 0.73, and 0.014 on Simulation 1 at
    /// 5000 (docs/reproduction.md, "The source network", has the sweep behind each choice).
    pub fn transfer_source() -> Self {
        TarNetParams {
            activation: Activation::Elu,
            val_fraction: 0.2,
            patience: 30,
            max_epochs: 300,
            ..Self::study_small()
        }
        .with_ipm(Ipm::LinearMmd, 1.0)
    }

    /// Sets the IPM and its weight α.
    pub fn with_ipm(mut self, ipm: Ipm, alpha: f64) -> Self {
        self.ipm = ipm;
        self.alpha = alpha;
        self
    }

    /// Sets the maximum number of epochs.
    pub fn with_max_epochs(mut self, max_epochs: usize) -> Self {
        self.max_epochs = max_epochs;
        self
    }

    /// Sets the early-stopping patience (epochs).
    pub fn with_patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// Sets the validation share (0 disables early stopping).
    pub fn with_val_fraction(mut self, val_fraction: f64) -> Self {
        self.val_fraction = val_fraction;
        self
    }

    /// Sets the learning rate.
    pub fn with_learning_rate(mut self, learning_rate: f64) -> Self {
        self.learning_rate = learning_rate;
        self
    }

    /// Sets the minibatch size.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the layer widths of Φ and of the heads' hidden layers.
    pub fn with_layers(mut self, phi_layers: Vec<usize>, head_layers: Vec<usize>) -> Self {
        self.phi_layers = phi_layers;
        self.head_layers = head_layers;
        self
    }

    /// Sets the outcome type (continuous or binary).
    pub fn with_outcome_type(mut self, outcome_type: OutcomeType) -> Self {
        self.outcome_type = outcome_type;
        self
    }

    /// Width of the representation Φ(x).
    pub fn rep_dim(&self) -> usize {
        self.phi_layers.last().copied().unwrap_or(0)
    }
}

fn check(ok: bool, name: &str, value: impl std::fmt::Debug, expected: &str) -> Result<(), NetsError> {
    if ok { Ok(()) } else { Err(SettingsError::new(name, value, expected).into()) }
}

impl ite_core::Params for TarNetParams {
    type Error = NetsError;

    fn validate(&self) -> Result<(), NetsError> {
        check(
            !self.phi_layers.is_empty() && self.phi_layers.iter().all(|&w| w >= 1),
            "phi_layers",
            &self.phi_layers,
            "at least one layer, each of width ≥ 1",
        )?;
        check(self.head_layers.iter().all(|&w| w >= 1), "head_layers", &self.head_layers, "widths ≥ 1")?;
        check(self.alpha.is_finite() && self.alpha >= 0.0, "alpha", self.alpha, "a finite number ≥ 0")?;
        match self.ipm {
            Ipm::LinearMmd => {}
            Ipm::RbfMmd { sigma } => {
                check(sigma.is_finite() && sigma > 0.0, "ipm.sigma", sigma, "a finite number > 0")?
            }
            Ipm::Wasserstein(c) => {
                check(c.epsilon.is_finite() && c.epsilon > 0.0, "ipm.epsilon", c.epsilon, "a finite number > 0")?;
                check(c.max_iter >= 1, "ipm.max_iter", c.max_iter, "an integer ≥ 1")?;
                check(c.tol.is_finite() && c.tol >= 0.0, "ipm.tol", c.tol, "a finite number ≥ 0")?;
            }
        }
        check(
            self.learning_rate.is_finite() && self.learning_rate > 0.0,
            "learning_rate",
            self.learning_rate,
            "a finite number > 0",
        )?;
        check(self.batch_size >= 1, "batch_size", self.batch_size, "an integer ≥ 1")?;
        check(self.l2_heads.is_finite() && self.l2_heads >= 0.0, "l2_heads", self.l2_heads, "a finite number ≥ 0")?;
        check((0.0..=0.9).contains(&self.val_fraction), "val_fraction", self.val_fraction, "a number in [0, 0.9]")?;
        check(self.patience >= 1, "patience", self.patience, "an integer ≥ 1")?;
        check(self.max_epochs >= 1, "max_epochs", self.max_epochs, "an integer ≥ 1")?;
        Ok(())
    }
}

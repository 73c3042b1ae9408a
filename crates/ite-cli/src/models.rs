//! The one model vocabulary of `ite fit --model` and `ite transfer --model`: every name means
//! the same network (or baseline) in both commands. `fit` offers every model and `auto`;
//! `transfer` trains its source model from one of the networks (the baselines have no
//! representation to transfer).

use clap::ValueEnum;
use ite_nets::TarNetParams;

/// The models of `ite fit` and the source networks of `ite transfer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    /// TARNet, the TARNet paper's IHDP configuration (3×200 representation, 3×100 heads, ELU);
    /// `ihdp` is an alias.
    #[value(alias = "ihdp")]
    Tarnet,
    /// CFR with the Wasserstein (Sinkhorn) IPM, α = 1, IHDP configuration.
    CfrWass,
    /// CFR with the RBF-kernel MMD, σ = 1, α = 1, IHDP configuration.
    CfrMmd,
    /// The study's small TARNet (5→20→20→20, heads 20→10→10→1, ReLU, batch 32, α = 0).
    Study,
    /// The study's source network: CFR-Wasserstein, α = 10, 20 epochs, no validation split (the
    /// `transfer --net study` of before; several times worse than transfer-source on nonlinear
    /// effects).
    StudySource,
    /// The transfer source network: the study's widths, ELU, CFR with the linear MMD α = 1,
    /// early stopping on a 20% validation split (the default source of `ite transfer`).
    TransferSource,
    /// OLS T-learner (one linear regression per arm).
    TLearnerOls,
    /// OLS S-learner with treatment interactions.
    SLearnerOls,
    /// MLP T-learner (one network per arm).
    TLearnerMlp,
}

impl ModelKind {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Tarnet => "tarnet",
            ModelKind::CfrWass => "cfr-wass",
            ModelKind::CfrMmd => "cfr-mmd",
            ModelKind::Study => "study",
            ModelKind::StudySource => "study-source",
            ModelKind::TransferSource => "transfer-source",
            ModelKind::TLearnerOls => "t-learner-ols",
            ModelKind::SLearnerOls => "s-learner-ols",
            ModelKind::TLearnerMlp => "t-learner-mlp",
        }
    }

    /// The model by its name or alias, or an error listing the names.
    pub fn parse(s: &str) -> Result<Self, String> {
        ModelKind::from_str(s.trim(), false).map_err(|_| format!("`{s}`: expected one of {}", names().join(", ")))
    }

    /// The network preset of a TARNet/CFR model; `None` for a baseline.
    pub fn net_params(self) -> Option<TarNetParams> {
        match self {
            ModelKind::Tarnet => Some(TarNetParams::ihdp()),
            ModelKind::CfrWass => Some(TarNetParams::cfr_wasserstein()),
            ModelKind::CfrMmd => Some(TarNetParams::cfr_mmd()),
            ModelKind::Study => Some(TarNetParams::study_small()),
            ModelKind::StudySource => Some(TarNetParams::study_source()),
            ModelKind::TransferSource => Some(TarNetParams::transfer_source()),
            _ => None,
        }
    }

    /// Whether `fit --model auto` tries this model when `--candidates` is not given (the two
    /// source presets are left out: they are tuned for a large source sample).
    pub fn auto_default(self) -> bool {
        !matches!(self, ModelKind::StudySource | ModelKind::TransferSource)
    }
}

/// Every model name, in order.
pub fn names() -> Vec<&'static str> {
    ModelKind::value_variants().iter().map(|k| k.name()).collect()
}

/// The names of the networks (the models `ite transfer --model` can train as its source).
pub fn network_names() -> Vec<&'static str> {
    ModelKind::value_variants().iter().filter(|k| k.net_params().is_some()).map(|k| k.name()).collect()
}

/// One line per model, `  name: description`, for `--help` (only the networks with `networks`).
pub fn help_lines(networks: bool) -> String {
    let lines: Vec<String> = ModelKind::value_variants()
        .iter()
        .filter(|k| !networks || k.net_params().is_some())
        .filter_map(|k| k.to_possible_value())
        .map(|v| format!("  {}: {}", v.get_name(), v.get_help().map(ToString::to_string).unwrap_or_default()))
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_aliases_map_to_their_model() {
        for k in ModelKind::value_variants() {
            assert_eq!(ModelKind::parse(k.name()), Ok(*k));
        }
        assert_eq!(ModelKind::parse("ihdp"), Ok(ModelKind::Tarnet));
        assert!(ModelKind::parse("resnet").unwrap_err().contains("tarnet, cfr-wass"));
        assert_eq!(network_names().len(), 6);
        assert!(!network_names().contains(&"t-learner-ols"));
    }
}

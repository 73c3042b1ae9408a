//! How to read a CITA value: what happened, in the Simulation 2 grid of docs/selection.md, to
//! transfer against target-only at similar CITA values and target sizes ([`cita_reading`]).
//!
//! CITA (Aloui et al. 2023, [`crate::task_affinity`]) is a distance in [0, 1] between the source
//! task and the target task as the source model's Fisher information sees them; on its own it
//! has no scale. The table [`SIM2_CITA_SCALE`] gives it one: for each target size of the grid and
//! each CITA bin of width 0.1, the share of cell-replications (randomized and non-randomized
//! targets, covariate, effect and prognostic shift at every level, source n = 1000, 20
//! replications) in which staged alignment beat target-only in ε_PEHE, and in which the best of
//! the six strategies that use the source did (picked in hindsight). The grid's lesson: the
//! target's size says more than CITA — with 50 units transfer won almost whatever the CITA,
//! with 500 it rarely did. It is copied from `docs/selection/cita.csv` (the `all` rows of
//! `ite reproduce sim2 --reps 20 --source-n 1000 --methods all,auto --seed 1`); a test checks
//! the copy. CITA sees covariate shift but not effect or prognostic shift (docs/reproduction.md),
//! so a low value does not rule out a target whose effect differs from the source's.
//!
//! The grid ran before issue 17, with the study's source network (`TarNetParams::study_source`)
//! and staged alignment's earlier defaults; CITA depends on the source network (on one pair of
//! files 0.36 with `transfer_source` against 0.42 with `study_source`), so a reading for another
//! network is approximate, and the reading's text says so.

/// One bin of the reading: target size, CITA range, how many cell-replications fell in it, and
/// how often transfer beat target-only there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CitaBin {
    /// Target sample size of the grid's cells.
    pub target_n: usize,
    /// Lower edge of the CITA bin (included).
    pub lower: f64,
    /// Upper edge (excluded, except 1.0).
    pub upper: f64,
    /// Cell-replications in the bin.
    pub count: usize,
    /// Share in which the best of the six strategies that use the source (picked in hindsight,
    /// by true ε_PEHE, so an upper bound for any one strategy) had a lower ε_PEHE than
    /// target-only.
    pub best_source_beats_target_only: f64,
    /// Share in which staged alignment had a lower ε_PEHE than target-only.
    pub staged_beats_target_only: f64,
}

/// Bins with fewer cell-replications than this give no reading.
pub const MIN_COUNT: usize = 20;

/// The reading table (see the module documentation), ordered by target size, then CITA.
pub const SIM2_CITA_SCALE: &[CitaBin] = &[
    CitaBin {
        target_n: 50,
        lower: 0.1,
        upper: 0.2,
        count: 136,
        best_source_beats_target_only: 1.0,
        staged_beats_target_only: 0.9779411764705882,
    },
    CitaBin {
        target_n: 50,
        lower: 0.2,
        upper: 0.3,
        count: 310,
        best_source_beats_target_only: 0.9935483870967742,
        staged_beats_target_only: 0.964516129032258,
    },
    CitaBin {
        target_n: 50,
        lower: 0.3,
        upper: 0.4,
        count: 75,
        best_source_beats_target_only: 0.9733333333333334,
        staged_beats_target_only: 0.8266666666666667,
    },
    CitaBin {
        target_n: 50,
        lower: 0.4,
        upper: 0.5,
        count: 38,
        best_source_beats_target_only: 0.9736842105263158,
        staged_beats_target_only: 0.8421052631578947,
    },
    CitaBin {
        target_n: 50,
        lower: 0.5,
        upper: 0.6,
        count: 29,
        best_source_beats_target_only: 0.896551724137931,
        staged_beats_target_only: 0.7241379310344828,
    },
    CitaBin {
        target_n: 50,
        lower: 0.6,
        upper: 0.7,
        count: 11,
        best_source_beats_target_only: 1.0,
        staged_beats_target_only: 0.7272727272727273,
    },
    CitaBin {
        target_n: 50,
        lower: 0.7,
        upper: 0.8,
        count: 1,
        best_source_beats_target_only: 0.0,
        staged_beats_target_only: 0.0,
    },
    CitaBin {
        target_n: 100,
        lower: 0.1,
        upper: 0.2,
        count: 292,
        best_source_beats_target_only: 0.9965753424657534,
        staged_beats_target_only: 0.934931506849315,
    },
    CitaBin {
        target_n: 100,
        lower: 0.2,
        upper: 0.3,
        count: 182,
        best_source_beats_target_only: 0.9835164835164835,
        staged_beats_target_only: 0.9285714285714286,
    },
    CitaBin {
        target_n: 100,
        lower: 0.3,
        upper: 0.4,
        count: 53,
        best_source_beats_target_only: 0.9245283018867925,
        staged_beats_target_only: 0.7358490566037735,
    },
    CitaBin {
        target_n: 100,
        lower: 0.4,
        upper: 0.5,
        count: 36,
        best_source_beats_target_only: 0.9444444444444444,
        staged_beats_target_only: 0.6111111111111112,
    },
    CitaBin {
        target_n: 100,
        lower: 0.5,
        upper: 0.6,
        count: 25,
        best_source_beats_target_only: 0.92,
        staged_beats_target_only: 0.52,
    },
    CitaBin {
        target_n: 100,
        lower: 0.6,
        upper: 0.7,
        count: 12,
        best_source_beats_target_only: 0.8333333333333334,
        staged_beats_target_only: 0.4166666666666667,
    },
    CitaBin {
        target_n: 500,
        lower: 0.0,
        upper: 0.1,
        count: 13,
        best_source_beats_target_only: 0.46153846153846156,
        staged_beats_target_only: 0.15384615384615385,
    },
    CitaBin {
        target_n: 500,
        lower: 0.1,
        upper: 0.2,
        count: 415,
        best_source_beats_target_only: 0.5156626506024097,
        staged_beats_target_only: 0.1614457831325301,
    },
    CitaBin {
        target_n: 500,
        lower: 0.2,
        upper: 0.3,
        count: 62,
        best_source_beats_target_only: 0.7419354838709677,
        staged_beats_target_only: 0.1935483870967742,
    },
    CitaBin {
        target_n: 500,
        lower: 0.3,
        upper: 0.4,
        count: 37,
        best_source_beats_target_only: 0.7297297297297297,
        staged_beats_target_only: 0.10810810810810811,
    },
    CitaBin {
        target_n: 500,
        lower: 0.4,
        upper: 0.5,
        count: 41,
        best_source_beats_target_only: 0.6097560975609756,
        staged_beats_target_only: 0.07317073170731707,
    },
    CitaBin {
        target_n: 500,
        lower: 0.5,
        upper: 0.6,
        count: 23,
        best_source_beats_target_only: 0.4782608695652174,
        staged_beats_target_only: 0.17391304347826086,
    },
    CitaBin {
        target_n: 500,
        lower: 0.6,
        upper: 0.7,
        count: 9,
        best_source_beats_target_only: 0.5555555555555556,
        staged_beats_target_only: 0.0,
    },
];

/// What [`cita_reading`] found: the bin, and the grid's target size it was read at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CitaReading {
    /// The CITA value read.
    pub cita: f64,
    /// The target size of the user's sample.
    pub target_n: usize,
    /// The bin of the grid (at the grid's target size nearest `target_n` on a log scale).
    pub bin: CitaBin,
}

impl std::fmt::Display for CitaReading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = &self.bin;
        let nearest = if self.target_n == b.target_n {
            String::new()
        } else {
            format!(" (the grid's size nearest your {}, on a log scale)", self.target_n)
        };
        write!(
            f,
            "in Simulation 2 (docs/selection.md), targets of {} units{nearest} with CITA in [{:.1}, {:.1}) saw \
             staged alignment beat target-only in {:.0}% of {} cases (the best of six transfer strategies, picked \
             in hindsight, in {:.0}%); CITA sees covariate shift, not effect or prognostic shift; that grid ran \
             before issue 17, with the study's source network (`--model study-source`), so with another network both CITA \
             and the shares can differ",
            b.target_n,
            b.lower,
            b.upper,
            100.0 * b.staged_beats_target_only,
            b.count,
            100.0 * b.best_source_beats_target_only
        )
    }
}

/// The reading of `cita` for a target of `target_n` units: the bin of [`SIM2_CITA_SCALE`] that
/// holds `cita`, at the grid's target size nearest `target_n` (on a log scale). `None` when
/// `cita` is not in [0, 1], or the bin holds fewer than [`MIN_COUNT`] cell-replications (the
/// grid saw no such value often enough to say anything).
///
/// # Examples
/// ```
/// use ite_transfer::cita_scale::{cita_reading, SIM2_CITA_SCALE};
/// let b = SIM2_CITA_SCALE[0];
/// let r = cita_reading((b.lower + b.upper) / 2.0, b.target_n).expect("a reading");
/// assert_eq!(r.bin, b);
/// assert!(cita_reading(1.5, 100).is_none());
/// ```
pub fn cita_reading(cita: f64, target_n: usize) -> Option<CitaReading> {
    if !(0.0..=1.0).contains(&cita) || target_n == 0 {
        return None;
    }
    let ln = (target_n as f64).ln();
    let nearest = SIM2_CITA_SCALE
        .iter()
        .map(|b| b.target_n)
        .min_by(|a, b| ((*a as f64).ln() - ln).abs().total_cmp(&((*b as f64).ln() - ln).abs()))?;
    let bin = SIM2_CITA_SCALE
        .iter()
        .find(|b| b.target_n == nearest && b.lower <= cita && (cita < b.upper || (b.upper >= 1.0 && cita <= 1.0)))?;
    (bin.count >= MIN_COUNT).then_some(CitaReading { cita, target_n, bin: *bin })
}

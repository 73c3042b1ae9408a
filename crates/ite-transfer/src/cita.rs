//! Causal inference task affinity (CITA, Aloui et al. 2023): how close a target
//! task is to the source task, seen through the source model's Fisher information.
//!
//! Given the diagonal Fisher information of the source model's factual loss on
//! source data (`F_ss`), on target data (`F_st`) and on target data with the
//! treatment labels flipped (`F_st⁻`), each normalised to unit trace,
//!
//! d(a, b) = ‖√F_a − √F_b‖₂ / √2,  CITA = min(d(F_ss, F_st), d(F_ss, F_st⁻)).
//!
//! Because normalised square-root diagonals are unit vectors with non-negative
//! entries, d lies in [0, 1]: 0 when the tasks weigh every parameter alike,
//! 1 when they load on disjoint parameters. Small CITA means the source is close.

use crate::error::TransferError;

/// A diagonal Fisher information, normalised to unit trace.
#[derive(Debug, Clone, PartialEq)]
pub struct FisherDiagonal {
    values: Vec<f64>,
}

impl FisherDiagonal {
    /// Normalises raw diagonal entries (e.g. mean squared per-sample gradients)
    /// to unit trace. `what` names the diagonal in errors.
    pub fn normalised(raw: &[f64], what: &str) -> Result<Self, TransferError> {
        let err = |message: String| TransferError::Fisher { what: what.into(), message };
        if raw.is_empty() {
            return Err(err("no entries".into()));
        }
        if let Some(i) = raw.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(err(format!("entry {i} is {} (expected a finite number ≥ 0)", raw[i])));
        }
        let trace: f64 = raw.iter().sum();
        if trace <= 0.0 || !trace.is_finite() {
            return Err(err(format!("trace is {trace}; the loss has no gradient on these data")));
        }
        Ok(FisherDiagonal { values: raw.iter().map(|v| v / trace).collect() })
    }

    /// The normalised entries (they sum to 1).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// d(self, other) = ‖√F_self − √F_other‖₂ / √2, in [0, 1].
    pub fn distance(&self, other: &FisherDiagonal) -> Result<f64, TransferError> {
        if self.values.len() != other.values.len() {
            return Err(TransferError::FisherShape { left: self.values.len(), right: other.values.len() });
        }
        let sq: f64 = self.values.iter().zip(&other.values).map(|(a, b)| (a.sqrt() - b.sqrt()).powi(2)).sum();
        // Rounding can push the value a hair above 1 for disjoint supports.
        Ok((sq / 2.0).sqrt().min(1.0))
    }
}

/// CITA from the three normalised diagonals: min(d(F_ss, F_st), d(F_ss, F_st⁻)).
///
/// ```
/// use ite_transfer::cita::{cita, FisherDiagonal};
/// let f_ss = FisherDiagonal::normalised(&[1.0, 1.0, 0.0], "F_ss")?;
/// let f_st = FisherDiagonal::normalised(&[2.0, 2.0, 0.0], "F_st")?;
/// let f_flip = FisherDiagonal::normalised(&[0.0, 0.0, 5.0], "F_st-")?;
/// assert_eq!(cita(&f_ss, &f_st, &f_flip)?, 0.0);
/// assert_eq!(f_ss.distance(&f_flip)?, 1.0);
/// # Ok::<(), ite_transfer::TransferError>(())
/// ```
pub fn cita(f_ss: &FisherDiagonal, f_st: &FisherDiagonal, f_st_flipped: &FisherDiagonal) -> Result<f64, TransferError> {
    Ok(f_ss.distance(f_st)?.min(f_ss.distance(f_st_flipped)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: &[f64]) -> FisherDiagonal {
        FisherDiagonal::normalised(v, "test").unwrap()
    }

    #[test]
    fn distance_is_zero_for_proportional_and_one_for_disjoint() {
        assert_eq!(f(&[1., 2., 3.]).distance(&f(&[2., 4., 6.])).unwrap(), 0.0);
        assert_eq!(f(&[1., 0.]).distance(&f(&[0., 3.])).unwrap(), 1.0);
    }

    #[test]
    fn distance_matches_hand_value_and_stays_in_unit_interval() {
        // √(1/2,1/2) vs √(1,0): (√½ − 1)² + (√½)² = 2 − √2 → d = √((2 − √2)/2)
        let d = f(&[1., 1.]).distance(&f(&[1., 0.])).unwrap();
        assert!((d - ((2.0 - 2f64.sqrt()) / 2.0).sqrt()).abs() < 1e-12);
        let mut rng = ite_core::Seed::new(5).rng();
        for _ in 0..1000 {
            use rand::RngExt;
            let a: Vec<f64> = (0..10).map(|_| rng.random::<f64>().powi(4)).collect();
            let b: Vec<f64> = (0..10).map(|_| rng.random::<f64>().powi(4)).collect();
            let d = f(&a).distance(&f(&b)).unwrap();
            assert!((0.0..=1.0).contains(&d), "{d}");
            assert!((d - f(&b).distance(&f(&a)).unwrap()).abs() < 1e-15, "symmetric");
        }
    }

    #[test]
    fn cita_takes_the_closer_of_the_two_labelings() {
        let ss = f(&[1., 1., 0., 0.]);
        let st = f(&[0., 0., 1., 1.]);
        let flipped = f(&[1., 1., 1., 1.]);
        let c = cita(&ss, &st, &flipped).unwrap();
        assert_eq!(c, ss.distance(&flipped).unwrap());
        assert!(c < 1.0);
    }

    #[test]
    fn bad_diagonals_are_errors() {
        assert!(FisherDiagonal::normalised(&[0., 0.], "F_st").unwrap_err().to_string().contains("F_st"));
        assert!(FisherDiagonal::normalised(&[1., -1.], "F_ss").is_err());
        assert!(FisherDiagonal::normalised(&[1., f64::NAN], "F_ss").is_err());
        assert!(f(&[1.]).distance(&f(&[1., 1.])).is_err());
    }
}

//! The data every crate exchanges: covariates, treatment, outcome and, for
//! simulated data, the true potential-outcome means.
//!
//! All three types validate themselves on construction, so a value that exists
//! is consistent: shapes agree, every number is finite, treatment is 0 or 1,
//! feature names are unique.

use crate::error::{CoreError, Result};

/// An `n × p` matrix of covariates, row-major `f64`, with one name per column.
///
/// ```
/// use ite_core::Covariates;
/// let x = Covariates::new(vec![1.0, 2.0, 3.0, 4.0], vec!["age".into(), "income".into()])?;
/// assert_eq!((x.n_rows(), x.n_cols()), (2, 2));
/// assert_eq!(x.row(1), &[3.0, 4.0]);
/// # Ok::<(), ite_core::CoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Covariates {
    values: Vec<f64>,
    n_rows: usize,
    names: Vec<String>,
}

impl Covariates {
    /// Builds a matrix from row-major `values` and column `names`
    /// (`values.len()` must be a multiple of `names.len()`).
    pub fn new(values: Vec<f64>, names: Vec<String>) -> Result<Self> {
        let p = names.len();
        if p == 0 {
            return Err(CoreError::data("covariates need at least one column"));
        }
        if !values.len().is_multiple_of(p) {
            return Err(CoreError::data(format!(
                "covariate values ({}) are not a multiple of the number of columns ({p})",
                values.len()
            )));
        }
        check_names(&names)?;
        let n_rows = values.len() / p;
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::data(format!(
                "covariate `{}` of row {} is {} (expected a finite number)",
                names[k % p],
                k / p + 1,
                values[k]
            )));
        }
        Ok(Covariates { values, n_rows, names })
    }

    /// Builds a matrix with default names `x1, …, xp`.
    pub fn with_default_names(values: Vec<f64>, n_cols: usize) -> Result<Self> {
        Self::new(values, default_names(n_cols))
    }

    /// Number of rows (units).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns (covariates).
    pub fn n_cols(&self) -> usize {
        self.names.len()
    }

    /// Row-major values.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Row `i` (panics if `i >= n_rows()`, like slice indexing).
    pub fn row(&self, i: usize) -> &[f64] {
        let p = self.n_cols();
        &self.values[i * p..(i + 1) * p]
    }

    /// Iterator over rows.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f64]> {
        self.values.chunks_exact(self.n_cols())
    }

    /// The rows at `indices`, in that order (repeats allowed). Errors on an out-of-range index.
    pub fn select_rows(&self, indices: &[usize]) -> Result<Self> {
        let p = self.n_cols();
        let mut values = Vec::with_capacity(indices.len() * p);
        for &i in indices {
            check_index(i, self.n_rows)?;
            values.extend_from_slice(self.row(i));
        }
        Ok(Covariates { values, n_rows: indices.len(), names: self.names.clone() })
    }

    /// Errors unless `other` has the same column names in the same order.
    /// `what` and `other_what` describe the two sides in the message (e.g. "source", "target").
    pub fn check_same_columns(&self, what: &str, other: &Covariates, other_what: &str) -> Result<()> {
        if self.names != other.names {
            return Err(CoreError::data(format!(
                "{what} and {other_what} covariates differ: {what} has {} [{}], {other_what} has {} [{}]",
                self.n_cols(),
                self.names.join(", "),
                other.n_cols(),
                other.names.join(", ")
            )));
        }
        Ok(())
    }
}

/// Noiseless potential-outcome means `mu0(x) = E[Y(0)|x]`, `mu1(x) = E[Y(1)|x]`,
/// true (for simulated data, as [`Truth`]) or predicted by a model.
///
/// ```
/// use ite_core::PotentialOutcomes;
/// let po = PotentialOutcomes::new(vec![0.0, 1.0], vec![1.5, 1.0])?;
/// assert_eq!(po.ite(), vec![1.5, 0.0]);
/// assert_eq!(po.ate(), 0.75);
/// # Ok::<(), ite_core::CoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PotentialOutcomes {
    /// Mean outcome under control, one per unit.
    pub mu0: Vec<f64>,
    /// Mean outcome under treatment, one per unit.
    pub mu1: Vec<f64>,
}

/// The true potential-outcome means of simulated data (ITE = `mu1 − mu0`).
pub type Truth = PotentialOutcomes;

impl PotentialOutcomes {
    /// Validated constructor: equal lengths, finite values.
    pub fn new(mu0: Vec<f64>, mu1: Vec<f64>) -> Result<Self> {
        let po = PotentialOutcomes { mu0, mu1 };
        po.validate()?;
        Ok(po)
    }

    /// Checks equal lengths and finite values (fields are public, so callers
    /// that build the struct directly can check it here).
    pub fn validate(&self) -> Result<()> {
        if self.mu0.len() != self.mu1.len() {
            return Err(CoreError::data(format!("mu0 has {} values but mu1 has {}", self.mu0.len(), self.mu1.len())));
        }
        for (name, v) in [("mu0", &self.mu0), ("mu1", &self.mu1)] {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(CoreError::data(format!("{name} of row {} is {} (expected a finite number)", i + 1, v[i])));
            }
        }
        Ok(())
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.mu0.len()
    }

    /// True when there are no units.
    pub fn is_empty(&self) -> bool {
        self.mu0.is_empty()
    }

    /// Individual effects `mu1 − mu0`.
    pub fn ite(&self) -> Vec<f64> {
        self.mu0.iter().zip(&self.mu1).map(|(a, b)| b - a).collect()
    }

    /// Average effect: the mean of [`Self::ite`], accumulated in `f64`
    /// (`NaN` when empty).
    pub fn ate(&self) -> f64 {
        crate::stats::mean_of(self.mu0.iter().zip(&self.mu1).map(|(a, b)| b - a))
    }

    /// The units at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        let mut out =
            PotentialOutcomes { mu0: Vec::with_capacity(indices.len()), mu1: Vec::with_capacity(indices.len()) };
        for &i in indices {
            check_index(i, self.len())?;
            out.mu0.push(self.mu0[i]);
            out.mu1.push(self.mu1[i]);
        }
        Ok(out)
    }
}

/// A causal dataset: covariates `x`, binary treatment `t`, outcome `y`, and
/// optionally the true means ([`Truth`]) and unit identifiers.
///
/// ```
/// use ite_core::{CausalData, Covariates};
/// let x = Covariates::with_default_names(vec![0.1, 0.2, 0.3, 0.4], 1)?;
/// let data = CausalData::new(x, vec![0, 1, 0, 1], vec![1.0, 2.0, 1.5, 2.5])?;
/// assert_eq!(data.n(), 4);
/// assert_eq!(data.n_treated(), 2);
/// data.require_both_arms("training data")?;
/// # Ok::<(), ite_core::CoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CausalData {
    x: Covariates,
    t: Vec<u8>,
    y: Vec<f64>,
    truth: Option<Truth>,
    ids: Option<Vec<String>>,
}

impl CausalData {
    /// Builds and validates a dataset without truth or ids.
    pub fn new(x: Covariates, t: Vec<u8>, y: Vec<f64>) -> Result<Self> {
        Self::from_parts(x, t, y, None, None)
    }

    /// Builds and validates a dataset with every optional part.
    pub fn from_parts(
        x: Covariates,
        t: Vec<u8>,
        y: Vec<f64>,
        truth: Option<Truth>,
        ids: Option<Vec<String>>,
    ) -> Result<Self> {
        let n = x.n_rows();
        if n == 0 {
            return Err(CoreError::data("a dataset needs at least one row"));
        }
        let check_len = |what: &str, len: usize| {
            if len == n {
                Ok(())
            } else {
                Err(CoreError::data(format!("{what} has {len} values but the covariates have {n} rows")))
            }
        };
        check_len("treatment", t.len())?;
        check_len("outcome", y.len())?;
        if let Some(i) = t.iter().position(|&v| v > 1) {
            return Err(CoreError::data(format!("treatment of row {} is {} (expected 0 or 1)", i + 1, t[i])));
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::data(format!("outcome of row {} is {} (expected a finite number)", i + 1, y[i])));
        }
        if let Some(tr) = &truth {
            tr.validate()?;
            check_len("truth (mu0, mu1)", tr.len())?;
        }
        if let Some(ids) = &ids {
            check_len("ids", ids.len())?;
        }
        Ok(CausalData { x, t, y, truth, ids })
    }

    /// Returns the same data with `truth` attached (validated).
    pub fn with_truth(self, truth: Truth) -> Result<Self> {
        Self::from_parts(self.x, self.t, self.y, Some(truth), self.ids)
    }

    /// Number of units.
    pub fn n(&self) -> usize {
        self.x.n_rows()
    }

    /// Number of covariates.
    pub fn p(&self) -> usize {
        self.x.n_cols()
    }

    /// Covariates.
    pub fn x(&self) -> &Covariates {
        &self.x
    }

    /// Treatment, 0 or 1 per unit.
    pub fn t(&self) -> &[u8] {
        &self.t
    }

    /// Observed outcome.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// True potential-outcome means, when known (simulations).
    pub fn truth(&self) -> Option<&Truth> {
        self.truth.as_ref()
    }

    /// Unit identifiers, when the data carried them.
    pub fn ids(&self) -> Option<&[String]> {
        self.ids.as_deref()
    }

    /// Covariate names.
    pub fn feature_names(&self) -> &[String] {
        self.x.names()
    }

    /// Number of treated units.
    pub fn n_treated(&self) -> usize {
        self.t.iter().filter(|&&v| v == 1).count()
    }

    /// Share of treated units, `u` in the weighting formula.
    pub fn treated_share(&self) -> f64 {
        self.n_treated() as f64 / self.n() as f64
    }

    /// Errors unless both arms have at least one unit. `what` names the data in the message.
    pub fn require_both_arms(&self, what: &str) -> Result<()> {
        let treated = self.n_treated();
        if treated == 0 || treated == self.n() {
            let (empty, full) = if treated == 0 { ("treated", "control") } else { ("control", "treated") };
            return Err(CoreError::data(format!(
                "{what}: the {empty} arm is empty (all {} units are {full}); both arms need at least one unit",
                self.n()
            )));
        }
        Ok(())
    }

    /// The units at `indices`, in that order (repeats allowed, as in a bootstrap).
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        let x = self.x.select_rows(indices)?;
        let t = indices.iter().map(|&i| self.t[i]).collect();
        let y = indices.iter().map(|&i| self.y[i]).collect();
        let truth = self.truth.as_ref().map(|tr| tr.select(indices)).transpose()?;
        let ids = self.ids.as_ref().map(|ids| indices.iter().map(|&i| ids[i].clone()).collect());
        Self::from_parts(x, t, y, truth, ids)
    }

    /// The rows of `self` followed by the rows of `other` (same covariates by name and order).
    /// Truth and ids are kept only when both sides have them.
    pub fn concat(&self, other: &CausalData) -> Result<Self> {
        self.x.check_same_columns("first", &other.x, "second")?;
        let mut values = self.x.values.clone();
        values.extend_from_slice(&other.x.values);
        let x = Covariates::new(values, self.x.names.clone())?;
        let cat = |a: &[f64], b: &[f64]| [a, b].concat();
        let truth = match (&self.truth, &other.truth) {
            (Some(a), Some(b)) => Some(Truth { mu0: cat(&a.mu0, &b.mu0), mu1: cat(&a.mu1, &b.mu1) }),
            _ => None,
        };
        let ids = match (&self.ids, &other.ids) {
            (Some(a), Some(b)) => Some([a.as_slice(), b.as_slice()].concat()),
            _ => None,
        };
        Self::from_parts(x, [self.t.as_slice(), &other.t].concat(), cat(&self.y, &other.y), truth, ids)
    }

    /// Splits into (rows where `keep(i)` is false, rows where it is true), in file order.
    pub fn split_by(&self, mut in_second: impl FnMut(usize) -> bool) -> Result<(Self, Self)> {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in 0..self.n() {
            if in_second(i) { b.push(i) } else { a.push(i) }
        }
        Ok((self.select(&a)?, self.select(&b)?))
    }
}

/// Names `x1, …, xp`.
pub fn default_names(p: usize) -> Vec<String> {
    (1..=p).map(|j| format!("x{j}")).collect()
}

fn check_names(names: &[String]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for (j, n) in names.iter().enumerate() {
        if n.trim().is_empty() {
            return Err(CoreError::data(format!("covariate name {} is empty", j + 1)));
        }
        if !seen.insert(n.as_str()) {
            return Err(CoreError::data(format!("covariate name `{n}` appears twice")));
        }
    }
    Ok(())
}

fn check_index(i: usize, n: usize) -> Result<()> {
    if i >= n {
        return Err(CoreError::data(format!("row index {i} is out of range for {n} rows")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x2() -> Covariates {
        Covariates::with_default_names(vec![1., 2., 3., 4., 5., 6.], 2).unwrap()
    }

    #[test]
    fn covariates_validate_shape_names_and_values() {
        let e = Covariates::with_default_names(vec![1., 2., 3.], 2).unwrap_err().to_string();
        assert!(e.contains("multiple"), "{e}");
        let e = Covariates::new(vec![1., 2.], vec!["a".into(), "a".into()]).unwrap_err().to_string();
        assert!(e.contains("`a` appears twice"), "{e}");
        let e = Covariates::new(vec![1., 2., f64::NAN, 4.], vec!["a".into(), "b".into()]).unwrap_err().to_string();
        assert!(e.contains("`a` of row 2 is NaN"), "{e}");
        assert!(Covariates::new(vec![], vec![]).is_err());
    }

    #[test]
    fn causal_data_validates_every_invariant() {
        let e = CausalData::new(x2(), vec![0, 1], vec![1., 2., 3.]).unwrap_err().to_string();
        assert!(e.contains("treatment has 2 values"), "{e}");
        let e = CausalData::new(x2(), vec![0, 2, 1], vec![1., 2., 3.]).unwrap_err().to_string();
        assert!(e.contains("row 2 is 2 (expected 0 or 1)"), "{e}");
        let e = CausalData::new(x2(), vec![0, 1, 1], vec![1., f64::INFINITY, 3.]).unwrap_err().to_string();
        assert!(e.contains("outcome of row 2 is inf"), "{e}");
        let truth = Truth { mu0: vec![0.; 2], mu1: vec![0.; 2] };
        let e = CausalData::from_parts(x2(), vec![0, 1, 1], vec![1.; 3], Some(truth), None).unwrap_err().to_string();
        assert!(e.contains("truth (mu0, mu1) has 2 values"), "{e}");
        let e = CausalData::new(x2(), vec![1, 1, 1], vec![1.; 3]).unwrap().require_both_arms("target").unwrap_err();
        assert!(e.to_string().contains("target: the control arm is empty"), "{e}");
    }

    #[test]
    fn select_and_split_keep_rows_aligned() {
        let truth = Truth { mu0: vec![0., 1., 2.], mu1: vec![1., 3., 5.] };
        let ids = Some(vec!["a".into(), "b".into(), "c".into()]);
        let d = CausalData::from_parts(x2(), vec![0, 1, 0], vec![10., 11., 12.], Some(truth), ids).unwrap();
        let s = d.select(&[2, 0, 2]).unwrap();
        assert_eq!(s.x().values(), &[5., 6., 1., 2., 5., 6.]);
        assert_eq!(s.t(), &[0, 0, 0]);
        assert_eq!(s.y(), &[12., 10., 12.]);
        assert_eq!(s.truth().unwrap().ite(), vec![3., 1., 3.]);
        assert_eq!(s.ids().unwrap(), &["c", "a", "c"]);
        let (a, b) = d.split_by(|i| i == 1).unwrap();
        assert_eq!((a.n(), b.n()), (2, 1));
        assert_eq!(b.y(), &[11.]);
        assert!(d.select(&[3]).is_err());
        let c = d.concat(&s).unwrap();
        assert_eq!(c.n(), 6);
        assert_eq!(c.y(), &[10., 11., 12., 12., 10., 12.]);
        assert_eq!(c.truth().unwrap().ite()[3..], [3., 1., 3.]);
        assert_eq!(c.select(&[3, 4, 5]).unwrap(), s);
        let other = CausalData::new(Covariates::with_default_names(vec![1.], 1).unwrap(), vec![0], vec![1.]).unwrap();
        assert!(d.concat(&other).unwrap_err().to_string().contains("covariates differ"));
    }
}

//! Penalised least squares by QR: the solver both linear baselines share.

use ite_core::CoreError;
use nalgebra::{DMatrix, DVector};

use crate::error::NetsError;

/// Relative size below which a column's part not explained by the columns
/// before it counts as zero (the column is collinear with them): the
/// coefficients of a design within ~1e-6 of collinear would be noise amplified
/// a millionfold. Columns are centred first, so the size is relative to a
/// column's spread, not its level.
const COLLINEAR_TOL: f64 = 1e-6;

/// Solves min ‖y − Xβ‖² + λ Σ_{j ≥ 1} β_j² (column 0, the intercept of ones, is
/// not penalised) by a QR decomposition of X stacked on √λ·I.
///
/// A column (other than the intercept) that is zero in every row carries no
/// information (a missingness indicator or a category level that never occurs
/// in these rows): it gets coefficient 0 and the rest is solved without it,
/// the minimum-norm least-squares solution.
///
/// The other columns and `y` are centred in `f64` first (the intercept absorbs
/// the means), so a covariate or an outcome at a level of 10⁹ with differences
/// of order 1 keeps them. `names` names the columns of `x` for error messages;
/// `what` names the data ("control arm", ...). Errors when there are fewer rows
/// than non-zero columns (without a penalty) or when a column is collinear with
/// the columns before it.
pub(crate) fn least_squares(
    x: &DMatrix<f64>,
    y: &DVector<f64>,
    ridge: f64,
    names: &[String],
    what: &str,
) -> Result<Vec<f64>, NetsError> {
    let keep: Vec<usize> = (0..x.ncols()).filter(|&j| j == 0 || x.column(j).iter().any(|&v| v != 0.0)).collect();
    if keep.len() == x.ncols() {
        return least_squares_all(x, y, ridge, names, what);
    }
    let kept_names: Vec<String> = keep.iter().map(|&j| names[j].clone()).collect();
    let beta = least_squares_all(&x.select_columns(&keep), y, ridge, &kept_names, what)?;
    let mut full = vec![0.0; x.ncols()];
    for (&j, b) in keep.iter().zip(beta) {
        full[j] = b;
    }
    Ok(full)
}

/// [`least_squares`] with every column in the design.
fn least_squares_all(
    x: &DMatrix<f64>,
    y: &DVector<f64>,
    ridge: f64,
    names: &[String],
    what: &str,
) -> Result<Vec<f64>, NetsError> {
    let (n, k) = x.shape();
    if n == 0 || k == 0 {
        return solve(x, y, ridge, names, what);
    }
    let means: Vec<f64> = (0..k).map(|j| if j == 0 { 0.0 } else { x.column(j).mean() }).collect();
    let y_mean = y.mean();
    let xc = DMatrix::from_fn(n, k, |i, j| x[(i, j)] - means[j]);
    let yc = y.map(|v| v - y_mean);
    let mut beta = solve(&xc, &yc, ridge, names, what)?;
    let shift: f64 = beta.iter().zip(&means).skip(1).map(|(b, m)| b * m).sum();
    beta[0] += y_mean - shift;
    if !beta[0].is_finite() {
        return Err(CoreError::data(format!("{what}: the coefficient of `{}` is not finite", names[0])).into());
    }
    Ok(beta)
}

/// [`least_squares`] on the design as given.
fn solve(x: &DMatrix<f64>, y: &DVector<f64>, ridge: f64, names: &[String], what: &str) -> Result<Vec<f64>, NetsError> {
    let (n, k) = x.shape();
    debug_assert_eq!(names.len(), k);
    let extra = if ridge > 0.0 { k - 1 } else { 0 };
    if n + extra < k {
        return Err(CoreError::data(format!(
            "{what}: {n} units cannot determine {k} coefficients ({}); give more units or a ridge penalty > 0 \
             (`ridge = 0.001` in a TOML file given to `--config`)",
            names.join(", ")
        ))
        .into());
    }
    let (a, b) = if extra == 0 {
        (x.clone(), y.clone())
    } else {
        let s = ridge.sqrt();
        let mut a = DMatrix::zeros(n + extra, k);
        a.rows_mut(0, n).copy_from(x);
        for j in 1..k {
            a[(n + j - 1, j)] = s;
        }
        let mut b = DVector::zeros(n + extra);
        b.rows_mut(0, n).copy_from(y);
        (a, b)
    };
    let col_norms: Vec<f64> = (0..k).map(|j| a.column(j).norm()).collect();
    let qr = a.qr();
    let r = qr.r();
    for j in 0..k {
        if r[(j, j)].abs() <= COLLINEAR_TOL * col_norms[j] {
            let before = if j == 0 { "nothing (it is zero)".to_string() } else { names[..j].join(", ") };
            return Err(CoreError::data(format!(
                "{what}: singular design — column `{}` is a linear combination of {before}; drop it or give \
                 a ridge penalty > 0 (`ridge = 0.001` in a TOML file given to `--config`)",
                names[j]
            ))
            .into());
        }
    }
    let mut qtb = b;
    qr.q_tr_mul(&mut qtb);
    let rhs = qtb.rows(0, k).into_owned();
    let beta = r.solve_upper_triangular(&rhs).ok_or_else(|| {
        NetsError::from(CoreError::data(format!("{what}: singular design (the triangular solve failed)")))
    })?;
    if let Some(j) = beta.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::data(format!("{what}: the coefficient of `{}` is not finite", names[j])).into());
    }
    Ok(beta.iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|j| format!("c{j}")).collect()
    }

    #[test]
    fn exact_fit_and_ridge_shrinks() {
        // y = 1 + 2a − 3b exactly
        let rows = [[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [1.0, 2.0, 1.0], [1.0, 3.0, 5.0], [1.0, -1.0, 2.0]];
        let x = DMatrix::from_fn(5, 3, |i, j| rows[i][j]);
        let y = DVector::from_fn(5, |i, _| 1.0 + 2.0 * rows[i][1] - 3.0 * rows[i][2]);
        let b = least_squares(&x, &y, 0.0, &names(3), "t").unwrap();
        for (got, want) in b.iter().zip([1.0, 2.0, -3.0]) {
            assert!((got - want).abs() < 1e-12, "{b:?}");
        }
        let br = least_squares(&x, &y, 10.0, &names(3), "t").unwrap();
        assert!(br[1].abs() < 2.0 && br[2].abs() < 3.0, "{br:?}");
        // Ridge equals the normal equations (XᵀX + λD)β = Xᵀy.
        let mut m = x.transpose() * &x;
        for j in 1..3 {
            m[(j, j)] += 10.0;
        }
        let want = m.lu().solve(&(x.transpose() * &y)).unwrap();
        for (g, w) in br.iter().zip(want.iter()) {
            assert!((g - w).abs() < 1e-10);
        }
    }

    #[test]
    fn collinear_and_short_designs_are_named() {
        let x = DMatrix::from_fn(6, 3, |i, j| match j {
            0 => 1.0,
            1 => i as f64,
            _ => 2.0 * i as f64 + 1.0,
        });
        let y = DVector::from_fn(6, |i, _| i as f64);
        let e = least_squares(&x, &y, 0.0, &names(3), "control arm").unwrap_err().to_string();
        assert!(e.contains("control arm: singular design") && e.contains("`c2`") && e.contains("c0, c1"), "{e}");
        assert!(least_squares(&x, &y, 0.1, &names(3), "control arm").is_ok());
        let e = least_squares(&x.rows(0, 2).into_owned(), &y.rows(0, 2).into_owned(), 0.0, &names(3), "arm");
        assert!(e.unwrap_err().to_string().contains("2 units cannot determine 3 coefficients"));
    }
}

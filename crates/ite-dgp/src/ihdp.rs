//! Loader for the IHDP semi-synthetic benchmark (Hill 2011) in the CEVAE/TARNet
//! CSV layout, with the project's fixed, language-independent split.
//!
//! Each `ihdp_npci_R.csv` has no header and 30 columns: `t`, `y_factual`,
//! `y_cfactual`, `mu0`, `mu1`, `x1..x25`. Row `i` (0-based, file order) is
//! out-of-sample when `i % 10 == 9`.
//!
//! ```no_run
//! use ite_dgp::ihdp;
//! let rep = ihdp::load_replication("../shared/data/ihdp".as_ref(), 1)?;
//! assert_eq!((rep.train.n(), rep.test.n()), (673, 74));
//! # Ok::<(), ite_dgp::DgpError>(())
//! ```

use std::path::{Path, PathBuf};

use ite_core::{CausalData, Covariates, Truth, default_names};

use crate::error::DgpError;

/// Number of covariates in IHDP.
pub const N_COVARIATES: usize = 25;
/// Number of columns in an IHDP file.
const N_COLUMNS: usize = 5 + N_COVARIATES;

/// One IHDP replication split into training and out-of-sample rows.
#[derive(Debug, Clone, PartialEq)]
pub struct IhdpReplication {
    /// Replication number (1-based, as in the file name).
    pub replication: usize,
    /// Training rows (`i % 10 != 9`), with truth.
    pub train: CausalData,
    /// Out-of-sample rows (`i % 10 == 9`), with truth.
    pub test: CausalData,
}

/// Whether row `i` (0-based, file order) is out-of-sample under the fixed split.
pub fn is_out_of_sample(i: usize) -> bool {
    i % 10 == 9
}

/// The path of replication `replication` in `dir`.
pub fn replication_path(dir: &Path, replication: usize) -> PathBuf {
    dir.join(format!("ihdp_npci_{replication}.csv"))
}

/// Replication numbers present in `dir`, sorted.
pub fn available_replications(dir: &Path) -> Result<Vec<usize>, DgpError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DgpError::Dataset {
        path: dir.to_path_buf(),
        message: format!("cannot list the directory: {e}"),
    })?;
    let mut reps: Vec<usize> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("ihdp_npci_")?.strip_suffix(".csv")?.parse().ok()
        })
        .collect();
    reps.sort_unstable();
    if reps.is_empty() {
        return Err(DgpError::Dataset {
            path: dir.to_path_buf(),
            message: "no IHDP files (ihdp_npci_R.csv) in this directory".into(),
        });
    }
    Ok(reps)
}

/// Loads a whole replication file (747 rows) with truth.
pub fn load_file(path: &Path) -> Result<CausalData, DgpError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| DgpError::Dataset { path: path.to_path_buf(), message: e.to_string() })?;
    parse(&text).map_err(|message| DgpError::Dataset { path: path.to_path_buf(), message })
}

/// Loads replication `replication` from `dir` and applies the fixed split.
pub fn load_replication(dir: &Path, replication: usize) -> Result<IhdpReplication, DgpError> {
    let all = load_file(&replication_path(dir, replication))?;
    let (train, test) = all.split_by(is_out_of_sample)?;
    Ok(IhdpReplication { replication, train, test })
}

fn parse(text: &str) -> Result<CausalData, String> {
    let (mut x, mut t, mut y, mut mu0, mut mu1) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != N_COLUMNS {
            return Err(format!("line {}: {} fields, expected {N_COLUMNS}", k + 1, fields.len()));
        }
        let num = |j: usize| -> Result<f64, String> {
            let v: f64 = fields[j]
                .trim()
                .parse()
                .map_err(|_| format!("line {}, column {}: `{}` is not a number", k + 1, j + 1, fields[j]))?;
            if !v.is_finite() {
                return Err(format!("line {}, column {}: `{}` is not finite", k + 1, j + 1, fields[j]));
            }
            Ok(v)
        };
        let tv = num(0)?;
        if tv != 0.0 && tv != 1.0 {
            return Err(format!("line {}, column 1: treatment `{}` is not 0 or 1", k + 1, fields[0]));
        }
        t.push(tv as u8);
        y.push(num(1)?);
        mu0.push(num(3)?);
        mu1.push(num(4)?);
        for j in 5..N_COLUMNS {
            x.push(num(j)?);
        }
    }
    if t.is_empty() {
        return Err("the file has no rows".into());
    }
    let x = Covariates::new(x, default_names(N_COVARIATES)).map_err(|e| e.to_string())?;
    CausalData::from_parts(x, t, y, Some(Truth { mu0, mu1 }), None).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ITE_IHDP_DIR`, else `../shared/data/ihdp` beside the checkout. Missing data skips the
    /// test, unless `ITE_REQUIRE_IHDP` is set to anything but `0` (`.ci/run` sets it).
    fn dir() -> Option<PathBuf> {
        let d = std::env::var_os("ITE_IHDP_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ihdp"));
        if d.exists() {
            return Some(d);
        }
        let required = std::env::var("ITE_REQUIRE_IHDP").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(!required, "IHDP data missing at {} and ITE_REQUIRE_IHDP is set", d.display());
        None
    }

    #[test]
    fn split_follows_the_readme() {
        let Some(d) = dir() else { return };
        assert_eq!(available_replications(&d).unwrap(), (1..=10).collect::<Vec<_>>());
        let rep = load_replication(&d, 1).unwrap();
        assert_eq!((rep.train.n(), rep.test.n(), rep.train.p()), (673, 74, 25));
        // First row of replication 1 (README layout): t=1, y=5.5999..., mu0=3.268..., mu1=6.854..., x1=-0.5286...
        assert_eq!(rep.train.t()[0], 1);
        assert!((rep.train.y()[0] - 5.599_916).abs() < 1e-5);
        let tr = rep.train.truth().unwrap();
        assert!((tr.mu0[0] - 3.268_256).abs() < 1e-5 && (tr.mu1[0] - 6.854_457).abs() < 1e-5);
        assert!((rep.train.x().row(0)[0] + 0.528_603).abs() < 1e-5);
        // The 10th file row (index 9) is the first out-of-sample row.
        let all = load_file(&replication_path(&d, 1)).unwrap();
        assert_eq!(all.x().row(9), rep.test.x().row(0));
        assert_eq!(all.x().row(10), rep.train.x().row(9));
    }

    #[test]
    fn malformed_files_name_line_and_column() {
        assert!(parse("1,2,3\n").unwrap_err().contains("line 1: 3 fields, expected 30"));
        let mut row = vec!["0"; N_COLUMNS];
        row[7] = "abc";
        assert!(parse(&row.join(",")).unwrap_err().contains("line 1, column 8: `abc` is not a number"));
        row[7] = "1";
        row[0] = "2";
        assert!(parse(&row.join(",")).unwrap_err().contains("treatment `2`"));
        assert!(parse("").unwrap_err().contains("no rows"));
        let e = load_replication(Path::new("/nonexistent"), 1).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/ihdp_npci_1.csv"), "{e}");
    }
}

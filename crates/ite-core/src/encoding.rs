//! Categorical covariates and missing values: [`EncodingParams`] (which columns are
//! categorical, what a missing value does) fitted on training files into an [`Encoding`] — the
//! sorted levels of each categorical column, the imputation values — that is saved with a model
//! and applied unchanged to the rows it predicts.
//!
//! Rules, in one place:
//!
//! - **One-hot with a reference level.** A categorical column with levels `l1 < l2 < … < lk`
//!   (sorted as text) becomes `k − 1` columns `NAME=l2`, …, `NAME=lk` of 0/1; the first level
//!   is the reference (all zeros), so a linear model with an intercept stays identifiable. A
//!   column with one level only contributes no column.
//! - **Levels from the training files.** [`Encoding::fit`] takes every training file (the source
//!   and the target of a transfer) and uses the union of their levels, so both share one
//!   encoding; a level that appears in one file only still gets its column. A level not seen in
//!   training is an error when the encoding is applied (naming file, line, column and level).
//! - **Missing values** are empty fields and the text `NA`. [`MissingPolicy::Error`] keeps the
//!   reader's messages; [`MissingPolicy::Drop`] drops every row with a missing treatment,
//!   outcome, covariate, cluster label or true mean (`mu0`, `mu1`); [`MissingPolicy::Impute`]
//!   fills a covariate with its training mean (numeric) or most frequent level (categorical; ties
//!   go to the first level) and adds a 0/1 column `NAME_missing` for each covariate that had a gap in training. Treatment, outcome,
//!   cluster label and true means are never imputed: with `impute`, rows missing one of them are
//!   dropped.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::csv_io::{CovariateTable, CsvLayout, RawCsv, Table, clip, parse_covariate, parse_number, parse_treatment};
use crate::data::{CausalData, Covariates};
use crate::error::{CoreError, Result, SettingsError};

/// What a missing value (an empty field, or `NA`) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingPolicy {
    /// Stop at the first missing value, with the reader's message naming file, line and column.
    #[default]
    Error,
    /// Drop every row with a missing value in a used column (treatment, outcome, a covariate,
    /// the cluster label, `mu0`, `mu1`).
    Drop,
    /// Fill covariates (training mean, or most frequent level) and add missingness indicators;
    /// rows with a missing treatment, outcome, cluster label, `mu0` or `mu1` are dropped.
    Impute,
}

impl MissingPolicy {
    /// The name on the command line: `error`, `drop` or `impute`.
    pub fn name(self) -> &'static str {
        match self {
            MissingPolicy::Error => "error",
            MissingPolicy::Drop => "drop",
            MissingPolicy::Impute => "impute",
        }
    }
}

impl FromStr for MissingPolicy {
    type Err = SettingsError;

    /// `error`, `drop` or `impute`; anything else is a [`SettingsError`] for `missing`.
    fn from_str(s: &str) -> std::result::Result<Self, SettingsError> {
        match s {
            "error" => Ok(MissingPolicy::Error),
            "drop" => Ok(MissingPolicy::Drop),
            "impute" => Ok(MissingPolicy::Impute),
            _ => Err(SettingsError::text("missing", s, "`error`, `drop` or `impute`")),
        }
    }
}

/// Whether a field counts as missing: empty (after trimming) or the text `NA`.
pub fn is_missing(field: &str) -> bool {
    let s = field.trim();
    s.is_empty() || s == "NA"
}

/// How covariates are encoded before a model sees them.
///
/// | field | default | meaning | valid range |
/// |---|---|---|---|
/// | `categorical` | `[]` | covariate columns read as categories and one-hot encoded | distinct, non-empty column names, each a covariate of the file |
/// | `missing` | [`MissingPolicy::Error`] | what a missing value does | `error`, `drop`, `impute` |
///
/// ```
/// use ite_core::{EncodingParams, MissingPolicy};
/// let p = EncodingParams { categorical: vec!["region".into()], missing: MissingPolicy::Impute };
/// assert!(p.validate().is_ok());
/// let bad = EncodingParams { categorical: vec!["a".into(), "a".into()], ..EncodingParams::default() };
/// assert!(bad.validate().unwrap_err().to_string().contains("`categorical`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncodingParams {
    /// Categorical covariate columns.
    pub categorical: Vec<String>,
    /// What a missing value does.
    pub missing: MissingPolicy,
}

impl EncodingParams {
    /// Checks the column names: none empty, none repeated (whether each is a covariate of a
    /// file is checked by [`Encoding::fit`]).
    pub fn validate(&self) -> std::result::Result<(), SettingsError> {
        for (i, c) in self.categorical.iter().enumerate() {
            if c.trim().is_empty() {
                return Err(SettingsError::text("categorical", self.categorical.join(","), "non-empty column names"));
            }
            if self.categorical[..i].contains(c) {
                return Err(SettingsError::text(
                    "categorical",
                    self.categorical.join(","),
                    format!("each column once (`{}` is listed twice)", clip(c)),
                ));
            }
        }
        Ok(())
    }
}

/// How one input column becomes model features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ColumnKind {
    /// A number, passed through; `fill` is the training mean (with `impute`).
    Numeric {
        /// The value a missing entry takes.
        fill: Option<f64>,
    },
    /// Categories, one-hot against the first level.
    Categorical {
        /// The training levels, sorted and distinct; the first is the reference.
        levels: Vec<String>,
        /// The level a missing entry takes (with `impute`).
        fill: Option<String>,
    },
}

/// One input column of an [`Encoding`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnEncoding {
    /// The column's name in the file.
    pub name: String,
    /// Numeric or categorical, with the fill value.
    pub kind: ColumnKind,
    /// Whether a 0/1 column `NAME_missing` follows (the column had a gap in training, `impute`).
    pub indicator: bool,
}

impl ColumnEncoding {
    /// The feature names this column produces.
    fn features(&self) -> Vec<String> {
        let mut out = match &self.kind {
            ColumnKind::Numeric { .. } => vec![self.name.clone()],
            ColumnKind::Categorical { levels, .. } => {
                levels.iter().skip(1).map(|l| format!("{}={l}", self.name)).collect()
            }
        };
        if self.indicator {
            out.push(format!("{}_missing", self.name));
        }
        out
    }
}

/// A fitted encoding: the input columns in order, each numeric or categorical with its levels
/// and fill value, and the missing-value policy. Serializable (saved beside a model).
///
/// ```
/// use ite_core::{CsvLayout, Encoding, EncodingParams, MissingPolicy, RawCsv};
/// let text = "x,g,t,y\n1,b,0,1\n,a,1,2\n3,c,1,3\n";
/// let raw = RawCsv::read_from(text.as_bytes(), "f.csv", &CsvLayout::default(), true)?;
/// let params = EncodingParams { categorical: vec!["g".into()], missing: MissingPolicy::Impute };
/// let enc = Encoding::fit(&[&raw], &params)?;
/// assert_eq!(enc.feature_names(), ["x", "x_missing", "g=b", "g=c"]);
/// let d = enc.encode_data(&raw, "the training data")?.data;
/// assert_eq!(d.x().row(1), &[2.0, 1.0, 0.0, 0.0]); // mean of 1 and 3, missing, level a
/// # Ok::<(), ite_core::CoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    /// What a missing value does.
    pub missing: MissingPolicy,
    /// The input columns, in feature order.
    pub columns: Vec<ColumnEncoding>,
}

/// Which rows of a file an encoding kept: the others had a missing value (see [`MissingPolicy`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeptRows {
    /// The kept data rows, 0-based in file order.
    pub kept: Vec<usize>,
    /// The 1-based file lines of the dropped rows.
    pub dropped_lines: Vec<u64>,
}

/// A training file after encoding: the data of the kept rows, and which rows those are.
#[derive(Debug, Clone)]
pub struct EncodedData {
    /// Covariates (encoded), treatment, outcome, truth and ids of the kept rows.
    pub data: CausalData,
    /// Which rows were kept.
    pub rows: KeptRows,
}

/// Rows to predict after encoding.
#[derive(Debug, Clone)]
pub struct EncodedCovariates {
    /// Covariates (encoded), truth and ids of the kept rows.
    pub table: CovariateTable,
    /// Which rows were kept.
    pub rows: KeptRows,
}

impl Encoding {
    /// Every column numeric and passed through, missing values an error: what a model saved
    /// without an encoding expects.
    pub fn identity(names: &[String]) -> Self {
        Encoding {
            missing: MissingPolicy::Error,
            columns: names
                .iter()
                .map(|n| ColumnEncoding { name: n.clone(), kind: ColumnKind::Numeric { fill: None }, indicator: false })
                .collect(),
        }
    }

    /// The input columns' names, in order.
    pub fn input_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// The feature names a model sees: numeric columns by name, a categorical column as
    /// `NAME=LEVEL` for each level but the first, then `NAME_missing` where it has an indicator.
    pub fn feature_names(&self) -> Vec<String> {
        self.columns.iter().flat_map(ColumnEncoding::features).collect()
    }

    /// The categorical columns and their levels (first = reference).
    pub fn levels(&self) -> Vec<(&str, &[String])> {
        self.columns
            .iter()
            .filter_map(|c| match &c.kind {
                ColumnKind::Categorical { levels, .. } => Some((c.name.as_str(), levels.as_slice())),
                ColumnKind::Numeric { .. } => None,
            })
            .collect()
    }

    /// The columns that have a missingness indicator.
    pub fn indicators(&self) -> Vec<&str> {
        self.columns.iter().filter(|c| c.indicator).map(|c| c.name.as_str()).collect()
    }

    /// Fits the encoding on the training files (all with the same covariate columns, by name;
    /// the first file's order is kept): the levels of each categorical column, sorted, from
    /// the union of the files' rows; with `impute`, every column's fill value over the rows of
    /// all files (mean, or most frequent level) and an indicator where a column has a gap.
    ///
    /// Errors: invalid `params`; no file; a `--categorical` column that is not a covariate; files
    /// whose covariates differ; a categorical column without any value; with `impute`, a numeric
    /// column that is not a number (file, line, column) or has no value.
    pub fn fit(files: &[&RawCsv], params: &EncodingParams) -> Result<Self> {
        params.validate()?;
        let Some(first) = files.first() else {
            return Err(CoreError::data("an encoding needs at least one training file"));
        };
        let names = first.covariate_names()?;
        for c in &params.categorical {
            if !names.contains(c) {
                return Err(first.table.file_error(format!(
                    "--categorical names `{}`, which is not a covariate column; the covariates are [{}]",
                    clip(c),
                    names.join(", ")
                )));
            }
        }
        let identity = Encoding { missing: params.missing, ..Encoding::identity(&names) };
        let mut per_file = Vec::with_capacity(files.len());
        for f in files {
            let cols = f.table.match_covariates(&names, &format!("{} (the first training file)", first.name()))?;
            let rows = identity.kept_rows(&f.table, &cols, true)?;
            per_file.push((&f.table, cols, rows));
        }
        let mut columns = Vec::with_capacity(names.len());
        for (k, name) in names.iter().enumerate() {
            let cells = per_file.iter().flat_map(|(t, cols, rows)| {
                rows.kept.iter().map(move |&i| (*t, t.rows[i].0, cols[k], t.rows[i].1[cols[k]].trim()))
            });
            let impute = params.missing == MissingPolicy::Impute;
            let gap = cells.clone().any(|(.., s)| is_missing(s));
            let kind = if params.categorical.contains(name) {
                fit_levels(cells, impute).ok_or_else(|| {
                    first.table.file_error(format!("categorical column `{}` has no value", clip(name)))
                })?
            } else if impute {
                ColumnKind::Numeric { fill: Some(fit_mean(cells, name)?) }
            } else {
                ColumnKind::Numeric { fill: None }
            };
            columns.push(ColumnEncoding { name: name.clone(), kind, indicator: impute && gap });
        }
        Ok(Encoding { missing: params.missing, columns })
    }

    /// This encoding with another missing-value policy (for prediction). `impute` needs a fill
    /// value for every column, which only an encoding fitted with `impute` has.
    pub fn with_missing(&self, missing: MissingPolicy) -> Result<Self> {
        if missing == MissingPolicy::Impute && self.missing != MissingPolicy::Impute {
            return Err(SettingsError::text(
                "missing",
                "impute",
                format!(
                    "`error` or `drop`: the model was fitted with --missing {}, so it stores no imputation values",
                    self.missing.name()
                ),
            )
            .into());
        }
        Ok(Encoding { missing, ..self.clone() })
    }

    /// Checks an encoding read from a file: distinct non-empty column names, levels sorted and
    /// distinct, fill values finite and among the levels, fills present with `impute`, and
    /// distinct feature names. The error names the column.
    pub fn validate(&self) -> Result<()> {
        let bad = |c: &ColumnEncoding, what: &str| CoreError::data(format!("encoding of column `{}`: {what}", c.name));
        if self.columns.is_empty() {
            return Err(CoreError::data("encoding: no columns"));
        }
        for (k, c) in self.columns.iter().enumerate() {
            if c.name.trim().is_empty() || self.columns[..k].iter().any(|o| o.name == c.name) {
                return Err(bad(c, "name empty or repeated"));
            }
            let has_fill = match &c.kind {
                ColumnKind::Numeric { fill } => {
                    if fill.is_some_and(|v| !v.is_finite()) {
                        return Err(bad(c, "fill is not a finite number"));
                    }
                    fill.is_some()
                }
                ColumnKind::Categorical { levels, fill } => {
                    if levels.is_empty() || levels.windows(2).any(|w| w[0] >= w[1]) {
                        return Err(bad(c, "levels must be non-empty, sorted and distinct"));
                    }
                    if fill.as_ref().is_some_and(|f| !levels.contains(f)) {
                        return Err(bad(c, "fill is not one of the levels"));
                    }
                    fill.is_some()
                }
            };
            if (self.missing == MissingPolicy::Impute) != has_fill {
                return Err(bad(c, "a fill value is needed with `impute` and only then"));
            }
            if c.indicator && self.missing != MissingPolicy::Impute {
                return Err(bad(c, "an indicator is only made with `impute`"));
            }
        }
        let features = self.feature_names();
        if let Some((k, f)) = features.iter().enumerate().find(|(k, f)| features[..*k].contains(f)) {
            return Err(CoreError::data(format!("encoding: feature `{f}` (#{}) appears twice", k + 1)));
        }
        Ok(())
    }

    /// Encodes a training file: its covariates must be this encoding's (by name, any order;
    /// `what` names where those came from in the messages); the rows the policy drops are left
    /// out, and treatment and outcome are read from the rest.
    ///
    /// Errors (file, line, column): a missing value with `error`; a value that is not a number
    /// in a numeric column (suggesting `--categorical`); a level not among the training levels;
    /// a bad treatment or outcome; no row left; covariates that do not match.
    pub fn encode_data(&self, raw: &RawCsv, what: &str) -> Result<EncodedData> {
        let t = &raw.table;
        let (tc, yc) = (t.required(&t.layout.treatment)?, t.required(&t.layout.outcome)?);
        let cols = t.match_covariates(&self.input_names(), what)?;
        let rows = self.kept_rows(t, &cols, true)?;
        let mut treat = Vec::with_capacity(rows.kept.len());
        let mut y = Vec::with_capacity(rows.kept.len());
        for &i in &rows.kept {
            let (line, fields) = &t.rows[i];
            let (ts, ys) = (fields[tc].trim(), fields[yc].trim());
            treat.push(parse_treatment(ts).map_err(|m| t.cell_error(*line, tc, ts, m))?);
            y.push(parse_number(ys).map_err(|m| t.cell_error(*line, yc, ys, m))?);
        }
        let truth = t.truth(Some(&rows.kept))?;
        let ids = t.ids()?.map(|ids| rows.kept.iter().map(|&i| ids[i].clone()).collect());
        let x = self.encode_rows(t, &cols, &rows)?;
        let data = CausalData::from_parts(x, treat, y, truth, ids).map_err(|e| t.file_error(e.to_string()))?;
        Ok(EncodedData { data, rows })
    }

    /// Encodes rows to predict (treatment and outcome, when present, are not read): as
    /// [`Self::encode_data`] without the outcome, with the same errors.
    pub fn encode_covariates(&self, raw: &RawCsv, what: &str) -> Result<EncodedCovariates> {
        let t = &raw.table;
        let cols = t.match_covariates(&self.input_names(), what)?;
        let rows = self.kept_rows(t, &cols, false)?;
        let x = self.encode_rows(t, &cols, &rows)?;
        let truth = t.truth(Some(&rows.kept))?;
        let ids = t.ids()?.map(|ids| rows.kept.iter().map(|&i| ids[i].clone()).collect());
        Ok(EncodedCovariates { table: CovariateTable { x, truth, ids }, rows })
    }

    /// Reads and encodes a training file (see [`Self::encode_data`]).
    pub fn read_data(&self, path: impl AsRef<Path>, layout: &CsvLayout, what: &str) -> Result<EncodedData> {
        self.encode_data(&RawCsv::read(path, layout, true)?, what)
    }

    /// The rows the policy keeps: with `drop`, those without a missing value in the covariates,
    /// the true means `mu0`, `mu1` (when the file has them) and, `with_outcome`, the treatment,
    /// outcome and cluster label; with `impute`, those with all but the covariates present; with
    /// `error`, all. Errors when no row is left.
    fn kept_rows(&self, t: &Table, cols: &[usize], with_outcome: bool) -> Result<KeptRows> {
        let mut used: Vec<usize> = Vec::new();
        if with_outcome && self.missing != MissingPolicy::Error {
            used.push(t.required(&t.layout.treatment)?);
            used.push(t.required(&t.layout.outcome)?);
            if let Some(c) = &t.layout.cluster {
                used.push(t.required(c)?);
            }
        }
        if self.missing == MissingPolicy::Drop {
            used.extend_from_slice(cols);
        }
        if let (Some(a), Some(b), true) =
            (t.find(&t.layout.mu0), t.find(&t.layout.mu1), self.missing != MissingPolicy::Error)
        {
            used.extend([a, b]);
        }
        let mut rows = KeptRows::default();
        for (i, (line, fields)) in t.rows.iter().enumerate() {
            if used.iter().any(|&j| is_missing(&fields[j])) {
                rows.dropped_lines.push(*line);
            } else {
                rows.kept.push(i);
            }
        }
        if rows.kept.is_empty() {
            return Err(t.file_error(format!(
                "every one of the {} rows has a missing value in a used column (with --missing {}, such rows are \
                 dropped), so none is left",
                t.rows.len(),
                self.missing.name()
            )));
        }
        Ok(rows)
    }

    /// The encoded covariates of the kept rows.
    fn encode_rows(&self, t: &Table, cols: &[usize], rows: &KeptRows) -> Result<Covariates> {
        let names = self.feature_names();
        let mut values = Vec::with_capacity(rows.kept.len() * names.len());
        for &i in &rows.kept {
            let (line, fields) = &t.rows[i];
            for (c, &j) in self.columns.iter().zip(cols) {
                let s = fields[j].trim();
                let gap = is_missing(s) && self.missing == MissingPolicy::Impute;
                match &c.kind {
                    ColumnKind::Numeric { fill } => {
                        let v = match fill {
                            Some(f) if gap => *f,
                            _ => parse_covariate(s, &c.name).map_err(|m| t.cell_error(*line, j, s, m))?,
                        };
                        values.push(v);
                    }
                    ColumnKind::Categorical { levels, fill } => {
                        let level = match fill {
                            Some(f) if gap => f.as_str(),
                            _ => s,
                        };
                        let Some(k) = levels.iter().position(|l| l == level) else {
                            return Err(level_error(t, *line, j, s, levels));
                        };
                        values.extend((1..levels.len()).map(|m| if m == k { 1.0 } else { 0.0 }));
                    }
                }
                if c.indicator {
                    values.push(if gap { 1.0 } else { 0.0 });
                }
            }
        }
        Covariates::new(values, names).map_err(|e| t.file_error(e.to_string()))
    }
}

/// The error for a value of a categorical column that is not a training level: a missing value
/// (empty or `NA`, with `error`) at the cell, any other value [`CoreError::UnseenLevel`].
fn level_error(t: &Table, line: u64, j: usize, s: &str, levels: &[String]) -> CoreError {
    let shown: Vec<String> = levels.iter().map(|l| clip(l)).collect();
    if is_missing(s) {
        let more = if levels.len() > 20 { format!(", … ({} levels)", levels.len()) } else { String::new() };
        let what =
            if s.trim().is_empty() { "empty value".to_string() } else { format!("`{}` (a missing value)", clip(s)) };
        let message = format!(
            "{what} (expected one of the levels {}{more}); {}",
            shown[..shown.len().min(20)].join(", "),
            crate::csv_io::MISSING_HINT
        );
        return t.cell_error(line, j, s, message);
    }
    CoreError::UnseenLevel { file: t.name.clone(), line, column: t.header[j].clone(), level: clip(s), levels: shown }
}

/// The sorted levels of a categorical column's present values, and with `impute` the most
/// frequent one (ties to the first); `None` when no value is present.
fn fit_levels<'s>(cells: impl Iterator<Item = (&'s Table, u64, usize, &'s str)>, impute: bool) -> Option<ColumnKind> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (.., s) in cells {
        if !is_missing(s) {
            *counts.entry(s).or_default() += 1;
        }
    }
    let most = counts.iter().fold(None, |best: Option<(&str, usize)>, (&l, &n)| match best {
        Some((_, m)) if m >= n => best,
        _ => Some((l, n)),
    })?;
    let fill = impute.then(|| most.0.to_string());
    Some(ColumnKind::Categorical { levels: counts.keys().map(|l| (*l).to_string()).collect(), fill })
}

/// The mean of a numeric column's present values; an error at the first value that is not a
/// number, or when there is none.
fn fit_mean<'s>(cells: impl Iterator<Item = (&'s Table, u64, usize, &'s str)>, name: &str) -> Result<f64> {
    let (mut sum, mut n) = (0.0, 0usize);
    let mut table = None;
    for (t, line, j, s) in cells {
        table = Some(t);
        if is_missing(s) {
            continue;
        }
        sum += parse_covariate(s, name).map_err(|m| t.cell_error(line, j, s, m))?;
        n += 1;
    }
    match (n, table) {
        (0, Some(t)) => Err(t.file_error(format!("column `{}` has no value to impute from", clip(name)))),
        (0, None) => Err(CoreError::data(format!("column `{}` has no value to impute from", clip(name)))),
        _ => Ok(sum / n as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> RawCsv {
        RawCsv::read_from(s.as_bytes(), "f.csv", &CsvLayout::default(), true).unwrap()
    }

    #[test]
    fn one_hot_against_the_first_level_and_union_of_files() {
        let a = raw("g,x,t,y\nb,1,0,1\na,2,1,2\n");
        let b = raw("x,g,t,y\n3,c,0,1\n4,a,1,2\n");
        let params = EncodingParams { categorical: vec!["g".into()], ..EncodingParams::default() };
        let enc = Encoding::fit(&[&a, &b], &params).unwrap();
        assert_eq!(enc.levels(), [("g", &["a".to_string(), "b".into(), "c".into()][..])]);
        assert_eq!(enc.feature_names(), ["g=b", "g=c", "x"]);
        let d = enc.encode_data(&b, "a").unwrap().data;
        assert_eq!(d.x().values(), &[0., 1., 3., 0., 0., 4.]);
        let err = enc.encode_data(&raw("g,x,t,y\nd,1,0,1\n"), "a").unwrap_err();
        assert!(matches!(&err, CoreError::UnseenLevel { level, line: 2, .. } if level == "d"), "{err:?}");
        let e = err.to_string();
        assert!(
            e.contains(
                "f.csv: line 2, column `g`: level `d` was not seen in the training data, whose levels are a, b, c"
            ),
            "{e}"
        );
    }

    #[test]
    fn text_columns_suggest_categorical() {
        let a = raw("g,x,t,y\nb,1,0,1\na,2,1,2\n");
        let enc = Encoding::fit(&[&a], &EncodingParams::default()).unwrap();
        let e = enc.encode_data(&a, "a").unwrap_err().to_string();
        assert!(
            e.contains(
                "f.csv: line 2, column `g`: `b` is not a number; if column `g` holds categories, pass --categorical g"
            ),
            "{e}"
        );
        let p = EncodingParams { categorical: vec!["z".into()], ..EncodingParams::default() };
        let e = Encoding::fit(&[&a], &p).unwrap_err().to_string();
        assert!(e.contains("--categorical names `z`, which is not a covariate column"), "{e}");
    }

    #[test]
    fn missing_values_error_drop_impute() {
        let text = "x,g,t,y\n1,a,0,1\n,b,1,2\n3,,1,\n5,b,0,4\n";
        let a = raw(text);
        let cat = vec!["g".to_string()];
        let err = EncodingParams { categorical: cat.clone(), missing: MissingPolicy::Error };
        let e = Encoding::fit(&[&a], &err).and_then(|enc| enc.encode_data(&a, "a")).unwrap_err().to_string();
        assert!(e.contains("line 4, column `y`: empty value (expected a number)"), "{e}");
        let drop = EncodingParams { categorical: cat.clone(), missing: MissingPolicy::Drop };
        let enc = Encoding::fit(&[&a], &drop).unwrap();
        let d = enc.encode_data(&a, "a").unwrap();
        assert_eq!(d.rows.kept, [0, 3]);
        assert_eq!(d.rows.dropped_lines, [3, 4]);
        let imp = EncodingParams { categorical: cat, missing: MissingPolicy::Impute };
        let enc = Encoding::fit(&[&a], &imp).unwrap();
        let d = enc.encode_data(&a, "a").unwrap();
        // the row without an outcome is dropped; x's mean is over rows 1, 2, 4 (1 and 5)
        assert_eq!(d.rows.kept, [0, 1, 3]);
        assert_eq!(enc.feature_names(), ["x", "x_missing", "g=b"]);
        assert_eq!(d.data.x().values(), &[1., 0., 0., 3., 1., 1., 5., 0., 1.]);
        // a saved encoding reads back and validates
        enc.validate().unwrap();
        assert!(enc.with_missing(MissingPolicy::Drop).is_ok());
        let e = Encoding::fit(&[&a], &drop).unwrap().with_missing(MissingPolicy::Impute).unwrap_err().to_string();
        assert!(e.contains("stores no imputation values"), "{e}");
    }

    #[test]
    fn a_missing_true_mean_drops_the_row_and_is_never_imputed() {
        let a = raw("x,t,y,mu0,mu1\n1,0,1,0,1\n2,1,2,,1\n3,1,2,0,1\n");
        for missing in [MissingPolicy::Drop, MissingPolicy::Impute] {
            let p = EncodingParams { missing, ..EncodingParams::default() };
            let d = Encoding::fit(&[&a], &p).unwrap().encode_data(&a, "a").unwrap();
            assert_eq!(d.rows.kept, [0, 2], "{missing:?}");
            assert_eq!(d.data.truth().unwrap().mu0, [0., 0.]);
        }
        let e = Encoding::fit(&[&a], &EncodingParams::default()).unwrap().encode_data(&a, "a").unwrap_err();
        assert!(e.to_string().contains("line 3, column `mu0`: empty value (expected a number)"), "{e}");
    }

    #[test]
    fn a_missing_cluster_label_drops_the_row() {
        let layout = CsvLayout { cluster: Some("s".into()), ..CsvLayout::default() };
        let a = RawCsv::read_from("x,s,t,y\n1,p,0,1\n2,,1,2\n3,q,1,2\n".as_bytes(), "f.csv", &layout, true).unwrap();
        let p = EncodingParams { missing: MissingPolicy::Drop, ..EncodingParams::default() };
        let d = Encoding::fit(&[&a], &p).unwrap().encode_data(&a, "a").unwrap();
        assert_eq!(d.rows.kept, [0, 2]);
        assert_eq!(a.labels("s", &d.rows.kept).unwrap(), ["p", "q"]);
        let e = a.labels("s", &[1]).unwrap_err().to_string();
        assert!(e.contains("f.csv: line 3, column `s`: empty value (expected a label)"), "{e}");
    }

    #[test]
    fn id_column_by_default() {
        let a = raw("id,x,t,y\nu1,1,0,1\nu2,2,1,2\n");
        let enc = Encoding::fit(&[&a], &EncodingParams::default()).unwrap();
        assert_eq!(enc.feature_names(), ["x"]);
        let d = enc.encode_data(&a, "a").unwrap().data;
        assert_eq!(d.ids().unwrap(), ["u1", "u2"]);
        let layout = CsvLayout { covariates: Some(vec!["x".into(), "id".into()]), ..CsvLayout::default() };
        let b = RawCsv::read_from("id,x,t,y\n1,1,0,1\n2,2,1,2\n".as_bytes(), "f.csv", &layout, true).unwrap();
        assert_eq!(b.covariate_names().unwrap(), ["x", "id"]);
        assert_eq!(b.id_column(), None);
    }
}

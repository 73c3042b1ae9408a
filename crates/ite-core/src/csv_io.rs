//! Reading and writing [`CausalData`] as CSV.
//!
//! Default layout: one header line; columns `t` (treatment, 0/1) and `y`
//! (outcome); optional `mu0` and `mu1` (true means); every other column is a
//! covariate. [`CsvLayout`] overrides any of these names; each column has one
//! role ([`CsvLayout::validate`], checked on every read). CRLF line ends and
//! quoted fields are accepted. Every error names the file, the 1-based line of
//! the file (CRLF or not) and the column, on one line, with long values clipped. Files are written to a temporary file beside the target and
//! renamed, so a failed write never leaves a half-written file.

use std::io::{Read, Write};
use std::path::Path;

use crate::data::{CausalData, Covariates, Truth};
use crate::error::{CoreError, Result};

/// Which columns of a CSV file hold what.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `treatment` | `"t"` | treatment column (values 0 or 1) |
/// | `outcome` | `"y"` | outcome column |
/// | `mu0`, `mu1` | `"mu0"`, `"mu1"` | optional true means; read when both are present |
/// | `covariates` | `None` | covariate columns in this order; `None` = every other column |
/// | `id` | `None` | optional identifier column, carried through as text; `None` = the column named `id` when the file has one, `covariates` is `None` and `id` has no other role |
/// | `cluster` | `None` | optional cluster column (households, schools, a person's repeated rows), read as text labels by [`read_labels`]; may be the id column, no other role |
/// | `delimiter` | `b','` | field separator |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLayout {
    /// Treatment column name.
    pub treatment: String,
    /// Outcome column name.
    pub outcome: String,
    /// Control-mean column name (optional in the file).
    pub mu0: String,
    /// Treated-mean column name (optional in the file).
    pub mu1: String,
    /// Covariate columns, or `None` for every column not named otherwise.
    pub covariates: Option<Vec<String>>,
    /// Identifier column, if any. `None` takes a column named `id` as the id column when the
    /// file has one, [`Self::covariates`] is `None` and `id` is not the treatment, outcome, `mu0`
    /// or `mu1`; with an explicit covariate list, `None` means no id column.
    pub id: Option<String>,
    /// Cluster column, if any: never a covariate; it may name the id column (repeated rows of a
    /// unit), no other.
    pub cluster: Option<String>,
    /// Field delimiter.
    pub delimiter: u8,
}

impl Default for CsvLayout {
    fn default() -> Self {
        CsvLayout {
            treatment: "t".into(),
            outcome: "y".into(),
            mu0: "mu0".into(),
            mu1: "mu1".into(),
            covariates: None,
            id: None,
            cluster: None,
            delimiter: b',',
        }
    }
}

impl CsvLayout {
    /// Checks that every column has one role: treatment, outcome, `mu0`, `mu1`, id, cluster and
    /// the covariates name different columns (the cluster may be the id column), and no
    /// covariate is listed twice. The error names the column and its two roles.
    ///
    /// ```
    /// use ite_core::CsvLayout;
    /// let layout = CsvLayout { covariates: Some(vec!["x1".into(), "y".into()]), ..CsvLayout::default() };
    /// let e = layout.validate().unwrap_err().to_string();
    /// assert!(e.contains("column `y` is both the outcome and a covariate"), "{e}");
    /// ```
    pub fn validate(&self) -> Result<()> {
        let mut roles: Vec<(&str, &str)> = vec![
            (self.treatment.as_str(), "the treatment"),
            (self.outcome.as_str(), "the outcome"),
            (self.mu0.as_str(), "the true control mean (mu0)"),
            (self.mu1.as_str(), "the true treated mean (mu1)"),
        ];
        if let Some(id) = &self.id {
            roles.push((id.as_str(), "the id"));
        }
        if let Some(cluster) = &self.cluster
            && self.id.as_ref() != Some(cluster)
        {
            roles.push((cluster.as_str(), "the cluster"));
        }
        for c in self.covariates.iter().flatten() {
            roles.push((c.as_str(), "a covariate"));
        }
        for (i, (col, role)) in roles.iter().enumerate() {
            if let Some((_, first)) = roles[..i].iter().find(|(c, _)| c == col) {
                let message = if first == role {
                    format!("column `{}` is listed twice as {role}; each column has one role", clip(col))
                } else {
                    format!("column `{}` is both {first} and {role}; each column has one role", clip(col))
                };
                return Err(CoreError::InvalidLayout(message));
            }
        }
        Ok(())
    }
}

/// Covariates read from a file that need not have treatment or outcome
/// (a file to predict on), with the truth and ids when the file has them.
#[derive(Debug, Clone, PartialEq)]
pub struct CovariateTable {
    /// Covariates, in the layout's order.
    pub x: Covariates,
    /// True means, when the file has both `mu0` and `mu1` columns.
    pub truth: Option<Truth>,
    /// Identifiers, when the layout names an id column.
    pub ids: Option<Vec<String>>,
}

/// Reads a causal dataset from a CSV file.
///
/// ```no_run
/// use ite_core::{read_csv, CsvLayout};
/// let data = read_csv("target.csv", &CsvLayout::default())?;
/// println!("{} units, {} covariates", data.n(), data.p());
/// # Ok::<(), ite_core::CoreError>(())
/// ```
pub fn read_csv(path: impl AsRef<Path>, layout: &CsvLayout) -> Result<CausalData> {
    let path = path.as_ref();
    read_csv_from(open(path)?, &path.display().to_string(), layout)
}

/// Reads a causal dataset from any reader; `name` stands for the file in messages.
pub fn read_csv_from(reader: impl Read, name: &str, layout: &CsvLayout) -> Result<CausalData> {
    let table = Table::read(reader, name, layout, true)?;
    let (t_col, y_col) = (table.required(layout.treatment.as_str())?, table.required(layout.outcome.as_str())?);
    let t = table.column_values(t_col, parse_treatment)?;
    let y = table.column_values(y_col, parse_number)?;
    let (x, truth, ids) = table.covariates_truth_ids()?;
    CausalData::from_parts(x, t, y, truth, ids).map_err(|e| table.file_error(e.to_string()))
}

/// Reads covariates (and truth and ids when present) from a CSV file that may
/// lack treatment and outcome columns; those columns are skipped when present.
pub fn read_covariates_csv(path: impl AsRef<Path>, layout: &CsvLayout) -> Result<CovariateTable> {
    let path = path.as_ref();
    read_covariates_csv_from(open(path)?, &path.display().to_string(), layout)
}

/// [`read_covariates_csv`] from any reader.
pub fn read_covariates_csv_from(reader: impl Read, name: &str, layout: &CsvLayout) -> Result<CovariateTable> {
    let table = Table::read(reader, name, layout, false)?;
    let (x, truth, ids) = table.covariates_truth_ids()?;
    Ok(CovariateTable { x, truth, ids })
}

/// [`read_covariates_csv`] for a model fitted on the covariates `expected`: the file's
/// covariates (the layout's list, or every column that has no other role) are matched to
/// `expected` by name and returned in `expected`'s order. A covariate of `expected` that the
/// file lacks, or one the file has beyond `expected`, is an error naming it; `what` names where
/// `expected` came from (e.g. "the model").
pub fn read_covariates_csv_matching(
    path: impl AsRef<Path>,
    layout: &CsvLayout,
    expected: &[String],
    what: &str,
) -> Result<CovariateTable> {
    let path = path.as_ref();
    read_covariates_csv_matching_from(open(path)?, &path.display().to_string(), layout, expected, what)
}

/// [`read_covariates_csv_matching`] from any reader.
pub fn read_covariates_csv_matching_from(
    reader: impl Read,
    name: &str,
    layout: &CsvLayout,
    expected: &[String],
    what: &str,
) -> Result<CovariateTable> {
    let reordered = CsvLayout { covariates: Some(expected.to_vec()), ..layout.clone() };
    reordered.validate()?;
    let table = Table::read(reader, name, layout, false)?;
    table.match_covariates(expected, what)?;
    let table = Table { layout: reordered, ..table };
    let (x, truth, ids) = table.covariates_truth_ids()?;
    Ok(CovariateTable { x, truth, ids })
}

/// Reads the text labels of `column` (for example the layout's cluster column), one per data
/// row in file order, after the same checks as [`read_csv`] makes of the layout and the file.
/// A label is trimmed; an empty one is an error naming the file, line and column.
///
/// ```
/// use ite_core::{read_labels_from, CsvLayout};
/// let layout = CsvLayout { cluster: Some("school".into()), ..CsvLayout::default() };
/// let labels = read_labels_from("x,school,t,y\n1,a,0,2\n2,b,1,3\n".as_bytes(), "f.csv", &layout, "school")?;
/// assert_eq!(labels, ["a", "b"]);
/// # Ok::<(), ite_core::CoreError>(())
/// ```
pub fn read_labels(path: impl AsRef<Path>, layout: &CsvLayout, column: &str) -> Result<Vec<String>> {
    let path = path.as_ref();
    read_labels_from(open(path)?, &path.display().to_string(), layout, column)
}

/// [`read_labels`] from any reader; `name` stands for the file in messages.
pub fn read_labels_from(reader: impl Read, name: &str, layout: &CsvLayout, column: &str) -> Result<Vec<String>> {
    let table = Table::read(reader, name, layout, false)?;
    let j = table.required(column)?;
    table.column_values(j, |s| {
        if s.is_empty() { Err("empty value (expected a label)".to_string()) } else { Ok(s.to_string()) }
    })
}

/// A CSV file read as text with its layout, before any value is parsed: the input of
/// [`crate::Encoding`] (categorical covariates, missing values). Reading checks the layout,
/// the header and the row lengths, as [`read_csv`] does.
pub struct RawCsv {
    pub(crate) table: Table,
}

impl RawCsv {
    /// Reads `path` as text. `with_outcome`: the file is a training sample (treatment and
    /// outcome required when encoded), rather than rows to predict.
    pub fn read(path: impl AsRef<Path>, layout: &CsvLayout, with_outcome: bool) -> Result<Self> {
        let path = path.as_ref();
        Self::read_from(open(path)?, &path.display().to_string(), layout, with_outcome)
    }

    /// [`RawCsv::read`] from any reader; `name` stands for the file in messages.
    pub fn read_from(reader: impl Read, name: &str, layout: &CsvLayout, with_outcome: bool) -> Result<Self> {
        Ok(RawCsv { table: Table::read(reader, name, layout, with_outcome)? })
    }

    /// The file's name as messages show it.
    pub fn name(&self) -> &str {
        &self.table.name
    }

    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.table.rows.len()
    }

    /// The covariate columns' names: the layout's list, or every column without another role.
    pub fn covariate_names(&self) -> Result<Vec<String>> {
        Ok(self.table.covariate_columns()?.iter().map(|&j| self.table.header[j].clone()).collect())
    }

    /// The id column in use: the layout's, or `id` by default (see [`CsvLayout::id`]).
    pub fn id_column(&self) -> Option<&str> {
        self.table.id.as_deref()
    }

    /// An error at data row `row` (0-based, as [`crate::KeptRows`]'s `kept`) and `column`,
    /// naming the file, the row's line and the column: `FILE: line L, column `C`: MESSAGE`.
    /// Without such a column, the message names the file only.
    pub fn cell_error(&self, row: usize, column: &str, message: impl Into<String>) -> CoreError {
        let t = &self.table;
        match (t.rows.get(row), t.find(column)) {
            (Some((line, _)), Some(j)) => CoreError::Csv {
                file: t.name.clone(),
                line: *line,
                column: Some(t.header[j].clone()),
                message: message.into(),
            },
            _ => t.file_error(message.into()),
        }
    }

    /// The text labels of `column` in the data rows `rows` (0-based, e.g. [`crate::KeptRows`]'s
    /// `kept`), trimmed; an empty one is an error naming file, line and column, as in
    /// [`read_labels`]. An index past the last row is an error.
    pub fn labels(&self, column: &str, rows: &[usize]) -> Result<Vec<String>> {
        let t = &self.table;
        let j = t.required(column)?;
        rows.iter()
            .map(|&i| {
                let (line, fields) = t
                    .rows
                    .get(i)
                    .ok_or_else(|| CoreError::data(format!("row index {i} is out of range ({} rows)", t.rows.len())))?;
                let s = fields[j].trim();
                if s.is_empty() {
                    Err(t.cell_error(*line, j, s, "empty value (expected a label)".into()))
                } else {
                    Ok(s.to_string())
                }
            })
            .collect()
    }
}

/// Writes a dataset as CSV: `[id,]x1,…,xp,t,y[,mu0,mu1]`, atomically.
pub fn write_csv(path: impl AsRef<Path>, data: &CausalData) -> Result<()> {
    write_atomic(path, |w| write_csv_to(w, data))
}

/// Writes a dataset as CSV to any writer (see [`write_csv`] for the columns).
pub fn write_csv_to(writer: &mut dyn Write, data: &CausalData) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(writer);
    let mut header: Vec<&str> = Vec::new();
    if data.ids().is_some() {
        header.push("id");
    }
    header.extend(data.feature_names().iter().map(String::as_str));
    header.extend(["t", "y"]);
    if data.truth().is_some() {
        header.extend(["mu0", "mu1"]);
    }
    w.write_record(&header)?;
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    for i in 0..data.n() {
        row.clear();
        if let Some(ids) = data.ids() {
            row.push(ids[i].clone());
        }
        row.extend(data.x().row(i).iter().map(f64::to_string));
        row.push(data.t()[i].to_string());
        row.push(data.y()[i].to_string());
        if let Some(tr) = data.truth() {
            row.push(tr.mu0[i].to_string());
            row.push(tr.mu1[i].to_string());
        }
        w.write_record(&row)?;
    }
    w.flush()
}

/// Writes `path` through `fill`, via a temporary file in the same directory
/// that is renamed over `path` only when `fill` succeeds. A failure leaves no
/// file (and any previous `path` untouched).
pub fn write_atomic(path: impl AsRef<Path>, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // The pid in the name lets the `ite` program remove what a killed process left.
    let prefix = format!(".ite-tmp-{}-", std::process::id());
    let mut tmp = tempfile::Builder::new().prefix(&prefix).tempfile_in(dir).map_err(|e| CoreError::io(path, e))?;
    {
        let mut buf = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut buf).map_err(|e| CoreError::io(path, e))?;
        buf.flush().map_err(|e| CoreError::io(path, e))?;
    }
    tmp.as_file().sync_all().map_err(|e| CoreError::io(path, e))?;
    // Temporary files are private (0600); the output gets the permissions a plain create
    // would give: those of the file it replaces, else 0666 less the process umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(path) {
            Ok(m) => m.permissions().mode() & 0o7777,
            Err(_) => 0o666 & !current_umask(),
        };
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode)).map_err(|e| CoreError::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| CoreError::io(path, e.error))?;
    Ok(())
}

/// The process umask, read without changing it (from /proc; 0o022 where unavailable).
#[cfg(unix)]
fn current_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Umask:").and_then(|v| u32::from_str_radix(v.trim(), 8).ok()))
        })
        .unwrap_or(0o022)
}

pub(crate) fn open(path: &Path) -> Result<std::fs::File> {
    if path.is_dir() {
        return Err(CoreError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory, expected a CSV file"),
        ));
    }
    std::fs::File::open(path).map_err(|e| CoreError::io(path, e))
}

/// A parsed CSV file: header, rows as text, and the layout's column choices.
pub(crate) struct Table {
    pub(crate) name: String,
    pub(crate) layout: CsvLayout,
    pub(crate) header: Vec<String>,
    /// (1-based line, fields)
    pub(crate) rows: Vec<(u64, Vec<String>)>,
    /// Whether treatment/outcome were required (full data) or optional (covariates only).
    full: bool,
    /// The id column: the layout's, or `id` by default (see [`default_id`]).
    pub(crate) id: Option<String>,
}

/// The id column when the layout names none: a column named `id`, when the layout lists no
/// covariates and gives `id` no other role (treatment, outcome, `mu0`, `mu1`).
fn default_id(layout: &CsvLayout, header: &[String]) -> Option<String> {
    let taken = [&layout.treatment, &layout.outcome, &layout.mu0, &layout.mu1].iter().any(|c| c.as_str() == "id");
    (layout.id.is_none() && layout.covariates.is_none() && !taken && header.iter().any(|h| h == "id"))
        .then(|| "id".to_string())
}

impl Table {
    pub(crate) fn read(mut reader: impl Read, name: &str, layout: &CsvLayout, full: bool) -> Result<Self> {
        layout.validate()?;
        let file_err = |message: String| CoreError::CsvFile { file: name.to_string(), message };
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|e| CoreError::io(name, e))?;
        let lines = LineIndex::new(&bytes);
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(layout.delimiter)
            .has_headers(true)
            .flexible(false)
            .from_reader(bytes.as_slice());
        let header_rec = rdr.byte_headers().map_err(|e| csv_error(name, &lines, e))?.clone();
        let mut header = Vec::with_capacity(header_rec.len());
        for (j, field) in header_rec.iter().enumerate() {
            let s = std::str::from_utf8(field).map_err(|_| CoreError::Csv {
                file: name.to_string(),
                line: 1,
                column: Some(format!("#{}", j + 1)),
                message: "header is not valid UTF-8 text".into(),
            })?;
            let s = if j == 0 { s.trim_start_matches('\u{feff}') } else { s };
            header.push(s.trim().to_string());
        }
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(file_err("the file is empty (expected a header line of column names)".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for (j, h) in header.iter().enumerate() {
            if h.is_empty() {
                return Err(CoreError::Csv {
                    file: name.into(),
                    line: 1,
                    column: Some(format!("#{}", j + 1)),
                    message: "column name is empty".into(),
                });
            }
            if !seen.insert(h.as_str()) {
                return Err(CoreError::Csv {
                    file: name.into(),
                    line: 1,
                    column: Some(h.clone()),
                    message: "column name appears more than once".into(),
                });
            }
        }
        let mut rows = Vec::new();
        for rec in rdr.byte_records() {
            let rec = rec.map_err(|e| csv_error(name, &lines, e))?;
            let line = rec.position().map_or(0, |p| lines.line_of(p));
            let mut fields = Vec::with_capacity(rec.len());
            for (j, f) in rec.iter().enumerate() {
                let s = std::str::from_utf8(f).map_err(|_| CoreError::Csv {
                    file: name.into(),
                    line,
                    column: Some(header[j].clone()),
                    message: "value is not valid UTF-8 text".into(),
                })?;
                fields.push(s.to_string());
            }
            rows.push((line, fields));
        }
        if rows.is_empty() {
            return Err(file_err("no data rows after the header".into()));
        }
        let id = layout.id.clone().or_else(|| default_id(layout, &header));
        Ok(Table { name: name.into(), layout: layout.clone(), header, rows, full, id })
    }

    pub(crate) fn file_error(&self, message: String) -> CoreError {
        CoreError::CsvFile { file: self.name.clone(), message }
    }

    pub(crate) fn find(&self, col: &str) -> Option<usize> {
        self.header.iter().position(|h| h == col)
    }

    pub(crate) fn required(&self, col: &str) -> Result<usize> {
        self.find(col).ok_or_else(|| {
            let mut msg = format!("no column `{col}`; the header has [{}]", self.header.join(", "));
            if self.header.len() == 1 && self.header[0].contains([';', '\t', '|']) {
                msg.push_str(&format!(" — one column only: is the delimiter `{}`?", char::from(self.layout.delimiter)));
            }
            self.file_error(msg)
        })
    }

    pub(crate) fn column_values<T>(
        &self,
        j: usize,
        parse: fn(&str) -> std::result::Result<T, String>,
    ) -> Result<Vec<T>> {
        self.rows
            .iter()
            .map(|(line, fields)| parse(fields[j].trim()).map_err(|m| self.cell_error(*line, j, fields[j].trim(), m)))
            .collect()
    }

    fn covariates_truth_ids(&self) -> Result<(Covariates, Option<Truth>, Option<Vec<String>>)> {
        let (truth, ids) = (self.truth(None)?, self.ids()?);
        let cov_cols = self.covariate_columns()?;
        let mut values = Vec::with_capacity(self.rows.len() * cov_cols.len());
        for (line, fields) in &self.rows {
            for &j in &cov_cols {
                let v = parse_covariate(fields[j].trim(), &self.header[j])
                    .map_err(|m| self.cell_error(*line, j, fields[j].trim(), m))?;
                values.push(v);
            }
        }
        let names = cov_cols.iter().map(|&j| self.header[j].clone()).collect();
        let x = Covariates::new(values, names).map_err(|e| self.file_error(e.to_string()))?;
        Ok((x, truth, ids))
    }

    /// The true means of the data rows `rows` (0-based; `None`: every row), when the file has
    /// both `mu0` and `mu1` columns.
    pub(crate) fn truth(&self, rows: Option<&[usize]>) -> Result<Option<Truth>> {
        let l = &self.layout;
        let (m0, m1) = (self.find(&l.mu0), self.find(&l.mu1));
        let values = |j: usize| -> Result<Vec<f64>> {
            let Some(rows) = rows else { return self.column_values(j, parse_number) };
            rows.iter()
                .map(|&i| {
                    let (line, fields) = &self.rows[i];
                    let s = fields[j].trim();
                    parse_number(s).map_err(|m| self.cell_error(*line, j, s, m))
                })
                .collect()
        };
        let truth = match (m0, m1) {
            (Some(a), Some(b)) => Some(Truth { mu0: values(a)?, mu1: values(b)? }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(self.file_error(format!(
                    "column `{}` is present but `{}` is missing; give both or neither",
                    l.mu0, l.mu1
                )));
            }
            (None, Some(_)) => {
                return Err(self.file_error(format!(
                    "column `{}` is present but `{}` is missing; give both or neither",
                    l.mu1, l.mu0
                )));
            }
        };
        Ok(truth)
    }

    /// The ids of every row, when there is an id column (the layout's, or `id` by default).
    pub(crate) fn ids(&self) -> Result<Option<Vec<String>>> {
        Ok(match &self.id {
            Some(id) => {
                let j = self.required(id)?;
                Some(self.rows.iter().map(|(_, f)| f[j].clone()).collect())
            }
            None => None,
        })
    }

    /// The covariate columns of `expected` (by name, in its order), after checking that the
    /// file's covariates (the layout's list, or every column without another role) are exactly
    /// `expected`; `what` names where `expected` came from in the messages.
    pub(crate) fn match_covariates(&self, expected: &[String], what: &str) -> Result<Vec<usize>> {
        CsvLayout { covariates: Some(expected.to_vec()), ..self.layout.clone() }.validate()?;
        let have: Vec<String> = self.covariate_columns()?.iter().map(|&j| self.header[j].clone()).collect();
        if let Some(missing) = expected.iter().find(|e| !have.contains(e)) {
            return Err(self.file_error(format!(
                "no covariate column `{}`, which {what} needs; {what} has covariates [{}]",
                clip(missing),
                expected.join(", ")
            )));
        }
        if let Some(extra) = have.iter().find(|h| !expected.contains(h)) {
            return Err(self.file_error(format!(
                "column `{}` is not a covariate of {what}, which has [{}]; remove it or name the covariates with --covariates",
                clip(extra),
                expected.join(", ")
            )));
        }
        expected.iter().map(|e| self.required(e)).collect()
    }

    /// The covariate columns: the layout's list, or every column that has no other role.
    pub(crate) fn covariate_columns(&self) -> Result<Vec<usize>> {
        let l = &self.layout;
        let cov_cols: Vec<usize> = match &l.covariates {
            Some(names) => names.iter().map(|c| self.required(c)).collect::<Result<_>>()?,
            None => {
                let reserved = [
                    Some(&l.treatment),
                    Some(&l.outcome),
                    Some(&l.mu0),
                    Some(&l.mu1),
                    self.id.as_ref(),
                    l.cluster.as_ref(),
                ];
                (0..self.header.len()).filter(|&j| !reserved.iter().flatten().any(|r| **r == self.header[j])).collect()
            }
        };
        if cov_cols.is_empty() {
            return Err(self.file_error(format!(
                "no covariate columns: the header has [{}]{}",
                self.header.join(", "),
                if self.full { "" } else { " (treatment, outcome, mu0, mu1 and id are not covariates)" }
            )));
        }
        Ok(cov_cols)
    }

    /// An error at one cell; a long value is shown clipped (see [`clip`]).
    pub(crate) fn cell_error(&self, line: u64, j: usize, value: &str, message: String) -> CoreError {
        let mut message = message.replace(value, &clip(value));
        if value.contains('\n') {
            message.push_str(" (the value spans lines: is a quote `\"` left open?)");
        }
        CoreError::Csv { file: self.name.clone(), line, column: Some(self.header[j].clone()), message }
    }
}

/// How many characters of a value a message shows.
const CLIP_CHARS: usize = 40;

/// A value as messages show it, on one line: line ends as spaces, and past [`CLIP_CHARS`]
/// characters only the first ones and the length.
pub(crate) fn clip(value: &str) -> String {
    let n = value.chars().count();
    let shown: String =
        value.chars().take(CLIP_CHARS).collect::<String>().replace("\r\n", " ").replace(['\n', '\r'], " ");
    if n > CLIP_CHARS { format!("{shown}… ({n} characters)") } else { shown }
}

/// What a missing-value error adds: how to proceed without the value (a program that knows
/// `impute` is not available, as for a model fitted without it, can replace it).
pub const MISSING_HINT: &str =
    "a covariate's gaps can be imputed (--missing impute) and rows with gaps dropped (--missing drop)";

pub(crate) fn parse_number(s: &str) -> std::result::Result<f64, String> {
    if s.is_empty() {
        return Err(format!("empty value (expected a number); {MISSING_HINT}"));
    }
    if s == "NA" {
        return Err(format!("`NA` (a missing value) where a number is expected; {MISSING_HINT}"));
    }
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !v.is_finite() {
        return Err(format!("`{s}` is not a finite number"));
    }
    if v.abs() > MAX_MAGNITUDE {
        return Err(format!("`{s}` is too large (the limit is ±1e100, so that squares and sums stay finite)"));
    }
    Ok(v)
}

/// [`parse_number`] for a covariate value of column `column`: text that is not a number says
/// that a column of categories needs `--categorical`, and `NA` that it reads as missing with
/// `--missing drop` or `impute`.
pub(crate) fn parse_covariate(s: &str, column: &str) -> std::result::Result<f64, String> {
    parse_number(s).map_err(|m| {
        if s == "NA" {
            format!("{m} (read as a missing value with --missing drop or --missing impute)")
        } else if !s.is_empty() && !s.contains(['\n', '\r']) && s.parse::<f64>().is_err() {
            format!("{m}; if column `{0}` holds categories, pass --categorical {0}", clip(column))
        } else {
            m
        }
    })
}

/// The largest magnitude a number in a file may have: sums of squares of such values stay
/// finite in `f64`, which scaling and least squares need.
const MAX_MAGNITUDE: f64 = 1e100;

pub(crate) fn parse_treatment(s: &str) -> std::result::Result<u8, String> {
    match s.parse::<f64>() {
        Ok(0.0) => Ok(0),
        Ok(1.0) => Ok(1),
        _ if s.is_empty() => Err("empty value (expected treatment 0 or 1)".into()),
        _ => Err(format!("`{s}` is not a treatment value (expected 0 or 1)")),
    }
}

/// 1-based line numbers of byte offsets. The csv reader's own line count lags by one after a
/// CRLF line end (a record starts before its `\n` is counted), so lines are counted here.
struct LineIndex<'b> {
    bytes: &'b [u8],
    /// Byte offset of every `\n`.
    newlines: Vec<usize>,
}

impl<'b> LineIndex<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        LineIndex { bytes, newlines: bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect() }
    }

    /// The line of the first character of a record that the reader reports at `pos`: line-end
    /// bytes before it (a CRLF's `\n`, blank lines) belong to earlier lines.
    fn line_of(&self, pos: &csv::Position) -> u64 {
        let mut byte = usize::try_from(pos.byte()).unwrap_or(usize::MAX).min(self.bytes.len());
        while byte < self.bytes.len() && matches!(self.bytes[byte], b'\n' | b'\r') {
            byte += 1;
        }
        1 + self.newlines.partition_point(|&n| n < byte) as u64
    }

    /// Whether the text from `pos` to the end holds an odd number of quote characters.
    fn odd_quotes_from(&self, pos: &csv::Position) -> bool {
        let start = usize::try_from(pos.byte()).unwrap_or(usize::MAX).min(self.bytes.len());
        self.bytes[start..].iter().filter(|&&b| b == b'"').count() % 2 == 1
    }
}

fn csv_error(name: &str, lines: &LineIndex, e: csv::Error) -> CoreError {
    let line = e.position().map_or(0, |p| lines.line_of(p));
    match e.into_kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, pos } => CoreError::Csv {
            file: name.into(),
            line: pos.as_ref().map_or(line, |p| lines.line_of(p)),
            column: None,
            message: format!(
                "row has {len} fields but the header has {expected_len}{}",
                // An unclosed quote reads to the end of the file: an odd number of quotes from here on.
                if pos.is_some_and(|p| lines.odd_quotes_from(&p)) {
                    " (a quote `\"` on this line is never closed)"
                } else {
                    ""
                }
            ),
        },
        csv::ErrorKind::Io(err) => CoreError::io(name, err),
        other => CoreError::Csv { file: name.into(), line, column: None, message: format!("{other:?}") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<CausalData> {
        read_csv_from(s.as_bytes(), "in.csv", &CsvLayout::default())
    }

    fn err(s: &str) -> String {
        read(s).unwrap_err().to_string()
    }

    #[test]
    fn reads_default_layout_with_truth() {
        let d = read("a,t,b,y,mu0,mu1\n1,0,2,3.5,1,2\n4,1,5,6,0.5,2.5\n").unwrap();
        assert_eq!(d.feature_names(), &["a", "b"]);
        assert_eq!(d.x().values(), &[1., 2., 4., 5.]);
        assert_eq!(d.t(), &[0, 1]);
        assert_eq!(d.y(), &[3.5, 6.]);
        assert_eq!(d.truth().unwrap().ite(), vec![1., 2.]);
    }

    #[test]
    fn crlf_quotes_and_bom_are_valid() {
        let d = read("\u{feff}\"x 1\",\"t\",y\r\n\"1.5\",1,\"2\"\r\n2.5,0,3\r\n").unwrap();
        assert_eq!(d.feature_names(), &["x 1"]);
        assert_eq!(d.x().values(), &[1.5, 2.5]);
        assert_eq!(d.t(), &[1, 0]);
    }

    #[test]
    fn round_trip_is_exact() {
        let x = Covariates::new(vec![0.1, -1e-7, 3.4028235e38, 1.0 / 3.0], vec!["a,b".into(), "q\"x".into()]).unwrap();
        let truth = Truth { mu0: vec![0.2, 0.3], mu1: vec![1.0 / 7.0, -2.5] };
        let ids = Some(vec!["u1".to_string(), "u,2".to_string()]);
        let d = CausalData::from_parts(x, vec![1, 0], vec![std::f64::consts::PI, -0.0], Some(truth), ids).unwrap();
        let mut buf = Vec::new();
        write_csv_to(&mut buf, &d).unwrap();
        let layout = CsvLayout { id: Some("id".into()), ..CsvLayout::default() };
        let back = read_csv_from(buf.as_slice(), "mem", &layout).unwrap();
        assert_eq!(back, d);
        // CRLF version of the same bytes reads back identically.
        let crlf = String::from_utf8(buf).unwrap().replace('\n', "\r\n");
        assert_eq!(read_csv_from(crlf.as_bytes(), "mem", &layout).unwrap(), d);
    }

    #[test]
    fn file_round_trip_writes_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        let d = read("x,t,y\n1,0,2\n3,1,4\n").unwrap();
        write_csv(&path, &d).unwrap();
        assert_eq!(read_csv(&path, &CsvLayout::default()).unwrap(), d);
        // A failing writer leaves the old file untouched and no temporary behind.
        let r = write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(r.unwrap_err().to_string().contains("disk full"));
        assert_eq!(read_csv(&path, &CsvLayout::default()).unwrap(), d);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // The output is not left private like a temporary file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o666 & !current_umask(), "mode {mode:o}");
        }
        // Missing directory: an error naming the path, no file.
        let bad = dir.path().join("nope").join("d.csv");
        assert!(write_csv(&bad, &d).unwrap_err().to_string().contains("nope"));
        // A directory is not a CSV file.
        assert!(read_csv(dir.path(), &CsvLayout::default()).unwrap_err().to_string().contains("directory"));
    }

    #[test]
    fn overridden_columns() {
        let layout = CsvLayout {
            treatment: "treat".into(),
            outcome: "score".into(),
            covariates: Some(vec!["b".into(), "a".into()]),
            id: Some("pid".into()),
            ..CsvLayout::default()
        };
        let d = read_csv_from("pid,a,b,c,treat,score\np1,1,2,9,1,5\np2,3,4,9,0,6\n".as_bytes(), "f", &layout).unwrap();
        assert_eq!(d.feature_names(), &["b", "a"]);
        assert_eq!(d.x().values(), &[2., 1., 4., 3.]);
        assert_eq!(d.ids().unwrap(), &["p1", "p2"]);
        let semi = CsvLayout { delimiter: b';', ..CsvLayout::default() };
        assert_eq!(read_csv_from("x;t;y\n1;0;2\n".as_bytes(), "f", &semi).unwrap().n(), 1);
    }

    #[test]
    fn covariate_only_files() {
        let tab = read_covariates_csv_from("x1,x2,mu0,mu1\n1,2,0,1\n3,4,0,2\n".as_bytes(), "p", &CsvLayout::default())
            .unwrap();
        assert_eq!(tab.x.names(), &["x1", "x2"]);
        assert_eq!(tab.truth.unwrap().ite(), vec![1., 2.]);
        // treatment and outcome, when present, are not covariates
        let tab = read_covariates_csv_from("x1,t,y\n1,0,2\n".as_bytes(), "p", &CsvLayout::default()).unwrap();
        assert_eq!(tab.x.names(), &["x1"]);
    }

    #[test]
    fn each_error_names_line_and_column() {
        let cases: &[(&str, &str)] = &[
            ("", "in.csv: the file is empty"),
            ("x,t,y\n", "in.csv: no data rows"),
            ("x,y\n1,2\n", "no column `t`; the header has [x, y]"),
            ("x;t;y\n1;0;2\n", "is the delimiter `,`?"),
            ("x,x,t,y\n1,1,0,2\n", "line 1, column `x`: column name appears more than once"),
            ("x,,t,y\n1,1,0,2\n", "line 1, column `#2`: column name is empty"),
            ("x,t,y\n1,0,2\n1,0\n", "in.csv: line 3: row has 2 fields but the header has 3"),
            ("x,t,y\n1,0,2\nabc,1,2\n", "in.csv: line 3, column `x`: `abc` is not a number"),
            ("x,t,y\n1,0,2\n1,1,NaN\n", "line 3, column `y`: `NaN` is not a finite number"),
            ("x,t,y\n1,0,2\ninf,1,2\n", "line 3, column `x`: `inf` is not a finite number"),
            ("x,t,y\n1,0,2\n1,1,\n", "line 3, column `y`: empty value"),
            ("x,t,y\n1,0,2\n1,2,3\n", "line 3, column `t`: `2` is not a treatment value (expected 0 or 1)"),
            ("x,t,y\n1,0,2\n1e101,1,3\n", "line 3, column `x`: `1e101` is too large"),
            ("x,t,y\n1,0,2\n1,1,1e309\n", "line 3, column `y`: `1e309` is not a finite number"),
            ("x,t,y,mu0\n1,0,2,1\n", "column `mu0` is present but `mu1` is missing"),
            ("t,y\n0,2\n", "no covariate columns"),
            // quoted field spanning lines: line numbers follow the file
            (
                "x,t,y\n\"1\",0,2\n\"a\nb\",1,2\n",
                "line 3, column `x`: `a b` is not a number (the value spans lines: is a quote `\"` left open?)",
            ),
        ];
        for (input, want) in cases {
            let e = err(input);
            assert!(e.contains(want), "input {input:?}: got {e:?}, want {want:?}");
        }
        let bytes = b"x,t,y\n1,0,2\n\xff,1,2\n";
        let e = read_csv_from(&bytes[..], "in.csv", &CsvLayout::default()).unwrap_err().to_string();
        assert!(e.contains("line 3, column `x`: value is not valid UTF-8"), "{e}");
    }

    #[test]
    fn crlf_lines_are_the_file_lines() {
        // `abc` sits on file line 6, in LF and CRLF files alike, with or without quotes.
        let lf = "x,t,y\n1,0,2\n1,1,2\n2,0,3\n2,1,3\nabc,0,1\n";
        for input in [lf.to_string(), lf.replace('\n', "\r\n"), lf.replace("abc", "\"abc\"").replace('\n', "\r\n")] {
            assert!(
                err(&input).contains("in.csv: line 6, column `x`: `abc` is not a number"),
                "{input:?}: {}",
                err(&input)
            );
        }
        // blank lines and a quoted field spanning lines keep the count right in CRLF files
        let e = err("x,t,y\r\n\r\n\"1\r\n\",0,2\r\n\r\n1,1,z\r\n");
        assert!(e.contains("line 6, column `y`: `z` is not a number"), "{e}");
        // row-length errors too
        let e = err("x,t,y\r\n1,0,2\r\n1,0,2\r\n1,0\r\n");
        assert!(e.contains("line 4: row has 2 fields"), "{e}");
    }

    #[test]
    fn column_roles_are_exclusive() {
        let data = "x1,x2,t,y,mu0,mu1,pid\n1,2,0,1,0,1,a\n3,4,1,2,0,1,b\n";
        let cases: Vec<(CsvLayout, &str)> = vec![
            (
                CsvLayout { covariates: Some(vec!["x1".into(), "y".into()]), ..CsvLayout::default() },
                "column `y` is both the outcome and a covariate",
            ),
            (
                CsvLayout { covariates: Some(vec!["x1".into(), "t".into()]), ..CsvLayout::default() },
                "column `t` is both the treatment and a covariate",
            ),
            (
                CsvLayout { covariates: Some(vec!["x1".into(), "mu1".into()]), ..CsvLayout::default() },
                "column `mu1` is both the true treated mean (mu1) and a covariate",
            ),
            (
                CsvLayout { covariates: Some(vec!["x1".into(), "x1".into()]), ..CsvLayout::default() },
                "column `x1` is listed twice as a covariate",
            ),
            (
                CsvLayout { outcome: "t".into(), ..CsvLayout::default() },
                "column `t` is both the treatment and the outcome",
            ),
            (
                CsvLayout { outcome: "mu0".into(), ..CsvLayout::default() },
                "column `mu0` is both the outcome and the true control mean (mu0)",
            ),
            (CsvLayout { id: Some("t".into()), ..CsvLayout::default() }, "column `t` is both the treatment and the id"),
            (
                CsvLayout { id: Some("pid".into()), covariates: Some(vec!["pid".into()]), ..CsvLayout::default() },
                "column `pid` is both the id and a covariate",
            ),
        ];
        for (layout, want) in cases {
            let e = read_csv_from(data.as_bytes(), "in.csv", &layout).unwrap_err().to_string();
            assert!(e.contains(want), "{layout:?}: {e}");
            let e = read_covariates_csv_from(data.as_bytes(), "in.csv", &layout).unwrap_err().to_string();
            assert!(e.contains(want), "{layout:?}: {e}");
        }
        let ok = CsvLayout {
            id: Some("pid".into()),
            covariates: Some(vec!["x2".into(), "x1".into()]),
            ..CsvLayout::default()
        };
        assert!(read_csv_from(data.as_bytes(), "in.csv", &ok).is_ok());
    }

    #[test]
    fn the_cluster_column_has_its_own_role() {
        let text = "pid,g,x1,t,y\np1,a,1,0,2\np1,a,2,1,3\np2,b,3,0,4\n";
        let layout = CsvLayout { cluster: Some("g".into()), id: Some("pid".into()), ..CsvLayout::default() };
        let d = read_csv_from(text.as_bytes(), "f.csv", &layout).unwrap();
        assert_eq!(d.feature_names(), &["x1"], "the cluster column is not a covariate");
        assert_eq!(read_labels_from(text.as_bytes(), "f.csv", &layout, "g").unwrap(), ["a", "a", "b"]);
        // the cluster may be the id column (repeated rows of a unit), nothing else
        let by_id = CsvLayout { cluster: Some("pid".into()), id: Some("pid".into()), ..CsvLayout::default() };
        assert!(by_id.validate().is_ok());
        for (layout, want) in [
            (
                CsvLayout { cluster: Some("t".into()), ..CsvLayout::default() },
                "column `t` is both the treatment and the cluster",
            ),
            (
                CsvLayout { cluster: Some("y".into()), ..CsvLayout::default() },
                "column `y` is both the outcome and the cluster",
            ),
            (
                CsvLayout { cluster: Some("x1".into()), covariates: Some(vec!["x1".into()]), ..CsvLayout::default() },
                "column `x1` is both the cluster and a covariate",
            ),
        ] {
            let e = layout.validate().unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        let e = read_labels_from("g,x1,t,y\n,1,0,2\n".as_bytes(), "f.csv", &layout, "g").unwrap_err().to_string();
        assert!(e.contains("f.csv: line 2, column `g`: empty value (expected a label)"), "{e}");
        let e = read_labels_from("x1,t,y\n1,0,2\n".as_bytes(), "f.csv", &layout, "g").unwrap_err().to_string();
        assert!(e.contains("f.csv: no column `g`"), "{e}");
    }

    #[test]
    fn covariates_match_by_name() {
        let want = ["x1".to_string(), "x2".to_string()];
        let read = |s: &str| {
            read_covariates_csv_matching_from(s.as_bytes(), "p.csv", &CsvLayout::default(), &want, "the model")
        };
        let tab = read("x2,x1,t\n2,1,0\n4,3,1\n").unwrap();
        assert_eq!(tab.x.names(), &want);
        assert_eq!(tab.x.values(), &[1., 2., 3., 4.]);
        let e = read("x2,t\n2,0\n").unwrap_err().to_string();
        assert!(e.contains("p.csv: no covariate column `x1`, which the model needs"), "{e}");
        let e = read("x2,x1,x3\n2,1,0\n").unwrap_err().to_string();
        assert!(e.contains("p.csv: column `x3` is not a covariate of the model"), "{e}");
        // an explicit covariate list in another order is matched too
        let layout = CsvLayout { covariates: Some(vec!["x2".into(), "x1".into()]), ..CsvLayout::default() };
        let tab =
            read_covariates_csv_matching_from("x1,x2,z\n1,2,9\n".as_bytes(), "p.csv", &layout, &want, "m").unwrap();
        assert_eq!(tab.x.values(), &[1., 2.]);
    }

    #[test]
    fn long_values_are_clipped_in_messages() {
        let long = "z".repeat(5000);
        let e = err(&format!("x,t,y\n1,0,2\n{long},1,2\n"));
        assert!(e.contains("line 3, column `x`: `zzzz") && e.contains("… (5000 characters)` is not a number"), "{e}");
        assert!(e.len() < 200, "{e}");
        // an unclosed quote reads to the end of the file: the message says so, on one line
        let e = err("x,t,y\n1,0,2\n\"1,1,2\n3,0,1\n");
        assert!(
            e.contains("line 3: row has 1 fields but the header has 3 (a quote `\"` on this line is never closed)"),
            "{e}"
        );
        let e = err("x,t,y\r\n1,0,2\r\n1,0,\"2\r\n3,0,1\r\n");
        assert!(e.contains("line 3, column `y`: `2 3,0,1` is not a number (the value spans lines"), "{e}");
    }
}

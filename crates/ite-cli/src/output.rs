//! Output shared by `ite fit`, `ite predict` and `ite transfer`: `predictions.csv`, `summary.json`,
//! an output directory that appears only once the work succeeded, progress spinners on stderr
//! and the final report on stdout (JSON with `--json`, plain lines otherwise).
//!
//! What every writing command guarantees about files: an output is never one of the command's
//! inputs (nor, for a directory, contains one); an output directory is replaced only when it
//! is empty, absent or an earlier output of ite (marked by [`MANIFEST`]) unless `--force` is
//! given; the replacement is all-or-nothing; temporary entries are removed on SIGINT/SIGTERM
//! and, when a process died without removing them, by the next run.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ite_core::{PotentialOutcomes, Truth};
use ite_eval::effect_metrics;
use ite_inference::Estimate;
use serde_json::{Value, json};

/// Checks, before any work starts, that `out` can become an output directory: it is not a file
/// and its parent directory exists. `flag` names the option in messages.
pub fn check_out_dir(out: &Path, flag: &str) -> Result<()> {
    if out.is_file() {
        bail!("{flag} {}: is a file, expected a directory", out.display());
    }
    let parent = parent_of(out);
    if !parent.is_dir() {
        bail!("{flag} {}: the parent directory {} does not exist", out.display(), parent.display());
    }
    Ok(())
}

/// Checks, before any work starts, that `out` can become an output file: it is not a directory
/// and its parent directory exists.
pub fn check_out_file(out: &Path, flag: &str) -> Result<()> {
    if out.is_dir() {
        bail!("{flag} {}: is a directory, expected a file name", out.display());
    }
    let parent = parent_of(out);
    if !parent.is_dir() {
        bail!("{flag} {}: the directory {} does not exist", out.display(), parent.display());
    }
    Ok(())
}

/// The directory holding `p` (`.` for a bare name).
pub fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The file that marks a directory as an output of ite: it lists every file ite wrote there, so
/// that a later run recognises the directory as one it may replace.
pub const MANIFEST: &str = ".ite-output.json";

/// How temporary files and directories of ite start: `.ite-tmp-PID-`, PID of the process that
/// made them, so that those of a dead process can be recognised and removed.
const TMP_PREFIX: &str = ".ite-tmp-";

/// An output directory that `ite fit` / `ite transfer` replace as a whole.
#[derive(Debug)]
pub struct OutDir<'a> {
    /// The directory.
    pub path: &'a Path,
    /// The option that named it, for messages.
    pub flag: &'a str,
    /// Replace a non-empty directory that ite did not write (`--force`).
    pub force: bool,
    /// The command's inputs (option, path), none of which the output may be or contain.
    pub inputs: &'a [(&'a str, &'a Path)],
}

impl OutDir<'_> {
    /// Checks, before any work starts, that the directory can be written: not a file, its
    /// parent exists, it neither is nor contains an input, and it is empty, absent, an earlier
    /// output of ite or `--force` was given. Removes temporary entries left by dead processes
    /// beside it and arranges that this process's are removed on SIGINT/SIGTERM.
    pub fn check(&self) -> Result<()> {
        check_out_dir(self.path, self.flag)?;
        guard_temps(&parent_of(self.path));
        check_dir_not_input(self.path, self.flag, self.inputs)?;
        if !self.force {
            check_replaceable(self.path, self.flag)?;
        }
        Ok(())
    }

    /// Writes the directory through `fill`, which writes into a temporary directory beside it.
    /// Only when `fill` succeeds does the finished directory take the place of the old one, in
    /// one atomic exchange (Linux; two renames elsewhere), so an interruption at any instant
    /// leaves the old directory or the new one, never a mix. `command` goes into the manifest.
    pub fn write(&self, command: &str, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        self.check()?;
        let (flag, out) = (self.flag, self.path);
        let parent = parent_of(out);
        let staging = tempfile::Builder::new()
            .prefix(&own_prefix())
            .tempdir_in(&parent)
            .with_context(|| format!("{flag} {}: cannot create a directory in {}", out.display(), parent.display()))?;
        fill(staging.path())?;
        write_manifest(staging.path(), command)?;
        if !out.exists() {
            let _commit = commit_lock();
            let path = staging.keep();
            std::fs::rename(&path, out).with_context(|| format!("{flag} {}", out.display()))?;
            return Ok(());
        }
        {
            let _commit = commit_lock();
            exchange(staging.path(), out).with_context(|| format!("{flag} {}: replacing it", out.display()))?;
        }
        // The temporary name now holds the old directory.
        staging.close().with_context(|| format!("{flag} {}: removing the replaced directory", out.display()))?;
        Ok(())
    }
}

/// Refuses when an output file `out` is one of the command's inputs (same device and inode, so
/// links count), or lies, existing, inside an input directory.
pub fn check_file_not_input(out: &Path, flag: &str, inputs: &[(&str, &Path)]) -> Result<()> {
    for (iflag, input) in inputs {
        if same_file(out, input) {
            bail!(
                "{flag} {} is the same file as the input {iflag} {}: ite never overwrites an input; choose another {flag}",
                out.display(),
                input.display()
            );
        }
        if input.is_dir() && out.exists() && inside(out, input) {
            bail!(
                "{flag} {} is a file inside the input {iflag} {}: ite never overwrites an input; choose another {flag}",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}

/// Refuses when an output directory `out` is one of the command's inputs or contains one.
pub fn check_dir_not_input(out: &Path, flag: &str, inputs: &[(&str, &Path)]) -> Result<()> {
    for (iflag, input) in inputs {
        if same_file(out, input) {
            bail!(
                "{flag} {} is the input {iflag} {}: ite never overwrites an input; choose another {flag}",
                out.display(),
                input.display()
            );
        }
        if out.exists() && inside(input, out) {
            bail!(
                "{flag} {} contains the input {iflag} {}: replacing it would delete the input; choose another {flag}",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}

/// Refuses a non-empty directory that is not an earlier output of ite, or that holds files
/// ite did not write (files not in its manifest).
fn check_replaceable(out: &Path, flag: &str) -> Result<()> {
    if !out.is_dir() {
        return Ok(());
    }
    let found = files_under(out).with_context(|| format!("{flag} {}: cannot read it", out.display()))?;
    if found.is_empty() && std::fs::read_dir(out).map(|mut d| d.next().is_none()).unwrap_or(false) {
        return Ok(());
    }
    let listed = match read_manifest(&out.join(MANIFEST)) {
        Some(files) => files,
        None => bail!(
            "{flag} {}: the directory is not empty and was not written by ite (no {MANIFEST}); ite never deletes \
             files it did not write: choose an empty or new directory, or pass --force to replace it and all it holds",
            out.display()
        ),
    };
    if let Some(foreign) = found.iter().find(|f| f.as_str() != MANIFEST && !listed.contains(f)) {
        bail!(
            "{flag} {}: holds {foreign}, which ite did not write; ite never deletes files it did not write: move it \
             away, choose another directory, or pass --force to replace the directory and all it holds",
            out.display()
        );
    }
    Ok(())
}

/// The files (relative paths with `/`, sorted) under `dir`, recursively; a symbolic link is
/// listed like a file, not followed.
fn files_under(dir: &Path) -> std::io::Result<Vec<String>> {
    fn walk(base: &Path, dir: &Path, acc: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(base, &path, acc)?;
            } else if let Ok(rel) = path.strip_prefix(base) {
                let parts: Vec<String> =
                    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                acc.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut acc = Vec::new();
    walk(dir, dir, &mut acc)?;
    acc.sort();
    Ok(acc)
}

fn write_manifest(dir: &Path, command: &str) -> Result<()> {
    let files: Vec<String> = files_under(dir)?.into_iter().filter(|f| f != MANIFEST).collect();
    let value = json!({
        "written_by": format!("ite {command}"),
        "version": env!("CARGO_PKG_VERSION"),
        "files": files,
    });
    write_json(&dir.join(MANIFEST), &value)
}

fn read_manifest(path: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    value["files"].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
}

/// Whether `a` and `b` name the same existing file or directory.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// Whether existing `path` lies inside (or is) existing directory `dir`, links resolved.
fn inside(path: &Path, dir: &Path) -> bool {
    matches!((path.canonicalize(), dir.canonicalize()), (Ok(p), Ok(d)) if p.starts_with(&d))
}

/// Swaps `staging` and `out` (both directories) atomically where the system can.
fn exchange(staging: &Path, out: &Path) -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, staging, CWD, out, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    // No atomic exchange here: out moves aside (under a temporary name), staging takes its
    // place, and the old directory takes the staging name, to be removed.
    let aside = parent_of(out).join(format!("{}old-{}", own_prefix(), std::process::id()));
    std::fs::rename(out, &aside)?;
    std::fs::rename(staging, out)?;
    std::fs::rename(&aside, staging)
}

fn own_prefix() -> String {
    format!("{TMP_PREFIX}{}-", std::process::id())
}

/// The directories where this process makes temporary entries (removed on SIGINT/SIGTERM).
static TEMP_PARENTS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
/// Held while a finished output takes its place, so that a signal never interrupts it.
static COMMIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn commit_lock() -> std::sync::MutexGuard<'static, ()> {
    COMMIT.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes temporary entries that dead ite processes left in `dir`, and arranges that this
/// process's temporary entries in `dir` are removed if it is interrupted (SIGINT, SIGTERM).
pub fn guard_temps(dir: &Path) {
    remove_stale_temps(dir);
    static HANDLER: std::sync::Once = std::sync::Once::new();
    HANDLER.call_once(|| {
        // Without a handler (one is already set) an interruption leaves temporary entries
        // that the next run removes.
        let _ = ctrlc::set_handler(|| {
            let _commit = commit_lock();
            remove_own_temps();
            std::process::exit(130);
        });
    });
    let mut dirs = TEMP_PARENTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !dirs.iter().any(|d| d == dir) {
        dirs.push(dir.to_path_buf());
    }
}

fn remove_own_temps() {
    let own = own_prefix();
    let dirs = TEMP_PARENTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for dir in dirs.iter() {
        remove_temps(dir, |name| name.starts_with(&own));
    }
}

fn remove_stale_temps(dir: &Path) {
    let me = std::process::id();
    remove_temps(dir, |name| match temp_pid(name) {
        Some(pid) => pid != me && !process_alive(pid),
        None => false,
    });
}

/// The pid in a temporary name `.ite-tmp-PID-…`.
fn temp_pid(name: &str) -> Option<u32> {
    name.strip_prefix(TMP_PREFIX)?.split('-').next()?.parse().ok()
}

fn remove_temps(dir: &Path, pick: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !pick(&name.to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let _ = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
    }
}

/// Whether process `pid` runs (Linux: /proc/PID exists; elsewhere assumed, so nothing is removed).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") { Path::new("/proc").join(pid.to_string()).exists() } else { true }
}

/// Writes `[id,]mu0,mu1,ite[,ite_lower,ite_upper]`, one row per unit, atomically (the interval
/// columns when per-unit ITE intervals are given).
pub fn write_predictions(
    path: &Path,
    pred: &PotentialOutcomes,
    ids: Option<&[String]>,
    intervals: Option<&ite_inference::ConformalIntervals>,
) -> Result<()> {
    let ite = pred.ite();
    ite_core::write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let mut header = vec!["mu0", "mu1", "ite"];
        if ids.is_some() {
            header.insert(0, "id");
        }
        if intervals.is_some() {
            header.extend(["ite_lower", "ite_upper"]);
        }
        csv.write_record(&header)?;
        for i in 0..ite.len() {
            let mut row = vec![pred.mu0[i].to_string(), pred.mu1[i].to_string(), ite[i].to_string()];
            if let Some(ids) = ids {
                row.insert(0, ids[i].clone());
            }
            if let Some(c) = intervals {
                row.extend([c.lower[i].to_string(), c.upper[i].to_string()]);
            }
            csv.write_record(&row)?;
        }
        csv.flush()
    })?;
    Ok(())
}

/// Writes `value` as pretty JSON with a final newline, atomically.
pub fn write_json(path: &Path, value: &Value) -> Result<()> {
    ite_core::write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    Ok(())
}

/// Why the model-based mean ITE of `ite fit` / `ite transfer` has no interval.
pub const PLUGIN_NO_INTERVAL: &str = "no interval without --bootstrap B (refit bootstrap)";

/// The model-based part of a summary, over the predicted rows: `ate_plugin` (the mean
/// predicted ITE, without an interval: one model's predictions carry neither outcome noise nor
/// fitting error; `why` says so) and, when `truth` is known, `pehe` (ε_PEHE, the mean square),
/// `sqrt_pehe`, `ate_bias` (of `ate_plugin`) and `ate_true_predicted` (the true mean ITE of the
/// predicted rows).
pub fn plugin_summary(pred: &PotentialOutcomes, truth: Option<&Truth>, level: f64, why: &str) -> Result<Value> {
    let estimate = Estimate::without_interval(pred.ate(), level, "plugin", why);
    let mut v = json!({ "ate_plugin": estimate });
    if let Some(truth) = truth {
        let m = effect_metrics(pred, truth)?;
        v["pehe"] = json!(m.pehe);
        v["sqrt_pehe"] = json!(m.sqrt_pehe);
        v["ate_bias"] = json!(m.ate_bias);
        v["ate_true_predicted"] = json!(m.ate_true);
    }
    Ok(v)
}

/// The plain line of [`plugin_summary`]: the mean predicted ITE and what it is.
pub fn plugin_line(summary: &Value) -> String {
    let est = summary["ate_plugin"]["estimate"].as_f64().unwrap_or(f64::NAN);
    let n = summary["n_predicted"].as_u64().unwrap_or(0);
    let reference = summary["ate"]["se"].as_f64().unwrap_or(est.abs());
    let d = crate::inference::decimals(reference);
    let plugin = &summary["ate_plugin"];
    let mut s = match (plugin["lower"].as_f64(), plugin["upper"].as_f64()) {
        (Some(lo), Some(hi)) => format!(
            "ATE plug-in {est:.d$}, {} interval [{lo:.d$}, {hi:.d$}]: mean predicted ITE over the {n} predicted rows \
             (model-based; refit-bootstrap percentile interval)",
            crate::inference::percent(plugin["level"].as_f64().unwrap_or(0.95))
        ),
        _ => {
            format!("ATE plug-in {est:.d$}: mean predicted ITE over the {n} predicted rows (model-based, no interval)")
        }
    };
    if let (Some(p), Some(b)) = (summary["pehe"].as_f64(), summary["ate_bias"].as_f64()) {
        s.push_str(&format!("; ε_PEHE {p:.4}, plug-in ATE bias {b:+.4}"));
    }
    s
}

/// Merges the keys of `extra` (an object) into `base` (an object).
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
}

/// What a subcommand shows: spinners for its phases on stderr (unless quiet) and its final
/// report on stdout.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// The subcommand's name, for plain progress lines.
    pub command: &'static str,
    /// No progress on stderr.
    pub quiet: bool,
    /// The report on stdout is one JSON object.
    pub json: bool,
}

impl Ui {
    /// The reporter for `command` with the user's `--quiet` / `--json` choices.
    pub fn new(command: &'static str, report: &crate::args::ReportArgs) -> Self {
        Ui { command, quiet: report.quiet, json: report.json }
    }
}

/// One running phase; call [`Phase::done`] when it ends (a dropped phase just disappears).
pub struct Phase {
    bar: ProgressBar,
    msg: String,
    start: Instant,
}

impl Ui {
    /// Starts a phase: a spinner with `msg` when stderr is a terminal, a plain line otherwise.
    pub fn phase(&self, msg: impl Into<String>) -> Phase {
        let msg = msg.into();
        let bar = if self.quiet {
            ProgressBar::hidden()
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed}] {msg}") {
                bar.set_style(style);
            }
            bar.set_message(msg.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            eprintln!("[ite {}] {msg} …", self.command);
            ProgressBar::hidden()
        };
        Phase { bar, msg, start: Instant::now() }
    }

    /// A plain note on stderr (unless quiet).
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("[ite {}] {msg}", self.command);
        }
    }

    /// Each warning as one line `warning: …` on stderr, unless quiet (they stay in summary.json).
    pub fn warn(&self, warnings: &[String]) {
        if !self.quiet {
            for w in warnings {
                eprintln!("warning: {w}");
            }
        }
    }

    /// Prints the report: `json` as one line with `--json`, else the `human` lines.
    pub fn report(&self, json: &Value, human: &[String]) -> Result<()> {
        if self.json {
            outln!("{}", serde_json::to_string(json)?)?;
        } else {
            for line in human {
                outln!("{line}")?;
            }
        }
        Ok(())
    }
}

impl Phase {
    /// Shows `done` of `total` steps next to the phase's message (on a terminal; nothing
    /// otherwise, where the phase's start line says what runs).
    pub fn set_progress(&self, done: usize, total: usize) {
        if !self.bar.is_hidden() {
            self.bar.set_message(format!("{} ({done}/{total})", self.msg));
        }
    }

    /// Ends the phase, leaving a line with its duration (on a terminal).
    pub fn done(self) {
        if !self.bar.is_hidden() {
            self.bar.finish_with_message(format!("{} — done in {:.1}s", self.msg, self.start.elapsed().as_secs_f64()));
        }
    }
}

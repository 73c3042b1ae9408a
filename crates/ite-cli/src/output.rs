//! Output shared by `ite fit`, `ite predict` and `ite transfer`: `predictions.csv`, `summary.json`,
//! an output directory that appears only once the work succeeded, progress spinners on stderr
//! and the final report on stdout (JSON with `--json`, plain lines otherwise).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ite_core::{PotentialOutcomes, Seed, Truth};
use ite_eval::{BootstrapParams, ate_interval, effect_metrics};
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

fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes the output directory `out` through `fill`, which writes into a hidden staging
/// directory beside `out`. Only when `fill` succeeds does the staging directory become `out`
/// (one rename) or, when `out` already exists, do its entries replace their namesakes in `out`.
/// A failure leaves neither `out` nor the staging directory behind.
pub fn write_out_dir(out: &Path, flag: &str, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    check_out_dir(out, flag)?;
    let parent = parent_of(out);
    let staging = tempfile::Builder::new()
        .prefix(".ite-tmp-")
        .tempdir_in(&parent)
        .with_context(|| format!("{flag} {}: cannot create a directory in {}", out.display(), parent.display()))?;
    fill(staging.path())?;
    if !out.exists() {
        let path = staging.keep();
        std::fs::rename(&path, out).with_context(|| format!("{flag} {}", out.display()))?;
        return Ok(());
    }
    for entry in std::fs::read_dir(staging.path()).with_context(|| format!("{flag} {}", out.display()))? {
        let entry = entry?;
        let dest = out.join(entry.file_name());
        if dest.is_dir() {
            std::fs::remove_dir_all(&dest).with_context(|| format!("replacing {}", dest.display()))?;
        }
        std::fs::rename(entry.path(), &dest).with_context(|| format!("writing {}", dest.display()))?;
    }
    Ok(())
}

/// Writes `[id,]mu0,mu1,ite`, one row per unit, atomically.
pub fn write_predictions(path: &Path, pred: &PotentialOutcomes, ids: Option<&[String]>) -> Result<()> {
    let ite = pred.ite();
    ite_core::write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let mut header = vec!["mu0", "mu1", "ite"];
        if ids.is_some() {
            header.insert(0, "id");
        }
        csv.write_record(&header)?;
        for i in 0..ite.len() {
            let mut row = vec![pred.mu0[i].to_string(), pred.mu1[i].to_string(), ite[i].to_string()];
            if let Some(ids) = ids {
                row.insert(0, ids[i].clone());
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

/// The effect part of a summary: `ate` (mean predicted ITE with a bootstrap 95% interval,
/// resampling within the arms given by `t`) and, when `truth` is known, `pehe` (ε_PEHE, the
/// mean square), `sqrt_pehe`, `ate_bias`, `ate_true`.
pub fn effect_summary(pred: &PotentialOutcomes, t: &[u8], truth: Option<&Truth>, seed: Seed) -> Result<Value> {
    let ite = pred.ite();
    let ci = ate_interval(&ite, t, &BootstrapParams::default(), seed)?;
    let mut v = json!({
        "ate": { "estimate": ci.estimate, "lower": ci.lower, "upper": ci.upper, "level": ci.level },
    });
    // Resampling an arm of one unit always draws that unit: no interval, say why.
    let arms = [("control", t.iter().filter(|&&a| a == 0).count()), ("treated", t.iter().filter(|&&a| a == 1).count())];
    if let Some((arm, _)) = arms.iter().find(|(_, n)| *n == 1) {
        let why = if arms.iter().all(|(_, n)| *n > 0) {
            format!("the {arm} arm has 1 unit; a bootstrap interval needs at least 2 per arm")
        } else {
            "1 unit only; a bootstrap interval needs at least 2".to_string()
        };
        v["ate"]["lower"] = Value::Null;
        v["ate"]["upper"] = Value::Null;
        v["ate"]["interval_undefined"] = json!(why);
    }
    if let Some(truth) = truth {
        let m = effect_metrics(pred, truth)?;
        v["pehe"] = json!(m.pehe);
        v["sqrt_pehe"] = json!(m.sqrt_pehe);
        v["ate_bias"] = json!(m.ate_bias);
        v["ate_true"] = json!(m.ate_true);
    }
    Ok(v)
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
    /// Ends the phase, leaving a line with its duration (on a terminal).
    pub fn done(self) {
        if !self.bar.is_hidden() {
            self.bar.finish_with_message(format!("{} — done in {:.1}s", self.msg, self.start.elapsed().as_secs_f64()));
        }
    }
}

/// One human line for an ATE interval in a summary made by [`effect_summary`].
pub fn ate_line(summary: &Value) -> String {
    let a = &summary["ate"];
    let f = |k: &str| a[k].as_f64().unwrap_or(f64::NAN);
    let mut s = match a["interval_undefined"].as_str() {
        Some(why) => format!("ATE (mean ITE) {:.4}  95% interval undefined: {why}", f("estimate")),
        None => format!("ATE (mean ITE) {:.4}  95% interval [{:.4}, {:.4}]", f("estimate"), f("lower"), f("upper")),
    };
    if let (Some(p), Some(b)) = (summary["pehe"].as_f64(), summary["ate_bias"].as_f64()) {
        s.push_str(&format!("; ε_PEHE {p:.4}, ATE bias {b:+.4}"));
    }
    s
}

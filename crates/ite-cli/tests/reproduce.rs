//! End-to-end tests of `ite reproduce` and `ite merge` on a tiny grid (few units, two epochs),
//! driving the built binary: three shards run as separate processes and merged equal one run row
//! for row (what docs/cluster.md does on Slurm); a run killed midway and restarted ends with
//! each task exactly once; `--jobs 1` and `--jobs 2` give the same rows; a directory of other
//! parameters is refused; the Slurm array variables choose the shard; `--intervals` fills the
//! AIPW columns and the summary's coverage, resumes, and never mixes with a run without it;
//! `--methods ...,auto` adds the selection methods' rows, selection.csv and cita.csv;
//! `--protocol study` warns on stderr (even with `--quiet`), records the protocol and the
//! warning in run.json, and never resumes into a clean run's directory.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::grid::{GRID, TINY, command as ite, ok_output as ok};
use ite_eval::{ResultRow, read_results};

mod common;

fn reproduce(out: &Path, extra: &[&str]) -> Output {
    let o = out.to_str().unwrap();
    ok(&[&["reproduce", "sim1", "--no-figures", "--quiet", "--out", o][..], &TINY, extra].concat())
}

fn values(dir: &Path) -> Vec<ResultRow> {
    let mut v: Vec<ResultRow> =
        read_results(&dir.join("results.csv")).unwrap().into_iter().map(|r| r.without_timings()).collect();
    v.sort_by_key(ResultRow::key);
    v
}

fn assert_each_task_once(rows: &[ResultRow], n: usize) {
    let keys: HashSet<_> = rows.iter().map(ResultRow::key).collect();
    assert_eq!(keys.len(), rows.len(), "a task appears twice");
    assert_eq!(rows.len(), n);
}

// 2 source sizes × 2 replications (4 groups) × 2 target sizes × 2 assignments × 2 methods.
const TASKS: usize = 32;

#[test]
fn three_shard_processes_merged_equal_one_run_and_jobs_do_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    reproduce(&d.join("one"), &["--jobs", "1"]);
    reproduce(&d.join("two"), &["--jobs", "2"]);
    let one = values(&d.join("one"));
    assert_each_task_once(&one, TASKS);
    assert_eq!(one, values(&d.join("two")));
    assert!(d.join("one/summary.csv").is_file() && d.join("one/run.json").is_file());

    // The shards as separate, concurrent processes, as an array job runs them.
    let children: Vec<_> = (0..3)
        .map(|k| {
            let o = d.join(format!("s{k}"));
            let shard = format!("{k}/3");
            ite(&[
                &["reproduce", "sim1", "--no-figures", "--quiet", "--jobs", "1", "--shard", &shard][..],
                &TINY,
                &["--out", o.to_str().unwrap()],
            ]
            .concat())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn shard")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let shards: Vec<String> = (0..3).map(|k| d.join(format!("s{k}")).to_str().unwrap().to_string()).collect();
    let sizes: Vec<usize> = (0..3).map(|k| values(&d.join(format!("s{k}"))).len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), TASKS, "{sizes:?}");
    assert!(sizes.iter().all(|s| *s > 0), "{sizes:?}");
    let merged = d.join("merged");
    let mut args: Vec<&str> = vec!["merge", "--no-figures", "--quiet"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    ok(&args);
    assert_eq!(values(&merged), one, "merged shards differ from one run");

    // Slurm's array variables pick the shard when --shard is absent.
    let slurm = d.join("slurm1");
    let out =
        ite(&[&["reproduce", "sim1", "--no-figures", "--quiet", "--out", slurm.to_str().unwrap()][..], &TINY].concat())
            .env("SLURM_ARRAY_TASK_ID", "1")
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SLURM_ARRAY_TASK_MIN", "0")
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(values(&slurm), values(&d.join("s1")));

    // Merging shards of different runs fails and names the difference.
    let s4 = d.join("seed4");
    ok(&[
        &["reproduce", "sim1", "--no-figures", "--quiet", "--out", s4.to_str().unwrap()][..],
        &GRID,
        &["--reps", "2", "--seed", "4", "--shard", "0/3"],
    ]
    .concat());
    let out = ite(&["merge", &shards[1], d.join("seed4").to_str().unwrap(), "--out", d.join("bad").to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("seed"), "{err}");
}

#[test]
fn killed_run_restarts_to_each_task_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Six replications (96 tasks), so that the kill lands midway.
    let grid = [&GRID[..], &["--reps", "6", "--seed", "3"]].concat();
    let (r, o) = (d.join("ref"), d.join("killed"));
    let (r, o) = (r.to_str().unwrap(), o.to_str().unwrap());
    ok(&[&["reproduce", "sim1", "--no-figures", "--quiet", "--jobs", "2", "--out", r][..], &grid].concat());
    let reference = values(Path::new(r));
    assert_eq!(reference.len(), 96);

    let out = d.join("killed");
    let args = [&["reproduce", "sim1", "--no-figures", "--jobs", "1", "--out", o][..], &grid].concat();
    let mut child = ite(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Kill it once a few rows are written.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let n = read_results(&out.join("results.csv")).map(|r| r.len()).unwrap_or(0);
        if n >= 4 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().ok();
    child.wait().unwrap();
    let before = read_results(&out.join("results.csv")).unwrap().len();
    assert!((1..96).contains(&before), "the kill did not land midway: {before} rows");
    // And a torn line, as if the kill came in the middle of a write.
    let mut f = std::fs::OpenOptions::new().append(true).open(out.join("results.csv")).unwrap();
    std::io::Write::write_all(&mut f, b"sim1,200,30,bia").unwrap();
    drop(f);

    let stderr = String::from_utf8_lossy(&ok(&args).stderr).into_owned();
    assert!(stderr.contains(&format!("({before} finished earlier)")), "{stderr}");
    let rows = values(&out);
    assert_each_task_once(&rows, 96);
    assert_eq!(rows, reference);

    // Other parameters into the same directory: refused, naming the file and the field.
    let other =
        [&["reproduce", "sim1", "--no-figures", "--quiet", "--out", o][..], &GRID, &["--reps", "3", "--seed", "3"]]
            .concat();
    let res = ite(&other).output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success() && err.contains("run.json") && err.contains("replications"), "{err}");
}

#[test]
fn bad_arguments_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("x");
    let o = o.to_str().unwrap();
    for (extra, want) in [
        (&["--shard", "3/3"][..], "shard"),
        (&["--methods", "magic"][..], "--methods"),
        (&["--jobs", "0"][..], "--jobs"),
        (&["--protocol", "paper"][..], "--protocol"),
    ] {
        let out = ite(&[&["reproduce", "sim1", "--seed", "1", "--out", o][..], extra].concat()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(want) && !err.contains("panicked"), "{extra:?}: {err}");
    }
    assert!(!Path::new(o).exists());
}

fn summary_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("summary.csv")).unwrap()
}

#[test]
fn intervals_fill_their_columns_resume_and_never_mix_with_runs_without() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let with = ["--intervals", "--folds", "3"];
    reproduce(&d.join("a"), &[&["--jobs", "1"][..], &with].concat());
    reproduce(&d.join("b"), &[&["--jobs", "2"][..], &with].concat());
    let rows = values(&d.join("a"));
    assert_each_task_once(&rows, TASKS);
    assert_eq!(rows, values(&d.join("b")), "--jobs changed the intervals");
    assert_eq!(summary_bytes(&d.join("a")), summary_bytes(&d.join("b")));
    for r in &rows {
        let (est, lo, hi) = (r.ate_aipw.unwrap(), r.ate_lower.unwrap(), r.ate_upper.unwrap());
        assert!(lo < est && est < hi && r.ate_se.unwrap() > 0.0, "{r:?}");
        let truth = r.ate_sample.unwrap();
        assert_eq!(r.ate_covers, Some(u8::from(lo <= truth && truth <= hi)), "{r:?}");
        assert!(r.aipw_seconds.is_some());
    }
    // summary.csv: coverage is the mean of ate_covers per cell and method, width the mean width.
    let summary = ite_eval::grid::summarize(&rows);
    assert_eq!(summary.len(), TASKS / 2);
    for s in &summary {
        let mine: Vec<&ResultRow> =
            rows.iter().filter(|r| r.key() == ite_eval::TaskKey { replication: r.replication, ..key_of(s) }).collect();
        assert_eq!(mine.len(), 2);
        let covers = mine.iter().map(|r| f64::from(r.ate_covers.unwrap())).sum::<f64>() / 2.0;
        let width = mine.iter().map(|r| r.ate_upper.unwrap() - r.ate_lower.unwrap()).sum::<f64>() / 2.0;
        assert_eq!(s.coverage, Some(covers));
        assert!((s.ci_width_mean.unwrap() - width).abs() < 1e-12);
    }
    let text = String::from_utf8(summary_bytes(&d.join("a"))).unwrap();
    assert!(text.lines().next().unwrap().ends_with(",cita_mean,coverage,ci_width_mean"), "{text}");

    // Resumed after losing half the rows: the same rows and the same summary, byte for byte.
    let c = d.join("c");
    std::fs::create_dir(&c).unwrap();
    std::fs::copy(d.join("a/run.json"), c.join("run.json")).unwrap();
    let full = std::fs::read_to_string(d.join("a/results.csv")).unwrap();
    let half: Vec<&str> = full.lines().take(1 + TASKS / 2).collect();
    std::fs::write(c.join("results.csv"), half.join("\n") + "\n").unwrap();
    reproduce(&c, &[&["--jobs", "2"][..], &with].concat());
    assert_eq!(values(&c), rows);
    assert_eq!(summary_bytes(&c), summary_bytes(&d.join("a")));

    // Without --intervals: the same schema, the interval fields empty, no coverage.
    let plain = d.join("plain");
    reproduce(&plain, &[]);
    let plain_rows = values(&plain);
    assert!(plain_rows.iter().all(|r| r.ate_aipw.is_none() && r.ate_covers.is_none() && r.ate_sample.is_none()));
    let header = |p: &Path| std::fs::read_to_string(p.join("results.csv")).unwrap().lines().next().unwrap().to_string();
    assert_eq!(header(&plain), header(&d.join("a")));
    assert!(ite_eval::grid::summarize(&plain_rows).iter().all(|s| s.coverage.is_none() && s.ci_width_mean.is_none()));
    // The ε_PEHE side of a row does not depend on --intervals.
    let strip = |r: &ResultRow| ResultRow {
        ate_sample: None,
        ate_aipw: None,
        ate_se: None,
        ate_lower: None,
        ate_upper: None,
        ate_covers: None,
        aipw_seconds: None,
        ..r.clone()
    };
    assert_eq!(rows.iter().map(strip).collect::<Vec<_>>(), plain_rows);

    // Runs with and without intervals neither resume into nor merge with each other.
    let res =
        ite(&[&["reproduce", "sim1", "--no-figures", "--quiet", "--out", plain.to_str().unwrap()][..], &TINY, &with]
            .concat())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success() && err.contains("run.json") && err.contains("intervals"), "{err}");
    let res = ite(&[
        "merge",
        "--no-figures",
        "--quiet",
        plain.to_str().unwrap(),
        d.join("a").to_str().unwrap(),
        "--out",
        d.join("mixed").to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success() && err.contains("intervals"), "{err}");
    // --folds needs --intervals.
    let res =
        ite(&[&["reproduce", "sim1", "--out", d.join("f").to_str().unwrap(), "--folds", "3"][..], &TINY].concat())
            .output()
            .unwrap();
    assert!(!res.status.success() && String::from_utf8_lossy(&res.stderr).contains("--intervals"));
}

fn key_of(s: &ite_eval::grid::SummaryRow) -> ite_eval::TaskKey {
    ite_eval::TaskKey {
        experiment: s.experiment.clone(),
        source_n: s.source_n,
        target_n: s.target_n,
        assignment: s.assignment.clone(),
        shift: s.shift.clone(),
        level_bits: s.level.to_bits(),
        method: s.method.clone(),
        replication: 0,
    }
}

#[test]
fn auto_adds_the_selection_methods_and_their_tables() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("auto");
    let o = out.to_str().unwrap();
    let tiny_sim2 = [
        "--quick",
        "--source-n",
        "200",
        "--target-n",
        "40",
        "--max-epochs",
        "2",
        "--test",
        "100",
        "--reps",
        "2",
        "--seed",
        "3",
    ];
    let args = [&["reproduce", "sim2", "--quiet", "--jobs", "2", "--out", o][..], &tiny_sim2].concat();
    ok(&[&args[..], &["--methods", "target-only,source-only,auto", "--selection-folds", "3"]].concat());
    let rows = values(&out);
    // 3 shifts × 3 levels × 2 replications, 2 fixed methods + 4 selection methods.
    assert_each_task_once(&rows, 18 * 6);
    for m in ite_eval::grid::SELECTION_METHODS {
        let mine: Vec<&ResultRow> = rows.iter().filter(|r| r.method == m).collect();
        assert_eq!(mine.len(), 18, "{m}");
        assert!(mine.iter().all(|r| matches!(r.chosen.as_deref(), Some("target-only" | "source-only"))), "{m}");
    }
    for f in ["selection.csv", "cita.csv", "summary.csv", "figures/sim2_pehe_by_level_s200_t40.png"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let selection = std::fs::read_to_string(out.join("selection.csv")).unwrap();
    assert!(selection.lines().next().unwrap().contains("ratio_to_oracle"), "{selection}");
    assert!(selection.lines().any(|l| l.contains(",auto-dr,auto,")), "{selection}");
    // `ite merge` writes them too.
    let merged = d.join("merged");
    ok(&["merge", o, "--out", merged.to_str().unwrap(), "--quiet", "--no-figures"]);
    for f in ["selection.csv", "cita.csv"] {
        assert_eq!(std::fs::read(out.join(f)).unwrap(), std::fs::read(merged.join(f)).unwrap(), "{f}");
    }
    // Other selection folds do not resume into the run; too few fixed methods or folds are refused.
    for (extra, want) in [
        (&["--methods", "target-only,source-only,auto", "--selection-folds", "4"][..], "selection_folds"),
        (&["--methods", "target-only,auto"][..], "at least two"),
        (&["--methods", "target-only,source-only,auto", "--selection-folds", "1"][..], "selection_folds"),
    ] {
        let res = ite(&[&args[..], extra].concat()).output().unwrap();
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(!res.status.success() && err.contains(want) && !err.contains("panicked"), "{extra:?}: {err}");
    }
}

#[test]
fn study_protocol_warns_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = reproduce(&d.join("study"), &["--protocol", "study", "--jobs", "2"]);
    let err = String::from_utf8_lossy(&study.stderr);
    assert!(err.contains("warning: study protocol") && err.contains("source model has seen"), "{err}");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("study/run.json")).unwrap()).unwrap();
    assert_eq!(run["grid"]["protocol"], "study");
    assert!(run["warning"].as_str().is_some_and(|w| w.contains("training units")), "{run}");
    assert_each_task_once(&values(&d.join("study")), TASKS);
    // The default is clean: no warning, other rows, and it is refused in the study directory.
    let clean = reproduce(&d.join("clean"), &[]);
    assert!(!String::from_utf8_lossy(&clean.stderr).contains("warning"));
    assert!(std::fs::read_to_string(d.join("clean/run.json")).unwrap().contains("\"protocol\": \"clean\""));
    assert_ne!(values(&d.join("clean")), values(&d.join("study")));
    let o = d.join("study");
    let out =
        ite(&[&["reproduce", "sim1", "--no-figures", "--quiet", "--out", o.to_str().unwrap()][..], &TINY].concat())
            .output()
            .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("grid.protocol"), "{err}");
    // --help lists the option.
    let help = String::from_utf8_lossy(&ok(&["reproduce", "--help"]).stdout).to_string();
    assert!(help.contains("--protocol") && help.contains("study"), "{help}");
}

/// A run refuses to resume with the other trainer, naming the flag that sets each differing
/// field and saying which value is the run's: `--target-trainer single` changes
/// `grid.batched_targets` only; `--source-trainer single` changes both fields (target fits batch
/// only with batched sources), and the message names both flags.
#[test]
fn the_other_trainer_is_refused_naming_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    reproduce(&a, &[]);
    let o = a.to_str().unwrap();
    for (extra, flags, absent) in [
        (&["--target-trainer", "single"][..], "set by --target-trainer:", Some("--source-trainer")),
        (&["--source-trainer", "single"][..], "set by --source-trainer and --target-trainer:", None),
    ] {
        let args = [&["reproduce", "sim1", "--no-figures", "--quiet", "--out", o][..], &TINY, extra].concat();
        let out = ite(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && !err.contains("panicked"), "{extra:?}: {err}");
        assert!(err.contains("the run's value vs this one's: ") && err.contains("true vs false"), "{err}");
        assert!(err.contains(flags) && absent.is_none_or(|f| !err.contains(f)), "{extra:?}: {err}");
    }
}

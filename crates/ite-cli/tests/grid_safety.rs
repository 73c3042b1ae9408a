//! One writer per grid (issue 14 §2), driving the built `ite` binary: a second `ite reproduce`
//! on a directory that a running one holds is refused at once, naming the holder's pid; a
//! killed holder does not block; `ite merge` refuses a busy input or output, an output that is an
//! input or holds another run, and keeps the rows an output held before; `summary.csv` is
//! byte-identical with `--jobs 1`, `--jobs 2`, after a resume and after a merge of shards.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::grid::{TINY, command as ite, ok_output as ok};
use ite_eval::grid::{GridLock, LOCK_FILE};

mod common;

fn run(args: &[&str]) -> Output {
    ite(args).output().expect("run ite")
}

fn fails(args: &[&str], wants: &[&str]) -> String {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "ite {args:?} succeeded");
    for w in wants {
        assert!(err.contains(w), "ite {args:?}: stderr {err:?} lacks {w:?}");
    }
    assert!(!err.contains("panicked") && err.trim().lines().count() == 1, "{err}");
    err
}

fn tiny(out: &Path, extra: &[&str]) -> Vec<String> {
    [&["reproduce", "sim1", "--no-figures", "--quiet", "--out", out.to_str().unwrap()][..], &TINY, extra]
        .concat()
        .into_iter()
        .map(String::from)
        .collect()
}

/// `args` with `flag`'s value replaced.
fn set(mut args: Vec<String>, flag: &str, value: &str) -> Vec<String> {
    let at = args.iter().position(|a| a == flag).unwrap();
    args[at + 1] = value.into();
    args
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A child killed (SIGKILL) and reaped when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `child` has written its pid into `dir`'s lock file (it holds the lock) and, with
/// `prepared`, its `results.csv`.
fn wait_for_holder(child: &mut Child, dir: &Path, prepared: bool) {
    let want = format!("pid {},", child.id());
    let start = Instant::now();
    loop {
        if std::fs::read_to_string(dir.join(LOCK_FILE)).is_ok_and(|s| s.contains(&want))
            && (!prepared || dir.join("results.csv").is_file())
        {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it was seen holding {}", dir.display());
        assert!(start.elapsed() < Duration::from_secs(300), "no lock taken on {}", dir.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, sig: &str) {
    let st = Command::new("sh").args(["-c", &format!("kill -{sig} {}", child.id())]).status().unwrap();
    assert!(st.success());
}

#[test]
fn a_second_run_is_refused_naming_the_holder_and_a_killed_holder_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("D");
    let o = d.to_str().unwrap();
    // The example: two `ite reproduce sim1 --quick --seed 3 --out D`.
    let args = ["reproduce", "sim1", "--quick", "--seed", "3", "--out", o, "--no-figures", "--quiet", "--jobs", "1"];
    let mut first = Guard(ite(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
    wait_for_holder(&mut first.0, &d, false);
    // Frozen while it holds the lock, so that the second run certainly meets it.
    signal(&first.0, "STOP");
    let pid = first.0.id();
    fails(&args, &[o, &format!("pid {pid}"), "in use by another process"]);
    // Merging it (as an input) or into it (as the output) is refused too.
    let m = dir.path().join("M");
    fails(&["merge", "--no-figures", "--quiet", o, "--out", m.to_str().unwrap()], &[o, &format!("pid {pid}")]);
    // SIGKILL: the OS drops the lock; the same command now runs (seen holding the lock).
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let mut second = Guard(ite(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
    wait_for_holder(&mut second.0, &d, true);
    drop(second);
    // And a merge of what the killed runs left reads it (no stale lock).
    ok(&["merge", "--no-figures", "--quiet", o, "--out", m.to_str().unwrap()]);
}

#[test]
fn a_held_lock_refuses_reproduce_and_merge_at_once_and_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let (a, m) = (dir.path().join("A"), dir.path().join("M"));
    ok(&strs(&tiny(&a, &["--shard", "0/2"])));
    std::fs::create_dir_all(&m).unwrap();
    let me = format!("pid {}", std::process::id());
    {
        let _held = GridLock::exclusive(&a, "test holder").unwrap();
        let before = read(&a.join("results.csv"));
        fails(&strs(&tiny(&a, &["--shard", "0/2"])), &[a.to_str().unwrap(), "test holder", &me]);
        fails(
            &["merge", "--no-figures", "--quiet", a.to_str().unwrap(), "--out", m.to_str().unwrap()],
            &[a.to_str().unwrap(), &me],
        );
        assert_eq!(read(&a.join("results.csv")), before);
        assert!(!m.join("results.csv").exists());
    }
    {
        let _held = GridLock::exclusive(&m, "test holder").unwrap();
        fails(
            &["merge", "--no-figures", "--quiet", a.to_str().unwrap(), "--out", m.to_str().unwrap()],
            &[m.to_str().unwrap(), &me],
        );
    }
    ok(&["merge", "--no-figures", "--quiet", a.to_str().unwrap(), "--out", m.to_str().unwrap()]);
    ok(&strs(&tiny(&a, &["--shard", "0/2"])));
}

#[test]
fn merge_keeps_what_the_output_holds_and_refuses_what_it_cannot_keep() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (s0, s1, m) = (d.join("s0"), d.join("s1"), d.join("M"));
    ok(&strs(&tiny(&s0, &["--shard", "0/2", "--jobs", "1"])));
    ok(&strs(&tiny(&s1, &["--shard", "1/2", "--jobs", "1"])));
    let (p0, p1, pm) = (s0.to_str().unwrap(), s1.to_str().unwrap(), m.to_str().unwrap());
    ok(&["merge", "--no-figures", "--quiet", p0, p1, "--out", pm]);
    let (results, summary) = (read(&m.join("results.csv")), read(&m.join("summary.csv")));
    // Merging one shard again into the full merge keeps every row it held.
    let out = ok(&["merge", "--no-figures", p0, "--out", pm]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("kept"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(read(&m.join("results.csv")), results);
    assert_eq!(read(&m.join("summary.csv")), summary);
    // Into a directory of one shard (another share of the grid): refused, untouched.
    let before = read(&s1.join("results.csv"));
    fails(&["merge", "--no-figures", "--quiet", p0, "--out", p1], &[p1, "shard"]);
    assert_eq!(read(&s1.join("results.csv")), before);
    // The output is an input under another spelling: refused.
    let same = format!("{}/./s0", d.display());
    fails(&["merge", "--no-figures", "--quiet", p0, p1, "--out", &same], &["s0", "is the input"]);
    // Into a directory of another run (seed 4): refused, untouched.
    let other = d.join("seed4");
    ok(&strs(&set(tiny(&other, &["--shard", "0/2"]), "--seed", "4")));
    let before = read(&other.join("results.csv"));
    fails(&["merge", "--no-figures", "--quiet", p0, p1, "--out", other.to_str().unwrap()], &["seed"]);
    assert_eq!(read(&other.join("results.csv")), before);
    // Into a directory with results but no run.json: refused, the file untouched.
    let loose = d.join("loose");
    std::fs::create_dir_all(&loose).unwrap();
    std::fs::write(loose.join("results.csv"), "mine\n").unwrap();
    fails(&["merge", "--no-figures", "--quiet", p0, "--out", loose.to_str().unwrap()], &["run.json"]);
    assert_eq!(read(&loose.join("results.csv")), "mine\n");
}

/// `results.csv` without the `fit_seconds` column (wall-clock), rows sorted.
fn measurements(dir: &Path) -> Vec<String> {
    let text = read(&dir.join("results.csv"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "fit_seconds").expect("a fit_seconds column");
    let mut rows: Vec<String> = lines
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(col);
            f.join(",")
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn summary_is_byte_identical_across_jobs_resume_and_merge() {
    // Five replications: a sum of two is the same in either order, of five it is not.
    let five = |out: &Path, extra: &[&str]| set(tiny(out, extra), "--reps", "5");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (one, two, resumed) = (d.join("one"), d.join("two"), d.join("resumed"));
    ok(&strs(&five(&one, &["--jobs", "1"])));
    ok(&strs(&five(&two, &["--jobs", "2"])));
    // An interrupted run: its results.csv holds some rows in finishing order (here reversed,
    // the last ones lost) and no summary; the resumed run computes the rest.
    ok(&strs(&five(&resumed, &["--jobs", "2"])));
    let text = read(&resumed.join("results.csv"));
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    lines.truncate(lines.len() / 2 + 3);
    std::fs::write(resumed.join("results.csv"), format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    std::fs::remove_file(resumed.join("summary.csv")).unwrap();
    ok(&strs(&five(&resumed, &["--jobs", "2"])));
    // Two shards merged.
    let (s0, s1, m) = (d.join("s0"), d.join("s1"), d.join("merged"));
    ok(&strs(&five(&s0, &["--shard", "0/2", "--jobs", "2"])));
    ok(&strs(&five(&s1, &["--shard", "1/2", "--jobs", "1"])));
    ok(&["merge", "--no-figures", "--quiet", s1.to_str().unwrap(), s0.to_str().unwrap(), "--out", m.to_str().unwrap()]);

    let reference = read(&one.join("summary.csv"));
    assert_eq!(reference.lines().count(), 1 + 2 * 2 * 2 * 2, "{reference}");
    for other in [&two, &resumed, &m] {
        assert_eq!(read(&other.join("summary.csv")), reference, "summary.csv of {} differs", other.display());
        assert_eq!(measurements(other), measurements(&one), "results.csv of {} differs", other.display());
    }
}

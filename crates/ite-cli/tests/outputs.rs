//! What `ite` guarantees about files (issue 14, kind 1): an output never is (or, for a
//! directory, contains) an input; a non-empty `--out` that ite did not write is refused unless
//! `--force`; replacing an earlier output is all-or-nothing, also when the process is killed;
//! temporary entries go away on SIGTERM and, after a SIGKILL, on the next run; every output,
//! `model.safetensors` included, has the permissions of a plain create.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{fails_with, ite, ok};

fn simulate(dir: &Path, name: &str, n: &str, seed: &str) -> PathBuf {
    let path = dir.join(name);
    ok(&["simulate", "sim1", "--role", "source", "--n", n, "--seed", seed, "--out", path.to_str().unwrap()]);
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Files under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, acc: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, acc);
            } else {
                acc.push(p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut acc = Vec::new();
    walk(dir, dir, &mut acc);
    acc.sort();
    acc
}

/// Entries of `dir` whose names start with `.ite-tmp-`.
fn temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ite-tmp-"))
        .collect()
}

/// What `ite fit --model t-learner-ols` writes into OUT.
const OLS_FILES: [&str; 10] = [
    ".ite-output.json",
    "figures/ite_distribution.png",
    "figures/ite_distribution.svg",
    "figures/propensity_overlap.png",
    "figures/propensity_overlap.svg",
    "fit.json",
    "model/encoding.json",
    "model/model.json",
    "predictions.csv",
    "summary.json",
];

fn fit(data: &Path, out: &Path, model: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["fit", "--data", s(data), "--model", model, "--out", s(out), "--quiet"];
    if model == "study" {
        args.extend(["--epochs", "3"]);
    }
    args.extend(extra);
    ite(&args)
}

#[test]
fn fit_refuses_a_directory_it_did_not_write_and_keeps_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate(dir.path(), "d.csv", "200", "1");
    let p = dir.path().join("P");
    std::fs::create_dir_all(p.join("model")).unwrap();
    std::fs::write(p.join("model/notes.txt"), "mine").unwrap();
    let args = ["fit", "--data", s(&data), "--model", "study", "--epochs", "2", "--out", s(&p), "--quiet"];
    fails_with(&args, "was not written by ite");
    fails_with(&args, "--force");
    assert_eq!(std::fs::read_to_string(p.join("model/notes.txt")).unwrap(), "mine");
    // transfer: the same rule.
    let tgt = simulate(dir.path(), "t.csv", "60", "2");
    fails_with(
        &["transfer", "--source", s(&data), "--target", s(&tgt), "--strategy", "target-only", "--out", s(&p)],
        "was not written by ite",
    );
    assert_eq!(std::fs::read_to_string(p.join("model/notes.txt")).unwrap(), "mine");
    // An empty directory is fine; --force replaces a foreign one.
    let empty = dir.path().join("E");
    std::fs::create_dir(&empty).unwrap();
    assert!(fit(&data, &empty, "t-learner-ols", &[]).status.success());
    let out = fit(&data, &p, "t-learner-ols", &["--force"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(p.join("predictions.csv").is_file() && !p.join("model/notes.txt").exists());
    assert_eq!(files(&p), OLS_FILES, "the foreign directory was replaced as a whole");
}

#[test]
fn a_foreign_file_inside_an_earlier_output_is_named_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate(dir.path(), "d.csv", "200", "1");
    let e = dir.path().join("E");
    assert!(fit(&data, &e, "study", &[]).status.success());
    assert!(e.join(".ite-output.json").is_file());
    std::fs::write(e.join("model/notes.txt"), "mine").unwrap();
    fails_with(
        &["fit", "--data", s(&data), "--model", "t-learner-ols", "--out", s(&e), "--quiet"],
        "holds model/notes.txt, which ite did not write",
    );
    assert_eq!(std::fs::read_to_string(e.join("model/notes.txt")).unwrap(), "mine");
    assert!(e.join("model/model.safetensors").is_file());
}

#[test]
fn rerunning_fit_replaces_the_whole_earlier_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate(dir.path(), "d.csv", "200", "1");
    let e = dir.path().join("E");
    assert!(fit(&data, &e, "study", &[]).status.success());
    assert!(e.join("model").is_dir());
    let out = fit(&data, &e, "t-learner-ols", &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!e.join("model/model.safetensors").exists(), "old weights left beside the new model: {:?}", files(&e));
    assert_eq!(files(&e), OLS_FILES);
    assert!(temps(dir.path()).is_empty(), "{:?}", temps(dir.path()));
}

#[test]
fn predict_refuses_to_overwrite_its_input_under_any_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate(dir.path(), "x.csv", "200", "1");
    let m = dir.path().join("M");
    assert!(fit(&data, &m, "study", &[]).status.success());
    let before = std::fs::read(&data).unwrap();
    let predict = |out: &Path| ["predict", "--model", s(&m), "--data", s(&data), "--out", s(out)].map(str::to_string);
    let run = |out: &Path| {
        let a = predict(out);
        fails_with(&a.iter().map(String::as_str).collect::<Vec<_>>(), "is the same file as the input --data");
    };
    run(&data);
    run(&dir.path().join(".").join("x.csv"));
    let hard = dir.path().join("hard.csv");
    std::fs::hard_link(&data, &hard).unwrap();
    run(&hard);
    #[cfg(unix)]
    {
        let soft = dir.path().join("soft.csv");
        std::os::unix::fs::symlink(&data, &soft).unwrap();
        run(&soft);
    }
    assert_eq!(std::fs::read(&data).unwrap(), before);
    // A file of the model directory is an input too.
    let a = predict(&m.join("predictions.csv"));
    fails_with(&a.iter().map(String::as_str).collect::<Vec<_>>(), "inside the input --model");
    // Another name is fine.
    let a = predict(&dir.path().join("pred.csv"));
    ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn an_output_directory_never_is_or_contains_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("data");
    std::fs::create_dir(&sub).unwrap();
    let data = simulate(&sub, "d.csv", "200", "1");
    let tgt = simulate(&sub, "t.csv", "60", "2");
    let before = std::fs::read(&data).unwrap();
    // fit --out the directory that holds --data (with and without --force).
    for extra in [&[][..], &["--force"][..]] {
        let out = fit(&data, &sub, "t-learner-ols", extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("contains the input --data"), "{err}");
    }
    // fit --predict inside --out; transfer --out holding --target.
    let e = dir.path().join("E");
    assert!(fit(&data, &e, "t-learner-ols", &[]).status.success());
    let p = e.join("predictions.csv");
    let out = fit(&data, &e, "t-learner-ols", &["--predict", s(&p)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("contains the input --predict"));
    fails_with(
        &["transfer", "--source", s(&data), "--target", s(&tgt), "--strategy", "target-only", "--out", s(&sub)],
        "contains the input --source",
    );
    // simulate --from-source S --out S.
    fails_with(
        &["simulate", "sim1", "--role", "target", "--from-source", s(&data), "--n", "10", "--out", s(&data)],
        "is the same file as the input --from-source",
    );
    // merge into one of the merged directories, spelled differently.
    #[cfg(unix)]
    {
        let spelled = dir.path().join("link");
        std::os::unix::fs::symlink(&sub, &spelled).unwrap();
        fails_with(&["merge", s(&sub), "--out", s(&spelled)], "is the input DIRS");
    }
    // benchmark --out the data directory that holds a summary.json.
    std::fs::write(sub.join("summary.json"), "{}").unwrap();
    fails_with(&["benchmark", "ihdp", "--data", s(&sub), "--out", s(&sub)], "inside the input --data");
    assert_eq!(std::fs::read(&data).unwrap(), before);
    assert_eq!(std::fs::read_to_string(sub.join("summary.json")).unwrap(), "{}");
}

#[cfg(unix)]
#[test]
fn every_output_has_the_permissions_of_a_plain_create() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = simulate(dir.path(), "d.csv", "200", "1");
    let e = dir.path().join("E");
    assert!(fit(&data, &e, "study", &[]).status.success());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let plain = mode(&data);
    for f in ["predictions.csv", "summary.json", "fit.json", "model/model.json", "model/model.safetensors"] {
        assert_eq!(mode(&e.join(f)), plain, "{f}: mode {:o}, expected {plain:o}", mode(&e.join(f)));
    }
    assert_ne!(mode(&e.join("model/model.safetensors")), 0o600);
}

/// Waits until `dir` holds a temporary entry of `child` (or `child` ends); true when seen.
fn wait_for_temp(child: &mut Child, dir: &Path, inside: Option<&str>) -> bool {
    let prefix = format!(".ite-tmp-{}-", child.id());
    loop {
        let hit = std::fs::read_dir(dir).unwrap().flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && inside.is_none_or(|f| e.path().join(f).exists())
        });
        if hit {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::yield_now();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_fit_leaves_the_old_or_the_new_output_and_the_next_run_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate(dir.path(), "d.csv", "200", "1");
    // Many rows to predict make the writing phase long enough to be hit.
    let big = simulate(dir.path(), "big.csv", "300000", "2");
    let e = dir.path().join("E");
    assert!(fit(&data, &e, "study", &[]).status.success());
    let old = files(&e);
    let old_summary = std::fs::read(e.join("summary.json")).unwrap();
    let new_files = OLS_FILES;
    // Kill at: the temporary directory appears; predictions.csv is in it; summary.json is in it.
    let mut hits = 0;
    for inside in [None, Some("predictions.csv"), Some("summary.json")] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ite"))
            .args(["fit", "--data", s(&data), "--model", "t-learner-ols", "--predict", s(&big), "--out", s(&e)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let seen = wait_for_temp(&mut child, dir.path(), inside);
        child.kill().unwrap();
        child.wait().unwrap();
        let now = files(&e);
        if now == old {
            assert_eq!(std::fs::read(e.join("summary.json")).unwrap(), old_summary, "{inside:?}: old summary changed");
        } else {
            assert_eq!(now, new_files, "{inside:?} (temp seen: {seen}): a mix of old and new files");
        }
        // The next run removes the dead process's temporary entries; it also restores the
        // old output for the next instant.
        hits += usize::from(seen);
        eprintln!("kill at {inside:?}: temporary directory seen {seen}, old output kept {}", now == old);
        assert!(fit(&data, &e, "study", &[]).status.success());
        assert!(temps(dir.path()).is_empty(), "{inside:?}: stale {:?}", temps(dir.path()));
        assert_eq!(files(&e), old);
    }
    assert!(hits > 0, "no kill hit the writing phase");
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_removes_the_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.csv");
    let mut hit = false;
    for n in ["400000", "1600000", "6400000"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ite"))
            .args(["simulate", "sim1", "--role", "source", "--n", n, "--out", s(&out)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if wait_for_temp(&mut child, dir.path(), None) {
            Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
            let status = child.wait().unwrap();
            if !status.success() {
                hit = true;
                assert!(!out.exists(), "a half-written output after SIGTERM");
            }
        } else {
            child.wait().unwrap();
        }
        assert!(temps(dir.path()).is_empty(), "n {n}: temporary entries left after SIGTERM: {:?}", temps(dir.path()));
        if hit {
            break;
        }
        let _ = std::fs::remove_file(&out);
    }
    assert!(hit, "the writing phase was never hit by SIGTERM");
}

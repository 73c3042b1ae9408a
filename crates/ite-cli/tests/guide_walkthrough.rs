//! Issue 19, item 7: docs/guide.md §8, the walk-through on the IHDP covariates shipped in
//! `data/ihdp_npci_1.csv`, runs as written. The test reads the `sh` blocks between the marks
//! `<!-- walkthrough: begin … -->` and `<!-- walkthrough: end -->` out of the guide itself (so the
//! guide and the test cannot drift), runs them in order in one `sh` with the built `ite` first on
//! PATH, from a folder that holds the repository's `data/` (as the project folder does), and
//! checks what the guide claims: every comment line of a block (`# …`) is a line the commands
//! print; categorical levels, a binary outcome found by `--outcome-type auto`, imputed gaps, the
//! figures of every fit and transfer, and predictions that round-trip through `ite predict`.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BEGIN: &str = "<!-- walkthrough: begin";
const END: &str = "<!-- walkthrough: end -->";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The bodies of the ```` ```sh ```` blocks between the walk-through's marks, in order.
fn walkthrough_blocks(guide: &str) -> Vec<String> {
    let start = guide.find(BEGIN).expect("docs/guide.md has no walk-through begin mark");
    let end = guide[start..].find(END).expect("docs/guide.md has no walk-through end mark") + start;
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in guide[start..end].lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(body), "```") => {
                blocks.push(std::mem::take(body));
                current = None;
            }
            (Some(body), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an sh block of the walk-through is not closed");
    blocks
}

/// Checks that `path` is a PNG (signature and header chunk).
fn assert_png(path: &Path) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        b.len() > 24 && &b[..8] == b"\x89PNG\r\n\x1a\n" && &b[12..16] == b"IHDR",
        "{} is not a PNG",
        path.display()
    );
}

/// Runs the walk-through's blocks as one script in a fresh folder holding `data/`; returns the
/// folder, the script and everything it printed (stdout, then stderr).
fn run_walkthrough() -> (tempfile::TempDir, String, String) {
    let guide = std::fs::read_to_string(root().join("docs/guide.md")).unwrap();
    let blocks = walkthrough_blocks(&guide);
    assert!(blocks.len() >= 6, "the walk-through has {} sh blocks", blocks.len());
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("data"), dir.path().join("data")).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ite"), bin.join("ite")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let script = format!("set -eu\n{}", blocks.concat());
    let out =
        Command::new("sh").arg("-c").arg(&script).current_dir(dir.path()).env("PATH", path).output().expect("run sh");
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the walk-through failed:\n{script}\n--- output ---\n{printed}");
    assert!(!printed.contains("panicked"), "{printed}");
    (dir, script, printed)
}

#[test]
fn the_guides_ihdp_walkthrough_runs_as_written_and_prints_what_it_says() {
    let (dir, script, printed) = run_walkthrough();
    // Every comment line of the blocks is output the guide promises.
    for line in script.lines().filter_map(|l| l.trim_start().strip_prefix("# ")) {
        assert!(printed.contains(line), "the walk-through did not print {line:?}:\n{printed}");
    }
    // `cmp … && echo` does not stop `sh -e` on a difference: the echoes must all be there.
    assert_eq!(printed.matches("ite predict: the fit's predictions").count(), 2, "{printed}");
    assert!(printed.contains("ite predict: the transfer's predictions"), "{printed}");

    let walk = dir.path().join("ihdp-walk");
    let ihdp = std::fs::read_to_string(walk.join("ihdp.csv")).unwrap();
    assert_eq!(ihdp.lines().count(), 748, "a header and the 747 children");

    // Step 3: continuous outcome with truth, the study's network close to the published error.
    let fit = json(&walk.join("ihdp-fit/summary.json"));
    assert_eq!(fit["outcome_type"], "continuous");
    let sqrt_pehe = fit["sqrt_pehe"].as_f64().unwrap();
    assert!(sqrt_pehe < 1.2, "sqrt PEHE {sqrt_pehe} on IHDP replication 1");
    let levels = &fit["preprocessing"]["categorical"];
    assert_eq!(levels["site"], serde_json::json!(["ark", "ein", "har", "mia", "other", "pen", "tex", "was"]));
    assert_eq!(levels["mom_educ"], serde_json::json!(["college", "hs", "lths", "scoll"]));

    // Step 4: binary outcome, probabilities, risk differences on the figure's axis.
    let binary = json(&walk.join("ihdp-binary/summary.json"));
    assert_eq!((binary["outcome_type"].as_str(), binary["outcome_type_from"].as_str()), (Some("binary"), Some("auto")));
    let pred = std::fs::read_to_string(walk.join("ihdp-binary/predictions.csv")).unwrap();
    for row in pred.lines().skip(1) {
        let f: Vec<f64> = row.split(',').map(|v| v.parse().unwrap()).collect();
        assert!(f[1] > 0.0 && f[1] < 1.0 && f[2] > 0.0 && f[2] < 1.0, "mu0, mu1 not probabilities: {row}");
    }
    let svg = std::fs::read_to_string(walk.join("ihdp-binary/figures/ite_distribution.svg")).unwrap();
    assert!(svg.contains("risk difference"), "the binary fit's ITE axis does not say risk difference");

    // Step 5: imputed gaps with indicator columns, the logistic T-learner saved.
    let gaps = json(&walk.join("ihdp-gaps/summary.json"));
    assert_eq!(gaps["preprocessing"]["missing_indicators"], serde_json::json!(["momage", "site"]));
    assert_eq!(gaps["outcome_type"], "binary");

    // Step 6: transfer to the site `was` with a binary outcome.
    let transfer = json(&walk.join("ihdp-transfer/summary.json"));
    assert_eq!(transfer["outcome_type"], "binary");
    assert_eq!(transfer["n_target"], 118);
    assert_eq!(transfer["strategy"], "staged-alignment");

    // Every fit and transfer drew its figures.
    for out in ["ihdp-fit", "ihdp-binary", "ihdp-gaps", "ihdp-transfer"] {
        for stem in ["ite_distribution", "propensity_overlap"] {
            assert_png(&walk.join(out).join(format!("figures/{stem}.png")));
            assert!(walk.join(out).join(format!("figures/{stem}.svg")).is_file(), "{out}: no {stem}.svg");
        }
    }
}

#[test]
fn the_guides_ihdp_figures_are_shipped() {
    // The two PNGs §8 shows are committed under docs/figures/ (the walk-through's own output).
    let guide = std::fs::read_to_string(root().join("docs/guide.md")).unwrap();
    for name in ["ihdp_binary_ite_distribution.png", "ihdp_transfer_ite_distribution.png"] {
        assert!(guide.contains(&format!("](figures/{name})")), "docs/guide.md does not show {name}");
        let path = root().join("docs/figures").join(name);
        assert_png(&path);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size < 150_000, "{name}: {size} bytes");
    }
}

#[test]
fn walkthrough_blocks_are_read_between_the_marks_only() {
    let doc = "```sh\nbefore\n```\n<!-- walkthrough: begin x -->\ntext\n```sh\na\n# out\n```\n```toml\nk = 1\n```\n\
               ```sh\nb\n```\n<!-- walkthrough: end -->\n```sh\nafter\n```\n";
    assert_eq!(walkthrough_blocks(doc), vec!["a\n# out\n".to_string(), "b\n".to_string()]);
}

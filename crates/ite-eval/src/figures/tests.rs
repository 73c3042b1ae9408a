//! Tests of the figures: file names, PNG size, SVG text, and graceful handling of small grids.

use std::path::{Path, PathBuf};

use super::*;

/// A synthetic row (Simulation 1 when `shift` is `none`, else 2); `pehe` falls with both sizes
/// and is lower for transfer.
fn row(s: usize, t: usize, a: &str, shift: &str, level: f64, m: &str, rep: u64) -> ResultRow {
    let exp = if shift == "none" { "sim1" } else { "sim2" };
    let transfer = m != "target-only";
    let base = if transfer { 0.2 } else { 2.0 * 50.0 / t as f64 };
    let pehe = base * (1.0 + 0.1 * rep as f64) * (1.0 + level) * if transfer { 1000.0 / s as f64 } else { 1.0 };
    ResultRow {
        experiment: exp.into(),
        source_n: s,
        target_n: t,
        assignment: a.into(),
        shift: shift.into(),
        level,
        method: m.into(),
        replication: rep,
        pehe,
        ate_bias: if transfer { 0.05 } else { 0.9 },
        ate_true: 1.0,
        ite_mean: if transfer { 1.05 } else { 1.9 } + 0.01 * rep as f64,
        ite_median: 1.0,
        ite_sd: 0.1 + 0.02 * rep as f64,
        cita: transfer.then_some(0.1 + level * 0.2 + 0.01 * rep as f64),
        fit_seconds: 0.5,
        ..ResultRow::without_intervals()
    }
}

fn sim1_rows(sources: &[usize], targets: &[usize], reps: u64) -> Vec<ResultRow> {
    let mut rows = Vec::new();
    for &s in sources {
        for &t in targets {
            for a in ["randomized", "biased"] {
                for m in ["target-only", "staged-alignment"] {
                    for rep in 0..reps {
                        rows.push(row(s, t, a, "none", 0.0, m, rep));
                    }
                }
            }
        }
    }
    rows
}

fn sim2_rows() -> Vec<ResultRow> {
    let mut rows = Vec::new();
    for a in ["randomized", "biased"] {
        for shift in ["covariate", "effect", "prognostic"] {
            for level in [0.0, 0.5, 1.0] {
                for m in ["target-only", "source-only", "staged-alignment"] {
                    for rep in 0..3 {
                        rows.push(row(1000, 100, a, shift, level, m, rep));
                    }
                }
            }
        }
    }
    rows
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
}

/// Width and height from the PNG signature and IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    assert_eq!(&b[12..16], b"IHDR");
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    // IEND closes a complete file.
    assert_eq!(&b[b.len() - 8..b.len() - 4], b"IEND", "{} is cut short", path.display());
    (w, h)
}

#[test]
fn sim1_writes_every_figure_as_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("figures");
    let rows = sim1_rows(&[1000, 5000], &[50, 250], 3);
    let files = draw_all(&rows, "sim1", &out).unwrap();
    let mut expected = Vec::new();
    for stem in [
        "sim1_pehe_by_source_staged-alignment",
        "sim1_pehe_by_target_s1000",
        "sim1_ite_mean_s1000",
        "sim1_ite_sd_s1000",
        "sim1_pehe_by_target_s5000",
        "sim1_ite_mean_s5000",
        "sim1_ite_sd_s5000",
    ] {
        expected.push(format!("{stem}.png"));
        expected.push(format!("{stem}.svg"));
    }
    assert_eq!(names(&files), expected);
    // Nothing else (no temporary file) is left in the directory.
    let mut listed: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    listed.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(listed, want);
    for f in files.iter().filter(|f| f.extension().unwrap() == "png") {
        assert_eq!(png_size(f), style::SIZE);
        assert!(std::fs::metadata(f).unwrap().len() < 150_000, "{} too large", f.display());
    }
    let svg = std::fs::read_to_string(out.join("sim1_pehe_by_source_staged-alignment.svg")).unwrap();
    for text in [
        "ε_PEHE (mean squared ITE error)",
        "±1 standard error",
        "source sample size (log scale)",
        "target n = 50",
        "target n = 250",
        "non-randomized target",
        "randomized target",
    ] {
        assert!(svg.contains(text), "missing `{text}`");
    }
    let svg = std::fs::read_to_string(out.join("sim1_ite_mean_s5000.svg")).unwrap();
    for text in ["true ATE", "target-only", "staged-alignment", "target sample size (log scale)", "mean predicted ITE"]
    {
        assert!(svg.contains(text), "missing `{text}`");
    }
}

#[test]
fn sim2_writes_level_and_gap_figures() {
    let dir = tempfile::tempdir().unwrap();
    let files = draw_all(&sim2_rows(), "sim2", dir.path()).unwrap();
    assert_eq!(
        names(&files),
        [
            "sim2_pehe_by_level_s1000_t100.png",
            "sim2_pehe_by_level_s1000_t100.svg",
            "sim2_gap_vs_cita_staged-alignment.png",
            "sim2_gap_vs_cita_staged-alignment.svg"
        ]
    );
    let svg = std::fs::read_to_string(dir.path().join("sim2_pehe_by_level_s1000_t100.svg")).unwrap();
    for text in ["shift level c", "covariate shift", "prognostic shift", "source-only", "target-only", "ε_PEHE"] {
        assert!(svg.contains(text), "missing `{text}`");
    }
    let svg = std::fs::read_to_string(dir.path().join("sim2_gap_vs_cita_staged-alignment.svg")).unwrap();
    for text in ["CITA", "ε_PEHE(staged-alignment) − ε_PEHE(target-only)", "effect shift", "no gap"] {
        assert!(svg.contains(text), "missing `{text}`");
    }
}

#[test]
fn gap_is_paired_by_replication() {
    let rows = sim2_rows();
    let refs: Vec<&ResultRow> = rows.iter().collect();
    let figs = sim2::figures(&refs);
    let gap = figs.iter().find(|f| f.name.starts_with("sim2_gap")).unwrap();
    let p = &gap.panels[0].series[0].points;
    // Covariate shift, randomized, level 0: transfer 0.2·(1 + 0.1 r) against target-only 1.0·(1 + 0.1 r).
    let want: Vec<f64> = (0..3).map(|r| (0.2 - 1.0) * (1.0 + 0.1 * r as f64)).collect();
    let s = Summary::of(&want).unwrap();
    assert!((p[0].mean - s.mean).abs() < 1e-12 && (p[0].se - s.se).abs() < 1e-12);
    assert!((p[0].x - 0.11).abs() < 1e-12, "x is the mean CITA");
}

#[test]
fn quick_grids_with_one_size_and_one_replication_are_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = sim1_rows(&[2000], &[50], 1);
    rows.retain(|r| r.assignment == "biased");
    let files = draw_all(&rows, "sim1", dir.path()).unwrap();
    assert_eq!(files.len(), 8);
    for f in files.iter().filter(|f| f.extension().unwrap() == "png") {
        assert_eq!(png_size(f), style::SIZE);
    }
    let one: Vec<ResultRow> = sim2_rows().into_iter().filter(|r| r.level == 0.5 && r.replication == 0).collect();
    assert!(!draw_all(&one, "sim2", dir.path()).unwrap().is_empty());
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let e = draw_all(&[], "sim1", &out).unwrap_err();
    assert!(matches!(e, EvalError::Empty(_)), "{e}");
    assert!(e.to_string().contains("sim1"), "{e}");
    assert!(!out.exists(), "no directory for a failed call");
    let e = draw_all(&sim2_rows(), "sim1", &out).unwrap_err();
    assert!(matches!(e, EvalError::Empty(_)), "{e}");
    let e = draw_all(&sim2_rows(), "sim3", &out).unwrap_err();
    assert!(e.to_string().contains("sim1 or sim2"), "{e}");
    // Rows whose metrics are not finite are left out rather than breaking the axes.
    let mut rows = sim1_rows(&[1000], &[50], 2);
    rows[0].pehe = f64::NAN;
    assert!(draw_all(&rows, "sim1", &out).is_ok());
}

#[test]
fn selection_methods_sit_after_the_strategies_and_get_no_figure_of_their_own() {
    let mut rows = sim2_rows();
    let extra: Vec<ResultRow> = rows
        .iter()
        .filter(|r| r.method == "staged-alignment")
        .flat_map(|r| {
            ["oracle", "auto-dr", "my-strategy", "auto-r-loss"].map(|m| ResultRow {
                method: m.into(),
                chosen: Some(r.method.clone()),
                ..r.clone()
            })
        })
        .collect();
    rows.extend(extra);
    let refs: Vec<&ResultRow> = rows.iter().collect();
    assert_eq!(
        methods(&refs),
        ["source-only", "target-only", "staged-alignment", "my-strategy", "auto-r-loss", "auto-dr", "oracle"]
    );
    let figs = sim2::figures(&refs);
    let gaps: Vec<&str> = figs.iter().filter(|f| f.name.starts_with("sim2_gap")).map(|f| f.name.as_str()).collect();
    assert_eq!(gaps, ["sim2_gap_vs_cita_staged-alignment", "sim2_gap_vs_cita_my-strategy"]);
    let level = figs.iter().find(|f| f.name.starts_with("sim2_pehe_by_level")).unwrap();
    let labels: Vec<&str> = level.panels[0].series.iter().map(|s| s.label.as_str()).collect();
    assert!(labels.ends_with(&["auto-r-loss", "auto-dr", "oracle"]), "{labels:?}");
    assert_ne!(style::method_color("oracle"), style::method_color("auto-dr"));
}

//! The CITA reading table is the `all` rows of docs/selection/cita.csv (the Simulation 2 grid of
//! docs/selection.md), copied exactly; and a reading finds the bin at the nearest grid size.

use ite_transfer::cita_scale::{CitaBin, MIN_COUNT, SIM2_CITA_SCALE, cita_reading};

fn published() -> Vec<CitaBin> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/selection/cita.csv");
    let text = std::fs::read_to_string(path).expect("docs/selection/cita.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let num = |f: &[&str], name: &str| -> f64 { f[col(name)].parse().expect(name) };
    lines
        .map(|l| l.split(',').collect::<Vec<&str>>())
        .filter(|f| f[col("assignment")] == "all" && !f[col("target_n")].is_empty())
        .map(|f| CitaBin {
            target_n: f[col("target_n")].parse().expect("target_n"),
            lower: num(&f, "cita_lower"),
            upper: num(&f, "cita_upper"),
            count: f[col("count")].parse().expect("count"),
            best_source_beats_target_only: num(&f, "best_source_beats_target_only"),
            staged_beats_target_only: num(&f, "staged_beats_target_only"),
        })
        .collect()
}

#[test]
fn the_table_is_the_published_grid_output() {
    assert_eq!(SIM2_CITA_SCALE, published().as_slice());
}

#[test]
fn a_reading_takes_the_nearest_grid_size_and_needs_enough_cases() {
    // 150 units are read at n = 100 (nearer than 500 on a log scale), 300 at 500.
    let r = cita_reading(0.25, 150).expect("a reading");
    assert_eq!((r.bin.target_n, r.bin.lower), (100, 0.2));
    assert_eq!(cita_reading(0.25, 300).expect("a reading").bin.target_n, 500);
    assert_eq!(cita_reading(0.15, 10).expect("a reading").bin.target_n, 50);
    let text = r.to_string();
    assert!(text.contains("targets of 100 units") && text.contains("[0.2, 0.3)"), "{text}");
    assert!(text.contains("nearest your 150"), "{text}");
    assert!(!cita_reading(0.25, 100).expect("a reading").to_string().contains("nearest your"));
    // Bins with fewer than MIN_COUNT cases, and values outside [0, 1], give none.
    let thin = SIM2_CITA_SCALE.iter().find(|b| b.count < MIN_COUNT).expect("a thin bin");
    assert!(cita_reading((thin.lower + thin.upper) / 2.0, thin.target_n).is_none());
    assert!(cita_reading(-0.1, 100).is_none() && cita_reading(f64::NAN, 100).is_none());
    // At 500 units staged alignment rarely beat target-only; at 50 it almost always did.
    let at = |n: usize| cita_reading(0.15, n).expect("a reading").bin.staged_beats_target_only;
    assert!(at(500) < 0.3 && at(50) > 0.9);
}

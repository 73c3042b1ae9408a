//! The strategy registry: the built-in entries, their names and order, the epoch cap each
//! applies (the settings the grids used before the registry, field for field), and the errors
//! of unknown, duplicate and badly formed names.

use ite_core::Params;
use ite_transfer::{
    FineTune, FreezeRepresentation, L2Sp, Pooled, Registry, STRATEGY_NAMES, SourceOnly, StagedAlignment,
    StrategyConfig, StrategyEntry, TargetOnly, TargetTraining, TransferError, strategy_by_name,
};

#[test]
fn builtin_entries_are_the_seven_strategies_in_help_order() {
    let r = Registry::builtin();
    let names = r.names();
    assert_eq!(
        names,
        ["source-only", "target-only", "fine-tune", "freeze-representation", "l2-sp", "staged-alignment", "pooled"]
    );
    assert_eq!(names, STRATEGY_NAMES);
    for e in r.entries() {
        assert!(!e.description.is_empty() && !e.description.contains('\n'), "{}", e.name);
        assert_eq!(e.uses_source, e.name != "target-only", "{}", e.name);
        assert_eq!(e.trains_on_target, !["source-only", "pooled"].contains(&e.name), "{}", e.name);
        for max_epochs in [None, Some(1), Some(1000)] {
            let s = r.build(e.name, &StrategyConfig { max_epochs, ..StrategyConfig::default() }).unwrap();
            assert_eq!(s.name(), e.name);
        }
        assert_eq!(strategy_by_name(e.name).unwrap().name(), e.name);
    }
    assert_eq!(SourceOnly::ENTRY.name, SourceOnly::NAME);
    assert_eq!(Pooled::ENTRY.name, "pooled");
}

/// The settings `ite_eval::grid::strategy_with_cap` built before the registry, written out.
#[test]
fn the_epoch_cap_gives_the_settings_the_grids_used() {
    let cap = 7;
    let capped =
        |t: TargetTraining| TargetTraining { max_epochs: t.max_epochs.min(cap), patience: t.patience.min(cap), ..t };
    let some = Some(cap);
    let d = TargetOnly::default();
    assert_eq!(d.clone().with_epoch_cap(some), TargetOnly { training: capped(d.training.clone()), ..d.clone() });
    assert_eq!(d.clone().with_epoch_cap(None), d);
    let d = FineTune::default();
    assert_eq!(d.clone().with_epoch_cap(some), FineTune { training: capped(d.training.clone()) });
    assert_eq!(d.clone().with_epoch_cap(None), d);
    let d = FreezeRepresentation::default();
    assert_eq!(d.clone().with_epoch_cap(some), FreezeRepresentation { training: capped(d.training.clone()) });
    assert_eq!(d.clone().with_epoch_cap(None), d);
    let d = L2Sp::default();
    assert_eq!(d.clone().with_epoch_cap(some), L2Sp { training: capped(d.training.clone()), ..d.clone() });
    assert_eq!(d.clone().with_epoch_cap(None), d);
    let d = StagedAlignment::default();
    let want =
        StagedAlignment { align_epochs: d.align_epochs.min(cap), training: capped(d.training.clone()), ..d.clone() };
    assert_eq!(d.clone().with_epoch_cap(some), want);
    assert_eq!(d.clone().with_epoch_cap(None), d);
    // A cap above every budget changes nothing; 2 caps the 10 heads epochs and the patience and
    // leaves the one alignment epoch; the study code's 5 alignment and 20 heads epochs become 2.
    assert_eq!(StagedAlignment::default().with_epoch_cap(Some(10_000)), StagedAlignment::default());
    let two = StagedAlignment::default().with_epoch_cap(Some(2));
    assert_eq!((two.align_epochs, two.training.max_epochs, two.training.patience), (1, 2, 2));
    let study = StagedAlignment::study_code().with_epoch_cap(Some(2));
    assert_eq!((study.align_epochs, study.training.max_epochs), (2, 2));
    let built = Registry::builtin();
    let mut swapped = built.clone();
    swapped.replace(StagedAlignment::STUDY_ENTRY).expect("staged-alignment is registered");
    assert_eq!(swapped.names(), built.names(), "replace keeps the name and the order");
    assert!(Registry::empty().replace(StagedAlignment::STUDY_ENTRY).is_err(), "nothing to replace");
    // An explicit network of target-only is capped too.
    let p = ite_nets::TarNetParams::default();
    let t = TargetOnly { params: Some(p.clone()), ..TargetOnly::default() }.with_epoch_cap(Some(3));
    let got = t.params.unwrap();
    assert_eq!((got.max_epochs, got.patience), (p.max_epochs.min(3), p.patience.min(3)));
}

#[test]
fn unknown_duplicate_and_malformed_names_are_errors() {
    let r = Registry::builtin();
    let err = r.build("magic", &StrategyConfig::default()).err().expect("unknown").to_string();
    assert!(err.contains("unknown strategy `magic`; valid strategies: source-only, target-only"), "{err}");
    let err = r
        .build("fine-tune", &StrategyConfig { max_epochs: Some(0), ..StrategyConfig::default() })
        .err()
        .expect("cap 0")
        .to_string();
    assert!(err.contains("max_epochs"), "{err}");
    assert!(StrategyConfig { max_epochs: Some(0), ..StrategyConfig::default() }.validate().is_err());

    let mut r = Registry::empty();
    assert!(r.names().is_empty() && r.build("fine-tune", &StrategyConfig::default()).is_err());
    r.register(FineTune::ENTRY).unwrap();
    assert!(matches!(r.register(FineTune::ENTRY), Err(TransferError::DuplicateStrategy { .. })));
    for bad in ["", "two words", "a,b"] {
        let e = StrategyEntry::new(bad, "bad", FineTune::ENTRY.build);
        assert!(r.register(e).unwrap_err().to_string().contains("`name`"), "{bad:?}");
    }
    // An entry whose strategy reports another name.
    r.register(StrategyEntry::new("tune", "fine-tune by another name", FineTune::ENTRY.build)).unwrap();
    let err = r.build("tune", &StrategyConfig::default()).err().expect("misnamed").to_string();
    assert!(err.contains("`tune`") && err.contains("`fine-tune`"), "{err}");
    assert_eq!(r.names(), ["fine-tune", "tune"]);
}

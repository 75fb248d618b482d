//! The protected pass, checked on small indexes: exact where nothing is protected, sums of
//! atoms where something is, and the Gi* verdict from protected counts only.

use super::*;
use crate::hotspot::filter::{Measure, Period, day_number, parse_hours};
use crate::hotspot::index::RawContact;
use crate::hotspot::test_support::{delfshaven, raw_at};
use avondronde_shared::disclosure::RecordKey;
use jiff::civil::Date;

fn ptable() -> Ptable {
    Ptable::new(PtableParams::default()).expect("default table")
}

/// The key sum of the contacts `raw_at` made with these sequence numbers.
fn key_of(seqs: &[i64]) -> CellKey {
    CellKey::of(
        seqs.iter()
            .map(|&s| raw_at(s, "2026-11-20T21:30:00Z", 0).key),
    )
}

/// One contact per (cell, count) at 22:30 on 2026-11-20.
fn index_with(contacts: &[(u64, [u16; 5])]) -> WijkIndex {
    let rows = contacts
        .iter()
        .enumerate()
        .map(|(i, &(cell, counts))| RawContact {
            counts,
            ..raw_at(i as i64 + 1, "2026-11-20T21:30:00Z", cell)
        })
        .collect::<Vec<_>>();
    WijkIndex::from_rows(delfshaven(), rows).expect("index")
}

#[test]
fn gi_star_is_computed_from_the_protected_counts() {
    let wijk = delfshaven();
    let area =
        crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Ten)
            .expect("tiles");
    let contacts: Vec<(u64, [u16; 5])> = area
        .cells
        .iter()
        .take(60)
        .enumerate()
        .flat_map(|(i, &c)| {
            std::iter::repeat_n((u64::from(c), [0, (i % 4) as u16, 1, 0, 0]), 1 + i % 7)
        })
        .collect();
    let t = ptable();
    let a = run(&index_with(&contacts), &Filter::default(), &t).expect("runs");
    let as_f64: Vec<f64> = a.after.values.iter().map(|&v| v as f64).collect();
    assert_eq!(
        a.after.hotspots,
        analyse(&as_f64, &area.neighbours).expect("valid")
    );
    assert!(a.after.hotspots.iter().any(|h| h.bin != 0));
    assert_eq!(
        protected_cells(&index_with(&contacts), &Filter::default(), &t),
        a.after.values
    );
}

#[test]
fn empty_cells_stay_zero_and_each_measure_is_protected_with_its_key() {
    let wijk = delfshaven();
    let area =
        crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Ten)
            .expect("tiles");
    let hot = u64::from(area.cells[100]);
    let index = index_with(&[(hot, [0, 3, 2, 0, 0]), (hot, [0, 0, 0, 1, 0])]);
    let t = ptable();
    let k = key_of(&[1, 2]);
    let children = run(&index, &Filter::default(), &t).expect("runs");
    assert_eq!(children.after.values.len(), area.len());
    assert_eq!(
        children.after.values[100],
        t.protect(6, k.for_children(crate::hotspot::filter::ALL_BANDS))
    );
    assert_eq!(
        children.after.values.iter().filter(|&&v| v != 0).count(),
        usize::from(children.after.values[100] != 0),
        "cells without contacts stay 0"
    );
    let contacts = run(
        &index,
        &Filter {
            measure: Measure::Contacts,
            ..Filter::default()
        },
        &t,
    )
    .expect("runs");
    assert_eq!(contacts.after.values[100], t.protect(2, k));
    // A total is an aggregate of its own: the same records, so the same key and noise
    // as the cell that holds them all.
    assert_eq!(contacts.after.totals.contacts, contacts.after.values[100]);
    assert_eq!(
        contacts.after.totals.children,
        t.protect(6, k.for_children(crate::hotspot::filter::ALL_BANDS))
    );
}

/// With some age bands chosen, the children are counted band by band, each band with
/// its own key, and the contacts per set of bands they have children in.
#[test]
fn chosen_bands_are_counted_band_by_band_each_with_its_own_key() {
    let wijk = delfshaven();
    let area =
        crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Ten)
            .expect("tiles");
    let cell = u64::from(area.cells[100]);
    let index = index_with(&[(cell, [0, 3, 2, 0, 0]), (cell, [0, 1, 0, 1, 0])]);
    let t = ptable();
    let filter = Filter {
        bands: 0b0_1010,
        ..Filter::default()
    };
    let a = run(&index, &filter, &t).expect("runs");
    let expected = t.protect(4, key_of(&[1, 2]).for_children(0b10))
        + t.protect(1, key_of(&[2]).for_children(0b1000));
    assert_eq!(a.after.values[100], expected);
    assert_eq!(a.after.totals.children, expected);
    assert_eq!(
        a.after.totals.contacts,
        t.protect(1, key_of(&[1])) + t.protect(1, key_of(&[2])),
        "bands {{6–9, 10–11}} and {{6–9, 12–13}}: two sets"
    );
    assert_eq!(protected_cells(&index, &filter, &t), a.after.values);
    let contacts = Filter {
        measure: Measure::Contacts,
        ..filter
    };
    let c = run(&index, &contacts, &t).expect("runs");
    assert_eq!(c.after.values[100], a.after.totals.contacts);
    assert_eq!(protected_cells(&index, &contacts, &t), c.after.values);
}

/// With behaviours chosen, the contacts are counted set of behaviours by set, each set
/// with its own key, in the cells, the histogram, the trend and the totals alike.
#[test]
fn chosen_behaviours_are_counted_set_by_set_each_with_its_own_key() {
    use crate::hotspot::filter::behaviour_bit;
    use avondronde_shared::Behaviour;
    let wijk = delfshaven();
    let area =
        crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Ten)
            .expect("tiles");
    let cell = u64::from(area.cells[100]);
    let nuisance = behaviour_bit(&Behaviour::Nuisance);
    let both = nuisance | behaviour_bit(&Behaviour::Vandalism);
    let rows: Vec<RawContact> = [nuisance, both, nuisance, 0]
        .into_iter()
        .enumerate()
        .map(|(i, behaviours)| RawContact {
            behaviours,
            ..raw_at(i as i64 + 1, "2026-11-20T21:30:00Z", cell)
        })
        .collect();
    let index = WijkIndex::from_rows(wijk, rows).expect("index");
    let t = ptable();
    let filter = Filter {
        measure: Measure::Contacts,
        behaviours: nuisance,
        ..Filter::default()
    };
    let a = run(&index, &filter, &t).expect("runs");
    let expected = t.protect(2, key_of(&[1, 3])) + t.protect(1, key_of(&[2]));
    assert_eq!(a.after.values[100], expected);
    assert_eq!(a.after.histogram[22], expected);
    assert_eq!(a.trend.iter().sum::<u64>(), expected);
    assert_eq!(a.after.totals.contacts, expected);
    assert_eq!(protected_cells(&index, &filter, &t), a.after.values);
    // Without a choice of behaviours the evening stays one atom.
    let all = run(
        &index,
        &Filter {
            behaviours: 0,
            ..filter
        },
        &t,
    )
    .expect("runs");
    assert_eq!(all.after.values[100], t.protect(4, key_of(&[1, 2, 3, 4])));
}

#[test]
fn hour_filter_applies_hour_by_hour_to_cells_not_to_the_histogram() {
    let wijk = delfshaven();
    let area =
        crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Ten)
            .expect("tiles");
    let cell = u64::from(area.cells[5]);
    let rows = vec![
        raw_at(1, "2026-11-20T21:30:00Z", cell), // 22:30
        raw_at(2, "2026-11-21T00:30:00Z", cell), // 01:30, same evening
        raw_at(3, "2026-11-20T18:30:00Z", cell), // 19:30
    ];
    let index = WijkIndex::from_rows(wijk, rows).expect("index");
    let filter = Filter {
        hours: parse_hours("22-2").expect("valid"),
        measure: Measure::Contacts,
        ..Filter::default()
    };
    let t = ptable();
    let a = run(&index, &filter, &t).expect("runs");
    // With hours chosen, each hour of the evening is an atom.
    let hours = t.protect(1, key_of(&[1])) + t.protect(1, key_of(&[2]));
    assert_eq!(a.after.values[5], hours);
    assert_eq!(a.after.totals.contacts, hours);
    assert_eq!(protected_cells(&index, &filter, &t), a.after.values);
    assert_eq!(
        (
            a.after.histogram[22],
            a.after.histogram[1],
            a.after.histogram[19]
        ),
        (
            t.protect(1, key_of(&[1])),
            t.protect(1, key_of(&[2])),
            t.protect(1, key_of(&[3]))
        )
    );
    assert_eq!(a.trend.iter().copied().max(), Some(hours));
}

#[test]
fn before_and_after_split_by_period() {
    let wijk = delfshaven();
    let area =
        crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Nine)
            .expect("tiles");
    let cell9 = u64::from(area.cells[3]);
    let mut early = raw_at(1, "2026-11-02T20:00:00Z", 0);
    early.cell_r9 = Some(cell9);
    let mut late = raw_at(2, "2026-11-20T20:00:00Z", 0);
    late.cell_r9 = Some(cell9);
    let third = RawContact {
        seq: 3,
        key: raw_at(3, "2026-11-20T20:00:00Z", 0).key,
        ..late.clone()
    };
    let index = WijkIndex::from_rows(wijk, vec![early, late, third]).expect("index");
    let d = |y, m, d| Some(Date::constant(y, m, d));
    let filter = Filter {
        res: crate::hotspot::filter::Res::Nine,
        measure: Measure::Contacts,
        before: Some(Period {
            from: d(2026, 11, 1),
            to: d(2026, 11, 14),
        }),
        period: Period {
            from: d(2026, 11, 15),
            to: d(2026, 11, 28),
        },
        ..Filter::default()
    };
    let t = ptable();
    let a = run(&index, &filter, &t).expect("runs");
    let before = a.before.expect("comparison");
    assert_eq!(
        (before.values[3], a.after.values[3]),
        (t.protect(1, key_of(&[1])), t.protect(2, key_of(&[2, 3])))
    );
    assert_eq!(a.trend_first_week, day_number(Date::constant(2026, 10, 26)));
    assert_eq!(a.trend.len(), 5);
    assert_eq!(a.trend[1], t.protect(1, key_of(&[1])));
    assert_eq!(a.trend[3], t.protect(2, key_of(&[2, 3])));
}

/// The same records give the same protected counts whatever else the query asks: a
/// cell's count does not change when the filter adds contacts elsewhere.
#[test]
fn the_same_records_get_the_same_noise_under_different_filters() {
    let wijk = delfshaven();
    let area =
        crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Ten)
            .expect("tiles");
    let (a_cell, b_cell) = (u64::from(area.cells[10]), u64::from(area.cells[200]));
    let rows: Vec<RawContact> = (1..=30)
        .map(|s| {
            let at = if s % 2 == 0 {
                "2026-11-20T21:30:00Z"
            } else {
                "2026-11-20T19:30:00Z"
            };
            raw_at(s, at, if s <= 15 { a_cell } else { b_cell })
        })
        .collect();
    let index = WijkIndex::from_rows(wijk, rows).expect("index");
    let t = ptable();
    let late = Filter {
        hours: parse_hours("22-23").expect("valid"),
        ..Filter::default()
    };
    let late_wider = Filter {
        hours: parse_hours("21-23").expect("valid"),
        ..Filter::default()
    };
    // No contact at 21:xx: both filters select the same records in every cell.
    let x = run(&index, &late, &t).expect("runs");
    let y = run(&index, &late_wider, &t).expect("runs");
    assert_eq!(x.after.values, y.after.values);
    assert_eq!(x.after.totals, y.after.totals);
}

/// Issue 9: what a coordinator sees is a function of the protected counts only. One
/// contact more changes the true count of its cell, hour, week and the totals; with a
/// record key for which every one of those protected counts stays the same, every
/// published answer (cells, CSV, histogram, trend, summary) is byte for byte the same.
#[test]
fn published_output_does_not_change_when_only_true_counts_change() {
    use crate::hotspot::{export, view};
    let wijk = delfshaven();
    let area =
        crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Ten)
            .expect("tiles");
    let cell = u64::from(area.cells[42]);
    let at = "2026-11-20T21:30:00Z";
    let mut rows: Vec<RawContact> = (1..=40)
        .map(|s| raw_at(s, at, u64::from(area.cells[100 + s as usize * 7])))
        .collect();
    rows.extend((41..=52).map(|s| raw_at(s, at, cell)));
    let t = ptable();
    let filter = Filter {
        measure: Measure::Contacts,
        ..Filter::default()
    };
    let base = WijkIndex::from_rows(wijk.clone(), rows.clone()).expect("index");
    let a = run(&base, &filter, &t).expect("runs");
    // Every aggregate the new contact joins: its cell (12 contacts), hour, week and the
    // wijk totals (52 contacts), each with its key sum.
    let in_cell = key_of(&(41..=52).collect::<Vec<_>>());
    let all = key_of(&(1..=52).collect::<Vec<_>>());
    let children = 52u64;
    let same = |k: RecordKey| {
        let plus = |key: CellKey| {
            let mut key = key;
            key.add(k);
            key
        };
        t.protect(13, plus(in_cell)) == t.protect(12, in_cell)
            && t.protect(53, plus(all)) == t.protect(52, all)
            && t.protect(
                children + 1,
                plus(all).for_children(crate::hotspot::filter::ALL_BANDS),
            ) == t.protect(
                children,
                all.for_children(crate::hotspot::filter::ALL_BANDS),
            )
    };
    let key = (0..u32::MAX)
        .step_by(997)
        .map(RecordKey)
        .find(|&k| same(k))
        .expect("a key that keeps every protected count");
    rows.push(RawContact {
        key,
        ..raw_at(53, at, cell)
    });
    let more = WijkIndex::from_rows(wijk, rows).expect("index");
    let b = run(&more, &filter, &t).expect("runs");
    assert_ne!(
        base.contacts.len(),
        more.contacts.len(),
        "the true counts differ"
    );
    assert!(a == b, "the protected counts are the same");
    let json = |x: &dyn erased::Ser| x.json();
    assert_eq!(json(&view::cells(&base, &a)), json(&view::cells(&more, &b)));
    assert_eq!(
        export::csv(&view::cells(&base, &a)),
        export::csv(&view::cells(&more, &b))
    );
    assert_eq!(json(&view::histogram(&a)), json(&view::histogram(&b)));
    assert_eq!(json(&view::trend(&a)), json(&view::trend(&b)));
    assert_eq!(
        json(&view::summary(&base, &a)),
        json(&view::summary(&more, &b))
    );
}

/// Serialises the different view types through one function.
mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self).expect("serialises")
        }
    }
}

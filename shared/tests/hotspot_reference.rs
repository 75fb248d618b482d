//! Checks the Gi* z-scores against PySAL esda, the reference implementation that GIS analysts
//! use. The fixture `fixtures/hotspot_esda.json` comes from `fixtures/hotspot_esda.py`
//! (`esda.G_Local(y, w, star=True, transform="B").Zs`); that script also asserts that esda's
//! self weight is 1 and that its z equals the Ord–Getis formula documented on `gi_star`.
//!
//! Since issue 9 the map runs `analyse` on the *protected* cell counts (the cell-key method,
//! `disclosure.rs`), never on the true ones; `gi_star` is a function of whatever counts it
//! is given, so this agreement is the agreement between the map's Gi* and esda run on the
//! same protected counts (`server/src/hotspot/analysis.rs`,
//! `gi_star_is_computed_from_the_protected_counts`, checks that the map passes exactly those).

use avondronde_shared::hotspot::{analyse, gi_star};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    generator: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    values: Vec<f64>,
    neighbours: Vec<Vec<usize>>,
    expected_z: Vec<f64>,
}

#[test]
fn gi_star_matches_esda_g_local_star_binary() {
    let fixture: Fixture = serde_json::from_str(include_str!("fixtures/hotspot_esda.json"))
        .expect("fixture is valid JSON");
    assert!(fixture.cases.len() >= 3);
    let mut max_difference = 0.0_f64;
    for case in &fixture.cases {
        let gi = gi_star(&case.values, &case.neighbours).expect("fixture study area is valid");
        assert_eq!(gi.len(), case.expected_z.len(), "{}", case.name);
        for (cell, (actual, expected)) in gi.iter().zip(&case.expected_z).enumerate() {
            let difference = (actual.z - expected).abs();
            assert!(
                difference <= 1e-9,
                "{} cell {cell}: z {} but esda {expected}",
                case.name,
                actual.z
            );
            max_difference = max_difference.max(difference);
        }
        // analyse reports the same z; the FDR and bins sit on top of it.
        let hotspots =
            analyse(&case.values, &case.neighbours).expect("fixture study area is valid");
        assert!(
            hotspots
                .iter()
                .zip(&gi)
                .all(|(h, g)| h.z == g.z && h.p == g.p),
            "{}",
            case.name
        );
    }
    println!(
        "max |z - esda Zs| = {max_difference:e} ({})",
        fixture.generator
    );
}

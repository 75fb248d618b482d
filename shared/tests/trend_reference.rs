//! Cross-checks the emerging hot spot statistics against reference implementations, from
//! fixtures generated once and committed, so that this test runs without Python or R:
//!
//! - `fixtures/trend_reference.json` (`fixtures/trend_reference.py`): Mann–Kendall S,
//!   variance, z, p and tau from `pymannkendall.original_test` on series with and without
//!   ties, and space-time Gi* z per bin from PySAL esda (`G_Local(star=True,
//!   transform="B")` on a space-time weights object the script builds on its own);
//! - `fixtures/trend_sfdep_classes.json` (`fixtures/trend_sfdep_classes.R`): the class of 315
//!   generated z / significance / trend inputs under sfdep's own rule functions, run in R.

use avondronde_shared::trend::{Pattern, classify, cube_gi, mann_kendall};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    generator: String,
    mann_kendall: Vec<MkCase>,
    cubes: Vec<CubeCase>,
}

#[derive(Deserialize)]
struct MkCase {
    name: String,
    x: Vec<f64>,
    s: i64,
    var_s: f64,
    z: f64,
    p: f64,
    tau: f64,
}

#[derive(Deserialize)]
struct CubeCase {
    name: String,
    steps: usize,
    spatial: Vec<Vec<usize>>,
    values: Vec<f64>,
    expected_z: Vec<f64>,
}

fn reference() -> Reference {
    serde_json::from_str(include_str!("fixtures/trend_reference.json")).expect("valid fixture")
}

#[test]
fn mann_kendall_matches_pymannkendall_including_ties() {
    let reference = reference();
    assert!(reference.mann_kendall.len() >= 20);
    let with_ties = reference
        .mann_kendall
        .iter()
        .filter(|c| {
            let mut x = c.x.clone();
            x.sort_by(f64::total_cmp);
            x.windows(2).any(|w| w[0] == w[1])
        })
        .count();
    assert!(with_ties >= 10, "only {with_ties} series with ties");
    let mut worst = 0.0_f64;
    for case in &reference.mann_kendall {
        let mk = mann_kendall(&case.x);
        assert_eq!(mk.s, case.s, "{}: S", case.name);
        for (what, ours, theirs) in [
            ("var_s", mk.var_s, case.var_s),
            ("z", mk.z, case.z),
            ("p", mk.p, case.p),
            ("tau", mk.tau, case.tau),
        ] {
            let d = (ours - theirs).abs();
            assert!(
                d <= 1e-9,
                "{}: {what} {ours} but pymannkendall {theirs}",
                case.name
            );
            worst = worst.max(d);
        }
    }
    println!("max difference {worst:e} ({})", reference.generator);
}

#[test]
fn spacetime_gi_star_matches_esda_on_the_cube() {
    let reference = reference();
    assert!(reference.cubes.len() >= 3);
    let mut worst = 0.0_f64;
    for case in &reference.cubes {
        let bins = cube_gi(&case.values, &case.spatial, case.steps).expect("valid cube");
        assert_eq!(bins.len(), case.expected_z.len(), "{}", case.name);
        for (b, (ours, theirs)) in bins.iter().zip(&case.expected_z).enumerate() {
            let d = (ours.z - theirs).abs();
            assert!(
                d <= 1e-9,
                "{} bin {b}: z {} but esda {theirs}",
                case.name,
                ours.z
            );
            worst = worst.max(d);
        }
    }
    println!("max |z - esda| = {worst:e} ({})", reference.generator);
}

#[derive(Deserialize)]
struct Classes {
    generator: String,
    cases: Vec<ClassCase>,
}

#[derive(Deserialize)]
struct ClassCase {
    z: Vec<f64>,
    significant: Vec<bool>,
    tau: f64,
    tau_p: f64,
    threshold: f64,
    class: String,
}

#[test]
fn classes_match_sfdep_rules_run_in_r() {
    let fixture: Classes = serde_json::from_str(include_str!("fixtures/trend_sfdep_classes.json"))
        .expect("valid fixture");
    let mut seen = std::collections::HashSet::new();
    for (i, case) in fixture.cases.iter().enumerate() {
        let expected = Pattern::from_sfdep(&case.class)
            .unwrap_or_else(|| panic!("unknown sfdep class {:?}", case.class));
        let ours = classify(
            &case.z,
            &case.significant,
            case.tau,
            case.tau_p,
            case.threshold,
        );
        assert_eq!(ours, expected, "case {i} ({})", fixture.generator);
        seen.insert(expected);
    }
    assert_eq!(seen.len(), 17, "the fixture reaches every class");
}

//! The 17 emerging hot spot classes, one case table written by hand from reading sfdep's
//! rules (`R/emerging-hostpot-classifications.R`, JosiahParry/sfdep commit 008a59b; the
//! line numbers are in each case's name and in `avondronde_shared::trend::classify`).
//! `+`/`-` are significant hot/cold bins (z = ±3), `.` not significant (z = +0.5, or −0.5
//! when written `,`). α = 0.05.

use avondronde_shared::trend::{Pattern, classify};
use rstest::rstest;

fn series(s: &str) -> (Vec<f64>, Vec<bool>) {
    s.chars()
        .map(|c| match c {
            '+' => (3.0, true),
            '-' => (-3.0, true),
            '.' => (0.5, false),
            ',' => (-0.5, false),
            other => panic!("unknown symbol {other}"),
        })
        .unzip()
}

const A: f64 = 0.05;

#[rstest]
// Lines 4–6: one significant bin, the last, hot.
#[case::new_hot_l4(".........+", 0.2, 0.9, Pattern::NewHotspot)]
// Lines 66–68.
#[case::new_cold_l66(".........-", 0.2, 0.9, Pattern::NewColdspot)]
// Lines 8–19: a final run, nothing before; the run's inner bins may even be cold (only the
// last bin's sign is checked).
#[case::consecutive_hot_l8(".......+++", 0.5, 0.01, Pattern::ConsecutiveHotspot)]
#[case::consecutive_hot_run_with_cold_inside_l13(
    "......+-++",
    0.5,
    0.01,
    Pattern::ConsecutiveHotspot
)]
#[case::not_consecutive_after_earlier_hot_l14("..+....+++", 0.5, 0.01, Pattern::SporadicHotspot)]
// Lines 70–85.
#[case::consecutive_cold_l70("........--", -0.5, 0.01, Pattern::ConsecutiveColdspot)]
// Lines 21–23: ≥ 90 % significant of *either* sign, last significant, tau > 0, p < α.
#[case::intensifying_hot_l21("++++++++++", 0.6, 0.001, Pattern::IntensifyingHotspot)]
#[case::intensifying_counts_cold_bins_too_l22(
    "-+++++++++",
    0.6,
    0.001,
    Pattern::IntensifyingHotspot
)]
// p exactly α: not "< α" (line 22), not "> α" (line 26), and the trend is not falling
// (line 31): no rule holds.
#[case::intensifying_needs_p_strictly_below_l22("++++++++++", 0.6, 0.05, Pattern::NoPattern)]
// Lines 87–93: p ≤ α suffices here.
#[case::intensifying_cold_l87("----------", -0.6, 0.05, Pattern::IntensifyingColdspot)]
// Lines 25–27: ≥ 90 % hot, no significant trend (last bin not required).
#[case::persistent_hot_l25("+++++++++.", 0.1, 0.5, Pattern::PersistentHotspot)]
// Lines 95–97.
#[case::persistent_cold_l95("---------,", 0.1, 0.5, Pattern::PersistentColdspot)]
// Lines 29–33: ≥ 90 % hot, last significant, tau < 0, p ≤ α.
#[case::diminishing_hot_l29("++++++++++", -0.6, 0.001, Pattern::DiminishingHotspot)]
#[case::diminishing_hot_at_alpha_l32("++++++++++", -0.6, 0.05, Pattern::DiminishingHotspot)]
// Lines 99–101. Only reachable with p exactly α: below it, line 22 (which counts
// significant bins of either sign) calls a rising cold spot an intensifying *hot* spot first.
#[case::diminishing_cold_l99("----------", 0.6, 0.05, Pattern::DiminishingColdspot)]
#[case::rising_cold_spot_is_intensifying_hot_l22(
    "----------",
    0.6,
    0.001,
    Pattern::IntensifyingHotspot
)]
// Lines 58–60: ≤ 90 % hot, last hot, some cold bin.
#[case::oscillating_hot_l58("-..+...+.+", 0.1, 0.5, Pattern::OscillatingHotspot)]
// Lines 103–105.
#[case::oscillating_cold_l103("+..-...-.-", -0.1, 0.5, Pattern::OscillatingColdspot)]
// Lines 62–64: ≥ 90 % hot, last z negative (a significant trend, so not persistent).
#[case::historical_hot_l62("+++++++++,", -0.6, 0.001, Pattern::HistoricalHotspot)]
#[case::last_not_negative_is_no_pattern_l63("+++++++++.", -0.6, 0.001, Pattern::NoPattern)]
// Lines 107–109.
#[case::historical_cold_l107("---------.", 0.6, 0.001, Pattern::HistoricalColdspot)]
// Lines 42–46: < 90 % hot, never cold, at least once hot.
#[case::sporadic_hot_l42(".+..+..+..", 0.0, 1.0, Pattern::SporadicHotspot)]
// Lines 49–55.
#[case::sporadic_cold_l49(".-..-..-.,", 0.0, 1.0, Pattern::SporadicColdspot)]
// Line 128.
#[case::no_pattern_l128("..........", 0.0, 1.0, Pattern::NoPattern)]
#[case::mixed_but_not_last_is_no_pattern_l128("+.-.......", 0.0, 1.0, Pattern::NoPattern)]
fn sfdep_rule(#[case] s: &str, #[case] tau: f64, #[case] tau_p: f64, #[case] expected: Pattern) {
    let (z, sig) = series(s);
    assert_eq!(classify(&z, &sig, tau, tau_p, A), expected);
}

//! Emerging hot spots (issue 15): where a problem is **new, growing, persistent or fading**.
//!
//! A single-period Gi\* map ([`crate::hotspot`]) answers "where now". This module answers
//! "since when, and which way is it going", the way ArcGIS's *Emerging Hot Spot Analysis*
//! does, in three pure steps over a **space-time cube** (locations × time steps):
//!
//! 1. **Gi\* per bin with space-time neighbours** ([`cube_gi`]). A bin is one location in
//!    one time step. Its neighbourhood is its ring-1 locations in the same step, plus the
//!    same location and its ring-1 locations in the previous step (ArcGIS "neighborhood
//!    time step" 1; sfdep `spt_nb(k = 1)`, `R/spacetime-nb-wt.R` lines 29–66, lags the same
//!    spatial neighbourhood, self included, by one slice). The statistic is the map's
//!    [`gi_star`] on the whole cube as one study area: binary weights, mean and standard
//!    deviation over *all* bins of the cube (ArcGIS compares a bin's local sum with the
//!    sum of all bins). sfdep instead uses each slice's own mean
//!    (`R/spacetime-local-gistar-impl.R` lines 47–60) and permutation p-values; we follow
//!    ArcGIS, so that the z-scores equal PySAL esda's `G_Local` on the space-time weights
//!    (`tests/trend_reference.rs`).
//! 2. **FDR** over all bins of the cube (Benjamini–Hochberg, [`bh_q_values`]); a bin is
//!    *significant* when its q-value is at most α.
//! 3. **Mann–Kendall** on each location's series of z-scores ([`mann_kendall`]), with the
//!    tie correction of the variance, and the **17 classes** ([`classify`]) by the rules that
//!    sfdep publishes in `R/emerging-hostpot-classifications.R` (JosiahParry/sfdep at commit
//!    008a59b; each rule below cites its lines), evaluated in sfdep's order (lines 111–128):
//!    the first rule that holds wins.
//!
//! There is no H3 and no count here: `values` are whatever per-cell counts the caller
//! trusts to be shown (the server passes the same per-cell counts as the map), laid out
//! step-major: `values[t * locations + l]`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::hotspot::{Hotspot, HotspotError, bh_q_values, gi_bin, gi_star, p_value};

/// The fewest time steps a trend is computed over (issue 15: "at least 8 steps").
pub const MIN_STEPS: usize = 8;

/// The level used for both the bins' FDR significance and the Mann–Kendall test, as sfdep
/// uses one `threshold` for both (`R/emerging-hostpot-classifications.R` lines 136–151).
/// 5 %, the map's FDR level ([`crate::hotspot::FDR_ALPHA`]); sfdep's default is 1 %.
pub const TREND_ALPHA: f64 = 0.05;

/// Why a cube cannot be analysed. Caller bugs, except [`TrendError::TooFewSteps`], which a
/// server turns into a message for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrendError {
    /// Fewer than [`MIN_STEPS`] time steps.
    #[error("{steps} time steps; a trend needs at least {min}")]
    TooFewSteps {
        /// Steps given.
        steps: usize,
        /// [`MIN_STEPS`].
        min: usize,
    },
    /// `values.len()` is not `locations × steps`.
    #[error("{values} values for {locations} locations × {steps} steps")]
    Shape {
        /// Length of `values`.
        values: usize,
        /// Number of locations (length of the spatial neighbour lists).
        locations: usize,
        /// Number of steps.
        steps: usize,
    },
    /// The cube as a Gi\* study area is invalid (a value or neighbour list).
    #[error("space-time cube: {0}")]
    Hotspot(#[from] HotspotError),
}

/// The space-time neighbours of every bin of a cube with `steps` slices of the locations
/// whose ring neighbours (without the location itself) are `spatial`.
///
/// Bin `t * L + l` has: the ring of `l` in slice `t`, and `l` with its ring in slice `t − 1`
/// (none for `t = 0`). Each list is sorted and, like [`gi_star`] wants it, leaves out the
/// bin itself.
pub fn spacetime_neighbours(spatial: &[Vec<usize>], steps: usize) -> Vec<Vec<usize>> {
    let l_count = spatial.len();
    let mut out = Vec::with_capacity(l_count * steps);
    for t in 0..steps {
        for (l, ring) in spatial.iter().enumerate() {
            let mut bins = Vec::with_capacity(2 * ring.len() + 1);
            if t > 0 {
                let prev = (t - 1) * l_count;
                bins.push(prev + l);
                bins.extend(ring.iter().map(|&j| prev + j));
            }
            bins.extend(ring.iter().map(|&j| t * l_count + j));
            bins.sort_unstable();
            out.push(bins);
        }
    }
    out
}

/// Gi\* of every bin of the cube, step-major, with Benjamini–Hochberg q-values over all bins
/// and ArcGIS bins ([`gi_bin`]). [`Hotspot::significant`] is at the map's 5 %.
///
/// # Errors
/// [`TrendError::Shape`] when `values` is not `spatial.len() × steps` long; the errors of
/// [`gi_star`] for invalid values or neighbour lists.
pub fn cube_gi(
    values: &[f64],
    spatial: &[Vec<usize>],
    steps: usize,
) -> Result<Vec<Hotspot>, TrendError> {
    if values.len() != spatial.len() * steps {
        return Err(TrendError::Shape {
            values: values.len(),
            locations: spatial.len(),
            steps,
        });
    }
    let gi = gi_star(values, &spacetime_neighbours(spatial, steps))?;
    let p: Vec<f64> = gi.iter().map(|g| g.p).collect();
    let q = bh_q_values(&p);
    Ok(gi
        .iter()
        .zip(q)
        .map(|(g, q)| Hotspot {
            z: g.z,
            p: g.p,
            q,
            significant: q <= crate::hotspot::FDR_ALPHA,
            bin: gi_bin(g.z, q),
        })
        .collect())
}

/// The Mann–Kendall trend test of one series (normal approximation, two-sided).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MannKendall {
    /// `S = Σ_{k<j} sign(x_j − x_k)`: positive for a rising series.
    pub s: i64,
    /// Variance of S under no trend, corrected for ties:
    /// `(n(n−1)(2n+5) − Σ_g t_g(t_g−1)(2t_g+5)) / 18` over the groups of equal values.
    pub var_s: f64,
    /// `(S − 1)/√var` for S > 0, `(S + 1)/√var` for S < 0 (continuity correction), else 0.
    pub z: f64,
    /// Two-sided p-value of `z`.
    pub p: f64,
    /// Kendall's tau-a, `S / (n(n−1)/2)` (pymannkendall's `Tau`); 0 for fewer than 2 values.
    pub tau: f64,
}

/// Mann–Kendall test of a series, as `pymannkendall.original_test` computes it (S, tie-
/// corrected variance, continuity-corrected z, two-sided normal p; `tests/trend_reference.rs`
/// checks all four against it). NaN values are left out, as pymannkendall does. A series
/// with zero variance (fewer than 2 values, or all equal) gets z = 0 and p = 1.
///
/// O(n²) comparisons, which for the at most a few hundred steps of a cube is nothing.
pub fn mann_kendall(series: &[f64]) -> MannKendall {
    let x: Vec<f64> = series.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = x.len();
    let mut s: i64 = 0;
    for k in 0..n {
        for j in k + 1..n {
            // sign(0) = 0 for ties, as np.sign.
            if x[j] > x[k] {
                s += 1;
            } else if x[j] < x[k] {
                s -= 1;
            }
        }
    }
    let mut sorted = x.clone();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut ties = 0.0_f64;
    let mut start = 0;
    while start < n {
        // `==`, not total_cmp: -0.0 and 0.0 tie, as they do in np.unique.
        let end = start
            + sorted[start..]
                .iter()
                .take_while(|&&v| v == sorted[start])
                .count();
        let t = (end - start) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        start = end;
    }
    let nf = n as f64;
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = if var_s <= 0.0 || s == 0 {
        0.0
    } else if s > 0 {
        (s - 1) as f64 / var_s.sqrt()
    } else {
        (s + 1) as f64 / var_s.sqrt()
    };
    let pairs = nf * (nf - 1.0) / 2.0;
    MannKendall {
        s,
        var_s,
        z,
        p: p_value(z),
        tau: if pairs > 0.0 { s as f64 / pairs } else { 0.0 },
    }
}

/// The 17 emerging hot spot classes of ArcGIS, as sfdep implements them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// Significant hot spot only in the last step.
    NewHotspot,
    /// One uninterrupted run of significant bins at the end, none before.
    ConsecutiveHotspot,
    /// Significant in ≥ 90 % of the steps including the last, significantly rising.
    IntensifyingHotspot,
    /// Hot in ≥ 90 % of the steps, no significant trend.
    PersistentHotspot,
    /// Hot in ≥ 90 % of the steps including the last, significantly falling.
    DiminishingHotspot,
    /// Sometimes a significant hot spot, never a significant cold spot.
    SporadicHotspot,
    /// A significant hot spot now, a significant cold spot at some earlier step.
    OscillatingHotspot,
    /// Hot in ≥ 90 % of the steps, but not now.
    HistoricalHotspot,
    /// Cold counterpart of [`Pattern::NewHotspot`].
    NewColdspot,
    /// Cold counterpart of [`Pattern::ConsecutiveHotspot`].
    ConsecutiveColdspot,
    /// Cold counterpart of [`Pattern::IntensifyingHotspot`].
    IntensifyingColdspot,
    /// Cold counterpart of [`Pattern::PersistentHotspot`].
    PersistentColdspot,
    /// Cold counterpart of [`Pattern::DiminishingHotspot`].
    DiminishingColdspot,
    /// Cold counterpart of [`Pattern::SporadicHotspot`].
    SporadicColdspot,
    /// Cold counterpart of [`Pattern::OscillatingHotspot`].
    OscillatingColdspot,
    /// Cold counterpart of [`Pattern::HistoricalHotspot`].
    HistoricalColdspot,
    /// None of the above.
    NoPattern,
}

impl Pattern {
    /// All 17, in the order of the legend (hot, cold, none).
    pub const ALL: [Pattern; 17] = [
        Pattern::NewHotspot,
        Pattern::ConsecutiveHotspot,
        Pattern::IntensifyingHotspot,
        Pattern::PersistentHotspot,
        Pattern::DiminishingHotspot,
        Pattern::SporadicHotspot,
        Pattern::OscillatingHotspot,
        Pattern::HistoricalHotspot,
        Pattern::NewColdspot,
        Pattern::ConsecutiveColdspot,
        Pattern::IntensifyingColdspot,
        Pattern::PersistentColdspot,
        Pattern::DiminishingColdspot,
        Pattern::SporadicColdspot,
        Pattern::OscillatingColdspot,
        Pattern::HistoricalColdspot,
        Pattern::NoPattern,
    ];

    /// The stable code, e.g. `intensifying_hotspot` (the serde form).
    pub fn code(self) -> &'static str {
        match self {
            Pattern::NewHotspot => "new_hotspot",
            Pattern::ConsecutiveHotspot => "consecutive_hotspot",
            Pattern::IntensifyingHotspot => "intensifying_hotspot",
            Pattern::PersistentHotspot => "persistent_hotspot",
            Pattern::DiminishingHotspot => "diminishing_hotspot",
            Pattern::SporadicHotspot => "sporadic_hotspot",
            Pattern::OscillatingHotspot => "oscillating_hotspot",
            Pattern::HistoricalHotspot => "historical_hotspot",
            Pattern::NewColdspot => "new_coldspot",
            Pattern::ConsecutiveColdspot => "consecutive_coldspot",
            Pattern::IntensifyingColdspot => "intensifying_coldspot",
            Pattern::PersistentColdspot => "persistent_coldspot",
            Pattern::DiminishingColdspot => "diminishing_coldspot",
            Pattern::SporadicColdspot => "sporadic_coldspot",
            Pattern::OscillatingColdspot => "oscillating_coldspot",
            Pattern::HistoricalColdspot => "historical_coldspot",
            Pattern::NoPattern => "no_pattern",
        }
    }

    /// The class by its sfdep name (`"new hotspot"`, `"oscilating coldspot"`, `"no pattern
    /// detected"`; sfdep lines 111–128), for the reference fixtures.
    pub fn from_sfdep(name: &str) -> Option<Pattern> {
        let code = match name {
            "no pattern detected" => "no_pattern".to_owned(),
            other => other.replace("oscilating", "oscillating").replace(' ', "_"),
        };
        Pattern::ALL.into_iter().find(|p| p.code() == code)
    }

    /// The short Dutch legend word a coordinator reads.
    pub fn label_nl(self) -> &'static str {
        match self {
            Pattern::NewHotspot => "nieuw",
            Pattern::ConsecutiveHotspot => "sinds kort",
            Pattern::IntensifyingHotspot => "toenemend",
            Pattern::PersistentHotspot => "hardnekkig",
            Pattern::DiminishingHotspot => "afnemend",
            Pattern::SporadicHotspot => "af en toe",
            Pattern::OscillatingHotspot => "wisselend",
            Pattern::HistoricalHotspot => "vroeger",
            Pattern::NewColdspot => "nieuw rustig",
            Pattern::ConsecutiveColdspot => "sinds kort rustig",
            Pattern::IntensifyingColdspot => "steeds rustiger",
            Pattern::PersistentColdspot => "blijvend rustig",
            Pattern::DiminishingColdspot => "minder rustig",
            Pattern::SporadicColdspot => "af en toe rustig",
            Pattern::OscillatingColdspot => "wisselend, nu rustig",
            Pattern::HistoricalColdspot => "vroeger rustig",
            Pattern::NoPattern => "geen patroon",
        }
    }

    /// One Dutch sentence explaining the class, for the legend's tooltip and the exports.
    pub fn explanation_nl(self) -> &'static str {
        match self {
            Pattern::NewHotspot => "Alleen in de laatste periode een hotspot, daarvoor nooit.",
            Pattern::ConsecutiveHotspot => {
                "De laatste periodes achter elkaar een hotspot, daarvoor nooit."
            }
            Pattern::IntensifyingHotspot => {
                "Bijna altijd een hotspot, ook nu, en het wordt duidelijk erger."
            }
            Pattern::PersistentHotspot => "Bijna altijd een hotspot, zonder duidelijke trend.",
            Pattern::DiminishingHotspot => {
                "Bijna altijd een hotspot, ook nu, maar het wordt duidelijk minder."
            }
            Pattern::SporadicHotspot => "Soms een hotspot, soms niet; nooit opvallend rustig.",
            Pattern::OscillatingHotspot => "Nu een hotspot, maar eerder juist opvallend rustig.",
            Pattern::HistoricalHotspot => "Vroeger bijna altijd een hotspot, nu niet meer.",
            Pattern::NewColdspot => "Alleen in de laatste periode opvallend rustig.",
            Pattern::ConsecutiveColdspot => "De laatste periodes achter elkaar opvallend rustig.",
            Pattern::IntensifyingColdspot => "Bijna altijd rustig, en het wordt steeds rustiger.",
            Pattern::PersistentColdspot => "Bijna altijd opvallend rustig, zonder trend.",
            Pattern::DiminishingColdspot => "Bijna altijd rustig, maar het wordt drukker.",
            Pattern::SporadicColdspot => "Soms opvallend rustig; nooit een hotspot.",
            Pattern::OscillatingColdspot => "Nu opvallend rustig, maar eerder een hotspot.",
            Pattern::HistoricalColdspot => "Vroeger bijna altijd rustig, nu niet meer.",
            Pattern::NoPattern => "Geen hotspot of rustige plek in deze periode.",
        }
    }

    /// Whether this is one of the eight hot spot classes.
    pub fn is_hot(self) -> bool {
        Pattern::ALL[..8].contains(&self)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Classifies one location from its z series, which bins are significant, and the
/// Mann–Kendall `tau` (only its sign matters) and p-value `tau_p` of the z series, at level
/// `alpha` (sfdep's `threshold`).
///
/// The rules are sfdep's (`R/emerging-hostpot-classifications.R`, commit 008a59b), checked in
/// sfdep's order (lines 111–128); the first that holds wins. "hot" below means significant
/// with z > 0, "cold" significant with z < 0, `n` the number of steps, `last` the last step.
/// Ratios are floating-point divisions, as in R (9 of 10 is exactly `>= 0.9`). sfdep's rules
/// differ in places from ArcGIS's prose, and we keep sfdep's, which are code and which the
/// issue names as the reference (`tests/trend_sfdep_classes.json` runs them in R):
/// - a historical hot spot needs a *negative* last z (line 63), not merely a last bin that is
///   not significant;
/// - the intensifying hot spot rule (line 22) counts significant bins of *either* sign, so a
///   location that is a significant cold spot throughout and rises significantly is called
///   an intensifying **hot** spot before the diminishing cold spot rule (line 100) is reached;
/// - with a trend p-value exactly equal to α, neither "intensifying" (`<`, line 22) nor
///   "persistent" (`>`, line 26) holds.
pub fn classify(z: &[f64], significant: &[bool], tau: f64, tau_p: f64, alpha: f64) -> Pattern {
    let n = z.len().min(significant.len());
    if n == 0 {
        return Pattern::NoPattern;
    }
    let (z, sig) = (&z[..n], &significant[..n]);
    let last = n - 1;
    let nf = n as f64;
    let count = |f: &dyn Fn(usize) -> bool| (0..n).filter(|&i| f(i)).count();
    let sigs = count(&|i| sig[i]) as f64;
    let hot = count(&|i| sig[i] && z[i] > 0.0) as f64;
    let cold = count(&|i| sig[i] && z[i] < 0.0) as f64;
    let any_hot = hot > 0.0;
    let any_cold = cold > 0.0;
    let last_hot = sig[last] && z[last] > 0.0;
    let last_cold = sig[last] && z[last] < 0.0;
    // Length of the final run of significant bins (lines 11 and 77: `which(diff(cumsum(
    // c(rev(sigs), FALSE))) == 0)[1]`), and whether nothing before it was significant
    // (lines 14–17 and 80–83).
    let run = sig.iter().rev().take_while(|&&s| s).count();
    let only_final_run = sig[..n - run].iter().all(|&s| !s);

    // Lines 4–6: exactly one significant bin, the last, hot.
    if sigs == 1.0 && last_hot {
        return Pattern::NewHotspot;
    }
    // Lines 66–68: the same, cold.
    if sigs == 1.0 && last_cold {
        return Pattern::NewColdspot;
    }
    // Lines 8–19: last bin hot, one final run of significant bins, none before it, and
    // fewer than 90 % hot bins.
    if last_hot && only_final_run && hot / nf < 0.9 {
        return Pattern::ConsecutiveHotspot;
    }
    // Lines 70–85: the same, cold.
    if last_cold && only_final_run && cold / nf < 0.9 {
        return Pattern::ConsecutiveColdspot;
    }
    // Lines 21–23: ≥ 90 % significant bins (of either sign), last significant, rising trend
    // with p strictly below the threshold.
    if sigs / nf >= 0.9 && sig[last] && tau > 0.0 && tau_p < alpha {
        return Pattern::IntensifyingHotspot;
    }
    // Lines 87–93: ≥ 90 % cold, last significant, falling, p ≤ threshold.
    if cold / nf >= 0.9 && sig[last] && tau < 0.0 && tau_p <= alpha {
        return Pattern::IntensifyingColdspot;
    }
    // Lines 25–27: ≥ 90 % hot and no significant trend.
    if hot / nf >= 0.9 && tau_p > alpha {
        return Pattern::PersistentHotspot;
    }
    // Lines 95–97: ≥ 90 % cold and no significant trend.
    if cold / nf >= 0.9 && tau_p > alpha {
        return Pattern::PersistentColdspot;
    }
    // Lines 29–33: ≥ 90 % hot, last significant, falling, p ≤ threshold.
    if hot / nf >= 0.9 && sig[last] && tau < 0.0 && tau_p <= alpha {
        return Pattern::DiminishingHotspot;
    }
    // Lines 99–101: ≥ 90 % cold, last significant, rising, p ≤ threshold.
    if cold / nf >= 0.9 && sig[last] && tau > 0.0 && tau_p <= alpha {
        return Pattern::DiminishingColdspot;
    }
    // Lines 58–60: at most 90 % hot, last hot, and some cold bin.
    if hot / nf <= 0.9 && last_hot && any_cold {
        return Pattern::OscillatingHotspot;
    }
    // Lines 103–105: under 90 % cold, last cold, and some hot bin.
    if cold / nf < 0.9 && last_cold && any_hot {
        return Pattern::OscillatingColdspot;
    }
    // Lines 62–64: ≥ 90 % hot, and the last z negative.
    if hot / nf >= 0.9 && z[last] < 0.0 {
        return Pattern::HistoricalHotspot;
    }
    // Lines 107–109: the last z positive, and ≥ 90 % cold.
    if z[last] > 0.0 && cold / nf >= 0.9 {
        return Pattern::HistoricalColdspot;
    }
    // Lines 42–46: under 90 % hot, never cold, at least once hot.
    if hot / nf < 0.9 && !any_cold && any_hot {
        return Pattern::SporadicHotspot;
    }
    // Lines 50–54: under 90 % cold, never hot, at least once cold.
    if cold / nf < 0.9 && !any_hot && any_cold {
        return Pattern::SporadicColdspot;
    }
    // Line 128.
    Pattern::NoPattern
}

/// The trend of one location of the cube.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationTrend {
    /// The class.
    pub pattern: Pattern,
    /// Mann–Kendall of the z series.
    pub mann_kendall: MannKendall,
    /// Gi\* z per step.
    pub z: Vec<f64>,
    /// Whether each step's bin passes FDR at α.
    pub significant: Vec<bool>,
    /// ArcGIS `Gi_Bin` per step (±3/±2/±1 at 99/95/90 % after FDR, else 0).
    pub bins: Vec<i8>,
}

/// The whole analysis: Gi\* per bin ([`cube_gi`]), FDR, Mann–Kendall and the class per
/// location, at level `alpha` for both the bins and the trend.
///
/// # Errors
/// [`TrendError::TooFewSteps`] below [`MIN_STEPS`], and the errors of [`cube_gi`].
pub fn emerging_hotspots(
    values: &[f64],
    spatial: &[Vec<usize>],
    steps: usize,
    alpha: f64,
) -> Result<Vec<LocationTrend>, TrendError> {
    if steps < MIN_STEPS {
        return Err(TrendError::TooFewSteps {
            steps,
            min: MIN_STEPS,
        });
    }
    let bins = cube_gi(values, spatial, steps)?;
    let l_count = spatial.len();
    Ok((0..l_count)
        .map(|l| {
            let series: Vec<&Hotspot> = (0..steps).map(|t| &bins[t * l_count + l]).collect();
            let z: Vec<f64> = series.iter().map(|h| h.z).collect();
            let significant: Vec<bool> = series.iter().map(|h| h.q <= alpha).collect();
            let mk = mann_kendall(&z);
            LocationTrend {
                pattern: classify(&z, &significant, mk.tau, mk.p, alpha),
                mann_kendall: mk,
                bins: series.iter().map(|h| h.bin).collect(),
                z,
                significant,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn line(n: usize) -> Vec<Vec<usize>> {
        (0..n)
            .map(|i| {
                (i.saturating_sub(1)..(i + 2).min(n))
                    .filter(|&j| j != i)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn spacetime_neighbours_add_the_previous_slice() {
        let nb = spacetime_neighbours(&line(3), 2);
        assert_eq!(nb.len(), 6);
        // Slice 0: only the spatial ring.
        assert_eq!(nb[0], vec![1]);
        assert_eq!(nb[1], vec![0, 2]);
        // Slice 1, location 1 (bin 4): itself and its ring in slice 0, its ring in slice 1.
        assert_eq!(nb[4], vec![0, 1, 2, 3, 5]);
        assert_eq!(nb[3], vec![0, 1, 4]);
    }

    #[rstest]
    #[case::rising(&[1.0, 2.0, 3.0, 4.0, 5.0], 10, 300.0 / 18.0)]
    #[case::falling(&[5.0, 4.0, 3.0, 2.0, 1.0], -10, 300.0 / 18.0)]
    // Ties {2, 2}: 5·4·15 − 2·1·9 = 282, / 18.
    #[case::one_tie(&[1.0, 2.0, 2.0, 3.0, 4.0], 9, 282.0 / 18.0)]
    #[case::all_tied(&[3.0, 3.0, 3.0], 0, 0.0)]
    #[case::negative_zero_ties_zero(&[0.0, -0.0, 1.0], 2, (3.0 * 2.0 * 11.0 - 18.0) / 18.0)]
    fn mann_kendall_s_and_tie_corrected_variance(
        #[case] x: &[f64],
        #[case] s: i64,
        #[case] var: f64,
    ) {
        let mk = mann_kendall(x);
        assert_eq!(mk.s, s);
        assert!((mk.var_s - var).abs() < 1e-12, "{mk:?}");
    }

    #[test]
    fn mann_kendall_without_variance_is_no_trend() {
        for x in [&[][..], &[1.0], &[2.0, 2.0, 2.0]] {
            let mk = mann_kendall(x);
            assert_eq!((mk.z, mk.p), (0.0, 1.0), "{x:?}");
        }
        // NaN is left out: [1, NaN, 2] is [1, 2].
        assert_eq!(mann_kendall(&[1.0, f64::NAN, 2.0]).s, 1);
    }

    #[rstest]
    #[case::shape(vec![1.0; 5], 2, TrendError::Shape { values: 5, locations: 3, steps: 2 })]
    #[case::negative(vec![1.0, 1.0, -1.0, 0.0, 0.0, 0.0], 2, TrendError::Hotspot(HotspotError::InvalidValue { cell: 2, value: -1.0 }))]
    fn invalid_cube_is_an_error(
        #[case] values: Vec<f64>,
        #[case] steps: usize,
        #[case] expected: TrendError,
    ) {
        assert_eq!(cube_gi(&values, &line(3), steps), Err(expected));
    }

    #[test]
    fn fewer_than_eight_steps_is_refused() {
        assert_eq!(
            emerging_hotspots(&[1.0; 21], &line(3), 7, TREND_ALPHA),
            Err(TrendError::TooFewSteps { steps: 7, min: 8 })
        );
    }

    #[test]
    fn every_pattern_has_a_distinct_code_and_dutch_label() {
        let mut codes: Vec<&str> = Pattern::ALL.iter().map(|p| p.code()).collect();
        let mut labels: Vec<&str> = Pattern::ALL.iter().map(|p| p.label_nl()).collect();
        codes.sort_unstable();
        codes.dedup();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!((codes.len(), labels.len()), (17, 17));
        for p in Pattern::ALL {
            assert_eq!(
                serde_json::to_string(&p).expect("serialises"),
                format!("\"{}\"", p.code())
            );
        }
        assert_eq!(
            Pattern::from_sfdep("oscilating coldspot"),
            Some(Pattern::OscillatingColdspot)
        );
        assert_eq!(
            Pattern::from_sfdep("no pattern detected"),
            Some(Pattern::NoPattern)
        );
    }
}

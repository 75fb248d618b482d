//! Hotspot statistics for the neighbourhood map: Getis–Ord Gi* z-scores, Benjamini–Hochberg
//! false-discovery-rate control, ArcGIS-style confidence bins, and the privacy suppression of
//! the counts shown next to them.
//!
//! **Why Gi\* rather than raw counts.** A raw count per cell mostly shows where rounds walk and
//! where many people live, and one busy evening in one cell looks like a pattern. Gi\* compares
//! the sum over a cell *and its ring neighbours* with what the study-area mean predicts, in units
//! of its standard error. A cell only scores high when its neighbourhood as a whole is high, and
//! the score is unit-free: it does not change when every count is multiplied by a constant, so
//! areas and periods of different size can be compared.
//!
//! **Why FDR.** A study area has 10–50k cells. Testing each one at 5 % would flag hundreds of
//! cells by chance alone. Benjamini–Hochberg bounds the expected share of false hotspots among
//! the cells shown, and it stays valid under the positive dependence that overlapping
//! neighbourhoods create. The bins follow ArcGIS's `Gi_Bin` with FDR-corrected levels.
//!
//! **Why suppression.** A count of children seen on the street in one small cell can point at
//! one family. Every count shown next to the map is first *protected* with the cell-key
//! method ([`crate::disclosure`]) and then shown through [`SuppressedCount::shown`]: small
//! counts hidden behind "<10", the rest rounded to a multiple of 5.
//!
//! There is no H3 here: the study area is abstract. `values[i]` is the count (or any
//! non-negative rate) of cell `i`, and `neighbours[i]` lists the indices of the cell's ring
//! neighbours inside the study area, *without* the cell itself. The cell itself is added here
//! (the "star" in Gi\*), and all weights are binary.
//!
//! The z-scores agree with PySAL esda's `G_Local(y, w, star=True, transform="B").Zs` to
//! floating-point precision (see `tests/hotspot_reference.rs` and its fixture), except where
//! esda returns NaN: there this module returns z = 0 (see [`gi_star`]).

use std::f64::consts::SQRT_2;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The false discovery rate at which the app calls a cell a hotspot ([`Hotspot::significant`]).
pub const FDR_ALPHA: f64 = 0.05;

/// FDR levels for the bins ±3, ±2 and ±1 (99 %, 95 % and 90 % confidence).
const BIN_LEVELS: [(f64, i8); 3] = [(0.01, 3), (0.05, 2), (0.10, 1)];

/// The Gi\* statistic of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GiStar {
    /// Standard normal z-score; positive means the cell and its neighbours are above the
    /// study-area mean. Always finite; 0 where the statistic is undefined (see [`gi_star`]).
    pub z: f64,
    /// Two-sided p-value under the normal approximation, `erfc(|z| / √2)`, in `[0, 1]`.
    pub p: f64,
}

/// The hotspot verdict of one cell, as the map shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Hotspot {
    /// Gi\* z-score (see [`GiStar::z`]).
    pub z: f64,
    /// Two-sided p-value, not corrected for multiple testing.
    pub p: f64,
    /// Benjamini–Hochberg adjusted p-value (q-value) over the whole study area.
    pub q: f64,
    /// Whether the cell passes Benjamini–Hochberg at [`FDR_ALPHA`] (5 %).
    pub significant: bool,
    /// ArcGIS-style `Gi_Bin`: ±3, ±2, ±1 for 99 %, 95 %, 90 % confidence after FDR correction,
    /// signed by z (positive = hotspot, negative = coldspot), 0 otherwise. See [`gi_bin`].
    pub bin: i8,
}

/// Why a study area cannot be analysed. These are caller bugs, not user input errors: the
/// message names the cell so the code that built the study area can be fixed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HotspotError {
    /// `values` and `neighbours` differ in length.
    #[error(
        "{values} values but {neighbours} neighbour lists; pass exactly one neighbour list per cell"
    )]
    LengthMismatch {
        /// Length of `values`.
        values: usize,
        /// Length of `neighbours`.
        neighbours: usize,
    },
    /// A value is NaN, infinite or negative.
    #[error("cell {cell} has value {value}; values must be finite counts or rates of at least 0")]
    InvalidValue {
        /// Index of the cell.
        cell: usize,
        /// The offending value.
        value: f64,
    },
    /// A neighbour index is not a cell of the study area.
    #[error("cell {cell} lists neighbour {neighbour}, but the study area has only {cells} cells")]
    NeighbourOutOfRange {
        /// Index of the cell whose list is wrong.
        cell: usize,
        /// The out-of-range index.
        neighbour: usize,
        /// Number of cells in the study area.
        cells: usize,
    },
    /// A cell lists itself; Gi\* adds the cell itself, so it would count twice.
    #[error(
        "cell {cell} lists itself as a neighbour; pass only the ring neighbours, Gi* adds the cell itself"
    )]
    SelfNeighbour {
        /// Index of the cell.
        cell: usize,
    },
    /// A cell lists the same neighbour twice; with binary weights it would count twice.
    #[error("cell {cell} lists neighbour {neighbour} more than once; list each neighbour once")]
    DuplicateNeighbour {
        /// Index of the cell whose list is wrong.
        cell: usize,
        /// The repeated neighbour.
        neighbour: usize,
    },
}

/// Computes the Getis–Ord Gi\* z-score and its two-sided p-value for every cell.
///
/// With binary weights `w_ij` that include the cell itself (so `Σ_j w_ij = Σ_j w_ij² = W_i =
/// 1 + neighbours[i].len()`), the mean `X̄` over all `n` cells and the *population* standard
/// deviation `S` (dividing by `n`):
///
/// ```text
/// z_i = (Σ_j w_ij x_j − X̄ W_i) / (S · sqrt((n W_i − W_i²) / (n − 1)))
/// ```
///
/// This is Ord and Getis (1995) and equals esda's `G_Local(star=True, transform="B").Zs`.
/// Cells at the edge of the study area simply have fewer neighbours.
///
/// Where the statistic is undefined the cell gets z = 0 and p = 1, never NaN or infinity
/// (esda returns NaN in these cases):
/// - fewer than 3 cells (too few to say anything);
/// - all values equal, including all zero (S = 0);
/// - a cell whose neighbourhood covers the whole study area (`W_i = n`: the numerator is
///   0 / 0, the neighbourhood *is* the mean).
///
/// Runs in O(n + Σ neighbours) with one scratch vector of `n` indices besides the output.
///
/// # Errors
/// [`HotspotError`] when the lengths differ, a value is not finite or negative, or a neighbour
/// list holds an index out of range, the cell itself, or a duplicate.
///
/// # Example
/// ```
/// use avondronde_shared::hotspot::gi_star;
/// // Five cells in a row, each next to the one before and after it.
/// let neighbours = vec![vec![1], vec![0, 2], vec![1, 3], vec![2, 4], vec![3]];
/// let gi = gi_star(&[1.0, 2.0, 3.0, 4.0, 5.0], &neighbours)?;
/// assert!((gi[4].z - 3f64.sqrt()).abs() < 1e-12);
/// # Ok::<(), avondronde_shared::hotspot::HotspotError>(())
/// ```
pub fn gi_star(values: &[f64], neighbours: &[Vec<usize>]) -> Result<Vec<GiStar>, HotspotError> {
    let n = values.len();
    if neighbours.len() != n {
        return Err(HotspotError::LengthMismatch {
            values: n,
            neighbours: neighbours.len(),
        });
    }
    let moments = Moments::of(values)?;
    let scale = moments.map_or(1.0, |m| m.scale);

    // `last_seen[j] == i` means neighbour j was already counted for cell i; one vector for the
    // whole area instead of a set per cell.
    let mut last_seen = vec![usize::MAX; n];
    let mut out = Vec::with_capacity(n);
    for (cell, ring) in neighbours.iter().enumerate() {
        let mut sum = values[cell] * scale;
        for &neighbour in ring {
            if neighbour >= n {
                return Err(HotspotError::NeighbourOutOfRange {
                    cell,
                    neighbour,
                    cells: n,
                });
            }
            if neighbour == cell {
                return Err(HotspotError::SelfNeighbour { cell });
            }
            if last_seen[neighbour] == cell {
                return Err(HotspotError::DuplicateNeighbour { cell, neighbour });
            }
            last_seen[neighbour] = cell;
            sum += values[neighbour] * scale;
        }
        let z = moments.map_or(0.0, |m| m.z(sum, ring.len() + 1));
        out.push(GiStar { z, p: p_value(z) });
    }
    Ok(out)
}

/// Study-area moments for Gi\*, or `None` when the statistic is undefined for every cell.
#[derive(Debug, Clone, Copy)]
struct Moments {
    n: f64,
    /// Power of two that brings the largest value near `[1, 2)`. Gi\* is scale-invariant and
    /// scaling by a power of two is exact, so this changes no result, but it keeps the sums
    /// of huge values from overflowing to infinity.
    scale: f64,
    /// Mean of the scaled values.
    mean: f64,
    /// Population standard deviation of the scaled values.
    sd: f64,
}

impl Moments {
    /// Validates the values and computes the moments (two passes: the mean first, so the
    /// variance does not suffer the cancellation of `E[x²] − E[x]²`).
    fn of(values: &[f64]) -> Result<Option<Self>, HotspotError> {
        let (mut min, mut max) = (f64::INFINITY, 0.0_f64);
        for (cell, &value) in values.iter().enumerate() {
            if !(value.is_finite() && value >= 0.0) {
                return Err(HotspotError::InvalidValue { cell, value });
            }
            min = min.min(value);
            max = max.max(value);
        }
        // Compare min and max rather than testing S == 0: for equal values such as 0.1 the
        // rounded mean differs from them, and S would be rounding noise instead of 0.
        if values.len() < 3 || min == max {
            return Ok(None);
        }
        // max > 0 here. Clamp so the scale itself stays finite for subnormal maxima.
        let exponent = (max.log2().floor() as i32).clamp(-1022, 1023);
        let scale = 2.0_f64.powi(-exponent);
        let n = values.len() as f64;
        let mean = values.iter().map(|&x| x * scale).sum::<f64>() / n;
        let variance = values
            .iter()
            .map(|&x| (x * scale - mean).powi(2))
            .sum::<f64>()
            / n;
        let sd = variance.sqrt();
        // Only reachable when the differences underflow (subnormal values); treat as constant.
        // sd cannot be NaN: the scaled values are finite and at most 2.
        if sd == 0.0 {
            return Ok(None);
        }
        Ok(Some(Self { n, scale, mean, sd }))
    }

    /// z-score of a cell whose star neighbourhood has `weight` cells whose values, each
    /// multiplied by `self.scale`, sum to `scaled_sum`.
    fn z(self, scaled_sum: f64, weight: usize) -> f64 {
        let w = weight as f64;
        if w >= self.n {
            return 0.0;
        }
        let numerator = scaled_sum - self.mean * w;
        // w (n − w) ≥ n − 1 > 0 for 1 ≤ w < n, so the denominator is positive.
        let denominator = self.sd * ((self.n * w - w * w) / (self.n - 1.0)).sqrt();
        numerator / denominator
    }
}

/// Two-sided p-value of a standard normal z-score: `erfc(|z| / √2)`.
///
/// `erfc` keeps full relative precision far into the tail, where `1 − Φ(|z|)` would round to 0.
pub fn p_value(z: f64) -> f64 {
    libm::erfc(z.abs() / SQRT_2)
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the order of `p`.
///
/// `q_(k) = min over j ≥ k of min(1, m · p_(j) / j)` with `p_(1) ≤ … ≤ p_(m)`. A test passes
/// BH at level α exactly when its q-value is at most α, so one vector serves every α.
/// p-values are clamped to `[0, 1]` and NaN counts as 1 (never significant). O(m log m).
pub fn bh_q_values(p: &[f64]) -> Vec<f64> {
    q_values(p.len(), |i| p[i])
}

/// Which tests pass the Benjamini–Hochberg step-up procedure at false discovery rate `alpha`:
/// reject the k smallest p-values, where k is the largest rank with `p_(k) ≤ k α / m`.
///
/// Same conventions as [`bh_q_values`]; an `alpha` that is NaN or ≤ 0 rejects nothing.
pub fn bh_fdr(p: &[f64], alpha: f64) -> Vec<bool> {
    bh_q_values(p).into_iter().map(|q| q <= alpha).collect()
}

/// q-values of `m` tests whose p-values come from `p(i)`, so that [`analyse`] need not copy
/// them out first.
fn q_values(m: usize, p: impl Fn(usize) -> f64) -> Vec<f64> {
    let p = |i: usize| {
        let p = p(i);
        if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) }
    };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_unstable_by(|&a, &b| p(a).total_cmp(&p(b)));
    let mut q = vec![1.0; m];
    let mut running_min = 1.0_f64;
    for (rank0, &i) in order.iter().enumerate().rev() {
        // `m / rank` first: it rounds to at least 1, so q >= p holds in floating point too.
        running_min = running_min.min(p(i) * (m as f64 / (rank0 + 1) as f64));
        q[i] = running_min;
    }
    q
}

/// ArcGIS-style `Gi_Bin` of a cell from its z-score and BH q-value: ±3 when it passes FDR at
/// 1 % (99 % confidence), ±2 at 5 %, ±1 at 10 %, 0 otherwise; the sign is the sign of `z`.
pub fn gi_bin(z: f64, q: f64) -> i8 {
    let level = BIN_LEVELS
        .iter()
        .find(|&&(alpha, _)| q <= alpha)
        .map_or(0, |&(_, bin)| bin);
    if z > 0.0 {
        level
    } else if z < 0.0 {
        -level
    } else {
        0
    }
}

/// Full hotspot analysis of a study area: Gi\* per cell, BH over all cells, bins.
///
/// See [`gi_star`] for the input contract and the cells that get z = 0; such cells have
/// p = 1 and are never significant. The result never holds NaN or infinity.
///
/// O(n + Σ neighbours) for Gi\* plus one O(n log n) sort for Benjamini–Hochberg; about 3 ms
/// for 50k cells in a release build.
///
/// # Errors
/// The errors of [`gi_star`].
pub fn analyse(values: &[f64], neighbours: &[Vec<usize>]) -> Result<Vec<Hotspot>, HotspotError> {
    let gi = gi_star(values, neighbours)?;
    let q = q_values(gi.len(), |i| gi[i].p);
    Ok(gi
        .iter()
        .zip(q)
        .map(|(&GiStar { z, p }, q)| Hotspot {
            z,
            p,
            q,
            significant: q <= FDR_ALPHA,
            bin: gi_bin(z, q),
        })
        .collect())
}

/// A count as it may be shown: 0, "<T" for 1 to T − 1 (T, the threshold, is 10 unless the
/// gemeente chose more), otherwise rounded to a multiple of 5.
///
/// Displays and serialises as that string (`"0"`, `"<10"`, `"15"`); deserialising accepts
/// only strings [`SuppressedCount::shown`] can produce. Two shown counts are equal when
/// they show the same string.
#[derive(Debug, Clone, Copy)]
pub struct SuppressedCount {
    /// `None` for "<T"; otherwise 0 or a multiple of 5 of at least T.
    value: Option<u64>,
    /// T.
    threshold: u32,
}

impl PartialEq for SuppressedCount {
    fn eq(&self, other: &Self) -> bool {
        match (self.value, other.value) {
            (None, None) => self.threshold == other.threshold,
            (a, b) => a == b,
        }
    }
}

impl Eq for SuppressedCount {}

impl std::hash::Hash for SuppressedCount {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self.value {
            Some(v) => v.hash(state),
            None => (u64::MAX, self.threshold).hash(state),
        }
    }
}

/// The default threshold below which a count shows as "<10".
pub const DEFAULT_THRESHOLD: u32 = 10;

/// Shows a count with the default threshold of 10: 0 stays 0, 1 to 9 become "<10", and 10
/// or more round to the nearest multiple of 5 (12 → 10, 13 → 15, half-up). The map feeds
/// it *protected* counts only (see [`crate::disclosure`]); rounding alone does not protect
/// a count against differencing.
pub fn suppress(count: u64) -> SuppressedCount {
    SuppressedCount::shown(count, DEFAULT_THRESHOLD)
}

impl SuppressedCount {
    /// Shows a (protected) count with threshold `threshold` (a multiple of 5, at least 10;
    /// other values are raised to the next one).
    pub fn shown(count: u64, threshold: u32) -> Self {
        let threshold = threshold.max(DEFAULT_THRESHOLD).div_ceil(5) * 5;
        let value = match count {
            0 => Some(0),
            c if c < u64::from(threshold) => None,
            // Cannot overflow: u64::MAX is a multiple of 5, so rounding up stays at or below it.
            c => Some(c - c % 5 + if c % 5 >= 3 { 5 } else { 0 }),
        };
        SuppressedCount { value, threshold }
    }

    /// The number shown, or `None` when it is "<T".
    pub fn value(self) -> Option<u64> {
        self.value
    }

    /// T: the smallest count shown as a number.
    pub fn threshold(self) -> u32 {
        self.threshold
    }
}

impl fmt::Display for SuppressedCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(value) => write!(f, "{value}"),
            None => write!(f, "<{}", self.threshold),
        }
    }
}

/// A string that [`SuppressedCount::shown`] cannot produce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a suppressed count; expected \"0\", \"<10\" (or \"<15\" … \"<50\") or a multiple of 5 from 10 up"
)]
pub struct InvalidSuppressedCount(pub String);

impl FromStr for SuppressedCount {
    type Err = InvalidSuppressedCount;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(digits) = s.strip_prefix('<') {
            return match digits.parse::<u32>() {
                Ok(t)
                    if (10..=50).contains(&t) && t.is_multiple_of(5) && t.to_string() == digits =>
                {
                    Ok(Self::shown(1, t))
                }
                _ => Err(InvalidSuppressedCount(s.to_owned())),
            };
        }
        // `u64::from_str` accepts a leading '+'; only the canonical digits round-trip.
        match s.parse::<u64>() {
            Ok(value) if suppress(value).value() == Some(value) && value.to_string() == s => {
                Ok(suppress(value))
            }
            _ => Err(InvalidSuppressedCount(s.to_owned())),
        }
    }
}

impl Serialize for SuppressedCount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SuppressedCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    /// Neighbour lists of cells in a row, each next to the one before and after it.
    fn line(n: usize) -> Vec<Vec<usize>> {
        (0..n)
            .map(|i| {
                (i.saturating_sub(1)..(i + 2).min(n))
                    .filter(|&j| j != i)
                    .collect()
            })
            .collect()
    }

    /// Rook neighbour lists of a `rows × cols` grid, row-major.
    fn rook_grid(rows: usize, cols: usize) -> Vec<Vec<usize>> {
        (0..rows * cols)
            .map(|i| {
                let (r, c) = (i / cols, i % cols);
                let mut ring = Vec::new();
                if r > 0 {
                    ring.push(i - cols);
                }
                if c > 0 {
                    ring.push(i - 1);
                }
                if c + 1 < cols {
                    ring.push(i + 1);
                }
                if r + 1 < rows {
                    ring.push(i + cols);
                }
                ring
            })
            .collect()
    }

    fn z_scores(values: &[f64], neighbours: &[Vec<usize>]) -> Vec<f64> {
        gi_star(values, neighbours)
            .expect("valid study area")
            .iter()
            .map(|g| g.z)
            .collect()
    }

    fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64) {
        assert_eq!(actual.len(), expected.len());
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!((a - e).abs() <= tolerance, "cell {i}: {a} != {e}");
        }
    }

    #[test]
    fn gi_star_matches_hand_computed_1x5_line() {
        // x = [1, 2, 3, 4, 5], n = 5, X̄ = 3, S² = (4 + 1 + 0 + 1 + 4) / 5 = 2, S = √2.
        // Cell 0: star {0, 1}, W = 2, Σx = 3, numerator 3 − 3·2 = −3,
        //   denominator √2 · √((5·2 − 2²) / 4) = √2 · √1.5 = √3, z = −3/√3 = −√3.
        // Cell 1: star {0, 1, 2}, W = 3, Σx = 6, numerator 6 − 9 = −3,
        //   denominator √2 · √((5·3 − 3²) / 4) = √2 · √1.5 = √3, z = −√3.
        // Cell 2: star {1, 2, 3}, Σx = 9 = 3·3, z = 0. Cells 3 and 4 mirror 1 and 0.
        let s3 = 3f64.sqrt();
        assert_close(
            &z_scores(&[1.0, 2.0, 3.0, 4.0, 5.0], &line(5)),
            &[-s3, -s3, 0.0, s3, s3],
            1e-12,
        );
    }

    #[test]
    fn gi_star_p_is_two_sided_normal() {
        let gi = gi_star(&[1.0, 2.0, 3.0, 4.0, 5.0], &line(5)).expect("valid study area");
        // z = ±√3: p = 2 (1 − Φ(1.7320508…)) = 0.0832645166635504 (scipy.stats.norm.sf · 2).
        for cell in [0, 1, 3, 4] {
            assert!(
                (gi[cell].p - 0.083_264_516_663_550_4).abs() < 1e-15,
                "{:?}",
                gi[cell]
            );
        }
        assert_eq!(gi[2].p, 1.0);
    }

    #[rstest]
    #[case::zero(0.0, 1.0)]
    #[case::ninety_five_percent(1.959_963_984_540_054, 0.05)]
    #[case::ninety_nine_percent(-2.575_829_303_548_900_4, 0.01)]
    #[case::far_tail_keeps_precision(10.0, 1.523_970_604_832_118_6e-23)]
    fn p_value_is_erfc_of_abs_z_over_sqrt2(#[case] z: f64, #[case] expected: f64) {
        assert!(
            (p_value(z) - expected).abs() <= expected * 1e-12,
            "{} != {expected}",
            p_value(z)
        );
    }

    #[rstest]
    #[case::times_two(2.0)]
    #[case::times_three(3.0)]
    #[case::per_thousand(1e-3)]
    #[case::per_million_residents(1e6)]
    fn z_unchanged_when_all_counts_are_scaled(#[case] factor: f64) {
        let counts = [
            0.0, 1.0, 0.0, 2.0, 3.0, 0.0, 1.0, 0.0, 9.0, 7.0, 1.0, 0.0, 12.0, 8.0, 2.0, 1.0,
        ];
        let neighbours = rook_grid(4, 4);
        let scaled: Vec<f64> = counts.iter().map(|c| c * factor).collect();
        assert_close(
            &z_scores(&scaled, &neighbours),
            &z_scores(&counts, &neighbours),
            1e-12,
        );
    }

    #[test]
    fn gi_star_does_not_overflow_on_huge_values() {
        let huge = [f64::MAX, f64::MAX / 2.0, 0.0, f64::MAX, 1.0];
        let small = [2.0, 1.0, 0.0, 2.0, 2.0 / f64::MAX];
        assert_close(
            &z_scores(&huge, &line(5)),
            &z_scores(&small, &line(5)),
            1e-12,
        );
    }

    #[rstest]
    #[case::empty(vec![], vec![])]
    #[case::one_cell(vec![7.0], vec![vec![]])]
    #[case::two_cells(vec![1.0, 9.0], vec![vec![1], vec![0]])]
    #[case::two_isolated_cells(vec![1.0, 9.0], vec![vec![], vec![]])]
    #[case::all_zero(vec![0.0; 5], line(5))]
    #[case::all_equal(vec![4.0; 9], rook_grid(3, 3))]
    #[case::all_equal_not_representable(vec![0.1; 3], line(3))]
    fn degenerate_study_area_gives_z_zero_and_p_one(
        #[case] values: Vec<f64>,
        #[case] neighbours: Vec<Vec<usize>>,
    ) {
        let hotspots = analyse(&values, &neighbours).expect("degenerate but valid");
        assert_eq!(hotspots.len(), values.len());
        for h in hotspots {
            assert_eq!(
                h,
                Hotspot {
                    z: 0.0,
                    p: 1.0,
                    q: 1.0,
                    significant: false,
                    bin: 0
                }
            );
        }
    }

    #[test]
    fn cell_whose_neighbourhood_is_the_whole_area_gets_z_zero() {
        // The middle of three cells sees all of them: esda gives NaN (0/0), we give 0.
        let z = z_scores(&[1.0, 5.0, 2.0], &line(3));
        assert_eq!(z[1], 0.0);
        assert!(z[0].is_finite() && z[0] != 0.0 && z[2].is_finite() && z[2] != 0.0);
    }

    #[rstest]
    #[case::length_mismatch(vec![1.0, 2.0], vec![vec![]], HotspotError::LengthMismatch { values: 2, neighbours: 1 })]
    #[case::negative(vec![1.0, -1.0, 2.0], line(3), HotspotError::InvalidValue { cell: 1, value: -1.0 })]
    #[case::infinite(vec![f64::INFINITY, 1.0, 2.0], line(3), HotspotError::InvalidValue { cell: 0, value: f64::INFINITY })]
    #[case::out_of_range(vec![1.0, 2.0, 3.0], vec![vec![1], vec![0, 3], vec![1]], HotspotError::NeighbourOutOfRange { cell: 1, neighbour: 3, cells: 3 })]
    #[case::self_neighbour(vec![1.0, 2.0, 3.0], vec![vec![0, 1], vec![0], vec![]], HotspotError::SelfNeighbour { cell: 0 })]
    #[case::duplicate(vec![1.0, 2.0, 3.0], vec![vec![1], vec![0, 2, 0], vec![1]], HotspotError::DuplicateNeighbour { cell: 1, neighbour: 0 })]
    #[case::invalid_even_when_degenerate(vec![2.0, 2.0], vec![vec![5], vec![]], HotspotError::NeighbourOutOfRange { cell: 0, neighbour: 5, cells: 2 })]
    fn invalid_study_area_is_an_error(
        #[case] values: Vec<f64>,
        #[case] neighbours: Vec<Vec<usize>>,
        #[case] expected: HotspotError,
    ) {
        assert_eq!(analyse(&values, &neighbours), Err(expected));
    }

    #[test]
    fn nan_value_is_an_error() {
        let err = analyse(&[1.0, f64::NAN, 2.0], &line(3)).expect_err("NaN is rejected");
        assert!(matches!(err, HotspotError::InvalidValue { cell: 1, value } if value.is_nan()));
    }

    // The classic example: sorted p = 0.005, 0.01, 0.03, 0.04, 0.2, 0.5 (m = 6) against
    // k·0.05/6 = 0.0083, 0.0167, 0.025, 0.0333, 0.0417, 0.05: 0.005 and 0.01 pass, 0.03 > 0.025
    // and no later rank passes, so k = 2. q-values m·p/k = 0.03, 0.03, 0.09, 0.06, 0.24, 0.5,
    // then the running minimum from the end: 0.03, 0.03, 0.06, 0.06, 0.24, 0.5.
    const CLASSIC_P: [f64; 6] = [0.01, 0.04, 0.03, 0.005, 0.2, 0.5];

    #[test]
    fn bh_q_values_of_classic_example() {
        assert_close(
            &bh_q_values(&CLASSIC_P),
            &[0.03, 0.06, 0.06, 0.03, 0.24, 0.5],
            1e-15,
        );
    }

    #[rstest]
    #[case::at_1_percent(0.01, [false; 6])]
    #[case::at_5_percent(0.05, [true, false, false, true, false, false])]
    #[case::at_10_percent(0.10, [true, true, true, true, false, false])]
    fn bh_fdr_cutoff_of_classic_example(#[case] alpha: f64, #[case] expected: [bool; 6]) {
        assert_eq!(bh_fdr(&CLASSIC_P, alpha), expected);
    }

    #[test]
    fn bh_handles_empty_ties_nan_and_out_of_range() {
        assert!(bh_q_values(&[]).is_empty());
        assert_eq!(bh_q_values(&[0.02, 0.02]), [0.02, 0.02]);
        assert_eq!(bh_q_values(&[f64::NAN, -0.5, 1.5]), [1.0, 0.0, 1.0]);
        assert_eq!(bh_fdr(&[0.0], f64::NAN), [false]);
    }

    #[rstest]
    #[case::hot_99(2.0, 0.01, 3)]
    #[case::hot_95(2.0, 0.011, 2)]
    #[case::hot_90(2.0, 0.10, 1)]
    #[case::not_significant(2.0, 0.100_001, 0)]
    #[case::cold_99(-4.0, 0.001, -3)]
    #[case::cold_95(-2.0, 0.05, -2)]
    #[case::zero_z(0.0, 0.0, 0)]
    fn gi_bin_follows_arcgis_levels(#[case] z: f64, #[case] q: f64, #[case] expected: i8) {
        assert_eq!(gi_bin(z, q), expected);
    }

    #[test]
    fn analyse_finds_hot_and_cold_corners() {
        // A 10×10 rook grid, high counts in the top-left corner, background 2, a cold
        // bottom-right corner.
        let mut values = vec![2.0; 100];
        for i in [0, 1, 2, 10, 11, 12, 20, 21, 22] {
            values[i] = 30.0;
        }
        for i in [88, 89, 98, 99] {
            values[i] = 0.0;
        }
        let hotspots = analyse(&values, &rook_grid(10, 10)).expect("valid study area");
        assert_eq!(hotspots[11].bin, 3);
        assert!(hotspots[11].significant && hotspots[11].z > 0.0);
        assert!(
            hotspots[50..60]
                .iter()
                .all(|h| !h.significant && h.bin <= 0)
        );
        assert!(hotspots[99].z < 0.0);
        for h in &hotspots {
            assert_eq!(h.significant, h.q <= FDR_ALPHA);
            assert_eq!(h.bin, gi_bin(h.z, h.q));
        }
    }

    #[rstest]
    #[case::zero(0, Some(0), "0")]
    #[case::one(1, None, "<10")]
    #[case::nine(9, None, "<10")]
    #[case::ten(10, Some(10), "10")]
    #[case::twelve_rounds_down(12, Some(10), "10")]
    #[case::thirteen_rounds_up(13, Some(15), "15")]
    #[case::fourteen(14, Some(15), "15")]
    #[case::fifteen_stays(15, Some(15), "15")]
    #[case::seventeen(17, Some(15), "15")]
    #[case::eighteen(18, Some(20), "20")]
    #[case::max(u64::MAX - 2, Some(u64::MAX), "18446744073709551615")]
    fn suppress_hides_small_counts_and_rounds_to_5(
        #[case] count: u64,
        #[case] value: Option<u64>,
        #[case] shown: &str,
    ) {
        let suppressed = suppress(count);
        assert_eq!(suppressed.value(), value);
        assert_eq!(suppressed.to_string(), shown);
        assert_eq!(
            serde_json::to_string(&suppressed).expect("serialises"),
            format!("\"{shown}\"")
        );
        assert_eq!(
            serde_json::from_str::<SuppressedCount>(&format!("\"{shown}\"")).expect("round-trips"),
            suppressed
        );
    }

    #[rstest]
    #[case::unrounded("12")]
    #[case::small("5")]
    #[case::leading_zero("010")]
    #[case::plus_sign("+10")]
    #[case::other_bound("<5")]
    #[case::text("veel")]
    fn suppressed_count_rejects_strings_suppress_cannot_produce(#[case] s: &str) {
        assert_eq!(
            s.parse::<SuppressedCount>(),
            Err(InvalidSuppressedCount(s.to_owned()))
        );
        assert!(serde_json::from_str::<SuppressedCount>(&format!("\"{s}\"")).is_err());
        assert!(
            serde_json::from_str::<SuppressedCount>("10").is_err(),
            "numbers are not accepted, only strings"
        );
    }

    /// A finite non-negative value: mostly small counts, sometimes anything from subnormal to
    /// `f64::MAX`.
    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => (0u32..20).prop_map(f64::from),
            1 => prop::num::f64::POSITIVE | prop::num::f64::ZERO | prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL,
        ]
    }

    /// A study area with arbitrary valid (not necessarily symmetric) neighbour lists.
    fn study_area() -> impl Strategy<Value = (Vec<f64>, Vec<Vec<usize>>)> {
        (0usize..40).prop_flat_map(|n| {
            let ring = prop::collection::vec(0..n.max(1), 0..8);
            (
                prop::collection::vec(value(), n),
                prop::collection::vec(ring, n),
            )
                .prop_map(|(values, rings)| {
                    let neighbours = rings
                        .into_iter()
                        .enumerate()
                        .map(|(cell, mut ring)| {
                            ring.sort_unstable();
                            ring.dedup();
                            ring.retain(|&j| j != cell);
                            ring
                        })
                        .collect();
                    (values, neighbours)
                })
        })
    }

    proptest! {
        #[test]
        fn analyse_never_panics_or_yields_nan((values, neighbours) in study_area()) {
            let hotspots = analyse(&values, &neighbours).expect("valid study area");
            prop_assert_eq!(hotspots.len(), values.len());
            for h in hotspots {
                prop_assert!(h.z.is_finite(), "{:?}", h);
                prop_assert!((0.0..=1.0).contains(&h.p) && (0.0..=1.0).contains(&h.q), "{:?}", h);
                prop_assert!(h.q >= h.p, "{:?}", h);
                prop_assert!((-3..=3).contains(&h.bin), "{:?}", h);
            }
        }

        #[test]
        fn suppress_never_panics_and_stays_within_2(count: u64) {
            let shown = suppress(count);
            match shown.value() {
                None => prop_assert!((1..=9).contains(&count)),
                Some(value) => {
                    prop_assert_eq!(value % 5, 0);
                    prop_assert!(value.abs_diff(count) <= 2);
                    prop_assert_eq!(shown.to_string().parse::<SuppressedCount>(), Ok(shown));
                }
            }
        }
    }
}

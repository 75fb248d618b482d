//! Statistical disclosure control for the coordinator's statistics: the **cell-key
//! method** that Statistics Netherlands (CBS), the ONS and the ABS use for small-area
//! tables, and that the Eurostat/ONS `cellKey` and `ptable` tools implement.
//!
//! **The idea.** Every record (a street contact) gets a random *record key* in `[0, 1)`
//! when the server first stores it; it is never published and never sent to a phone. The
//! key of any aggregate (a map cell, an hour of the histogram, a week of the trend, a wijk
//! total) is the sum of the keys of the records in it, modulo 1. A fixed *perturbation
//! table* ([`Ptable`]) turns the pair (true count, cell key) into a small integer noise.
//! So the same set of records always gets the same noise, whatever query produced it:
//! repeating a query, or asking it in a different way, gives the same answer, and
//! averaging repeated answers gains nothing. A different set of records gets a key that
//! is uniform and independent of the first (one record more changes the sum by a uniform
//! amount), so its noise is a fresh draw.
//!
//! **Keys as 32-bit fractions.** A key is stored as `k / 2³²` with `k` a `u32`. The sum
//! modulo 1 is then `u32` wrapping addition: exact, associative and order-free, so a group
//! of archived contacts can keep the sum of its keys ([`CellKey`]) and still give every
//! aggregate the key it had before the contacts were archived.
//!
//! **The table.** Row `n` of the table is a distribution of the noise `d` for a true count
//! `n`, with (for every row)
//! - `d` in `[-D, D]` and `n + d >= 0`: the result is never negative (`D` = [`PtableParams::max_noise`]);
//! - `E[d] = 0`: unbiased;
//! - `P(d = 0) = `[`P_STAY`]: an attacker who recovers a protected value exactly learns the
//!   true count only this often;
//! - `Var[d] = min(V, 1.5 n)` (`V` = [`PtableParams::variance`]): the stated variance for
//!   every count from `V / 1.5` up (2 for the default), less for the smallest counts,
//!   where a symmetric spread would go below zero.
//!
//! Among all distributions with these properties the row is the one of **maximum entropy**
//! (the construction of the `ptable` R package): `P(d) ∝ exp(λ₁ d + λ₂ d²)` for `d ≠ 0`,
//! with `λ` found by Newton's method on the convex dual. A count of 0 is an empty cell:
//! there are no records, so there is nothing to perturb, and it stays 0.
//!
//! The noise of a cell is read off the row's cumulative distribution at the cell key:
//! with uniform keys each noise value comes up with exactly its table probability (to
//! 2⁻³²). The children measure uses a key derived from the same records' key by a fixed
//! bijection ([`CellKey::for_children`]), one per choice of age bands, so its noise is not
//! a copy of the contacts' noise, nor of another choice of bands.
//!
//! **Evening by evening.** The server sums an aggregate from the protected counts of its
//! evenings, each with the key of that evening's records (`server/src/hotspot/analysis.rs`):
//! otherwise periods that differ by one evening, asked in many different pairs, would each
//! draw fresh noise, and their averaged differences converge on the true count. For the
//! same reason it splits an evening's children by chosen age band, and its contacts by set
//! of behaviours when the filter chooses behaviours.
//!
//! **What is shown.** A protected value of 0 shows as `0`, one below the threshold `T`
//! ([`PtableParams::threshold`], at least 10) as `<T`, and larger ones rounded to a multiple
//! of 5 ([`shown`]). Every statistic is computed from protected values only.

use serde::{Deserialize, Serialize};

use crate::hotspot::SuppressedCount;

/// The probability that a count is published unchanged (the `pstay` of the `ptable`
/// package). Low on purpose: it bounds how often recovering a protected value exactly
/// (for instance by inverting the published Gi* scores) reveals the true count.
pub const P_STAY: f64 = 0.1;

/// A record's random key, `k / 2³²` in `[0, 1)`. Drawn once at ingest, stored, never
/// published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct RecordKey(pub u32);

impl RecordKey {
    /// The key as a fraction in `[0, 1)`.
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / 4_294_967_296.0
    }

    /// The key stored as a SQLite integer (0 ≤ value < 2³²).
    pub fn to_i64(self) -> i64 {
        i64::from(self.0)
    }

    /// The key read back from its stored integer; values outside `[0, 2³²)` are taken
    /// modulo 2³² (a sum stored by an older version stays a valid key).
    pub fn from_i64(v: i64) -> Self {
        RecordKey(v.rem_euclid(1 << 32) as u32)
    }
}

/// The key of an aggregate: the sum of its records' keys modulo 1, as a 32-bit fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CellKey(pub u32);

impl CellKey {
    /// Adds a record (or the key sum of a group of archived records).
    #[inline]
    pub fn add(&mut self, key: RecordKey) {
        self.0 = self.0.wrapping_add(key.0);
    }

    /// The key sum of some records.
    pub fn of(keys: impl IntoIterator<Item = RecordKey>) -> Self {
        let mut k = CellKey::default();
        for key in keys {
            k.add(key);
        }
        k
    }

    /// The key as a fraction in `[0, 1)`.
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / 4_294_967_296.0
    }

    /// The key used for another statistic of the same records (`salt` names it): a fixed
    /// bijection of `u32` (the `lowbias32` integer hash of the key mixed with the salt), so
    /// it is uniform when this key is, yet its noise is not a copy of the first one's.
    pub fn salted(self, salt: u32) -> Self {
        let mut x = self.0 ^ salt.wrapping_mul(0x9e37_79b9);
        x ^= x >> 16;
        x = x.wrapping_mul(0x7feb_352d);
        x ^= x >> 15;
        x = x.wrapping_mul(0x846c_a68b);
        x ^= x >> 16;
        CellKey(x)
    }

    /// The key of the children measure of these records counted in the age bands `bands`
    /// (bit i = `AgeBand::ALL[i]`): each choice of bands draws its own noise, so that two
    /// choices over the same records (all bands, and all but the youngest) do not cancel
    /// each other's noise and leave the exact count of the band left out.
    pub fn for_children(self, bands: u8) -> Self {
        self.salted(1 | (u32::from(bands) << 8))
    }
}

/// The parameters of a gemeente's perturbation table. Settable per gemeente within
/// [`PtableParams::validate`]'s bounds; [`PtableParams::default`] is what the README
/// documents.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PtableParams {
    /// `D`: the largest noise, in either direction (default 5, allowed 3–10).
    pub max_noise: u32,
    /// `V`: the variance of the noise for counts of `V / 1.5` and more (default 3, allowed
    /// 2 to `min(D² / 4, 12)`).
    pub variance: f64,
    /// `T`: protected values from 1 to `T − 1` show as `<T` (default 10, allowed 10–50 in
    /// steps of 5).
    pub threshold: u32,
}

impl Default for PtableParams {
    fn default() -> Self {
        PtableParams {
            max_noise: 5,
            variance: 3.0,
            threshold: 10,
        }
    }
}

/// Why a table cannot be built; the message is Dutch and says what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PtableError(pub String);

impl PtableParams {
    /// The upper bound for the variance at this `D`.
    pub fn max_variance(max_noise: u32) -> f64 {
        (f64::from(max_noise).powi(2) / 4.0).min(12.0)
    }

    /// Checks the safe bounds: enough noise to hide a small count, little enough to keep
    /// the map useful.
    ///
    /// # Errors
    /// A Dutch message naming the parameter and its allowed range.
    pub fn validate(&self) -> Result<(), PtableError> {
        if !(3..=10).contains(&self.max_noise) {
            return Err(PtableError(format!(
                "maximale ruis {}: kies 3 tot en met 10",
                self.max_noise
            )));
        }
        let max_v = Self::max_variance(self.max_noise);
        if !(self.variance.is_finite() && self.variance >= 2.0 && self.variance <= max_v) {
            return Err(PtableError(format!(
                "variantie {}: kies 2 tot en met {max_v} bij maximale ruis {}",
                self.variance, self.max_noise
            )));
        }
        if !(10..=50).contains(&self.threshold) || !self.threshold.is_multiple_of(5) {
            return Err(PtableError(format!(
                "drempel {}: kies 10, 15, … tot en met 50",
                self.threshold
            )));
        }
        Ok(())
    }
}

/// One row of the table: the noise distribution for one true count.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The smallest noise in the row (`max(−D, −n)`).
    pub lo: i64,
    /// `P(d = lo + i)`.
    pub probs: Vec<f64>,
    /// Cumulative probabilities scaled to 2³²; the last is exactly 2³².
    cum: Vec<u64>,
}

impl Row {
    /// Mean of the noise.
    pub fn mean(&self) -> f64 {
        self.probs
            .iter()
            .enumerate()
            .map(|(i, p)| p * (self.lo + i as i64) as f64)
            .sum()
    }

    /// Variance of the noise.
    pub fn variance(&self) -> f64 {
        let m = self.mean();
        self.probs
            .iter()
            .enumerate()
            .map(|(i, p)| p * ((self.lo + i as i64) as f64 - m).powi(2))
            .sum()
    }

    /// `P(d = noise)`.
    pub fn prob(&self, noise: i64) -> f64 {
        usize::try_from(noise - self.lo)
            .ok()
            .and_then(|i| self.probs.get(i))
            .copied()
            .unwrap_or(0.0)
    }

    /// The noise for a cell key.
    #[inline]
    fn noise(&self, key: CellKey) -> i64 {
        let k = u64::from(key.0);
        let i = self.cum.partition_point(|&c| c <= k);
        self.lo + i.min(self.cum.len() - 1) as i64
    }
}

/// A perturbation table: (true count, cell key) → protected count.
#[derive(Debug, Clone, PartialEq)]
pub struct Ptable {
    params: PtableParams,
    /// Rows for counts 1, 2, …; the last row serves every larger count.
    rows: Vec<Row>,
}

/// Target variance of row `n` (see the module docs).
fn row_variance(params: &PtableParams, n: u64) -> f64 {
    params.variance.min(1.5 * n as f64)
}

impl Ptable {
    /// Builds the table.
    ///
    /// # Errors
    /// When the parameters are out of bounds ([`PtableParams::validate`]).
    pub fn new(params: PtableParams) -> Result<Self, PtableError> {
        params.validate()?;
        let d = i64::from(params.max_noise);
        // Rows differ while the lower bound −n cuts the support or 1.5 n caps the variance.
        let last = (d as f64).max((params.variance / 1.5).ceil()) as u64 + 1;
        let rows = (1..=last)
            .map(|n| max_entropy_row((-(n as i64)).max(-d), d, row_variance(&params, n)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Ptable { params, rows })
    }

    /// The parameters.
    pub fn params(&self) -> PtableParams {
        self.params
    }

    /// The row for a true count of at least 1.
    pub fn row(&self, n: u64) -> &Row {
        let i = (n.max(1) as usize - 1).min(self.rows.len() - 1);
        &self.rows[i]
    }

    /// The protected count of an aggregate with `n` records' worth and cell key `key`.
    /// 0 stays 0; otherwise `n + d ≥ 0` with `d` read from row `n` at `key`.
    #[inline]
    pub fn protect(&self, n: u64, key: CellKey) -> u64 {
        if n == 0 {
            return 0;
        }
        let d = self.row(n).noise(key);
        (n as i64 + d).max(0) as u64
    }

    /// How a protected count is shown ([`shown`] with this table's threshold).
    pub fn show(&self, protected: u64) -> SuppressedCount {
        shown(protected, self.params.threshold)
    }
}

/// How a protected count is shown: 0 as `0`, below `threshold` as `<threshold`, and
/// otherwise rounded to the nearest multiple of 5 (half up).
pub fn shown(protected: u64, threshold: u32) -> SuppressedCount {
    SuppressedCount::shown(protected, threshold)
}

/// Numerically stable `Σ exp(a d + b d²)` moments over `support`, shifted by the largest
/// exponent: returns (log Z, E d, E d², E d³, E d⁴).
fn moments(support: &[i64], a: f64, b: f64) -> (f64, [f64; 4]) {
    let e = |d: i64| a * d as f64 + b * (d * d) as f64;
    let top = support
        .iter()
        .map(|&d| e(d))
        .fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    let mut m = [0.0; 4];
    for &d in support {
        let w = (e(d) - top).exp();
        z += w;
        let x = d as f64;
        m[0] += w * x;
        m[1] += w * x * x;
        m[2] += w * x * x * x;
        m[3] += w * x * x * x * x;
    }
    (top + z.ln(), m.map(|v| v / z))
}

/// The maximum-entropy row on `lo..=hi` with `P(0) = P_STAY`, mean 0 and variance `v`.
fn max_entropy_row(lo: i64, hi: i64, v: f64) -> Result<Row, PtableError> {
    let support: Vec<i64> = (lo..=hi).filter(|&d| d != 0).collect();
    // Second moment of the part without 0, which carries mass 1 − P_STAY.
    let m2 = v / (1.0 - P_STAY);
    // Dual: minimise log Z(a, b) − b m2 (the mean target is 0). Convex; damped Newton.
    let dual = |a: f64, b: f64| moments(&support, a, b).0 - b * m2;
    let (mut a, mut b) = (0.0_f64, -0.1_f64);
    for _ in 0..200 {
        let (_, [e1, e2, e3, e4]) = moments(&support, a, b);
        let (g1, g2) = (e1, e2 - m2);
        if g1.abs() < 1e-13 && g2.abs() < 1e-12 {
            break;
        }
        let (h11, h12, h22) = (e2 - e1 * e1, e3 - e1 * e2, e4 - e2 * e2);
        let det = h11 * h22 - h12 * h12;
        if !(det.is_finite() && det > 0.0) {
            break;
        }
        let da = (h22 * g1 - h12 * g2) / det;
        let db = (h11 * g2 - h12 * g1) / det;
        let f0 = dual(a, b);
        let mut step = 1.0;
        while step > 1e-8 && dual(a - step * da, b - step * db) > f0 + 1e-15 {
            step /= 2.0;
        }
        a -= step * da;
        b -= step * db;
    }
    let (_, [e1, e2, ..]) = moments(&support, a, b);
    if (e1.abs() > 1e-9) || (e2 - m2).abs() > 1e-8 {
        return Err(PtableError(format!(
            "geen ruistabel mogelijk met variantie {v} tussen {lo} en {hi}; kies een kleinere variantie of een grotere maximale ruis"
        )));
    }
    let (log_z, _) = moments(&support, a, b);
    let mut probs = Vec::with_capacity((hi - lo + 1) as usize);
    for d in lo..=hi {
        probs.push(if d == 0 {
            P_STAY
        } else {
            (1.0 - P_STAY) * (a * d as f64 + b * (d * d) as f64 - log_z).exp()
        });
    }
    let mut cum = Vec::with_capacity(probs.len());
    let mut acc = 0.0;
    for p in &probs {
        acc += p;
        cum.push((acc * 4_294_967_296.0).round().min(4_294_967_296.0) as u64);
    }
    if let Some(last) = cum.last_mut() {
        *last = 1 << 32;
    }
    Ok(Row { lo, probs, cum })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn table(d: u32, v: f64) -> Ptable {
        Ptable::new(PtableParams {
            max_noise: d,
            variance: v,
            threshold: 10,
        })
        .expect("valid parameters")
    }

    #[rstest]
    #[case::default(5, 3.0)]
    #[case::narrow(3, 2.0)]
    #[case::wide(10, 12.0)]
    #[case::wide_low_variance(8, 2.5)]
    fn every_row_is_unbiased_never_negative_and_has_the_stated_variance(
        #[case] d: u32,
        #[case] v: f64,
    ) {
        let t = table(d, v);
        for n in 1..=40u64 {
            let row = t.row(n);
            let total: f64 = row.probs.iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "row {n} sums to {total}");
            assert!(row.mean().abs() < 1e-9, "row {n} mean {}", row.mean());
            let want = v.min(1.5 * n as f64);
            assert!(
                (row.variance() - want).abs() < 1e-7,
                "row {n}: variance {} != {want}",
                row.variance()
            );
            assert!(n as i64 + row.lo >= 0, "row {n} can go below zero");
            assert!(row.lo >= -(d as i64) && row.lo + row.probs.len() as i64 - 1 == d as i64);
            assert!((row.prob(0) - P_STAY).abs() < 1e-15);
            assert!(row.probs.iter().all(|&p| (0.0..=1.0).contains(&p)));
        }
    }

    /// With keys spread evenly over [0, 1), each noise value comes up with its table
    /// probability: the lookup does not distort the table.
    #[test]
    fn the_key_lookup_reproduces_the_table() {
        let t = table(5, 3.0);
        for n in [1u64, 2, 3, 7, 100] {
            let row = t.row(n);
            let steps = 1u64 << 16;
            let mut hits = vec![0u64; row.probs.len()];
            for s in 0..steps {
                let key = CellKey((s << 16) as u32);
                let p = t.protect(n, key) as i64 - n as i64;
                hits[(p - row.lo) as usize] += 1;
            }
            for (i, &h) in hits.iter().enumerate() {
                let freq = h as f64 / steps as f64;
                assert!(
                    (freq - row.probs[i]).abs() < 1e-4,
                    "n {n} noise {}",
                    row.lo + i as i64
                );
            }
        }
    }

    #[test]
    fn zero_stays_zero_and_keys_add_modulo_one() {
        let t = table(5, 3.0);
        assert_eq!(t.protect(0, CellKey(12345)), 0);
        let k = CellKey::of([RecordKey(u32::MAX), RecordKey(2)]);
        assert_eq!(k, CellKey(1));
        assert!((RecordKey(1 << 31).fraction() - 0.5).abs() < 1e-15);
        assert_eq!(RecordKey::from_i64(RecordKey(7).to_i64()), RecordKey(7));
        assert_eq!(RecordKey::from_i64((1 << 32) + 3), RecordKey(3));
    }

    #[rstest]
    #[case::noise_too_small(PtableParams { max_noise: 2, ..PtableParams::default() }, "ruis")]
    #[case::noise_too_big(PtableParams { max_noise: 11, ..PtableParams::default() }, "ruis")]
    #[case::variance_too_small(PtableParams { variance: 1.0, ..PtableParams::default() }, "variantie")]
    #[case::variance_too_big_for_d(PtableParams { max_noise: 3, variance: 3.0, ..PtableParams::default() }, "variantie")]
    #[case::variance_nan(PtableParams { variance: f64::NAN, ..PtableParams::default() }, "variantie")]
    #[case::threshold_too_small(PtableParams { threshold: 5, ..PtableParams::default() }, "drempel")]
    #[case::threshold_too_big(PtableParams { threshold: 51, ..PtableParams::default() }, "drempel")]
    fn unsafe_parameters_are_refused(#[case] p: PtableParams, #[case] mentions: &str) {
        let err = Ptable::new(p).expect_err("out of bounds");
        assert!(err.0.contains(mentions), "{err}");
    }

    #[test]
    fn shown_values_hide_small_counts_behind_the_threshold() {
        assert_eq!(shown(0, 10).to_string(), "0");
        assert_eq!(shown(1, 10).to_string(), "<10");
        assert_eq!(shown(9, 10).to_string(), "<10");
        assert_eq!(shown(12, 10).to_string(), "10");
        assert_eq!(shown(13, 10).to_string(), "15");
        assert_eq!(shown(14, 15).to_string(), "<15");
        assert_eq!(shown(15, 15).to_string(), "15");
    }

    proptest! {
        #[test]
        fn protect_is_never_negative_and_within_the_maximum_noise(
            n in 0u64..10_000, key: u32, d in 3u32..=10,
        ) {
            let t = table(d, PtableParams::max_variance(d).clamp(2.0, 3.0));
            let p = t.protect(n, CellKey(key));
            prop_assert!(p.abs_diff(n) <= u64::from(d));
            if n == 0 {
                prop_assert_eq!(p, 0);
            }
        }

        /// The noise depends on the set of records only: any order of adding the same
        /// keys, or adding a group's key sum at once (the archive), gives the same count.
        #[test]
        fn same_records_same_noise(keys in prop::collection::vec(any::<u32>(), 1..50), split in 0usize..50) {
            let t = table(5, 3.0);
            let forward = CellKey::of(keys.iter().map(|&k| RecordKey(k)));
            let backward = CellKey::of(keys.iter().rev().map(|&k| RecordKey(k)));
            let split = split.min(keys.len());
            let group = CellKey::of(keys[..split].iter().map(|&k| RecordKey(k)));
            let mut archived = CellKey::of(keys[split..].iter().map(|&k| RecordKey(k)));
            archived.add(RecordKey(group.0));
            let n = keys.len() as u64;
            prop_assert_eq!(t.protect(n, forward), t.protect(n, backward));
            prop_assert_eq!(t.protect(n, forward), t.protect(n, archived));
        }
    }
}

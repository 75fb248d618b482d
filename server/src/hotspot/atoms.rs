//! Which records of an evening form one *atom* of the protected hotspot map: the unit that
//! gets a cell key of its own, so that every aggregate is a sum of atoms' protected counts
//! ([`super::analysis`] says why, attack by attack).
//!
//! An evening is one atom, unless the filter chooses hours, age bands or behaviours: then
//! its records are split by class (their hour, their set of behaviours, the set of bands
//! they have children in), because every such choice selects whole classes, and two
//! choices then differ by the same protected counts however they are asked. Kept apart from
//! the pass itself, which only sums what these groups give it.

use super::filter::{ALL_BANDS, Filter};
use super::index::Columns;

/// The evenings from `first` to `last` and, for each, the rows of the index on it: rows
/// `order[starts[d]..starts[d + 1]]` are those of evening `first + d`, in order of their
/// hour when `hours` are given (a counting sort, linear in the rows).
pub(super) fn by_evening(
    days: &[i32],
    hours: Option<&[u8]>,
    first: i32,
    last: i32,
) -> (Vec<u32>, Vec<usize>) {
    let span = (last - first + 1).max(0) as usize;
    let per_day = if hours.is_some() { 24 } else { 1 };
    let slot = |i: usize| {
        let d = days[i];
        let hour = hours.map_or(0, |h| usize::from(h[i] % 24));
        (d >= first && d <= last).then(|| (d - first) as usize * per_day + hour)
    };
    let slots = span * per_day;
    let mut starts = vec![0usize; slots + 1];
    for i in 0..days.len() {
        if let Some(s) = slot(i) {
            starts[s + 1] += 1;
        }
    }
    for i in 0..slots {
        starts[i + 1] += starts[i];
    }
    let mut next = starts.clone();
    let mut order = vec![0u32; starts[slots]];
    for i in 0..days.len() {
        if let Some(s) = slot(i) {
            order[next[s]] = i as u32;
            next[s] += 1;
        }
    }
    let evenings = starts.into_iter().step_by(per_day).collect();
    (order, evenings)
}

/// Reused space for [`groups`].
#[derive(Default)]
pub(super) struct Scratch {
    /// Class in the high half, row in the low.
    keyed: Vec<u64>,
    rows: Vec<u32>,
}

/// Calls `each` with every group of one evening's `rows` that may be an atom: all of them,
/// or, when the filter chooses hours, age bands or behaviours, one group per class of the
/// rows that pass: their hour, their set of behaviours and the set of bands they have
/// children in. Every choice of hours, bands or behaviours selects whole classes. The flag
/// tells whether the group's hour and behaviours end with it, where atoms that are not
/// split by bands end (`Pass::per_band_set` in [`super::analysis`]). `each` applies the rest of the filter.
pub(super) fn groups(
    filter: &Filter,
    c: &Columns,
    rows: &[u32],
    scratch: &mut Scratch,
    mut each: impl FnMut(&[u32], bool),
) {
    let (by_bands, by_behaviours) = (filter.bands != ALL_BANDS, filter.behaviours != 0);
    let by_hours = filter.chooses_hours();
    if !by_bands && !by_behaviours {
        if by_hours {
            // The rows are in order of their hour ([`by_evening`]).
            for group in rows.chunk_by(|&a, &b| c.hour[a as usize] == c.hour[b as usize]) {
                each(group, true);
            }
        } else {
            each(rows, true);
        }
        return;
    }
    let class = |i: usize| {
        let hour = if by_hours { c.hour[i] } else { 0 };
        let behaviours = if by_behaviours { c.behaviours[i] } else { 0 };
        let bands = c.counts[i]
            .iter()
            .enumerate()
            .filter(|&(_, &n)| by_bands && n > 0)
            .fold(0u64, |set, (b, _)| set | 1 << b);
        u64::from(hour) << 16 | u64::from(behaviours) << 8 | bands
    };
    let Scratch {
        keyed,
        rows: ordered,
    } = scratch;
    keyed.clear();
    keyed.extend(rows.iter().filter_map(|&i| {
        let r = i as usize;
        filter
            .value(&c.counts[r], c.behaviours[r], c.flags[r])
            .map(|_| class(r) << 32 | u64::from(i))
    }));
    keyed.sort_unstable();
    ordered.clear();
    ordered.extend(keyed.iter().map(|&k| k as u32));
    let mut start = 0;
    for end in 1..=keyed.len() {
        let ends = |shift| end == keyed.len() || keyed[end] >> shift != keyed[start] >> shift;
        if ends(32) {
            each(&ordered[start..end], ends(40));
            start = end;
        }
    }
}

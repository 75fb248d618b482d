//! One pass over a wijk's index under a filter: counts per cell, per hour of the evening
//! and per week, and the wijk totals; each is **protected evening by evening** with the
//! gemeente's perturbation table ([`avondronde_shared::disclosure`]): the records of one
//! evening in an aggregate form an *atom* with its own cell key (the sum of their records'
//! keys), and the aggregate shows the sum of its atoms' protected counts. Then the Gi*
//! verdict per cell ([`avondronde_shared::hotspot::analyse`]) is computed from the protected
//! cell counts.
//!
//! **Why per evening.** Protected as a whole, any two different periods drew independent
//! noise, so a coordinator could ask many pairs of periods that differ by exactly one
//! evening (`[E−a, E]` against `[E−a, E−1]` for a = 1, 2, …) and average the differences:
//! an attack review recovered the exact counts behind `<10`, down to a single contact, with
//! about 100 pairs. Summed from evening atoms, every such pair differs by the same protected
//! value, that of evening E: averaging gains nothing, and the most a choice of periods or
//! weekdays can isolate is one protected evening. The price is noise that grows with the
//! square root of the evenings an aggregate spans (those with contacts in it).
//!
//! **And per age band, when some bands are chosen.** The children of an evening are then
//! counted band by band, each band an atom with its own key, and its contacts (a contact
//! counts when it has a child in a chosen band) per set of bands they have children in, so
//! that any two choices of bands differ by the same protected counts however they are
//! asked, for both measures. All bands together keep one atom per evening, the least noise.
//! One walk over an evening's rows feeds every atom.
//!
//! **And per hour, when the filter chooses hours.** The evening's records are then split by
//! hour of the clock, each hour an atom, so that two hour ranges differ by the same
//! protected counts however they are asked (with fresh noise per range, the average of the
//! five ranges with and without the hour before midnight gave the exact count for a third
//! of an evening's small cells). The histogram's hours are these atoms too.
//!
//! **And per set of behaviours, when the filter chooses behaviours.** The evening's
//! contacts are then split by the set of behaviours they have, each set an atom, because
//! every choice selects whole sets: two choices differ by the same protected counts however
//! they are asked, whatever the two switches. With fresh noise per choice, the average of
//! the 32 pairs of choices that differ by one behaviour converged on the true count (48 %
//! of an evening's small cells exact, from the protected values). (The switches need no
//! split of their own: each only narrows, so no two different ways of asking select the
//! same records.)
//!
//! The exact counts live only inside [`run`] and [`protected_cells`]: an [`Analysis`]
//! holds protected values only, so everything made from it (the map, the charts, the
//! totals, the before/after changes and the exports) is a function of protected values.
//! Each aggregate is protected on its own: a total is the protected count of the total's
//! records, not a sum of protected cells, so the cells need not add up to the total.
//!
//! The histogram ignores the hour filter (it shows the whole evening, with the selected
//! hours marked), and the weekly trend ignores the period (it spans the period, or both
//! periods of a comparison, so a change shows as a step). Every other filter applies to
//! all outputs alike.

use avondronde_shared::disclosure::{CellKey, Ptable, PtableParams};
use avondronde_shared::hotspot::{Hotspot, HotspotError, analyse};

use super::atoms::{Scratch, by_evening, groups};
use super::filter::{ALL_BANDS, Filter, Measure, flags, week_start_of_day};
use super::index::{Columns, OUTSIDE, WijkIndex};

/// The most weeks a trend shows; a longer span keeps its latest weeks.
pub const MAX_TREND_WEEKS: usize = 156;

/// Salts of the keys of the totals that count something other than the measure
/// ([`CellKey::salted`]).
const SALT_BROUGHT_HOME: u32 = 2;

/// Protected totals of a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Contacts that pass the filter.
    pub contacts: u64,
    /// Children in those contacts (selected age bands).
    pub children: u64,
    /// Children brought home in those contacts.
    pub brought_home: u64,
    /// Contacts with a child past its norm.
    pub past_norm: u64,
}

/// Protected results for one period.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodStats {
    /// The protected measure per study-area cell.
    pub values: Vec<u64>,
    /// Gi* per cell, from the protected `values`.
    pub hotspots: Vec<Hotspot>,
    /// The protected measure per hour of the Amsterdam clock (hour filter not applied).
    pub histogram: [u64; 24],
    /// Protected wijk totals (including contacts outside the study-area cells).
    pub totals: Totals,
}

/// Protected results of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// The filter they answer.
    pub filter: Filter,
    /// The perturbation table's parameters (the view needs the threshold).
    pub params: PtableParams,
    /// The period (in a comparison: after).
    pub after: PeriodStats,
    /// The before period of a comparison.
    pub before: Option<PeriodStats>,
    /// Day number of the Monday of the trend's first week.
    pub trend_first_week: i32,
    /// The protected measure per week (period filter not applied).
    pub trend: Vec<u64>,
}

/// The trend's first Monday and number of weeks.
fn trend_span(index: &WijkIndex, filter: &Filter) -> Option<(i32, usize)> {
    let periods = std::iter::once(filter.period).chain(filter.before);
    let (mut from, mut to) = (i32::MAX, i32::MIN);
    for p in periods {
        let (f, t) = p.days();
        from = from.min(f);
        to = to.max(t);
    }
    let (data_from, data_to) = index.day_range?;
    if from == i32::MIN {
        from = data_from;
    }
    if to == i32::MAX {
        to = data_to;
    }
    if from > to {
        return None;
    }
    let (first, last) = (week_start_of_day(from), week_start_of_day(to));
    let weeks = ((last - first) / 7 + 1) as usize;
    let weeks = weeks.min(MAX_TREND_WEEKS);
    Some((last - 7 * (weeks as i32 - 1), weeks))
}

/// A true count and its cell key, while they are summed.
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    n: u64,
    key: CellKey,
}

impl Sum {
    #[inline]
    fn add(&mut self, n: u64, key: avondronde_shared::disclosure::RecordKey) {
        self.n += n;
        self.key.add(key);
    }
}

/// One atom of an evening's records. Counting all age bands, the evening is one atom
/// ([`Pass::Whole`]). Counting some bands, the contacts are atoms per set of bands they
/// have children in ([`Pass::Contacts`], [`Pass::per_band_set`]) and the children of each
/// chosen band another ([`Pass::Band`]), each with its own key:
/// then any two choices of bands differ by exactly the protected counts of the bands
/// between them, so neither "all ages" minus "6 and up" nor the average over the fifteen
/// pairs of choices that differ by one band tells the exact number of a band. (All bands as
/// the sum of five band atoms would cost the default map too much of its Gi* classes; see
/// the README.) Each atom is split further by hour and by set of behaviours when the filter
/// chooses them ([`groups`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Whole,
    Contacts,
    Band(usize),
}

impl Pass {
    /// The atoms of every evening under `filter`.
    fn all(filter: &Filter) -> Vec<Pass> {
        if filter.bands == ALL_BANDS {
            return vec![Pass::Whole];
        }
        std::iter::once(Pass::Contacts)
            .chain(
                (0..5)
                    .filter(|b| filter.bands & (1 << b) != 0)
                    .map(Pass::Band),
            )
            .collect()
    }

    /// Whether this atom adds to the filter's measure (the cells, hours and weeks).
    fn measures(self, filter: &Filter) -> bool {
        matches!(
            (self, filter.measure),
            (Pass::Whole, _)
                | (Pass::Contacts, Measure::Contacts)
                | (Pass::Band(_), Measure::Children)
        )
    }

    /// What row `i`, which passed the filter, adds in this atom: to the filter's measure
    /// and to the children total.
    #[inline]
    fn adds(self, filter: &Filter, c: &Columns, i: usize) -> (u64, u64) {
        let weight = u64::from(c.weight[i]);
        let children = match self {
            Pass::Whole => c.counts[i]
                .iter()
                .enumerate()
                .filter(|(b, _)| filter.bands & (1 << b) != 0)
                .map(|(_, &n)| u64::from(n))
                .sum::<u64>(),
            Pass::Contacts => 0,
            Pass::Band(b) => u64::from(c.counts[i][b]),
        } * weight;
        let measure = match (self.measures(filter), filter.measure) {
            (false, _) => 0,
            (true, Measure::Contacts) => weight,
            (true, Measure::Children) => children,
        };
        (measure, children)
    }

    /// Whether this atom is split by the set of bands its contacts have children in: the
    /// contacts, whom a choice of bands selects when they have a child in any chosen band.
    /// (The children of one band are the same whatever other bands are chosen.)
    fn per_band_set(self) -> bool {
        self == Pass::Contacts
    }

    /// Whether this atom counts the contact-level totals (contacts, brought home, past
    /// norm).
    fn counts_contacts(self) -> bool {
        matches!(self, Pass::Whole | Pass::Contacts)
    }

    /// The key of an aggregate of the filter's measure in this atom (`key`, the sum of its
    /// records' keys).
    #[inline]
    fn measure_key(self, filter: &Filter, key: CellKey) -> CellKey {
        match (self, filter.measure) {
            (Pass::Whole | Pass::Contacts, Measure::Contacts) => key,
            _ => self.children_key(filter, key),
        }
    }

    /// The key of an aggregate of the children total in this atom.
    #[inline]
    fn children_key(self, filter: &Filter, key: CellKey) -> CellKey {
        match self {
            Pass::Band(b) => key.for_children(1 << b),
            _ => key.for_children(filter.bands),
        }
    }
}

/// Cell sums of one evening, with the cells touched, so that each evening costs only its
/// own contacts.
struct EveningCells {
    sums: Vec<Sum>,
    touched: Vec<u32>,
}

impl EveningCells {
    fn new(n: usize) -> Self {
        EveningCells {
            sums: vec![Sum::default(); n],
            touched: Vec::new(),
        }
    }

    #[inline]
    fn add(&mut self, cell: u32, n: u64, key: avondronde_shared::disclosure::RecordKey) {
        let s = &mut self.sums[cell as usize];
        if s.n == 0 && s.key == CellKey::default() {
            self.touched.push(cell);
        }
        s.add(n, key);
    }

    /// Adds each touched cell's protected count to `out` and clears the evening.
    fn flush(&mut self, out: &mut [u64], protect: impl Fn(&Sum) -> u64) {
        for &cell in &self.touched {
            let s = &mut self.sums[cell as usize];
            out[cell as usize] += protect(s);
            *s = Sum::default();
        }
        self.touched.clear();
    }
}

/// The first and last evening a period covers within the data.
fn clamp(index: &WijkIndex, (from, to): (i32, i32)) -> Option<(i32, i32)> {
    let (data_from, data_to) = index.day_range?;
    let (from, to) = (from.max(data_from), to.min(data_to));
    (from <= to).then_some((from, to))
}

/// Exact sums of one evening's totals.
#[derive(Debug, Clone, Copy, Default)]
struct TotalSums {
    contacts: Sum,
    children: Sum,
    brought_home: Sum,
    past_norm: Sum,
}

impl TotalSums {
    fn protect(&self, t: &Ptable, pass: Pass, filter: &Filter) -> Totals {
        Totals {
            contacts: t.protect(self.contacts.n, self.contacts.key),
            children: t.protect(
                self.children.n,
                pass.children_key(filter, self.children.key),
            ),
            brought_home: t.protect(
                self.brought_home.n,
                self.brought_home.key.salted(SALT_BROUGHT_HOME),
            ),
            past_norm: t.protect(self.past_norm.n, self.past_norm.key),
        }
    }
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        self.contacts += o.contacts;
        self.children += o.children;
        self.brought_home += o.brought_home;
        self.past_norm += o.past_norm;
    }
}

/// **The protected count per study-area cell** of `filter`'s measure over its period,
/// weekdays, hours, bands, behaviours and switches (the before period is ignored): the
/// numbers the map colours and Gi* is computed from, each the sum of its evenings'
/// protected counts. The one function other analyses (for instance a space-time cube, one call per
/// time step with the step as the period) must use to get cell counts, so that they
/// publish nothing the map does not protect.
pub fn protected_cells(index: &WijkIndex, filter: &Filter, ptable: &Ptable) -> Vec<u64> {
    let area = index.area(filter.res);
    let mut out = vec![0u64; area.len()];
    let Some((first, last)) = clamp(index, filter.period.days()) else {
        return out;
    };
    let c = &index.contacts;
    let cells = c.cells(filter.res);
    let (order, starts) = by_evening(
        &c.day,
        filter.chooses_hours().then_some(&c.hour[..]),
        first,
        last,
    );
    let mut atoms: Vec<(Pass, EveningCells)> = Pass::all(filter)
        .into_iter()
        .filter(|p| p.measures(filter))
        .map(|p| (p, EveningCells::new(area.len())))
        .collect();
    let mut scratch = Scratch::default();
    for d in 0..starts.len() - 1 {
        if !filter.weekday_ok(first + d as i32) {
            continue;
        }
        groups(
            filter,
            c,
            &order[starts[d]..starts[d + 1]],
            &mut scratch,
            |group, set_ends| {
                for &i in group {
                    let i = i as usize;
                    if cells[i] == OUTSIDE
                        || !filter.hour_ok(c.hour[i])
                        || filter
                            .value(&c.counts[i], c.behaviours[i], c.flags[i])
                            .is_none()
                    {
                        continue;
                    }
                    for (pass, evening) in &mut atoms {
                        let (v, _) = pass.adds(filter, c, i);
                        if v > 0 {
                            evening.add(cells[i], v, c.key[i]);
                        }
                    }
                }
                for (pass, evening) in &mut atoms {
                    let pass = *pass;
                    if set_ends || pass.per_band_set() {
                        evening.flush(&mut out, |s| {
                            ptable.protect(s.n, pass.measure_key(filter, s.key))
                        });
                    }
                }
            },
        );
    }
    out
}

/// What one row that passed the filter brings to an evening's sums.
struct Row {
    weight: u64,
    key: avondronde_shared::disclosure::RecordKey,
    hour: u8,
    hour_ok: bool,
    cell: u32,
    past: bool,
    brought_home: u64,
}

/// The protected outputs of [`run`] while they are summed: per period (after, before) the
/// cells, the histogram and the totals, and the weekly trend.
struct Outputs {
    values: [Vec<u64>; 2],
    hist: [[u64; 24]; 2],
    tot: [Totals; 2],
    trend: Vec<u64>,
}

/// One atom's sums over one evening, per period (after, before), until the evening's end
/// protects them into the outputs.
struct Atom {
    pass: Pass,
    cells: [EveningCells; 2],
    hist: [[Sum; 24]; 2],
    /// The hours of `hist` with a sum (bit h), so a flush visits only those.
    hours: u32,
    tot: [TotalSums; 2],
    trend: Sum,
}

impl Atom {
    fn new(pass: Pass, n: usize, comparing: bool) -> Self {
        Atom {
            pass,
            cells: [
                EveningCells::new(n),
                EveningCells::new(if comparing { n } else { 0 }),
            ],
            hist: [[Sum::default(); 24]; 2],
            hours: 0,
            tot: [TotalSums::default(); 2],
            trend: Sum::default(),
        }
    }

    /// Adds a row that brings `v` to the filter's measure and `children` to the children
    /// total in this atom.
    #[inline]
    fn add(&mut self, row: &Row, v: u64, children: u64, inside: [bool; 2], in_trend: bool) {
        if row.hour_ok && in_trend && v > 0 {
            self.trend.add(v, row.key);
        }
        for (k, &inside) in inside.iter().enumerate() {
            if !inside {
                continue;
            }
            if v > 0 {
                self.hist[k][usize::from(row.hour)].add(v, row.key);
                self.hours |= 1 << row.hour;
            }
            if !row.hour_ok {
                continue;
            }
            let tot = &mut self.tot[k];
            if self.pass.counts_contacts() {
                tot.contacts.add(row.weight, row.key);
                if row.brought_home > 0 {
                    tot.brought_home.add(row.brought_home * row.weight, row.key);
                }
                if row.past {
                    tot.past_norm.add(row.weight, row.key);
                }
            }
            if children > 0 {
                tot.children.add(children, row.key);
            }
            if row.cell != OUTSIDE && v > 0 {
                self.cells[k].add(row.cell, v, row.key);
            }
        }
    }

    /// Protects the evening's sums into the outputs of the periods the evening is `inside`
    /// (and into week `week` of the trend) and clears them.
    fn flush(
        &mut self,
        ptable: &Ptable,
        filter: &Filter,
        inside: [bool; 2],
        week: Option<usize>,
        out: &mut Outputs,
    ) {
        let pass = self.pass;
        let protect = |s: &Sum| ptable.protect(s.n, pass.measure_key(filter, s.key));
        if let Some(w) = week {
            out.trend[w] += protect(&self.trend);
        }
        self.trend = Sum::default();
        for (k, &inside) in inside.iter().enumerate() {
            if !inside {
                continue;
            }
            self.cells[k].flush(&mut out.values[k], protect);
            let mut touched = self.hours;
            while touched != 0 {
                let h = touched.trailing_zeros() as usize;
                touched &= touched - 1;
                out.hist[k][h] += protect(&self.hist[k][h]);
                self.hist[k][h] = Sum::default();
            }
            out.tot[k] += self.tot[k].protect(ptable, pass, filter);
            self.tot[k] = TotalSums::default();
        }
        self.hours = 0;
    }
}

/// Runs the filter over the index, protects every aggregate with `ptable` evening by
/// evening (and band by band when some age bands are chosen), and runs Gi* over the
/// protected cell counts.
///
/// # Errors
/// Only if the study area is inconsistent (a bug), as [`analyse`] reports it.
pub fn run(index: &WijkIndex, filter: &Filter, ptable: &Ptable) -> Result<Analysis, HotspotError> {
    let area = index.area(filter.res);
    let n = area.len();
    let c = &index.contacts;
    let cells = c.cells(filter.res);
    let (pf, pt) = filter.period.days();
    let (bf, bt) = filter.before.map_or((1, 0), |p| p.days());
    let (trend_first, weeks) = trend_span(index, filter).unwrap_or((0, 0));
    let trend_last = trend_first + 7 * weeks as i32 - 1;
    let comparing = filter.before.is_some();

    let mut out = Outputs {
        values: [vec![0u64; n], vec![0u64; if comparing { n } else { 0 }]],
        hist: [[0u64; 24]; 2],
        tot: [Totals::default(); 2],
        trend: vec![0u64; weeks],
    };

    // The evenings any output needs: the two periods and the trend's weeks, within the data.
    let spans = [
        clamp(index, (pf, pt)),
        filter.before.and_then(|_| clamp(index, (bf, bt))),
        (weeks > 0).then_some((trend_first, trend_last)),
    ];
    let first = spans.iter().flatten().map(|s| s.0).min();
    let last = spans.iter().flatten().map(|s| s.1).max();
    if let (Some(first), Some(last)) = (first, last) {
        let (order, starts) = by_evening(
            &c.day,
            filter.chooses_hours().then_some(&c.hour[..]),
            first,
            last,
        );
        let mut atoms: Vec<Atom> = Pass::all(filter)
            .into_iter()
            .map(|pass| Atom::new(pass, n, comparing))
            .collect();
        let mut scratch = Scratch::default();
        for d in 0..starts.len() - 1 {
            let day = first + d as i32;
            let rows = &order[starts[d]..starts[d + 1]];
            if rows.is_empty() || !filter.weekday_ok(day) {
                continue;
            }
            let inside = [day >= pf && day <= pt, day >= bf && day <= bt];
            let in_trend = day >= trend_first && day <= trend_last;
            let week = in_trend.then(|| ((day - trend_first) / 7) as usize);
            groups(filter, c, rows, &mut scratch, |group, set_ends| {
                for &i in group {
                    let i = i as usize;
                    if filter
                        .value(&c.counts[i], c.behaviours[i], c.flags[i])
                        .is_none()
                    {
                        continue;
                    }
                    let row = Row {
                        // An archive row stands for `weight` contacts with identical
                        // facts, and its key is the sum of theirs.
                        weight: u64::from(c.weight[i]),
                        key: c.key[i],
                        hour: c.hour[i],
                        hour_ok: filter.hour_ok(c.hour[i]),
                        cell: cells[i],
                        past: c.flags[i] & flags::PAST_NORM != 0,
                        brought_home: u64::from(c.brought_home[i]),
                    };
                    for atom in &mut atoms {
                        let (v, children) = atom.pass.adds(filter, c, i);
                        if v > 0 || children > 0 || atom.pass.counts_contacts() {
                            atom.add(&row, v, children, inside, in_trend);
                        }
                    }
                }
                for atom in &mut atoms {
                    if set_ends || atom.pass.per_band_set() {
                        atom.flush(ptable, filter, inside, week, &mut out);
                    }
                }
            });
        }
    }
    let Outputs {
        values: [after, before],
        hist: [hist_a, hist_b],
        tot: [tot_a, tot_b],
        trend,
    } = out;

    let stats = |values: Vec<u64>,
                 histogram: [u64; 24],
                 totals: Totals|
     -> Result<PeriodStats, HotspotError> {
        let as_f64: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        Ok(PeriodStats {
            hotspots: analyse(&as_f64, &area.neighbours)?,
            values,
            histogram,
            totals,
        })
    };
    Ok(Analysis {
        filter: filter.clone(),
        params: ptable.params(),
        after: stats(after, hist_a, tot_a)?,
        before: match filter.before {
            Some(_) => Some(stats(before, hist_b, tot_b)?),
            None => None,
        },
        trend_first_week: trend_first,
        trend,
    })
}

/// The stable code of a Gi_Bin class.
pub fn class_code(bin: i8) -> &'static str {
    match bin {
        3 => "hot_99",
        2 => "hot_95",
        1 => "hot_90",
        -1 => "cold_90",
        -2 => "cold_95",
        -3 => "cold_99",
        _ => "not_significant",
    }
}

/// The Dutch label of a Gi_Bin class, as the legend shows it.
pub fn class_label(bin: i8) -> &'static str {
    match bin {
        3 => "Hotspot, 99% betrouwbaar",
        2 => "Hotspot, 95% betrouwbaar",
        1 => "Hotspot, 90% betrouwbaar",
        -1 => "Coldspot, 90% betrouwbaar",
        -2 => "Coldspot, 95% betrouwbaar",
        -3 => "Coldspot, 99% betrouwbaar",
        _ => "Niet significant",
    }
}

#[cfg(test)]
mod tests;

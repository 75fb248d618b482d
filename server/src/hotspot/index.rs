//! The in-memory, columnar index of a wijk's contacts, and the wijk's study areas.
//!
//! A hotspot request must answer in well under 200 ms for a wijk with a million contacts.
//! SQLite can filter that many rows, but not that fast, and every filter change would read
//! them again. So each wijk's contacts are loaded once into plain columns (evening day,
//! local hour, counts, bit masks, and the contact's *position* in the study area at each
//! resolution) and a request is a single pass over those columns.
//!
//! **Freshness.** Every accepted outbox item gets a strictly increasing `seq` in the
//! `item` ledger, committed in order by the one writer. The index remembers the ledger
//! head it has read through; each request compares it with `SELECT MAX(seq) FROM item`
//! (one B-tree probe) and, when it moved, reads only the new contacts and corrections, in
//! the same read transaction, so the index is exactly the committed state at that head.
//! Contacts past their retention period live on as weighted rows of `contact_archive`
//! ([`crate::store::hotspot::archived_of_wijk`]), loaded with the rest.
//! A change to the wijk's boundary bumps the gemeente's config version and rebuilds the
//! index. Code that deletes or rewrites contacts outside the ledger (a retention job, a
//! bulk import) must call [`Indexes::invalidate`] or [`Indexes::invalidate_all`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use avondronde_shared::WijkId;
use avondronde_shared::area::Wijk;
use avondronde_shared::disclosure::RecordKey;
use geo::MultiPolygon;
use h3o::CellIndex;
use h3o::geom::{ContainmentMode, TilerBuilder};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::filter::{Res, flags, local_parts};
use crate::db::DbError;
use crate::store::{self, Store, Tx};

/// Marks a contact without a cell in the study area (no location, or a cell whose centre
/// lies outside the wijk). It still counts for the wijk's totals and charts.
pub const OUTSIDE: u32 = u32::MAX;

/// The cells of a wijk at one resolution, with their ring neighbours.
#[derive(Debug, Clone)]
pub struct StudyArea {
    /// The resolution.
    pub res: Res,
    /// The cells whose centre lies in the wijk, sorted.
    pub cells: Vec<CellIndex>,
    /// For each cell, the positions of its k = 1 ring neighbours that are in the study area
    /// (without the cell itself: Gi* adds it).
    pub neighbours: Vec<Vec<usize>>,
    lookup: HashMap<u64, u32>,
}

impl StudyArea {
    /// Tiles a wijk boundary with H3 cells by centroid containment.
    ///
    /// # Errors
    /// When the boundary is not a valid polygon for h3o.
    pub fn of(boundary: &MultiPolygon<f64>, res: Res) -> Result<Self, h3o::error::InvalidGeometry> {
        let mut tiler = TilerBuilder::new(res.h3())
            .containment_mode(ContainmentMode::ContainsCentroid)
            .build();
        tiler.add_batch(boundary.0.iter().cloned())?;
        let mut cells: Vec<CellIndex> = tiler.into_coverage().collect();
        cells.sort_unstable();
        cells.dedup();
        let lookup: HashMap<u64, u32> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| (u64::from(*c), i as u32))
            .collect();
        let neighbours = cells
            .iter()
            .map(|c| {
                let mut ring: Vec<usize> = c
                    .grid_disk::<Vec<_>>(1)
                    .into_iter()
                    .filter(|n| n != c)
                    .filter_map(|n| lookup.get(&u64::from(n)).map(|&i| i as usize))
                    .collect();
                ring.sort_unstable();
                ring
            })
            .collect();
        Ok(StudyArea {
            res,
            cells,
            neighbours,
            lookup,
        })
    }

    /// The position of a cell in the study area.
    pub fn position(&self, cell: u64) -> Option<u32> {
        self.lookup.get(&cell).copied()
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the wijk is too small to hold the centre of any cell.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}

/// One contact as the index stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexRow {
    /// Ledger sequence number of the contact (its order of arrival).
    pub seq: i64,
    /// Evening day (see [`filter`](super::filter)).
    pub day: i32,
    /// Hour on the Amsterdam clock.
    pub hour: u8,
    /// Children per age band, in [`avondronde_shared::AgeBand::ALL`] order.
    pub counts: [u16; 5],
    /// Children brought home.
    pub brought_home: u16,
    /// Behaviour bit mask ([`filter::behaviour_bit`](super::filter::behaviour_bit)).
    pub behaviours: u8,
    /// [`filter::flags`](super::filter::flags).
    pub flags: u8,
    /// Position in the resolution-9 study area, or [`OUTSIDE`].
    pub cell9: u32,
    /// Position in the resolution-10 study area, or [`OUTSIDE`].
    pub cell10: u32,
    /// How many contacts the row stands for: 1 for a contact, more for an archive row of
    /// contacts with identical facts (see [`crate::store::hotspot::archived_of_wijk`]).
    pub weight: u32,
    /// The record key of the contact, or the sum of the keys of an archive row's contacts
    /// (the cell-key method, [`avondronde_shared::disclosure`]).
    pub key: RecordKey,
}

/// The contacts of one wijk, one vector per field, sorted by `seq`.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    /// See [`IndexRow::seq`].
    pub seq: Vec<i64>,
    /// See [`IndexRow::day`].
    pub day: Vec<i32>,
    /// See [`IndexRow::hour`].
    pub hour: Vec<u8>,
    /// See [`IndexRow::counts`].
    pub counts: Vec<[u16; 5]>,
    /// See [`IndexRow::brought_home`].
    pub brought_home: Vec<u16>,
    /// See [`IndexRow::behaviours`].
    pub behaviours: Vec<u8>,
    /// See [`IndexRow::flags`].
    pub flags: Vec<u8>,
    /// See [`IndexRow::cell9`].
    pub cell9: Vec<u32>,
    /// See [`IndexRow::cell10`].
    pub cell10: Vec<u32>,
    /// See [`IndexRow::weight`].
    pub weight: Vec<u32>,
    /// See [`IndexRow::key`].
    pub key: Vec<RecordKey>,
}

impl Columns {
    /// Number of rows (including ones marked gone); an archive row stands for
    /// [`IndexRow::weight`] contacts.
    pub fn len(&self) -> usize {
        self.seq.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// The positions for a resolution.
    pub fn cells(&self, res: Res) -> &[u32] {
        match res {
            Res::Nine => &self.cell9,
            Res::Ten => &self.cell10,
        }
    }

    fn reserve(&mut self, n: usize) {
        self.seq.reserve(n);
        self.day.reserve(n);
        self.hour.reserve(n);
        self.counts.reserve(n);
        self.brought_home.reserve(n);
        self.behaviours.reserve(n);
        self.flags.reserve(n);
        self.cell9.reserve(n);
        self.cell10.reserve(n);
        self.weight.reserve(n);
        self.key.reserve(n);
    }

    /// Adds a row at the end; the caller keeps `seq` ascending.
    pub fn push(&mut self, r: IndexRow) {
        self.insert(self.len(), r);
    }

    fn insert(&mut self, at: usize, r: IndexRow) {
        self.seq.insert(at, r.seq);
        self.day.insert(at, r.day);
        self.hour.insert(at, r.hour);
        self.counts.insert(at, r.counts);
        self.brought_home.insert(at, r.brought_home);
        self.behaviours.insert(at, r.behaviours);
        self.flags.insert(at, r.flags);
        self.cell9.insert(at, r.cell9);
        self.cell10.insert(at, r.cell10);
        self.weight.insert(at, r.weight);
        self.key.insert(at, r.key);
    }

    fn set(&mut self, at: usize, r: IndexRow) {
        self.seq[at] = r.seq;
        self.day[at] = r.day;
        self.hour[at] = r.hour;
        self.counts[at] = r.counts;
        self.brought_home[at] = r.brought_home;
        self.behaviours[at] = r.behaviours;
        self.flags[at] = r.flags;
        self.cell9[at] = r.cell9;
        self.cell10[at] = r.cell10;
        self.weight[at] = r.weight;
        self.key[at] = r.key;
    }

    /// Inserts or replaces the row with this `seq`, keeping the order.
    pub fn upsert(&mut self, r: IndexRow) {
        match self.seq.binary_search(&r.seq) {
            Ok(at) => self.set(at, r),
            Err(at) => self.insert(at, r),
        }
    }

    /// Marks the row with this `seq` as gone (moved to another wijk by a correction).
    pub fn remove(&mut self, seq: i64) {
        if let Ok(at) = self.seq.binary_search(&seq) {
            self.flags[at] |= flags::GONE;
        }
    }

    /// The first and last evening day present, if any.
    pub fn day_range(&self) -> Option<(i32, i32)> {
        let min = self.day.iter().copied().min()?;
        let max = self.day.iter().copied().max()?;
        Some((min, max))
    }
}

/// Everything the map needs of one wijk, ready for a request.
#[derive(Debug, Clone)]
pub struct WijkIndex {
    /// The wijk.
    pub wijk: Wijk,
    /// Study area at resolution 9.
    pub area9: Arc<StudyArea>,
    /// Study area at resolution 10.
    pub area10: Arc<StudyArea>,
    /// The contacts.
    pub contacts: Columns,
    /// The ledger head (`item.seq`) the index is complete through.
    pub through_seq: i64,
    /// The gemeente config version the study areas were built at.
    pub config_version: u64,
    /// First and last evening day with contacts.
    pub day_range: Option<(i32, i32)>,
}

impl WijkIndex {
    /// The study area for a resolution.
    pub fn area(&self, res: Res) -> &StudyArea {
        match res {
            Res::Nine => &self.area9,
            Res::Ten => &self.area10,
        }
    }

    /// An index over rows that are already known (tests and tools); `through_seq` 0.
    ///
    /// # Errors
    /// When the boundary cannot be tiled.
    pub fn from_rows(
        wijk: Wijk,
        rows: impl IntoIterator<Item = RawContact>,
    ) -> Result<Self, DbError> {
        let mut index = Self::empty(wijk, 0, 0)?;
        let tz = avondronde_shared::time::amsterdam();
        let mut rows: Vec<IndexRow> = rows
            .into_iter()
            .map(|r| r.index_row(&index.area9, &index.area10, &tz))
            .collect();
        rows.sort_unstable_by_key(|r| r.seq);
        index.contacts.reserve(rows.len());
        for r in rows {
            index.contacts.push(r);
        }
        index.day_range = index.contacts.day_range();
        Ok(index)
    }

    fn empty(wijk: Wijk, through_seq: i64, config_version: u64) -> Result<Self, DbError> {
        let tile = |res| {
            StudyArea::of(&wijk.boundary, res)
                .map(Arc::new)
                .map_err(|e| DbError::Domain(format!("wijk {} cannot be tiled: {e}", wijk.code)))
        };
        Ok(WijkIndex {
            area9: tile(Res::Nine)?,
            area10: tile(Res::Ten)?,
            wijk,
            contacts: Columns::default(),
            through_seq,
            config_version,
            day_range: None,
        })
    }
}

/// A contact row as read from the `contact` table.
#[derive(Debug, Clone, PartialEq)]
pub struct RawContact {
    /// `seq`.
    pub seq: i64,
    /// `observed_at`, unix seconds.
    pub observed_at: i64,
    /// `n_0_5` … `n_14p`.
    pub counts: [u16; 5],
    /// `brought_home`.
    pub brought_home: u16,
    /// `behaviours` as a mask.
    pub behaviours: u8,
    /// `past_norm`.
    pub past_norm: bool,
    /// `cell_r9`.
    pub cell_r9: Option<u64>,
    /// `cell_r10`.
    pub cell_r10: Option<u64>,
    /// How many contacts this stands for (1 for a row of `contact`).
    pub weight: u32,
    /// `record_key` (for an archive row: `key_sum`).
    pub key: RecordKey,
}

impl RawContact {
    /// The index row, with local time and study-area positions worked out.
    pub fn index_row(&self, area9: &StudyArea, area10: &StudyArea, tz: &TimeZone) -> IndexRow {
        let at = Timestamp::from_second(self.observed_at).unwrap_or(Timestamp::UNIX_EPOCH);
        let parts = local_parts(at, tz);
        let mut f = 0;
        if self.past_norm {
            f |= flags::PAST_NORM;
        }
        if self.brought_home > 0 {
            f |= flags::BROUGHT_HOME;
        }
        IndexRow {
            seq: self.seq,
            day: parts.evening_day,
            hour: parts.hour,
            counts: self.counts,
            brought_home: self.brought_home,
            behaviours: self.behaviours,
            flags: f,
            cell9: self
                .cell_r9
                .and_then(|c| area9.position(c))
                .unwrap_or(OUTSIDE),
            cell10: self
                .cell_r10
                .and_then(|c| area10.position(c))
                .unwrap_or(OUTSIDE),
            weight: self.weight,
            key: self.key,
        }
    }
}

type Slot = Arc<Mutex<Option<Arc<WijkIndex>>>>;

/// The indexes of all wijken, loaded on first use. One per server, in [`crate::AppState`].
#[derive(Default)]
pub struct Indexes {
    slots: Mutex<HashMap<WijkId, Slot>>,
}

impl std::fmt::Debug for Indexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexes").finish_non_exhaustive()
    }
}

impl Indexes {
    fn slot(&self, wijk: WijkId) -> Slot {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(wijk)
            .or_default()
            .clone()
    }

    /// The up-to-date index of a wijk: loaded on first use, brought up to the ledger head
    /// on later ones. Blocking: call it from `spawn_blocking`. Concurrent callers for the
    /// same wijk wait for one load instead of each loading.
    ///
    /// # Errors
    /// Storage errors, or a boundary that cannot be tiled.
    pub fn get(
        &self,
        store: &Store,
        wijk: &Wijk,
        config_version: u64,
    ) -> Result<Arc<WijkIndex>, DbError> {
        let slot = self.slot(wijk.id);
        let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = store.snapshot_blocking(wijk.gemeente, |tx| {
            let head = store::hotspot::ledger_head(tx)?;
            let result = match guard.as_mut() {
                Some(index) if index.config_version == config_version && index.wijk == *wijk => {
                    if index.through_seq < head {
                        let index = Arc::make_mut(index);
                        catch_up(tx, index, head)?;
                    }
                    index.clone()
                }
                _ => Arc::new(load(tx, wijk.clone(), head, config_version)?),
            };
            Ok(result)
        })?;
        *guard = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forgets a wijk's index; the next request reloads it.
    pub fn invalidate(&self, wijk: WijkId) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&wijk);
    }

    /// Forgets every index (after contacts were deleted or rewritten outside ingest).
    pub fn invalidate_all(&self) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Loads a wijk's contacts from scratch.
fn load(tx: &Tx, wijk: Wijk, head: i64, config_version: u64) -> Result<WijkIndex, DbError> {
    let mut index = WijkIndex::empty(wijk, head, config_version)?;
    let tz = avondronde_shared::time::amsterdam();
    let mut rows: Vec<IndexRow> = store::hotspot::archived_of_wijk(tx, index.wijk.id)?
        .iter()
        .map(|raw| raw.index_row(&index.area9, &index.area10, &tz))
        .collect();
    store::hotspot::each_contact_of_wijk(tx, index.wijk.id, |raw| {
        rows.push(raw.index_row(&index.area9, &index.area10, &tz));
    })?;
    if !rows.is_sorted_by_key(|r| r.seq) {
        rows.sort_unstable_by_key(|r| r.seq);
    }
    index.contacts.reserve(rows.len());
    for r in rows {
        index.contacts.push(r);
    }
    index.day_range = index.contacts.day_range();
    tracing::debug!(wijk = %index.wijk.code, contacts = index.contacts.len(), "hotspot index loaded");
    Ok(index)
}

/// Reads the contacts and corrections after `index.through_seq` up to `head`.
fn catch_up(tx: &Tx, index: &mut WijkIndex, head: i64) -> Result<(), DbError> {
    let tz = avondronde_shared::time::amsterdam();
    let (wijk, after) = (index.wijk.id, index.through_seq);
    let (area9, area10) = (&index.area9, &index.area10);
    let contacts = &mut index.contacts;
    store::hotspot::each_new_contact(tx, wijk, after, head, |raw| {
        contacts.upsert(raw.index_row(area9, area10, &tz));
    })?;
    store::hotspot::each_corrected_contact(tx, wijk, after, head, |raw, in_wijk| {
        if in_wijk {
            contacts.upsert(raw.index_row(area9, area10, &tz));
        } else {
            contacts.remove(raw.seq);
        }
    })?;
    index.through_seq = head;
    index.day_range = index.contacts.day_range();
    Ok(())
}

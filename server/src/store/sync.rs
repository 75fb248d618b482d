//! The sync ledger and what a push writes; what a pull reads.
//!
//! Owns the tables a phone's push fills: `item` (the idempotency ledger, unique on kind and
//! id, with the content hash), `round`, `contact`, `correction` and `care_form` as a sealed
//! form arrives, plus the `feedback` counter that orders a device's feedback, and the
//! device's last-seen clock on `device`. A pull reads the feedback on a device's own forms
//! from here. The rules (what is a duplicate, a conflict, a refusal or a wait for a parent)
//! stay in [`crate::ingest`]; this module keeps and fetches.
//!
//! This is the server's hottest path (`bench_sync`): every statement is a cached prepared
//! statement, and everything runs inside the writer's transaction that the caller opened,
//! so the ledger row and the item it names are committed together.
//!
//! Each function speaks both backends (`match tx.backend()`). On PostgreSQL the
//! transaction's gemeente is set and row-level security hides every other gemeente's rows;
//! a row inserted without `gemeente_id` gets the transaction's gemeente (its column
//! default). The ledger's sequence numbers are drawn under a per-gemeente lock (see
//! [`claim_item`]), so that within a gemeente they are handed out in commit order.

use std::sync::LazyLock;

use ::postgres::types::Type;
use avondronde_shared::care::CareFormEnvelope;
use avondronde_shared::contact::ContactFacts;
use avondronde_shared::round::Round;
use avondronde_shared::sync::ItemKind;
use avondronde_shared::{
    AgeBand, CareFormId, ContactId, CorrectionId, DeviceId, GemeenteId, RoundId, StreetContact,
    UserId, WijkId,
};
use rusqlite::{OptionalExtension, ToSql, params, params_from_iter};

use super::{Backend, Tx};
use crate::db::DbError;
use crate::ingest::{Derived, UnknownWijkRound};

/// A PostgreSQL statement parameter.
type PgParam<'a> = &'a (dyn ::postgres::types::ToSql + Sync);

// The push path's statements are sent with their parameter types (`execute_typed`,
// `query_typed`): PostgreSQL then parses, binds and runs them in one round trip, instead of
// a round trip to prepare each statement first (the synchronous client keeps no statement
// cache). Ids bind as `TEXT`, integers as `INT8`, reals as `FLOAT8`, bytes as `BYTEA`.
const TEXT: Type = Type::TEXT;
const INT8: Type = Type::INT8;
const FLOAT8: Type = Type::FLOAT8;
const BYTEA: Type = Type::BYTEA;

/// Pairs parameters with their types for a typed statement.
fn typed<'a>(params: &[PgParam<'a>], types: &[Type]) -> Vec<(PgParam<'a>, Type)> {
    debug_assert_eq!(params.len(), types.len());
    params.iter().copied().zip(types.iter().cloned()).collect()
}

/// When a device was heard from, and how far its clock was off.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// The device.
    pub device: DeviceId,
    /// Server clock, unix ms.
    pub at_ms: i64,
    /// Device clock minus server clock, ms.
    pub skew_ms: i64,
}

/// Stores when each device was last heard from and how far its clock is off, as if
/// `seen` were recorded in order (a device's last entry stays). On PostgreSQL one
/// statement for them all.
pub fn record_seen_all(tx: &Tx, seen: &[Seen]) -> Result<(), DbError> {
    let mut last = std::collections::HashMap::with_capacity(seen.len());
    for s in seen {
        last.insert(s.device, *s);
    }
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut update = c.prepare_cached(
                "UPDATE device SET last_seen_at = ?1, clock_offset_ms = ?2 WHERE id = ?3",
            )?;
            for s in last.values() {
                update.execute(params![s.at_ms, s.skew_ms, s.device])?;
            }
        }
        Backend::Postgres(mut t) => {
            let ids: Vec<String> = last.values().map(|s| s.device.to_string()).collect();
            let at: Vec<i64> = last.values().map(|s| s.at_ms).collect();
            let skew: Vec<i64> = last.values().map(|s| s.skew_ms).collect();
            t.execute_typed(
                "UPDATE device SET last_seen_at = s.at, clock_offset_ms = s.skew
                 FROM unnest($1, $2, $3) AS s(id, at, skew) WHERE device.id = s.id",
                &[
                    (&ids, Type::TEXT_ARRAY),
                    (&at, Type::INT8_ARRAY),
                    (&skew, Type::INT8_ARRAY),
                ],
            )?;
        }
    }
    Ok(())
}

/// Stores when a device was last heard from and how far its clock is off (ms).
pub fn record_seen(tx: &Tx, device: DeviceId, at_ms: i64, skew_ms: i64) -> Result<(), DbError> {
    record_seen_all(
        tx,
        &[Seen {
            device,
            at_ms,
            skew_ms,
        }],
    )
}

/// Claims `(kind, id)` in the ledger for `device`. Returns the new ledger sequence number,
/// or `None` when the key is already taken (see [`ledger_entry`]).
///
/// SQLite: `OR IGNORE` rather than `ON CONFLICT … RETURNING`: RETURNING makes SQLite keep
/// a statement journal, a copy of every page the insert touches, which was most of the
/// writer's time. (SQLite has one writer, so its sequence numbers are in commit order.)
///
/// PostgreSQL: transactions of one gemeente run side by side, and a sequence number drawn
/// by one that commits late would be missed by a reader that already caught up past a
/// higher one (the hotspot index reads "since seq X up to the head"). So the claim first
/// takes a per-gemeente advisory lock, held until the transaction ends: within a gemeente,
/// numbers are drawn one transaction at a time, and their order is the commit order. (The
/// numbers themselves come from one identity over all gemeenten, so a gemeente's have gaps,
/// and a released number is not handed out again as SQLite may.) Lock and insert are one
/// statement: the materialized CTE takes the lock before the row, and with it its `seq`,
/// is made.
pub fn claim_item(
    tx: &Tx,
    kind: &ItemKind,
    id: &str,
    device: DeviceId,
    hash: &[u8; 32],
    received_at: i64,
) -> Result<Option<i64>, DbError> {
    match tx.backend() {
        Backend::Sqlite(conn) => {
            let inserted = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO item (kind, item_id, device_id, hash, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![kind.code(), id, device, &hash[..], received_at])?;
            Ok((inserted == 1).then(|| conn.last_insert_rowid()))
        }
        Backend::Postgres(mut t) => {
            // The per-gemeente lock first (see above), then the row; nothing comes back
            // when the key is taken, as with SQLite's OR IGNORE.
            let rows = t.query_typed(
                "WITH gemeente_lock AS MATERIALIZED (
                   SELECT pg_advisory_xact_lock(
                     hashtextextended(current_setting('app.gemeente'), 0)))
                 INSERT INTO item (kind, item_id, device_id, hash, received_at)
                 SELECT $1, $2, $3, $4, $5 FROM gemeente_lock
                 ON CONFLICT (kind, item_id) DO NOTHING
                 RETURNING seq",
                &[
                    (&kind.code(), TEXT),
                    (&id, TEXT),
                    (&device, TEXT),
                    (&&hash[..], BYTEA),
                    (&received_at, INT8),
                ],
            )?;
            Ok(rows.first().map(|r| r.try_get::<_, i64>(0)).transpose()?)
        }
    }
}

/// A key to claim in the ledger, with the content it stands for and who sent it when.
#[derive(Clone, Copy)]
pub struct Claim<'a> {
    /// The item's kind.
    pub kind: &'a ItemKind,
    /// The item's id.
    pub id: &'a str,
    /// Its content hash.
    pub hash: &'a [u8; 32],
    /// The device that sent it.
    pub device: DeviceId,
    /// When it arrived (server clock, unix ms).
    pub received_at: i64,
}

/// Claims every key of `claims`, in order, as [`claim_item`] does one: for each its new
/// sequence number, or `None` when the key is already taken. The keys must be distinct.
///
/// On PostgreSQL this is one statement for all the pushes a commit stores together: one
/// round trip and one take of the per-gemeente lock, where a claim per item cost a round
/// trip each.
pub fn claim_items(tx: &Tx, claims: &[Claim]) -> Result<Vec<Option<i64>>, DbError> {
    let mut t = match tx.backend() {
        Backend::Sqlite(_) => {
            return claims
                .iter()
                .map(|c| claim_item(tx, c.kind, c.id, c.device, c.hash, c.received_at))
                .collect();
        }
        Backend::Postgres(_) if claims.is_empty() => return Ok(Vec::new()),
        Backend::Postgres(t) => t,
    };
    let kinds: Vec<&str> = claims.iter().map(|c| c.kind.code()).collect();
    let ids: Vec<&str> = claims.iter().map(|c| c.id).collect();
    let hashes: Vec<&[u8]> = claims.iter().map(|c| &c.hash[..]).collect();
    let devices: Vec<String> = claims.iter().map(|c| c.device.to_string()).collect();
    let received: Vec<i64> = claims.iter().map(|c| c.received_at).collect();
    // As `claim_item`: the lock first, then the rows, in the given order.
    let rows = t.query_typed(
        "WITH gemeente_lock AS MATERIALIZED (
           SELECT pg_advisory_xact_lock(
             hashtextextended(current_setting('app.gemeente'), 0)))
         INSERT INTO item (kind, item_id, device_id, hash, received_at)
         SELECT k.kind, k.item_id, k.device_id, k.hash, k.received_at
         FROM gemeente_lock,
              unnest($1, $2, $3, $4, $5)
                WITH ORDINALITY AS k(kind, item_id, device_id, received_at, hash, ord)
         ORDER BY k.ord
         ON CONFLICT (kind, item_id) DO NOTHING
         RETURNING kind, item_id, seq",
        &[
            (&kinds, Type::TEXT_ARRAY),
            (&ids, Type::TEXT_ARRAY),
            (&devices, Type::TEXT_ARRAY),
            (&received, Type::INT8_ARRAY),
            (&hashes, Type::BYTEA_ARRAY),
        ],
    )?;
    let place: std::collections::HashMap<(&str, &str), usize> = kinds
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (k, id))| ((*k, *id), i))
        .collect();
    let mut seqs = vec![None; claims.len()];
    for row in &rows {
        let (kind, id): (&str, &str) = (row.try_get(0)?, row.try_get(1)?);
        if let Some(&i) = place.get(&(kind, id)) {
            seqs[i] = Some(row.try_get::<_, i64>(2)?);
        }
    }
    Ok(seqs)
}

/// Takes a claimed key out of the ledger again (for an item that was not stored).
pub fn release_item(tx: &Tx, seq: i64) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.prepare_cached("DELETE FROM item WHERE seq = ?1")?
                .execute(params![seq])?;
        }
        Backend::Postgres(mut t) => {
            t.execute_typed("DELETE FROM item WHERE seq = $1", &[(&seq, INT8)])?;
        }
    }
    Ok(())
}

/// A ledger row: who first sent an item, with what content, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The ledger sequence number.
    pub seq: i64,
    /// The content hash first received.
    pub hash: Vec<u8>,
    /// When it was received (server clock, unix ms).
    pub received_at: i64,
    /// The device that sent it.
    pub device: DeviceId,
}

/// The ledger row holding `(kind, id)` in `gemeente`, or `None` when the key is taken in
/// another gemeente (call it for a key whose claim failed).
///
/// The key is unique over all gemeenten, so an id drawn by another gemeente's phone (an id
/// this phone cannot have drawn itself) is taken; nothing of that row is told. On SQLite
/// the row is found through its device's user; on PostgreSQL row-level security already
/// hides every other gemeente's ledger.
pub fn ledger_entry(
    tx: &Tx,
    kind: &ItemKind,
    id: &str,
    gemeente: GemeenteId,
) -> Result<Option<LedgerEntry>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(
                "SELECT i.seq, i.hash, i.received_at, i.device_id FROM item i
                 JOIN device d ON d.id = i.device_id
                 JOIN user u ON u.id = d.user_id
                 WHERE i.kind = ?1 AND i.item_id = ?2 AND u.gemeente_id = ?3",
            )?
            .query_row(params![kind.code(), id, gemeente], |r| {
                Ok(LedgerEntry {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                    received_at: r.get(2)?,
                    device: r.get(3)?,
                })
            })
            .optional()?),
        Backend::Postgres(mut t) => {
            let rows = t.query_typed(
                "SELECT seq, hash, received_at, device_id FROM item
                 WHERE kind = $1 AND item_id = $2",
                &[(&kind.code(), TEXT), (&id, TEXT)],
            )?;
            rows.first()
                .map(|row| {
                    Ok(LedgerEntry {
                        seq: row.try_get(0)?,
                        hash: row.try_get(1)?,
                        received_at: row.try_get(2)?,
                        device: row.try_get(3)?,
                    })
                })
                .transpose()
        }
    }
}

/// Whether a row of `table` (`round` or `contact`, also its ledger kind) with id `$1`
/// exists in any gemeente, on PostgreSQL: this gemeente's rows are visible, another
/// gemeente's are hidden by row-level security and answered by the ledger instead
/// (migration 008's `item_known`). This gemeente's own ledger is not asked: a key claimed
/// earlier in this push is not a stored row yet.
fn pg_exists_anywhere(table: &str) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)
             OR (item_known('{table}', $1)
                 AND NOT EXISTS (SELECT 1 FROM item WHERE kind = '{table}' AND item_id = $1))"
    )
}

/// Whether a round with this id exists, for any device.
pub fn round_exists(tx: &Tx, round: RoundId) -> Result<bool, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM round WHERE id = ?1)")?
            .query_row(params![round], |r| r.get(0))?),
        Backend::Postgres(mut t) => Ok(t
            .query_one(&pg_exists_anywhere("round"), &[&round])?
            .try_get(0)?),
    }
}

/// On SQLite, the ledger number of the contact whose id is bound here: a contact row is
/// keyed by its ledger number (migration 12), and its id is unique in the ledger, not in
/// the table.
const SQLITE_CONTACT_SEQ: &str = "(SELECT seq FROM item WHERE kind = 'contact' AND item_id = ?)";

/// Whether a contact with this id exists, for any device.
pub fn contact_exists(tx: &Tx, contact: ContactId) -> Result<bool, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM contact WHERE seq = {SQLITE_CONTACT_SEQ})"
            ))?
            .query_row(params![contact], |r| r.get(0))?),
        Backend::Postgres(mut t) => Ok(t
            .query_one(&pg_exists_anywhere("contact"), &[&contact])?
            .try_get(0)?),
    }
}

/// Whether the wijk exists in the gemeente.
pub fn wijk_in_gemeente(tx: &Tx, wijk: WijkId, gemeente: GemeenteId) -> Result<bool, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached("SELECT COUNT(*) > 0 FROM wijk WHERE id = ?1 AND gemeente_id = ?2")?
            .query_row(params![wijk, gemeente], |row| row.get(0))?),
        Backend::Postgres(mut t) => Ok(t
            .query_opt(
                "SELECT 1 FROM wijk WHERE id = $1 AND gemeente_id = $2",
                &[&wijk, &gemeente],
            )?
            .is_some()),
    }
}

/// Stores a round of `device`. `wijk` is `None` for a round stored without a wijk; then
/// `unknown_wijk` keeps the id the phone named. (No wijk is kept as `''`, as the column is
/// `NOT NULL`.)
pub fn insert_round(
    tx: &Tx,
    round: &Round,
    device: DeviceId,
    user: UserId,
    wijk: Option<WijkId>,
    unknown_wijk: Option<WijkId>,
) -> Result<(), DbError> {
    let started_at = round.started_at.as_second();
    match tx.backend() {
        Backend::Sqlite(c) => {
            let wijk: &dyn ToSql = match &wijk {
                Some(w) => w,
                None => &"",
            };
            c.prepare_cached(
                "INSERT INTO round (id, device_id, user_id, wijk_id, partner, started_at,
                   unknown_wijk)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                round.id,
                device,
                user,
                wijk,
                round.partner,
                started_at,
                unknown_wijk,
            ])?;
        }
        Backend::Postgres(mut t) => {
            let wijk: PgParam = match &wijk {
                Some(w) => w,
                None => &"",
            };
            t.execute_typed(
                "INSERT INTO round (id, device_id, user_id, wijk_id, partner, started_at,
                   unknown_wijk)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    (&round.id, TEXT),
                    (&device, TEXT),
                    (&user, TEXT),
                    (wijk, TEXT),
                    (&round.partner, TEXT),
                    (&started_at, INT8),
                    (&unknown_wijk, TEXT),
                ],
            )?;
        }
    }
    Ok(())
}

/// Sets the end of one of `device`'s rounds (unix seconds). `false`: the device has no
/// such round.
pub fn end_round(
    tx: &Tx,
    round: RoundId,
    device: DeviceId,
    ended_at_s: i64,
) -> Result<bool, DbError> {
    Ok(match tx.backend() {
        Backend::Sqlite(c) => {
            c.prepare_cached("UPDATE round SET ended_at = ?1 WHERE id = ?2 AND device_id = ?3")?
                .execute(params![ended_at_s, round, device])?
                > 0
        }
        Backend::Postgres(mut t) => {
            t.execute_typed(
                "UPDATE round SET ended_at = $1 WHERE id = $2 AND device_id = $3",
                &[(&ended_at_s, INT8), (&round, TEXT), (&device, TEXT)],
            )? > 0
        }
    })
}

/// The wijk of one of `device`'s rounds: `None` when the device has no such round,
/// `Some(None)` for a round stored without a wijk.
pub fn own_round_wijk(
    tx: &Tx,
    round: RoundId,
    device: DeviceId,
) -> Result<Option<Option<WijkId>>, DbError> {
    Ok(own_round_wijks(tx, &[(device, round)])?
        .pop()
        .map(|(_, wijk)| wijk))
}

/// A round as one device's own: the device, and the round it names.
pub type OwnRound = (DeviceId, RoundId);

/// As [`own_round_wijk`] for each `(device, round)`: the wijk of each round found as that
/// device's round, keyed by device and round; a pair not found is left out. On PostgreSQL
/// one statement for them all.
pub fn own_round_wijks(
    tx: &Tx,
    rounds: &[OwnRound],
) -> Result<Vec<(OwnRound, Option<WijkId>)>, DbError> {
    if rounds.is_empty() {
        return Ok(Vec::new());
    }
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut select = c.prepare_cached(
                "SELECT NULLIF(wijk_id, '') FROM round WHERE id = ?1 AND device_id = ?2",
            )?;
            let mut found = Vec::with_capacity(rounds.len());
            for &(device, round) in rounds {
                if let Some(wijk) = select
                    .query_row(params![round, device], |r| r.get(0))
                    .optional()?
                {
                    found.push(((device, round), wijk));
                }
            }
            Ok(found)
        }
        Backend::Postgres(mut t) => {
            let devices: Vec<String> = rounds.iter().map(|(d, _)| d.to_string()).collect();
            let ids: Vec<String> = rounds.iter().map(|(_, r)| r.to_string()).collect();
            t.query_typed(
                "SELECT r.device_id, r.id, NULLIF(r.wijk_id, '')
                 FROM unnest($1, $2) AS k(device_id, id)
                 JOIN round r ON r.id = k.id AND r.device_id = k.device_id",
                &[(&devices, Type::TEXT_ARRAY), (&ids, Type::TEXT_ARRAY)],
            )?
            .iter()
            .map(|r| Ok(((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?)))
            .collect()
        }
    }
}

/// The contact columns that hold its facts (and what ingest derived from them), in the
/// order of [`FactColumns::values`]. A contact's insert and a correction's update both
/// write exactly these.
const FACT_COLUMNS: &str = "observed_at, utc_offset_s, source, lat, lon, accuracy_m, fix_age_s, \
     place_id, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions, \
     brought_home, past_norm, cell_r9, cell_r10";
const FACT_COUNT: usize = 20;

static INSERT_CONTACT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id,
           received_at, clock_skew_ms, skew_flag, record_key, {FACT_COLUMNS})
         VALUES ({})",
        vec!["?"; 11 + FACT_COUNT].join(", ")
    )
});

/// `$1, $2, …, $n`: PostgreSQL's numbered placeholders.
fn pg_placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The types of [`FactColumns::pg_values`], in order.
const FACT_TYPES: [Type; FACT_COUNT] = [
    INT8, INT8, TEXT, FLOAT8, FLOAT8, FLOAT8, INT8, TEXT, INT8, INT8, INT8, INT8, INT8, INT8, TEXT,
    TEXT, INT8, INT8, INT8, INT8,
];

static PG_INSERT_CONTACTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id,
           received_at, clock_skew_ms, skew_flag, record_key, {FACT_COLUMNS})
         SELECT * FROM unnest({})",
        pg_placeholders(11 + FACT_COUNT)
    )
});

static CORRECT_CONTACT: LazyLock<String> = LazyLock::new(|| {
    let assignments = FACT_COLUMNS
        .split(',')
        .map(|col| format!("{} = ?", col.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE contact SET {assignments}, wijk_id = COALESCE(?, wijk_id), corrected_seq = ?
         WHERE seq = {SQLITE_CONTACT_SEQ} AND device_id = ? AND COALESCE(corrected_seq, 0) < ?"
    )
});

static PG_CORRECT_CONTACT: LazyLock<String> = LazyLock::new(|| {
    let assignments = FACT_COLUMNS
        .split(',')
        .enumerate()
        .map(|(i, col)| format!("{} = ${}", col.trim(), i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let n = FACT_COUNT;
    format!(
        "UPDATE contact SET {assignments}, wijk_id = COALESCE(${}, wijk_id), corrected_seq = ${}
         WHERE id = ${} AND device_id = ${} AND COALESCE(corrected_seq, 0) < ${}",
        n + 1,
        n + 2,
        n + 3,
        n + 4,
        n + 2
    )
});

/// A contact's facts as SQL values.
struct FactColumns<'a> {
    f: &'a ContactFacts,
    d: &'a Derived,
    observed_at: i64,
    source: &'a str,
    place: Option<avondronde_shared::PlaceId>,
    counts: [u16; 5],
    behaviours: String,
    actions: String,
    cell_r9: Option<i64>,
    cell_r10: Option<i64>,
    /// The same values in the types PostgreSQL's columns take (bigint, double precision).
    pg: PgFacts,
}

/// The facts' integer, flag and `f32` values as PostgreSQL binds them: `i64` and `f64`.
struct PgFacts {
    utc_offset_s: i64,
    accuracy_m: Option<f64>,
    fix_age_s: Option<i64>,
    counts: [i64; 5],
    supervised: i64,
    brought_home: i64,
    past_norm: i64,
}

impl<'a> FactColumns<'a> {
    fn new(f: &'a ContactFacts, d: &'a Derived) -> Self {
        let counts = AgeBand::ALL.map(|b| f.group.get(b));
        FactColumns {
            f,
            d,
            observed_at: f.observed_at.as_second(),
            source: f.location.source.code(),
            place: f.location.place,
            counts,
            behaviours: codes(f.behaviours.iter().map(|b| b.code())),
            actions: codes(f.actions.iter().map(|a| a.code())),
            cell_r9: d.cell_r9.map(|c| c as i64),
            cell_r10: d.cell_r10.map(|c| c as i64),
            pg: PgFacts {
                utc_offset_s: i64::from(f.utc_offset_s),
                accuracy_m: f.location.accuracy_m.map(f64::from),
                fix_age_s: f.location.fix_age_s.map(i64::from),
                counts: counts.map(i64::from),
                supervised: i64::from(f.supervised),
                brought_home: i64::from(f.brought_home),
                past_norm: i64::from(d.past_norm),
            },
        }
    }

    /// [`FactColumns::values`] for PostgreSQL.
    fn pg_values(&self) -> [PgParam<'_>; FACT_COUNT] {
        let (f, pg) = (self.f, &self.pg);
        [
            &self.observed_at,
            &pg.utc_offset_s,
            &self.source,
            &f.location.lat,
            &f.location.lon,
            &pg.accuracy_m,
            &pg.fix_age_s,
            &self.place,
            &pg.counts[0],
            &pg.counts[1],
            &pg.counts[2],
            &pg.counts[3],
            &pg.counts[4],
            &pg.supervised,
            &self.behaviours,
            &self.actions,
            &pg.brought_home,
            &pg.past_norm,
            &self.cell_r9,
            &self.cell_r10,
        ]
    }

    fn values(&self) -> [&dyn ToSql; FACT_COUNT] {
        let f = self.f;
        [
            &self.observed_at,
            &f.utc_offset_s,
            &self.source,
            &f.location.lat,
            &f.location.lon,
            &f.location.accuracy_m,
            &f.location.fix_age_s,
            &self.place,
            &self.counts[0],
            &self.counts[1],
            &self.counts[2],
            &self.counts[3],
            &self.counts[4],
            &f.supervised,
            &self.behaviours,
            &self.actions,
            &f.brought_home,
            &self.d.past_norm,
            &self.cell_r9,
            &self.cell_r10,
        ]
    }
}

/// Codes as the JSON array the `behaviours` and `actions` columns hold.
fn codes<T: AsRef<str>>(codes: impl Iterator<Item = T>) -> String {
    serde_json::to_string(&codes.map(|c| c.as_ref().to_owned()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

/// A contact as it is stored on arrival.
pub struct NewContact<'a> {
    /// The contact as pushed.
    pub contact: &'a StreetContact,
    /// What ingest derived from its facts.
    pub derived: &'a Derived,
    /// Its ledger sequence number.
    pub seq: i64,
    /// The device that sent it.
    pub device: DeviceId,
    /// The device's user.
    pub user: UserId,
    /// The device's gemeente.
    pub gemeente: GemeenteId,
    /// The wijk it is counted in, if any.
    pub wijk: Option<WijkId>,
    /// Server clock at arrival, unix ms.
    pub received_at: i64,
    /// Device clock minus server clock at the push, ms.
    pub skew_ms: i64,
    /// Whether that skew is past the allowed one.
    pub skew_flag: bool,
    /// Its random record key (issue 9), never sent back to a phone.
    pub record_key: i64,
}

/// Stores a new contact.
pub fn insert_contact(tx: &Tx, n: &NewContact) -> Result<(), DbError> {
    insert_contacts(tx, std::slice::from_ref(n))
}

/// The types of a contact's first 11 columns, as PostgreSQL binds them.
const HEAD_TYPES: [Type; 11] = [
    TEXT, INT8, TEXT, TEXT, TEXT, TEXT, TEXT, INT8, INT8, INT8, INT8,
];

/// Stores new contacts: on SQLite one cached insert each, on PostgreSQL all in one
/// statement, a column of values per array (a push's contacts in one round trip).
pub fn insert_contacts(tx: &Tx, contacts: &[NewContact]) -> Result<(), DbError> {
    let facts: Vec<FactColumns> = contacts
        .iter()
        .map(|n| FactColumns::new(&n.contact.facts, n.derived))
        .collect();
    match tx.backend() {
        Backend::Sqlite(conn) => {
            let mut insert = conn.prepare_cached(&INSERT_CONTACT)?;
            for (n, facts) in contacts.iter().zip(&facts) {
                let c = n.contact;
                let head: [&dyn ToSql; 11] = [
                    &c.id,
                    &n.seq,
                    &n.device,
                    &n.user,
                    &n.gemeente,
                    &c.round,
                    &n.wijk,
                    &n.received_at,
                    &n.skew_ms,
                    &n.skew_flag,
                    &n.record_key,
                ];
                insert.execute(params_from_iter(head.into_iter().chain(facts.values())))?;
            }
        }
        Backend::Postgres(mut t) => {
            if contacts.is_empty() {
                return Ok(());
            }
            let skew_flags: Vec<i64> = contacts.iter().map(|n| i64::from(n.skew_flag)).collect();
            let mut columns: Vec<Column> = (0..HEAD_TYPES.len() + FACT_COUNT)
                .map(|_| Column(Vec::with_capacity(contacts.len())))
                .collect();
            for ((n, facts), skew_flag) in contacts.iter().zip(&facts).zip(&skew_flags) {
                let c = n.contact;
                let head: [PgParam; 11] = [
                    &c.id,
                    &n.seq,
                    &n.device,
                    &n.user,
                    &n.gemeente,
                    &c.round,
                    &n.wijk,
                    &n.received_at,
                    &n.skew_ms,
                    skew_flag,
                    &n.record_key,
                ];
                for (column, value) in columns
                    .iter_mut()
                    .zip(head.into_iter().chain(facts.pg_values()))
                {
                    column.0.push(value);
                }
            }
            let params: Vec<(PgParam, Type)> = columns
                .iter()
                .zip(HEAD_TYPES.iter().chain(&FACT_TYPES))
                .map(|(column, ty)| (column as PgParam, array_of(ty)))
                .collect();
            t.execute_typed(PG_INSERT_CONTACTS.as_str(), &params)?;
        }
    }
    Ok(())
}

/// The array type of one of the scalar types the push path binds.
fn array_of(ty: &Type) -> Type {
    match *ty {
        Type::INT8 => Type::INT8_ARRAY,
        Type::FLOAT8 => Type::FLOAT8_ARRAY,
        Type::BYTEA => Type::BYTEA_ARRAY,
        _ => Type::TEXT_ARRAY,
    }
}

/// One column of many rows, bound as one PostgreSQL array, so that `unnest` turns the
/// columns of a push back into rows for one insert. Each value is encoded as the array's
/// element type, and a `None` as a NULL element.
#[derive(Debug)]
struct Column<'a>(Vec<PgParam<'a>>);

impl ::postgres::types::ToSql for Column<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<::postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use ::postgres::types::{IsNull, Kind};
        let Kind::Array(member) = ty.kind() else {
            return Err(format!("a column binds as an array, not as {ty}").into());
        };
        let dimension = postgres_protocol::types::ArrayDimension {
            len: i32::try_from(self.0.len())?,
            lower_bound: 1,
        };
        postgres_protocol::types::array_to_sql(
            Some(dimension),
            member.oid(),
            self.0.iter(),
            |value, out| match value.to_sql_checked(member, out)? {
                IsNull::No => Ok(postgres_protocol::IsNull::No),
                IsNull::Yes => Ok(postgres_protocol::IsNull::Yes),
            },
            out,
        )?;
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), ::postgres::types::Kind::Array(_))
    }

    ::postgres::types::to_sql_checked!();
}

/// Overwrites the facts of one of `device`'s contacts with a correction's, unless a later
/// correction (by ledger `seq`) is already applied. The wijk changes only when `wijk` is
/// `Some`. `false`: the device has no such contact (or a later correction won).
pub fn correct_contact(
    tx: &Tx,
    contact: ContactId,
    device: DeviceId,
    seq: i64,
    facts: &ContactFacts,
    derived: &Derived,
    wijk: Option<WijkId>,
) -> Result<bool, DbError> {
    let columns = FactColumns::new(facts, derived);
    Ok(match tx.backend() {
        Backend::Sqlite(c) => {
            let tail: [&dyn ToSql; 5] = [&wijk, &seq, &contact, &device, &seq];
            c.prepare_cached(&CORRECT_CONTACT)?
                .execute(params_from_iter(columns.values().into_iter().chain(tail)))?
                > 0
        }
        Backend::Postgres(mut t) => {
            let tail: [PgParam; 4] = [&wijk, &seq, &contact, &device];
            let values: Vec<PgParam> = columns.pg_values().into_iter().chain(tail).collect();
            let types: Vec<Type> = FACT_TYPES
                .into_iter()
                .chain([TEXT, INT8, TEXT, TEXT])
                .collect();
            t.execute_typed(PG_CORRECT_CONTACT.as_str(), &typed(&values, &types))? > 0
        }
    })
}

/// Keeps a correction's new facts (as JSON) beside the contact it corrected.
pub fn insert_correction(
    tx: &Tx,
    id: CorrectionId,
    contact: ContactId,
    seq: i64,
    facts: &ContactFacts,
) -> Result<(), DbError> {
    let facts = serde_json::to_string(facts)?;
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.prepare_cached(
                "INSERT INTO correction (id, contact_id, seq, facts) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, contact, seq, facts])?;
        }
        Backend::Postgres(mut t) => {
            t.execute_typed(
                "INSERT INTO correction (id, contact_id, seq, facts) VALUES ($1, $2, $3, $4)",
                &[(&id, TEXT), (&contact, TEXT), (&seq, INT8), (&facts, TEXT)],
            )?;
        }
    }
    Ok(())
}

/// The wijk of one of `device`'s contacts: `None` when the device has no such contact,
/// `Some(None)` for a contact outside every wijk.
pub fn own_contact_wijk(
    tx: &Tx,
    contact: ContactId,
    device: DeviceId,
) -> Result<Option<Option<WijkId>>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(&format!(
                "SELECT wijk_id FROM contact WHERE seq = {SQLITE_CONTACT_SEQ} AND device_id = ?"
            ))?
            .query_row(params![contact, device], |r| r.get(0))
            .optional()?),
        Backend::Postgres(mut t) => Ok(t
            .query_typed(
                "SELECT wijk_id FROM contact WHERE id = $1 AND device_id = $2 LIMIT 1",
                &[(&contact, TEXT), (&device, TEXT)],
            )?
            .first()
            .map(|r| r.try_get::<_, Option<WijkId>>(0))
            .transpose()?),
    }
}

/// A sealed care form as it is stored on arrival (status `received`).
pub struct NewCareForm<'a> {
    /// The envelope as pushed.
    pub form: &'a CareFormEnvelope,
    /// Its ledger sequence number.
    pub seq: i64,
    /// The device that sent it.
    pub device: DeviceId,
    /// The device's user.
    pub user: UserId,
    /// The device's gemeente.
    pub gemeente: GemeenteId,
    /// The wijk of its contact, if any.
    pub wijk: Option<WijkId>,
    /// The reporter's role code.
    pub reporter_role: &'a str,
    /// Server clock at arrival, unix ms (also its first `updated_at`).
    pub received_at: i64,
    /// Its number in the feedback order ([`super::care_forms::next_feedback_seq`]).
    pub feedback_seq: i64,
}

/// Stores a newly arrived care form.
pub fn insert_care_form(tx: &Tx, n: &NewCareForm) -> Result<(), DbError> {
    let f = n.form;
    let (age_band, created_at) = (f.age_band.code(), f.created_at.as_second());
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.prepare_cached(
                "INSERT INTO care_form (id, seq, device_id, user_id, gemeente_id, contact_id,
                   wijk_id, reporter_role, age_band, created_at, received_at, recipient_key,
                   sealed, status, updated_at, feedback_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'received', ?11,
                   ?14)",
            )?
            .execute(params![
                f.id,
                n.seq,
                n.device,
                n.user,
                n.gemeente,
                f.contact,
                n.wijk,
                n.reporter_role,
                age_band,
                created_at,
                n.received_at,
                f.recipient_key.0,
                f.sealed,
                n.feedback_seq,
            ])?;
        }
        Backend::Postgres(mut t) => {
            t.execute_typed(
                "INSERT INTO care_form (id, seq, device_id, user_id, gemeente_id, contact_id,
                   wijk_id, reporter_role, age_band, created_at, received_at, recipient_key,
                   sealed, status, updated_at, feedback_seq)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'received', $11,
                   $14)",
                &[
                    (&f.id, TEXT),
                    (&n.seq, INT8),
                    (&n.device, TEXT),
                    (&n.user, TEXT),
                    (&n.gemeente, TEXT),
                    (&f.contact, TEXT),
                    (&n.wijk, TEXT),
                    (&n.reporter_role, TEXT),
                    (&age_band, TEXT),
                    (&created_at, INT8),
                    (&n.received_at, INT8),
                    (&f.recipient_key.0, TEXT),
                    (&f.sealed, BYTEA),
                    (&n.feedback_seq, INT8),
                ],
            )?;
        }
    }
    Ok(())
}

/// The gemeente's rounds stored with a wijk the server did not know, newest first.
pub fn rounds_with_unknown_wijk(
    tx: &Tx,
    gemeente: GemeenteId,
) -> Result<Vec<UnknownWijkRound>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT r.id, r.device_id, r.unknown_wijk, r.started_at,
                        (SELECT COUNT(*) FROM contact c WHERE c.round_id = r.id)
                 FROM round r JOIN user u ON u.id = r.user_id
                 WHERE r.unknown_wijk IS NOT NULL AND u.gemeente_id = ?1
                 ORDER BY r.started_at DESC",
            )?;
            let rows = stmt.query_map(params![gemeente], |r| {
                Ok(UnknownWijkRound {
                    round: r.get(0)?,
                    device: r.get(1)?,
                    named_wijk: r.get(2)?,
                    started_at: r.get(3)?,
                    contacts: r.get::<_, i64>(4)?.max(0) as u64,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT r.id, r.device_id, r.unknown_wijk, r.started_at,
                        (SELECT COUNT(*) FROM contact c WHERE c.round_id = r.id)
                 FROM round r JOIN \"user\" u ON u.id = r.user_id
                 WHERE r.unknown_wijk IS NOT NULL AND u.gemeente_id = $1
                 ORDER BY r.started_at DESC",
                &[&gemeente],
            )?
            .iter()
            .map(|r| {
                Ok(UnknownWijkRound {
                    round: r.try_get(0)?,
                    device: r.try_get(1)?,
                    named_wijk: r.try_get(2)?,
                    started_at: r.try_get(3)?,
                    contacts: r.try_get::<_, i64>(4)?.max(0) as u64,
                })
            })
            .collect(),
    }
}

/// One change on a device's own care form, as a pull reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRow {
    /// The form.
    pub form: CareFormId,
    /// Its status code.
    pub status: String,
    /// The meldpunt's message to the field worker, if any.
    pub message: Option<String>,
    /// When it changed (unix ms).
    pub updated_at: i64,
    /// Its number in the feedback order.
    pub feedback_seq: i64,
}

/// The device's forms whose feedback number is past `since`, in that order, at most 1000.
pub fn feedback_since(tx: &Tx, device: DeviceId, since: i64) -> Result<Vec<FeedbackRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT id, status, message, updated_at, feedback_seq FROM care_form
                 WHERE device_id = ?1 AND feedback_seq > ?2 ORDER BY feedback_seq LIMIT 1000",
            )?;
            let rows = stmt.query_map(params![device, since], |r| {
                Ok(FeedbackRow {
                    form: r.get(0)?,
                    status: r.get(1)?,
                    message: r.get(2)?,
                    updated_at: r.get(3)?,
                    feedback_seq: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT id, status, message, updated_at, feedback_seq FROM care_form
                 WHERE device_id = $1 AND feedback_seq > $2 ORDER BY feedback_seq LIMIT 1000",
                &[&device, &since],
            )?
            .iter()
            .map(|r| {
                Ok(FeedbackRow {
                    form: r.try_get(0)?,
                    status: r.try_get(1)?,
                    message: r.try_get(2)?,
                    updated_at: r.try_get(3)?,
                    feedback_seq: r.try_get(4)?,
                })
            })
            .collect(),
    }
}

/// The role code and gemeente of a device's user (for the answer to an enrolment).
pub fn device_role(tx: &Tx, device: DeviceId) -> Result<(String, GemeenteId), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.query_row(
            "SELECT u.role, u.gemeente_id FROM device d JOIN user u ON u.id = d.user_id
             WHERE d.id = ?1",
            params![device],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?),
        Backend::Postgres(mut t) => {
            let r = t.query_one(
                "SELECT u.role, u.gemeente_id FROM device d JOIN \"user\" u ON u.id = d.user_id
                 WHERE d.id = $1",
                &[&device],
            )?;
            Ok((r.try_get(0)?, r.try_get(1)?))
        }
    }
}

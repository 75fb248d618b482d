//! Sealed care forms in the meldpunt inbox (`care_form`): the inbox rows, the sealed bytes,
//! match pseudonyms, the meldpunt's handling (status, "bekend bij", visit), the feedback
//! cursor that carries a status or message back to the reporting device (the `feedback`
//! counter), and the open-forms retention marks ("held on purpose", expiry).
//!
//! Every function takes the caller's gemeente, so a form of another gemeente is simply not
//! found. What a status means, the 48-hour clock, urgency order and who may do what stay in
//! [`crate::meldpunt`]; this module only keeps and fetches.
//!
//! Each function speaks both backends' dialects (see [`super`]); on PostgreSQL the
//! transaction's gemeente (row-level security) also bounds every row read or written, and
//! the `feedback` counter is the transaction's gemeente's own row.

use avondronde_shared::care::{CareStatus, RecipientKeyId};
use avondronde_shared::{AgeBand, CareFormId, GemeenteId};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

use super::{Backend, Tx};
use crate::db::DbError;
use crate::meldpunt::inbox::{FormRow, KnownTo};
use crate::meldpunt::matching::Pending;

/// An inbox row, with the ids of earlier forms about the same child (same pseudonym).
const ROW_SQL: &str = "SELECT f.id, f.received_at, w.name, f.reporter_role, f.age_band, f.status,
       f.known_to, f.visit_at, f.message, f.recipient_key, f.pseudonym IS NOT NULL,
       (SELECT group_concat(e.id) FROM care_form e
         WHERE e.gemeente_id = f.gemeente_id AND length(f.pseudonym) > 0
           AND e.pseudonym = f.pseudonym
           AND (e.received_at < f.received_at OR (e.received_at = f.received_at AND e.seq < f.seq)))
     FROM care_form f LEFT JOIN wijk w ON w.id = f.wijk_id
     WHERE f.gemeente_id = ?1";

/// [`ROW_SQL`] in PostgreSQL's dialect (`string_agg` for `group_concat`; the flag is a
/// boolean; the wijk is the form's gemeente's).
const ROW_SQL_PG: &str =
    "SELECT f.id, f.received_at, w.name, f.reporter_role, f.age_band, f.status,
       f.known_to, f.visit_at, f.message, f.recipient_key, f.pseudonym IS NOT NULL,
       (SELECT string_agg(e.id, ',') FROM care_form e
         WHERE e.gemeente_id = f.gemeente_id AND length(f.pseudonym) > 0
           AND e.pseudonym = f.pseudonym
           AND (e.received_at < f.received_at OR (e.received_at = f.received_at AND e.seq < f.seq)))
     FROM care_form f LEFT JOIN wijk w ON w.id = f.wijk_id AND w.gemeente_id = f.gemeente_id
     WHERE f.gemeente_id = $1";

/// The SQL condition of an open form (not closed, not "niet opgepakt").
const OPEN: &str = "status NOT IN ('closed', 'not_taken_up')";

fn bad(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what} in database").into(),
    )
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The ids `group_concat`/`string_agg` joined into one text, oldest first; `None` if one of
/// them is not a form id.
fn earlier_ids(joined: Option<String>) -> Option<Vec<CareFormId>> {
    let mut earlier: Vec<CareFormId> = joined
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    // UUIDv7 ids sort by creation time: oldest first.
    earlier.sort();
    Some(earlier)
}

fn form_row(r: &Row<'_>) -> rusqlite::Result<FormRow> {
    let earlier = earlier_ids(r.get(11)?).ok_or_else(|| bad("form id"))?;
    Ok(FormRow {
        id: r.get(0)?,
        received_at: ts(r.get(1)?),
        wijk: r.get(2)?,
        reporter_role: r.get(3)?,
        age_band: AgeBand::from_code(&r.get::<_, String>(4)?),
        status: CareStatus::from(r.get::<_, String>(5)?),
        known_to: r
            .get::<_, Option<String>>(6)?
            .and_then(|c| KnownTo::from_code(&c)),
        visit_at: r.get::<_, Option<i64>>(7)?.map(ts),
        message: r.get(8)?,
        recipient_key: RecipientKeyId(r.get(9)?),
        matched: r.get(10)?,
        earlier,
    })
}

/// [`form_row`] for a PostgreSQL row of [`ROW_SQL_PG`].
fn form_row_pg(r: &::postgres::Row) -> Result<FormRow, DbError> {
    let earlier = earlier_ids(r.try_get(11)?)
        .ok_or_else(|| DbError::Domain("bad form id in database".into()))?;
    Ok(FormRow {
        id: r.try_get(0)?,
        received_at: ts(r.try_get(1)?),
        wijk: r.try_get(2)?,
        reporter_role: r.try_get(3)?,
        age_band: AgeBand::from_code(r.try_get::<_, &str>(4)?),
        status: CareStatus::from(r.try_get::<_, String>(5)?),
        known_to: r
            .try_get::<_, Option<&str>>(6)?
            .and_then(KnownTo::from_code),
        visit_at: r.try_get::<_, Option<i64>>(7)?.map(ts),
        message: r.try_get(8)?,
        recipient_key: RecipientKeyId(r.try_get(9)?),
        matched: r.try_get(10)?,
        earlier,
    })
}

/// A stored 0/1 flag (PostgreSQL keeps SQLite's integers).
fn flag(v: i64) -> bool {
    v != 0
}

/// Every form of the gemeente, in no particular order.
pub fn rows(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<FormRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(ROW_SQL)?;
            let rows = stmt
                .query_map(params![gemeente], form_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        }
        Backend::Postgres(mut t) => t
            .query(ROW_SQL_PG, &[&gemeente])?
            .iter()
            .map(form_row_pg)
            .collect(),
    }
}

/// One form of the gemeente.
pub fn row(tx: &Tx, gemeente: GemeenteId, id: CareFormId) -> Result<Option<FormRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let sql = format!("{ROW_SQL} AND f.id = ?2");
            Ok(c.prepare_cached(&sql)?
                .query_row(params![gemeente, id], form_row)
                .optional()?)
        }
        Backend::Postgres(mut t) => {
            let sql = format!("{ROW_SQL_PG} AND f.id = $2");
            t.query_opt(&sql, &[&gemeente, &id])?
                .as_ref()
                .map(form_row_pg)
                .transpose()
        }
    }
}

/// The forms with the same pseudonym made *after* this one, oldest first.
pub fn later(tx: &Tx, gemeente: GemeenteId, id: CareFormId) -> Result<Vec<CareFormId>, DbError> {
    // Ties in receipt time are ordered as the comparison orders them: by arrival (seq).
    let sql = "SELECT e.id FROM care_form f JOIN care_form e
           ON e.gemeente_id = f.gemeente_id AND e.pseudonym = f.pseudonym AND e.id <> f.id
         WHERE f.gemeente_id = ?1 AND f.id = ?2 AND length(f.pseudonym) > 0
           AND (e.received_at > f.received_at OR (e.received_at = f.received_at AND e.seq > f.seq))
         ORDER BY e.received_at, e.seq";
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(sql)?;
            let rows = stmt.query_map(params![gemeente, id], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query(
                &sql.replace("?1", "$1").replace("?2", "$2"),
                &[&gemeente, &id],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect(),
    }
}

/// The sealed bytes of a form of the gemeente, and the key they were sealed to.
pub fn sealed(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
) -> Result<Option<(RecipientKeyId, Vec<u8>)>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(
                "SELECT recipient_key, sealed FROM care_form WHERE gemeente_id = ?1 AND id = ?2",
            )?
            .query_row(params![gemeente, id], |r| {
                Ok((RecipientKeyId(r.get(0)?), r.get(1)?))
            })
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT recipient_key, sealed FROM care_form WHERE gemeente_id = $1 AND id = $2",
                &[&gemeente, &id],
            )?
            .map(|r| Ok((RecipientKeyId(r.try_get(0)?), r.try_get(1)?)))
            .transpose(),
    }
}

/// Forms of the gemeente without a match pseudonym, in arrival order.
pub fn without_pseudonym(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<Pending>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT id, recipient_key, sealed FROM care_form
                 WHERE gemeente_id = ?1 AND pseudonym IS NULL ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![gemeente], |r| {
                Ok(Pending {
                    id: r.get(0)?,
                    key: RecipientKeyId(r.get(1)?),
                    sealed: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT id, recipient_key, sealed FROM care_form
                 WHERE gemeente_id = $1 AND pseudonym IS NULL ORDER BY seq",
                &[&gemeente],
            )?
            .iter()
            .map(|r| {
                Ok(Pending {
                    id: r.try_get(0)?,
                    key: RecipientKeyId(r.try_get(1)?),
                    sealed: r.try_get(2)?,
                })
            })
            .collect(),
    }
}

/// Stores a form's pseudonym unless it already has one; returns how many rows changed.
pub fn set_pseudonym(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
    pseudonym: &[u8],
) -> Result<usize, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(
                "UPDATE care_form SET pseudonym = ?1 WHERE gemeente_id = ?2 AND id = ?3 AND pseudonym IS NULL",
            )?
            .execute(params![pseudonym, gemeente, id])?),
        Backend::Postgres(mut t) => Ok(count(t.execute(
            "UPDATE care_form SET pseudonym = $1
             WHERE gemeente_id = $2 AND id = $3 AND pseudonym IS NULL",
            &[&pseudonym, &gemeente, &id],
        )?)),
    }
}

/// Rows changed, as SQLite counts them.
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Stores "bekend bij" and the planned visit (care information, never sent to the reporter).
pub fn set_care(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
    known_to: Option<KnownTo>,
    visit_at: Option<Timestamp>,
) -> Result<(), DbError> {
    let known_to = known_to.map(KnownTo::code);
    let visit_at = visit_at.map(|v| v.as_millisecond());
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.prepare_cached(
                "UPDATE care_form SET known_to = ?1, visit_at = ?2 WHERE gemeente_id = ?3 AND id = ?4",
            )?
            .execute(params![known_to, visit_at, gemeente, id])?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE care_form SET known_to = $1, visit_at = $2 WHERE gemeente_id = $3 AND id = $4",
                &[&known_to, &visit_at, &gemeente, &id],
            )?;
        }
    }
    Ok(())
}

/// The next number of the gemeente's feedback order: each change a phone should hear of (a
/// form's arrival, the meldpunt's handling) gets one, and a pull asks for those after its
/// cursor. SQLite keeps one counter (it holds one gemeente); PostgreSQL one per gemeente,
/// and this takes the transaction's gemeente's.
pub fn next_feedback_seq(tx: &Tx) -> Result<i64, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(
                "UPDATE counter SET value = value + 1 WHERE name = 'feedback' RETURNING value",
            )?
            .query_row([], |r| r.get(0))?),
        Backend::Postgres(mut t) => {
            // Row-level security already limits the update to the transaction's gemeente;
            // the condition says so too, so that a connection that bypasses it (the admin's)
            // never bumps, or reads, another gemeente's counter.
            let row = t.query_opt(
                "UPDATE counter SET value = value + 1
                 WHERE name = 'feedback'
                   AND gemeente_id = NULLIF(current_setting('app.gemeente', true), '')
                 RETURNING value",
                &[],
            )?;
            match row {
                Some(r) => Ok(r.try_get(0)?),
                None => Err(DbError::Domain(
                    "the gemeente of this transaction has no feedback counter".into(),
                )),
            }
        }
    }
}

/// Stores the status and the message for the reporter, at feedback position `seq`.
pub fn set_feedback(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
    status: &CareStatus,
    message: Option<&str>,
    now_ms: i64,
    seq: i64,
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.prepare_cached(
                "UPDATE care_form SET status = ?1, message = ?2, updated_at = ?3, feedback_seq = ?4
                 WHERE gemeente_id = ?5 AND id = ?6",
            )?
            .execute(params![status.code(), message, now_ms, seq, gemeente, id])?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE care_form SET status = $1, message = $2, updated_at = $3, feedback_seq = $4
                 WHERE gemeente_id = $5 AND id = $6",
                &[&status.code(), &message, &now_ms, &seq, &gemeente, &id],
            )?;
        }
    }
    Ok(())
}

/// An open form's retention facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRow {
    /// The form.
    pub id: CareFormId,
    /// Its last change, unix ms.
    pub updated_at: i64,
    /// Held on purpose.
    pub held: bool,
}

/// The gemeente's open forms last changed before `before_ms`, oldest first (by arrival
/// within one millisecond).
pub fn open_changed_before(
    tx: &Tx,
    gemeente: GemeenteId,
    before_ms: i64,
) -> Result<Vec<OpenRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT id, updated_at, held FROM care_form
                 WHERE gemeente_id = ?1 AND {OPEN} AND updated_at < ?2 ORDER BY updated_at, seq"
            ))?;
            let rows = stmt.query_map(params![gemeente, before_ms], |r| {
                Ok(OpenRow {
                    id: r.get(0)?,
                    updated_at: r.get(1)?,
                    held: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query(
                &format!(
                    "SELECT id, updated_at, held FROM care_form
                     WHERE gemeente_id = $1 AND {OPEN} AND updated_at < $2
                     ORDER BY updated_at, seq"
                ),
                &[&gemeente, &before_ms],
            )?
            .iter()
            .map(|r| {
                Ok(OpenRow {
                    id: r.try_get(0)?,
                    updated_at: r.try_get(1)?,
                    held: flag(r.try_get(2)?),
                })
            })
            .collect(),
    }
}

/// Marks an open form of the gemeente as held on purpose (or not); returns how many rows
/// changed (0 when the gemeente has no such open form).
pub fn set_held(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
    held: bool,
) -> Result<usize, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.execute(
            &format!(
                "UPDATE care_form SET held = ?1 WHERE id = ?2 AND gemeente_id = ?3 AND {OPEN}"
            ),
            params![held, id, gemeente],
        )?),
        Backend::Postgres(mut t) => Ok(count(t.execute(
            &format!(
                "UPDATE care_form SET held = $1 WHERE id = $2 AND gemeente_id = $3 AND {OPEN}"
            ),
            &[&i64::from(held), &id, &gemeente],
        )?)),
    }
}

/// The gemeente's open forms, not held, last changed before `before_ms`, oldest first.
pub fn open_unheld_changed_before(
    tx: &Tx,
    gemeente: GemeenteId,
    before_ms: i64,
) -> Result<Vec<CareFormId>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(&format!(
                "SELECT id FROM care_form WHERE gemeente_id = ?1 AND {OPEN} AND held = 0
                   AND updated_at < ?2 ORDER BY updated_at, seq"
            ))?
            .query_map(params![gemeente, before_ms], |r| r.get(0))?
            .collect::<Result<_, _>>()?),
        Backend::Postgres(mut t) => t
            .query(
                &format!(
                    "SELECT id FROM care_form WHERE gemeente_id = $1 AND {OPEN} AND held = 0
                       AND updated_at < $2 ORDER BY updated_at, seq"
                ),
                &[&gemeente, &before_ms],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect(),
    }
}

/// Deletes a form (on PostgreSQL, only one of the transaction's gemeente).
pub fn delete(tx: &Tx, id: CareFormId) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute("DELETE FROM care_form WHERE id = ?1", params![id])?;
        }
        Backend::Postgres(mut t) => {
            t.execute("DELETE FROM care_form WHERE id = $1", &[&id])?;
        }
    }
    Ok(())
}

/// A brought-home contact the demo may write a care form for.
#[cfg(feature = "demo")]
#[derive(Debug, Clone)]
pub struct DemoContact {
    /// The contact.
    pub id: avondronde_shared::ContactId,
    /// The device that recorded it.
    pub device: avondronde_shared::DeviceId,
    /// When, unix seconds.
    pub observed_at: i64,
    /// Children 0–5, 6–9 and 10–11 seen.
    pub counts: (i64, i64, i64),
    /// The wijk's code, if the contact lies in one.
    pub wijk_code: Option<String>,
}

/// The demo: the gemeente's most recent brought-home contacts (at most 5000), newest first.
#[cfg(feature = "demo")]
pub fn demo_brought_home(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<DemoContact>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare(
                "SELECT c.id, c.device_id, c.observed_at, c.n_0_5, c.n_6_9, c.n_10_11, w.code
                 FROM contact c LEFT JOIN wijk w ON w.id = c.wijk_id
                 WHERE c.gemeente_id = ?1 AND c.brought_home > 0
                 ORDER BY c.observed_at DESC LIMIT 5000",
            )?;
            let rows = stmt.query_map(params![gemeente], |r| {
                Ok(DemoContact {
                    id: r.get(0)?,
                    device: r.get(1)?,
                    observed_at: r.get(2)?,
                    counts: (r.get(3)?, r.get(4)?, r.get(5)?),
                    wijk_code: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT c.id, c.device_id, c.observed_at, c.n_0_5, c.n_6_9, c.n_10_11, w.code
                 FROM contact c
                 LEFT JOIN wijk w ON w.id = c.wijk_id AND w.gemeente_id = c.gemeente_id
                 WHERE c.gemeente_id = $1 AND c.brought_home > 0
                 ORDER BY c.observed_at DESC LIMIT 5000",
                &[&gemeente],
            )?
            .iter()
            .map(|r| {
                Ok(DemoContact {
                    id: r.try_get(0)?,
                    device: r.try_get(1)?,
                    observed_at: r.try_get(2)?,
                    counts: (r.try_get(3)?, r.try_get(4)?, r.try_get(5)?),
                    wijk_code: r.try_get(6)?,
                })
            })
            .collect(),
    }
}

/// The demo: the gemeente's first meldpunt user (by username), id and username.
#[cfg(feature = "demo")]
pub fn demo_meldpunt_user(
    tx: &Tx,
    gemeente: GemeenteId,
) -> Result<Option<(avondronde_shared::UserId, String)>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT id, username FROM user WHERE gemeente_id = ?1 AND role = 'meldpunt'
                 ORDER BY username LIMIT 1",
                params![gemeente],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT id, username FROM \"user\" WHERE gemeente_id = $1 AND role = 'meldpunt'
                 ORDER BY username COLLATE \"C\" LIMIT 1",
                &[&gemeente],
            )?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose(),
    }
}

//! Sealed care forms in the meldpunt inbox (`care_form`): the inbox rows, the sealed bytes,
//! match pseudonyms, the meldpunt's handling (status, "bekend bij", visit), the feedback
//! cursor that carries a status or message back to the reporting device (the `feedback`
//! counter), and the open-forms retention marks ("held on purpose", expiry).
//!
//! Every function takes the caller's gemeente, so a form of another gemeente is simply not
//! found. What a status means, the 48-hour clock, urgency order and who may do what stay in
//! [`crate::meldpunt`]; this module only keeps and fetches.

use avondronde_shared::care::{CareStatus, RecipientKeyId};
use avondronde_shared::{AgeBand, CareFormId, GemeenteId};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

use super::Tx;
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

fn form_row(r: &Row<'_>) -> rusqlite::Result<FormRow> {
    // `group_concat` joins the ids into one text, so these are parsed one by one.
    let earlier: Option<String> = r.get(11)?;
    let mut earlier: Vec<CareFormId> = earlier
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("form id")))
        .collect::<Result<_, _>>()?;
    // UUIDv7 ids sort by creation time: oldest first.
    earlier.sort();
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

/// Every form of the gemeente, in no particular order.
pub fn rows(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<FormRow>, DbError> {
    let mut stmt = tx.conn()?.prepare_cached(ROW_SQL)?;
    let rows = stmt
        .query_map(params![gemeente], form_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One form of the gemeente.
pub fn row(tx: &Tx, gemeente: GemeenteId, id: CareFormId) -> Result<Option<FormRow>, DbError> {
    let sql = format!("{ROW_SQL} AND f.id = ?2");
    Ok(tx
        .conn()?
        .prepare_cached(&sql)?
        .query_row(params![gemeente, id], form_row)
        .optional()?)
}

/// The forms with the same pseudonym made *after* this one, oldest first.
pub fn later(tx: &Tx, gemeente: GemeenteId, id: CareFormId) -> Result<Vec<CareFormId>, DbError> {
    let mut stmt = tx.conn()?.prepare_cached(
        "SELECT e.id FROM care_form f JOIN care_form e
           ON e.gemeente_id = f.gemeente_id AND e.pseudonym = f.pseudonym AND e.id <> f.id
         WHERE f.gemeente_id = ?1 AND f.id = ?2 AND length(f.pseudonym) > 0
           AND (e.received_at > f.received_at OR (e.received_at = f.received_at AND e.seq > f.seq))
         ORDER BY e.received_at",
    )?;
    let rows = stmt.query_map(params![gemeente, id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The sealed bytes of a form of the gemeente, and the key they were sealed to.
pub fn sealed(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
) -> Result<Option<(RecipientKeyId, Vec<u8>)>, DbError> {
    Ok(tx
        .conn()?
        .prepare_cached(
            "SELECT recipient_key, sealed FROM care_form WHERE gemeente_id = ?1 AND id = ?2",
        )?
        .query_row(params![gemeente, id], |r| {
            Ok((RecipientKeyId(r.get(0)?), r.get(1)?))
        })
        .optional()?)
}

/// Forms of the gemeente without a match pseudonym, in arrival order.
pub fn without_pseudonym(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<Pending>, DbError> {
    let mut stmt = tx.conn()?.prepare_cached(
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

/// Stores a form's pseudonym unless it already has one; returns how many rows changed.
pub fn set_pseudonym(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
    pseudonym: &[u8],
) -> Result<usize, DbError> {
    Ok(tx
        .conn()?
        .prepare_cached(
            "UPDATE care_form SET pseudonym = ?1 WHERE gemeente_id = ?2 AND id = ?3 AND pseudonym IS NULL",
        )?
        .execute(params![pseudonym, gemeente, id])?)
}

/// Stores "bekend bij" and the planned visit (care information, never sent to the reporter).
pub fn set_care(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
    known_to: Option<KnownTo>,
    visit_at: Option<Timestamp>,
) -> Result<(), DbError> {
    tx.conn()?
        .prepare_cached(
            "UPDATE care_form SET known_to = ?1, visit_at = ?2 WHERE gemeente_id = ?3 AND id = ?4",
        )?
        .execute(params![
            known_to.map(KnownTo::code),
            visit_at.map(|v| v.as_millisecond()),
            gemeente,
            id
        ])?;
    Ok(())
}

/// The next number of the server-wide feedback order: each change a phone should hear of
/// (a form's arrival, the meldpunt's handling) gets one, and a pull asks for those after its
/// cursor.
pub fn next_feedback_seq(tx: &Tx) -> Result<i64, DbError> {
    Ok(tx
        .conn()?
        .prepare_cached(
            "UPDATE counter SET value = value + 1 WHERE name = 'feedback' RETURNING value",
        )?
        .query_row([], |r| r.get(0))?)
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
    tx.conn()?
        .prepare_cached(
            "UPDATE care_form SET status = ?1, message = ?2, updated_at = ?3, feedback_seq = ?4
             WHERE gemeente_id = ?5 AND id = ?6",
        )?
        .execute(params![status.code(), message, now_ms, seq, gemeente, id])?;
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

/// The gemeente's open forms last changed before `before_ms`, oldest first.
pub fn open_changed_before(
    tx: &Tx,
    gemeente: GemeenteId,
    before_ms: i64,
) -> Result<Vec<OpenRow>, DbError> {
    let mut stmt = tx.conn()?.prepare_cached(&format!(
        "SELECT id, updated_at, held FROM care_form
         WHERE gemeente_id = ?1 AND {OPEN} AND updated_at < ?2 ORDER BY updated_at"
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

/// Marks an open form of the gemeente as held on purpose (or not); returns how many rows
/// changed (0 when the gemeente has no such open form).
pub fn set_held(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
    held: bool,
) -> Result<usize, DbError> {
    Ok(tx.conn()?.execute(
        &format!("UPDATE care_form SET held = ?1 WHERE id = ?2 AND gemeente_id = ?3 AND {OPEN}"),
        params![held, id, gemeente],
    )?)
}

/// The gemeente's open forms, not held, last changed before `before_ms`.
pub fn open_unheld_changed_before(
    tx: &Tx,
    gemeente: GemeenteId,
    before_ms: i64,
) -> Result<Vec<CareFormId>, DbError> {
    Ok(tx
        .conn()?
        .prepare_cached(&format!(
            "SELECT id FROM care_form WHERE gemeente_id = ?1 AND {OPEN} AND held = 0
               AND updated_at < ?2"
        ))?
        .query_map(params![gemeente, before_ms], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Deletes a form.
pub fn delete(tx: &Tx, id: CareFormId) -> Result<(), DbError> {
    tx.conn()?
        .execute("DELETE FROM care_form WHERE id = ?1", params![id])?;
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
    let mut stmt = tx.conn()?.prepare(
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

/// The demo: the gemeente's first meldpunt user (by username), id and username.
#[cfg(feature = "demo")]
pub fn demo_meldpunt_user(
    tx: &Tx,
    gemeente: GemeenteId,
) -> Result<Option<(avondronde_shared::UserId, String)>, DbError> {
    Ok(tx
        .conn()?
        .query_row(
            "SELECT id, username FROM user WHERE gemeente_id = ?1 AND role = 'meldpunt'
             ORDER BY username LIMIT 1",
            params![gemeente],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

//! A phone's own reports, kept on its `device` row: the outbox counts of each pull and its
//! last refusal of the meldpunt key chain.

use avondronde_shared::DeviceId;
use rusqlite::params;

use super::Tx;
use crate::db::DbError;

/// Stores the outbox counts a phone reported at `now_ms`.
pub fn set_outbox(
    tx: &Tx,
    device: DeviceId,
    pending: u32,
    quarantined: u32,
    now_ms: i64,
) -> Result<(), DbError> {
    tx.conn()
        .prepare_cached(
            "UPDATE device SET outbox_pending = ?1, outbox_quarantined = ?2,
                    outbox_reported_at = ?3 WHERE id = ?4",
        )?
        .execute(params![pending, quarantined, now_ms, device])?;
    Ok(())
}

/// Stores the refusal code a phone reported at `now_ms`.
pub fn set_key_refused(tx: &Tx, device: DeviceId, code: &str, now_ms: i64) -> Result<(), DbError> {
    tx.conn()
        .prepare_cached(
            "UPDATE device SET key_refused_code = ?1, key_refused_at = ?2 WHERE id = ?3",
        )?
        .execute(params![code, now_ms, device])?;
    Ok(())
}

/// The last refusal code a device reported, if any.
pub fn key_refused(tx: &Tx, device: DeviceId) -> Result<Option<String>, DbError> {
    Ok(tx.conn().query_row(
        "SELECT key_refused_code FROM device WHERE id = ?1",
        params![device],
        |r| r.get(0),
    )?)
}

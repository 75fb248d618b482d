//! What a phone reports about itself on each pull: its outbox counts (counts only, so an
//! administrator sees unsent work before revoking a phone, issue 10) and its last refusal
//! of the meldpunt key chain (a code, so a swapped key is noticed on the server too).

use avondronde_shared::DeviceId;
use avondronde_shared::sync::OutboxReport;
use rusqlite::{Connection, params};

use crate::db::DbError;

/// The longest refusal code stored (the phone sends a short code; anything longer is cut).
const MAX_CODE: usize = 40;

/// Stores a pull's report on the device row.
pub fn record_report(
    conn: &Connection,
    device: DeviceId,
    outbox: Option<OutboxReport>,
    key_refused: Option<&str>,
    now_ms: i64,
) -> Result<(), DbError> {
    if let Some(o) = outbox {
        conn.prepare_cached(
            "UPDATE device SET outbox_pending = ?1, outbox_quarantined = ?2,
                    outbox_reported_at = ?3 WHERE id = ?4",
        )?
        .execute(params![
            o.pending.saturating_add(o.drafts),
            o.quarantined,
            now_ms,
            device.to_string()
        ])?;
    }
    if let Some(code) = key_refused {
        let code: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(MAX_CODE)
            .collect();
        conn.prepare_cached(
            "UPDATE device SET key_refused_code = ?1, key_refused_at = ?2 WHERE id = ?3",
        )?
        .execute(params![code, now_ms, device.to_string()])?;
    }
    Ok(())
}

/// The last refusal code a device reported, if any.
pub fn key_refused(conn: &Connection, device: DeviceId) -> Result<Option<String>, DbError> {
    Ok(conn.query_row(
        "SELECT key_refused_code FROM device WHERE id = ?1",
        params![device.to_string()],
        |r| r.get(0),
    )?)
}

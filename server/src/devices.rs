//! What a phone reports about itself on each pull: its outbox counts (counts only, so an
//! administrator sees unsent work before revoking a phone, issue 10) and its last refusal
//! of the meldpunt key chain (a code, so a swapped key is noticed on the server too).

use avondronde_shared::DeviceId;
use avondronde_shared::sync::OutboxReport;

use crate::db::DbError;
use crate::store::{self, Tx};

/// The longest refusal code stored (the phone sends a short code; anything longer is cut).
const MAX_CODE: usize = 40;

/// Stores a pull's report on the device row. Unsent drafts count as pending work.
pub fn record_report(
    tx: &Tx,
    device: DeviceId,
    outbox: Option<OutboxReport>,
    key_refused: Option<&str>,
    now_ms: i64,
) -> Result<(), DbError> {
    if let Some(o) = outbox {
        let pending = o.pending.saturating_add(o.drafts);
        store::devices::set_outbox(tx, device, pending, o.quarantined, now_ms)?;
    }
    if let Some(code) = key_refused {
        let code: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(MAX_CODE)
            .collect();
        store::devices::set_key_refused(tx, device, &code, now_ms)?;
    }
    Ok(())
}

/// The last refusal code a device reported, if any.
pub fn key_refused(tx: &Tx, device: DeviceId) -> Result<Option<String>, DbError> {
    store::devices::key_refused(tx, device)
}

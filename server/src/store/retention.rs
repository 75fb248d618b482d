//! Retention as it is kept and carried out: the `retention_setting` rows (a gemeente's
//! periods), and the sweeps that delete by age from `care_form`, `contact`, `correction`
//! and `round`, after copying expired contacts into `contact_archive`. The periods, their
//! defaults and their limits, and the audit entry of a run, are [`crate::retention`]'s.

use avondronde_shared::GemeenteId;
use rusqlite::{OptionalExtension, params};

use super::Tx;
use crate::db::DbError;
use crate::retention::Periods;

/// A gemeente's stored periods; the two open-form periods may be unset (older rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodsRow {
    /// Closed care forms, months.
    pub care_form_months: u32,
    /// Raw contacts, months.
    pub contact_months: u32,
    /// Open care forms, warning age in months.
    pub open_form_warn_months: Option<u32>,
    /// Open care forms, maximum age in months.
    pub open_form_months: Option<u32>,
}

/// The gemeente's stored periods, if any were set.
pub fn periods(tx: &Tx, gemeente: GemeenteId) -> Result<Option<PeriodsRow>, DbError> {
    Ok(tx
        .conn()?
        .prepare_cached(
            "SELECT care_form_months, contact_months, open_form_warn_months, open_form_months
             FROM retention_setting WHERE gemeente_id = ?1",
        )?
        .query_row(params![gemeente], |r| {
            Ok(PeriodsRow {
                care_form_months: r.get(0)?,
                contact_months: r.get(1)?,
                open_form_warn_months: r.get(2)?,
                open_form_months: r.get(3)?,
            })
        })
        .optional()?)
}

/// Stores (inserts or replaces) the gemeente's periods, changed at `now_ms`.
pub fn set_periods(tx: &Tx, gemeente: GemeenteId, p: &Periods, now_ms: i64) -> Result<(), DbError> {
    tx.conn()?.execute(
        "INSERT INTO retention_setting (gemeente_id, care_form_months, contact_months, updated_at,
           open_form_warn_months, open_form_months)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (gemeente_id) DO UPDATE SET care_form_months = excluded.care_form_months,
           contact_months = excluded.contact_months, updated_at = excluded.updated_at,
           open_form_warn_months = excluded.open_form_warn_months,
           open_form_months = excluded.open_form_months",
        params![
            gemeente,
            p.care_form_months,
            p.contact_months,
            now_ms,
            p.open_form_warn_months,
            p.open_form_months
        ],
    )?;
    Ok(())
}

/// Deletes the gemeente's closed care forms ("afgerond", "niet opgepakt") last changed
/// before `before_ms`. Returns how many went.
pub fn delete_closed_care_forms(
    tx: &Tx,
    gemeente: GemeenteId,
    before_ms: i64,
) -> Result<usize, DbError> {
    Ok(tx.conn()?.execute(
        "DELETE FROM care_form WHERE gemeente_id = ?1
           AND status IN ('closed', 'not_taken_up') AND updated_at < ?2",
        params![gemeente, before_ms],
    )?)
}

/// Adds the gemeente's contacts observed before `before_s` to `contact_archive`, grouped
/// on the facts the hotspot map filters on, with their count and key sum (mod 2³²). Returns
/// how many archive rows were written.
pub fn archive_contacts(tx: &Tx, gemeente: GemeenteId, before_s: i64) -> Result<usize, DbError> {
    Ok(tx.conn()?.execute(
        "INSERT INTO contact_archive (gemeente_id, wijk_id, hour_at, cell_r9, cell_r10,
           n_0_5, n_6_9, n_10_11, n_12_13, n_14p, brought_home, behaviours, past_norm,
           contacts, key_sum)
         SELECT gemeente_id, COALESCE(wijk_id, ''), observed_at - observed_at % 3600,
           cell_r9, cell_r10, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, brought_home,
           behaviours, past_norm, COUNT(*), SUM(COALESCE(record_key, 0)) % 4294967296
         FROM contact WHERE gemeente_id = ?1 AND observed_at < ?2
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13",
        params![gemeente, before_s],
    )?)
}

/// Deletes the corrections of the gemeente's contacts observed before `before_s`.
pub fn delete_corrections_before(
    tx: &Tx,
    gemeente: GemeenteId,
    before_s: i64,
) -> Result<usize, DbError> {
    Ok(tx.conn()?.execute(
        "DELETE FROM correction WHERE contact_id IN
           (SELECT id FROM contact WHERE gemeente_id = ?1 AND observed_at < ?2)",
        params![gemeente, before_s],
    )?)
}

/// Deletes the gemeente's contacts observed before `before_s`.
pub fn delete_contacts_before(
    tx: &Tx,
    gemeente: GemeenteId,
    before_s: i64,
) -> Result<usize, DbError> {
    Ok(tx.conn()?.execute(
        "DELETE FROM contact WHERE gemeente_id = ?1 AND observed_at < ?2",
        params![gemeente, before_s],
    )?)
}

/// Deletes the gemeente's rounds started before `before_s` that have no contacts left.
pub fn delete_empty_rounds_before(
    tx: &Tx,
    gemeente: GemeenteId,
    before_s: i64,
) -> Result<usize, DbError> {
    Ok(tx.conn()?.execute(
        "DELETE FROM round WHERE started_at < ?2
           AND user_id IN (SELECT id FROM user WHERE gemeente_id = ?1)
           AND NOT EXISTS (SELECT 1 FROM contact c WHERE c.round_id = round.id)",
        params![gemeente, before_s],
    )?)
}

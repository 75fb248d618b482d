//! The gemeente's perturbation-table parameters (issue 9): maximum noise, variance and the
//! threshold below which a count shows as "<10", stored in `disclosure_setting` and set with
//! `admin set-disclosure` within the bounds of [`PtableParams::validate`]. A gemeente that
//! set nothing gets [`PtableParams::default`].

use avondronde_shared::GemeenteId;
use avondronde_shared::disclosure::{Ptable, PtableParams};
use rusqlite::{Connection, OptionalExtension, params};

use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;

/// The gemeente's parameters (the defaults when none were set).
pub fn params_of(conn: &Connection, gemeente: GemeenteId) -> Result<PtableParams, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT max_noise, variance, threshold FROM disclosure_setting WHERE gemeente_id = ?1",
        )?
        .query_row(params![gemeente.to_string()], |r| {
            Ok(PtableParams {
                max_noise: r.get(0)?,
                variance: r.get(1)?,
                threshold: r.get(2)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// The gemeente's perturbation table. Parameters stored by hand outside the bounds fall
/// back to the defaults rather than weakening the protection.
pub fn ptable_of(conn: &Connection, gemeente: GemeenteId) -> Result<Ptable, DbError> {
    let params = params_of(conn, gemeente)?;
    Ptable::new(params)
        .or_else(|_| Ptable::new(PtableParams::default()))
        .map_err(|e| DbError::Domain(e.0))
}

/// Sets the gemeente's parameters after checking their bounds, and records the change in
/// its audit log.
///
/// # Errors
/// A Dutch message naming the parameter out of bounds; nothing changes then.
pub fn set_params(
    conn: &Connection,
    gemeente: GemeenteId,
    p: PtableParams,
    actor: &Actor,
    now_ms: i64,
) -> Result<(), DbError> {
    Ptable::new(p).map_err(|e| DbError::Domain(e.0))?;
    conn.execute(
        "INSERT INTO disclosure_setting (gemeente_id, max_noise, variance, threshold, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (gemeente_id) DO UPDATE SET max_noise = excluded.max_noise,
           variance = excluded.variance, threshold = excluded.threshold,
           updated_at = excluded.updated_at",
        params![
            gemeente.to_string(),
            p.max_noise,
            p.variance,
            p.threshold,
            now_ms
        ],
    )?;
    audit::record(
        &crate::store::Tx::legacy(conn),
        &Event {
            gemeente,
            actor,
            action: Action::DisclosureSettings,
            form: None,
            address: None,
            detail: format!(
                "maximale ruis {}; variantie {}; drempel {}",
                p.max_noise, p.variance, p.threshold
            ),
        },
        now_ms,
    )?;
    Ok(())
}

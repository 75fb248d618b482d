//! The policy for care forms that stay open (issue 9). A form left "ontvangen" or "in
//! behandeling" used to be kept forever; now, per gemeente (`admin set-retention`):
//! - from **N months** after its last change ([`crate::retention::Periods::open_form_warn_months`],
//!   default 3) the inbox warns about it and says when it will be deleted;
//! - after **M months** without a change ([`crate::retention::Periods::open_form_months`],
//!   default 12) the retention job deletes it, with an audit entry per form, unless the
//!   meldpunt marked it as **held on purpose** (for instance while a case is still with
//!   Veilig Thuis). Holding and releasing are audited too.

use avondronde_shared::care::CareStatus;
use avondronde_shared::{CareFormId, GemeenteId};
use jiff::Timestamp;
use rusqlite::{Connection, params};

use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;
use crate::retention::{self, months_before};

/// An open form past the warning age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleForm {
    /// The form.
    pub id: CareFormId,
    /// Its last change.
    pub updated_at: Timestamp,
    /// When the retention job deletes it (unless held).
    pub deleted_from: Timestamp,
    /// Held on purpose: not deleted.
    pub held: bool,
}

/// The SQL condition of an open form (not closed, not "niet opgepakt").
pub const OPEN: &str = "status NOT IN ('closed', 'not_taken_up')";

/// The gemeente's open forms whose last change is older than the warning age, oldest first.
pub fn stale(
    conn: &Connection,
    gemeente: GemeenteId,
    now: Timestamp,
) -> Result<Vec<StaleForm>, DbError> {
    let p = retention::periods(&crate::store::Tx::legacy(conn), gemeente)?;
    let warn_before = months_before(now, p.open_form_warn_months).as_millisecond();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, updated_at, held FROM care_form
         WHERE gemeente_id = ?1 AND {OPEN} AND updated_at < ?2 ORDER BY updated_at"
    ))?;
    let rows = stmt
        .query_map(params![gemeente.to_string(), warn_before], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, updated, held) in rows {
        let Ok(id) = id.parse() else { continue };
        let updated_at = Timestamp::from_millisecond(updated).unwrap_or(Timestamp::UNIX_EPOCH);
        // The form goes once `updated_at < now − M months`, i.e. from `updated_at + M`.
        let deleted_from = updated_at
            .to_zoned(avondronde_shared::time::amsterdam())
            .checked_add(jiff::ToSpan::months(i64::from(p.open_form_months)))
            .map(|z| z.timestamp())
            .unwrap_or(updated_at);
        out.push(StaleForm {
            id,
            updated_at,
            deleted_from,
            held,
        });
    }
    Ok(out)
}

/// Marks an open form of the gemeente as held on purpose (or releases it), with an audit
/// entry. Returns false when the gemeente has no such open form.
pub fn set_held(
    conn: &Connection,
    gemeente: GemeenteId,
    form: CareFormId,
    held: bool,
    actor: &Actor,
    now_ms: i64,
) -> Result<bool, DbError> {
    let n = conn.execute(
        &format!("UPDATE care_form SET held = ?1 WHERE id = ?2 AND gemeente_id = ?3 AND {OPEN}"),
        params![held, form.to_string(), gemeente.to_string()],
    )?;
    if n == 0 {
        return Ok(false);
    }
    audit::record(
        conn,
        &Event {
            gemeente,
            actor,
            action: Action::Update,
            form: Some(form),
            address: None,
            detail: if held {
                "bewust vastgehouden: niet verwijderen na de termijn voor open formulieren".into()
            } else {
                "vasthouden opgeheven".into()
            },
        },
        now_ms,
    )?;
    Ok(true)
}

/// Deletes the gemeente's open forms older than the maximum that are not held, with one
/// audit entry per form. Runs inside the retention job's transaction. Returns how many.
pub fn delete_expired(
    conn: &Connection,
    gemeente: GemeenteId,
    now: Timestamp,
) -> Result<usize, DbError> {
    let p = retention::periods(&crate::store::Tx::legacy(conn), gemeente)?;
    let before = months_before(now, p.open_form_months).as_millisecond();
    let ids: Vec<String> = conn
        .prepare_cached(&format!(
            "SELECT id FROM care_form WHERE gemeente_id = ?1 AND {OPEN} AND held = 0
               AND updated_at < ?2"
        ))?
        .query_map(params![gemeente.to_string(), before], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        conn.execute("DELETE FROM care_form WHERE id = ?1", params![id])?;
        audit::record(
            conn,
            &Event {
                gemeente,
                actor: &Actor::system(),
                action: Action::Retention,
                form: id.parse().ok(),
                address: None,
                detail: format!(
                    "open formulier verwijderd: {} maanden niet gewijzigd en niet bewust vastgehouden",
                    p.open_form_months
                ),
            },
            now.as_millisecond(),
        )?;
    }
    Ok(ids.len())
}

/// Whether a status counts as open for this policy.
pub fn is_open(status: &CareStatus) -> bool {
    !crate::meldpunt::inbox::is_final(status)
}

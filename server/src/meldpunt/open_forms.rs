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

use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;
use crate::retention::{self, months_before};
use crate::store::{self, Tx};

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

/// The gemeente's open forms whose last change is older than the warning age, oldest first.
pub fn stale(tx: &Tx, gemeente: GemeenteId, now: Timestamp) -> Result<Vec<StaleForm>, DbError> {
    let p = retention::periods(tx, gemeente)?;
    let warn_before = months_before(now, p.open_form_warn_months).as_millisecond();
    let rows = store::care_forms::open_changed_before(tx, gemeente, warn_before)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let updated_at =
            Timestamp::from_millisecond(row.updated_at).unwrap_or(Timestamp::UNIX_EPOCH);
        // The form goes once `updated_at < now − M months`, i.e. from `updated_at + M`.
        let deleted_from = updated_at
            .to_zoned(avondronde_shared::time::amsterdam())
            .checked_add(jiff::ToSpan::months(i64::from(p.open_form_months)))
            .map(|z| z.timestamp())
            .unwrap_or(updated_at);
        out.push(StaleForm {
            id: row.id,
            updated_at,
            deleted_from,
            held: row.held,
        });
    }
    Ok(out)
}

/// Marks an open form of the gemeente as held on purpose (or releases it), with an audit
/// entry. Returns false when the gemeente has no such open form.
pub fn set_held(
    tx: &Tx,
    gemeente: GemeenteId,
    form: CareFormId,
    held: bool,
    actor: &Actor,
    now_ms: i64,
) -> Result<bool, DbError> {
    let n = store::care_forms::set_held(tx, gemeente, form, held)?;
    if n == 0 {
        return Ok(false);
    }
    audit::record(
        tx,
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
pub fn delete_expired(tx: &Tx, gemeente: GemeenteId, now: Timestamp) -> Result<usize, DbError> {
    let p = retention::periods(tx, gemeente)?;
    let before = months_before(now, p.open_form_months).as_millisecond();
    let ids = store::care_forms::open_unheld_changed_before(tx, gemeente, before)?;
    for id in &ids {
        store::care_forms::delete(tx, *id)?;
        audit::record(
            tx,
            &Event {
                gemeente,
                actor: &Actor::system(),
                action: Action::Retention,
                form: Some(*id),
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

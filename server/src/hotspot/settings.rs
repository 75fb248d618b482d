//! The gemeente's perturbation-table parameters (issue 9): maximum noise, variance and the
//! threshold below which a count shows as "<10", stored in `disclosure_setting` and set with
//! `admin set-disclosure` within the bounds of [`PtableParams::validate`]. A gemeente that
//! set nothing gets [`PtableParams::default`].

use avondronde_shared::GemeenteId;
use avondronde_shared::disclosure::{Ptable, PtableParams};

use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;
use crate::store::{self, Tx};

/// The gemeente's parameters (the defaults when none were set).
pub fn params_of(tx: &Tx, gemeente: GemeenteId) -> Result<PtableParams, DbError> {
    Ok(store::hotspot::disclosure_params(tx, gemeente)?.unwrap_or_default())
}

/// The gemeente's perturbation table. Parameters stored by hand outside the bounds fall
/// back to the defaults rather than weakening the protection.
pub fn ptable_of(tx: &Tx, gemeente: GemeenteId) -> Result<Ptable, DbError> {
    let params = params_of(tx, gemeente)?;
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
    tx: &Tx,
    gemeente: GemeenteId,
    p: PtableParams,
    actor: &Actor,
    now_ms: i64,
) -> Result<(), DbError> {
    Ptable::new(p).map_err(|e| DbError::Domain(e.0))?;
    store::hotspot::set_disclosure_params(tx, gemeente, &p, now_ms)?;
    audit::record(
        tx,
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

//! Monthly upkeep of PostgreSQL's contact months (`admin postgres-maintain`, issue 13).
//!
//! On PostgreSQL the contact table is partitioned by month (UTC months of `observed_at`;
//! migrations 002 and 009). Two things must happen regularly, and this module does both
//! in the right order:
//!
//! 1. **Months ahead are created**, so that contacts land in their own month and not in
//!    `contact_default`. A month created after some of its contacts arrived takes them
//!    over from the default (migration 009), in the same transaction.
//! 2. **Months wholly past retention are dropped.** First the retention sweep runs for every
//!    gemeente ([`crate::retention::enforce_in`]): expired contacts are *archived* (copied,
//!    grouped, into `contact_archive`, which the hotspot map's history reads) and then
//!    deleted. Only then are the months dropped that end on or before the cut-off of the
//!    *longest* contact retention of any gemeente: no gemeente keeps anything in them. A
//!    month that still holds rows (a sweep that did not run) is refused by the database,
//!    and nothing is dropped.
//!
//! The CLI and tests call [`maintain`]; it connects as the cluster's admin (the sweep must
//! see every gemeente, the DDL runs as the owner).

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::db::DbError;
use crate::retention::{self, Removed};
use crate::store::postgres::{PgAdmin, PgError};
use crate::store::{Direct, setup};
use avondronde_shared::GemeenteId;

/// How many months, from the current one on, [`maintain`] keeps created.
pub const MONTHS_AHEAD: i32 = 4;

/// What [`maintain`] did.
#[derive(Debug, Default)]
pub struct Maintained {
    /// What the retention sweep removed, per gemeente.
    pub swept: Vec<(GemeenteId, Removed)>,
    /// The longest contact retention of any gemeente, in months.
    pub longest_months: u32,
    /// The first day of the oldest month kept: every month before it was dropped.
    pub keep_from: Option<Date>,
    /// How many contact months were created.
    pub created: i32,
    /// The contact months dropped.
    pub dropped: Vec<String>,
}

/// Why [`maintain`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum MaintainError {
    /// The store (the retention sweep) failed.
    #[error("{0}")]
    Db(#[from] DbError),
    /// PostgreSQL refused the partition maintenance.
    #[error("{0}")]
    Pg(#[from] PgError),
    /// Date arithmetic left the calendar.
    #[error("date out of range: {0}")]
    Date(String),
}

/// The first day of the UTC month of `t` (partitions are UTC months).
fn utc_month(t: Timestamp) -> Date {
    t.to_zoned(TimeZone::UTC).date().first_of_month()
}

/// The first day of the oldest contact month that a retention of `months` months, counted
/// back from `now`, still reaches into: every month before it lies wholly past retention.
pub fn keep_from(now: Timestamp, months: u32) -> Date {
    utc_month(retention::months_before(now, months))
}

/// Runs the upkeep at `now` on the PostgreSQL database at `admin_url` (the cluster's admin,
/// as for `admin postgres-init`): the retention sweep of every gemeente, the drop of the
/// months wholly past the longest retention, and the creation of the months from `now`'s
/// month on ([`MONTHS_AHEAD`]).
pub fn maintain(admin_url: &str, now: Timestamp) -> Result<Maintained, MaintainError> {
    let mut direct = Direct::connect(admin_url)?;
    let mut pg = PgAdmin::connect(admin_url)?;
    let mut done = Maintained::default();

    // The months ahead first: rows in the default for these months move into them.
    let this_month = utc_month(now);
    done.created = pg.ensure_contact_partitions(this_month, MONTHS_AHEAD)?;

    // The sweep, one transaction per gemeente (as the server's daily run does).
    let gemeenten = direct.read(setup::gemeenten)?;
    let mut longest = 0;
    for g in gemeenten {
        let (removed, periods) = direct.transaction(move |tx| {
            Ok((
                retention::enforce_in(tx, g, now)?,
                retention::periods(tx, g)?,
            ))
        })?;
        longest = longest.max(periods.contact_months);
        done.swept.push((g, removed));
    }
    // With no gemeente, nothing is kept for anyone; still keep the default period, so that
    // a database being filled (a migration under way) loses nothing.
    if longest == 0 {
        longest = retention::DEFAULT_CONTACT_MONTHS;
    }
    done.longest_months = longest;
    let keep = keep_from(now, longest);
    done.keep_from = Some(keep);
    done.dropped = pg.drop_contact_months_before(keep)?;
    Ok(done)
}

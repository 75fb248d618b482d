//! Retention: personal data is deleted when its period ends; aggregates stay (DOMAIN.md).
//!
//! Per gemeente (defaults in brackets, changeable with `admin set-retention`):
//! - **closed care forms** (status "afgerond" or "niet opgepakt") are deleted when their
//!   last change is older than the care-form period [12 months]. Forms still open are
//!   kept: the meldpunt must close them first.
//! - **raw contacts** are deleted when observed longer ago than the contact period
//!   [24 months], together with their corrections and rounds that have no contacts left.
//!   First they are added to `contact_aggregate`: counts per wijk, H3 cell (resolution 9),
//!   local week and local hour, per age band. Analyses of periods older than the contact
//!   period read that table; it holds no device, user, exact time or exact place.
//!
//! The idempotency ledger (`item`: kind, id and hash) is kept, so a phone replaying an old
//! item gets `duplicate` instead of bringing deleted data back. The audit log is kept too:
//! it holds ids and codes, no personal data.
//!
//! [`run_daily`] enforces this once a day from `serve`, logs counts only, and writes one
//! audit entry per gemeente where something was removed.

use std::sync::Arc;
use std::time::Duration;

use avondronde_shared::GemeenteId;
use jiff::{Timestamp, ToSpan};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;
use crate::meldpunt::inbox::amsterdam;
use crate::state::AppState;

/// Default care-form period, months after closing.
pub const DEFAULT_CARE_FORM_MONTHS: u32 = 12;
/// Default contact period, months after the observation.
pub const DEFAULT_CONTACT_MONTHS: u32 = 24;
/// How long after start the first run waits (so a restart loop never skips retention,
/// and tests that start a server see no background writes).
pub const FIRST_RUN_AFTER: Duration = Duration::from_secs(15 * 60);
/// Between runs.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);

/// A gemeente's retention periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Periods {
    /// Closed care forms, months after closing.
    pub care_form_months: u32,
    /// Raw contacts, months after observation.
    pub contact_months: u32,
}

impl Default for Periods {
    fn default() -> Self {
        Periods {
            care_form_months: DEFAULT_CARE_FORM_MONTHS,
            contact_months: DEFAULT_CONTACT_MONTHS,
        }
    }
}

impl Periods {
    /// Checks the periods: at least one month, at most ten years.
    pub fn validate(&self) -> Result<(), String> {
        for (what, m) in [
            ("zorgformulieren", self.care_form_months),
            ("contacten", self.contact_months),
        ] {
            if !(1..=120).contains(&m) {
                return Err(format!(
                    "bewaartermijn {what}: {m} maanden; kies 1 tot en met 120"
                ));
            }
        }
        Ok(())
    }
}

/// The gemeente's periods (the defaults when none were set).
pub fn periods(conn: &Connection, gemeente: GemeenteId) -> Result<Periods, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT care_form_months, contact_months FROM retention_setting WHERE gemeente_id = ?1",
        )?
        .query_row(params![gemeente.to_string()], |r| {
            Ok(Periods {
                care_form_months: r.get(0)?,
                contact_months: r.get(1)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Sets the gemeente's periods and records the change in its audit log.
pub fn set_periods(
    conn: &Connection,
    gemeente: GemeenteId,
    p: Periods,
    actor: &Actor,
    now_ms: i64,
) -> Result<(), DbError> {
    p.validate().map_err(DbError::Domain)?;
    conn.execute(
        "INSERT INTO retention_setting (gemeente_id, care_form_months, contact_months, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (gemeente_id) DO UPDATE SET care_form_months = excluded.care_form_months,
           contact_months = excluded.contact_months, updated_at = excluded.updated_at",
        params![
            gemeente.to_string(),
            p.care_form_months,
            p.contact_months,
            now_ms
        ],
    )?;
    audit::record(
        conn,
        &Event {
            gemeente,
            actor,
            action: Action::RetentionSettings,
            form: None,
            address: None,
            detail: format!(
                "zorgformulieren: {} maanden; contacten: {} maanden",
                p.care_form_months, p.contact_months
            ),
        },
        now_ms,
    )?;
    Ok(())
}

/// What one run removed in one gemeente.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// Closed care forms.
    pub care_forms: usize,
    /// Raw contacts (now in `contact_aggregate`).
    pub contacts: usize,
    /// Corrections of those contacts.
    pub corrections: usize,
    /// Rounds without contacts.
    pub rounds: usize,
}

impl Removed {
    fn any(&self) -> bool {
        self.care_forms + self.contacts + self.corrections + self.rounds > 0
    }
}

/// `now` minus `months` calendar months, in Amsterdam time.
fn months_before(now: Timestamp, months: u32) -> Timestamp {
    now.to_zoned(amsterdam())
        .checked_sub(i64::from(months).months())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Enforces every gemeente's periods at `now`, in the caller's transaction.
pub fn enforce(conn: &Connection, now: Timestamp) -> Result<Vec<(GemeenteId, Removed)>, DbError> {
    let gemeenten: Vec<String> = conn
        .prepare("SELECT id FROM gemeente ORDER BY code")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for g in gemeenten {
        let gemeente: GemeenteId = g
            .parse()
            .map_err(|_| DbError::Domain("bad gemeente id".into()))?;
        let p = periods(conn, gemeente)?;
        let forms_before = months_before(now, p.care_form_months).as_millisecond();
        let contacts_before = months_before(now, p.contact_months).as_second();
        let mut removed = Removed {
            care_forms: conn.execute(
                "DELETE FROM care_form WHERE gemeente_id = ?1
                   AND status IN ('closed', 'not_taken_up') AND updated_at < ?2",
                params![g, forms_before],
            )?,
            ..Removed::default()
        };
        conn.execute(
            "INSERT INTO contact_aggregate (gemeente_id, wijk_id, cell_r9, week, hour, contacts,
               n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, past_norm, brought_home)
             SELECT gemeente_id, COALESCE(wijk_id, ''), COALESCE(cell_r9, 0),
               date(observed_at + utc_offset_s, 'unixepoch', 'weekday 0', '-6 days'),
               CAST(strftime('%H', observed_at + utc_offset_s, 'unixepoch') AS INTEGER),
               COUNT(*), SUM(n_0_5), SUM(n_6_9), SUM(n_10_11), SUM(n_12_13), SUM(n_14p),
               SUM(supervised), SUM(past_norm), SUM(brought_home)
             FROM contact WHERE gemeente_id = ?1 AND observed_at < ?2
             GROUP BY 1, 2, 3, 4, 5
             ON CONFLICT (gemeente_id, wijk_id, cell_r9, week, hour) DO UPDATE SET
               contacts = contacts + excluded.contacts, n_0_5 = n_0_5 + excluded.n_0_5,
               n_6_9 = n_6_9 + excluded.n_6_9, n_10_11 = n_10_11 + excluded.n_10_11,
               n_12_13 = n_12_13 + excluded.n_12_13, n_14p = n_14p + excluded.n_14p,
               supervised = supervised + excluded.supervised,
               past_norm = past_norm + excluded.past_norm,
               brought_home = brought_home + excluded.brought_home",
            params![g, contacts_before],
        )?;
        removed.corrections = conn.execute(
            "DELETE FROM correction WHERE contact_id IN
               (SELECT id FROM contact WHERE gemeente_id = ?1 AND observed_at < ?2)",
            params![g, contacts_before],
        )?;
        removed.contacts = conn.execute(
            "DELETE FROM contact WHERE gemeente_id = ?1 AND observed_at < ?2",
            params![g, contacts_before],
        )?;
        removed.rounds = conn.execute(
            "DELETE FROM round WHERE started_at < ?2
               AND user_id IN (SELECT id FROM user WHERE gemeente_id = ?1)
               AND NOT EXISTS (SELECT 1 FROM contact c WHERE c.round_id = round.id)",
            params![g, contacts_before],
        )?;
        if removed.any() {
            audit::record(
                conn,
                &Event {
                    gemeente,
                    actor: &Actor::system(),
                    action: Action::Retention,
                    form: None,
                    address: None,
                    detail: format!(
                        "zorgformulieren: {}; contacten: {}; correcties: {}; rondes: {}",
                        removed.care_forms, removed.contacts, removed.corrections, removed.rounds
                    ),
                },
                now.as_millisecond(),
            )?;
        }
        out.push((gemeente, removed));
    }
    Ok(out)
}

/// Runs [`enforce`] after [`FIRST_RUN_AFTER`] and then every [`EVERY`], until the task
/// is aborted. Logs counts only.
pub async fn run_daily(state: Arc<AppState>) {
    let mut wait = FIRST_RUN_AFTER;
    loop {
        tokio::time::sleep(wait).await;
        wait = EVERY;
        let now = Timestamp::now();
        match state.db.write(move |c| enforce(c, now)).await {
            Ok(report) => {
                for (gemeente, r) in report {
                    tracing::info!(
                        %gemeente,
                        care_forms = r.care_forms,
                        contacts = r.contacts,
                        corrections = r.corrections,
                        rounds = r.rounds,
                        "retention"
                    );
                }
            }
            Err(e) => tracing::error!(error = %e, "retention run failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::open_connection;

    fn contact(conn: &Connection, g: GemeenteId, observed_at: Timestamp, hour_band: (u16, u16)) {
        let id = avondronde_shared::ContactId::new().to_string();
        conn.execute(
            "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id,
               observed_at, utc_offset_s, received_at, clock_skew_ms, skew_flag, source,
               n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions,
               brought_home, past_norm, cell_r9)
             VALUES (?1, 1, 'd', 'u', ?2, 'r', 'w1', ?3, 3600, 0, 0, 0, 'gps',
               0, ?4, ?5, 0, 0, 0, '[]', '[]', 1, 1, 42)",
            params![
                id,
                g.to_string(),
                observed_at.as_second(),
                hour_band.0,
                hour_band.1
            ],
        )
        .expect("contact");
        conn.execute(
            "INSERT INTO correction (id, contact_id, seq, facts) VALUES (?1, ?2, 2, '{}')",
            params![avondronde_shared::CorrectionId::new().to_string(), id],
        )
        .expect("correction");
    }

    fn form(conn: &Connection, g: GemeenteId, status: &str, updated_at: Timestamp) {
        conn.execute(
            "INSERT INTO care_form (id, seq, device_id, user_id, gemeente_id, contact_id,
               reporter_role, age_band, created_at, received_at, recipient_key, sealed, status,
               updated_at, feedback_seq)
             VALUES (?1, 1, 'd', 'u', ?2, 'c', 'boa', '6-9', 0, 0, 'k', x'00', ?3, ?4, 1)",
            params![
                avondronde_shared::CareFormId::new().to_string(),
                g.to_string(),
                status,
                updated_at.as_millisecond()
            ],
        )
        .expect("form");
    }

    #[test]
    fn expired_records_go_and_their_aggregates_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_connection(&dir.path().join("r.db")).expect("open");
        let g = crate::setup::create_gemeente(
            &conn,
            "Test",
            "GM0001",
            &avondronde_shared::norms::NormSet::rotterdam(),
        )
        .expect("gemeente");
        let now: Timestamp = "2026-11-20T12:00:00Z".parse().expect("now");
        let months = |m: i64| {
            now.to_zoned(amsterdam())
                .checked_sub(m.months())
                .expect("months")
                .timestamp()
        };
        // Two old contacts in the same local week and hour (Monday 2024-11-11, 21:xx
        // local), one recent.
        let old: Timestamp = "2024-11-11T20:10:00Z".parse().expect("old");
        contact(&conn, g, old, (2, 1));
        contact(&conn, g, old + jiff::SignedDuration::from_mins(20), (1, 0));
        contact(&conn, g, months(23), (1, 1));
        form(&conn, g, "closed", months(13));
        form(
            &conn,
            g,
            "not_taken_up",
            months(12) - jiff::SignedDuration::from_hours(1),
        );
        form(&conn, g, "closed", months(11));
        form(&conn, g, "received", months(30));

        let report = enforce(&conn, now).expect("enforce");
        assert_eq!(
            report,
            vec![(
                g,
                Removed {
                    care_forms: 2,
                    contacts: 2,
                    corrections: 2,
                    rounds: 0
                }
            )]
        );
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).expect(sql);
        assert_eq!(count("SELECT COUNT(*) FROM contact"), 1);
        assert_eq!(
            count("SELECT COUNT(*) FROM care_form"),
            2,
            "recent and open stay"
        );
        let agg: (String, i64, i64, i64, i64, i64) = conn
            .query_row(
                "SELECT week, hour, contacts, n_6_9, n_10_11, brought_home FROM contact_aggregate",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .expect("aggregate");
        assert_eq!(agg, ("2024-11-11".into(), 21, 2, 3, 1, 2));
        assert!(audit::verify(&conn, g).expect("verify").intact());
        assert_eq!(
            count("SELECT COUNT(*) FROM audit_log WHERE action = 'retention'"),
            1
        );
        // A second run finds nothing and records nothing.
        assert_eq!(enforce(&conn, now).expect("again")[0].1, Removed::default());
        assert_eq!(
            count("SELECT COUNT(*) FROM audit_log WHERE action = 'retention'"),
            1
        );
    }

    #[test]
    fn periods_are_configurable_per_gemeente_and_validated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_connection(&dir.path().join("r.db")).expect("open");
        let g = crate::setup::create_gemeente(
            &conn,
            "Test",
            "GM0001",
            &avondronde_shared::norms::NormSet::rotterdam(),
        )
        .expect("gemeente");
        assert_eq!(periods(&conn, g).expect("periods"), Periods::default());
        let p = Periods {
            care_form_months: 6,
            contact_months: 36,
        };
        set_periods(&conn, g, p, &Actor::cli(), 1).expect("set");
        assert_eq!(periods(&conn, g).expect("periods"), p);
        let bad = Periods {
            care_form_months: 0,
            contact_months: 24,
        };
        assert!(set_periods(&conn, g, bad, &Actor::cli(), 2).is_err());
    }
}

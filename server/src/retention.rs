//! Retention: personal data is deleted when its period ends; aggregates stay (DOMAIN.md).
//!
//! Per gemeente (defaults in brackets, changeable with `admin set-retention`):
//! - **closed care forms** (status "afgerond" or "niet opgepakt") are deleted when their
//!   last change is older than the care-form period [12 months].
//! - **open care forms** (any other status) get a warning in the inbox once their last
//!   change is older than the warning age [3 months], and are deleted, with an audit entry
//!   per form, once it is older than the maximum for open forms [12 months], unless the
//!   meldpunt marked the form as held on purpose ([`crate::meldpunt::open_forms`]).
//! - **raw contacts** are deleted when observed longer ago than the contact period
//!   [24 months], together with their corrections and rounds that have no contacts left.
//!   First they are added to `contact_archive`: contacts grouped on the facts the hotspot
//!   map filters on (wijk, hour, H3 cells, counts per age band, brought home, behaviours,
//!   past the norm), with how many there were and the sum of their record keys (mod 2³²,
//!   the cell-key method of issue 9), so every cell, hour, week and total keeps its cell
//!   key and therefore its noise. It holds no device, user, round, exact time or exact
//!   place, and the hotspot map reads it beside the raw contacts, so every view and export
//!   keeps covering the archived years and shows exactly what it showed before.
//!
//! The idempotency ledger (`item`: kind, id and hash) is kept, so a phone replaying an old
//! item gets `duplicate` instead of bringing deleted data back. The audit log is kept too:
//! it holds ids and codes, no personal data.
//!
//! [`run_daily`] enforces this once a day from `serve`, logs counts only, and writes one
//! audit entry per gemeente where something was removed.
//!
//! What is kept and how (the settings, the deletes and the archive) lives in
//! [`crate::store::retention`].

use std::sync::Arc;
use std::time::Duration;

use avondronde_shared::GemeenteId;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;
use crate::state::AppState;
use crate::store::{self, Tx};
use avondronde_shared::time::amsterdam;

/// Default care-form period, months after closing.
pub const DEFAULT_CARE_FORM_MONTHS: u32 = 12;
/// Default contact period, months after the observation.
pub const DEFAULT_CONTACT_MONTHS: u32 = 24;
/// Default warning age of an open care form, months after its last change.
pub const DEFAULT_OPEN_FORM_WARN_MONTHS: u32 = 3;
/// Default maximum age of an open care form that is not held, months after its last change.
pub const DEFAULT_OPEN_FORM_MONTHS: u32 = 12;
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
    /// Open care forms: the inbox warns from this many months after the last change.
    pub open_form_warn_months: u32,
    /// Open care forms not held on purpose: deleted this many months after the last change.
    pub open_form_months: u32,
}

impl Default for Periods {
    fn default() -> Self {
        Periods {
            care_form_months: DEFAULT_CARE_FORM_MONTHS,
            contact_months: DEFAULT_CONTACT_MONTHS,
            open_form_warn_months: DEFAULT_OPEN_FORM_WARN_MONTHS,
            open_form_months: DEFAULT_OPEN_FORM_MONTHS,
        }
    }
}

impl Periods {
    /// Checks the periods: at least one month, at most ten years.
    pub fn validate(&self) -> Result<(), String> {
        for (what, m) in [
            ("zorgformulieren", self.care_form_months),
            ("contacten", self.contact_months),
            ("waarschuwing open formulieren", self.open_form_warn_months),
            ("open formulieren", self.open_form_months),
        ] {
            if !(1..=120).contains(&m) {
                return Err(format!(
                    "bewaartermijn {what}: {m} maanden; kies 1 tot en met 120"
                ));
            }
        }
        if self.open_form_warn_months >= self.open_form_months {
            return Err(format!(
                "de waarschuwing voor open formulieren ({} maanden) moet vóór de verwijdering ({} maanden) komen",
                self.open_form_warn_months, self.open_form_months
            ));
        }
        Ok(())
    }
}

/// The gemeente's periods (the defaults when none were set).
pub fn periods(tx: &Tx, gemeente: GemeenteId) -> Result<Periods, DbError> {
    Ok(store::retention::periods(tx, gemeente)?
        .map(|r| Periods {
            care_form_months: r.care_form_months,
            contact_months: r.contact_months,
            open_form_warn_months: r
                .open_form_warn_months
                .unwrap_or(DEFAULT_OPEN_FORM_WARN_MONTHS),
            open_form_months: r.open_form_months.unwrap_or(DEFAULT_OPEN_FORM_MONTHS),
        })
        .unwrap_or_default())
}

/// Sets the gemeente's periods and records the change in its audit log.
pub fn set_periods(
    tx: &Tx,
    gemeente: GemeenteId,
    p: Periods,
    actor: &Actor,
    now_ms: i64,
) -> Result<(), DbError> {
    p.validate().map_err(DbError::Domain)?;
    store::retention::set_periods(tx, gemeente, &p, now_ms)?;
    audit::record(
        tx,
        &Event {
            gemeente,
            actor,
            action: Action::RetentionSettings,
            form: None,
            address: None,
            detail: format!(
                "zorgformulieren: {} maanden; contacten: {} maanden; open formulieren: waarschuwing na {}, verwijderen na {} maanden",
                p.care_form_months, p.contact_months, p.open_form_warn_months, p.open_form_months
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
    /// Open care forms past the maximum and not held (each with its own audit entry).
    pub open_care_forms: usize,
    /// Raw contacts (now in `contact_archive`).
    pub contacts: usize,
    /// Corrections of those contacts.
    pub corrections: usize,
    /// Rounds without contacts.
    pub rounds: usize,
}

impl Removed {
    fn any(&self) -> bool {
        self.care_forms + self.open_care_forms + self.contacts + self.corrections + self.rounds > 0
    }
}

/// `now` minus `months` calendar months, in Amsterdam time.
pub fn months_before(now: Timestamp, months: u32) -> Timestamp {
    now.to_zoned(amsterdam())
        .checked_sub(i64::from(months).months())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Enforces every gemeente's periods at `now`, in the caller's transaction.
pub fn enforce(tx: &Tx, now: Timestamp) -> Result<Vec<(GemeenteId, Removed)>, DbError> {
    store::setup::gemeenten(tx)?
        .into_iter()
        .map(|gemeente| Ok((gemeente, enforce_in(tx, gemeente, now)?)))
        .collect()
}

/// [`enforce`] for one gemeente: what it removed. The server runs it in a transaction of
/// that gemeente.
pub fn enforce_in(tx: &Tx, gemeente: GemeenteId, now: Timestamp) -> Result<Removed, DbError> {
    let p = periods(tx, gemeente)?;
    let forms_before = months_before(now, p.care_form_months).as_millisecond();
    let contacts_before = months_before(now, p.contact_months).as_second();
    let mut removed = Removed {
        care_forms: store::retention::delete_closed_care_forms(tx, gemeente, forms_before)?,
        open_care_forms: crate::meldpunt::open_forms::delete_expired(tx, gemeente, now)?,
        ..Removed::default()
    };
    store::retention::archive_contacts(tx, gemeente, contacts_before)?;
    removed.corrections =
        store::retention::delete_corrections_before(tx, gemeente, contacts_before)?;
    removed.contacts = store::retention::delete_contacts_before(tx, gemeente, contacts_before)?;
    removed.rounds = store::retention::delete_empty_rounds_before(tx, gemeente, contacts_before)?;
    if removed.any() {
        audit::record(
            tx,
            &Event {
                gemeente,
                actor: &Actor::system(),
                action: Action::Retention,
                form: None,
                address: None,
                detail: format!(
                    "zorgformulieren: {}; open zorgformulieren: {}; contacten: {}; correcties: {}; rondes: {}",
                    removed.care_forms,
                    removed.open_care_forms,
                    removed.contacts,
                    removed.corrections,
                    removed.rounds
                ),
            },
            now.as_millisecond(),
        )?;
    }
    Ok(removed)
}

/// Runs [`enforce`] after [`FIRST_RUN_AFTER`] and then every [`EVERY`], until the task
/// is aborted. Logs counts only.
pub async fn run_daily(state: Arc<AppState>) {
    let mut wait = FIRST_RUN_AFTER;
    loop {
        tokio::time::sleep(wait).await;
        wait = EVERY;
        let now = Timestamp::now();
        let run = async {
            let mut report = Vec::new();
            for g in state.store.gemeenten().await? {
                report.push((
                    g,
                    state
                        .store
                        .write(g, move |tx| enforce_in(tx, g, now))
                        .await?,
                ));
            }
            Ok::<_, DbError>(report)
        };
        match run.await {
            Ok(report) => {
                if report.iter().any(|(_, r)| r.contacts > 0) {
                    // The map's in-memory indexes still hold the deleted contacts; the next
                    // request reloads them, with the archive.
                    state.hotspot.invalidate_all();
                }
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
    use crate::store::Direct;
    use rusqlite::{Connection, params};

    fn contact(conn: &Connection, g: GemeenteId, observed_at: Timestamp, hour_band: (u16, u16)) {
        let id = avondronde_shared::ContactId::new();
        conn.execute(
            "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id,
               observed_at, utc_offset_s, received_at, clock_skew_ms, skew_flag, source,
               n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions,
               brought_home, past_norm, cell_r9)
             VALUES (?1, NULL, 'd', 'u', ?2, 'r', 'w1', ?3, 3600, 0, 0, 0, 'gps',
               0, ?4, ?5, 0, 0, 0, '[]', '[]', 1, 1, 42)",
            params![id, g, observed_at.as_second(), hour_band.0, hour_band.1],
        )
        .expect("contact");
        conn.execute(
            "INSERT INTO correction (id, contact_id, seq, facts) VALUES (?1, ?2, 2, '{}')",
            params![avondronde_shared::CorrectionId::new(), id],
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
                avondronde_shared::CareFormId::new(),
                g,
                status,
                updated_at.as_millisecond()
            ],
        )
        .expect("form");
    }

    #[test]
    fn an_old_round_goes_once_it_has_no_contacts_left_and_not_before() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (conn, g) = crate::setup::test_gemeente_db(&dir.path().join("r.db"));
        let mut store = Direct::open(&dir.path().join("r.db")).expect("store");
        let now: Timestamp = "2026-11-20T12:00:00Z".parse().expect("now");
        let old: Timestamp = "2024-11-11T20:00:00Z".parse().expect("old");
        let recent: Timestamp = "2026-10-02T20:00:00Z".parse().expect("recent");
        conn.execute(
            "INSERT INTO user (id, gemeente_id, username, role, created_at)
             VALUES ('u', ?1, 'coach', 'straatcoach', 0)",
            params![g],
        )
        .expect("user");
        let round = |id: &str, started: Timestamp| {
            conn.execute(
                "INSERT INTO round (id, device_id, user_id, wijk_id, started_at)
                 VALUES (?1, 'd', 'u', 'w1', ?2)",
                params![id, started.as_second()],
            )
            .expect("round");
        };
        // `contact` records into round 'r': started long ago, with one contact as old and
        // one recorded recently (a round is never that long, but a phone clock can be off).
        round("r", old);
        contact(&conn, g, old, (1, 0));
        contact(&conn, g, recent, (1, 0));
        round("old-and-empty", old);
        round("recent-and-empty", recent);

        let report = store.transaction(|tx| enforce(tx, now)).expect("enforce");
        assert_eq!(report[0].1.contacts, 1);
        assert_eq!(report[0].1.rounds, 1);
        let mut left = conn
            .prepare("SELECT id FROM round ORDER BY id")
            .expect("rounds");
        let left: Vec<String> = left
            .query_map([], |r| r.get(0))
            .expect("rounds")
            .collect::<Result<_, _>>()
            .expect("rounds");
        assert_eq!(left, ["r", "recent-and-empty"]);
    }

    #[test]
    fn expired_records_go_and_their_aggregates_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (conn, g) = crate::setup::test_gemeente_db(&dir.path().join("r.db"));
        let mut store = Direct::open(&dir.path().join("r.db")).expect("store");
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
        // Open forms: one past the 12-month maximum, one past it but held on purpose, one
        // only past the 3-month warning.
        form(&conn, g, "received", months(30));
        form(&conn, g, "in_progress", months(13));
        conn.execute(
            "UPDATE care_form SET held = 1 WHERE status = 'in_progress'",
            [],
        )
        .expect("held");
        form(&conn, g, "visit_planned", months(4));

        let report = store.transaction(|tx| enforce(tx, now)).expect("enforce");
        assert_eq!(
            report,
            vec![(
                g,
                Removed {
                    care_forms: 2,
                    open_care_forms: 1,
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
            3,
            "recent, held and merely old-but-warned forms stay"
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM care_form WHERE status = 'received'"),
            0,
            "the open form past the maximum is gone"
        );
        assert_eq!(
            count(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'retention' AND form_id IS NOT NULL"
            ),
            1,
            "its deletion has an audit entry of its own"
        );
        let warned = crate::meldpunt::open_forms::stale(&crate::store::Tx::over(&conn), g, now)
            .expect("stale");
        assert_eq!(
            warned.len(),
            2,
            "the held form and the 4-month-old one are warned about"
        );
        assert!(warned.iter().any(|f| f.held));
        // The two old contacts differ in their counts, so they stay two archive rows, each
        // in the hour it was observed (20:00 UTC), without device, user or exact time.
        let archived: Vec<(i64, i64, i64, i64, i64)> = conn
            .prepare(
                "SELECT hour_at, contacts, n_6_9, n_10_11, brought_home FROM contact_archive
                 ORDER BY n_6_9",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect()
            })
            .expect("archive");
        let hour: i64 = "2024-11-11T20:00:00Z"
            .parse::<Timestamp>()
            .expect("hour")
            .as_second();
        assert_eq!(archived, vec![(hour, 1, 1, 0, 1), (hour, 1, 2, 1, 1)]);
        assert!(
            audit::verify(&crate::store::Tx::over(&conn), g)
                .expect("verify")
                .intact()
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM audit_log WHERE action = 'retention'"),
            2,
            "one summary and one per deleted open form"
        );
        // A second run finds nothing and records nothing.
        assert_eq!(
            store.transaction(|tx| enforce(tx, now)).expect("again")[0].1,
            Removed::default()
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM audit_log WHERE action = 'retention'"),
            2
        );
    }

    /// The hotspot map of a period must not change when retention moves its contacts into
    /// the archive: every filter still counts the same contacts in the same cells, and
    /// every protected count keeps its noise because the archive keeps the key sums.
    #[test]
    fn archived_contacts_leave_every_hotspot_view_as_it_was() {
        use crate::hotspot::Indexes;
        use crate::hotspot::analysis::run;
        use crate::hotspot::filter::{Filter, Measure, Res};
        use crate::hotspot::index::StudyArea;
        use crate::hotspot::test_support::delfshaven;

        let dir = tempfile::tempdir().expect("tempdir");
        let (conn, g) = crate::setup::test_gemeente_db(&dir.path().join("a.db"));
        let mut store = Direct::open(&dir.path().join("a.db")).expect("store");
        let db = crate::store::Store::open(&dir.path().join("a.db")).expect("db");
        let wijk = delfshaven();
        let cells9: Vec<u64> = StudyArea::of(&wijk.boundary, Res::Nine)
            .expect("tiles")
            .cells
            .iter()
            .take(6)
            .map(|c| u64::from(*c))
            .collect();
        let now: Timestamp = "2026-11-20T12:00:00Z".parse().expect("now");
        let wijk_id = wijk.id;
        // 400 contacts in 2024 (past the 24 months) and 2025–2026, with repeated facts
        // so that archive rows group several contacts, and a few without a cell.
        let behaviours = ["[]", "[\"hanging_around\"]", "[\"nuisance\",\"alcohol\"]"];
        for i in 0..400i64 {
            // Old contacts (even i) repeat 12 sets of facts, minutes apart within the hour.
            let k = if i % 2 == 0 { (i / 2) % 12 } else { i };
            let day = if i % 2 == 0 { k } else { 400 + i };
            let at = "2024-03-01T19:00:00Z".parse::<Timestamp>().expect("start")
                + jiff::SignedDuration::from_hours(24 * day + (k % 7))
                + jiff::SignedDuration::from_mins(i % 50);
            let cell9 = (k % 9 != 0).then(|| cells9[(k % 6) as usize] as i64);
            conn.execute(
                "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id,
                       wijk_id, observed_at, utc_offset_s, received_at, clock_skew_ms,
                       skew_flag, source, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised,
                       behaviours, actions, brought_home, past_norm, cell_r9)
                     VALUES (?1, ?2, 'd', 'u', ?3, 'r', ?4, ?5, 3600, 0, 0, 0, 'gps',
                       0, ?6, ?7, 1, 0, 0, ?8, '[]', ?9, ?10, ?11)",
                params![
                    avondronde_shared::ContactId::new(),
                    i + 1,
                    g,
                    wijk_id,
                    at.as_second(),
                    k % 3,
                    (k % 4) / 2,
                    behaviours[(k % 3) as usize],
                    k % 5 / 4,
                    (k / 2) % 2,
                    cell9,
                ],
            )
            .expect("contact");
        }
        let filters = {
            let mut contacts9 = Filter {
                res: Res::Nine,
                measure: Measure::Contacts,
                ..Filter::default()
            };
            let all9 = contacts9.clone();
            contacts9.past_norm_only = true;
            let mut evening = all9.clone();
            evening.hours = (1 << 20) | (1 << 21);
            evening.bands = 0b00010;
            evening.measure = Measure::Children;
            let mut behaviour = all9.clone();
            behaviour.behaviours = 0b11;
            behaviour.brought_home_only = true;
            vec![all9, contacts9, evening, behaviour]
        };
        let indexes = Indexes::default();
        let ptable =
            avondronde_shared::disclosure::Ptable::new(Default::default()).expect("ptable");
        let before: Vec<_> = filters
            .iter()
            .map(|f| run(&indexes.get(&db, &wijk, 1).expect("index"), f, &ptable).expect("run"))
            .collect();
        let report = store.transaction(|tx| enforce(tx, now)).expect("enforce");
        assert!(report[0].1.contacts > 150, "the 2024 contacts were removed");
        indexes.invalidate_all();
        let index = indexes.get(&db, &wijk, 1).expect("index after retention");
        assert!(
            index.contacts.weight.iter().any(|&w| w > 1),
            "archive rows stand for several contacts"
        );
        for (filter, was) in filters.iter().zip(before) {
            assert_eq!(
                run(&index, filter, &ptable).expect("run"),
                was,
                "{filter:?}"
            );
        }
    }

    #[test]
    fn periods_are_configurable_per_gemeente_and_validated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_conn, g) = crate::setup::test_gemeente_db(&dir.path().join("r.db"));
        let mut store = Direct::open(&dir.path().join("r.db")).expect("store");
        let read = |store: &Direct| store.read(|tx| periods(tx, g)).expect("periods");
        assert_eq!(read(&store), Periods::default());
        let p = Periods {
            care_form_months: 6,
            contact_months: 36,
            open_form_warn_months: 2,
            open_form_months: 9,
        };
        store
            .transaction(|tx| set_periods(tx, g, p, &Actor::cli(), 1))
            .expect("set");
        assert_eq!(read(&store), p);
        let bad = Periods {
            care_form_months: 0,
            ..Periods::default()
        };
        assert!(
            store
                .transaction(|tx| set_periods(tx, g, bad, &Actor::cli(), 2))
                .is_err()
        );
        let warning_after_deletion = Periods {
            open_form_warn_months: 12,
            open_form_months: 6,
            ..Periods::default()
        };
        assert!(
            store
                .transaction(|tx| set_periods(tx, g, warning_after_deletion, &Actor::cli(), 3))
                .is_err()
        );
        assert_eq!(read(&store), p, "nothing changed");
    }
}

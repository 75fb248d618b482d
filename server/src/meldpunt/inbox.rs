//! The meldpunt's inbox: the 48-hour clock, urgency order, and the queries and updates
//! behind the inbox page and the care-form API.
//!
//! The clock is pure: a form's deadline is its *receipt instant* plus 48 hours of real
//! time, so a daylight-saving night in between moves the deadline's local clock time (a
//! form received Saturday 24-10-2026 12:00 is due Monday 26-10-2026 11:00), never its
//! instant. Everything shown is then converted to Europe/Amsterdam.
//!
//! A status is a claim the reporter sees, so it must be backed by the fields that make it
//! true ([`check_status`]): "huisbezoek gepland" needs the visit's date, and "bekend bij
//! hulpverlening" needs Bureau Jeugdzorg, Veilig Thuis or the wijkteam under "bekend bij".
//! An update that contradicts itself is refused as a whole, and the clock stops only for
//! a real action: the family found known to youth care, a visit with a date, or a final
//! status. A status without its backing (stored before this rule) leaves the clock running.
//!
//! Every query takes the caller's gemeente: a form of another gemeente is simply not found.

use std::cmp::Ordering;
use std::net::IpAddr;

use avondronde_shared::care::{CareStatus, FEEDBACK_MAX_CHARS, RecipientKeyId};
use avondronde_shared::{AgeBand, CareFormId, GemeenteId, Role};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::matching::Pending;
use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;
use crate::store::{self, Tx};

/// The meldpunt visits a family not known to youth care within this time of receipt.
pub const DEADLINE: SignedDuration = SignedDuration::from_hours(48);

/// An instant as Dutch users read it: `24-10-2026 12:00`, Europe/Amsterdam, 24-hour.
pub fn format_local(at: Timestamp) -> String {
    crate::dates::format_local(at)
}

/// The deadline of a form received at `received`.
pub fn deadline(received: Timestamp) -> Timestamp {
    received.saturating_add(DEADLINE).unwrap_or(received)
}

/// A duration as "2 d 5 u", "5 u 20 min" or "20 min".
pub fn format_span(d: SignedDuration) -> String {
    let mins = d.as_secs().unsigned_abs() / 60;
    let (days, hours, mins) = (mins / 1440, (mins / 60) % 24, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, h) => format!("{h} u {mins} min"),
        (d, 0) => format!("{d} d"),
        (d, h) => format!("{d} d {h} u"),
    }
}

/// Where the family stands with youth care, as checked by the meldpunt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnownTo {
    /// Bureau Jeugdzorg.
    Bjz,
    /// Veilig Thuis.
    VeiligThuis,
    /// The wijkteam.
    Wijkteam,
    /// Checked: not known anywhere, so the meldpunt visits.
    Onbekend,
}

impl KnownTo {
    /// All, in display order.
    pub const ALL: [KnownTo; 4] = [
        KnownTo::Bjz,
        KnownTo::VeiligThuis,
        KnownTo::Wijkteam,
        KnownTo::Onbekend,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            KnownTo::Bjz => "bjz",
            KnownTo::VeiligThuis => "veilig_thuis",
            KnownTo::Wijkteam => "wijkteam",
            KnownTo::Onbekend => "onbekend",
        }
    }

    /// Parses a stable code.
    pub fn from_code(code: &str) -> Option<KnownTo> {
        KnownTo::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Dutch label.
    pub fn label_nl(self) -> &'static str {
        match self {
            KnownTo::Bjz => "Bureau Jeugdzorg",
            KnownTo::VeiligThuis => "Veilig Thuis",
            KnownTo::Wijkteam => "wijkteam",
            KnownTo::Onbekend => "nergens bekend",
        }
    }

    /// Whether youth care already has the family (then the meldpunt need not visit).
    pub fn is_known(self) -> bool {
        !matches!(self, KnownTo::Onbekend)
    }
}

/// Where a form stands against the 48-hour clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Past the deadline by this much and still waiting.
    Overdue(SignedDuration),
    /// This much time left.
    Running(SignedDuration),
    /// The clock no longer applies (known to care, a visit planned with its date, or
    /// handled).
    Stopped,
}

/// Whether a status is backed by the handling fields that make it true; the error says, in
/// Dutch, what to fill in or change. The one place this rule lives: [`validate`] refuses an
/// update that breaks it, and [`FormRow::clock`] does not stop for a status that lacks it.
///
/// - `visit_planned` ("huisbezoek gepland") needs the visit's date and time;
/// - `known_to_care` ("bekend bij hulpverlening") needs "bekend bij" Bureau Jeugdzorg,
///   Veilig Thuis or the wijkteam: not "nog niet gecontroleerd", not "nergens bekend";
/// - `received`, `in_progress`, `closed` and `not_taken_up` claim nothing the fields must
///   show (closing and "niet opgepakt" are the meldpunt's own decision).
pub fn check_status(
    status: &CareStatus,
    known_to: Option<KnownTo>,
    visit_at: Option<Timestamp>,
) -> Result<(), String> {
    match status {
        CareStatus::VisitPlanned if visit_at.is_none() => Err(
            "Bij de status 'huisbezoek gepland' hoort de datum van het huisbezoek: vul 'Huisbezoek gepland op' in (dd-mm-jjjj uu:mm), of kies een andere status."
                .into(),
        ),
        CareStatus::KnownToCare => match known_to {
            Some(k) if k.is_known() => Ok(()),
            Some(_) => Err(
                "De status 'bekend bij hulpverlening' past niet bij 'Onbekend: nergens bekend'. Kies onder 'Bekend bij' Bureau Jeugdzorg, Veilig Thuis of wijkteam, of kies een andere status (bijvoorbeeld 'huisbezoek gepland' met de datum)."
                    .into(),
            ),
            None => Err(
                "Bij de status 'bekend bij hulpverlening' hoort een keuze onder 'Bekend bij': Bureau Jeugdzorg, Veilig Thuis of wijkteam. Controleer dat eerst, of kies een andere status."
                    .into(),
            ),
        },
        _ => Ok(()),
    }
}

/// Whether a status ends the meldpunt's work on a form (and starts its retention period).
pub fn is_final(status: &CareStatus) -> bool {
    matches!(status, CareStatus::Closed | CareStatus::NotTakenUp)
}

/// One form as the inbox lists it. No content: that needs the unlocked key.
#[derive(Debug, Clone, PartialEq)]
pub struct FormRow {
    /// The form.
    pub id: CareFormId,
    /// Server receipt: the start of the 48-hour clock.
    pub received_at: Timestamp,
    /// Wijk name.
    pub wijk: Option<String>,
    /// The reporter's role code.
    pub reporter_role: String,
    /// Age band (for triage without opening).
    pub age_band: Option<AgeBand>,
    /// Status.
    pub status: CareStatus,
    /// "Bekend bij", once checked.
    pub known_to: Option<KnownTo>,
    /// The planned home visit.
    pub visit_at: Option<Timestamp>,
    /// The feedback message to the reporter.
    pub message: Option<String>,
    /// The key the form was sealed to.
    pub recipient_key: RecipientKeyId,
    /// Whether a match pseudonym has been computed.
    pub matched: bool,
    /// Earlier forms about the same child (by pseudonym), oldest first.
    pub earlier: Vec<CareFormId>,
}

impl FormRow {
    /// Receipt + 48 hours.
    pub fn deadline(&self) -> Timestamp {
        deadline(self.received_at)
    }

    /// The clock at `now`: it runs while the form waits for a check or a visit. It stops
    /// when the family is known to youth care, when a visit is planned *with its date*,
    /// or at a final status; a status without its backing ([`check_status`]) stops nothing.
    pub fn clock(&self, now: Timestamp) -> Clock {
        let stopped = self.known_to.is_some_and(KnownTo::is_known)
            || is_final(&self.status)
            || (matches!(
                self.status,
                CareStatus::KnownToCare | CareStatus::VisitPlanned
            ) && check_status(&self.status, self.known_to, self.visit_at).is_ok());
        if stopped {
            return Clock::Stopped;
        }
        let left = self.deadline().duration_since(now);
        if left.is_negative() {
            Clock::Overdue(-left)
        } else {
            Clock::Running(left)
        }
    }

    /// Whether a planned visit lies after the deadline.
    pub fn visit_after_deadline(&self) -> bool {
        !self.known_to.is_some_and(KnownTo::is_known)
            && self.visit_at.is_some_and(|v| v > self.deadline())
    }

    /// The reporter's role, in Dutch.
    pub fn reporter_label(&self) -> String {
        Role::from_code(&self.reporter_role)
            .map_or_else(|| self.reporter_role.clone(), |r| r.label_nl().to_owned())
    }
}

/// Urgency groups, most urgent first.
fn group(row: &FormRow, now: Timestamp) -> u8 {
    match row.clock(now) {
        Clock::Overdue(_) | Clock::Running(_) => 0,
        Clock::Stopped if is_final(&row.status) => 3,
        Clock::Stopped if row.visit_at.is_some() => 1,
        Clock::Stopped => 2,
    }
}

/// Urgency order: forms on the clock by deadline (overdue first), then planned visits by
/// date, then other open forms newest first, then handled forms newest first.
pub fn by_urgency(a: &FormRow, b: &FormRow, now: Timestamp) -> Ordering {
    let (ga, gb) = (group(a, now), group(b, now));
    ga.cmp(&gb).then_with(|| match ga {
        0 => a.received_at.cmp(&b.received_at),
        1 => a.visit_at.cmp(&b.visit_at),
        _ => b.received_at.cmp(&a.received_at),
    })
}

/// The gemeente's forms, in urgency order at `now`. Handled forms only when `all`.
pub fn list(
    tx: &Tx,
    gemeente: GemeenteId,
    all: bool,
    now: Timestamp,
) -> Result<Vec<FormRow>, DbError> {
    let mut rows = store::care_forms::rows(tx, gemeente)?;
    if !all {
        rows.retain(|r| !is_final(&r.status));
    }
    rows.sort_by(|a, b| by_urgency(a, b, now));
    Ok(rows)
}

/// One form of the gemeente.
pub fn get(tx: &Tx, gemeente: GemeenteId, id: CareFormId) -> Result<Option<FormRow>, DbError> {
    store::care_forms::row(tx, gemeente, id)
}

/// The forms about the same child made *after* this one (the earlier ones are on the row).
pub fn later(tx: &Tx, gemeente: GemeenteId, id: CareFormId) -> Result<Vec<CareFormId>, DbError> {
    store::care_forms::later(tx, gemeente, id)
}

/// The sealed bytes of a form of the gemeente, and the key they were sealed to.
pub fn sealed(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
) -> Result<Option<(RecipientKeyId, Vec<u8>)>, DbError> {
    store::care_forms::sealed(tx, gemeente, id)
}

/// Forms of the gemeente that still need a match pseudonym.
pub fn pending_pseudonyms(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<Pending>, DbError> {
    store::care_forms::without_pseudonym(tx, gemeente)
}

/// Stores computed pseudonyms (only where none is stored yet); returns how many.
pub fn store_pseudonyms(
    tx: &Tx,
    gemeente: GemeenteId,
    computed: &[(CareFormId, Vec<u8>)],
) -> Result<usize, DbError> {
    let mut n = 0;
    for (id, p) in computed {
        n += store::care_forms::set_pseudonym(tx, gemeente, *id, p)?;
    }
    Ok(n)
}

/// The meldpunt's handling of a form: the whole state, as the inbox form posts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Handling {
    /// New status.
    pub status: CareStatus,
    /// "Bekend bij"; `None` = not checked yet.
    pub known_to: Option<KnownTo>,
    /// The planned home visit.
    pub visit_at: Option<Timestamp>,
    /// Feedback to the reporter (at most [`FEEDBACK_MAX_CHARS`]); `None` or blank = none.
    pub message: Option<String>,
}

/// Checks a handling; the error says what to change, in Dutch. A status must be backed by
/// the other fields ([`check_status`]), so one change of the status alone cannot stop the
/// 48-hour clock or tell the reporter about a visit that has no date.
pub fn validate(h: &Handling, received: Timestamp, now: Timestamp) -> Result<(), String> {
    if !h.status.is_known() {
        return Err(format!("Onbekende status '{}'.", h.status.code()));
    }
    check_status(&h.status, h.known_to, h.visit_at)?;
    if let Some(m) = &h.message {
        let n = m.trim().chars().count();
        if n > FEEDBACK_MAX_CHARS {
            return Err(format!(
                "Het bericht aan de melder is {n} tekens; maximaal {FEEDBACK_MAX_CHARS}. Het is een statusbericht, geen zorginhoud."
            ));
        }
    }
    if let Some(v) = h.visit_at {
        let earliest = received
            .saturating_sub(SignedDuration::from_hours(24))
            .unwrap_or(received);
        let latest = now
            .saturating_add(SignedDuration::from_hours(24 * 366))
            .unwrap_or(now);
        if v < earliest || v > latest {
            return Err(
                "De datum van het huisbezoek ligt niet tussen de melding en een jaar vooruit."
                    .into(),
            );
        }
    }
    Ok(())
}

/// What an update changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Status or message changed: the reporter gets feedback at the next sync.
    pub feedback: bool,
    /// Codes for the audit log, e.g. `status: received → visit_planned`.
    pub detail: Vec<String>,
}

fn code_or_dash(code: Option<&str>) -> String {
    code.unwrap_or("—").to_owned()
}

/// Applies a validated handling to a form of the gemeente and records it in the audit
/// log, in the caller's transaction. `None` when the form is not the gemeente's.
///
/// A change of status or message bumps the form's feedback cursor, so the reporting
/// device (and only it: the pull selects on `device_id`) receives it at its next sync.
/// "Bekend bij" and the visit date are care information and never reach the reporter.
pub fn update(
    tx: &Tx,
    gemeente: GemeenteId,
    id: CareFormId,
    h: &Handling,
    actor: &Actor,
    address: Option<IpAddr>,
    now_ms: i64,
) -> Result<Option<Changes>, DbError> {
    let Some(current) = get(tx, gemeente, id)? else {
        return Ok(None);
    };
    let message = h
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    let mut changes = Changes::default();
    if current.status != h.status {
        changes.detail.push(format!(
            "status: {} → {}",
            current.status.code(),
            h.status.code()
        ));
        changes.feedback = true;
    }
    if current.message != message {
        changes.detail.push("bericht aan melder gewijzigd".into());
        changes.feedback = true;
    }
    if current.known_to != h.known_to {
        changes.detail.push(format!(
            "bekend bij: {} → {}",
            code_or_dash(current.known_to.map(KnownTo::code)),
            code_or_dash(h.known_to.map(KnownTo::code))
        ));
    }
    if current.visit_at != h.visit_at {
        changes.detail.push(
            if h.visit_at.is_some() {
                "huisbezoek gepland"
            } else {
                "huisbezoek vervallen"
            }
            .into(),
        );
    }
    if changes.detail.is_empty() {
        return Ok(Some(changes));
    }
    store::care_forms::set_care(tx, gemeente, id, h.known_to, h.visit_at)?;
    if changes.feedback {
        let seq = store::care_forms::next_feedback_seq(tx)?;
        store::care_forms::set_feedback(
            tx,
            gemeente,
            id,
            &h.status,
            message.as_deref(),
            now_ms,
            seq,
        )?;
    }
    audit::record(
        tx,
        &Event {
            gemeente,
            actor,
            action: Action::Update,
            form: Some(id),
            address,
            detail: changes.detail.join("; "),
        },
        now_ms,
    )?;
    Ok(Some(changes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use avondronde_shared::time::amsterdam;
    use jiff::civil::date;
    use rstest::rstest;

    fn local(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
        date(y, m, d)
            .at(h, min, 0, 0)
            .to_zoned(amsterdam())
            .expect("local time")
            .timestamp()
    }

    /// Issue 5: the 48-hour clock across the daylight-saving nights of 2026.
    #[rstest]
    #[case::autumn_back(local(2026, 10, 24, 12, 0), "26-10-2026 11:00")]
    #[case::spring_forward(local(2026, 3, 28, 12, 0), "30-03-2026 13:00")]
    #[case::ordinary(local(2026, 11, 20, 22, 15), "22-11-2026 22:15")]
    #[case::received_in_the_repeated_hour(
        "2026-10-25T00:30:00Z".parse().expect("ts"), "27-10-2026 01:30")]
    fn the_deadline_is_48_real_hours_after_receipt(
        #[case] received: Timestamp,
        #[case] expected_local: &str,
    ) {
        let due = deadline(received);
        assert_eq!(due.duration_since(received), SignedDuration::from_hours(48));
        assert_eq!(format_local(due), expected_local);
    }

    #[test]
    fn local_format_is_dutch_day_first_24_hour() {
        assert_eq!(format_local(local(2026, 11, 22, 21, 5)), "22-11-2026 21:05");
        assert_eq!(format_span(SignedDuration::from_mins(61)), "1 u 1 min");
        assert_eq!(format_span(SignedDuration::from_hours(50)), "2 d 2 u");
        assert_eq!(
            format_span(SignedDuration::from_hours(24)),
            "1 d",
            "not '1 d 0 u'"
        );
    }

    fn row(received_h_ago: i64, status: CareStatus, now: Timestamp) -> FormRow {
        FormRow {
            id: CareFormId::new(),
            received_at: now - SignedDuration::from_hours(received_h_ago),
            wijk: None,
            reporter_role: "boa".into(),
            age_band: Some(AgeBand::Age6To9),
            status,
            known_to: None,
            visit_at: None,
            message: None,
            recipient_key: RecipientKeyId("k".into()),
            matched: false,
            earlier: vec![],
        }
    }

    #[test]
    fn the_clock_stops_when_known_to_care_or_handled() {
        let now = local(2026, 11, 20, 12, 0);
        let mut r = row(50, CareStatus::Received, now);
        assert_eq!(r.clock(now), Clock::Overdue(SignedDuration::from_hours(2)));
        r.known_to = Some(KnownTo::Onbekend);
        assert!(
            matches!(r.clock(now), Clock::Overdue(_)),
            "unknown: visit due"
        );
        r.known_to = Some(KnownTo::VeiligThuis);
        assert_eq!(r.clock(now), Clock::Stopped);
        let mut r = row(10, CareStatus::InProgress, now);
        assert_eq!(r.clock(now), Clock::Running(SignedDuration::from_hours(38)));
        r.status = CareStatus::VisitPlanned;
        assert!(
            matches!(r.clock(now), Clock::Running(_)),
            "a planned visit without a date stops nothing"
        );
        r.visit_at = Some(now + SignedDuration::from_hours(40));
        assert_eq!(r.clock(now), Clock::Stopped);
        assert!(r.visit_after_deadline());
    }

    /// Review rev3, finding 2: a status alone never takes a late form off the clock.
    #[test]
    fn a_status_without_its_backing_leaves_a_late_form_late() {
        let now = local(2026, 11, 20, 12, 0);
        for (status, known_to) in [
            (CareStatus::VisitPlanned, None),
            (CareStatus::VisitPlanned, Some(KnownTo::Onbekend)),
            (CareStatus::KnownToCare, None),
            (CareStatus::KnownToCare, Some(KnownTo::Onbekend)),
        ] {
            let mut r = row(72, status.clone(), now);
            r.known_to = known_to;
            assert!(
                matches!(r.clock(now), Clock::Overdue(_)),
                "{status:?} {known_to:?}"
            );
        }
        let mut known = row(72, CareStatus::KnownToCare, now);
        known.known_to = Some(KnownTo::Bjz);
        assert_eq!(known.clock(now), Clock::Stopped);
        for status in [CareStatus::Closed, CareStatus::NotTakenUp] {
            assert_eq!(row(72, status, now).clock(now), Clock::Stopped);
        }
    }

    #[rstest]
    #[case::visit_without_date(
        CareStatus::VisitPlanned,
        None,
        false,
        Some("Huisbezoek gepland op")
    )]
    #[case::visit_with_date(CareStatus::VisitPlanned, None, true, None)]
    #[case::known_unchecked(CareStatus::KnownToCare, None, false, Some("Bekend bij"))]
    #[case::known_but_nowhere(
        CareStatus::KnownToCare,
        Some(KnownTo::Onbekend),
        false,
        Some("nergens bekend")
    )]
    #[case::known_veilig_thuis(CareStatus::KnownToCare, Some(KnownTo::VeiligThuis), false, None)]
    #[case::received(CareStatus::Received, None, false, None)]
    #[case::in_progress(CareStatus::InProgress, Some(KnownTo::Onbekend), false, None)]
    #[case::closed(CareStatus::Closed, None, false, None)]
    #[case::not_taken_up(CareStatus::NotTakenUp, None, false, None)]
    fn each_status_needs_what_it_claims(
        #[case] status: CareStatus,
        #[case] known_to: Option<KnownTo>,
        #[case] with_visit: bool,
        #[case] error_names: Option<&str>,
    ) {
        let now = Timestamp::now();
        let h = Handling {
            status,
            known_to,
            visit_at: with_visit.then(|| now + SignedDuration::from_hours(20)),
            message: None,
        };
        match (validate(&h, now, now), error_names) {
            (Ok(()), None) => {}
            (Err(e), Some(field)) => assert!(e.contains(field), "{e}"),
            (got, want) => panic!("{h:?}: got {got:?}, wanted an error naming {want:?}"),
        }
    }

    #[test]
    fn urgency_puts_overdue_first_then_nearest_deadline_then_visits_then_handled() {
        let now = local(2026, 11, 20, 12, 0);
        let closed = row(1, CareStatus::Closed, now);
        let mut visit = row(30, CareStatus::VisitPlanned, now);
        visit.visit_at = Some(now + SignedDuration::from_hours(3));
        let fresh = row(2, CareStatus::Received, now);
        let overdue = row(60, CareStatus::Received, now);
        let soon = row(40, CareStatus::InProgress, now);
        let mut known = row(5, CareStatus::KnownToCare, now);
        known.known_to = Some(KnownTo::Wijkteam);
        let mut rows = [
            closed.clone(),
            visit.clone(),
            fresh.clone(),
            overdue.clone(),
            soon.clone(),
            known.clone(),
        ];
        rows.sort_by(|a, b| by_urgency(a, b, now));
        let order: Vec<_> = rows.iter().map(|r| r.id).collect();
        assert_eq!(
            order,
            vec![overdue.id, soon.id, fresh.id, visit.id, known.id, closed.id]
        );
    }

    #[test]
    fn feedback_messages_are_limited_to_280_characters() {
        let now = Timestamp::now();
        let h = |m: String| Handling {
            status: CareStatus::InProgress,
            known_to: None,
            visit_at: None,
            message: Some(m),
        };
        assert!(validate(&h("é".repeat(280)), now, now).is_ok());
        let err = validate(&h("x".repeat(281)), now, now).expect_err("too long");
        assert!(err.contains("maximaal 280"));
        let mut other = h(String::new());
        other.status = CareStatus::Other("iets".into());
        assert!(validate(&other, now, now).is_err());
    }
}

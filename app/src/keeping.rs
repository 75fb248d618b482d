//! The rules for what the phone keeps and for how long (issue 10), as pure functions of
//! the gemeente's [`PhonePolicy`] and the app's clock; [`crate::store::keeping`] runs them.
//!
//! - A receipted contact is kept for the gemeente's retention (30 days by default, as long
//!   as "Eerder hier" looks back), then deleted.
//! - A care-form draft (with a child's name and address in plain text) is deleted when it
//!   is [`DRAFT_MAX_DAYS`] days old, with a warning from day [`DRAFT_WARN_DAYS`].
//! - Unsent drafts block "Ronde beëindigen" until sealed or deliberately thrown away.

use avondronde_shared::sync::PhonePolicy;
use jiff::{SignedDuration, Timestamp};

/// A draft this many days old is deleted.
pub const DRAFT_MAX_DAYS: i64 = 7;
/// From this many days on, a draft carries a warning.
pub const DRAFT_WARN_DAYS: i64 = 5;

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

/// The instants before which receipted contacts and drafts are deleted, at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// Receipted contacts observed before this go.
    pub contacts_before: Timestamp,
    /// Drafts started before this go.
    pub drafts_before: Timestamp,
}

/// The cutoffs at `now` under the gemeente's policy (clamped, so a damaged setting cannot
/// keep data forever).
pub fn cutoffs(policy: PhonePolicy, now: Timestamp) -> Cutoffs {
    let keep = i64::from(policy.clamped().contact_retention_days);
    Cutoffs {
        contacts_before: now.checked_sub(days(keep)).unwrap_or(Timestamp::UNIX_EPOCH),
        drafts_before: now
            .checked_sub(days(DRAFT_MAX_DAYS))
            .unwrap_or(Timestamp::UNIX_EPOCH),
    }
}

/// Where a draft stands by its age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftAge {
    /// Younger than [`DRAFT_WARN_DAYS`].
    Fresh,
    /// Deleted in this many whole days (1 or 2), so the screen warns.
    Expiring {
        /// Whole days left (at least 1).
        days_left: i64,
    },
    /// [`DRAFT_MAX_DAYS`] old or more: to be deleted.
    Expired,
}

/// Where a draft started at `started` stands at `now`.
pub fn draft_age(started: Timestamp, now: Timestamp) -> DraftAge {
    let age = now.duration_since(started);
    if age >= days(DRAFT_MAX_DAYS) {
        DraftAge::Expired
    } else if age >= days(DRAFT_WARN_DAYS) {
        let left = days(DRAFT_MAX_DAYS) - age;
        // Round up: 1 day and 3 hours left is "nog 2 dagen".
        let day = 24 * 3600;
        let whole = ((left.as_secs() + day - 1) / day).max(1);
        DraftAge::Expiring { days_left: whole }
    } else {
        DraftAge::Fresh
    }
}

impl DraftAge {
    /// The warning shown beside the draft (Dutch), if any.
    pub fn warning_nl(&self) -> Option<String> {
        match self {
            DraftAge::Fresh => None,
            DraftAge::Expiring { days_left: 1 } => {
                Some("Wordt over 1 dag gewist: verzegel of gooi het zorgformulier weg.".to_owned())
            }
            DraftAge::Expiring { days_left } => Some(format!(
                "Wordt over {days_left} dagen gewist: verzegel of gooi het zorgformulier weg."
            )),
            DraftAge::Expired => Some("Te oud; wordt gewist.".to_owned()),
        }
    }
}

/// "1 item", "3 items".
pub fn items(n: u32) -> String {
    if n == 1 {
        "1 item".to_owned()
    } else {
        format!("{n} items")
    }
}

/// The question before throwing away what is unsent on this phone before enrolling it
/// again ("3 items op dit toestel weggooien?").
pub fn discard_question(n: u32) -> String {
    format!("{} op dit toestel weggooien?", items(n))
}

/// Why "Ronde beëindigen" waits (Dutch), if unsent drafts block it.
pub fn end_round_blocker(drafts: usize) -> Option<String> {
    match drafts {
        0 => None,
        1 => Some(
            "Er wacht nog 1 zorgformulier. Verzegel het of gooi het bewust weg; daarna kun je de ronde beëindigen."
                .to_owned(),
        ),
        n => Some(format!(
            "Er wachten nog {n} zorgformulieren. Verzegel ze of gooi ze bewust weg; daarna kun je de ronde beëindigen."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    #[test]
    fn a_draft_warns_from_day_five_and_expires_on_day_seven() {
        let start = at("2026-11-01T21:00:00Z");
        let after = |h: i64| start + SignedDuration::from_hours(h);
        assert_eq!(draft_age(start, after(0)), DraftAge::Fresh);
        assert_eq!(draft_age(start, after(5 * 24 - 1)), DraftAge::Fresh);
        assert_eq!(
            draft_age(start, after(5 * 24)),
            DraftAge::Expiring { days_left: 2 }
        );
        assert_eq!(
            draft_age(start, after(6 * 24 + 1)),
            DraftAge::Expiring { days_left: 1 }
        );
        assert_eq!(draft_age(start, after(7 * 24)), DraftAge::Expired);
        assert_eq!(
            DraftAge::Expiring { days_left: 1 }.warning_nl().as_deref(),
            Some("Wordt over 1 dag gewist: verzegel of gooi het zorgformulier weg.")
        );
        assert!(
            DraftAge::Expiring { days_left: 2 }
                .warning_nl()
                .is_some_and(|w| w.contains("2 dagen"))
        );
        assert_eq!(DraftAge::Fresh.warning_nl(), None);
    }

    #[test]
    fn cutoffs_follow_the_gemeente_retention_and_the_draft_limit() {
        let now = at("2026-11-20T21:00:00Z");
        let c = cutoffs(PhonePolicy::default(), now);
        assert_eq!(c.contacts_before, at("2026-10-21T21:00:00Z"));
        assert_eq!(c.drafts_before, at("2026-11-13T21:00:00Z"));
        let short = PhonePolicy {
            contact_retention_days: 7,
            ..PhonePolicy::default()
        };
        assert_eq!(
            cutoffs(short, now).contacts_before,
            at("2026-11-13T21:00:00Z")
        );
        let broken = PhonePolicy {
            contact_retention_days: 0,
            ..PhonePolicy::default()
        };
        assert_eq!(
            cutoffs(broken, now).contacts_before,
            at("2026-11-19T21:00:00Z"),
            "at least one day, never 'keep for ever' or 'delete the round in progress'"
        );
    }

    #[test]
    fn the_questions_name_the_number_with_proper_plurals() {
        assert_eq!(discard_question(3), "3 items op dit toestel weggooien?");
        assert_eq!(discard_question(1), "1 item op dit toestel weggooien?");
        assert_eq!(end_round_blocker(0), None);
        assert!(end_round_blocker(1).is_some_and(|m| m.contains("nog 1 zorgformulier.")));
        assert!(end_round_blocker(2).is_some_and(|m| m.contains("nog 2 zorgformulieren")));
    }
}

//! The Dutch wording of explanations and messages ("1 u 25 min", "21:00", "22-11-2026"),
//! kept apart from the rules so the engine and the area rules share one way of saying it.

use jiff::civil::{Date, Time};

use super::Verdict;
use crate::contact::AgeBand;

/// The part of an explanation after the colon, for a norm-only verdict.
pub(super) fn norm_detail(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Within { latest } => {
            format!("binnen de buitenspeelnorm van {}", hhmm(*latest))
        }
        Verdict::PastNorm { latest, minutes } => format!(
            "{} na de buitenspeelnorm van {}",
            duration_nl(*minutes),
            hhmm(*latest)
        ),
        Verdict::Supervised => "onder toezicht van een volwassene: geen norm".to_owned(),
        Verdict::NoNorm | Verdict::AreaRule { .. } => "geen buitenspeelnorm".to_owned(),
    }
}

/// "kind"/"kinderen", or "jongere"/"jongeren" for 14+.
pub(super) fn noun(band: AgeBand, count: u32) -> &'static str {
    match (band == AgeBand::Age14Plus, count == 1) {
        (false, true) => "kind",
        (false, false) => "kinderen",
        (true, true) => "jongere",
        (true, false) => "jongeren",
    }
}

/// "1 u 25 min", "45 min", "2 u".
pub(super) fn duration_nl(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} u"),
        (h, m) => format!("{h} u {m} min"),
    }
}

/// 24-hour "HH:MM".
pub(super) fn hhmm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// "22-11-2026".
pub(super) fn date_nl(d: Date) -> String {
    format!("{:02}-{:02}-{:04}", d.day(), d.month(), d.year())
}

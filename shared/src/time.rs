//! Europe/Amsterdam, the one civil time zone of the product, defined once.
//!
//! Norms and area rules, the hotspot filter's hours and weekdays, the meldpunt's deadlines,
//! retention's calendar and every time a user reads are Amsterdam wall-clock times,
//! whatever the zone of the phone or of the server's host. Everything that needs the zone
//! takes it from [`amsterdam`], so there is one lookup and one fallback.
//!
//! jiff's time zone database is bundled in every build (workspace feature
//! `tzdb-bundle-always`), so the lookup does not depend on the host and cannot fail in
//! practice. Should it fail all the same, the one fallback is the POSIX rule Amsterdam has
//! followed since 1996 (CET, and CEST from the last Sunday of March to the last Sunday of
//! October), which answers the same for every date the product sees. Never UTC: that would
//! move every norm and every hour on the map by one or two hours without anyone noticing.

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::tz::{self, TimeZone};

/// The IANA name of the zone.
pub const NAME: &str = "Europe/Amsterdam";

/// The rule Europe/Amsterdam has followed since 1996, as a POSIX TZ string.
pub const POSIX_RULE: &str = "CET-1CEST,M3.5.0,M10.5.0/3";

static AMSTERDAM: LazyLock<TimeZone> = LazyLock::new(|| {
    TimeZone::get(NAME)
        .or_else(|_| TimeZone::posix(POSIX_RULE))
        // The rule above is a constant that parses; this only keeps the code panic-free.
        .unwrap_or_else(|_| TimeZone::fixed(tz::offset(1)))
});

/// Europe/Amsterdam (a cheap clone of one shared value).
pub fn amsterdam() -> TimeZone {
    AMSTERDAM.clone()
}

/// The zone by reference, for hot loops.
pub fn amsterdam_ref() -> &'static TimeZone {
    &AMSTERDAM
}

/// The local time as Dutch users read it: `22:31`.
pub fn hhmm(at: Timestamp) -> String {
    at.to_zoned(amsterdam()).strftime("%H:%M").to_string()
}

/// The local date and time as Dutch users read it: `24-10-2026 22:31`.
pub fn date_hhmm(at: Timestamp) -> String {
    at.to_zoned(amsterdam())
        .strftime("%d-%m-%Y %H:%M")
        .to_string()
}

/// The Amsterdam calendar date of an instant.
pub fn local_date(at: Timestamp) -> jiff::civil::Date {
    amsterdam_ref().to_datetime(at).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_zone_is_used_and_the_fallback_rule_agrees_with_it() {
        assert_eq!(
            amsterdam().iana_name(),
            Some(NAME),
            "the bundled tzdb, not the fallback"
        );
        let rule = TimeZone::posix(POSIX_RULE).expect("the fallback rule parses");
        // Every hour over several years, across both switches each year.
        let mut at: Timestamp = "2024-01-01T00:00:00Z".parse().expect("start");
        let end: Timestamp = "2031-01-01T00:00:00Z".parse().expect("end");
        while at < end {
            assert_eq!(amsterdam().to_offset(at), rule.to_offset(at), "at {at}");
            at += jiff::SignedDuration::from_hours(1);
        }
    }

    #[test]
    fn summer_and_winter_times_read_as_dutch_users_expect() {
        let summer: Timestamp = "2026-07-01T20:30:00Z".parse().expect("summer");
        let winter: Timestamp = "2026-12-01T20:30:00Z".parse().expect("winter");
        assert_eq!(hhmm(summer), "22:30");
        assert_eq!(hhmm(winter), "21:30");
        assert_eq!(date_hhmm(winter), "01-12-2026 21:30");
        let just_after_midnight: Timestamp = "2026-12-01T23:30:00Z".parse().expect("night");
        assert_eq!(local_date(just_after_midnight).to_string(), "2026-12-02");
    }
}

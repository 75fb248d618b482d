//! Dates and times as Dutch users read and type them, in one place (issue 12): every page
//! shows a date as `dd-mm-jjjj` and a moment as `dd-mm-jjjj uu:mm` in Europe/Amsterdam,
//! and every date a person types is read here, with one Dutch error when it is not a date.
//!
//! Browsers render `<input type="date">` in their own locale (an English browser shows
//! `mm/dd/yyyy`), so the pages use a text input with [`DATE_PATTERN`] instead; the API
//! and older links may still send ISO `2026-11-22`, which [`parse_date`] accepts too.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The `pattern` attribute of a date text input: `dd-mm-jjjj`.
pub const DATE_PATTERN: &str = r"\d{1,2}-\d{1,2}-\d{4}";

/// The placeholder of a date text input.
pub const DATE_PLACEHOLDER: &str = "dd-mm-jjjj";

/// Europe/Amsterdam (bundled tz database, so it never depends on the host).
pub fn amsterdam() -> TimeZone {
    avondronde_shared::time::amsterdam()
}

/// A calendar date as `22-11-2026`.
pub fn format_date(d: Date) -> String {
    d.strftime("%d-%m-%Y").to_string()
}

/// An instant as a local date and time, `22-11-2026 21:05`.
pub fn format_local(at: Timestamp) -> String {
    at.to_zoned(amsterdam())
        .strftime("%d-%m-%Y %H:%M")
        .to_string()
}

/// An instant as a local date and time with seconds, `22-11-2026 21:05:09` (the audit log).
pub fn format_local_seconds(at: Timestamp) -> String {
    at.to_zoned(amsterdam())
        .strftime("%d-%m-%Y %H:%M:%S")
        .to_string()
}

/// An instant as a local day and time without the year, `22-11 21:05` (lists of things
/// that are days away at most).
pub fn format_local_short(at: Timestamp) -> String {
    at.to_zoned(amsterdam()).strftime("%d-%m %H:%M").to_string()
}

/// Unix milliseconds as [`format_local`]; empty when out of range.
pub fn format_local_ms(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(format_local)
        .unwrap_or_default()
}

/// Why a typed date was not read. The message is Dutch and says what to type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is geen datum; typ de datum als dd-mm-jjjj, bijvoorbeeld 22-11-2026")]
pub struct DateError(pub String);

/// Reads a date typed as `22-11-2026` (also `2-3-2026`), or sent as ISO `2026-11-22`.
pub fn parse_date(s: &str) -> Result<Date, DateError> {
    let t = s.trim();
    let bad = || DateError(t.chars().take(20).collect());
    let parts: Vec<&str> = t.split('-').collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(bad());
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !(digits(a) && digits(b) && digits(c)) {
        return Err(bad());
    }
    let (y, m, d) = match (a.len(), c.len()) {
        (1 | 2, 4) => (*c, *b, *a),
        (4, 2) if b.len() == 2 => (*a, *b, *c),
        _ => return Err(bad()),
    };
    if m.len() > 2 || d.len() > 2 {
        return Err(bad());
    }
    let n = |p: &str| p.parse::<i16>().map_err(|_| bad());
    let (y, m, d) = (n(y)?, n(m)?, n(d)?);
    let m = i8::try_from(m).map_err(|_| bad())?;
    let d = i8::try_from(d).map_err(|_| bad())?;
    Date::new(y, m, d).map_err(|_| bad())
}

/// Why a typed date and time was not read. The message is Dutch and says what to type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dat is geen datum met tijd; typ bijvoorbeeld 26-10-2026 14:00")]
pub struct DateTimeError;

/// Parses a visit time as Amsterdam time: `26-10-2026 14:00` (also `14.00`, or the ISO
/// `2026-10-26T14:00` a `datetime-local` field sends). Empty means no visit.
fn parse_local_unit(s: &str) -> Result<Option<Timestamp>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let dt: jiff::civil::DateTime = match s.parse() {
        Ok(dt) => dt,
        Err(_) => {
            let (date, time) = s.split_once(char::is_whitespace).ok_or(())?;
            let mut d = date
                .split(['-', '/'])
                .map(|p| p.parse::<i32>().map_err(|_| ()));
            let (day, month, year) = (
                d.next().ok_or(())??,
                d.next().ok_or(())??,
                d.next().ok_or(())??,
            );
            let (h, m) = time.trim().split_once([':', '.']).ok_or(())?;
            let (h, m): (i8, i8) = (h.parse().map_err(|_| ())?, m.parse().map_err(|_| ())?);
            let date = jiff::civil::Date::new(
                i16::try_from(year).map_err(|_| ())?,
                i8::try_from(month).map_err(|_| ())?,
                i8::try_from(day).map_err(|_| ())?,
            )
            .map_err(|_| ())?;
            // `Time::new`, not `Date::at`: that one panics on 25:00.
            date.to_datetime(jiff::civil::Time::new(h, m, 0, 0).map_err(|_| ())?)
        }
    };
    dt.to_zoned(amsterdam())
        .map(|z| Some(z.timestamp()))
        .map_err(|_| ())
}

/// Parses a date and time as Amsterdam time: `26-10-2026 14:00` (also `14.00`, or ISO
/// `2026-10-26T14:00`). Empty means none.
pub fn parse_local_datetime(s: &str) -> Result<Option<Timestamp>, DateTimeError> {
    parse_local_unit(s).map_err(|()| DateTimeError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::dutch("22-11-2026", (2026, 11, 22))]
    #[case::short_day_and_month("2-3-2026", (2026, 3, 2))]
    #[case::iso_from_the_api("2026-11-22", (2026, 11, 22))]
    #[case::spaces_around(" 01-01-2027 ", (2027, 1, 1))]
    #[case::leap_day("29-02-2028", (2028, 2, 29))]
    fn dates_people_type_are_read(#[case] s: &str, #[case] (y, m, d): (i16, i8, i8)) {
        assert_eq!(parse_date(s), Ok(Date::new(y, m, d).expect("date")));
    }

    #[rstest]
    #[case::month_thirteen("22-13-2026")]
    #[case::no_such_day("31-02-2026")]
    #[case::american("11/22/2026")]
    #[case::two_digit_year("22-11-26")]
    #[case::words("gisteren")]
    #[case::empty("")]
    #[case::signs("+1-1-2026")]
    #[case::too_many_parts("1-1-1-2026")]
    fn anything_else_is_refused_in_dutch(#[case] s: &str) {
        let e = parse_date(s).expect_err("no date").to_string();
        assert!(e.contains("dd-mm-jjjj"), "{e}");
    }

    #[test]
    fn dates_and_times_are_shown_as_dd_mm_jjjj_in_amsterdam() {
        let d = Date::new(2026, 3, 2).expect("date");
        assert_eq!(format_date(d), "02-03-2026");
        // 20:05 UTC in November is 21:05 in Amsterdam.
        let at: Timestamp = "2026-11-22T20:05:09Z".parse().expect("ts");
        assert_eq!(format_local(at), "22-11-2026 21:05");
        assert_eq!(format_local_seconds(at), "22-11-2026 21:05:09");
        assert_eq!(format_local_short(at), "22-11 21:05");
        assert_eq!(format_local_ms(at.as_millisecond()), "22-11-2026 21:05");
    }
}

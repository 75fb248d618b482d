//! What a coordinator can ask of the hotspot map: period, weekdays, time of evening, age
//! bands, behaviours and the two "only" switches, plus the optional *before* period of a
//! before/after comparison.
//!
//! Everything here is pure. A [`Filter`] is parsed once per request from the query string
//! ([`FilterQuery`]) into bit masks and day numbers, so that testing it against a contact
//! of the in-memory index is a handful of integer comparisons.
//!
//! **Times are Europe/Amsterdam**, converted from the stored UTC instant with the tz
//! database, so they are right across the daylight-saving switches. **An evening belongs
//! to the day it started on**: a contact at 00:30 on Saturday is part of *Friday evening*,
//! for the period as well as the weekday, because a round that starts at 19:00 runs past
//! midnight (DOMAIN.md: "an evening may run past midnight"). The evening day turns at
//! [`EVENING_DAY_START_HOUR`], the end of the night in the mayor's order (20:00–06:00).

use avondronde_shared::{AgeBand, Behaviour};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use utoipa::IntoParams;

/// Local hour at which a new evening day starts; contacts before it count to the day before.
pub const EVENING_DAY_START_HOUR: i8 = 6;

const EPOCH: Date = Date::constant(1970, 1, 1);

/// Days since 1970-01-01.
pub fn day_number(date: Date) -> i32 {
    (date.duration_since(EPOCH).as_secs() / 86_400) as i32
}

/// The date of a day number (the inverse of [`day_number`]).
pub fn date_of_day(day: i32) -> Date {
    EPOCH
        .checked_add(SignedDuration::from_hours(i64::from(day) * 24))
        .unwrap_or(EPOCH)
}

/// ISO weekday of a day number, Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
pub fn weekday_of_day(day: i32) -> u8 {
    (day + 3).rem_euclid(7) as u8
}

/// The Monday that starts the ISO week of a day number, as a day number.
pub fn week_start_of_day(day: i32) -> i32 {
    day - i32::from(weekday_of_day(day))
}

/// A contact's time as the filters see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalParts {
    /// The evening it belongs to, as a day number (see the module docs).
    pub evening_day: i32,
    /// The hour on the Amsterdam clock, 0–23.
    pub hour: u8,
}

/// The evening day and local hour of an instant.
pub fn local_parts(at: Timestamp, tz: &TimeZone) -> LocalParts {
    local_parts_of(tz.to_datetime(at))
}

fn local_parts_of(local: DateTime) -> LocalParts {
    let date = if local.hour() < EVENING_DAY_START_HOUR {
        local.date().yesterday().unwrap_or(local.date())
    } else {
        local.date()
    };
    LocalParts {
        evening_day: day_number(date),
        hour: local.hour() as u8,
    }
}

/// What is counted per cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Measure {
    /// The number of children (the sum of the group counts of the selected age bands).
    #[default]
    Children,
    /// The number of contacts (groups met).
    Contacts,
}

impl Measure {
    /// The stable code used in the API.
    pub fn code(self) -> &'static str {
        match self {
            Measure::Children => "children",
            Measure::Contacts => "contacts",
        }
    }

    /// The Dutch noun for a count of this measure.
    pub fn label_nl(self) -> &'static str {
        match self {
            Measure::Children => "kinderen",
            Measure::Contacts => "contacten",
        }
    }
}

/// The H3 resolutions the map offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Res {
    /// Resolution 9: cells of about 0.1 km² (edge about 200 m).
    Nine,
    /// Resolution 10: cells of about 0.015 km² (edge about 75 m).
    #[default]
    Ten,
}

impl Res {
    /// The h3o resolution.
    pub fn h3(self) -> h3o::Resolution {
        match self {
            Res::Nine => h3o::Resolution::Nine,
            Res::Ten => h3o::Resolution::Ten,
        }
    }

    /// 9 or 10.
    pub fn number(self) -> u8 {
        match self {
            Res::Nine => 9,
            Res::Ten => 10,
        }
    }
}

/// An inclusive range of evening days; `None` ends are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    /// First evening, inclusive.
    pub from: Option<Date>,
    /// Last evening, inclusive.
    pub to: Option<Date>,
}

impl Period {
    /// The range as day numbers, open ends widened to the extremes.
    pub fn days(&self) -> (i32, i32) {
        (
            self.from.map_or(i32::MIN, day_number),
            self.to.map_or(i32::MAX, day_number),
        )
    }

    /// How many evenings the period spans, if both ends are set.
    pub fn len_days(&self) -> Option<i64> {
        let (from, to) = (self.from?, self.to?);
        Some(i64::from(day_number(to) - day_number(from)) + 1)
    }
}

/// All age bands, as a mask (bit i = `AgeBand::ALL[i]`).
pub const ALL_BANDS: u8 = 0b1_1111;
/// All weekdays, as a mask (bit 0 = Monday).
pub const ALL_WEEKDAYS: u8 = 0b111_1111;
/// All hours, as a mask (bit h = hour h).
pub const ALL_HOURS: u32 = (1 << 24) - 1;

/// A parsed filter. Build it with [`FilterQuery::parse`] or start from [`Filter::default`]
/// (everything, children, resolution 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Cell size.
    pub res: Res,
    /// What is counted.
    pub measure: Measure,
    /// The period analysed (in a comparison: the period *after*).
    pub period: Period,
    /// The period before, for a before/after comparison.
    pub before: Option<Period>,
    /// Weekdays of the evening, bit 0 = Monday.
    pub weekdays: u8,
    /// Hours of the Amsterdam clock, bit h = hour h.
    pub hours: u32,
    /// Age bands counted, bit i = `AgeBand::ALL[i]`. A contact passes when it has a child in
    /// one of them; the children measure counts only these bands.
    pub bands: u8,
    /// Behaviours: a contact passes when it has any of them; 0 means no behaviour filter.
    pub behaviours: u8,
    /// Only contacts with a child past its buitenspeelnorm.
    pub past_norm_only: bool,
    /// Only contacts where a child was brought home.
    pub brought_home_only: bool,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            res: Res::Ten,
            measure: Measure::Children,
            period: Period::default(),
            before: None,
            weekdays: ALL_WEEKDAYS,
            hours: ALL_HOURS,
            bands: ALL_BANDS,
            behaviours: 0,
            past_norm_only: false,
            brought_home_only: false,
        }
    }
}

/// Contact flags in the index.
pub mod flags {
    /// A child was past its norm.
    pub const PAST_NORM: u8 = 1;
    /// A child was brought home.
    pub const BROUGHT_HOME: u8 = 2;
    /// The contact no longer belongs here (corrected into another wijk).
    pub const GONE: u8 = 0x80;
}

/// The bit of a behaviour in a mask; unknown codes from newer apps share bit 7.
pub fn behaviour_bit(b: &Behaviour) -> u8 {
    Behaviour::KNOWN
        .iter()
        .position(|k| k == b)
        .map_or(0x80, |i| 1 << i)
}

/// The behaviour mask of a stored JSON array of codes, without a JSON parser: the codes are
/// distinct words, and this runs for every contact when an index is loaded.
pub fn behaviour_mask_of_json(json: &str) -> u8 {
    let mut mask = 0;
    for part in json.split('"').skip(1).step_by(2) {
        mask |= behaviour_bit(&Behaviour::from(part.to_owned()));
    }
    mask
}

impl Filter {
    /// The value a contact adds to its cell under this filter, or `None` when it does not
    /// pass the parts of the filter that do not depend on time.
    #[inline]
    pub fn value(&self, counts: &[u16; 5], behaviours: u8, flag_bits: u8) -> Option<u32> {
        if flag_bits & flags::GONE != 0
            || (self.past_norm_only && flag_bits & flags::PAST_NORM == 0)
            || (self.brought_home_only && flag_bits & flags::BROUGHT_HOME == 0)
            || (self.behaviours != 0 && behaviours & self.behaviours == 0)
        {
            return None;
        }
        let mut children = 0u32;
        for (i, &n) in counts.iter().enumerate() {
            if self.bands & (1 << i) != 0 {
                children += u32::from(n);
            }
        }
        if children == 0 {
            return None;
        }
        Some(match self.measure {
            Measure::Children => children,
            Measure::Contacts => 1,
        })
    }

    /// Whether a weekday (Monday = 0) is selected.
    #[inline]
    pub fn weekday_ok(&self, day: i32) -> bool {
        self.weekdays & (1 << weekday_of_day(day)) != 0
    }

    /// Whether an hour of the clock is selected.
    #[inline]
    pub fn hour_ok(&self, hour: u8) -> bool {
        self.hours & (1 << hour) != 0
    }

    /// Whether the filter chooses hours (not all of them).
    pub fn chooses_hours(&self) -> bool {
        self.hours != ALL_HOURS
    }
}

/// The filter as query parameters. Every parameter is optional; a missing one does not
/// filter. Lists are comma-separated.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// H3 resolution: 9 (cells of about 0.1 km²) or 10 (about 0.015 km², the default).
    #[param(example = "10")]
    pub res: Option<String>,
    /// `children` (default; the sum of the selected age bands) or `contacts`.
    #[param(example = "children")]
    pub measure: Option<String>,
    /// First evening of the period, `2026-11-01` or `01-11-2026` (inclusive).
    #[param(example = "2026-10-01")]
    pub from: Option<String>,
    /// Last evening of the period (inclusive).
    #[param(example = "2026-11-30")]
    pub to: Option<String>,
    /// First evening of the *before* period of a before/after comparison.
    pub before_from: Option<String>,
    /// Last evening of the *before* period.
    pub before_to: Option<String>,
    /// Weekdays of the evening: `ma,di,wo,do,vr,za,zo` or ISO numbers 1–7 (1 = Monday).
    #[param(example = "vr,za")]
    pub weekdays: Option<String>,
    /// Hour ranges of the Amsterdam clock, `from-to` with the end exclusive; a range may
    /// cross midnight: `22-2` is 22:00 to 02:00. Several ranges: `16-18,22-2`.
    #[param(example = "22-2")]
    pub hours: Option<String>,
    /// Age bands: `0-5,6-9,10-11,12-13,14+`.
    #[param(example = "6-9,10-11")]
    pub bands: Option<String>,
    /// Behaviours (any of): `hanging_around,nuisance,vandalism,theft,fireworks,unsafe`.
    #[param(example = "nuisance")]
    pub behaviours: Option<String>,
    /// `true`: only contacts with a child past its buitenspeelnorm.
    pub past_norm: Option<String>,
    /// `true`: only contacts where a child was brought home.
    pub brought_home: Option<String>,
}

impl FilterQuery {
    /// The filter as the audit log records it: the parameters that were given, as given
    /// (each cut at 40 characters). It names dates, bands, hours and codes, never a person,
    /// so that an auditor can see a run of overlapping queries for what it is.
    pub fn audit_text(&self) -> String {
        let fields = [
            ("res", &self.res),
            ("measure", &self.measure),
            ("from", &self.from),
            ("to", &self.to),
            ("before_from", &self.before_from),
            ("before_to", &self.before_to),
            ("weekdays", &self.weekdays),
            ("hours", &self.hours),
            ("bands", &self.bands),
            ("behaviours", &self.behaviours),
            ("past_norm", &self.past_norm),
            ("brought_home", &self.brought_home),
        ];
        let given: Vec<String> = fields
            .iter()
            .filter_map(|(name, value)| {
                let value = value.as_deref()?.trim();
                (!value.is_empty())
                    .then(|| format!("{name}={}", value.chars().take(40).collect::<String>()))
            })
            .collect();
        if given.is_empty() {
            "filter: none".to_owned()
        } else {
            format!("filter: {}", given.join(" "))
        }
    }
}

/// Why a filter could not be read; the message is Dutch and says what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

fn bad(msg: impl Into<String>) -> FilterError {
    FilterError(msg.into())
}

/// Parses a date as `2026-11-22` (what a date input sends) or `22-11-2026` (how people
/// write it); see [`crate::dates::parse_date`].
pub fn parse_date(s: &str) -> Option<Date> {
    crate::dates::parse_date(s).ok()
}

fn parse_bool(name: &str, v: Option<&str>) -> Result<bool, FilterError> {
    match v.map(str::trim) {
        None | Some("") | Some("false") | Some("0") | Some("nee") => Ok(false),
        Some("true") | Some("1") | Some("ja") | Some("on") => Ok(true),
        Some(other) => Err(bad(format!(
            "{name}={other:?} is geen ja/nee; gebruik true of false"
        ))),
    }
}

fn items(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Parses hour ranges such as `22-2,16-18` into a mask of clock hours.
pub fn parse_hours(list: &str) -> Result<u32, FilterError> {
    let mut mask = 0u32;
    for item in items(list) {
        let hour = |s: &str| -> Option<u8> {
            let s = s.trim();
            let s = s.strip_suffix(":00").unwrap_or(s);
            s.parse::<u8>().ok().filter(|h| *h <= 24)
        };
        let (from, to) = match item.split_once('-') {
            Some((a, b)) => (hour(a), hour(b)),
            None => (hour(item), hour(item).map(|h| h + 1)),
        };
        let (Some(from), Some(to)) = (from, to) else {
            return Err(bad(format!(
                "uren {item:?} onleesbaar; gebruik van-tot in hele uren, bijvoorbeeld 22-2"
            )));
        };
        let (from, to) = (from % 24, to % 24);
        if from == to {
            return Err(bad(format!(
                "uren {item:?}: begin en eind zijn gelijk; laat het filter weg voor de hele dag"
            )));
        }
        let mut h = from;
        while h != to {
            mask |= 1 << h;
            h = (h + 1) % 24;
        }
    }
    Ok(if mask == 0 { ALL_HOURS } else { mask })
}

/// Parses weekdays (`ma,di,…` or `1`–`7`) into a mask, Monday = bit 0.
pub fn parse_weekdays(list: &str) -> Result<u8, FilterError> {
    const NAMES: [&str; 7] = ["ma", "di", "wo", "do", "vr", "za", "zo"];
    let mut mask = 0u8;
    for item in items(list) {
        let lower = item.to_lowercase();
        let i = NAMES
            .iter()
            .position(|n| lower.starts_with(n))
            .or_else(|| {
                lower
                    .parse::<usize>()
                    .ok()
                    .filter(|d| (1..=7).contains(d))
                    .map(|d| d - 1)
            })
            .ok_or_else(|| {
                bad(format!(
                    "weekdag {item:?} onbekend; gebruik ma, di, wo, do, vr, za, zo"
                ))
            })?;
        mask |= 1 << i;
    }
    Ok(if mask == 0 { ALL_WEEKDAYS } else { mask })
}

/// Parses age band codes into a mask. `14+` may arrive as `14 ` when a form encodes `+`
/// as a space, so a bare `14` is accepted too.
pub fn parse_bands(list: &str) -> Result<u8, FilterError> {
    let mut mask = 0u8;
    for item in items(list) {
        let code = if item == "14" { "14+" } else { item };
        let i = AgeBand::ALL
            .iter()
            .position(|b| b.code() == code)
            .ok_or_else(|| {
                bad(format!(
                    "leeftijdsklasse {item:?} onbekend; gebruik 0-5, 6-9, 10-11, 12-13 of 14+"
                ))
            })?;
        mask |= 1 << i;
    }
    Ok(if mask == 0 { ALL_BANDS } else { mask })
}

/// Parses behaviour codes into a mask (0 = no filter).
pub fn parse_behaviours(list: &str) -> Result<u8, FilterError> {
    let mut mask = 0u8;
    for item in items(list) {
        let b = Behaviour::from(item.to_owned());
        if !b.is_known() {
            let known: Vec<&str> = Behaviour::KNOWN.iter().map(|k| k.code()).collect();
            return Err(bad(format!(
                "gedrag {item:?} onbekend; gebruik {}",
                known.join(", ")
            )));
        }
        mask |= behaviour_bit(&b);
    }
    Ok(mask)
}

fn parse_period(from: Option<&str>, to: Option<&str>, what: &str) -> Result<Period, FilterError> {
    let date = |s: Option<&str>, end: &str| -> Result<Option<Date>, FilterError> {
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_date(s).map(Some).ok_or_else(|| {
                bad(format!(
                    "{end}datum {what} {s:?} onleesbaar; gebruik 2026-11-22 of 22-11-2026"
                ))
            }),
        }
    };
    let period = Period {
        from: date(from, "begin")?,
        to: date(to, "eind")?,
    };
    if let (Some(f), Some(t)) = (period.from, period.to)
        && f > t
    {
        return Err(bad(format!(
            "de {what} begint na de einddatum; wissel begin en eind om"
        )));
    }
    Ok(period)
}

impl FilterQuery {
    /// Parses the query into a [`Filter`].
    ///
    /// # Errors
    /// A [`FilterError`] naming the parameter that is wrong and what it should look like.
    pub fn parse(&self) -> Result<Filter, FilterError> {
        let res = match self.res.as_deref().map(str::trim) {
            None | Some("") | Some("10") => Res::Ten,
            Some("9") => Res::Nine,
            Some(other) => {
                return Err(bad(format!(
                    "resolutie {other:?} bestaat niet; kies 9 (grof) of 10 (fijn)"
                )));
            }
        };
        let measure = match self.measure.as_deref().map(str::trim) {
            None | Some("") | Some("children") | Some("kinderen") => Measure::Children,
            Some("contacts") | Some("contacten") => Measure::Contacts,
            Some(other) => {
                return Err(bad(format!(
                    "maat {other:?} bestaat niet; kies children of contacts"
                )));
            }
        };
        let period = parse_period(self.from.as_deref(), self.to.as_deref(), "periode")?;
        let before = parse_period(
            self.before_from.as_deref(),
            self.before_to.as_deref(),
            "periode ervoor",
        )?;
        let before = (before != Period::default()).then_some(before);
        Ok(Filter {
            res,
            measure,
            period,
            before,
            weekdays: parse_weekdays(self.weekdays.as_deref().unwrap_or(""))?,
            hours: parse_hours(self.hours.as_deref().unwrap_or(""))?,
            bands: parse_bands(self.bands.as_deref().unwrap_or(""))?,
            behaviours: parse_behaviours(self.behaviours.as_deref().unwrap_or(""))?,
            past_norm_only: parse_bool("past_norm", self.past_norm.as_deref())?,
            brought_home_only: parse_bool("brought_home", self.brought_home.as_deref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use avondronde_shared::time::amsterdam;
    use rstest::rstest;

    fn hours_of(mask: u32) -> Vec<u8> {
        (0..24).filter(|h| mask & (1 << h) != 0).collect()
    }

    #[rstest]
    #[case::evening("19-22", vec![19, 20, 21])]
    #[case::crosses_midnight("22-2", vec![0, 1, 22, 23])]
    #[case::crosses_midnight_padded("22:00-02:00", vec![0, 1, 22, 23])]
    #[case::to_midnight("20-24", vec![20, 21, 22, 23])]
    #[case::to_midnight_as_zero("23-0", vec![23])]
    #[case::single_hour("21", vec![21])]
    #[case::two_ranges("16-18, 23-1", vec![0, 16, 17, 23])]
    #[case::empty_means_all("", (0..24).collect())]
    fn hour_ranges_may_cross_midnight(#[case] query: &str, #[case] expected: Vec<u8>) {
        assert_eq!(hours_of(parse_hours(query).expect("valid")), expected);
    }

    #[rstest]
    #[case::equal("22-22")]
    #[case::words("laat")]
    #[case::too_big("22-26")]
    fn bad_hour_ranges_are_refused_with_a_hint(#[case] query: &str) {
        let err = parse_hours(query).expect_err("invalid");
        assert!(err.0.contains("uren"), "{err}");
    }

    /// Contacts at 23:30 and 01:15 pass 22–02, the edges behave as a half-open range.
    #[rstest]
    #[case::before_start("2026-11-20T20:59:00Z", false)] // 21:59 CET
    #[case::at_start("2026-11-20T21:00:00Z", true)] // 22:00
    #[case::before_midnight("2026-11-20T22:30:00Z", true)] // 23:30
    #[case::after_midnight("2026-11-21T00:15:00Z", true)] // 01:15
    #[case::at_end("2026-11-21T01:00:00Z", false)] // 02:00
    fn hour_filter_22_to_2_on_the_amsterdam_clock(#[case] utc: &str, #[case] passes: bool) {
        let filter = Filter {
            hours: parse_hours("22-2").expect("valid"),
            ..Filter::default()
        };
        let parts = local_parts(utc.parse().expect("timestamp"), &amsterdam());
        assert_eq!(filter.hour_ok(parts.hour), passes, "{parts:?}");
    }

    /// The evening day of a contact after midnight is the day before; a Friday-evening
    /// filter takes Saturday 01:15 and not Friday 05:00 (Thursday night).
    #[test]
    fn after_midnight_belongs_to_the_evening_before() {
        let tz = amsterdam();
        let friday = day_number(Date::constant(2026, 11, 20));
        let late = local_parts("2026-11-21T00:15:00Z".parse().expect("ts"), &tz);
        assert_eq!((late.evening_day, late.hour), (friday, 1));
        let early = local_parts("2026-11-20T04:00:00Z".parse().expect("ts"), &tz);
        assert_eq!((early.evening_day, early.hour), (friday - 1, 5));
        let morning = local_parts("2026-11-20T05:00:00Z".parse().expect("ts"), &tz);
        assert_eq!(morning.evening_day, friday, "06:00 starts a new day");
        let vr = Filter {
            weekdays: parse_weekdays("vr").expect("valid"),
            ..Filter::default()
        };
        assert!(vr.weekday_ok(late.evening_day));
        assert!(!vr.weekday_ok(early.evening_day));
        assert_eq!(weekday_of_day(friday), 4);
    }

    /// Local hours are right on both sides of the daylight-saving switches, including the
    /// hour that happens twice in October; a fixed UTC offset would be an hour off.
    #[rstest]
    #[case::last_winter_evening("2026-03-28T21:30:00Z", 22, "2026-03-28")]
    #[case::first_summer_night("2026-03-29T01:30:00Z", 3, "2026-03-28")] // 02:00 is skipped
    #[case::summer_evening("2026-03-29T20:30:00Z", 22, "2026-03-29")]
    #[case::october_first_two_thirty("2026-10-25T00:30:00Z", 2, "2026-10-24")] // CEST
    #[case::october_second_two_thirty("2026-10-25T01:30:00Z", 2, "2026-10-24")] // CET
    #[case::winter_evening_after_switch("2026-10-25T21:30:00Z", 22, "2026-10-25")]
    fn local_hours_follow_daylight_saving(
        #[case] utc: &str,
        #[case] hour: u8,
        #[case] evening: &str,
    ) {
        let parts = local_parts(utc.parse().expect("timestamp"), &amsterdam());
        assert_eq!(parts.hour, hour);
        assert_eq!(date_of_day(parts.evening_day).to_string(), evening);
    }

    #[test]
    fn day_numbers_round_trip_and_weeks_start_on_monday() {
        for date in [
            Date::constant(1970, 1, 1),
            Date::constant(2026, 11, 22),
            Date::constant(1969, 12, 29),
        ] {
            assert_eq!(date_of_day(day_number(date)), date);
        }
        let sunday = day_number(Date::constant(2026, 11, 22));
        assert_eq!(
            date_of_day(week_start_of_day(sunday)),
            Date::constant(2026, 11, 16)
        );
    }

    #[test]
    fn query_parses_into_masks() {
        let q = FilterQuery {
            res: Some("9".into()),
            measure: Some("contacts".into()),
            from: Some("01-11-2026".into()),
            to: Some("2026-11-30".into()),
            weekdays: Some("vr,za,7".into()),
            hours: Some("22-2".into()),
            bands: Some("6-9,14 ".into()),
            behaviours: Some("nuisance,fireworks".into()),
            past_norm: Some("true".into()),
            brought_home: Some("false".into()),
            ..FilterQuery::default()
        };
        let f = q.parse().expect("valid");
        assert_eq!(f.res, Res::Nine);
        assert_eq!(f.measure, Measure::Contacts);
        assert_eq!(f.period.len_days(), Some(30));
        assert_eq!(f.weekdays, 0b111_0000);
        assert_eq!(f.bands, 0b1_0010);
        assert_eq!(
            f.behaviours,
            behaviour_bit(&Behaviour::Nuisance) | behaviour_bit(&Behaviour::Fireworks)
        );
        assert!(f.past_norm_only && !f.brought_home_only);
        assert_eq!(f.before, None);
    }

    #[rstest]
    #[case::res(FilterQuery { res: Some("8".into()), ..Default::default() }, "resolutie")]
    #[case::measure(FilterQuery { measure: Some("x".into()), ..Default::default() }, "maat")]
    #[case::date(FilterQuery { from: Some("gisteren".into()), ..Default::default() }, "begindatum")]
    #[case::reversed(FilterQuery { from: Some("2026-11-02".into()), to: Some("2026-11-01".into()), ..Default::default() }, "wissel")]
    #[case::weekday(FilterQuery { weekdays: Some("mo,xx".into()), ..Default::default() }, "weekdag")]
    #[case::band(FilterQuery { bands: Some("4-6".into()), ..Default::default() }, "leeftijdsklasse")]
    #[case::behaviour(FilterQuery { behaviours: Some("x".into()), ..Default::default() }, "gedrag")]
    #[case::flag(FilterQuery { past_norm: Some("misschien".into()), ..Default::default() }, "past_norm")]
    fn bad_queries_say_what_is_wrong(#[case] q: FilterQuery, #[case] mentions: &str) {
        let err = q.parse().expect_err("invalid");
        assert!(err.0.contains(mentions), "{err}");
    }

    #[test]
    fn value_applies_bands_behaviours_and_flags() {
        let counts = [0, 2, 1, 0, 3];
        let nuisance = behaviour_bit(&Behaviour::Nuisance);
        let all = Filter::default();
        assert_eq!(all.value(&counts, nuisance, 0), Some(6));
        let young = Filter {
            bands: parse_bands("0-5,6-9").expect("valid"),
            ..Filter::default()
        };
        assert_eq!(young.value(&counts, 0, 0), Some(2));
        let toddlers = Filter {
            bands: parse_bands("0-5").expect("valid"),
            ..Filter::default()
        };
        assert_eq!(toddlers.value(&counts, 0, 0), None, "no child in the band");
        let contacts = Filter {
            measure: Measure::Contacts,
            ..young.clone()
        };
        assert_eq!(contacts.value(&counts, 0, 0), Some(1));
        let vandalism = Filter {
            behaviours: parse_behaviours("vandalism").expect("valid"),
            ..Filter::default()
        };
        assert_eq!(vandalism.value(&counts, nuisance, 0), None);
        let late = Filter {
            past_norm_only: true,
            brought_home_only: true,
            ..Filter::default()
        };
        assert_eq!(late.value(&counts, 0, flags::PAST_NORM), None);
        assert_eq!(
            late.value(&counts, 0, flags::PAST_NORM | flags::BROUGHT_HOME),
            Some(6)
        );
        assert_eq!(all.value(&counts, 0, flags::GONE), None);
    }

    #[test]
    fn behaviour_masks_read_stored_json() {
        let mask = behaviour_mask_of_json(r#"["hanging_around","nuisance","from_the_future"]"#);
        assert_eq!(
            mask,
            behaviour_bit(&Behaviour::HangingAround) | behaviour_bit(&Behaviour::Nuisance) | 0x80
        );
        assert_eq!(behaviour_mask_of_json("[]"), 0);
    }
}

//! The gemeente's rules, changed by an admin: buitenspeelnormen, area rules (such as a
//! burgemeestersbevel, art. 172b Gemeentewet) and wijken from a GeoJSON file. The web
//! admin (`/beheer/normen`, `/beheer/gebiedsregels`, `/beheer/wijken`) calls these; each
//! validates with the shared norm engine, applies all-or-nothing, writes the audit log in
//! the same transaction and bumps the gemeente's config version, so phones get the change
//! with their next pull. An area rule that was in force is never rewritten: a correction
//! ends it and adds a new version ([`change_area_rule`]). Errors are Dutch, for the admin. What is kept and how lives in
//! [`crate::store::rules`] and [`crate::store::setup`].

use avondronde_shared::area::{Place, is_wijk_code};
use avondronde_shared::norms::{AreaRule, AreaRuleWarning, DailyWindow, NormSet};
use avondronde_shared::{AreaRuleId, GemeenteId, WijkId};
use geo::{Intersects, MultiPolygon, Point};
use jiff::Timestamp;
use jiff::civil::{Date, Time};

use crate::admin::{Caller, record as record_event};
use crate::audit::Action;
use crate::db::DbError;
use crate::state::bump_config;
use crate::store::atomically;
use crate::store::{self, Tx};

/// Why a change was refused. The messages are Dutch, for the admin.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The input is wrong; the message says how to put it right.
    #[error("{0}")]
    Invalid(String),
    /// No such rule, or not in the caller's gemeente (indistinguishable).
    #[error("niet gevonden (of niet in uw gemeente)")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::admin::AdminError> for RulesError {
    fn from(e: crate::admin::AdminError) -> Self {
        match e {
            crate::admin::AdminError::Db(e) => RulesError::Db(e),
            crate::admin::AdminError::NotFound => RulesError::NotFound,
            other => RulesError::Invalid(other.to_string()),
        }
    }
}

/// Parses a time of day as the admin types it, `uu:mm` from 00:00 to 23:59; `uu.mm`, the
/// usual Dutch way of writing it (21.00), is read the same.
pub fn parse_time(field: &str, text: &str) -> Result<Time, RulesError> {
    let t = text.trim();
    let bad = || {
        RulesError::Invalid(format!(
            "{field}: „{t}” is geen geldige tijd. Gebruik uu:mm tussen 00:00 en 23:59, bijvoorbeeld 21:00."
        ))
    };
    let (h, m) = t
        .split_once(':')
        .or_else(|| t.split_once('.'))
        .ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// Parses a date as the admin types it, `dd-mm-jjjj`.
pub fn parse_date(field: &str, text: &str) -> Result<Date, RulesError> {
    let t = text.trim();
    let bad = || {
        RulesError::Invalid(format!(
            "{field}: „{t}” is geen geldige datum. Gebruik dd-mm-jjjj, bijvoorbeeld 01-12-2026."
        ))
    };
    let parts: Vec<&str> = t.split('-').collect();
    let [d, m, y] = parts.as_slice() else {
        return Err(bad());
    };
    if d.len() != 2 || m.len() != 2 || y.len() != 4 {
        return Err(bad());
    }
    let (d, m, y): (i8, i8, i16) = (
        d.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        y.parse().map_err(|_| bad())?,
    );
    Date::new(y, m, d).map_err(|_| bad())
}

/// `dd-mm-jjjj`.
pub fn date_nl(d: Date) -> String {
    format!("{:02}-{:02}-{:04}", d.day(), d.month(), d.year())
}

/// `uu:mm`.
pub fn time_nl(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// Checks a norm set with the shared norm engine, returning every problem in one message.
pub fn check_norms(norms: &NormSet) -> Result<(), RulesError> {
    norms.validate().map_err(|errors| {
        RulesError::Invalid(
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        )
    })
}

/// Replaces the gemeente's buitenspeelnormen (area rules stay as they are).
pub fn set_norms(tx: &Tx, caller: &Caller, norms: &NormSet) -> Result<(), RulesError> {
    check_norms(norms)?;
    let gemeente = scope(caller)?;
    atomically(tx, || {
        let changed = store::rules::set_norms(tx, gemeente, norms)?;
        if changed == 0 {
            return Err(RulesError::NotFound);
        }
        bump_config(tx, gemeente)?;
        let t = |t: Option<Time>| t.map_or("geen".to_owned(), time_nl);
        record_event(
            tx,
            caller,
            gemeente,
            Action::Norms,
            format!(
                "0-5 {}, 6-9 {}, 10-13 {}, einde nacht {}",
                t(norms.under6),
                t(norms.age6_9),
                t(norms.age10_13),
                time_nl(norms.night_end)
            ),
        )?;
        Ok(())
    })
}

fn scope(caller: &Caller) -> Result<GemeenteId, RulesError> {
    caller.scope.ok_or_else(|| {
        RulesError::Invalid("kies een gemeente: deze wijziging geldt voor één gemeente".into())
    })
}

/// Checks an area rule for the web: the shared checks, and the three-month limit of
/// art. 172b Gemeentewet as a refusal (the command line only warns). Returns the
/// remaining warnings.
pub fn check_area_rule(rule: &AreaRule) -> Result<Vec<AreaRuleWarning>, RulesError> {
    let warnings = rule
        .warnings()
        .map_err(|e| RulesError::Invalid(e.to_string()))?;
    if rule.name.trim().is_empty() || rule.name.chars().count() > 100 {
        return Err(RulesError::Invalid(
            "Geef de regel een naam van 1 tot 100 tekens, bijvoorbeeld „Burgemeestersbevel Bospolder”."
                .into(),
        ));
    }
    let ring = rule.area.0.first().map_or(0, |p| p.exterior().0.len());
    if ring < 4 {
        return Err(RulesError::Invalid(
            "Teken het gebied op de kaart: klik minstens drie hoekpunten aan.".into(),
        ));
    }
    if warnings
        .iter()
        .any(|w| matches!(w, AreaRuleWarning::LongerThanThreeMonths { .. }))
    {
        return Err(RulesError::Invalid(format!(
            "Een burgemeestersbevel geldt ten hoogste drie maanden (art. 172b Gemeentewet): van {} mag de regel tot en met {} gelden. Kort de geldigheid in.",
            date_nl(rule.valid_from),
            date_nl(last_allowed_day(rule.valid_from)),
        )));
    }
    Ok(warnings)
}

/// The last day a rule starting on `from` may still be valid (three months, exclusive).
pub fn last_allowed_day(from: Date) -> Date {
    from.checked_add(jiff::Span::new().months(AreaRule::MAX_VALIDITY_MONTHS))
        .and_then(|d| d.yesterday())
        .unwrap_or(from)
}

/// Stores a new area rule for the caller's gemeente.
pub fn add_area_rule(
    tx: &Tx,
    caller: &Caller,
    rule: &AreaRule,
) -> Result<Vec<AreaRuleWarning>, RulesError> {
    let gemeente = scope(caller)?;
    if rule.gemeente != gemeente {
        return Err(RulesError::NotFound);
    }
    let warnings = check_area_rule(rule)?;
    atomically(tx, || {
        crate::setup::add_area_rule(tx, rule).map_err(|e| match e {
            crate::setup::SetupError::Db(e) => RulesError::Db(e),
            other => RulesError::Invalid(other.to_string()),
        })?;
        record_event(
            tx,
            caller,
            gemeente,
            Action::AreaRule,
            format!(
                "toegevoegd: {} ({}, {} t/m {})",
                rule.id,
                rule.window.label_nl(),
                date_nl(rule.valid_from),
                date_nl(rule.valid_until)
            ),
        )?;
        Ok::<(), RulesError>(())
    })?;
    Ok(warnings)
}

/// The first date whose evening a correction of a rule may still change: the date on
/// which the rule's window that is open now opened (a correction at 01:00 applies to the
/// night in progress), else today. Evenings before it stay judged as they were.
pub fn change_takes_effect(window: &DailyWindow, now: Timestamp) -> Date {
    let local = avondronde_shared::time::amsterdam_ref().to_datetime(now);
    if window.contains(local.time()) && local.time() < window.start {
        local.date().yesterday().unwrap_or(local.date())
    } else {
        local.date()
    }
}

/// A stored area rule of the gemeente that may still be changed or ended, with the first
/// date whose evening that takes effect on ([`change_takes_effect`]). A rule whose last
/// evening has passed stays as it was: it is refused with `expired`'s message, given its
/// last day in Dutch.
fn changeable_rule(
    tx: &Tx,
    gemeente: GemeenteId,
    id: AreaRuleId,
    now: Timestamp,
    expired: impl FnOnce(&str) -> String,
) -> Result<(AreaRule, Date), RulesError> {
    let rule = store::config::area_rules(tx, gemeente)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(RulesError::NotFound)?;
    let effective = change_takes_effect(&rule.window, now);
    if rule.valid_until < effective {
        return Err(RulesError::Invalid(expired(&date_nl(rule.valid_until))));
    }
    Ok((rule, effective))
}

/// What a correction of an area rule did.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleChange {
    /// Nothing differed from the stored rule; nothing was stored.
    Unchanged,
    /// The rule had not taken effect yet: it was corrected under its own id.
    Corrected(AreaRule),
    /// The rule was in force: the stored version now ends the day before `rule.valid_from`
    /// and the correction is a new version (a new id) from that day.
    NewVersion {
        /// The new version, as stored.
        rule: AreaRule,
        /// The last day of the previous version.
        previous_until: Date,
    },
}

/// The fields of `new` that differ from `old`, in the admin's words.
fn changed_fields(old: &AreaRule, new: &AreaRule) -> Vec<&'static str> {
    [
        (old.name != new.name, "naam"),
        (old.area != new.area, "gebied"),
        (old.window != new.window, "tijden"),
        (old.valid_from != new.valid_from, "begindatum"),
        (old.valid_until != new.valid_until, "einddatum"),
        (old.bands != new.bands, "leeftijden"),
        (old.effect != new.effect, "betekenis"),
    ]
    .into_iter()
    .filter_map(|(changed, what)| changed.then_some(what))
    .collect()
}

/// Corrects an area rule of the caller's gemeente with the fields of `edited` (its id is
/// ignored). Phones apply a rule offline and judge each contact against the rules in force
/// at its time, so a rule that was in force is never rewritten: its stored version keeps
/// everything up to the day before the correction takes effect
/// ([`change_takes_effect`]), and the correction becomes a new version with a new id from
/// that day. A rule that has not taken effect yet is corrected in place. The three-month
/// limit of art. 172b counts from the date the admin typed (the rule's first day), so a
/// correction cannot stretch a burgemeestersbevel. The audit line names the rule by id
/// (the audit page shows its name) and says which fields changed.
pub fn change_area_rule(
    tx: &Tx,
    caller: &Caller,
    id: AreaRuleId,
    edited: &AreaRule,
    now: Timestamp,
) -> Result<(RuleChange, Vec<AreaRuleWarning>), RulesError> {
    let gemeente = scope(caller)?;
    if edited.gemeente != gemeente {
        return Err(RulesError::NotFound);
    }
    let (old, effective) = changeable_rule(tx, gemeente, id, now, |last| {
        format!(
            "Deze regel gold tot en met {last} en is verlopen; wat voorbij is blijft zoals het was. Maak zo nodig een nieuwe regel."
        )
    })?;
    let warnings = check_area_rule(edited)?;
    let mut new = AreaRule {
        id: old.id,
        gemeente,
        ..edited.clone()
    };
    let changed = changed_fields(&old, &new);
    if changed.is_empty() {
        return Ok((RuleChange::Unchanged, warnings));
    }
    if new.valid_from != old.valid_from && new.valid_from < effective {
        return Err(RulesError::Invalid(format!(
            "Geldig van: een regel kan niet met terugwerkende kracht gaan gelden. Kies {} of later, of laat de begindatum {} staan.",
            date_nl(effective),
            date_nl(old.valid_from)
        )));
    }
    if new.valid_until < effective {
        return Err(RulesError::Invalid(format!(
            "Geldig tot en met: {} is al voorbij. Kies {} of later; om de regel nu te stoppen gebruikt u „Beëindigen”.",
            date_nl(new.valid_until),
            date_nl(effective)
        )));
    }
    let started = old.valid_from < effective;
    let result = atomically(tx, || {
        let result = if started {
            let previous_until = effective
                .yesterday()
                .map_err(|_| RulesError::Invalid("Deze datum kan niet worden verwerkt.".into()))?;
            let ended = AreaRule {
                valid_until: previous_until,
                ..old.clone()
            };
            if store::rules::update_area_rule(tx, &ended)? == 0 {
                return Err(RulesError::NotFound);
            }
            new.id = AreaRuleId::new();
            new.valid_from = new.valid_from.max(effective);
            store::rules::insert_area_rule(tx, &new)?;
            RuleChange::NewVersion {
                rule: new.clone(),
                previous_until,
            }
        } else {
            if store::rules::update_area_rule(tx, &new)? == 0 {
                return Err(RulesError::NotFound);
            }
            RuleChange::Corrected(new.clone())
        };
        bump_config(tx, gemeente)?;
        let previous = match &result {
            RuleChange::NewVersion { previous_until, .. } => {
                format!("; vorige versie gold t/m {}", date_nl(*previous_until))
            }
            _ => String::new(),
        };
        record_event(
            tx,
            caller,
            gemeente,
            Action::AreaRule,
            format!(
                "gewijzigd: {} ({}, {} t/m {}; {}{previous})",
                new.id,
                new.window.label_nl(),
                date_nl(new.valid_from),
                date_nl(new.valid_until),
                changed.join(", "),
            ),
        )?;
        Ok(result)
    })?;
    Ok((result, warnings))
}

/// The gemeente's area rules, newest validity first.
pub fn list_area_rules(tx: &Tx, caller: &Caller) -> Result<Vec<AreaRule>, RulesError> {
    let gemeente = scope(caller)?;
    let mut rules = store::config::area_rules(tx, gemeente)?;
    rules.sort_by_key(|r| std::cmp::Reverse(r.valid_from));
    Ok(rules)
}

/// What ending an area rule did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleEnd {
    /// The rule had not taken effect yet: it is gone.
    Removed,
    /// The rule was in force: it is kept, now ending on this date (the day before the
    /// evening on which the end takes effect), so contacts of its evenings are still judged
    /// by it.
    EndedOn(Date),
}

/// Ends an area rule: phones stop applying it with their next pull. Like a correction
/// ([`change_area_rule`]), ending leaves a rule's past as it was: a rule that was in force
/// is kept with its last day set to the day before the end takes effect
/// ([`change_takes_effect`]), so a phone that still holds contacts of its evenings judges
/// them by it; a rule that has not taken effect yet is removed. A rule whose last evening
/// has passed cannot be ended again. The audit log keeps what it was.
pub fn end_area_rule(
    tx: &Tx,
    caller: &Caller,
    id: AreaRuleId,
    now: Timestamp,
) -> Result<RuleEnd, RulesError> {
    let gemeente = scope(caller)?;
    let (old, effective) = changeable_rule(tx, gemeente, id, now, |last| {
        format!("Deze regel gold tot en met {last} en is al verlopen; er is niets te beëindigen.")
    })?;
    atomically(tx, || {
        let (end, audit) = if old.valid_from < effective {
            let last = effective
                .yesterday()
                .map_err(|_| RulesError::Invalid("Deze datum kan niet worden verwerkt.".into()))?;
            let ended = AreaRule {
                valid_until: last,
                ..old.clone()
            };
            if store::rules::update_area_rule(tx, &ended)? == 0 {
                return Err(RulesError::NotFound);
            }
            (
                RuleEnd::EndedOn(last),
                format!("beëindigd: {id} (gold t/m {})", date_nl(last)),
            )
        } else {
            if store::rules::delete_area_rule(tx, id, gemeente)? == 0 {
                return Err(RulesError::NotFound);
            }
            (
                RuleEnd::Removed,
                format!("beëindigd: {id} (was nog niet in werking)"),
            )
        };
        bump_config(tx, gemeente)?;
        record_event(tx, caller, gemeente, Action::AreaRule, audit)?;
        Ok(end)
    })
}

/// The gemeente's hangplekken (named places).
pub fn places(tx: &Tx, caller: &Caller) -> Result<Vec<Place>, RulesError> {
    let gemeente = scope(caller)?;
    Ok(store::config::places(tx, gemeente)?)
}

/// The names of the hangplekken that lie in an area (boundary included).
pub fn covered_places<'a>(area: &MultiPolygon<f64>, places: &'a [Place]) -> Vec<&'a Place> {
    places
        .iter()
        .filter(|p| area.intersects(&Point::new(p.lon, p.lat)))
        .collect()
}

/// One wijk read from a GeoJSON file, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedWijk {
    /// CBS code, WK and six digits.
    pub code: String,
    /// Name.
    pub name: String,
    /// Boundary in WGS84.
    pub boundary: MultiPolygon<f64>,
}

/// Reads wijken from a GeoJSON FeatureCollection as CBS publishes it: the code in
/// `wijkcode`, `WK_CODE`, `statcode` or `code`, the name in `wijknaam`, `WK_NAAM`,
/// `statnaam` or `name`, a Polygon or MultiPolygon in WGS84, or in RD New (EPSG:28992),
/// which is reprojected: the CBS publishes its wijk boundaries in RD New, and a GeoJSON
/// exported from its GeoPackage keeps that CRS.
pub fn parse_wijken(text: &str) -> Result<Vec<ParsedWijk>, RulesError> {
    if text.trim().is_empty() {
        return Err(RulesError::Invalid(
            "Het bestand is leeg. Kies een GeoJSON-bestand met wijken.".into(),
        ));
    }
    let gj: geojson::GeoJson = text.parse().map_err(|_| {
        RulesError::Invalid(
            "Dit is geen geldig GeoJSON-bestand (de JSON is onleesbaar). Kies het wijkenbestand van het CBS of PDOK als GeoJSON.".into(),
        )
    })?;
    let fc: geojson::FeatureCollection = gj.try_into().map_err(|_| {
        RulesError::Invalid(
            "Het bestand moet een GeoJSON FeatureCollection zijn, met per wijk één feature.".into(),
        )
    })?;
    let crs = fc
        .foreign_members
        .as_ref()
        .and_then(|m| m.get("crs"))
        .map(|c| c.to_string())
        .unwrap_or_default();
    let declared_rd = crs.contains("28992");
    if fc.features.is_empty() {
        return Err(RulesError::Invalid(
            "Het bestand bevat geen wijken (geen features).".into(),
        ));
    }
    let mut out: Vec<ParsedWijk> = Vec::new();
    for (i, f) in fc.features.iter().enumerate() {
        let n = i + 1;
        let prop = |keys: &[&str]| {
            keys.iter().find_map(|k| {
                f.property(k)
                    .and_then(|v| v.as_str())
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
            })
        };
        let code = prop(&["wijkcode", "WK_CODE", "statcode", "code"]).ok_or_else(|| {
            RulesError::Invalid(format!(
                "Wijk {n} heeft geen wijkcode (eigenschap wijkcode of WK_CODE)."
            ))
        })?;
        if !is_wijk_code(&code) {
            return Err(RulesError::Invalid(format!(
                "Wijk {n}: „{code}” is geen CBS-wijkcode (WK en zes cijfers, bijvoorbeeld WK059903)."
            )));
        }
        if out.iter().any(|w| w.code == code) {
            return Err(RulesError::Invalid(format!(
                "Wijkcode {code} staat twee keer in het bestand."
            )));
        }
        let name =
            prop(&["wijknaam", "WK_NAAM", "statnaam", "name"]).unwrap_or_else(|| code.clone());
        let not_polygon = || {
            RulesError::Invalid(format!(
                "Wijk {n} ({code}) is geen vlak: elke wijk moet een Polygon of MultiPolygon zijn. Niets is opgeslagen."
            ))
        };
        let geometry = f.geometry.clone().ok_or_else(not_polygon)?;
        let boundary = match geo::Geometry::<f64>::try_from(geometry) {
            Ok(geo::Geometry::Polygon(p)) => MultiPolygon(vec![p]),
            Ok(geo::Geometry::MultiPolygon(mp)) => mp,
            _ => return Err(not_polygon()),
        };
        let coords = || {
            boundary
                .0
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .flat_map(|r| r.coords())
        };
        // RD New: declared in the file (as ogr2ogr writes it from the CBS GeoPackage), or
        // coordinates in metres inside the RD grid, which no WGS84 file can have.
        let looks_rd = coords().all(|c| {
            (-7_000.0..=300_000.0).contains(&c.x) && (289_000.0..=629_000.0).contains(&c.y)
        });
        let boundary = if declared_rd || looks_rd {
            reproject_rd(&boundary).ok_or_else(|| {
                RulesError::Invalid(format!(
                    "Wijk {n} ({code}): de RD New-coördinaten (EPSG:28992) zijn niet om te rekenen. Exporteer het bestand in WGS84 (EPSG:4326)."
                ))
            })?
        } else {
            boundary
        };
        let in_wgs84 = boundary
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.coords())
            .all(|c| c.x.is_finite() && c.y.is_finite() && c.x.abs() <= 180.0 && c.y.abs() <= 90.0);
        if !in_wgs84 || boundary.0.is_empty() {
            return Err(RulesError::Invalid(format!(
                "Wijk {n} ({code}) heeft coördinaten die geen WGS84 (lengte- en breedtegraden) en geen RD New (EPSG:28992) zijn. Exporteer het bestand in WGS84 (EPSG:4326)."
            )));
        }
        out.push(ParsedWijk {
            code,
            name,
            boundary,
        });
    }
    Ok(out)
}

/// Reprojects a boundary from RD New (EPSG:28992) to WGS84; `None` if a point fails.
fn reproject_rd(boundary: &MultiPolygon<f64>) -> Option<MultiPolygon<f64>> {
    use geo::MapCoords;
    boundary
        .try_map_coords(|c| {
            crate::hotspot::export::from_rd(c.x, c.y)
                .map(|(x, y)| geo::Coord { x, y })
                .ok_or(())
        })
        .ok()
}

/// Stores parsed wijken in the caller's gemeente in one transaction: a new code is added,
/// a known code of this gemeente gets the new name and boundary (its contacts, places and
/// coordinators stay with it). A code that belongs to another gemeente refuses the whole
/// file. Returns (added, updated).
pub fn import_wijken(
    tx: &Tx,
    caller: &Caller,
    wijken: &[ParsedWijk],
) -> Result<(usize, usize), RulesError> {
    let gemeente = scope(caller)?;
    if wijken.is_empty() {
        return Err(RulesError::Invalid(
            "Het bestand bevat geen wijken (geen features).".into(),
        ));
    }
    atomically(tx, || {
        let (mut added, mut updated) = (0, 0);
        for w in wijken {
            match store::setup::wijk_by_code(tx, &w.code)? {
                Some((id, g)) if g == gemeente => {
                    store::setup::update_wijk(tx, id, &w.name, &w.boundary)?;
                    updated += 1;
                }
                Some(_) => {
                    return Err(RulesError::Invalid(format!(
                        "Wijkcode {} hoort bij een andere gemeente. Niets is opgeslagen.",
                        w.code
                    )));
                }
                None => {
                    store::setup::insert_wijk(
                        tx,
                        WijkId::new(),
                        gemeente,
                        &w.code,
                        &w.name,
                        &w.boundary,
                    )?;
                    added += 1;
                }
            }
        }
        bump_config(tx, gemeente)?;
        record_event(
            tx,
            caller,
            gemeente,
            Action::Wijken,
            format!(
                "{added} toegevoegd, {updated} bijgewerkt: {}",
                wijken
                    .iter()
                    .map(|w| w.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )?;
        Ok((added, updated))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_uu_mm_or_uu_dot_mm_and_25_00_is_refused_in_dutch() {
        for good in ["21:30", "21.30", " 21.30 "] {
            assert_eq!(
                parse_time("x", good).expect(good),
                Time::constant(21, 30, 0, 0)
            );
        }
        for bad in [
            "25:00", "21:60", "2100", "9:00", "", "21:00:00", "aa:bb", "21.3", "21,30",
        ] {
            let e = parse_time("Norm 6–9 jaar", bad).expect_err(bad).to_string();
            assert!(e.contains("geen geldige tijd"), "{bad}: {e}");
        }
    }

    #[rstest::rstest]
    #[case::night_in_progress_after_midnight("2026-12-06T03:00:00+01:00", "2026-12-05")]
    #[case::afternoon("2026-12-06T12:00:00+01:00", "2026-12-06")]
    #[case::evening_in_progress("2026-12-06T21:00:00+01:00", "2026-12-06")]
    #[case::just_after_the_night("2026-12-06T06:00:00+01:00", "2026-12-06")]
    fn a_correction_takes_effect_from_the_evening_in_progress_or_today(
        #[case] now: &str,
        #[case] from: &str,
    ) {
        let window = DailyWindow {
            start: Time::constant(20, 0, 0, 0),
            end: Time::constant(6, 0, 0, 0),
        };
        let now: Timestamp = now.parse().expect("timestamp");
        assert_eq!(
            change_takes_effect(&window, now),
            from.parse::<Date>().expect("date")
        );
    }

    #[test]
    fn dates_are_dd_mm_jjjj() {
        assert_eq!(
            parse_date("x", "01-12-2026").expect("ok"),
            Date::constant(2026, 12, 1)
        );
        for bad in ["2026-12-01", "31-02-2026", "1-12-2026", "", "01/12/2026"] {
            assert!(parse_date("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cbs_property_names_and_non_polygons_and_rd_new() {
        let fc = |props: &str, geom: &str, extra: &str| {
            format!(
                r#"{{"type":"FeatureCollection",{extra}"features":[{{"type":"Feature","properties":{props},"geometry":{geom}}}]}}"#
            )
        };
        let square =
            r#"{"type":"Polygon","coordinates":[[[4.4,51.9],[4.5,51.9],[4.5,52.0],[4.4,51.9]]]}"#;
        let ok = parse_wijken(&fc(
            r#"{"WK_CODE":"WK059903","WK_NAAM":"Delfshaven"}"#,
            square,
            "",
        ))
        .expect("CBS names");
        assert_eq!(ok[0].name, "Delfshaven");
        let point = r#"{"type":"Point","coordinates":[4.4,51.9]}"#;
        let e = parse_wijken(&fc(r#"{"wijkcode":"WK059903"}"#, point, "")).expect_err("point");
        assert!(e.to_string().contains("geen vlak"), "{e}");
        // RD New, declared as ogr2ogr writes it, or recognised from metres in the RD grid:
        // reprojected to WGS84 around Rotterdam-West.
        let rd = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::28992"}},"#;
        let big = r#"{"type":"Polygon","coordinates":[[[92000,437000],[93000,437000],[93000,438000],[92000,437000]]]}"#;
        for extra in [rd, ""] {
            let w = parse_wijken(&fc(r#"{"wijkcode":"WK059903"}"#, big, extra)).expect("rd new");
            let c = w[0].boundary.0[0].exterior().0[0];
            assert!(
                (4.40..4.48).contains(&c.x) && (51.88..51.94).contains(&c.y),
                "{c:?}"
            );
        }
        let nowhere = r#"{"type":"Polygon","coordinates":[[[900000,437000],[903000,437000],[903000,438000],[900000,437000]]]}"#;
        let e = parse_wijken(&fc(r#"{"wijkcode":"WK059903"}"#, nowhere, "")).expect_err("metres");
        assert!(e.to_string().contains("WGS84"), "{e}");
        assert!(parse_wijken("").is_err());
        assert!(parse_wijken("{niet json").is_err());
        assert!(parse_wijken(r#"{"type":"FeatureCollection","features":[]}"#).is_err());
    }
}

//! The audit log in the words of the pages where things happen: a stored entry's action
//! code and detail (ids, codes and counts, exactly as the hash chain covers them) become a
//! Dutch label and a Dutch line at display time, with usernames, wijk names and area-rule
//! names instead of UUIDs where the viewer may see them. The stored row is never
//! rewritten, so every existing chain stays verifiable, and no name or personal data is
//! added to the log itself (a rule's name could name a child, so it is looked up from the
//! live rules, for the admin only, and never stored).
//!
//! A map view of the hotspot map is kept apart from a real file export: both are stored as
//! `export` (the chain of old rows fixes that code), but the detail says which answer left
//! the server, so a view reads as "kaart bekeken" and a CSV or GeoJSON download as
//! "export (CSV)" or "export (GeoJSON)".

use std::collections::HashMap;

use avondronde_shared::care::CareStatus;
use avondronde_shared::{GemeenteId, Role};

use super::Action;
use crate::db::DbError;
use crate::meldpunt::inbox::KnownTo;
use crate::store::{self, Tx};

/// What the audit page may name instead of an id, for one viewer.
#[derive(Debug, Default, Clone)]
pub struct Names {
    /// User id → username.
    users: HashMap<String, String>,
    /// Device id → (its user's username, the label the phone gave).
    devices: HashMap<String, (String, String)>,
    /// Wijk id and CBS code → wijk name.
    wijken: HashMap<String, String>,
    /// Area rule id → name (only for the admin, who manages the rules).
    rules: HashMap<String, String>,
}

impl Names {
    /// The names of a gemeente's users, phones and wijken, and, for the admin, its area
    /// rules.
    pub fn load(tx: &Tx, gemeente: GemeenteId, viewer: Role) -> Result<Names, DbError> {
        let mut names = Names::default();
        for u in store::accounts::users_of_gemeente(tx, gemeente)? {
            names.users.insert(u.id.to_string(), u.username);
        }
        for d in store::devices::of_gemeente(tx, gemeente)? {
            names
                .devices
                .insert(d.id.to_string(), (d.username, d.label));
        }
        for w in store::config::wijken(tx, gemeente)? {
            names.wijken.insert(w.id.to_string(), w.name.clone());
            names.wijken.insert(w.code, w.name);
        }
        if viewer == Role::Admin {
            for r in store::config::area_rules(tx, gemeente)? {
                names.rules.insert(r.id.to_string(), r.name);
            }
        }
        Ok(names)
    }

    #[cfg(test)]
    fn with(
        users: &[(&str, &str)],
        wijken: &[(&str, &str)],
        rules: &[(&str, &str)],
        devices: &[(&str, &str, &str)],
    ) -> Names {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        Names {
            users: map(users),
            wijken: map(wijken),
            rules: map(rules),
            devices: devices
                .iter()
                .map(|(k, u, l)| ((*k).to_owned(), ((*u).to_owned(), (*l).to_owned())))
                .collect(),
        }
    }

    fn user(&self, id: &str) -> String {
        self.users
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("gebruiker …{}", short(id)))
    }

    fn wijk(&self, id_or_code: &str) -> String {
        self.wijken
            .get(id_or_code)
            .cloned()
            .unwrap_or_else(|| id_or_code.to_owned())
    }
}

/// An entry as the audit page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// What happened, in the page's words.
    pub action: String,
    /// The details, in Dutch.
    pub detail: String,
}

/// The random tail of a UUIDv7 (its head is the time, alike for ids made together).
fn short(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}

/// "1 sessie", "2 sessies".
fn count(n: &str, one: &str, many: &str) -> String {
    format!("{n} {}", if n == "1" { one } else { many })
}

/// A stored entry in Dutch for the audit page.
pub fn describe(action: &str, detail: &str, names: &Names) -> Shown {
    let Some(a) = Action::from_code(action) else {
        return Shown {
            action: action.to_owned(),
            detail: detail.to_owned(),
        };
    };
    let label = a.label_nl().to_owned();
    let shown = |action: String, detail: String| Shown { action, detail };
    match a {
        Action::Export => export(detail, names),
        Action::Update => shown(label, update(detail)),
        Action::UserAdd => match split_user(detail) {
            Some((id, rest)) => {
                let code = rest.trim_start_matches(": ");
                let role =
                    Role::from_code(code).map_or(code.to_owned(), |r| r.label_nl().to_owned());
                shown(label, format!("{} als {role}", names.user(id)))
            }
            None => shown(label, detail.to_owned()),
        },
        Action::UserDisable | Action::SessionsEnd => match split_user(detail) {
            Some((id, rest)) => shown(
                label,
                format!("{}{}", names.user(id), counts(rest.trim_start_matches(':'))),
            ),
            None => shown(label, detail.to_owned()),
        },
        Action::EnrolmentCode | Action::PasswordReset | Action::MfaReset | Action::UserEnable => {
            match split_user(detail) {
                Some((id, rest)) => shown(label, format!("{}{rest}", names.user(id))),
                None => shown(label, detail.to_owned()),
            }
        }
        Action::DeviceRevoke => {
            let id = detail.strip_prefix("toestel ").unwrap_or(detail);
            let text = match names.devices.get(id) {
                Some((user, phone)) => format!("telefoon van {user} ({phone})"),
                None => format!("telefoon …{}", short(id)),
            };
            shown(label, text)
        }
        Action::AreaRule => area_rule(detail, names),
        Action::WijkAssignment => {
            let text = match detail.split_once(": ") {
                Some((user, "geen wijken")) => format!("{user}: geen wijken"),
                Some((user, codes)) => format!("{user}: {}", wijk_list(codes, names)),
                None => detail.to_owned(),
            };
            shown(label, text)
        }
        Action::Wijken => {
            let text = match detail.split_once(": ") {
                Some((head, codes)) => format!("{head}: {}", wijk_list(codes, names)),
                None => detail.to_owned(),
            };
            shown(label, text)
        }
        Action::RetentionSettings if detail.starts_with("telefoons:") => shown(
            "telefooninstellingen gewijzigd".to_owned(),
            detail
                .trim_start_matches("telefoons:")
                .trim_start()
                .to_owned(),
        ),
        _ => shown(label, detail.to_owned()),
    }
}

/// `gebruiker <uuid>…` → (uuid, the rest).
fn split_user(detail: &str) -> Option<(&str, &str)> {
    let rest = detail.strip_prefix("gebruiker ")?;
    let end = rest.find(':').unwrap_or(rest.len());
    Some((&rest[..end], &rest[end..]))
}

/// ` 2 sessies beëindigd, 1 toestellen ingetrokken` → `: 2 sessies beëindigd, 1 telefoon
/// ingetrokken` (the counts in the singular or plural, in the page's words).
fn counts(rest: &str) -> String {
    let parts: Vec<String> = rest
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut words = p.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some(n), Some("sessies"), Some(rest)) => {
                    format!("{} {rest}", count(n, "sessie", "sessies"))
                }
                (Some(n), Some("toestellen"), Some(rest)) => {
                    format!("{} {rest}", count(n, "telefoon", "telefoons"))
                }
                _ => p.to_owned(),
            }
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join(", "))
    }
}

fn wijk_list(codes: &str, names: &Names) -> String {
    codes
        .split(", ")
        .map(|c| names.wijk(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `status: received → visit_planned; bekend bij: – → bjz` in the meldpunt page's words.
fn update(detail: &str) -> String {
    detail
        .split("; ")
        .map(|part| {
            let change = |field: &str, label: &dyn Fn(&str) -> String| -> Option<String> {
                let (from, to) = part.strip_prefix(field)?.split_once(" → ")?;
                Some(format!("{field}{} → {}", label(from), label(to)))
            };
            let status = |c: &str| CareStatus::from(c.to_owned()).label_nl().to_owned();
            let known = |c: &str| {
                KnownTo::from_code(c).map_or_else(|| c.to_owned(), |k| k.label_nl().to_owned())
            };
            change("status: ", &status)
                .or_else(|| change("bekend bij: ", &known))
                .unwrap_or_else(|| part.to_owned())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// An area rule's entry, with its name where the viewer may see it.
fn area_rule(detail: &str, names: &Names) -> Shown {
    let named = |verb: &str, rest: &str| {
        let (id, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        let name = match names.rules.get(id) {
            Some(n) => format!("\u{201c}{n}\u{201d}"),
            None => format!("gebiedsregel …{}", short(id)),
        };
        let tail = if tail.is_empty() {
            String::new()
        } else {
            format!(" {tail}")
        };
        format!("{verb}: {name}{tail}")
    };
    let (action, text) = if let Some(rest) = detail.strip_prefix("toegevoegd: ") {
        ("gebiedsregel toegevoegd", named("toegevoegd", rest))
    } else if let Some(rest) = detail.strip_prefix("beëindigd: ") {
        ("gebiedsregel beëindigd", named("beëindigd", rest))
    } else if let Some(rest) = detail.strip_prefix("gewijzigd: ") {
        ("gebiedsregel gewijzigd", named("gewijzigd", rest))
    } else {
        ("gebiedsregel gewijzigd", detail.to_owned())
    };
    Shown {
        action: action.to_owned(),
        detail: text,
    }
}

/// A hotspot answer: `hotspot <format> wijk=<id> cells=<n> filter: …`.
fn export(detail: &str, names: &Names) -> Shown {
    let Some(rest) = detail.strip_prefix("hotspot ") else {
        return Shown {
            action: Action::Export.label_nl().to_owned(),
            detail: detail.to_owned(),
        };
    };
    let (head, filter) = rest.split_once(" filter: ").unwrap_or((rest, "none"));
    let mut format = "";
    let mut wijk = None;
    let mut cells = None;
    for word in head.split(' ') {
        if let Some(w) = word.strip_prefix("wijk=") {
            wijk = Some(names.wijk(w));
        } else if let Some(c) = word.strip_prefix("cells=") {
            cells = Some(c);
        } else if format.is_empty() {
            format = word;
        }
    }
    let (action, what, file) = match format {
        "csv" => ("export (CSV)", "hotspotcellen", true),
        "geojson" => ("export (GeoJSON)", "hotspotcellen", true),
        "trends-csv" => ("export (CSV)", "trends", true),
        "trends-geojson" => ("export (GeoJSON)", "trends", true),
        "cells" => ("kaart bekeken", "hotspotkaart", false),
        "trends" => ("kaart bekeken", "trends op de kaart", false),
        "trend" => ("kaart bekeken", "trend van één cel", false),
        "histogram" => ("kaart bekeken", "verdeling over de avond", false),
        "summary" => ("kaart bekeken", "totalen", false),
        other => ("export (CSV/GeoJSON)", other, true),
    };
    let mut text = what.to_owned();
    if let Some(w) = wijk {
        text.push_str(&format!(", wijk {w}"));
    }
    if file && let Some(c) = cells {
        text.push_str(&format!(", {}", count(c, "cel", "cellen")));
    }
    text.push_str(&format!("; {}", filter_nl(filter)));
    Shown {
        action: action.to_owned(),
        detail: text,
    }
}

/// The map's filter (`res=… bands=…`, or `none`) with the map page's names for its parts.
fn filter_nl(filter: &str) -> String {
    if filter.trim() == "none" {
        return "geen filter".to_owned();
    }
    let mut parts: Vec<(String, String)> = Vec::new();
    for word in filter.split(' ') {
        match word.split_once('=') {
            Some((k, v)) => parts.push((k.to_owned(), v.to_owned())),
            // A value with a space in it: part of the previous one.
            None => {
                if let Some(last) = parts.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(word);
                }
            }
        }
    }
    let parts: Vec<String> = parts
        .into_iter()
        .map(|(k, v)| {
            let key = match k.as_str() {
                "res" => "celgrootte",
                "measure" => "maat",
                "from" => "van",
                "to" => "tot",
                "before_from" => "vergelijk van",
                "before_to" => "vergelijk tot",
                "weekdays" => "avonden",
                "hours" => "uren",
                "bands" => "leeftijd",
                "behaviours" => "gedrag",
                "past_norm" => "na de norm",
                "brought_home" => "thuisgebracht",
                other => other,
            }
            .to_owned();
            let value = match v.as_str() {
                "true" | "1" => "ja".to_owned(),
                "false" | "0" => "nee".to_owned(),
                "children" => "kinderen".to_owned(),
                "contacts" => "contacten".to_owned(),
                _ => date_nl(&v).unwrap_or(v),
            };
            format!("{key} {value}")
        })
        .collect();
    format!("filter: {}", parts.join(", "))
}

/// `2026-10-11` → `11-10-2026`, the way dates read on every page.
fn date_nl(v: &str) -> Option<String> {
    let d: jiff::civil::Date = v.parse().ok()?;
    Some(d.strftime("%d-%m-%Y").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01a2486c-2d5e-7000-8000-00000000abcd";
    const WIJK: &str = "01a24861-c5e7-7000-8000-00000000wijk";
    const RULE: &str = "01a2486d-8a70-7000-8000-00000000rule";
    const PHONE: &str = "01a2486e-0000-7000-8000-0000000phone";

    fn names() -> Names {
        Names::with(
            &[(USER, "k.de.vries")],
            &[(WIJK, "Delfshaven"), ("WK059903", "Delfshaven")],
            &[(RULE, "Burgemeestersbevel Bospolder")],
            &[(PHONE, "coach.west", "Pixel 7")],
        )
    }

    #[rstest::rstest]
    #[case::status_in_the_meldpunt_words(
        "update",
        "status: received → visit_planned; huisbezoek gepland",
        "afhandeling gewijzigd",
        "status: ontvangen → huisbezoek gepland; huisbezoek gepland"
    )]
    #[case::known_to(
        "update",
        "bekend bij: - → bjz",
        "afhandeling gewijzigd",
        "bekend bij: - → Bureau Jeugdzorg"
    )]
    #[case::a_map_view_is_no_export(
        "export",
        &format!("hotspot cells wijk={WIJK} cells=672 filter: none"),
        "kaart bekeken",
        "hotspotkaart, wijk Delfshaven; geen filter"
    )]
    #[case::a_csv_download_is(
        "export",
        &format!("hotspot csv wijk={WIJK} cells=12 filter: measure=children from=2026-10-11 bands=0-5 brought_home=true"),
        "export (CSV)",
        "hotspotcellen, wijk Delfshaven, 12 cellen; filter: maat kinderen, van 11-10-2026, leeftijd 0-5, thuisgebracht ja"
    )]
    #[case::trends_geojson(
        "export",
        &format!("hotspot trends-geojson wijk={WIJK} cells=1 filter: none"),
        "export (GeoJSON)",
        "trends, wijk Delfshaven, 1 cel; geen filter"
    )]
    #[case::user_added_by_name_and_dutch_role(
        "user_add",
        &format!("gebruiker {USER}: coordinator"),
        "gebruiker toegevoegd",
        "k.de.vries als coördinator"
    )]
    #[case::disabled_in_the_page_words(
        "user_disable",
        &format!("gebruiker {USER}: 1 sessies beëindigd, 2 toestellen ingetrokken"),
        "gebruiker uitgeschakeld",
        "k.de.vries: 1 sessie beëindigd, 2 telefoons ingetrokken"
    )]
    #[case::enabled("user_enable", &format!("gebruiker {USER}"), "gebruiker ingeschakeld", "k.de.vries")]
    #[case::unknown_user_short_id(
        "password_reset",
        "gebruiker 01a2486c-2d5e-7000-8000-0000deadbeef",
        "herstelcode gemaakt",
        "gebruiker …deadbeef"
    )]
    #[case::rule_by_name(
        "area_rule",
        &format!("toegevoegd: {RULE} (20:00–06:00, 01-12-2026 t/m 28-02-2027)"),
        "gebiedsregel toegevoegd",
        "toegevoegd: “Burgemeestersbevel Bospolder” (20:00–06:00, 01-12-2026 t/m 28-02-2027)"
    )]
    #[case::corrected_rule_by_name(
        "area_rule",
        &format!("gewijzigd: {RULE} (20:00–06:00, 07-12-2026 t/m 28-02-2027; gebied, einddatum; vorige versie gold t/m 06-12-2026)"),
        "gebiedsregel gewijzigd",
        "gewijzigd: “Burgemeestersbevel Bospolder” (20:00–06:00, 07-12-2026 t/m 28-02-2027; gebied, einddatum; vorige versie gold t/m 06-12-2026)"
    )]
    #[case::ended_rule_by_name(
        "area_rule",
        &format!("beëindigd: {RULE} (gold t/m 06-12-2026)"),
        "gebiedsregel beëindigd",
        "beëindigd: “Burgemeestersbevel Bospolder” (gold t/m 06-12-2026)"
    )]
    #[case::ended_rule_without_its_name(
        "area_rule",
        "beëindigd: 01a2486d-8a70-7000-8000-0000000gone",
        "gebiedsregel beëindigd",
        "beëindigd: gebiedsregel …0000gone"
    )]
    #[case::phone_by_owner("device_revoke", &format!("toestel {PHONE}"), "telefoon ingetrokken", "telefoon van coach.west (Pixel 7)")]
    #[case::wijk_assignment_by_name(
        "wijk_assignment",
        "k.de.vries: WK059903",
        "wijken gewijzigd",
        "k.de.vries: Delfshaven"
    )]
    #[case::phone_policy(
        "retention_settings",
        "telefoons: contacten 30 dagen bewaren; pincode na 5 minuten op de achtergrond",
        "telefooninstellingen gewijzigd",
        "contacten 30 dagen bewaren; pincode na 5 minuten op de achtergrond"
    )]
    fn an_entry_reads_in_the_words_of_the_pages(
        #[case] action: &str,
        #[case] detail: &str,
        #[case] label: &str,
        #[case] text: &str,
    ) {
        let shown = describe(action, detail, &names());
        assert_eq!(shown.action, label);
        assert_eq!(shown.detail, text);
    }

    #[test]
    fn a_rule_name_is_not_looked_up_for_the_meldpunt() {
        // Names::load only fills rules for the admin; without them the id's tail shows.
        let shown = describe(
            "area_rule",
            &format!("toegevoegd: {RULE} (x)"),
            &Names::with(&[], &[], &[], &[]),
        );
        assert_eq!(shown.detail, "toegevoegd: gebiedsregel …0000rule (x)");
    }
}

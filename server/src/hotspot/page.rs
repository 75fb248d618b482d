//! The coordinator's page, `/kaart`: a filter panel, the hexagon map (Leaflet, served by
//! this server from the copy `build.rs` took from npm) and the totals, charts and export
//! buttons. The page is rendered here with the shared [`layout`]; a small script
//! (`assets/kaart.js`) reads the form, calls the hotspot API and draws the map and the
//! SVG charts. All counts it shows come from the API, so they are protected already; a
//! line on the page says that cells, hours and weeks need not add up to the totals.
//!
//! The basemap URL comes from [`crate::Config::basemap_url`] (PDOK BRT achtergrondkaart by
//! default). Nothing depends on it: when its tiles fail the map says so and keeps showing
//! the wijk outline, the named places and the cells on a plain background.

use std::sync::Arc;

use avondronde_shared::{AgeBand, Behaviour};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::{Timestamp, ToSpan};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::api::{WijkOutline, wijk_outlines};
use avondronde_shared::time::amsterdam;

use super::filter::{
    self, date_of_day, local_parts, parse_bands, parse_behaviours, parse_date, parse_weekdays,
};
use crate::auth::{Page, WebUser, roles};
use crate::state::AppState;
use crate::web::layout;

const KAART_JS: &str = include_str!("../../assets/kaart.js");
const KAART_CSS: &str = include_str!("../../assets/kaart.css");
const TRENDS_JS: &str = include_str!("../../assets/trends.js");
const TRENDS_CSS: &str = include_str!("../../assets/trends.css");
const LEAFLET_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/leaflet.js"));
const LEAFLET_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/leaflet.css"));

/// Routes of the page and its static files.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/kaart", get(page))
        .route(
            "/static/kaart.js",
            get(|| asset("text/javascript; charset=utf-8", KAART_JS)),
        )
        .route(
            "/static/kaart.css",
            get(|| asset("text/css; charset=utf-8", KAART_CSS)),
        )
        .route(
            "/static/trends.js",
            get(|| asset("text/javascript; charset=utf-8", TRENDS_JS)),
        )
        .route(
            "/static/trends.css",
            get(|| asset("text/css; charset=utf-8", TRENDS_CSS)),
        )
        .route(
            "/static/vendor/leaflet.js",
            get(|| asset("text/javascript; charset=utf-8", LEAFLET_JS)),
        )
        .route(
            "/static/vendor/leaflet.css",
            get(|| asset("text/css; charset=utf-8", LEAFLET_CSS)),
        )
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The page's own query: the form's fields, so that a reload or a shared link shows the
/// same map. Lists are comma-separated, as the API takes them.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Wijk id.
    pub wijk: Option<String>,
    /// 9 or 10.
    pub res: Option<String>,
    /// children or contacts.
    pub measure: Option<String>,
    /// Period start.
    pub from: Option<String>,
    /// Period end.
    pub to: Option<String>,
    /// Weekdays.
    pub weekdays: Option<String>,
    /// First hour of the time-of-evening range.
    pub hour_from: Option<String>,
    /// End hour (exclusive).
    pub hour_to: Option<String>,
    /// Age bands.
    pub bands: Option<String>,
    /// Behaviours.
    pub behaviours: Option<String>,
    /// Past the norm only.
    pub past_norm: Option<String>,
    /// Brought home only.
    pub brought_home: Option<String>,
    /// Before/after comparison on.
    pub compare: Option<String>,
    /// Intervention date.
    pub intervention: Option<String>,
    /// Weeks before and after the intervention.
    pub weeks: Option<String>,
    /// before, after or change.
    pub view: Option<String>,
}

fn on(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "on" | "ja"))
}

async fn page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Coordinator>,
    Query(q): Query<PageQuery>,
) -> Response {
    let wijken = match wijk_outlines(&state, &user).await {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    render(
        &state.config.basemap_url,
        &user,
        &wijken,
        &q,
        Timestamp::now(),
    )
    .into_response()
}

/// A chip group. Every group reads the same way: its first chip, "alle", is filled while
/// the group does not narrow the map, and otherwise the filled chips are the ones shown
/// (`kaart.js` keeps the two in step). `full_is_all`: picking every chip is the same as
/// no filter (avonden, leeftijd), so the page shows it as "alle"; for gedrag it is not.
fn checkbox_chips(name: &str, options: &[(String, String, bool)], full_is_all: bool) -> Markup {
    let picked = options.iter().filter(|(_, _, c)| *c).count();
    let all = picked == 0 || (full_is_all && picked == options.len());
    html! {
        div.hs-chips data-full=(if full_is_all { "all" } else { "list" }) {
            label.hs-chip {
                input.hs-all type="checkbox" checked[all];
                span { "alle" }
            }
            @for (value, label, checked) in options {
                label.hs-chip {
                    input type="checkbox" name=(name) value=(value) checked[*checked && !all];
                    span { (label) }
                }
            }
        }
    }
}

fn hour_options(selected: Option<u8>, empty: &str) -> Markup {
    html! {
        option value="" selected[selected.is_none()] { (empty) }
        @for h in (12..24).chain(0..12) {
            option value=(h) selected[selected == Some(h)] { (format!("{h:02}:00")) }
        }
    }
}

/// A date field typed as `dd-mm-jjjj`: a text input with a pattern, because a native date
/// input shows the browser's locale (issue 12). `kaart.js` reads it and says in Dutch when
/// it is no date.
fn date_input(name: &str, value: jiff::civil::Date) -> Markup {
    html! {
        input.date type="text" name=(name) value=(crate::dates::format_date(value))
            pattern=(crate::dates::DATE_PATTERN) placeholder=(crate::dates::DATE_PLACEHOLDER)
            inputmode="numeric" autocomplete="off" size="10"
            title="Datum als dd-mm-jjjj, bijvoorbeeld 22-11-2026";
    }
}

/// Renders the page.
pub fn render(
    basemap_url: &str,
    user: &WebUser,
    wijken: &[WijkOutline],
    q: &PageQuery,
    now: Timestamp,
) -> Markup {
    let tz = amsterdam();
    let today = date_of_day(local_parts(now, &tz).evening_day);
    let date = |s: &Option<String>| s.as_deref().and_then(parse_date);
    let from = date(&q.from).unwrap_or(today.saturating_sub(55.days()));
    let to = date(&q.to).unwrap_or(today);
    let intervention = date(&q.intervention).unwrap_or(today.saturating_sub(28.days()));
    let weeks: u8 = q
        .weeks
        .as_deref()
        .and_then(|w| w.parse().ok())
        .filter(|w| (1..=26).contains(w))
        .unwrap_or(4);
    let compare = on(&q.compare);
    let view = q
        .view
        .as_deref()
        .filter(|v| matches!(*v, "before" | "change"))
        .unwrap_or("after");
    let selected_wijk = q
        .wijk
        .as_deref()
        .and_then(|id| wijken.iter().find(|w| w.wijk.id.to_string() == id))
        .or(wijken.first());
    let weekdays = parse_weekdays(q.weekdays.as_deref().unwrap_or("")).unwrap_or(0x7f);
    let bands = parse_bands(q.bands.as_deref().unwrap_or("")).unwrap_or(0x1f);
    let behaviours = parse_behaviours(q.behaviours.as_deref().unwrap_or("")).unwrap_or(0);
    let hour = |s: &Option<String>| {
        s.as_deref()
            .and_then(|h| h.parse::<u8>().ok())
            .filter(|h| *h < 24)
    };
    let (hour_from, hour_to) = (hour(&q.hour_from), hour(&q.hour_to));
    let res10 = q.res.as_deref() != Some("9");
    let contacts = matches!(q.measure.as_deref(), Some("contacts"));

    let wijken_json = serde_json::to_string(wijken)
        .unwrap_or_else(|_| "[]".into())
        .replace("</", "<\\/");
    const DAYS: [&str; 7] = ["ma", "di", "wo", "do", "vr", "za", "zo"];
    let day_opts: Vec<(String, String, bool)> = DAYS
        .iter()
        .enumerate()
        .map(|(i, d)| (d.to_string(), d.to_string(), weekdays & (1 << i) != 0))
        .collect();
    let band_opts: Vec<(String, String, bool)> = AgeBand::ALL
        .iter()
        .enumerate()
        .map(|(i, b)| {
            (
                b.code().to_owned(),
                b.label_nl().replace(" jaar", ""),
                bands & (1 << i) != 0,
            )
        })
        .collect();
    let behaviour_opts: Vec<(String, String, bool)> = Behaviour::KNOWN
        .iter()
        .map(|b| {
            (
                b.code().to_owned(),
                b.label_nl().to_owned(),
                behaviours & filter::behaviour_bit(b) != 0,
            )
        })
        .collect();

    let head = html! {
        link rel="stylesheet" href="/static/vendor/leaflet.css";
        link rel="stylesheet" href="/static/kaart.css";
        script defer src="/static/vendor/leaflet.js" {}
        script defer src="/static/kaart.js" {}
        link rel="stylesheet" href="/static/trends.css";
        script defer src="/static/trends.js" {}
    };
    let body = html! {
        div.hs {
            form #hs-filters .hs-side method="get" action="/kaart" {
                h1 { "Hotspotkaart" }
                @if wijken.is_empty() {
                    p.notice.info { "Er zijn nog geen wijken aan u toegewezen. Vraag de beheerder uw wijken toe te wijzen." }
                }
                label for="hs-wijk" { "Wijk" }
                select #hs-wijk name="wijk" {
                    @for w in wijken {
                        option value=(w.wijk.id) selected[selected_wijk.is_some_and(|s| s.wijk.id == w.wijk.id)] {
                            (w.wijk.name) " (" (w.wijk.code) ")"
                        }
                    }
                }
                fieldset #hs-period disabled[compare] {
                    legend { "Periode (avonden)" }
                    div.hs-row {
                        label { "van" (date_input("from", from)) }
                        label { "tot en met" (date_input("to", to)) }
                    }
                }
                fieldset {
                    legend { "Voor en na" }
                    label.hs-check {
                        input #hs-compare type="checkbox" name="compare" value="1" checked[compare];
                        " vergelijk voor en na een interventie"
                    }
                    div.hs-row #hs-compare-fields {
                        label { "interventie op" (date_input("intervention", intervention)) }
                        label.hs-narrow { "weken" input type="number" name="weeks" min="1" max="26" value=(weeks); }
                    }
                }
                fieldset {
                    legend { "Tijd van de avond" }
                    div.hs-row {
                        label { "van" select name="hour_from" { (hour_options(hour_from, "hele dag")) } }
                        label { "tot" select name="hour_to" { (hour_options(hour_to, "—")) } }
                    }
                }
                fieldset {
                    legend { "Avonden" }
                    (checkbox_chips("weekdays", &day_opts, true))
                }
                fieldset {
                    legend { "Leeftijd (jaar)" }
                    (checkbox_chips("bands", &band_opts, true))
                }
                fieldset {
                    legend { "Gedrag (een van)" }
                    (checkbox_chips("behaviours", &behaviour_opts, false))
                }
                fieldset {
                    legend { "Alleen" }
                    label.hs-check { input type="checkbox" name="past_norm" value="1" checked[on(&q.past_norm)]; " na de buitenspeelnorm" }
                    label.hs-check { input type="checkbox" name="brought_home" value="1" checked[on(&q.brought_home)]; " thuisgebracht" }
                }
                fieldset {
                    legend { "Tellen en cellen" }
                    div.hs-row {
                        label { "tel"
                            select name="measure" {
                                option value="children" selected[!contacts] { "kinderen" }
                                option value="contacts" selected[contacts] { "contacten" }
                            }
                        }
                        label { "cellen"
                            select name="res" {
                                option value="10" selected[res10] { "klein (75 m)" }
                                option value="9" selected[!res10] { "groot (200 m)" }
                            }
                        }
                    }
                }
                input type="hidden" name="view" value=(view);
                noscript { p.notice.error { "De kaart heeft JavaScript nodig." } }
            }
            section.hs-mapwrap {
                div #hs-map data-basemap=(basemap_url) role="region" aria-label="Kaart van de wijk met hotspots" {}
                div.hs-viewtoggle #hs-viewtoggle role="group" aria-label="Periode op de kaart" hidden[!compare] {
                    button type="button" data-view="before" aria-pressed=(if view == "before" { "true" } else { "false" }) { "Voor" }
                    button type="button" data-view="after" aria-pressed=(if view == "after" { "true" } else { "false" }) { "Na" }
                    button type="button" data-view="change" aria-pressed=(if view == "change" { "true" } else { "false" }) { "Verandering" }
                }
                div.hs-legend #hs-legend aria-label="Legenda" {}
                p.hs-notice #hs-basemap-notice role="status" hidden {
                    "Achtergrondkaart niet bereikbaar. Wijkgrens, plekken en cellen blijven zichtbaar."
                }
                p.hs-status #hs-status role="status" aria-live="polite" { "Kaart laden…" }
            }
            aside.hs-info {
                section #hs-totals aria-live="polite" {}
                section {
                    h2 { "Tijd van de avond" }
                    div.hs-chart #hs-hist {}
                }
                section {
                    h2 { "Per week" }
                    div.hs-chart #hs-trend {}
                }
                section.hs-export {
                    h2 { "Exporteren" }
                    a.button #hs-csv href="#" download { "CSV voor Excel" }
                    " "
                    a.button.secondary #hs-geojson href="#" download { "GeoJSON voor QGIS" }
                }
                p.muted.hs-small {
                    "Elk aantal heeft een kleine, vaste afwijking (celsleutelmethode, zoals het CBS die gebruikt); "
                    "kleine aantallen staan er als “<10”, grotere zijn afgerond op 5. "
                    "De hotspotklasse (Getis-Ord Gi*, FDR-gecorrigeerd) is berekend op deze beschermde aantallen. "
                    "Cellen met het midden buiten de wijk tellen mee in de totalen, niet op de kaart."
                }
                p.muted.hs-small #hs-not-additive {
                    "Let op: cellen, uren en weken tellen daardoor niet precies op tot de totalen."
                }
            }
        }
        script #hs-wijken type="application/json" { (PreEscaped(wijken_json)) }
    };
    layout("Hotspotkaart", Some(user), "/kaart", true, head, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use avondronde_shared::{Role, UserId};

    #[test]
    fn page_renders_filters_and_escapes_the_embedded_json() {
        let user = WebUser {
            id: UserId::new(),
            username: "coordinator".into(),
            gemeente: avondronde_shared::GemeenteId::new(),
            role: Role::Coordinator,
            session: vec![],
        };
        let q = PageQuery {
            weekdays: Some("vr,za".into()),
            compare: Some("1".into()),
            ..PageQuery::default()
        };
        let html = render(
            "https://tiles.invalid/{z}/{x}/{y}.png",
            &user,
            &[],
            &q,
            "2026-11-22T20:00:00Z".parse().expect("ts"),
        )
        .into_string();
        assert!(html.contains("Hotspotkaart"));
        assert!(
            html.contains(r#"value="28-09-2026""#),
            "8 weeks back by default"
        );
        assert!(
            html.contains(r#"value="25-10-2026""#),
            "intervention 4 weeks back"
        );
        assert!(html.contains(r#"value="vr" checked"#));
        assert!(!html.contains(r#"value="ma" checked"#));
        // One convention for every chip group: "alle" is filled where the group does not
        // narrow the map (leeftijd, gedrag), not where it does (avonden: vr, za).
        assert_eq!(
            html.matches(r#"class="hs-all" type="checkbox" checked"#)
                .count(),
            2,
            "leeftijd and gedrag show alle"
        );
        assert!(
            !html.contains(r#"name="bands" value="0-5" checked"#),
            "every band is shown as alle, not as five filled chips"
        );
        assert!(html.contains("/static/vendor/leaflet.js"));
        assert!(!html.contains("unpkg") && !html.contains("cdn"), "no CDN");
        assert!(html.contains("tiles.invalid"));
        assert!(
            html.contains("niet precies op tot de totalen"),
            "the page says what may not add up"
        );
    }
}

//! The admin's pages for the gemeente's rules: buitenspeelnormen (`/beheer/normen`, with a
//! preview of the verdict at a chosen time from the shared norm engine), area rules such
//! as a burgemeestersbevel (`/beheer/gebiedsregels`: draw the area on the map, the time
//! window, the validity with the three-month limit of art. 172b Gemeentewet, and which
//! hangplekken it covers; "Wijzigen" opens a saved rule in the same form and map, and a
//! rule already in force is corrected as a new version) and wijken from a GeoJSON file
//! (`/beheer/wijken`: upload, preview on the map, confirm). The handlers only parse forms and render; every change
//! goes through [`crate::admin_rules`], which validates, audits and bumps the config.

use std::sync::Arc;

use avondronde_shared::norms::{
    AreaEffect, AreaRule, AreaRuleWarning, DailyWindow, Encounter, NormBand, NormSet, evaluate,
};
use avondronde_shared::{AgeBand, AreaRuleId, GroupCounts};
use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use geo::MultiPolygon;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::layout;
use crate::admin::Caller;
use crate::admin_rules::{self as ops, ParsedWijk, RulesError, date_nl, time_nl};
use crate::audit::ClientAddr;
use crate::auth::{Page, WebUser, roles};
use crate::error::ApiError;
use crate::state::{self, AppState};

const BEHEER_JS: &str = include_str!("../../assets/beheer.js");
const BEHEER_CSS: &str = include_str!("../../assets/beheer.css");

/// The largest GeoJSON text accepted. The server takes no request over
/// [`crate::MAX_BODY_BYTES`] (4 MB), and a form-encoded file grows when percent-encoded;
/// a gemeente's CBS wijken (generalised, as PDOK serves them) are far smaller.
const MAX_GEOJSON_BYTES: usize = 3 * 1024 * 1024;

/// Routes of the norms, area-rule and wijken pages.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/beheer/normen", get(norms_page).post(norms_submit))
        .route("/beheer/gebiedsregels", get(rules_page).post(rules_submit))
        .route("/beheer/gebiedsregels/wijzigen", get(rule_edit_page))
        .route("/beheer/gebiedsregels/beeindigen", post(rule_end))
        .route("/beheer/wijken", get(wijken_page).post(wijken_upload))
        .route("/beheer/wijken/bevestigen", post(wijken_confirm))
        .route("/static/beheer.js", get(js))
        .route("/static/beheer.css", get(css))
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        BEHEER_JS,
    )
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        BEHEER_CSS,
    )
}

fn map_head() -> Markup {
    html! {
        link rel="stylesheet" href="/static/vendor/leaflet.css";
        link rel="stylesheet" href="/static/beheer.css";
        script defer src="/static/vendor/leaflet.js" {}
        script defer src="/static/beheer.js" {}
    }
}

fn error_notice(e: &RulesError) -> Markup {
    html! { p.notice.error role="alert" { (e.to_string()) } }
}

fn fail(e: RulesError) -> Response {
    match e {
        RulesError::Db(e) => ApiError::from(e).into_response(),
        RulesError::NotFound => ApiError::NotFound.into_response(),
        RulesError::Invalid(m) => ApiError::Invalid(m).into_response(),
    }
}

/// A JSON value embedded in a `<script type="application/json">` block; `<` is escaped
/// so that no name in it can close the block.
fn embed(v: &serde_json::Value) -> PreEscaped<String> {
    PreEscaped(v.to_string().replace('<', "\\u003c"))
}

type WijkRow = (String, String, MultiPolygon<f64>);

fn wijken_json(wijken: &[WijkRow]) -> serde_json::Value {
    serde_json::Value::Array(
        wijken
            .iter()
            .map(|(code, name, b)| {
                serde_json::json!({
                    "code": code,
                    "name": name,
                    "geometry": geojson::Geometry::new(geojson::GeometryValue::from(b)),
                })
            })
            .collect(),
    )
}

/// Today in Europe/Amsterdam, whatever zone the server runs in.
fn today_nl() -> jiff::civil::Date {
    let tz = avondronde_shared::time::amsterdam();
    jiff::Timestamp::now().to_zoned(tz).date()
}

// ---- norms ------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct NormsForm {
    #[serde(default)]
    under6: String,
    #[serde(default)]
    age6_9: String,
    #[serde(default)]
    age10_13: String,
    #[serde(default)]
    night_end: String,
    #[serde(default)]
    om: String,
    #[serde(default)]
    actie: String,
}

impl NormsForm {
    fn from_norms(n: &NormSet) -> NormsForm {
        let t = |t: Option<jiff::civil::Time>| t.map(time_nl).unwrap_or_default();
        NormsForm {
            under6: t(n.under6),
            age6_9: t(n.age6_9),
            age10_13: t(n.age10_13),
            night_end: time_nl(n.night_end),
            om: "21:30".into(),
            actie: String::new(),
        }
    }

    /// The norms as typed; an empty band means "no norm".
    fn norms(&self) -> Result<NormSet, RulesError> {
        let band = |label: &str, s: &str| {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                ops::parse_time(label, s).map(Some)
            }
        };
        Ok(NormSet {
            under6: band("Norm 0–5 jaar", &self.under6)?,
            age6_9: band("Norm 6–9 jaar", &self.age6_9)?,
            age10_13: band("Norm 10–13 jaar", &self.age10_13)?,
            night_end: ops::parse_time("Einde van de nacht", &self.night_end)?,
        })
    }
}

/// One row of the norm preview: band label, the app's Dutch line, severity code.
type PreviewRow = (String, String, String);

/// The verdict per norm band for one unsupervised child at `at` (uu:mm) in tonight's
/// night, from the shared engine, exactly as the app would judge it.
fn preview_norms(norms: &NormSet, at: &str) -> Result<Vec<PreviewRow>, RulesError> {
    let t = ops::parse_time("Voorbeeldtijd", at)?;
    let tz = avondronde_shared::time::amsterdam();
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    // A time before the end of the night belongs to the night that starts this evening.
    let date = if t < norms.night_end {
        today.tomorrow().unwrap_or(today)
    } else {
        today
    };
    let at = date
        .to_datetime(t)
        .to_zoned(tz)
        .map_err(|_| RulesError::Invalid("Die tijd bestaat vannacht niet.".into()))?
        .timestamp();
    Ok(NormBand::ALL
        .into_iter()
        .map(|band| {
            let age = match band {
                NormBand::Under6 => AgeBand::Under6,
                NormBand::Age6To9 => AgeBand::Age6To9,
                NormBand::Age10To13 => AgeBand::Age10To11,
            };
            let e = evaluate(
                norms,
                &[],
                &Encounter {
                    at,
                    point: None,
                    group: GroupCounts::default().with(age, 1),
                    supervised: false,
                },
            );
            (
                band.label_nl().to_owned(),
                e.summary_nl(),
                e.worst().code().to_owned(),
            )
        })
        .collect())
}

fn render_norms(
    user: &WebUser,
    form: &NormsForm,
    notice: Option<Markup>,
    preview: Option<Vec<PreviewRow>>,
) -> Markup {
    let field = |id: &str, label: &str, value: &str, required: bool| {
        html! {
            label for=(id) { (label) }
            input #(id) type="text" name=(id) value=(value) inputmode="numeric"
                pattern="([01][0-9]|2[0-3])[:.][0-5][0-9]" placeholder="uu:mm" maxlength="5"
                required[required] title="uu:mm, bijvoorbeeld 21:00 (21.00 mag ook)";
        }
    };
    layout(
        "Buitenspeelnormen",
        Some(user),
        "/beheer",
        false,
        html! { link rel="stylesheet" href="/static/beheer.css"; },
        html! {
            (super::admin::section_nav("/beheer/normen"))
            h1 { "Buitenspeelnormen" }
            @if let Some(n) = notice { (n) }
            div.grid2 {
                section.panel {
                    h2 { "Laatste tijd per leeftijd" }
                    p.muted { "Voor kinderen zonder toezicht van een volwassene. Leeg laten betekent: geen norm voor die leeftijd. Een tijd vóór het einde van de nacht betekent na middernacht." }
                    form #normen method="post" action="/beheer/normen" {
                        (field("under6", "0–5 jaar", &form.under6, false))
                        (field("age6_9", "6–9 jaar", &form.age6_9, false))
                        (field("age10_13", "10–13 jaar", &form.age10_13, false))
                        (field("night_end", "Einde van de nacht", &form.night_end, true))
                        (field("om", "Voorbeeld: een kind buiten om", &form.om, false))
                        p.actions {
                            button.secondary type="submit" name="actie" value="voorbeeld" { "Voorbeeld bekijken" }
                            " "
                            button type="submit" name="actie" value="opslaan" { "Normen opslaan" }
                        }
                    }
                    p.muted { "Telefoons krijgen de nieuwe normen bij hun volgende synchronisatie." }
                }
                section.panel #voorbeeld aria-live="polite" {
                    h2 { "Voorbeeld" }
                    @if let Some(rows) = &preview {
                        p { "Eén kind zonder toezicht, om " strong { (form.om.trim()) } ":" }
                        table {
                            thead { tr { th { "Leeftijd" } th { "Wat de app zegt" } } }
                            tbody {
                                @for (band, line, sev) in rows {
                                    tr { td { (band) } td { span class={ "verdict " (sev) } { (line) } } }
                                }
                            }
                        }
                    } @else {
                        p.muted { "Kies een tijd en klik op „Voorbeeld bekijken” om te zien wat de app de veldwerker dan zegt." }
                    }
                }
            }
        },
    )
}

async fn norms_page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
) -> Response {
    let st = state.clone();
    let g = user.gemeente;
    match state
        .store
        .read(g, move |tx| Ok(st.gemeente_rules(tx, g)?.norms.clone()))
        .await
    {
        Ok(n) => {
            let form = NormsForm::from_norms(&n);
            let preview = preview_norms(&n, &form.om).ok();
            render_norms(&user, &form, None, preview).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn norms_submit(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<NormsForm>,
) -> Response {
    let norms = match form.norms().and_then(|n| ops::check_norms(&n).map(|()| n)) {
        Ok(n) => n,
        Err(e) => return render_norms(&user, &form, Some(error_notice(&e)), None).into_response(),
    };
    let preview = if form.om.trim().is_empty() {
        None
    } else {
        match preview_norms(&norms, &form.om) {
            Ok(p) => Some(p),
            Err(e) => {
                return render_norms(&user, &form, Some(error_notice(&e)), None).into_response();
            }
        }
    };
    if form.actie != "opslaan" {
        return render_norms(&user, &form, None, preview).into_response();
    }
    let caller = Caller::web(&user, address);
    let n = norms.clone();
    let done = state
        .store
        .write(user.gemeente, move |tx| Ok(ops::set_norms(tx, &caller, &n)))
        .await;
    match done {
        Ok(Ok(())) => render_norms(
            &user,
            &form,
            Some(html! { p.notice.ok role="status" { "De normen zijn opgeslagen. Telefoons krijgen ze bij hun volgende synchronisatie." } }),
            preview,
        )
        .into_response(),
        Ok(Err(e @ RulesError::Invalid(_))) => {
            render_norms(&user, &form, Some(error_notice(&e)), None).into_response()
        }
        Ok(Err(e)) => fail(e),
        Err(e) => ApiError::from(e).into_response(),
    }
}

// ---- area rules -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct RuleForm {
    #[serde(default)]
    naam: String,
    #[serde(default)]
    begin: String,
    #[serde(default)]
    eind: String,
    #[serde(default)]
    van: String,
    #[serde(default)]
    tot: String,
    #[serde(default)]
    effect: String,
    /// `[[lon, lat], …]` as JSON, filled in by the map.
    #[serde(default)]
    gebied: String,
    #[serde(default)]
    b05: Option<String>,
    #[serde(default)]
    b69: Option<String>,
    #[serde(default)]
    b1011: Option<String>,
    #[serde(default)]
    b1213: Option<String>,
    #[serde(default)]
    actie: String,
    /// The rule being corrected; empty for a new rule.
    #[serde(default)]
    regel: String,
}

impl RuleForm {
    fn blank() -> RuleForm {
        let today = today_nl();
        RuleForm {
            naam: "Burgemeestersbevel".into(),
            begin: "20:00".into(),
            eind: "06:00".into(),
            van: date_nl(today),
            tot: date_nl(
                today
                    .checked_add(jiff::Span::new().months(1))
                    .unwrap_or(today),
            ),
            effect: "presence_banned".into(),
            b05: Some("on".into()),
            b69: Some("on".into()),
            b1011: Some("on".into()),
            ..RuleForm::default()
        }
    }

    /// A stored rule in the form, to correct it.
    fn from_rule(r: &AreaRule) -> RuleForm {
        let on = |b| r.concerns(b).then(|| "on".to_owned());
        let ring: Vec<[f64; 2]> = r
            .area
            .0
            .first()
            .map(|p| {
                let c = &p.exterior().0;
                // The stored ring is closed; the map draws it open.
                let open = if c.len() > 1 && c.first() == c.last() {
                    &c[..c.len() - 1]
                } else {
                    &c[..]
                };
                open.iter().map(|c| [c.x, c.y]).collect()
            })
            .unwrap_or_default();
        RuleForm {
            naam: r.name.clone(),
            begin: time_nl(r.window.start),
            eind: time_nl(r.window.end),
            van: date_nl(r.valid_from),
            tot: date_nl(r.valid_until),
            effect: r.effect.code().to_owned(),
            gebied: serde_json::to_string(&ring).unwrap_or_default(),
            b05: on(AgeBand::Under6),
            b69: on(AgeBand::Age6To9),
            b1011: on(AgeBand::Age10To11),
            b1213: on(AgeBand::Age12To13),
            actie: String::new(),
            regel: r.id.to_string(),
        }
    }

    /// The rule being corrected, if any (a form that names an unreadable id corrects none).
    fn editing(&self) -> Option<AreaRuleId> {
        self.regel.trim().parse().ok()
    }

    fn bands(&self) -> Vec<AgeBand> {
        [
            (&self.b05, AgeBand::Under6),
            (&self.b69, AgeBand::Age6To9),
            (&self.b1011, AgeBand::Age10To11),
            (&self.b1213, AgeBand::Age12To13),
        ]
        .into_iter()
        .filter(|(v, _)| v.is_some())
        .map(|(_, b)| b)
        .collect()
    }

    fn rule(&self, gemeente: avondronde_shared::GemeenteId) -> Result<AreaRule, RulesError> {
        let points: Vec<[f64; 2]> = if self.gebied.trim().is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(&self.gebied).map_err(|_| {
                RulesError::Invalid("Het getekende gebied is onleesbaar; teken het opnieuw.".into())
            })?
        };
        let mut pts: Vec<(f64, f64)> = points.iter().map(|p| (p[0], p[1])).collect();
        if pts.len() < 3 || pts.len() > 500 {
            return Err(RulesError::Invalid(
                "Teken eerst een gebied op de kaart: klik minstens drie (en hoogstens 500) hoekpunten aan."
                    .into(),
            ));
        }
        if pts.first() != pts.last() {
            pts.push(pts[0]);
        }
        let effect = AreaEffect::from(self.effect.clone());
        if !effect.is_known() {
            return Err(RulesError::Invalid("Kies wat de regel betekent.".into()));
        }
        Ok(AreaRule {
            id: AreaRuleId::new(),
            gemeente,
            name: self.naam.trim().to_owned(),
            area: MultiPolygon(vec![crate::setup::polygon(&pts)]),
            window: DailyWindow {
                start: ops::parse_time("Van (tijd)", &self.begin)?,
                end: ops::parse_time("Tot (tijd)", &self.eind)?,
            },
            valid_from: ops::parse_date("Geldig van", &self.van)?,
            valid_until: ops::parse_date("Geldig tot en met", &self.tot)?,
            bands: self.bands(),
            effect,
        })
    }
}

struct RulesData {
    rules: Vec<AreaRule>,
    places: Vec<avondronde_shared::area::Place>,
    wijken: Vec<WijkRow>,
}

async fn rules_data(state: &Arc<AppState>, user: &WebUser) -> Result<RulesData, RulesError> {
    let caller = Caller::web(user, None);
    let g = user.gemeente;
    let read = state
        .store
        .read(g, move |tx| {
            let load = || -> Result<RulesData, RulesError> {
                Ok(RulesData {
                    rules: ops::list_area_rules(tx, &caller)?,
                    places: ops::places(tx, &caller)?,
                    wijken: state::load_wijken(tx, g)?
                        .into_iter()
                        .map(|w| (w.code, w.name, w.boundary))
                        .collect(),
                })
            };
            Ok(load())
        })
        .await;
    read.map_err(RulesError::Db)?
}

/// The version that took over from `r` when it was corrected: a rule of the same name that
/// starts the day after `r` ends (see [`ops::change_area_rule`]).
fn replaced_by<'a>(r: &AreaRule, rules: &'a [AreaRule]) -> Option<&'a AreaRule> {
    let next_day = r.valid_until.tomorrow().ok()?;
    rules
        .iter()
        .find(|q| q.id != r.id && q.name == r.name && q.valid_from == next_day)
}

/// A notice when the validity comes within two weeks of the three-month limit.
fn near_limit(rule: &AreaRule) -> Option<String> {
    let last = ops::last_allowed_day(rule.valid_from);
    let left = rule.valid_until.until(last).ok()?.get_days();
    (left < 14).then(|| {
        format!(
            "Let op: de geldigheid nadert de grens van drie maanden (art. 172b Gemeentewet); uiterlijk {} is toegestaan.",
            date_nl(last)
        )
    })
}

fn render_rules(
    state: &AppState,
    user: &WebUser,
    data: &RulesData,
    form: &RuleForm,
    notice: Option<Markup>,
    covered: Option<Vec<String>>,
) -> Markup {
    let now = jiff::Timestamp::now();
    let editing = form
        .editing()
        .and_then(|id| data.rules.iter().find(|r| r.id == id));
    // Whether a rule can still be corrected: its last evening has not passed.
    let open = |r: &AreaRule| r.valid_until >= ops::change_takes_effect(&r.window, now);
    // The map shows the rules that still count, except the one being corrected: that one
    // is the red shape to change.
    let rules_json = serde_json::Value::Array(
        data.rules
            .iter()
            .filter(|r| open(r) && editing.is_none_or(|e| e.id != r.id))
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "geometry": geojson::Geometry::new(geojson::GeometryValue::from(&r.area)),
                })
            })
            .collect(),
    );
    let places_json = serde_json::Value::Array(
        data.places
            .iter()
            .map(|p| serde_json::json!({"name": p.name, "lat": p.lat, "lon": p.lon}))
            .collect(),
    );
    let check = |name: &str, label: &str, on: bool| {
        html! {
            label.check { input type="checkbox" name=(name) checked[on]; " " (label) }
        }
    };
    let date_input = |id: &str, label: &str, value: &str| {
        html! {
            label for=(id) { (label) }
            input #(id) type="text" name=(id) value=(value) lang="nl" inputmode="numeric"
                pattern="[0-3][0-9]-[01][0-9]-[0-9]{4}" placeholder="dd-mm-jjjj" maxlength="10"
                required title="dd-mm-jjjj, bijvoorbeeld 01-12-2026";
        }
    };
    let time_input = |id: &str, label: &str, value: &str| {
        html! {
            label for=(id) { (label) }
            input #(id) type="text" name=(id) value=(value) inputmode="numeric"
                pattern="([01][0-9]|2[0-3])[:.][0-5][0-9]" placeholder="uu:mm" maxlength="5"
                required title="uu:mm, bijvoorbeeld 20:00";
        }
    };
    let today = today_nl();
    layout(
        "Gebiedsregels",
        Some(user),
        "/beheer",
        false,
        map_head(),
        html! {
            (super::admin::section_nav("/beheer/gebiedsregels"))
            h1 { "Gebiedsregels" }
            p.muted { "Bijvoorbeeld een burgemeestersbevel (art. 172b Gemeentewet): in een aangewezen gebied, tussen twee tijden, voor ten hoogste drie maanden." }
            @if let Some(n) = notice { (n) }
            div.br-layout {
                section.panel {
                    @if let Some(e) = editing {
                        h2 { "Regel wijzigen" }
                        @let from = ops::change_takes_effect(&e.window, now);
                        @if e.valid_from < from {
                            p.notice.info #br-versie role="status" {
                                "Deze regel geldt al sinds " (date_nl(e.valid_from)) ". Uw wijziging geldt vanaf "
                                @if from < today { "de avond die nu loopt, " }
                                strong { (date_nl(from)) } "; eerdere avonden blijven beoordeeld volgens de regel zoals hij toen was."
                            }
                        } @else {
                            p.muted #br-versie { "Deze regel is nog niet ingegaan; uw wijziging vervangt hem helemaal." }
                        }
                    } @else {
                        h2 { "Nieuwe regel" }
                    }
                    form #regel method="post" action="/beheer/gebiedsregels" {
                        @if let Some(e) = editing { input type="hidden" name="regel" value=(e.id); }
                        label for="naam" { "Naam (ziet de veldwerker)" }
                        input #naam type="text" name="naam" value=(form.naam) maxlength="100" required;
                        div.row2 {
                            div { (time_input("begin", "Van (tijd)", &form.begin)) }
                            div { (time_input("eind", "Tot (tijd)", &form.eind)) }
                        }
                        div.row2 {
                            div { (date_input("van", "Geldig van", &form.van)) }
                            div { (date_input("tot", "Geldig tot en met", &form.tot)) }
                        }
                        p #drie-maanden .notice.info role="status" hidden {}
                        fieldset {
                            legend { "Voor kinderen van" }
                            (check("b05", "0–5 jaar", form.b05.is_some()))
                            (check("b69", "6–9 jaar", form.b69.is_some()))
                            (check("b1011", "10–11 jaar", form.b1011.is_some()))
                            (check("b1213", "12–13 jaar", form.b1213.is_some()))
                        }
                        label for="effect" { "Betekenis voor de veldwerker" }
                        select #effect name="effect" {
                            @for e in AreaEffect::KNOWN {
                                option value=(e.code()) selected[e.code() == form.effect] { (e.label_nl()) }
                            }
                        }
                        input #gebied type="hidden" name="gebied" value=(form.gebied);
                        p.actions {
                            button.secondary type="submit" name="actie" value="voorbeeld" { "Welke hangplekken?" }
                            " "
                            @if editing.is_some() {
                                button type="submit" name="actie" value="opslaan" { "Wijziging opslaan" }
                                " "
                                a.button.secondary href="/beheer/gebiedsregels" { "Annuleren" }
                            } @else {
                                button type="submit" name="actie" value="opslaan" { "Regel opslaan" }
                            }
                        }
                        // Filled in by beheer.js when a button is pressed before an area is drawn.
                        p #br-need-area .notice.error role="alert" hidden {}
                    }
                    @if let Some(names) = &covered {
                        div #gedekt aria-live="polite" {
                            h2 { "Hangplekken in dit gebied" }
                            @if names.is_empty() {
                                p { "Geen bekende hangplek ligt in het getekende gebied." }
                            } @else {
                                ul { @for n in names { li { (n) } } }
                            }
                        }
                    }
                }
                section.br-mapwrap {
                    p.muted #br-help {
                        "Klik op de kaart om de hoekpunten van het gebied te zetten (minstens drie); sleep een hoekpunt om het te verplaatsen. "
                        "Gele stippen zijn hangplekken: wijs er een aan voor de naam; vanaf straatniveau staan de namen erbij."
                    }
                    // A button per wijk and a list of hangplekken to zoom in, added by beheer.js.
                    p #br-zoom .actions hidden {}
                    div #br-map data-basemap=(state.config.basemap_url) data-mode="draw" role="region" aria-label="Kaart: teken het gebied" {}
                    p.actions {
                        button.secondary type="button" #br-undo { "Laatste punt weg" }
                        " "
                        button.secondary type="button" #br-clear { "Opnieuw tekenen" }
                        " "
                        span #br-count .muted {}
                    }
                    script #br-wijken type="application/json" { (embed(&wijken_json(&data.wijken))) }
                    script #br-rules type="application/json" { (embed(&rules_json)) }
                    script #br-places type="application/json" { (embed(&places_json)) }
                }
            }
            h2 { "Bestaande regels" }
            @if data.rules.is_empty() {
                p.muted { "Er zijn nog geen gebiedsregels." }
            } @else {
                div.scroll {
                    table #regels {
                        thead { tr { th { "Naam" } th { "Tijd" } th { "Geldig" } th { "Voor" } th { "Betekenis" } th { "Status" } th {} } }
                        tbody {
                            @for r in &data.rules {
                                tr.editing[editing.is_some_and(|e| e.id == r.id)] {
                                    td data-label="Naam" { (r.name) }
                                    td data-label="Tijd" { (r.window.label_nl()) }
                                    td data-label="Geldig" { (date_nl(r.valid_from)) " t/m " (date_nl(r.valid_until)) }
                                    td data-label="Voor" { (r.bands.iter().map(|b| b.label_nl()).collect::<Vec<_>>().join(", ")) }
                                    td data-label="Betekenis" { (r.effect.label_nl()) }
                                    td data-label="Status" {
                                        @if let Some(next) = replaced_by(r, &data.rules) {
                                            span.badge title={ "Gewijzigd: vanaf " (date_nl(next.valid_from)) " geldt de nieuwe versie" } { "vorige versie" }
                                        }
                                        @else if r.valid_until < today { span.badge { "verlopen" } }
                                        @else if r.valid_from > today { span.badge.warn { "nog niet" } }
                                        @else { span.badge.ok { "geldt" } }
                                    }
                                    td.br-rule-actions {
                                        // A rule whose last evening has passed stays as it was: phones
                                        // judge the contacts of its evenings by it.
                                        @if open(r) {
                                            a.button.secondary href={ "/beheer/gebiedsregels/wijzigen?regel=" (r.id) }
                                                aria-label={ "Regel " (r.name) " wijzigen" } { "Wijzigen" }
                                            " "
                                            form method="post" action="/beheer/gebiedsregels/beeindigen" {
                                                input type="hidden" name="regel" value=(r.id);
                                                button.secondary type="submit" aria-label={ "Regel " (r.name) " beëindigen" } { "Beëindigen" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

async fn show_rules(
    state: Arc<AppState>,
    user: WebUser,
    form: &RuleForm,
    notice: Option<Markup>,
    covered: Option<Vec<String>>,
) -> Response {
    match rules_data(&state, &user).await {
        Ok(d) => render_rules(&state, &user, &d, form, notice, covered).into_response(),
        Err(e) => fail(e),
    }
}

async fn rules_page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
) -> Response {
    show_rules(state, user, &RuleForm::blank(), None, None).await
}

#[derive(Debug, Deserialize)]
struct EditQuery {
    #[serde(default)]
    regel: String,
}

/// The form and map filled in with a stored rule, to correct it.
async fn rule_edit_page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    Query(q): Query<EditQuery>,
) -> Response {
    let data = match rules_data(&state, &user).await {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let found = q
        .regel
        .parse::<AreaRuleId>()
        .ok()
        .and_then(|id| data.rules.iter().find(|r| r.id == id));
    match found {
        Some(r) => {
            let form = RuleForm::from_rule(r);
            render_rules(&state, &user, &data, &form, None, None).into_response()
        }
        None => {
            let n = html! { p.notice.error role="alert" { "Onbekende regel (of niet van uw gemeente)." } };
            render_rules(&state, &user, &data, &RuleForm::blank(), Some(n), None).into_response()
        }
    }
}

fn warnings_markup(near: Option<&String>, warnings: &[AreaRuleWarning]) -> Markup {
    html! {
        @if let Some(w) = near { p.notice.info role="status" { (w) } }
        @for w in warnings { p.notice.info role="status" { (w.to_string()) } }
    }
}

async fn rules_submit(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<RuleForm>,
) -> Response {
    let checked = form.rule(user.gemeente).and_then(|r| {
        let w = ops::check_area_rule(&r)?;
        Ok((r, w))
    });
    let (rule, warnings) = match checked {
        Ok(r) => r,
        Err(e) => {
            let n = error_notice(&e);
            return show_rules(state, user, &form, Some(n), None).await;
        }
    };
    let near = near_limit(&rule);
    if form.actie != "opslaan" {
        let covered = match rules_data(&state, &user).await {
            Ok(d) => ops::covered_places(&rule.area, &d.places)
                .into_iter()
                .map(|p| p.name.clone())
                .collect(),
            Err(e) => return fail(e),
        };
        let n = warnings_markup(near.as_ref(), &warnings);
        return show_rules(state, user, &form, Some(n), Some(covered)).await;
    }
    let caller = Caller::web(&user, address);
    if let Some(id) = form.editing() {
        return rule_change(state, user, caller, id, &form, rule, near).await;
    }
    let r = rule.clone();
    let done = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(ops::add_area_rule(tx, &caller, &r))
        })
        .await;
    match done {
        Ok(Ok(w)) => {
            let notice = html! {
                p.notice.ok role="status" { "De regel „" (rule.name) "” is opgeslagen. Telefoons passen hem toe na hun volgende synchronisatie." }
                (warnings_markup(near.as_ref(), &w))
            };
            show_rules(state, user, &RuleForm::blank(), Some(notice), None).await
        }
        Ok(Err(e @ RulesError::Invalid(_))) => {
            let n = error_notice(&e);
            show_rules(state, user, &form, Some(n), None).await
        }
        Ok(Err(e)) => fail(e),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Saves a correction of a stored rule; an error keeps the form as typed, in edit mode.
async fn rule_change(
    state: Arc<AppState>,
    user: WebUser,
    caller: Caller,
    id: AreaRuleId,
    form: &RuleForm,
    rule: AreaRule,
    near: Option<String>,
) -> Response {
    let done = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(ops::change_area_rule(
                tx,
                &caller,
                id,
                &rule,
                jiff::Timestamp::now(),
            ))
        })
        .await;
    let (change, warnings) = match done {
        Ok(Ok(c)) => c,
        Ok(Err(e @ RulesError::Invalid(_))) => {
            let n = error_notice(&e);
            return show_rules(state, user, form, Some(n), None).await;
        }
        Ok(Err(RulesError::NotFound)) => {
            let n = html! { p.notice.error role="alert" { "Onbekende regel (of niet van uw gemeente). Er is niets opgeslagen." } };
            return show_rules(state, user, &RuleForm::blank(), Some(n), None).await;
        }
        Ok(Err(e)) => return fail(e),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let notice = html! {
        @match &change {
            ops::RuleChange::Unchanged => {
                p.notice.info role="status" { "Er was niets gewijzigd; de regel is gebleven zoals hij was." }
            }
            ops::RuleChange::Corrected(r) => {
                p.notice.ok role="status" { "De regel „" (r.name) "” is gewijzigd. Telefoons passen de nieuwe versie toe na hun volgende synchronisatie." }
            }
            ops::RuleChange::NewVersion { rule: r, previous_until } => {
                p.notice.ok role="status" {
                    "De regel „" (r.name) "” is gewijzigd. De nieuwe versie geldt vanaf " (date_nl(r.valid_from))
                    "; tot en met " (date_nl(*previous_until)) " blijft de regel gelden zoals hij was. "
                    "Telefoons passen de nieuwe versie toe na hun volgende synchronisatie."
                }
            }
        }
        (warnings_markup(near.as_ref(), &warnings))
    };
    show_rules(state, user, &RuleForm::blank(), Some(notice), None).await
}

#[derive(Debug, Deserialize)]
struct EndForm {
    #[serde(default)]
    regel: String,
}

async fn rule_end(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<EndForm>,
) -> Response {
    let blank = RuleForm::blank();
    let Ok(id) = form.regel.parse::<AreaRuleId>() else {
        let n = html! { p.notice.error role="alert" { "Onbekende regel." } };
        return show_rules(state, user, &blank, Some(n), None).await;
    };
    let caller = Caller::web(&user, address);
    let done = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(ops::end_area_rule(tx, &caller, id, jiff::Timestamp::now()))
        })
        .await;
    let notice = match done {
        Ok(Ok(ops::RuleEnd::EndedOn(last))) => html! {
            p.notice.ok role="status" {
                "De regel is beëindigd: hij gold tot en met " (date_nl(last)) ". "
                "Telefoons passen hem na hun volgende synchronisatie niet meer toe op nieuwe contacten; "
                "eerdere avonden blijven beoordeeld zoals ze waren."
            }
        },
        Ok(Ok(ops::RuleEnd::Removed)) => html! {
            p.notice.ok role="status" { "De regel is beëindigd; hij was nog niet in werking en is verwijderd. Telefoons passen hem niet meer toe na hun volgende synchronisatie." }
        },
        Ok(Err(e @ RulesError::Invalid(_))) => error_notice(&e),
        Ok(Err(RulesError::Db(e))) | Err(e) => return ApiError::from(e).into_response(),
        Ok(Err(_)) => {
            html! { p.notice.error role="alert" { "Onbekende regel (of niet van uw gemeente). Er is niets gewijzigd." } }
        }
    };
    show_rules(state, user, &blank, Some(notice), None).await
}

// ---- wijken -----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct WijkenForm {
    #[serde(default)]
    geojson: String,
}

fn render_wijken(
    state: &AppState,
    user: &WebUser,
    current: &[WijkRow],
    notice: Option<Markup>,
    preview: Option<(&[ParsedWijk], &str)>,
) -> Markup {
    let shown: Vec<WijkRow> = match preview {
        Some((p, _)) => p
            .iter()
            .map(|w| (w.code.clone(), w.name.clone(), w.boundary.clone()))
            .collect(),
        None => current.to_vec(),
    };
    layout(
        "Wijken",
        Some(user),
        "/beheer",
        false,
        map_head(),
        html! {
            (super::admin::section_nav("/beheer/wijken"))
            h1 { "Wijken" }
            @if let Some(n) = notice { (n) }
            div.br-layout {
                section.panel {
                    @if let Some((parsed, text)) = preview {
                        h2 { "Controleer de wijken" }
                        p { "Dit bestand bevat " strong { (parsed.len()) } (if parsed.len() == 1 { " wijk" } else { " wijken" }) ". Bekende wijkcodes krijgen de nieuwe naam en grens; nieuwe worden toegevoegd. Er is nog niets opgeslagen." }
                        ul #wijken-voorbeeld { @for w in parsed { li { (w.name) " " span.muted { "(" (w.code) ")" } } } }
                        form method="post" action="/beheer/wijken/bevestigen" {
                            textarea name="geojson" hidden { (text) }
                            p.actions {
                                button type="submit" { "Wijken opslaan" }
                                " "
                                a.button.secondary href="/beheer/wijken" { "Annuleren" }
                            }
                        }
                    } @else {
                        h2 { "Wijken inlezen" }
                        p { "Kies een GeoJSON-bestand met wijkgrenzen, bijvoorbeeld het wijkenbestand van het CBS (eigenschappen " code { "wijkcode" } " of " code { "WK_CODE" } " en " code { "wijknaam" } " of " code { "WK_NAAM" } "), in WGS84 of in RD New (EPSG:28992)." }
                        form #wijken-form method="post" action="/beheer/wijken" {
                            p.file-label { "Bestand (.geojson of .json)" }
                            // The browser's own control says "Choose File" in its language;
                            // this one says what it does, in Dutch, and names the file chosen.
                            p.file-pick {
                                input #bestand.file-hidden type="file" accept=".geojson,.json,application/geo+json,application/json";
                                label.button.secondary for="bestand" { "Bestand kiezen…" }
                                " "
                                span #bestand-naam.muted aria-live="polite" { "Geen bestand gekozen" }
                            }
                            label for="geojson" { "…of plak de GeoJSON hier" }
                            textarea #geojson name="geojson" rows="4" {}
                            p.actions { button type="submit" { "Bekijken" } }
                        }
                        h2 { "Huidige wijken" }
                        @if current.is_empty() { p.muted { "Nog geen wijken." } }
                        ul #wijken-huidig { @for (code, name, _) in current { li { (name) " " span.muted { "(" (code) ")" } } } }
                    }
                }
                section.br-mapwrap {
                    div #br-map data-basemap=(state.config.basemap_url) data-mode="wijken" role="region" aria-label="Kaart van de wijken" {}
                    script #br-wijken type="application/json" { (embed(&wijken_json(&shown))) }
                }
            }
        },
    )
}

async fn show_wijken(
    state: Arc<AppState>,
    user: WebUser,
    notice: Option<Markup>,
    preview: Option<(&[ParsedWijk], &str)>,
) -> Response {
    let g = user.gemeente;
    let current = state
        .store
        .read(g, move |tx| {
            Ok(state::load_wijken(tx, g)?
                .into_iter()
                .map(|w| (w.code, w.name, w.boundary))
                .collect::<Vec<WijkRow>>())
        })
        .await;
    match current {
        Ok(cur) => render_wijken(&state, &user, &cur, notice, preview).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn wijken_page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
) -> Response {
    show_wijken(state, user, None, None).await
}

fn parse_upload(text: &str) -> Result<Vec<ParsedWijk>, RulesError> {
    if text.len() > MAX_GEOJSON_BYTES {
        return Err(RulesError::Invalid(
            "Het bestand is te groot (meer dan 3 MB). Exporteer alleen de wijken van uw gemeente."
                .into(),
        ));
    }
    ops::parse_wijken(text)
}

async fn wijken_upload(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    Form(form): Form<WijkenForm>,
) -> Response {
    match parse_upload(&form.geojson) {
        Ok(parsed) => show_wijken(state, user, None, Some((&parsed, &form.geojson))).await,
        Err(e) => show_wijken(state, user, Some(error_notice(&e)), None).await,
    }
}

async fn wijken_confirm(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<WijkenForm>,
) -> Response {
    let parsed = match parse_upload(&form.geojson) {
        Ok(p) => p,
        Err(e) => return show_wijken(state, user, Some(error_notice(&e)), None).await,
    };
    let caller = Caller::web(&user, address);
    let done = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(ops::import_wijken(tx, &caller, &parsed))
        })
        .await;
    let notice = match done {
        Ok(Ok((added, updated))) => html! {
            p.notice.ok role="status" { "Wijken opgeslagen: " (added) " toegevoegd, " (updated) " bijgewerkt. Telefoons krijgen ze bij hun volgende synchronisatie." }
        },
        Ok(Err(e @ RulesError::Invalid(_))) => error_notice(&e),
        Ok(Err(e)) => return fail(e),
        Err(e) => return ApiError::from(e).into_response(),
    };
    show_wijken(state, user, Some(notice), None).await
}

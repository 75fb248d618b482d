//! The meldpunt inbox as server-rendered pages (`/meldpunt`): the list in urgency order
//! with the 48-hour clock, unlocking the key for the session, opening a form and handling
//! it ("bekend bij", the visit, the status and a short message for the reporter).
//!
//! Plain HTML forms and links, no script. Every URL carries ids only; a form's content
//! appears only in the body of the page that opened it, and that open is audited.
//!
//! A refused handling (a status without the date or the "bekend bij" choice it needs, a
//! date that does not parse, …; see [`inbox::check_status`]) is answered with the form page
//! itself (422): the Dutch reason above the handling fields, the fields as the user typed
//! them, and the saved state unchanged beside it. Showing the content again is an audited
//! open like any other.

use std::sync::Arc;

use age::secrecy::SecretString;
use avondronde_shared::CareFormId;
use avondronde_shared::care::{Birth, CareFormContent, CareStatus, FEEDBACK_MAX_CHARS};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;

use super::inbox::{self, Clock, FormRow, Handling, KnownTo, format_local, format_span};
use super::keys::OpenError;
use crate::audit::ClientAddr;
use crate::auth::{Page, WebUser, roles};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;
use crate::web::layout;

/// The inbox's own styles, on top of the shared stylesheet.
const MELDPUNT_CSS: &str = include_str!("../../assets/meldpunt.css");

/// Routes of the inbox pages.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/meldpunt", get(inbox_page))
        .route("/meldpunt/ontgrendelen", post(unlock))
        .route("/meldpunt/vergrendelen", post(lock))
        .route("/meldpunt/formulieren/{id}", get(form_page).post(save))
        .route("/meldpunt/formulieren/{id}/vasthouden", post(hold))
        .route("/static/meldpunt.css", get(css))
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        MELDPUNT_CSS,
    )
}

fn head() -> Markup {
    html! { link rel="stylesheet" href="/static/meldpunt.css"; }
}

/// Notices and errors passed through a redirect, as codes (never free text in a URL).
#[derive(Debug, Default, Deserialize)]
struct Notice {
    #[serde(default)]
    alle: Option<String>,
    #[serde(default)]
    melding: Option<String>,
    #[serde(default)]
    fout: Option<String>,
}

fn notice(n: &Notice) -> Markup {
    let ok = match n.melding.as_deref() {
        Some("vergrendeld") => {
            Some("Sleutel vergrendeld. Formulieren openen kan pas weer na ontgrendelen.")
        }
        Some("opgeslagen") => Some(
            "Opgeslagen. Een nieuwe status of een nieuw bericht ziet de melder bij de volgende synchronisatie van de telefoon.",
        ),
        Some("ongewijzigd") => Some("Er was niets gewijzigd."),
        _ => None,
    };
    let err = match n.fout.as_deref() {
        Some("wachtwoordzin") => Some(super::keys::KeyError::WrongPassphrase.to_string()),
        Some("geen-sleutel") => Some(super::keys::KeyError::NoKey.to_string()),
        Some("te-vaak") => {
            Some("Te veel pogingen. Wacht een minuut en probeer het opnieuw.".to_owned())
        }
        Some(_) => Some("Dat is niet gelukt. Probeer het opnieuw.".to_owned()),
        None => None,
    };
    html! {
        @if let Some(m) = ok { p.notice.ok role="status" { (m) } }
        @if let Some(e) = err { p.notice.error role="alert" { (e) } }
    }
}

/// The urgency badge of a row.
fn urgency(row: &FormRow, now: Timestamp) -> Markup {
    match row.clock(now) {
        Clock::Overdue(d) => html! { span.badge.alert { "Te laat: " (format_span(d)) } },
        Clock::Running(d) if d.as_hours() < 12 => {
            html! { span.badge.warn { "Nog " (format_span(d)) } }
        }
        Clock::Running(d) => html! { span.badge { "Nog " (format_span(d)) } },
        Clock::Stopped if inbox::is_final(&row.status) => html! { span.muted { "Afgehandeld" } },
        Clock::Stopped => match row.visit_at {
            // A planned visit whose time has passed waits for its outcome to be recorded.
            Some(v) if v < now && row.status == CareStatus::VisitPlanned => {
                html! { span.badge.warn title="Het bezoek had moeten plaatsvinden: leg de uitkomst vast" { "Bezoek geweest? (" (short_local(v)) ")" } }
            }
            Some(v) if row.visit_after_deadline() => {
                html! { span.badge.warn title="Het bezoek ligt na de 48-uursgrens" { "Bezoek " (short_local(v)) " (na 48 u)" } }
            }
            Some(v) => html! { span.badge.ok { "Bezoek " (short_local(v)) } },
            None => html! { span.muted { "geen 48-uurstermijn" } },
        },
    }
}

/// `24-11 10:00`: a visit is days away at most, so the year is noise in a list.
fn short_local(at: Timestamp) -> String {
    crate::dates::format_local_short(at)
}

/// [`format_local`] as a date and a time that may go onto two lines, so that the inbox
/// fits a narrow window without wrapping inside the date.
fn date_and_time(at: Timestamp) -> Markup {
    let shown = format_local(at);
    let (date, time) = shown.split_once(' ').unwrap_or((shown.as_str(), ""));
    html! { span.nowrap { (date) } " " span.nowrap { (time) } }
}

fn known_to_cell(row: &FormRow) -> Markup {
    match row.known_to {
        None => html! { span.badge.warn { "Nog niet gecontroleerd" } },
        Some(k) => html! { span { (k.label_nl()) } },
    }
}

/// The root signing key's fingerprint as words, for a person to compare with what a phone
/// shows after enrolling by hand (issue 10).
fn fingerprint_panel(fingerprint: Option<avondronde_shared::keychain::Fingerprint>) -> Markup {
    html! {
        @if let Some(f) = fingerprint {
            p.muted.small #vingerafdruk {
                "Vingerafdruk van de meldpuntsleutel: "
                strong.fingerprint { (f.words_line()) }
                ". Telefoons tonen bij handmatig aanmelden dezelfde woorden; klopt één woord niet, meld het dan aan de beheerder."
            }
        } @else {
            p.notice.error.small role="alert" {
                "Deze meldpuntsleutel is niet ondertekend; telefoons versleutelen er niets mee. Vervang de sleutel op de pagina Sleutel om een ondertekende sleutel te maken."
            }
        }
    }
}

fn key_panel(has_key: bool, unlocked: bool, back: &str) -> Markup {
    html! {
        @if !has_key {
            div.notice.error role="alert" {
                (super::keys::KeyError::NoKey.to_string()) " "
                a href="/meldpunt/sleutel" { "Sleutel aanmaken" }
            }
        } @else if unlocked {
            div.keybar.unlocked {
                span { strong { "Sleutel ontgrendeld" } " voor deze sessie. Formulieren openen wordt vastgelegd in het auditlog." }
                form method="post" action="/meldpunt/vergrendelen" {
                    button.secondary type="submit" { "Vergrendelen" }
                }
            }
        } @else {
            form.keybar.locked method="post" action="/meldpunt/ontgrendelen" {
                input type="hidden" name="terug" value=(back);
                div.grow {
                    label for="passphrase" { "Wachtwoordzin van de meldpuntsleutel" }
                    input #passphrase type="password" name="passphrase" autocomplete="off" required;
                    p.muted.small { "Nodig om formulieren te openen. Geldt alleen voor deze sessie: bij uitloggen of na 12 uur is de sleutel weer dicht. De server bewaart de wachtwoordzin niet." }
                }
                button type="submit" { "Ontgrendelen" }
            }
        }
    }
}

async fn key_state(state: &Arc<AppState>, user: &WebUser) -> Result<(bool, bool), ApiError> {
    let gemeente = user.gemeente;
    let has_key = state
        .store
        .read(gemeente, move |tx| {
            Ok(store::meldpunt_keys::current(tx, gemeente)?.is_some())
        })
        .await?;
    Ok((has_key, super::ring(state, user).is_some()))
}

fn error_page(user: &WebUser, e: ApiError) -> Response {
    let status = e.status_code();
    let text = match &e {
        ApiError::Internal(_) => {
            "Er ging iets mis op de server. Probeer het later opnieuw.".to_owned()
        }
        other => other.to_string(),
    };
    if let ApiError::Internal(detail) = &e {
        tracing::error!(%detail, "meldpunt page failed");
    }
    let page = layout(
        "Zorgformulieren",
        Some(user),
        "/meldpunt",
        false,
        head(),
        html! {
            h1 { "Zorgformulieren" }
            p.notice.error role="alert" { (text) }
            p { a href="/meldpunt" { "Terug naar de zorgformulieren" } }
        },
    );
    let res = (status, page).into_response();
    if let ApiError::Unavailable = e {
        crate::web::with_retry_after(res)
    } else {
        res
    }
}

async fn inbox_page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Meldpunt>,
    ClientAddr(addr): ClientAddr,
    n: Result<Query<Notice>, QueryRejection>,
) -> Response {
    let n = n.map(|Query(n)| n).unwrap_or_default();
    let all = n.alle.is_some();
    let rows = match super::list(&state, &user, all, addr).await {
        Ok(r) => r,
        Err(e) => return error_page(&user, e),
    };
    let (has_key, unlocked) = match key_state(&state, &user).await {
        Ok(k) => k,
        Err(e) => return error_page(&user, e),
    };
    let gemeente = user.gemeente;
    let fingerprint = match state
        .store
        .read(gemeente, move |tx| {
            super::keys::root_fingerprint(tx, gemeente)
        })
        .await
    {
        Ok(f) => f,
        Err(e) => return error_page(&user, e.into()),
    };
    let now = Timestamp::now();
    let overdue = rows
        .iter()
        .filter(|r| matches!(r.clock(now), Clock::Overdue(_)))
        .count();
    let running = rows
        .iter()
        .filter(|r| matches!(r.clock(now), Clock::Running(_)))
        .count();
    let open = rows.iter().filter(|r| !inbox::is_final(&r.status)).count();
    let gemeente = user.gemeente;
    let stale = match state
        .store
        .read(gemeente, move |tx| {
            super::open_forms::stale(tx, gemeente, now)
        })
        .await
    {
        Ok(s) => s,
        Err(e) => return error_page(&user, e.into()),
    };
    layout(
        "Zorgformulieren",
        Some(&user),
        "/meldpunt",
        false,
        head(),
        html! {
            h1 { "Zorgformulieren" }
            (notice(&n))
            (key_panel(has_key, unlocked, "/meldpunt"))
            @if has_key { (fingerprint_panel(fingerprint)) }
            div.summary {
                span.count.alert[overdue > 0] { strong { (overdue) } " te laat" }
                span.count { strong { (running) } " binnen 48 uur te doen" }
                span.count { strong { (open) } " openstaand" }
                nav.tabs aria-label="Filter" {
                    a href="/meldpunt" class=[(!all).then_some("active")] { "Openstaand" }
                    a href="/meldpunt?alle=1" class=[all.then_some("active")] { "Alle, ook afgehandeld" }
                }
            }
            @if !stale.is_empty() {
                (stale_panel(&stale))
            }
            p.muted.small {
                "Gesorteerd op urgentie. De 48 uur lopen vanaf ontvangst tot de familie is gecontroleerd en bekend is bij de hulpverlening, of tot er een huisbezoek is gepland. Tijden in Nederlandse tijd."
            }
            @if rows.is_empty() {
                div.panel { p.muted { "Geen zorgformulieren." } }
            } @else {
                table.inbox.stack {
                    thead { tr {
                        th { "Urgentie" } th { "Ontvangen" } th { "Uiterlijk" } th { "Wijk" }
                        th { "Melder" } th { "Leeftijd" } th { "Bekend bij" } th { "Status" } th {}
                    } }
                    tbody {
                        @for (i, r) in rows.iter().enumerate() {
                            @let late = matches!(r.clock(now), Clock::Overdue(_));
                            tr class=[late.then_some("overdue")] data-form=(r.id) data-rank=(i) {
                                td data-label="Urgentie" { (urgency(r, now)) }
                                td data-label="Ontvangen" { (date_and_time(r.received_at)) }
                                td data-label="Uiterlijk" { (date_and_time(r.deadline())) }
                                td data-label="Wijk" { (r.wijk.as_deref().unwrap_or("—")) }
                                td data-label="Melder" { (r.reporter_label()) }
                                td.nowrap data-label="Leeftijd" { (r.age_band.map_or("—", |b| b.label_nl())) }
                                td data-label="Bekend bij" { (known_to_cell(r)) }
                                td data-label="Status" {
                                    (r.status.label_nl())
                                    @if !r.earlier.is_empty() {
                                        br;
                                        span.badge.match title="Volgens naam en geboortedatum eerder gemeld" {
                                            "Eerder gemeld (" (r.earlier.len()) ")"
                                        }
                                    }
                                }
                                td.wide { a.button.small href={ "/meldpunt/formulieren/" (r.id) } { "Openen" } }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

/// The warning about open forms that have not changed for months (issue 9): when each
/// will be deleted, and a button to hold it on purpose (or release it).
fn stale_panel(stale: &[super::open_forms::StaleForm]) -> Markup {
    html! {
        div.notice.warn #open-forms role="status" {
            strong { (stale.len()) " openstaande formulieren zijn al maanden niet gewijzigd." }
            " Een open formulier wordt verwijderd (met een regel in het auditlog) als het te lang niet is gewijzigd, tenzij u het bewust vasthoudt."
            ul {
                @for f in stale {
                    li data-form=(f.id) {
                        a href={ "/meldpunt/formulieren/" (f.id) } { "Laatst gewijzigd " (format_local(f.updated_at)) }
                        @if f.held {
                            " — bewust vastgehouden, wordt niet verwijderd. "
                        } @else {
                            " — wordt verwijderd vanaf " (format_local(f.deleted_from)) ". "
                        }
                        form.inline method="post" action={ "/meldpunt/formulieren/" (f.id) "/vasthouden" } {
                            input type="hidden" name="vast" value=(if f.held { "0" } else { "1" });
                            button.small.secondary type="submit" {
                                (if f.held { "Vasthouden opheffen" } else { "Bewust vasthouden" })
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct HoldForm {
    vast: String,
}

async fn hold(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Meldpunt>,
    Path(id): Path<String>,
    Form(form): Form<HoldForm>,
) -> Response {
    let Ok(id) = id.parse::<CareFormId>() else {
        return error_page(&user, ApiError::NotFound);
    };
    let held = form.vast == "1";
    let actor = crate::audit::Actor::user(&user);
    let gemeente = user.gemeente;
    let now = crate::db::now_ms();
    match state
        .store
        .write(gemeente, move |tx| {
            super::open_forms::set_held(tx, gemeente, id, held, &actor, now)
        })
        .await
    {
        Ok(true) => Redirect::to("/meldpunt?melding=opgeslagen").into_response(),
        Ok(false) => error_page(&user, ApiError::NotFound),
        Err(e) => error_page(&user, e.into()),
    }
}

#[derive(Deserialize)]
struct UnlockForm {
    passphrase: String,
    #[serde(default)]
    terug: String,
}

/// Only paths of the inbox itself are followed after unlocking (no open redirect).
fn back_to(terug: &str) -> String {
    let ok = terug == "/meldpunt"
        || terug
            .strip_prefix("/meldpunt/formulieren/")
            .is_some_and(|id| id.parse::<CareFormId>().is_ok());
    if ok {
        terug.to_owned()
    } else {
        "/meldpunt".to_owned()
    }
}

fn with_query(path: &str, query: &str) -> String {
    format!("{path}?{query}")
}

async fn unlock(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Meldpunt>,
    ClientAddr(addr): ClientAddr,
    Form(form): Form<UnlockForm>,
) -> Response {
    let back = back_to(&form.terug);
    let code = match super::unlock(&state, &user, SecretString::from(form.passphrase), addr).await {
        Ok(()) => "melding=ontgrendeld",
        Err(ApiError::Invalid(_)) => "fout=wachtwoordzin",
        Err(ApiError::Conflict(_)) => "fout=geen-sleutel",
        Err(ApiError::TooManyRequests) => "fout=te-vaak",
        Err(e) => return error_page(&user, e),
    };
    Redirect::to(&with_query(&back, code)).into_response()
}

async fn lock(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Meldpunt>,
    ClientAddr(addr): ClientAddr,
) -> Response {
    match super::lock(&state, &user, addr).await {
        Ok(()) => Redirect::to("/meldpunt?melding=vergrendeld").into_response(),
        Err(e) => error_page(&user, e),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "ja" } else { "nee" }
}

fn content_panel(c: &CareFormContent) -> Markup {
    html! {
        dl.content {
            dt { "Naam kind" } dd.name { (c.child_name) }
            dt { "Geboortedatum" }
            dd { @match &c.birth {
                Birth::Date(d) => (crate::dates::format_date(*d)),
                Birth::EstimatedAge(a) => { "onbekend; geschat " (a) " jaar" },
            } }
            dt { "Adres" } dd { (c.address) }
            dt { "Thuis ontvangen" } dd { (c.reception.label_nl()) }
            dt { "Broertjes of zusjes aanwezig" } dd { (yes_no(c.siblings_present)) }
            dt { "Reactie ouders" } dd { (c.parents_reaction.label_nl()) }
            dt { "Ouders weten van de melding" } dd { (yes_no(c.parents_informed)) }
            dt { "Zorgsignalen" }
            dd {
                @if c.signals.is_empty() { span.muted { "geen aangekruist" } }
                @for s in &c.signals { span.badge.signal { (s.label_nl()) } " " }
            }
            dt { "Toelichting melder" }
            dd.narrative {
                @if c.narrative.is_empty() { span.muted { "geen" } } @else { (c.narrative) }
            }
        }
    }
}

/// The visit as the input shows it: `24-11-2026 14:30`. A text field rather than
/// `datetime-local`, whose format follows the browser's language and not the gemeente's.
fn local_input(at: Option<Timestamp>) -> String {
    at.map(format_local).unwrap_or_default()
}

/// A refused save: what the user typed, and why it was refused (Dutch).
struct Refused<'a> {
    typed: &'a HandlingForm,
    reason: &'a str,
}

fn handling_form(row: &FormRow, refused: Option<&Refused<'_>>) -> Markup {
    // After a refusal the fields show what the user typed, not what is saved.
    let typed = refused.map(|r| r.typed);
    let known = |code: &str| match typed {
        Some(t) => t.known_to == code,
        None => row.known_to.map_or("", KnownTo::code) == code,
    };
    let visit = typed.map_or_else(|| local_input(row.visit_at), |t| t.visit_at.clone());
    let status = typed.map_or(row.status.code(), |t| t.status.as_str());
    let message = typed.map_or(row.message.as_deref().unwrap_or(""), |t| t.message.as_str());
    html! {
        form.handling method="post" action={ "/meldpunt/formulieren/" (row.id) }
            aria-describedby=[refused.map(|_| "handling-error")] {
            @if let Some(r) = refused {
                p.notice.error #handling-error role="alert" { (r.reason) " Er is niets opgeslagen." }
            }
            fieldset {
                legend { "Bekend bij de hulpverlening?" }
                label.choice { input type="radio" name="known_to" value="" checked[known("")]; " Nog niet gecontroleerd" }
                @for k in KnownTo::ALL {
                    label.choice {
                        input type="radio" name="known_to" value=(k.code()) checked[known(k.code())];
                        " " (match k { KnownTo::Bjz => "Bureau Jeugdzorg (BJZ)", KnownTo::Onbekend => "Onbekend: nergens bekend", _ => k.label_nl() })
                    }
                }
            }
            label for="visit_at" { "Huisbezoek gepland op" }
            input #visit_at type="text" name="visit_at" value=(visit)
                placeholder="dd-mm-jjjj uu:mm, bijv. 24-11-2026 14:30" inputmode="numeric"
                pattern="\\s*\\d{1,2}-\\d{1,2}-\\d{4}\\s+\\d{1,2}[:.]\\d{2}\\s*"
                title="dd-mm-jjjj uu:mm, bijv. 24-11-2026 14:30";
            p.muted.small { "Uiterlijk " (format_local(row.deadline())) " (48 uur na ontvangst), tenzij de familie al bekend is." }
            label for="status" { "Status" }
            select #status name="status" aria-describedby="status-hint" {
                @for s in CareStatus::KNOWN {
                    option value=(s.code()) selected[s.code() == status] { (s.label_nl()) }
                }
            }
            p #status-hint .hint {
                "'Huisbezoek gepland' vraagt de datum hierboven; 'bekend bij hulpverlening' vraagt Bureau Jeugdzorg, Veilig Thuis of wijkteam onder 'Bekend bij'."
            }
            label for="message" { "Bericht aan de melder" }
            textarea #message name="message" maxlength=(FEEDBACK_MAX_CHARS) rows="3" aria-describedby="message-hint" {
                (message)
            }
            p #message-hint .hint {
                "Maximaal " (FEEDBACK_MAX_CHARS) " tekens. De melder ziet dit bericht en de status in de app. Schrijf alleen de stand van zaken, geen zorginhoud of namen."
            }
            p { button type="submit" { "Opslaan" } }
        }
    }
}

fn related(title: &str, rows: &[FormRow]) -> Markup {
    html! {
        @if !rows.is_empty() {
            p { strong { (title) } }
            ul.related {
                @for r in rows {
                    li {
                        a href={ "/meldpunt/formulieren/" (r.id) } {
                            "Ontvangen " (format_local(r.received_at))
                        }
                        " · " (r.wijk.as_deref().unwrap_or("—")) " · " (r.status.label_nl())
                        @if let Some(k) = r.known_to { " (" (k.label_nl()) ")" }
                    }
                }
            }
        }
    }
}

async fn form_page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Meldpunt>,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    n: Result<Query<Notice>, QueryRejection>,
) -> Response {
    let Ok(id) = id.parse::<CareFormId>() else {
        return error_page(&user, ApiError::NotFound);
    };
    let n = n.map(|Query(n)| n).unwrap_or_default();
    render_form(&state, &user, addr, id, &n, None).await
}

/// The form page: the saved state, and the handling form (after a refusal: with what the
/// user typed and the reason, answered as 422).
async fn render_form(
    state: &Arc<AppState>,
    user: &WebUser,
    addr: Option<std::net::IpAddr>,
    id: CareFormId,
    n: &Notice,
    refused: Option<Refused<'_>>,
) -> Response {
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (has_key, unlocked) = match key_state(state, user).await {
        Ok(k) => k,
        Err(e) => return error_page(user, e),
    };
    let now = Timestamp::now();
    let back = format!("/meldpunt/formulieren/{id}");
    if !unlocked {
        // Locked: the routing data only, and the unlock form that comes back here.
        let gemeente = user.gemeente;
        let row = match state
            .store
            .read(gemeente, move |tx| inbox::get(tx, gemeente, id))
            .await
        {
            Ok(Some(r)) => r,
            Ok(None) => return error_page(user, ApiError::NotFound),
            Err(e) => return error_page(user, e.into()),
        };
        let page = layout(
            "Zorgformulier",
            Some(user),
            "/meldpunt",
            false,
            head(),
            html! {
                p { a href="/meldpunt" { "← Alle zorgformulieren" } }
                h1 { "Zorgformulier" }
                (notice(n))
                @if let Some(r) = &refused {
                    p.notice.error #handling-error role="alert" { (r.reason) " Er is niets opgeslagen." }
                }
                (meta(&row, now))
                (key_panel(has_key, false, &back))
            },
        );
        return (status, page).into_response();
    }
    let opened = match super::open(state, user, id, addr).await {
        Ok(o) => o,
        Err(e) => return error_page(user, e),
    };
    let row = &opened.row;
    let page = layout(
        "Zorgformulier",
        Some(user),
        "/meldpunt",
        false,
        head(),
        html! {
            p { a href="/meldpunt" { "← Alle zorgformulieren" } }
            h1 { "Zorgformulier" }
            (notice(n))
            (key_panel(has_key, true, &back))
            @if !opened.earlier.is_empty() || !opened.later.is_empty() {
                div.notice.match role="note" {
                    p { strong { "Dit kind is vaker gemeld." } " Naam en geboortedatum komen overeen met "
                        (opened.earlier.len() + opened.later.len()) " ander(e) formulier(en). Controleer of het om hetzelfde kind gaat." }
                    (related("Eerder gemeld:", &opened.earlier))
                    (related("Later gemeld:", &opened.later))
                }
            }
            (meta(row, now))
            div.grid2.form-grid {
                section.panel {
                    h2 { "Melding" }
                    @match &opened.content {
                        Ok(c) => (content_panel(c)),
                        Err(e @ (OpenError::NoMatchingKey | OpenError::Damaged)) => p.notice.error role="alert" { (e.to_string()) },
                    }
                }
                section.panel {
                    h2 { "Afhandeling" }
                    (handling_form(row, refused.as_ref()))
                }
            }
        },
    );
    (status, page).into_response()
}

fn meta(row: &FormRow, now: Timestamp) -> Markup {
    html! {
        div.meta.panel {
            div { span.label { "Urgentie" } (urgency(row, now)) }
            div { span.label { "Ontvangen" } (format_local(row.received_at)) }
            div { span.label { "Uiterlijk" } (format_local(row.deadline())) }
            div { span.label { "Wijk" } (row.wijk.as_deref().unwrap_or("—")) }
            div { span.label { "Melder" } (row.reporter_label()) }
            div { span.label { "Leeftijd" } (row.age_band.map_or("—", |b| b.label_nl())) }
            div { span.label { "Status" } (row.status.label_nl()) }
            div { span.label { "Bekend bij" } (known_to_cell(row)) }
        }
    }
}

/// The handling form as posted (and shown again as typed after a refusal).
#[derive(Deserialize)]
struct HandlingForm {
    #[serde(default)]
    known_to: String,
    #[serde(default)]
    visit_at: String,
    status: String,
    #[serde(default)]
    message: String,
}

/// Parses a visit time as Amsterdam time (see [`crate::dates::parse_local_datetime`]).
fn parse_local(s: &str) -> Result<Option<Timestamp>, ()> {
    crate::dates::parse_local_datetime(s).map_err(|_| ())
}

async fn save(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Meldpunt>,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    Form(form): Form<HandlingForm>,
) -> Response {
    let Ok(id) = id.parse::<CareFormId>() else {
        return error_page(&user, ApiError::NotFound);
    };
    let back = format!("/meldpunt/formulieren/{id}");
    let handling = match handling_of(&form) {
        Ok(h) => h,
        Err(reason) => return refuse(&state, &user, addr, id, &form, &reason).await,
    };
    // The rules themselves (what each status needs, the date's range, the message's
    // length) are checked once, in `inbox::validate`, for this page and the API alike.
    match super::handle(&state, &user, id, handling, addr).await {
        Ok((_, changes)) if changes.detail.is_empty() => {
            Redirect::to(&with_query(&back, "melding=ongewijzigd")).into_response()
        }
        Ok(_) => Redirect::to(&with_query(&back, "melding=opgeslagen")).into_response(),
        Err(ApiError::Invalid(reason)) => refuse(&state, &user, addr, id, &form, &reason).await,
        Err(e) => error_page(&user, e),
    }
}

/// Reads the posted fields; the error says in Dutch which one does not parse.
fn handling_of(form: &HandlingForm) -> Result<Handling, String> {
    let known_to = match form.known_to.as_str() {
        "" => None,
        code => Some(KnownTo::from_code(code).ok_or_else(|| {
            "Kies onder 'Bekend bij de hulpverlening?' een van de mogelijkheden.".to_owned()
        })?),
    };
    let visit_at = parse_local(&form.visit_at).map_err(|()| {
        "De datum van het huisbezoek klopt niet: schrijf hem als dd-mm-jjjj uu:mm, bijvoorbeeld 24-11-2026 14:30.".to_owned()
    })?;
    let status = CareStatus::from(form.status.clone());
    if !status.is_known() {
        return Err("Kies een status uit de lijst.".into());
    }
    Ok(Handling {
        status,
        known_to,
        visit_at,
        message: Some(form.message.clone()),
    })
}

/// Answers a refused save with the form page: the reason, and the fields as typed.
async fn refuse(
    state: &Arc<AppState>,
    user: &WebUser,
    addr: Option<std::net::IpAddr>,
    id: CareFormId,
    typed: &HandlingForm,
    reason: &str,
) -> Response {
    let refused = Refused { typed, reason };
    render_form(state, user, addr, id, &Notice::default(), Some(refused)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planned_visit_whose_time_has_passed_asks_for_its_outcome() {
        let now: Timestamp = "2026-12-05T12:00:00Z".parse().expect("ts");
        let row = |visit_at: Timestamp| FormRow {
            id: CareFormId::new(),
            received_at: now - jiff::SignedDuration::from_hours(60),
            wijk: None,
            reporter_role: "boa".into(),
            age_band: None,
            status: CareStatus::VisitPlanned,
            known_to: None,
            visit_at: Some(visit_at),
            message: None,
            recipient_key: avondronde_shared::care::RecipientKeyId("k".into()),
            matched: false,
            earlier: vec![],
        };
        let past = urgency(&row(now - jiff::SignedDuration::from_hours(2)), now).into_string();
        assert!(past.contains("Bezoek geweest? (05-12 11:00)"), "{past}");
        let coming = urgency(&row(now + jiff::SignedDuration::from_hours(2)), now).into_string();
        assert!(
            coming.contains("Bezoek 05-12 15:00") && !coming.contains("geweest"),
            "{coming}"
        );
    }

    #[test]
    fn only_inbox_paths_are_followed_after_unlocking() {
        let id = CareFormId::new();
        assert_eq!(back_to("/meldpunt"), "/meldpunt");
        let form = format!("/meldpunt/formulieren/{id}");
        assert_eq!(back_to(&form), form);
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/meldpunt/../beheer",
            "",
        ] {
            assert_eq!(back_to(evil), "/meldpunt", "{evil}");
        }
    }

    #[test]
    fn visit_times_are_read_as_amsterdam_time() {
        let t = parse_local("26-10-2026 14:00").expect("ok").expect("some");
        assert_eq!(t.to_string(), "2026-10-26T13:00:00Z");
        assert_eq!(
            parse_local(" 6-4-2026  9.30 "),
            Ok(Some("2026-04-06T07:30:00Z".parse().expect("ts")))
        );
        assert_eq!(parse_local("2026-10-26T14:00"), Ok(Some(t)));
        assert_eq!(parse_local(" "), Ok(None));
        for bad in [
            "26-10-2026",
            "31-02-2026 10:00",
            "26-10-2026 25:00",
            "morgen",
        ] {
            assert!(parse_local(bad).is_err(), "{bad}");
        }
        assert_eq!(local_input(Some(t)), "26-10-2026 14:00");
    }
}

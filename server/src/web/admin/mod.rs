//! The gemeente's admin area (`/beheer`, issue 12): an overview, and one page per task
//! behind a small navigation: users, phones, norms, area rules, wijken, and retention with
//! the phones. Everything is scoped to the admin's own gemeente, every change goes
//! through the same functions the command line calls ([`crate::admin`],
//! [`crate::retention`], …) so it is validated, all or nothing and audited in one place,
//! and the admin never sees care-form content.
//!
//! The pages are plain HTML forms (no script). A change answers with a redirect to its
//! page (Post/Redirect/Get), so that reloading the page never sends the form again; the
//! result waits on the server for that one page view ([`redirect_with`], [`take_notice`],
//! [`crate::web::notices`])
//! and is never passed through a URL itself, because some results are one-time secrets (a
//! first-password code, a reset code). A refusal, which changed nothing, is rendered in
//! the answer to its POST with what was typed, and so is the enrolment code's QR page.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};

use super::layout;
use crate::auth::{Page, WebUser, roles};
use crate::db::DbError;
use crate::error::ApiError;
use crate::state::{self, AppState};
use crate::store::Tx;

pub mod phones;
pub mod settings;
pub mod users;

/// Routes of the admin area (the norms, area-rule and wijk pages have their own modules).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/beheer", get(overview_page))
        .merge(users::router())
        .merge(phones::router())
        .merge(settings::router())
}

/// The admin area's sections: (path, label).
pub const SECTIONS: &[(&str, &str)] = &[
    ("/beheer", "Overzicht"),
    ("/beheer/gebruikers", "Gebruikers"),
    ("/beheer/telefoons", "Telefoons"),
    ("/beheer/normen", "Normen"),
    ("/beheer/gebiedsregels", "Gebiedsregels"),
    ("/beheer/wijken", "Wijken"),
    ("/beheer/instellingen", "Instellingen"),
];

/// A page of the admin area: the shared layout, the section navigation with `active`
/// marked, an optional notice, then the body.
pub fn page(
    user: &WebUser,
    title: &str,
    active: &str,
    notice: Option<Markup>,
    body: Markup,
) -> Markup {
    layout(
        title,
        Some(user),
        "/beheer",
        false,
        html! {},
        html! {
            (section_nav(active))
            h1 { (title) }
            @if let Some(n) = notice { (n) }
            (body)
        },
    )
}

/// The admin area's section navigation, with `active` marked (also used by the norms,
/// area-rule and wijk pages, which need their own page head for the map).
pub fn section_nav(active: &str) -> Markup {
    html! {
        nav.subnav aria-label="Beheer" {
            @for (path, label) in SECTIONS {
                a href=(path) class=[(*path == active).then_some("active")]
                    aria-current=[(*path == active).then_some("page")] { (label) }
            }
        }
    }
}

/// A green notice that something was done.
pub fn done(text: impl AsRef<str>) -> Markup {
    html! { p.notice.ok role="status" { (text.as_ref()) } }
}

/// A red notice that says what was wrong; nothing was changed.
pub fn refused(text: impl AsRef<str>) -> Markup {
    html! { p.notice.error role="alert" { (text.as_ref()) " Er is niets gewijzigd." } }
}

/// The query parameter that carries a waiting result's token.
pub const NOTICE_PARAM: &str = "melding";

/// Answers a successful POST with a redirect (303) to `path`, where `notice` is shown
/// once, to this user only ([`take_notice`]). The URL holds a random token, never the
/// notice.
pub fn redirect_with(state: &AppState, user: &WebUser, path: &str, notice: Markup) -> Response {
    let token = state
        .notices
        .put(user.id, notice.into_string(), crate::db::now_ms());
    Redirect::to(&format!("{path}?{NOTICE_PARAM}={token}")).into_response()
}

/// The result waiting under `token` for this user, taken (a reload shows the page without
/// it: a one-time code is shown once).
pub fn take_notice(state: &AppState, user: &WebUser, token: Option<&str>) -> Option<Markup> {
    state
        .notices
        .take(user.id, token?, crate::db::now_ms())
        .map(maud::PreEscaped)
}

/// The query of a page that a POST may redirect to.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoticeQuery {
    /// The token of a waiting result.
    #[serde(default)]
    pub melding: Option<String>,
}

/// "1 telefoon", "2 telefoons": a count with its noun in the singular or plural.
pub fn count(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The answer to a failed storage call: the error page (a 503 page with `Retry-After` when
/// the database is busy; other 5xx details only in the log).
pub fn failed(e: impl Into<ApiError>) -> Response {
    crate::web::failed_page(None, e)
}

struct Overview {
    gemeente: String,
    norms: String,
    wijken: Vec<(String, String)>,
    users: usize,
    phones: usize,
    unsent: i64,
    key: crate::meldpunt::keys::KeyStatus,
    phones_policy: avondronde_shared::sync::PhonePolicy,
    /// Rounds stored with a wijk the server did not know (issue 13): (rounds, their
    /// contacts).
    unknown_wijk: (usize, u64),
}

fn overview(state: &AppState, tx: &Tx, user: &WebUser) -> Result<Overview, DbError> {
    let g = user.gemeente;
    let gemeente = state::load_gemeente(tx, g)?
        .map(|g| format!("{} ({})", g.name, g.code))
        .unwrap_or_default();
    let rules = state.gemeente_rules(tx, g)?;
    let n = &rules.norms;
    let fmt = |t: Option<jiff::civil::Time>| {
        t.map_or("geen norm".to_owned(), |t| t.strftime("%H:%M").to_string())
    };
    let norms = format!(
        "0–5 jaar tot {}, 6–9 jaar tot {}, 10–13 jaar tot {}; de nacht eindigt om {}",
        fmt(n.under6),
        fmt(n.age6_9),
        fmt(n.age10_13),
        n.night_end.strftime("%H:%M")
    );
    let wijken = rules
        .wijken
        .iter()
        .map(|w| (w.code.clone(), w.name.clone()))
        .collect();
    let users = crate::admin::users(tx, g)?;
    let devices = crate::admin::devices(tx, g)?;
    let active: Vec<_> = devices.iter().filter(|d| !d.revoked).collect();
    let unknown = crate::ingest::rounds_with_unknown_wijk(tx, g)?;
    Ok(Overview {
        gemeente,
        norms,
        wijken,
        users: users.iter().filter(|u| !u.disabled).count(),
        phones: active.len(),
        unsent: active.iter().filter_map(|d| d.unsent).sum(),
        key: crate::meldpunt::keys::status(tx, g)?,
        phones_policy: crate::phone_policy::get(tx, g)?,
        unknown_wijk: (unknown.len(), unknown.iter().map(|r| r.contacts).sum()),
    })
}

/// The notice about rounds whose wijk the server no longer knows, if there are any: they
/// are kept (their contacts count where their location lies), and the admin can make the
/// wijk known again.
fn unknown_wijk_notice((rounds, contacts): (usize, u64)) -> Option<Markup> {
    (rounds > 0).then(|| {
        html! {
            div.notice.info #onbekende-wijk role="status" {
                p {
                    strong { "Let op: " }
                    @if rounds == 1 {
                        "1 ronde noemt een wijk die de server niet kent"
                    } @else {
                        (rounds) " rondes noemen een wijk die de server niet kent"
                    }
                    " (samen " (contacts) @if contacts == 1 { " contact" } @else { " contacten" } ")."
                    " Ze zijn bewaard; de contacten tellen mee in de wijk waar hun locatie ligt."
                }
                p {
                    "Meestal heeft een telefoon niet gesynchroniseerd sinds een wijk is verwijderd. "
                    "Hoort die wijk er nog bij, upload de wijken dan opnieuw met de code van die wijk op "
                    a href="/beheer/wijken" { "Wijken" }
                    ". Laat daarna de telefoons synchroniseren, zodat hun volgende ronde een bekende wijk gebruikt."
                }
            }
        }
    })
}

async fn overview_page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
) -> Response {
    let st = state.clone();
    let u = user.clone();
    let o = match state
        .store
        .read(u.gemeente, move |tx| overview(&st, tx, &u))
        .await
    {
        Ok(o) => o,
        Err(e) => return failed(e),
    };
    page(
        &user,
        &format!("Beheer · {}", o.gemeente),
        "/beheer",
        unknown_wijk_notice(o.unknown_wijk),
        html! {
            div.grid2 {
                section.panel {
                    h2 { a href="/beheer/gebruikers" { "Gebruikers" } }
                    p { (o.users) " actieve gebruikers." }
                    h2 { a href="/beheer/telefoons" { "Telefoons" } }
                    p {
                        (o.phones) " aangemelde telefoons"
                        @if o.unsent > 0 { "; samen " span.badge.warn { (o.unsent) " nog niet verzonden" } }
                        "."
                    }
                    h2 { "Meldpuntsleutel" }
                    (settings::key_summary(&o.key))
                }
                section.panel {
                    h2 { a href="/beheer/normen" { "Buitenspeelnormen" } }
                    p { (o.norms) }
                    h2 { a href="/beheer/wijken" { "Wijken" } }
                    @if o.wijken.is_empty() {
                        p.muted { "Nog geen wijken." }
                    }
                    ul { @for (code, name) in &o.wijken { li { (name) " " span.muted { "(" (code) ")" } } } }
                    h2 { a href="/beheer/instellingen" { "Instellingen" } }
                    p #phone-policy {
                        "Telefoons vragen de pincode na " (count(o.phones_policy.lock_after_minutes, "minuut", "minuten"))
                        " op de achtergrond en bewaren contacten " (count(o.phones_policy.contact_retention_days, "dag", "dagen")) "."
                    }
                }
            }
        },
    )
    .into_response()
}

//! The admin's page (`/beheer`): the gemeente's wijken and norms at a glance, its people
//! and their phones, one-time enrolment codes and revoking a lost phone. Everything is
//! scoped to the admin's own gemeente; the admin never sees care-form content.

use std::sync::Arc;

use avondronde_shared::{DeviceId, Role};
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use rusqlite::params;
use serde::Deserialize;

use super::layout;
use crate::admin::{self, AdminError, Caller};
use crate::audit::ClientAddr;
use crate::auth::{Page, WebUser, roles};
use crate::db::DbError;
use crate::error::ApiError;
use crate::state::{self, AppState};

/// Routes of the admin page.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/beheer", get(page))
        .route("/beheer/code", post(issue_code))
        .route("/beheer/intrekken", post(revoke))
}

struct UserRow {
    username: String,
    role: String,
}

struct DeviceRow {
    id: String,
    username: String,
    label: String,
    last_seen: Option<i64>,
    offset_ms: Option<i64>,
    revoked: bool,
    /// Items (and drafts) the phone last reported as not yet sent (issue 10).
    unsent: Option<i64>,
}

struct Overview {
    gemeente: String,
    norms: String,
    wijken: Vec<(String, String)>,
    users: Vec<UserRow>,
    devices: Vec<DeviceRow>,
}

fn overview(
    state: &AppState,
    c: &rusqlite::Connection,
    user: &WebUser,
) -> Result<Overview, DbError> {
    let g = user.gemeente;
    let gemeente = state::load_gemeente(c, g)?
        .map(|g| format!("{} ({})", g.name, g.code))
        .unwrap_or_default();
    let rules = state.gemeente_rules(c, g)?;
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
    let mut stmt = c.prepare(
        "SELECT username, role FROM user WHERE gemeente_id = ?1 ORDER BY role, username",
    )?;
    let users = stmt
        .query_map(params![g.to_string()], |r| {
            Ok(UserRow {
                username: r.get(0)?,
                role: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = c.prepare(
        "SELECT d.id, u.username, d.label, d.last_seen_at, d.clock_offset_ms, d.revoked_at IS NOT NULL,
                d.outbox_pending
         FROM device d JOIN user u ON u.id = d.user_id WHERE u.gemeente_id = ?1
         ORDER BY d.revoked_at IS NOT NULL, u.username, d.created_at",
    )?;
    let devices = stmt
        .query_map(params![g.to_string()], |r| {
            Ok(DeviceRow {
                id: r.get(0)?,
                username: r.get(1)?,
                label: r.get(2)?,
                last_seen: r.get(3)?,
                offset_ms: r.get(4)?,
                revoked: r.get(5)?,
                unsent: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Overview {
        gemeente,
        norms,
        wijken,
        users,
        devices,
    })
}

fn local(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .map(avondronde_shared::time::date_hhmm)
        .unwrap_or_default()
}

fn render(user: &WebUser, o: &Overview, notice: Option<Markup>) -> Markup {
    let field_users: Vec<&UserRow> = o
        .users
        .iter()
        .filter(|u| Role::from_code(&u.role).is_some_and(Role::is_field))
        .collect();
    layout(
        "Beheer",
        Some(user),
        "/beheer",
        false,
        html! {},
        html! {
            h1 { "Beheer · " (o.gemeente) }
            @if let Some(n) = notice { (n) }
            div.grid2 {
                section.panel {
                    h2 { "Buitenspeelnormen" }
                    p { (o.norms) }
                    h2 { "Wijken" }
                    ul { @for (code, name) in &o.wijken { li { (name) " " span.muted { "(" (code) ")" } } } }
                    p.muted { "Wijken, normen en gebiedsregels stelt u in met " code { "avondronde-server admin" } "." }
                }
                section.panel {
                    h2 { "Telefoon aanmelden" }
                    p { "Een eenmalige aanmeldcode is 24 uur geldig en werkt op één telefoon." }
                    form method="post" action="/beheer/code" {
                        label for="username" { "Veldwerker" }
                        select #username name="username" {
                            @for u in &field_users {
                                option value=(u.username) { (u.username) " (" (Role::from_code(&u.role).map_or("", Role::label_nl)) ")" }
                            }
                        }
                        p { button type="submit" { "Code maken" } }
                    }
                }
            }
            h2 { "Telefoons" }
            table {
                thead { tr { th { "Veldwerker" } th { "Label" } th { "Laatst gezien" } th { "Klok" } th { "Status" } th {} } }
                tbody {
                    @for d in &o.devices {
                        tr {
                            td { (d.username) }
                            td { (d.label) }
                            td { (d.last_seen.map(local).unwrap_or_else(|| "nooit".into())) }
                            td {
                                @match d.offset_ms {
                                    Some(ms) if ms.abs() > 5 * 60 * 1000 => span.badge.warn { "loopt " (ms / 60_000) " min af" },
                                    Some(_) => span.badge.ok { "gelijk" },
                                    None => span.muted { "–" },
                                }
                            }
                            td {
                                @if d.revoked { span.badge.alert { "ingetrokken" } } @else { span.badge.ok { "actief" } }
                                @if let Some(n) = d.unsent.filter(|n| *n > 0) { " " span.badge.warn { (n) " nog niet verzonden" } }
                            }
                            td {
                                @if !d.revoked {
                                    form method="post" action="/beheer/intrekken" {
                                        input type="hidden" name="device" value=(d.id);
                                        button.secondary type="submit" aria-label={ "Telefoon van " (d.username) " intrekken" } { "Intrekken" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Gebruikers" }
            table {
                thead { tr { th { "Gebruikersnaam" } th { "Rol" } } }
                tbody { @for u in &o.users { tr { td { (u.username) } td { (Role::from_code(&u.role).map_or("?", Role::label_nl)) } } } }
            }
        },
    )
}

async fn show(state: Arc<AppState>, user: WebUser, notice: Option<Markup>) -> Response {
    let st = state.clone();
    let u = user.clone();
    match state.db.read(move |c| overview(&st, c, &u)).await {
        Ok(o) => render(&user, &o, notice).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn page(State(state): State<Arc<AppState>>, Page(user, _): Page<roles::Admin>) -> Response {
    show(state, user, None).await
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    username: String,
}

async fn issue_code(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<CodeForm>,
) -> Response {
    let caller = Caller::web(&user, address);
    let name = form.username.clone();
    let code = state
        .db
        .write(move |c| Ok(admin::issue_code(c, &caller, &name)))
        .await;
    let notice = match code {
        Ok(Ok(code)) => html! {
            p.notice.ok role="status" {
                "Aanmeldcode voor " (form.username) ": " strong { (code) } " (eenmalig, 24 uur geldig)."
            }
        },
        Ok(Err(AdminError::Db(e))) | Err(e) => return ApiError::from(e).into_response(),
        Ok(Err(_)) => {
            html! { p.notice.error role="alert" { "Geen veldwerker met die naam in uw gemeente." } }
        }
    };
    show(state, user, Some(notice)).await
}

#[derive(Debug, Deserialize)]
struct RevokeForm {
    device: String,
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<RevokeForm>,
) -> Response {
    let Ok(device) = form.device.parse::<DeviceId>() else {
        return show(
            state,
            user,
            Some(html! { p.notice.error role="alert" { "Onbekende telefoon." } }),
        )
        .await;
    };
    let caller = Caller::web(&user, address);
    let done = state
        .db
        .write(move |c| Ok(admin::revoke(c, &caller, device)))
        .await;
    let notice = match done {
        Ok(Ok(())) => {
            html! { p.notice.ok role="status" { "De telefoon is ingetrokken; hij kan niet meer synchroniseren." } }
        }
        Ok(Err(AdminError::Db(e))) | Err(e) => return ApiError::from(e).into_response(),
        Ok(Err(_)) => {
            html! { p.notice.error role="alert" { "Onbekende of al ingetrokken telefoon." } }
        }
    };
    show(state, user, Some(notice)).await
}

//! Users (`/beheer/gebruikers`): the gemeente's people; add one (role, and a
//! coordinator's wijken), change a coordinator's wijken, disable one and enable them
//! again, give a one-time code for a new password, end their sessions, or switch their
//! second step off after a lost phone (they set it up again at the next login). Every
//! change answers with a redirect back to the list, where its result is shown once. A new user never gets a password from the admin: they choose it themselves
//! with a one-time code at `/wachtwoord`, and set up the second step at the first login.

use std::sync::Arc;

use avondronde_shared::Role;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::{NoticeQuery, count, done, failed, page, redirect_with, refused, take_notice};
use crate::admin::{self, AdminError, Caller, NewUser, UserSummary};
use crate::audit::ClientAddr;
use crate::auth::{Page, WebUser, roles};
use crate::state::AppState;

/// Routes of the users page.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/beheer/gebruikers", get(list).post(add))
        .route("/beheer/gebruikers/uitschakelen", post(disable))
        .route("/beheer/gebruikers/inschakelen", post(enable))
        .route("/beheer/gebruikers/wijken", post(set_wijken))
        .route("/beheer/gebruikers/herstelcode", post(reset))
        .route("/beheer/gebruikers/sessies", post(end_sessions))
        .route("/beheer/gebruikers/tweede-stap", post(reset_mfa))
}

/// What the add form held, to show it again after a refusal (nothing typed is lost).
#[derive(Debug, Default)]
struct Draft {
    username: String,
    role: Option<Role>,
    wijken: Vec<String>,
}

async fn show(
    state: &Arc<AppState>,
    user: &WebUser,
    notice: Option<Markup>,
    draft: &Draft,
) -> Response {
    let g = user.gemeente;
    let data = state
        .store
        .read(g, move |tx| {
            Ok((admin::users(tx, g)?, crate::state::load_wijken(tx, g)?))
        })
        .await;
    let (users, wijken) = match data {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    page(
        user,
        "Gebruikers",
        "/beheer/gebruikers",
        notice,
        html! {
            section.panel {
                h2 { "Gebruiker toevoegen" }
                form method="post" action="/beheer/gebruikers" {
                    div.grid2 {
                        div {
                            label for="username" { "Gebruikersnaam" }
                            input #username type="text" name="username" value=(draft.username)
                                maxlength="64" autocomplete="off" required;
                        }
                        div {
                            label for="role" { "Rol" }
                            select #role name="role" {
                                @for r in Role::ALL {
                                    option value=(r.code()) selected[draft.role == Some(r)] { (r.label_nl()) }
                                }
                            }
                        }
                    }
                    fieldset.wijken {
                        legend { "Wijken (alleen voor een coördinator: die ziet alleen deze wijken op de hotspotkaart)" }
                        @if wijken.is_empty() { p.muted { "Er zijn nog geen wijken." } }
                        @for w in &wijken {
                            label.check {
                                input type="checkbox" name="wijken" value=(w.code) checked[draft.wijken.contains(&w.code)];
                                " " (w.name) " " span.muted { "(" (w.code) ")" }
                            }
                        }
                    }
                    p.muted { "U kiest geen wachtwoord: u krijgt een eenmalige code die u persoonlijk doorgeeft. Daarmee kiest de gebruiker zelf een wachtwoord en stelt bij de eerste keer inloggen de authenticator-app in. Veldwerkers gebruiken de app; hun telefoon meldt u aan bij Telefoons." }
                    p { button type="submit" { "Toevoegen" } }
                }
            }
            h2 { "Alle gebruikers" }
            table.stack.users {
                thead { tr { th { "Gebruikersnaam" } th { "Rol" } th { "Wijken" } th { "Status" } th { "Telefoons" } th { "Acties" } } }
                tbody { @for u in &users { (row(user, u, &wijken)) } }
            }
        },
    )
    .into_response()
}

fn row(me: &WebUser, u: &UserSummary, wijken: &[avondronde_shared::area::Wijk]) -> Markup {
    let role = u.role.map_or("?", Role::label_nl);
    let coordinator = u.role == Some(Role::Coordinator);
    // The wijk names the admin knows, not only their CBS codes.
    let names: Vec<String> = u
        .wijken
        .iter()
        .map(|c| {
            wijken
                .iter()
                .find(|w| &w.code == c)
                .map_or_else(|| c.clone(), |w| w.name.clone())
        })
        .collect();
    html! {
        tr data-user=(u.username) {
            td data-label="Gebruikersnaam" { strong { (u.username) } }
            td data-label="Rol" { (role) }
            td.wide data-label="Wijken" {
                @if coordinator {
                    @if u.wijken.is_empty() { span.badge.warn { "geen wijk" } } @else { (names.join(", ")) }
                    @if !u.disabled {
                        details.edit-wijken {
                            summary aria-label={ "Wijken van " (u.username) " wijzigen" } { "Wijken wijzigen" }
                            form method="post" action="/beheer/gebruikers/wijken" {
                                input type="hidden" name="username" value=(u.username);
                                fieldset.wijken {
                                    legend { "Wijken van " (u.username) }
                                    @for w in wijken {
                                        label.check {
                                            input type="checkbox" name="wijken" value=(w.code) checked[u.wijken.contains(&w.code)];
                                            " " (w.name)
                                        }
                                    }
                                }
                                button.secondary type="submit" { "Wijken opslaan" }
                            }
                        }
                    }
                } @else { span.muted { "–" } }
            }
            td data-label="Status" {
                @if u.disabled { span.badge.alert { "uitgeschakeld" } }
                @else if !u.has_password && u.role.is_some_and(|r| !r.is_field()) { span.badge.warn { "wacht op eerste wachtwoord" } }
                @else { span.badge.ok { "actief" } }
            }
            td data-label="Telefoons" { (u.devices) }
            td.wide data-label="Acties" {
                @if u.disabled {
                    div.actions {
                        form method="post" action="/beheer/gebruikers/inschakelen" {
                            input type="hidden" name="username" value=(u.username);
                            button.secondary type="submit" aria-label={ (u.username) " inschakelen" } { "Inschakelen" }
                        }
                    }
                } @else {
                    div.actions {
                        form method="post" action="/beheer/gebruikers/herstelcode" {
                            input type="hidden" name="username" value=(u.username);
                            button.secondary type="submit" aria-label={ "Herstelcode voor " (u.username) } { "Herstelcode" }
                        }
                        form method="post" action="/beheer/gebruikers/sessies" {
                            input type="hidden" name="username" value=(u.username);
                            button.secondary type="submit" aria-label={ "Sessies van " (u.username) " beëindigen" } { "Sessies beëindigen" }
                        }
                        @if u.role.is_some_and(crate::mfa::required_for) {
                            form method="post" action="/beheer/gebruikers/tweede-stap" {
                                input type="hidden" name="username" value=(u.username);
                                button.secondary type="submit" aria-label={ "Tweede stap van " (u.username) " opnieuw instellen" } { "Tweede stap opnieuw" }
                            }
                        }
                        @if u.username != me.username {
                            form method="post" action="/beheer/gebruikers/uitschakelen" {
                                input type="hidden" name="username" value=(u.username);
                                button.secondary.danger type="submit" aria-label={ (u.username) " uitschakelen" } { "Uitschakelen" }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn list(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let notice = take_notice(&state, &user, q.melding.as_deref());
    show(&state, &user, notice, &Draft::default()).await
}

/// The full address of the page where a code becomes a password, to pass on with the code
/// (the same address phones are given).
fn password_url(state: &AppState, headers: &HeaderMap) -> String {
    format!(
        "{}/wachtwoord",
        super::phones::server_address(state, headers)
    )
}

/// Back to the list, with the result shown there once.
fn back(state: &AppState, user: &WebUser, notice: Markup) -> Response {
    redirect_with(state, user, "/beheer/gebruikers", notice)
}

/// The add form as posted: repeated `wijken` fields, so read as pairs.
fn draft(fields: Vec<(String, String)>) -> Draft {
    let mut d = Draft::default();
    for (k, v) in fields {
        match k.as_str() {
            "username" => d.username = v,
            "role" => d.role = Role::from_code(&v),
            "wijken" => d.wijken.push(v),
            _ => {}
        }
    }
    d
}

async fn add(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let password_url = password_url(&state, &headers);
    let d = draft(fields);
    let Some(role) = d.role else {
        return show(
            &state,
            &user,
            Some(refused("Kies een rol uit de lijst.")),
            &d,
        )
        .await;
    };
    let new = NewUser {
        username: d.username.clone(),
        role,
        wijken: d.wijken.clone(),
    };
    let caller = Caller::web(&user, address);
    let g = user.gemeente;
    let added = state
        .store
        .write(g, move |tx| Ok(admin::add_user(tx, &caller, g, &new)))
        .await;
    let name = d.username.trim().to_owned();
    let notice = match added {
        Ok(Ok(a)) => match a.first_password_code {
            Some(code) => html! {
                div.notice.ok.onetime role="status" {
                    p { strong { (name) } " is toegevoegd als " (role.label_nl()) "." }
                    p {
                        "Geef deze eenmalige code persoonlijk door (24 uur geldig; u ziet hem alleen nu): "
                        code.big #first-password-code { (code) }
                    }
                    p { "Daarmee kiest " (name) " een wachtwoord op " a href="/wachtwoord" { (password_url) } " en stelt bij de eerste keer inloggen de authenticator-app in." }
                }
            },
            None => html! {
                div.notice.ok role="status" {
                    p { strong { (name) } " is toegevoegd als " (role.label_nl()) ". Meld nu de telefoon aan:" }
                    form method="post" action="/beheer/code" {
                        input type="hidden" name="username" value=(name);
                        button type="submit" { "Aanmeldcode maken voor " (name) }
                    }
                }
            },
        },
        Ok(Err(AdminError::Db(e))) | Err(e) => return failed(e),
        Ok(Err(e)) => return show(&state, &user, Some(refused(e.to_string())), &d).await,
    };
    back(&state, &user, notice)
}

#[derive(Deserialize)]
struct UserForm {
    username: String,
    #[serde(default)]
    bevestigd: Option<String>,
}

async fn disable(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<UserForm>,
) -> Response {
    let name = form.username.trim().to_owned();
    if form.bevestigd.as_deref() != Some("1") {
        // First ask: disabling also revokes every phone, and unsent work on them is lost.
        let g = user.gemeente;
        let devices = match state.store.read(g, move |tx| admin::devices(tx, g)).await {
            Ok(d) => d,
            Err(e) => return failed(e),
        };
        let phones: Vec<_> = devices
            .iter()
            .filter(|d| d.username == name && !d.revoked)
            .collect();
        let unsent: i64 = phones.iter().filter_map(|d| d.unsent).sum();
        let confirm = html! {
            div.notice.error.confirm role="alert" {
                p { strong { (name) " uitschakelen?" } " Inloggen kan daarna niet meer en alle sessies eindigen."
                    @match phones.len() {
                        0 => {},
                        1 => " De telefoon wordt ingetrokken.",
                        n => { " De " (n) " telefoons worden ingetrokken." },
                    }
                    " U kunt " (name) " later weer inschakelen." }
                @if unsent > 0 {
                    p.warn-unsent { strong { "Let op: " @if phones.len() == 1 { "op die telefoon" } @else { "op die telefoons" } " staan " (count(unsent, "nog niet verzonden item", "nog niet verzonden items")) "." } " Die gaan verloren. Laat de veldwerker eerst synchroniseren als dat kan." }
                }
                form method="post" action="/beheer/gebruikers/uitschakelen" {
                    input type="hidden" name="username" value=(name);
                    input type="hidden" name="bevestigd" value="1";
                    button.danger type="submit" { "Ja, " (name) " uitschakelen" }
                    " "
                    a.button.secondary href="/beheer/gebruikers" { "Annuleren" }
                }
            }
        };
        return show(&state, &user, Some(confirm), &Draft::default()).await;
    }
    let caller = Caller::web(&user, address);
    let n = name.clone();
    let ended = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(admin::disable_user(tx, &caller, &n))
        })
        .await;
    let notice = match ended {
        Ok(Ok(e)) => {
            for s in &e.sessions {
                state.vault.forget(s);
            }
            done(format!(
                "{name} is uitgeschakeld: {} beëindigd, {} ingetrokken.",
                count(e.sessions.len() as i64, "sessie", "sessies"),
                count(e.devices as i64, "telefoon", "telefoons")
            ))
        }
        Ok(Err(AdminError::Db(e))) | Err(e) => return failed(e),
        Ok(Err(e)) => return refused_page(&state, &user, e).await,
    };
    back(&state, &user, notice)
}

/// A refusal: the list again with the reason (nothing changed, so a reload is harmless).
async fn refused_page(state: &Arc<AppState>, user: &WebUser, e: AdminError) -> Response {
    show(state, user, Some(refused(e.to_string())), &Draft::default()).await
}

async fn enable(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<UserForm>,
) -> Response {
    let caller = Caller::web(&user, address);
    let name = form.username.trim().to_owned();
    let n = name.clone();
    let g = user.gemeente;
    let out = state
        .store
        .write(g, move |tx| {
            Ok(admin::enable_user(tx, &caller, &n).and_then(|()| {
                Ok(admin::users(tx, g)?
                    .into_iter()
                    .find(|u| u.username == n)
                    .and_then(|u| u.role))
            }))
        })
        .await;
    match out {
        Ok(Ok(role)) => {
            let field = role.is_some_and(|r| r.is_field());
            back(
                &state,
                &user,
                html! {
                    div.notice.ok role="status" {
                        p { strong { (name) } " is weer ingeschakeld." }
                        @if field {
                            p { "De telefoons van " (name) " blijven ingetrokken. Meld een telefoon opnieuw aan:" }
                            form method="post" action="/beheer/code" {
                                input type="hidden" name="username" value=(name);
                                button type="submit" { "Aanmeldcode maken voor " (name) }
                            }
                        } @else {
                            p { (name) " logt gewoon weer in met het eigen wachtwoord en de tweede stap. Wachtwoord vergeten? Geef dan een herstelcode." }
                        }
                    }
                },
            )
        }
        Ok(Err(AdminError::Db(e))) | Err(e) => failed(e),
        Ok(Err(e)) => refused_page(&state, &user, e).await,
    }
}

async fn set_wijken(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let d = draft(fields);
    let caller = Caller::web(&user, address);
    let name = d.username.trim().to_owned();
    let (n, codes) = (name.clone(), d.wijken);
    let out = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(admin::assign_wijken(tx, &caller, &n, &codes))
        })
        .await;
    match out {
        Ok(Ok(k)) => back(
            &state,
            &user,
            done(format!(
                "{name} ziet nu {} op de hotspotkaart.",
                count(k as i64, "wijk", "wijken")
            )),
        ),
        Ok(Err(AdminError::Db(e))) | Err(e) => failed(e),
        Ok(Err(e)) => refused_page(&state, &user, e).await,
    }
}

async fn reset(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Response {
    let password_url = password_url(&state, &headers);
    let caller = Caller::web(&user, address);
    let name = form.username.trim().to_owned();
    let n = name.clone();
    let out = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(admin::reset_password(tx, &caller, &n))
        })
        .await;
    let notice = match out {
        Ok(Ok((code, ended))) => {
            for s in &ended.sessions {
                state.vault.forget(s);
            }
            html! {
                div.notice.ok.onetime role="status" {
                    p { "Herstelcode voor " strong { (name) } " (eenmalig, een uur geldig; u ziet hem alleen nu): "
                        code.big #reset-code { (code) } }
                    p { (name) " kiest daarmee een nieuw wachtwoord op " a href="/wachtwoord" { (password_url) } ". Lopende sessies zijn beëindigd." }
                }
            }
        }
        Ok(Err(AdminError::Db(e))) | Err(e) => return failed(e),
        Ok(Err(e)) => return refused_page(&state, &user, e).await,
    };
    back(&state, &user, notice)
}

async fn end_sessions(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<UserForm>,
) -> Response {
    let caller = Caller::web(&user, address);
    let name = form.username.trim().to_owned();
    let n = name.clone();
    let out = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(admin::end_sessions(tx, &caller, &n))
        })
        .await;
    let notice = match out {
        Ok(Ok(ended)) => {
            for s in &ended.sessions {
                state.vault.forget(s);
            }
            done(format!(
                "{} van {name} beëindigd; de telefoons blijven werken.",
                count(ended.sessions.len() as i64, "sessie", "sessies")
            ))
        }
        Ok(Err(AdminError::Db(e))) | Err(e) => return failed(e),
        Ok(Err(e)) => return refused_page(&state, &user, e).await,
    };
    back(&state, &user, notice)
}

async fn reset_mfa(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<UserForm>,
) -> Response {
    let caller = Caller::web(&user, address);
    let name = form.username.trim().to_owned();
    let n = name.clone();
    let out = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(admin::reset_mfa(tx, &caller, &n))
        })
        .await;
    let notice = match out {
        Ok(Ok(ended)) => {
            for s in &ended.sessions {
                state.vault.forget(s);
            }
            done(format!(
                "De tweede stap van {name} staat uit; bij de volgende keer inloggen stelt {name} de authenticator-app opnieuw in. Lopende sessies zijn beëindigd."
            ))
        }
        Ok(Err(AdminError::Db(e))) | Err(e) => return failed(e),
        Ok(Err(e)) => return refused_page(&state, &user, e).await,
    };
    back(&state, &user, notice)
}

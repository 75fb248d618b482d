//! Server-rendered web pages for people at a desk: the login, and the shared layout that
//! the meldpunt inbox, the coordinator map and the admin pages all use, so they look and
//! behave as one application. No JS framework: HTML forms and plain links, with a map or
//! chart library only where a page needs one.

use std::sync::Arc;

use avondronde_shared::Role;
use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use crate::api::session::{session_cookie, start_session};
use crate::auth::{self, WebUser};
use crate::error::ApiError;
use crate::state::AppState;

pub mod admin;

/// The stylesheet, compiled into the binary.
const APP_CSS: &str = include_str!("../../assets/app.css");

/// Routes of the web pages shared by all roles.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/static/app.css", get(css))
        .route("/veld", get(field_page))
        .merge(admin::router())
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
}

/// The page each role lands on after login.
pub fn home_path(role: Role) -> &'static str {
    match role {
        Role::Meldpunt => "/meldpunt",
        Role::Coordinator => "/kaart",
        Role::Admin => "/beheer",
        Role::Straatcoach | Role::Boa | Role::Wijkagent => "/veld",
    }
}

/// A page's main navigation entries for a role: (path, label).
fn nav(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Meldpunt => &[("/meldpunt", "Zorgformulieren"), ("/audit", "Auditlog")],
        Role::Coordinator => &[("/kaart", "Hotspotkaart")],
        Role::Admin => &[("/beheer", "Beheer"), ("/audit", "Auditlog")],
        _ => &[("/veld", "Veldwerk")],
    }
}

/// The shared page layout. `active` is the path of the current nav entry.
pub fn layout(
    title: &str,
    user: Option<&WebUser>,
    active: &str,
    wide: bool,
    head: Markup,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="nl" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Avondronde" }
                link rel="stylesheet" href="/static/app.css";
                (head)
            }
            body {
                header.top {
                    a.brand href="/" { "Avondronde" }
                    nav aria-label="Hoofdmenu" {
                        @if let Some(u) = user {
                            @for (path, label) in nav(u.role) {
                                a href=(path) class=[(*path == active).then_some("active")] { (label) }
                            }
                        }
                    }
                    @if let Some(u) = user {
                        div.who {
                            span { (u.username) " · " (u.role.label_nl()) }
                            form method="post" action="/logout" {
                                button.link type="submit" { "Uitloggen" }
                            }
                        }
                    }
                }
                main class=[wide.then_some("wide")] { (body) }
            }
        }
    }
}

/// A page that says the user's role may not see this (403) without revealing more.
pub fn forbidden(user: &WebUser) -> Response {
    let page = layout(
        "Geen toegang",
        Some(user),
        "",
        false,
        html! {},
        html! {
            h1 { "Geen toegang" }
            p { "Deze pagina is niet voor uw rol (" (user.role.label_nl()) ")." }
            p { a href=(home_path(user.role)) { "Naar uw startpagina" } }
        },
    );
    (axum::http::StatusCode::FORBIDDEN, page).into_response()
}

/// Turns a missing or expired session into a redirect to the login page.
#[allow(
    clippy::result_large_err,
    reason = "the Err is the response itself, returned at once; boxing it buys nothing"
)]
pub fn require_login(user: Result<WebUser, ApiError>) -> Result<WebUser, Response> {
    user.map_err(|_| Redirect::to("/login").into_response())
}

async fn home(user: Result<WebUser, ApiError>) -> Response {
    match user {
        Ok(u) => Redirect::to(home_path(u.role)).into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

/// Field workers use the app; their web page says so and shows what the app needs.
async fn field_page(user: Result<WebUser, ApiError>) -> Response {
    let user = match require_login(user) {
        Ok(u) => u,
        Err(redirect) => return redirect,
    };
    if !user.role.is_field() {
        return forbidden(&user);
    }
    layout(
        "Veldwerk",
        Some(&user),
        "/veld",
        false,
        html! {},
        html! {
            h1 { "Veldwerk" }
            div.panel {
                p { "Contacten en zorgformulieren legt u vast in de Avondronde-app op uw telefoon, ook zonder verbinding." }
                p { "Nieuwe telefoon? Vraag de beheerder om een eenmalige aanmeldcode (24 uur geldig) en vul die in de app in, samen met het adres van deze server." }
                p.muted { "Terugkoppeling van het meldpunt op uw zorgformulieren ziet u in de app." }
            }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    #[serde(default)]
    fout: Option<String>,
}

fn login_form(error: Option<&str>) -> Markup {
    layout(
        "Inloggen",
        None,
        "",
        false,
        html! {},
        html! {
            div.login.panel {
                h1 { "Inloggen" }
                @if let Some(e) = error {
                    p.notice.error role="alert" { (e) }
                }
                form method="post" action="/login" {
                    label for="username" { "Gebruikersnaam" }
                    input #username type="text" name="username" autocomplete="username" required autofocus;
                    label for="password" { "Wachtwoord" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    p { button type="submit" { "Inloggen" } }
                }
                p.muted { (PreEscaped("Voor meldpunt, co&ouml;rdinatoren en beheer. Veldwerkers gebruiken de app.")) }
            }
        },
    )
}

async fn login_page(Query(q): Query<LoginQuery>) -> Markup {
    let error = match q.fout.as_deref() {
        Some("te-vaak") => Some("Te veel pogingen. Wacht een minuut en probeer het opnieuw."),
        Some(_) => Some("Gebruikersnaam of wachtwoord klopt niet."),
        None => None,
    };
    login_form(error)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login_submit(State(state): State<Arc<AppState>>, Form(form): Form<LoginForm>) -> Response {
    match start_session(&state, form.username, form.password).await {
        Ok((token, user)) => {
            let mut res = Redirect::to(home_path(user.role)).into_response();
            if let Ok(v) = HeaderValue::from_str(&session_cookie(&token)) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(ApiError::TooManyRequests) => Redirect::to("/login?fout=te-vaak").into_response(),
        Err(_) => Redirect::to("/login?fout=1").into_response(),
    }
}

async fn logout(State(state): State<Arc<AppState>>, user: Result<WebUser, ApiError>) -> Response {
    if let Ok(u) = user {
        let hash = u.session.clone();
        state.vault.forget(&hash);
        let _ = state.db.write(move |c| auth::logout(c, &hash)).await;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "avondronde_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    res
}

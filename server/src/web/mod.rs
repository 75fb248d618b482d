//! Server-rendered web pages for people at a desk: the login, and the shared layout that
//! the meldpunt inbox, the coordinator map and the admin pages all use, so they look and
//! behave as one application. No JS framework: HTML forms and plain links, with a map or
//! chart library only where a page needs one.

use std::sync::Arc;

use avondronde_shared::Role;
use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use crate::api::session::{second_step, set_login_cookies, start_session};
use crate::audit::ClientAddr;
use crate::auth::{self, AnySession, MfaOutcome, Page, WebUser, roles};
use crate::error::ApiError;
use crate::state::AppState;

pub mod admin;
pub mod admin_rules;
pub mod notices;

/// The stylesheet, compiled into the binary.
const APP_CSS: &str = include_str!("../../assets/app.css");

/// Routes of the web pages shared by all roles.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/login/code", get(code_page).post(code_submit))
        .route("/wachtwoord", get(reset_page).post(reset_submit))
        .route("/logout", post(logout))
        .route("/static/app.css", get(css))
        .route("/veld", get(field_page))
        .merge(admin::router())
        .merge(admin_rules::router())
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
        Role::Meldpunt => &[
            ("/meldpunt", "Zorgformulieren"),
            ("/meldpunt/sleutel", "Sleutel"),
            ("/audit", "Auditlog"),
        ],
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

/// The answer of a page whose storage call failed. When the database is busy (every
/// connection in use), a 503 page in Dutch with `Retry-After`: nothing was changed, try again
/// in a moment. Any other failure answers as the API does (5xx details only in the log).
pub fn failed_page(user: Option<&WebUser>, e: impl Into<ApiError>) -> Response {
    let e = e.into();
    if !matches!(e, ApiError::Unavailable) {
        return e.into_response();
    }
    let page = layout(
        "Even druk",
        user,
        "",
        false,
        html! { meta http-equiv="refresh" content=(crate::error::RETRY_AFTER_SECS * 2); },
        html! {
            h1 { "Het is even druk" }
            p.notice.error role="alert" {
                "De server kan uw verzoek nu niet afhandelen omdat alle verbindingen met de \
                 database bezet zijn. Er is niets gewijzigd."
            }
            p { "Probeer het over een paar seconden opnieuw; deze pagina laadt zichzelf opnieuw." }
        },
    );
    with_retry_after((axum::http::StatusCode::SERVICE_UNAVAILABLE, page).into_response())
}

/// What an address that is no route answers: a page in Dutch with a way back for a browser
/// (a mistyped address, an old bookmark), and the API's JSON error for everything else.
pub async fn not_found(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    if !asks_for_a_page(&parts.uri, &parts.headers) {
        return crate::error::json_error(StatusCode::NOT_FOUND, "not_found", "niet gevonden");
    }
    let user = WebUser::from_request_parts(&mut parts, &state).await.ok();
    let (start, label) = match &user {
        Some(u) => (home_path(u.role), "Naar uw startpagina"),
        None => ("/login", "Naar de inlogpagina"),
    };
    let page = layout(
        "Pagina niet gevonden",
        user.as_ref(),
        "",
        false,
        html! {},
        html! {
            h1 { "Pagina niet gevonden" }
            p { "Op dit adres staat geen pagina. Misschien is het adres verkeerd getypt, of is het een oude bladwijzer." }
            p { a href=(start) { (label) } }
        },
    );
    (StatusCode::NOT_FOUND, page).into_response()
}

/// Whether a request comes from a browser that wants a page: it asks for HTML, outside the
/// API (whose answers are JSON whoever asks).
pub fn asks_for_a_page(uri: &Uri, headers: &HeaderMap) -> bool {
    !uri.path().starts_with("/api/")
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

/// What a browser gets for an address that exists but not for its method: typically a
/// form's address (the logout, a save) typed or bookmarked, which only a form can send.
pub fn wrong_method_page() -> Response {
    let page = layout(
        "Dit adres is voor een formulier",
        None,
        "",
        false,
        html! {},
        html! {
            h1 { "Dit adres is voor een formulier" }
            p { "Dit adres werkt alleen met een knop op een pagina, niet vanuit de adresbalk of een bladwijzer. Er is niets gewijzigd." }
            p { a href="/" { "Naar uw startpagina" } }
        },
    );
    (StatusCode::METHOD_NOT_ALLOWED, page).into_response()
}

/// `res` with the `Retry-After` header of a 503.
pub fn with_retry_after(mut res: Response) -> Response {
    res.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(crate::error::RETRY_AFTER_SECS),
    );
    res
}

async fn home(user: Result<WebUser, ApiError>) -> Response {
    match user {
        Ok(u) => Redirect::to(home_path(u.role)).into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

/// Field workers use the app; their web page says so and shows what the app needs.
async fn field_page(Page(user, _): Page<roles::Field>) -> Response {
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
                p { "Nieuwe telefoon? De beheerder toont een QR-code (24 uur geldig) die u met de app scant. Lukt scannen niet, typ dan de aanmeldcode en het adres van deze server over, en vergelijk de woorden van de vingerafdruk." }
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
                    input #username type="text" name="username" autocomplete="username" maxlength="64" required autofocus;
                    label for="password" { "Wachtwoord" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    p { button type="submit" { "Inloggen" } }
                }
                p.muted { (PreEscaped("Voor meldpunt, co&ouml;rdinatoren en beheer. Veldwerkers gebruiken de app.")) }
                p.muted { a href="/wachtwoord" { "Wachtwoord vergeten? Vul hier de herstelcode van de beheerder in." } }
            }
        },
    )
}

async fn login_page(Query(q): Query<LoginQuery>) -> Markup {
    let error = match q.fout.as_deref() {
        Some("te-vaak") => Some(
            "Te veel mislukte pogingen. Wacht een minuut en probeer het opnieuw. Na veel mislukte pogingen op een account kan inloggen tot een uur lang alleen in een browser waarin u eerder op dit account bent ingelogd.",
        ),
        Some("te-lang") => Some("Die gebruikersnaam is te lang (maximaal 64 tekens)."),
        Some("verlopen") => Some("Uw sessie is verlopen. Log opnieuw in."),
        Some(_) => Some("Gebruikersnaam of wachtwoord klopt niet."),
        None => None,
    };
    login_form(error)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login_submit(
    State(state): State<Arc<AppState>>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let device = auth::device_cookies_of(&state, &headers);
    match start_session(&state, address, device, form.username, form.password, None).await {
        Ok(s) => {
            let to = if s.mfa_pending {
                "/login/code"
            } else {
                home_path(s.user.role)
            };
            let mut res = Redirect::to(to).into_response();
            let complete = (!s.mfa_pending).then_some(s.user.username.as_str());
            set_login_cookies(&state, &headers, &mut res, &s.token, complete).await;
            res
        }
        Err(ApiError::TooManyRequests) => Redirect::to("/login?fout=te-vaak").into_response(),
        Err(ApiError::BadRequest(_)) => Redirect::to("/login?fout=te-lang").into_response(),
        Err(_) => Redirect::to("/login?fout=1").into_response(),
    }
}

/// The second step of the login: the code of the authenticator app, or (the first time)
/// setting the app up with a QR code.
async fn code_page(
    State(state): State<Arc<AppState>>,
    session: Result<AnySession, ApiError>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let Ok(AnySession(session)) = session else {
        return Redirect::to("/login?fout=verlopen").into_response();
    };
    if !session.mfa_pending {
        return Redirect::to(home_path(session.user.role)).into_response();
    }
    let id = session.user.id;
    let secret = match state
        .store
        .write(session.user.gemeente, move |tx| {
            let st = crate::mfa::state(tx, id)?;
            if st.enabled {
                Ok(None)
            } else {
                crate::mfa::begin(tx, id).map(Some)
            }
        })
        .await
    {
        Ok(s) => s,
        Err(e) => return failed_page(None, e),
    };
    let user = &session.user;
    layout(
        "Tweede stap",
        None,
        "",
        false,
        html! {},
        html! {
            div.login.panel {
                @if let Some(secret) = &secret {
                    h1 { "Authenticator-app instellen" }
                    p { "Uw rol (" (user.role.label_nl()) ") logt in met een tweede stap. Scan deze QR-code met een authenticator-app (bijvoorbeeld FreeOTP of Google Authenticator) en vul de code in die de app toont." }
                    div.qr { (PreEscaped(secret.qr_svg(&user.username))) }
                    p.muted { "Lukt scannen niet? Voer deze sleutel met de hand in: " code { (secret.0) } }
                } @else {
                    h1 { "Tweede stap" }
                    p { "Vul de code uit uw authenticator-app in, of een van uw herstelcodes." }
                }
                @if q.fout.as_deref() == Some("te-vaak") {
                    p.notice.error role="alert" { "Te veel foute codes voor dit account. De tweede stap is een uur dicht; wacht tot dan of vraag de beheerder om uw tweede stap te herstellen." }
                } @else if q.fout.is_some() {
                    p.notice.error role="alert" { "Die code klopt niet. Probeer het opnieuw (na vijf foute pogingen moet u opnieuw inloggen)." }
                }
                form method="post" action="/login/code" {
                    label for="code" { "Code" }
                    input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="32" required autofocus;
                    p { button type="submit" { "Bevestigen" } }
                }
            }
        },
    )
    .into_response()
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn code_submit(
    State(state): State<Arc<AppState>>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    session: Result<AnySession, ApiError>,
    Form(form): Form<CodeForm>,
) -> Response {
    let Ok(AnySession(session)) = session else {
        return Redirect::to("/login?fout=verlopen").into_response();
    };
    if !session.mfa_pending {
        return Redirect::to(home_path(session.user.role)).into_response();
    }
    let home = home_path(session.user.role);
    match second_step(&state, address, &session.user, form.code).await {
        Ok(MfaOutcome::Done { token }) => {
            let mut res = Redirect::to(home).into_response();
            set_login_cookies(
                &state,
                &headers,
                &mut res,
                &token,
                Some(&session.user.username),
            )
            .await;
            res
        }
        Ok(MfaOutcome::Enrolled {
            token,
            recovery_codes,
        }) => {
            let mut res = layout(
                "Herstelcodes",
                Some(&session.user),
                "",
                false,
                html! {},
                html! {
                    div.panel {
                        h1 { "Uw herstelcodes" }
                        p { "De tweede stap staat aan. Bewaar deze codes op een veilige plek (niet op uw telefoon): elke code werkt één keer als u uw authenticator-app kwijt bent. U ziet ze alleen nu." }
                        ul.codes { @for c in &recovery_codes { li { code { (c) } } } }
                        p { a href=(home) { "Verder" } }
                    }
                },
            )
            .into_response();
            set_login_cookies(
                &state,
                &headers,
                &mut res,
                &token,
                Some(&session.user.username),
            )
            .await;
            res
        }
        Ok(MfaOutcome::Wrong) => Redirect::to("/login/code?fout=1").into_response(),
        Ok(MfaOutcome::Ended) => Redirect::to("/login?fout=1").into_response(),
        Err(ApiError::TooManyRequests) => Redirect::to("/login/code?fout=te-vaak").into_response(),
        Err(e) => failed_page(None, e),
    }
}

fn reset_form(notice: Option<Markup>) -> Markup {
    layout(
        "Nieuw wachtwoord",
        None,
        "",
        false,
        html! {},
        html! {
            div.login.panel {
                h1 { "Nieuw wachtwoord" }
                @if let Some(n) = notice { (n) }
                p { "Met de eenmalige herstelcode van de beheerder (een uur geldig) kiest u een nieuw wachtwoord." }
                form method="post" action="/wachtwoord" {
                    label for="username" { "Gebruikersnaam" }
                    input #username type="text" name="username" autocomplete="username" maxlength="64" required;
                    label for="code" { "Herstelcode" }
                    input #code type="text" name="code" autocomplete="off" maxlength="32" required;
                    label for="password" { "Nieuw wachtwoord (minstens 12 tekens)" }
                    input #password type="password" name="password" autocomplete="new-password" minlength="12" required;
                    p { button type="submit" { "Wachtwoord instellen" } }
                }
            }
        },
    )
}

async fn reset_page() -> Markup {
    reset_form(None)
}

#[derive(Deserialize)]
struct ResetForm {
    username: String,
    code: String,
    password: String,
}

async fn reset_submit(
    State(state): State<Arc<AppState>>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<ResetForm>,
) -> Response {
    let address = address.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    // Guessing reset codes counts as guessing passwords.
    if form.username.len() > crate::throttle::MAX_USERNAME_BYTES
        || form.code.len() > 32
        || state.limits.login.attempt(address).is_err()
    {
        return (
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            reset_form(Some(
                html! { p.notice.error role="alert" { "Te veel pogingen. Wacht een minuut." } },
            )),
        )
            .into_response();
    }
    let outcome = state
        .store
        .write(
            crate::auth::username_scope(form.username.trim()),
            move |tx| crate::admin::redeem_reset(tx, &form.username, &form.code, &form.password),
        )
        .await;
    match outcome {
        Ok(Ok(())) => Redirect::to("/login").into_response(),
        Ok(Err(e)) => reset_form(Some(
            html! { p.notice.error role="alert" { (e.to_string()) } },
        ))
        .into_response(),
        Err(e) => failed_page(None, e),
    }
}

async fn logout(
    State(state): State<Arc<AppState>>,
    session: Result<AnySession, ApiError>,
) -> Response {
    if let Ok(AnySession(s)) = session {
        let _ = auth::end_session(&state, s.user.session.clone()).await;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, auth::clear_cookie(&state));
    res
}

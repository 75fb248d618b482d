//! The meldpunt's key page (`/meldpunt/sleutel`, issues 10 and 12): make the gemeente's
//! first meldpunt key, or replace it, in the browser, with the signatures the command line
//! makes ([`keys::create_recorded`], [`keys::rotate_recorded`]), and show the fingerprint
//! as words that a person compares with what a phone shows.
//!
//! The passphrase is typed here and goes straight into a [`SecretString`]; the form type
//! has no `Debug`, nothing logs it and the server never stores it. A wrong current
//! passphrase or a weak new one changes nothing.

use std::sync::Arc;

use age::secrecy::SecretString;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::keys::{self, KeyActor, KeyError, KeyStatus};
use crate::audit::{Actor, ClientAddr};
use crate::auth::{Page, WebUser, roles};
use crate::dates::format_local_ms;
use crate::db::now_ms;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::layout;

/// Routes of the key page.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/meldpunt/sleutel", get(show_page))
        .route("/meldpunt/sleutel/maken", post(create))
        .route("/meldpunt/sleutel/vervangen", post(rotate))
}

async fn show(state: &Arc<AppState>, user: &WebUser, notice: Option<Markup>) -> Response {
    let g = user.gemeente;
    let status = match state.store.read(g, move |tx| keys::status(tx, g)).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    layout(
        "Meldpuntsleutel",
        Some(user),
        "/meldpunt/sleutel",
        false,
        html! {},
        html! {
            h1 { "Meldpuntsleutel" }
            @if let Some(n) = notice { (n) }
            div.grid2 {
                section.panel {
                    h2 { "Status" }
                    (status_panel(&status))
                }
                section.panel {
                    @if status.keys == 0 { (create_form()) } @else { (rotate_form()) }
                }
            }
        },
    )
    .into_response()
}

fn status_panel(k: &KeyStatus) -> Markup {
    html! {
        @if k.keys == 0 {
            p #key-status { "Deze gemeente heeft nog geen meldpuntsleutel. Telefoons kunnen pas zorgformulieren versturen als die er is." }
        } @else {
            dl.keystatus #key-status {
                dt { "Huidige sleutel sinds" } dd { (k.current_since.map(format_local_ms).unwrap_or_else(|| "–".into())) }
                dt { "Geldig tot" } dd { (k.valid_until.map(format_local_ms).unwrap_or_else(|| "niet ondertekend".into())) }
                dt { "Sleutels (met oude)" } dd { (k.keys) }
            }
            (fingerprint(k))
        }
    }
}

fn fingerprint(k: &KeyStatus) -> Markup {
    html! {
        @match &k.fingerprint {
            Some(f) => p #vingerafdruk {
                "Vingerafdruk: " strong.fingerprint #key-fingerprint { (f.words_line()) }
                br;
                span.muted.small { "Telefoons tonen bij het aanmelden dezelfde woorden. Klopt één woord niet, vertrouw de telefoon dan niet en meld het aan de beheerder." }
            },
            None => p.notice.error role="alert" { "Deze sleutel is niet ondertekend; telefoons versleutelen er niets mee. Vervang hem hiernaast om een ondertekende sleutel te maken." },
        }
    }
}

fn create_form() -> Markup {
    html! {
        h2 { "Sleutel aanmaken" }
        p { "Kies een wachtwoordzin van minstens " (keys::MIN_PASSPHRASE_CHARS) " tekens, bijvoorbeeld vier losse woorden. Alleen het meldpunt kent hem: de server bewaart hem niet, en zonder wachtwoordzin opent niemand een zorgformulier. Kwijt is kwijt." }
        form method="post" action="/meldpunt/sleutel/maken" {
            label for="new_passphrase" { "Wachtwoordzin" }
            input #new_passphrase type="password" name="new_passphrase" autocomplete="new-password" minlength=(keys::MIN_PASSPHRASE_CHARS) required;
            label for="repeat" { "Nog een keer" }
            input #repeat type="password" name="repeat" autocomplete="new-password" required;
            p { button type="submit" { "Sleutel aanmaken" } }
        }
    }
}

fn rotate_form() -> Markup {
    html! {
        h2 { "Sleutel vervangen" }
        p { "Nieuwe zorgformulieren gebruiken dan de nieuwe sleutel; oude blijven leesbaar. Vanaf nu opent de nieuwe wachtwoordzin alles. Telefoons halen de nieuwe sleutel op bij hun volgende synchronisatie; de vingerafdruk blijft gelijk." }
        form method="post" action="/meldpunt/sleutel/vervangen" {
            label for="passphrase" { "Huidige wachtwoordzin" }
            input #passphrase type="password" name="passphrase" autocomplete="current-password" required;
            label for="new_passphrase" { "Nieuwe wachtwoordzin (minstens " (keys::MIN_PASSPHRASE_CHARS) " tekens)" }
            input #new_passphrase type="password" name="new_passphrase" autocomplete="new-password" minlength=(keys::MIN_PASSPHRASE_CHARS) required;
            label for="repeat" { "Nieuwe wachtwoordzin, nog een keer" }
            input #repeat type="password" name="repeat" autocomplete="new-password" required;
            p { button type="submit" { "Sleutel vervangen" } }
        }
    }
}

async fn show_page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Meldpunt>,
) -> Response {
    show(&state, &user, None).await
}

/// The posted passphrases. No `Debug`: they must never reach a log.
#[derive(Deserialize)]
struct KeyForm {
    #[serde(default)]
    passphrase: String,
    new_passphrase: String,
    repeat: String,
}

fn refused(text: impl AsRef<str>) -> Markup {
    html! { p.notice.error role="alert" { (text.as_ref()) " Er is niets gewijzigd." } }
}

/// What a key operation's outcome says to the meldpunt.
fn outcome(
    r: Result<Result<(keys::KeyStatus, &'static str), KeyError>, crate::db::DbError>,
) -> Result<Markup, ApiError> {
    match r {
        Ok(Ok((k, what))) => Ok(html! {
            div.notice.ok role="status" {
                p { (what) }
                @if let Some(f) = &k.fingerprint {
                    p { "Vingerafdruk: " strong.fingerprint { (f.words_line()) } }
                }
            }
        }),
        Ok(Err(KeyError::Db(e))) | Err(e) => Err(ApiError::from(e)),
        Ok(Err(e)) => Ok(refused(e.to_string())),
    }
}

async fn create(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Meldpunt>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<KeyForm>,
) -> Response {
    if form.new_passphrase != form.repeat {
        let n = refused("De twee wachtwoordzinnen zijn niet gelijk.");
        return show(&state, &user, Some(n)).await;
    }
    let passphrase = SecretString::from(form.new_passphrase);
    let actor = Actor::user(&user);
    let g = user.gemeente;
    let r = state
        .store
        .write(g, move |tx| {
            let by = KeyActor {
                actor: &actor,
                address,
            };
            Ok(
                keys::create_recorded(tx, g, &passphrase, &by, now_ms()).and_then(|_| {
                    Ok((
                        keys::status(tx, g)?,
                        "De meldpuntsleutel is aangemaakt. Telefoons halen hem op bij hun volgende synchronisatie.",
                    ))
                }),
            )
        })
        .await;
    match outcome(r) {
        Ok(n) => show(&state, &user, Some(n)).await,
        Err(e) => e.into_response(),
    }
}

async fn rotate(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Meldpunt>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<KeyForm>,
) -> Response {
    if form.new_passphrase != form.repeat {
        let n = refused("De twee nieuwe wachtwoordzinnen zijn niet gelijk.");
        return show(&state, &user, Some(n)).await;
    }
    // Guessing the current passphrase here counts as guessing it at the unlock form.
    let ip = address.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    if state.limits.login.attempt(ip).is_err() {
        let n = refused("Te veel pogingen. Wacht een minuut en probeer het opnieuw.");
        return show(&state, &user, Some(n)).await;
    }
    let old = SecretString::from(form.passphrase);
    let new = SecretString::from(form.new_passphrase);
    let actor = Actor::user(&user);
    let g = user.gemeente;
    let r = state
        .store
        .write(g, move |tx| {
            let by = KeyActor {
                actor: &actor,
                address,
            };
            Ok(
                keys::rotate_recorded(tx, g, &old, &new, &by, now_ms()).and_then(|_| {
                    Ok((
                        keys::status(tx, g)?,
                        "De sleutel is vervangen. Ontgrendel opnieuw met de nieuwe wachtwoordzin om formulieren te openen.",
                    ))
                }),
            )
        })
        .await;
    let rotated = matches!(r, Ok(Ok(_)));
    let notice = match outcome(r) {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    if rotated {
        // The session's unlocked ring holds the old keys only: lock it.
        state.vault.forget(&user.session);
    }
    show(&state, &user, Some(notice)).await
}

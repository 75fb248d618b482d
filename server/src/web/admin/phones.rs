//! Phones (`/beheer/telefoons`): enrol a field worker's phone with a QR code on screen
//! (plus the code and the server address to type, and the meldpunt key's fingerprint as
//! words to compare), and revoke a lost phone, with a warning when it still holds unsent
//! work (issue 10's outbox counts).
//!
//! The QR code holds [`EnrolInvite::encode`]: this server's public address, the one-time
//! code and the fingerprint of the meldpunt's root signing key, so a phone that scans it
//! pins the key without trusting the network.

use std::sync::Arc;

use avondronde_shared::enrolment::EnrolInvite;
use avondronde_shared::keychain::Fingerprint;
use avondronde_shared::{DeviceId, Role};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::{NoticeQuery, done, failed, page, redirect_with, refused, take_notice};
use crate::admin::{self, AdminError, Caller, DeviceSummary};
use crate::audit::ClientAddr;
use crate::auth::{Page, WebUser, roles};
use crate::dates::format_local_ms;
use crate::state::AppState;

/// Routes of the phones page.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/beheer/telefoons", get(list))
        .route("/beheer/code", post(issue_code))
        .route("/beheer/intrekken", post(revoke))
}

/// The address phones reach this server at: the configured public URL, else the address
/// the admin's browser used (scheme from whether this server terminates TLS).
pub fn server_address(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = if state.config.https() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// The QR code of an invite, as SVG (no script, no inline style: fine under the CSP).
pub fn invite_qr_svg(invite: &EnrolInvite) -> Option<String> {
    qrcode::QrCode::with_error_correction_level(invite.encode().as_bytes(), qrcode::EcLevel::M)
        .ok()
        .map(|q| {
            q.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(240, 240)
                .quiet_zone(true)
                .build()
        })
}

async fn show(state: &Arc<AppState>, user: &WebUser, notice: Option<Markup>) -> Response {
    let g = user.gemeente;
    let data = state
        .store
        .read(g, move |tx| {
            Ok((admin::devices(tx, g)?, admin::users(tx, g)?))
        })
        .await;
    let (devices, users) = match data {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    let field: Vec<_> = users
        .iter()
        .filter(|u| !u.disabled && u.role.is_some_and(Role::is_field))
        .collect();
    page(
        user,
        "Telefoons",
        "/beheer/telefoons",
        notice,
        html! {
            section.panel {
                h2 { "Telefoon aanmelden" }
                p { "U krijgt een QR-code die de veldwerker met de app scant. De code is 24 uur geldig en werkt op één telefoon." }
                @if field.is_empty() {
                    p.muted { "Er zijn nog geen veldwerkers. Voeg ze toe bij " a href="/beheer/gebruikers" { "Gebruikers" } "." }
                } @else {
                    form method="post" action="/beheer/code" {
                        label for="username" { "Veldwerker" }
                        select #username name="username" {
                            @for u in &field {
                                option value=(u.username) { (u.username) " (" (u.role.map_or("", Role::label_nl)) ")" }
                            }
                        }
                        p { button type="submit" { "QR-code maken" } }
                    }
                }
            }
            h2 { "Aangemelde telefoons" }
            @if devices.is_empty() { p.muted { "Nog geen telefoons." } }
            @else {
                table.stack.phones {
                    thead { tr { th { "Veldwerker" } th { "Toestel" } th { "Aangemeld op" } th { "Laatst gezien" } th title=(CLOCK_HINT) { "Klok" } th { "Status" } th {} } }
                    tbody { @for d in &devices { (row(d)) } }
                }
            }
        },
    )
    .into_response()
}

/// What the "Klok" column means (its tooltip).
const CLOCK_HINT: &str = "De klok van de telefoon vergeleken met die van de server, bij de laatste synchronisatie. \u{201c}gelijk\u{201d}: minder dan 5 minuten verschil. Loopt de klok af, dan kloppen de tijden van nieuwe contacten niet: laat de veldwerker de tijd van de telefoon automatisch instellen.";

/// The last characters of an id, to tell two phones of one person apart.
fn short_id(id: &str) -> &str {
    id.get(id.len().saturating_sub(4)..).unwrap_or(id)
}

fn row(d: &DeviceSummary) -> Markup {
    html! {
        tr data-device=(d.id) {
            td data-label="Veldwerker" { (d.username) }
            td data-label="Toestel" { (d.label) br; span.muted.small title="Het einde van het nummer van deze aanmelding" { "nr. …" (short_id(&d.id.to_string())) } }
            td data-label="Aangemeld op" { (format_local_ms(d.enrolled_at)) }
            td data-label="Laatst gezien" { (d.last_seen.map(format_local_ms).unwrap_or_else(|| "nooit".into())) }
            td data-label="Klok" {
                @match d.offset_ms {
                    Some(ms) if ms.abs() > 5 * 60 * 1000 => span.badge.warn title=(CLOCK_HINT) { "loopt " (ms / 60_000) " min af" },
                    Some(_) => span.badge.ok title=(CLOCK_HINT) { "gelijk" },
                    None => span.muted { "–" },
                }
            }
            td data-label="Status" {
                @if d.revoked { span.badge.alert { "ingetrokken" } } @else { span.badge.ok { "actief" } }
                @if let Some(n) = d.unsent.filter(|n| *n > 0 && !d.revoked) { " " span.badge.warn.unsent { (n) " nog niet verzonden" } }
            }
            td.wide {
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

async fn list(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let notice = take_notice(&state, &user, q.melding.as_deref());
    show(&state, &user, notice).await
}

/// The enrolment panel: the QR code, and what to type or compare without it (the code in
/// its readable groups, `K7QM-2XPR-W9DA`).
fn invite_panel(name: &str, invite: &EnrolInvite, readable_code: &str) -> Markup {
    html! {
        section.panel.enrol #enrol role="status" {
            h2 { "Aanmelden: telefoon van " (name) }
            div.enrol-grid {
                div.qr #enrol-qr data-invite=(invite.encode()) {
                    @match invite_qr_svg(invite) {
                        Some(svg) => (PreEscaped(svg)),
                        None => p.notice.error { "De QR-code kon niet worden gemaakt; gebruik de code hiernaast." },
                    }
                }
                div {
                    p { "Open de Avondronde-app op de telefoon, tik op " strong { "Scan QR-code" } " en richt de camera op deze code." }
                    p { "Lukt scannen niet? Typ in de app:" }
                    dl.invite {
                        dt { "Server" } dd { code #enrol-server { (invite.server) } }
                        dt { "Aanmeldcode" } dd { code.big #enrol-code { (readable_code) } }
                    }
                    @match &invite.fingerprint {
                        Some(f) => p #enrol-fingerprint {
                            "De app toont dan de vingerafdruk van de meldpuntsleutel. Vergelijk die woord voor woord: "
                            strong.fingerprint { (f.words_line()) }
                        },
                        None => p.notice.error role="alert" {
                            "Er is nog geen ondertekende meldpuntsleutel. Zonder sleutel kan de telefoon geen zorgformulieren versturen; het meldpunt maakt hem aan op de meldpuntpagina."
                        },
                    }
                    p.muted { "Eenmalig, 24 uur geldig. U ziet de code alleen nu." }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    username: String,
}

async fn issue_code(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let caller = Caller::web(&user, address);
    let name = form.username.trim().to_owned();
    let n = name.clone();
    let g = user.gemeente;
    let issued = state
        .store
        .write(g, move |tx| {
            Ok(admin::issue_code(tx, &caller, &n).and_then(|code| {
                let fp: Option<Fingerprint> = crate::meldpunt::keys::root_fingerprint(tx, g)?;
                Ok((code, fp))
            }))
        })
        .await;
    let notice = match issued {
        Ok(Ok((code, fingerprint))) => {
            let invite = EnrolInvite {
                server: server_address(&state, &headers),
                // The invite carries letters and digits only; the server reads it either way.
                code: code.replace('-', ""),
                fingerprint,
            };
            html! {
                (done(format!("Aanmeldcode voor {name} gemaakt.")))
                (invite_panel(&name, &invite, &code))
            }
        }
        Ok(Err(AdminError::Db(e))) | Err(e) => return failed(e),
        Ok(Err(AdminError::NotFound)) => refused("Geen veldwerker met die naam in uw gemeente."),
        Ok(Err(e)) => refused(e.to_string()),
    };
    show(&state, &user, Some(notice)).await
}

#[derive(Debug, Deserialize)]
struct RevokeForm {
    device: String,
    #[serde(default)]
    bevestigd: Option<String>,
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<RevokeForm>,
) -> Response {
    let Ok(device) = form.device.parse::<DeviceId>() else {
        return show(&state, &user, Some(refused("Onbekende telefoon."))).await;
    };
    if form.bevestigd.as_deref() != Some("1") {
        let g = user.gemeente;
        let devices = match state.store.read(g, move |tx| admin::devices(tx, g)).await {
            Ok(d) => d,
            Err(e) => return failed(e),
        };
        if let Some(d) = devices.iter().find(|d| d.id == device && !d.revoked)
            && let Some(n) = d.unsent.filter(|n| *n > 0)
        {
            let warning = html! {
                div.notice.error.confirm role="alert" {
                    p { strong { "Op de telefoon van " (d.username) " (" (d.label) ") staan " (n) " nog niet verzonden items." } }
                    p { "Intrekken wist de telefoon bij de volgende verbinding, en daarmee ook die items. Laat de veldwerker eerst synchroniseren als dat kan. Is de telefoon kwijt, trek hem dan wel meteen in." }
                    form method="post" action="/beheer/intrekken" {
                        input type="hidden" name="device" value=(d.id);
                        input type="hidden" name="bevestigd" value="1";
                        button.danger type="submit" { "Toch intrekken" }
                        " "
                        a.button.secondary href="/beheer/telefoons" { "Annuleren" }
                    }
                }
            };
            return show(&state, &user, Some(warning)).await;
        }
    }
    let caller = Caller::web(&user, address);
    let done_ = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(admin::revoke(tx, &caller, device))
        })
        .await;
    match done_ {
        // Back to the list (Post/Redirect/Get): a reload does not post again.
        Ok(Ok(())) => redirect_with(
            &state,
            &user,
            "/beheer/telefoons",
            done(
                "De telefoon is ingetrokken; hij kan niet meer synchroniseren en wist zijn gegevens bij de volgende verbinding.",
            ),
        ),
        Ok(Err(AdminError::Db(e))) | Err(e) => failed(e),
        Ok(Err(_)) => {
            show(
                &state,
                &user,
                Some(refused("Onbekende of al ingetrokken telefoon.")),
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws the SVG's dark rectangles (`M{left} {top}h{w}v{h}H{left}V{top}`, as the
    /// `qrcode` crate writes them) into a greyscale image, as a screen would show it.
    fn rasterise(svg: &str) -> (usize, Vec<u8>) {
        let attr = |name: &str| {
            svg.split(&format!(" {name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .expect("attribute")
                .to_owned()
        };
        let w: usize = attr("width").parse().expect("width");
        let mut img = vec![255u8; w * w];
        for rect in attr("d").split('M').filter(|s| !s.is_empty()) {
            let n = |s: &str| s.parse::<usize>().expect("number");
            let (pos, rest) = rect.split_once('h').expect("h");
            let (left, top) = pos.split_once(' ').expect("position");
            let (width, rest) = rest.split_once('v').expect("v");
            let (height, _) = rest.split_once('H').expect("H");
            let (left, top, width, height) = (n(left), n(top), n(width), n(height));
            for y in top..top + height {
                for x in left..left + width {
                    img[y * w + x] = 0;
                }
            }
        }
        (w, img)
    }

    #[test]
    fn the_qr_code_drawn_on_the_page_decodes_to_the_invite() {
        let invite = EnrolInvite {
            server: "https://avondronde.gemeente.example".into(),
            code: "K7QM2XPRW9DA".into(),
            fingerprint: Some(Fingerprint::of_key(&[7; 32])),
        };
        let svg = invite_qr_svg(&invite).expect("svg");
        assert!(!svg.contains("style="), "no inline style (CSP)");
        let (w, img) = rasterise(&svg);
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, w, |x, y| img[y * w + x]);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code found");
        let (_, text) = grids[0].decode().expect("the code decodes");
        assert_eq!(EnrolInvite::parse(&text), Ok(invite));
    }

    #[test]
    fn the_server_address_is_the_configured_one_else_the_browsers() {
        let state = AppState::new(
            crate::store::Store::open(&tempfile::tempdir().expect("dir").path().join("t.sqlite"))
                .expect("db"),
            crate::Config::default(),
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::HOST,
            "avondronde.gemeente.example".parse().expect("host"),
        );
        assert_eq!(
            server_address(&state, &headers),
            "http://avondronde.gemeente.example"
        );
        // A Host header with characters no host name has is not put in a QR code.
        headers.insert(header::HOST, "evil;x".parse().expect("host"));
        assert_eq!(server_address(&state, &headers), "http://localhost");
        let configured = AppState::new(
            crate::store::Store::open(&tempfile::tempdir().expect("dir").path().join("t.sqlite"))
                .expect("db"),
            crate::Config {
                public_url: Some("https://avondronde.gemeente.nl/".into()),
                ..crate::Config::default()
            },
        );
        assert_eq!(
            server_address(&configured, &headers),
            "https://avondronde.gemeente.nl"
        );
    }
}

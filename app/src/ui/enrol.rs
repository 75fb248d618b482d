//! Enrolment: the server address and the one-time code from the beheerder.
//!
//! Issue 10, item 7: when the phone still holds unsent items or a running round, enrolment
//! refuses until they are sent (the round ended) or thrown away, after a confirmation that
//! names how many. Opened again from the status screen, the way back comes first.

use dioxus::prelude::*;

use super::chrome::{Btn, TextField};
use super::{Screen, app, ui};
use crate::keeping::{discard_question, items};
use crate::platform::camera;
use crate::services::leftover_refusal;
use crate::sync::Phase;
use avondronde_shared::enrolment::EnrolInvite;

/// The enrolment screen (also shown after the device was revoked).
#[component]
pub fn Enrol() -> Element {
    let ctx = app();
    let ui = ui();
    let initial_url = ctx.enrolment().map(|e| e.server_url).unwrap_or_default();
    let mut url = use_signal(move || initial_url);
    let mut code = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    let mut confirm = use_signal(|| false);
    let status = (ui.status)();
    let _ = (ui.data)();
    let wiped = status.wiped || matches!(status.phase, Phase::Revoked);
    let by_pin = status.message.as_deref() == Some(crate::pin::WIPED_MESSAGE);
    let backend = ctx.secret_backend().label_nl();
    let enrolled = ctx.enrolment().is_some();
    let left = ctx.leftovers().unwrap_or_default();
    let n = left.items();
    let discard = move |()| match app().discard_leftovers(n) {
        Ok(gone) => {
            confirm.set(false);
            error.set(None);
            ui.say(format!("{} weggegooid", items(gone.items())));
            ui.changed();
        }
        Err(e) => {
            confirm.set(false);
            error.set(Some(e.to_string()));
            ui.changed();
        }
    };

    // Typed by hand (`invite` = None): trust on first use, so the words are shown to
    // compare. From a QR code: the fingerprint in the code is checked.
    let mut enrol_with = move |invite: Option<EnrolInvite>| {
        if busy() {
            return;
        }
        busy.set(true);
        error.set(None);
        spawn(async move {
            let (server, typed, expected) = match &invite {
                Some(i) => (i.server.clone(), i.code.clone(), i.fingerprint),
                None => (url.peek().clone(), code.peek().clone(), None),
            };
            let result = app().enrol_pinned(&server, &typed, expected).await;
            busy.set(false);
            match result {
                Ok(pin) => {
                    code.set(String::new());
                    ui.say(match (pin, invite.is_some()) {
                        (Some(_), true) => {
                            "Aangemeld met de QR-code; de sleutel van het meldpunt is gecontroleerd."
                                .to_owned()
                        }
                        (Some(f), false) => format!(
                            "Aangemeld. Vergelijk de vingerafdruk van het meldpunt: {}",
                            f.words_line()
                        ),
                        (None, _) => "Aangemeld".to_owned(),
                    });
                    ui.go(Screen::Home);
                    ui.changed();
                }
                Err(e) => {
                    if let Some(i) = invite {
                        url.set(i.server);
                    }
                    error.set(Some(e));
                }
            }
        });
    };
    let submit = move |()| enrol_with(None);
    // A photo of the code (the fallback when there is no camera).
    use_future(move || async move {
        camera::watch_photo(move |frame| {
            match frame
                .map_err(|e| e.to_string())
                .and_then(|f| f.invite().map_err(|e| e.to_string()))
            {
                Ok(invite) => enrol_with(Some(invite)),
                Err(e) => error.set(Some(e)),
            }
        })
        .await;
    });
    let mut scanning = use_signal(|| false);
    let scan = move |()| {
        if scanning() {
            return;
        }
        scanning.set(true);
        error.set(None);
        spawn(async move {
            let mut found = None;
            let mut foreign = None;
            let outcome = camera::scan_camera(|frame| match frame.invite() {
                Ok(invite) => {
                    found = Some(invite);
                    true
                }
                Err(e @ crate::qr::ScanError::Invite(_)) => {
                    foreign = Some(e.to_string());
                    false
                }
                Err(_) => false,
            })
            .await;
            scanning.set(false);
            match (found, outcome) {
                (Some(invite), _) => enrol_with(Some(invite)),
                (None, Err(e)) => error.set(Some(e.to_string())),
                (None, Ok(())) => error.set(foreign),
            }
        });
    };

    let round = ctx.active_round().map(|r| r.wijk_name);
    let refusal = leftover_refusal(&left, round.as_deref());
    // While enrolling would be refused, the way to go on is in the card above: the
    // enrol buttons are not the next step then.
    let primary = if refusal.is_some() {
        "btn"
    } else {
        "btn primary"
    };
    let (question, discard_label) = match (left.open_round, n) {
        (true, 0) => (
            "De ronde op dit toestel weggooien?".to_owned(),
            "Ja, de ronde weggooien".to_owned(),
        ),
        (true, n) => (
            format!("De ronde en {} op dit toestel weggooien?", items(n)),
            format!("Ja, ronde en {} weggooien", items(n)),
        ),
        (false, n) => (discard_question(n), format!("Ja, {} weggooien", items(n))),
    };

    rsx! {
        section { class: "screen", aria_label: "Aanmelden",
            // Enrolling again is opened from the status screen: the way back comes first.
            if enrolled {
                Btn { label: "Terug", text: "‹ Terug", class: "btn back", onclick: move |()| ui.go(Screen::Outbox) }
            }
            h2 { if enrolled { "Toestel opnieuw aanmelden" } else { "Toestel aanmelden" } }
            if wiped && by_pin {
                p { class: "error", role: "alert", "{crate::pin::WIPED_MESSAGE}" }
            } else if wiped {
                p { class: "error", role: "alert",
                    "Dit toestel is ingetrokken door de beheerder; alle gegevens erop zijn gewist."
                }
            }
            // What still runs or waits on this phone, before anything else: enrolling is
            // refused until it is done. The way that keeps it comes first, throwing it away
            // last and only after a question (rev3 finding 8).
            if let Some(reason) = refusal {
                section { class: "card", aria_label: "Eerst afronden op dit toestel",
                    p { class: "warn", role: "status", "{reason}" }
                    if enrolled {
                        Btn { label: "Naar de ronde", class: "btn primary wide", onclick: move |()| ui.go(Screen::Home) }
                    }
                    if confirm() {
                        p { strong { "{question}" } }
                        p { class: "muted", "Dit kan niet ongedaan worden." }
                        Btn { label: "Nee, bewaren", class: "btn wide", onclick: move |()| confirm.set(false) }
                        Btn { label: discard_label, class: "btn danger wide", onclick: discard }
                    } else {
                        Btn { label: "Weggooien…", class: "btn quiet", onclick: move |()| confirm.set(true) }
                    }
                }
            }
            if !wiped {
                p { class: "muted", "Scan de QR-code van de beheerder, of vul het adres van de server en de aanmeldcode in." }
            }
            if scanning() {
                video { id: camera::VIDEO_ID, class: "qr-video", aria_label: "Camerabeeld", autoplay: true, muted: true, playsinline: true }
                Btn { label: "Stoppen met scannen", class: "btn wide", onclick: move |()| scanning.set(false) }
            } else {
                Btn { label: "Scan QR-code", class: "{primary} wide", disabled: busy(), onclick: scan }
            }
            // The browser's own file control ("Choose File / No file chosen") in a button
            // of the app's style and language; the input stays for the photo watcher.
            label { class: "btn wide file-pick",
                "Foto van de QR-code kiezen"
                input { r#type: "file", id: camera::FILE_ID, accept: "image/*", aria_label: "Foto van de QR-code" }
            }
            h3 { "Zelf invullen" }
            TextField {
                label: "Serveradres",
                kind: "url",
                inputmode: "url",
                autocomplete: "url",
                placeholder: "https://avondronde.gemeente.nl",
                value: url(),
                oninput: move |v| url.set(v),
            }
            TextField {
                label: "Aanmeldcode",
                placeholder: "ABCD-EFGH-JKLM",
                autocomplete: "one-time-code",
                value: code(),
                oninput: move |v| code.set(v),
            }
            if let Some(e) = error() {
                p { class: "error", role: "alert", "{e}" }
            }
            Btn {
                label: "Aanmelden",
                text: if busy() { "Bezig…".to_string() } else { "Aanmelden".to_string() },
                class: "{primary} wide",
                disabled: busy(),
                onclick: submit,
            }
            p { class: "muted", "{backend}." }
        }
    }
}

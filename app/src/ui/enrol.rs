//! Enrolment: the server address and the one-time code from the beheerder.
//!
//! Issue 10, item 7: when the phone still holds unsent items of a previous user, enrolment
//! refuses until they are sent or thrown away, after a confirmation that names how many.

use dioxus::prelude::*;

use super::chrome::{Btn, TextField};
use super::{Screen, app, ui};
use crate::keeping::{discard_question, items};
use crate::services::leftover_refusal;
use crate::sync::Phase;

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

    let submit = move |()| {
        if busy() {
            return;
        }
        busy.set(true);
        error.set(None);
        spawn(async move {
            let result = app().enrol_pinned(&url.peek(), &code.peek(), None).await;
            busy.set(false);
            match result {
                Ok(pin) => {
                    code.set(String::new());
                    // Typed by hand: trust on first use, so show the words to compare.
                    ui.say(match pin {
                        Some(f) => format!(
                            "Aangemeld. Vergelijk de vingerafdruk van het meldpunt: {}",
                            f.words_line()
                        ),
                        None => "Aangemeld".to_owned(),
                    });
                    ui.go(Screen::Home);
                    ui.changed();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    rsx! {
        section { class: "screen", aria_label: "Aanmelden",
            h2 { "Toestel aanmelden" }
            if wiped && by_pin {
                p { class: "error", role: "alert", "{crate::pin::WIPED_MESSAGE}" }
            } else if wiped {
                p { class: "error", role: "alert",
                    "Dit toestel is ingetrokken door de beheerder; alle gegevens erop zijn gewist."
                }
            } else {
                p { class: "muted", "Vul het adres van de server en de aanmeldcode van de beheerder in." }
            }
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
            if let Some(reason) = leftover_refusal(&left) {
                section { class: "card", aria_label: "Niet verzonden van de vorige gebruiker",
                    p { class: "warn", role: "status", "{reason}" }
                    if confirm() {
                        p { strong { "{discard_question(n)}" } }
                        p { class: "muted", "Dit kan niet ongedaan worden." }
                        Btn { label: format!("Ja, {} weggooien", items(n)), class: "btn danger wide", onclick: discard }
                        Btn { label: "Nee, bewaren", class: "btn wide", onclick: move |()| confirm.set(false) }
                    } else {
                        Btn { label: "Weggooien…", class: "btn wide", onclick: move |()| confirm.set(true) }
                    }
                }
            }
            if let Some(e) = error() {
                p { class: "error", role: "alert", "{e}" }
            }
            Btn {
                label: "Aanmelden",
                text: if busy() { "Bezig…".to_string() } else { "Aanmelden".to_string() },
                class: "btn primary wide",
                disabled: busy(),
                onclick: submit,
            }
            p { class: "muted", "{backend}." }
            if enrolled {
                Btn { label: "Terug", class: "btn wide", onclick: move |()| ui.go(Screen::Home) }
            }
        }
    }
}

//! Enrolment: the server address and the one-time code from the beheerder.

use dioxus::prelude::*;

use super::chrome::{Btn, TextField};
use super::{app, ui};
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
    let status = (ui.status)();
    let wiped = status.wiped || matches!(status.phase, Phase::Revoked);
    let backend = ctx.secret_backend().label_nl();

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
                    ui.changed();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    rsx! {
        section { class: "screen", aria_label: "Aanmelden",
            h2 { "Toestel aanmelden" }
            if wiped {
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
        }
    }
}

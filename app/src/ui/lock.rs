//! The app PIN (issue 10): set it right after enrolment, and type it to see any screen
//! with data after the app was in the background for the gemeente's minutes. The rules
//! are in [`crate::pin`]; ten wrong PINs wipe the phone and the enrol screen says why.

use dioxus::prelude::*;

use super::chrome::{Btn, TextField};
use super::{app, ui};
use crate::pin::Attempt;

/// Choosing the PIN, shown once after enrolment before any screen with data.
#[component]
pub fn SetPin() -> Element {
    let ui = ui();
    let mut pin = use_signal(String::new);
    let mut again = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let when = match app().phone_policy().lock_after_minutes {
        0 => "elke keer dat hij op de achtergrond stond".to_owned(),
        1 => "als hij 1 minuut of langer op de achtergrond stond".to_owned(),
        m => format!("als hij {m} minuten of langer op de achtergrond stond"),
    };
    let save = move |()| {
        let result = app().set_pin(&pin.peek(), &again.peek());
        match result {
            Ok(()) => {
                pin.set(String::new());
                again.set(String::new());
                ui.say("Pincode ingesteld");
                ui.changed();
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    rsx! {
        section { class: "screen", aria_label: "Pincode instellen",
            h2 { "Kies een pincode" }
            p { class: "muted",
                "De app vraagt deze pincode {when}. Tien keer een onjuiste pincode wist alle gegevens op dit toestel."
            }
            TextField { label: "Nieuwe pincode", kind: "password", inputmode: "numeric",
                placeholder: "4 tot 8 cijfers", value: pin(), oninput: move |v| pin.set(v) }
            TextField { label: "Pincode nogmaals", kind: "password", inputmode: "numeric",
                value: again(), oninput: move |v| again.set(v) }
            if let Some(e) = error() {
                p { class: "error", role: "alert", "{e}" }
            }
            Btn { label: "Pincode instellen", class: "btn primary wide", onclick: save }
        }
    }
}

/// The lock screen: nothing with data is shown until the right PIN is typed.
#[component]
pub fn Unlock() -> Element {
    let ui = ui();
    let mut pin = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let check = move |()| {
        let typed = pin.peek().clone();
        pin.set(String::new());
        match app().try_pin(&typed) {
            Ok(Attempt::Unlocked) => {
                error.set(None);
                ui.changed();
            }
            Ok(other) => {
                error.set(other.message_nl());
                ui.changed();
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    rsx! {
        section { class: "screen", aria_label: "Vergrendeld",
            h2 { "Avondronde is vergrendeld" }
            p { class: "muted", "Typ je pincode." }
            TextField { label: "Pincode", kind: "password", inputmode: "numeric",
                value: pin(), oninput: move |v| pin.set(v) }
            if let Some(e) = error() {
                p { class: "error", role: "alert", "{e}" }
            }
            Btn { label: "Ontgrendelen", class: "btn primary wide", onclick: check }
        }
    }
}

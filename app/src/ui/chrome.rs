//! The frame around every screen: title, sync status, tabs with badges, the toast, and
//! the small shared widgets (buttons and chips with accessible labels).

use std::time::Duration;

use dioxus::dioxus_core::Task;
use dioxus::prelude::*;

use super::{Screen, app, ui};
use crate::sync::{Phase, SyncStatus};

/// The sync status in a few words, and its colour class.
pub fn status_words(s: &SyncStatus) -> (String, &'static str) {
    let pending = s.counts.pending;
    match &s.phase {
        Phase::Revoked => ("ingetrokken".into(), "bad"),
        Phase::UpdateApp => ("app bijwerken".into(), "bad"),
        _ if !s.online => (format!("offline · {pending} wacht"), "wait"),
        Phase::Sending => ("verzenden…".into(), "wait"),
        _ if pending > 0 => (format!("{pending} wacht"), "wait"),
        _ => ("alles verzonden".into(), "ok"),
    }
}

/// Title bar and tabs.
#[component]
pub fn Header() -> Element {
    let ui = ui();
    let _ = (ui.data)();
    let mut status = (ui.status)();
    // A store error shows as "?" in the pill rather than as a count that looks true.
    let header = app().header_counts();
    let failed = header.is_err();
    let (unread, counts) = header.unwrap_or_default();
    // The store is the truth for counts; the engine's copy may lag a save.
    status.counts = counts;
    let (words, class) = if failed {
        ("opslag onleesbaar".to_owned(), "bad")
    } else {
        status_words(&status)
    };
    let round = app().active_round().is_some();
    let current = (ui.screen)();
    let tab = |target: Screen| if current == target { "active" } else { "" };
    rsx! {
        header { class: "top",
            div { class: "titlebar",
                h1 { "Avondronde" }
                span { class: "pill {class}", role: "status", aria_label: "Verzendstatus: {words}", "{words}" }
            }
            nav { class: "tabs", aria_label: "Schermen",
                if round {
                    button { class: tab(Screen::Record), aria_label: "Contact vastleggen",
                        onclick: move |_| ui.go(Screen::Record), "Contact" }
                }
                button { class: tab(Screen::Home), aria_label: "Ronde",
                    onclick: move |_| ui.go(Screen::Home), "Ronde" }
                button { class: tab(Screen::Outbox), aria_label: "Verzendstatus, {status.counts.pending} wachtend",
                    onclick: move |_| ui.go(Screen::Outbox),
                    "Status"
                    if status.counts.pending > 0 { span { class: "badge", "{status.counts.pending}" } }
                }
                button { class: tab(Screen::Feedback), aria_label: "Terugkoppeling, {unread} nieuw",
                    onclick: move |_| ui.go(Screen::Feedback),
                    "Terugkoppeling"
                    if unread > 0 { span { class: "badge", "{unread}" } }
                }
            }
        }
    }
}

/// The short message just under the tabs; it clears itself three seconds after the last
/// message. A new message restarts the clock, so "Opgeslagen" right after "Correctie
/// opgeslagen" is not wiped by the earlier message's timer.
#[component]
pub fn Toast() -> Element {
    let mut toast = ui().toast;
    let mut timer = use_signal(|| None::<Task>);
    let text = toast();
    use_effect(move || {
        if toast().is_some() {
            if let Some(earlier) = timer.write().take() {
                earlier.cancel();
            }
            let clear = spawn(async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                toast.set(None);
            });
            timer.set(Some(clear));
        }
    });
    rsx! {
        if let Some(t) = text {
            div { class: "toast", role: "status", aria_live: "polite", "{t}" }
        }
    }
}

/// A button with an accessible label.
#[component]
pub fn Btn(
    label: String,
    #[props(default)] text: Option<String>,
    #[props(default)] class: Option<String>,
    #[props(default)] disabled: bool,
    onclick: EventHandler<()>,
) -> Element {
    let class = class.unwrap_or_else(|| "btn".into());
    let shown = text.unwrap_or_else(|| label.clone());
    rsx! {
        button { class: "{class}", aria_label: "{label}", disabled, onclick: move |_| onclick.call(()), "{shown}" }
    }
}

/// A toggle chip.
#[component]
pub fn Chip(label: String, on: bool, onclick: EventHandler<()>) -> Element {
    rsx! {
        button {
            class: if on { "chip on" } else { "chip" },
            aria_label: "{label}",
            aria_pressed: "{on}",
            onclick: move |_| onclick.call(()),
            "{label}"
        }
    }
}

/// A labelled text input; every change goes to `oninput`. An `error` is shown under the
/// input itself and marks it invalid; a `note` (e.g. how the input was read) likewise.
#[component]
pub fn TextField(
    label: String,
    value: String,
    oninput: EventHandler<String>,
    #[props(default)] placeholder: String,
    #[props(default = "text".to_string())] kind: String,
    #[props(default = "text".to_string())] inputmode: String,
    #[props(default = "off".to_string())] autocomplete: String,
    #[props(default)] error: Option<String>,
    #[props(default)] note: Option<String>,
) -> Element {
    let invalid = error.is_some();
    rsx! {
        label { class: "field",
            span { "{label}" }
            input {
                r#type: "{kind}",
                inputmode: "{inputmode}",
                autocomplete: "{autocomplete}",
                aria_label: "{label}",
                aria_invalid: invalid,
                placeholder: "{placeholder}",
                value: "{value}",
                oninput: move |e| oninput.call(e.value()),
            }
            if let Some(e) = error {
                span { class: "field-error", role: "alert", "{e}" }
            } else if let Some(n) = note {
                span { class: "field-note", "{n}" }
            }
        }
    }
}

//! The frame around every screen: title, sync status, tabs with badges, the toast, and
//! the small shared widgets (buttons and chips with accessible labels).

use std::time::Duration;

use dioxus::dioxus_core::Task;
use dioxus::prelude::*;

use super::{Screen, app, ui};
use crate::state::hhmm;
use crate::sync::{Phase, SyncStatus};

/// The sync status in a few words for the header's pill, and its colour class. It says
/// the same as [`status_line`] on the status screen: never "verzenden…" once the pass
/// has failed (rev3 finding 14).
pub fn status_words(s: &SyncStatus) -> (String, &'static str) {
    let pending = s.counts.pending;
    let busy = matches!(s.phase, Phase::Sending | Phase::Pulling);
    match &s.phase {
        Phase::Revoked => ("ingetrokken".into(), "bad"),
        Phase::UpdateApp => ("app bijwerken".into(), "bad"),
        _ if !s.online => (format!("offline · {pending} wacht"), "wait"),
        Phase::Sending => ("verzenden…".into(), "wait"),
        _ if !busy && s.unreachable => ("geen verbinding".into(), "wait"),
        _ if !busy && s.message.is_some() => ("niet gelukt".into(), "bad"),
        _ if pending > 0 => (format!("{pending} wacht"), "wait"),
        _ => ("alles verzonden".into(), "ok"),
    }
}

/// What the status screen says about the last or current pass, in one sentence: the
/// long form of [`status_words`]. `None` when all went well.
pub fn status_line(s: &SyncStatus) -> Option<String> {
    let retry = match s.phase {
        Phase::Retrying { at, .. } => format!("; nieuwe poging om {}", hhmm(at)),
        _ => String::new(),
    };
    match (&s.phase, &s.message) {
        (Phase::Revoked | Phase::UpdateApp, Some(m)) => Some(m.clone()),
        _ if !s.online => Some(
            "Geen netwerk op dit toestel. Alles blijft bewaard en gaat vanzelf weg zodra er weer netwerk is."
                .into(),
        ),
        (Phase::Sending | Phase::Pulling, None) => None,
        (Phase::Sending | Phase::Pulling, Some(m)) => Some(format!(
            "Bezig met een nieuwe poging (de vorige: {m})."
        )),
        (_, Some(_)) if s.unreachable => Some(format!("Geen verbinding met de server{retry}.")),
        (_, Some(m)) => Some(format!("Niet gelukt: {m}{retry}.")),
        (_, None) => None,
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

/// The short message near the bottom of the screen, where the eyes and the thumb are,
/// never over a heading (rev3 finding 20); it clears itself three seconds after the last
/// message. A new message restarts the clock, so "Opgeslagen" right after "Correctie
/// opgeslagen" is not wiped by the earlier message's timer.
///
/// On a screen with a panel fixed to the bottom (`in_panel`: the record screen, the map)
/// the panel shows the message just above itself ([`PanelToast`]) and this one only keeps
/// the clock: the panel's height changes, and only the panel knows where its top is.
#[component]
pub fn Toast(#[props(default)] in_panel: bool) -> Element {
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
        if let (Some(t), false) = (text, in_panel) {
            div { class: "toast", role: "status", aria_live: "polite", "{t}" }
        }
    }
}

/// The message of [`Toast`], shown just above a panel fixed to the bottom of the screen;
/// put it first in the panel.
#[component]
pub fn PanelToast() -> Element {
    let text = (ui().toast)();
    rsx! {
        if let Some(t) = text {
            div { class: "toast above", role: "status", aria_live: "polite", "{t}" }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(phase: Phase, unreachable: bool, message: &str) -> SyncStatus {
        let mut s = SyncStatus {
            phase,
            online: true,
            unreachable,
            message: Some(message.into()),
            ..SyncStatus::default()
        };
        s.counts.pending = 1;
        s
    }

    /// rev3 finding 14: with a hanging server the pill said "verzenden…" while the status
    /// screen said "geen verbinding met de server".
    #[test]
    fn the_pill_and_the_status_screen_agree_about_a_server_that_cannot_be_reached() {
        // 22:52 in Amsterdam.
        let at: jiff::Timestamp = "2026-11-20T21:52:00Z".parse().expect("time");
        let retrying = failed(
            Phase::Retrying { in_s: 60, at },
            true,
            "geen verbinding met de server",
        );
        assert_eq!(status_words(&retrying).0, "geen verbinding");
        assert_eq!(
            status_line(&retrying).as_deref(),
            Some("Geen verbinding met de server; nieuwe poging om 22:52.")
        );
        // Right after the failure, before the next try is scheduled.
        let failed_now = failed(Phase::Idle, true, "geen verbinding met de server");
        assert_eq!(status_words(&failed_now).0, "geen verbinding");
        assert_eq!(
            status_line(&failed_now).as_deref(),
            Some("Geen verbinding met de server.")
        );
        // The next try runs: both say so, and the body keeps why the last one failed.
        let again = failed(Phase::Sending, true, "geen verbinding met de server");
        assert_eq!(status_words(&again).0, "verzenden…");
        assert_eq!(
            status_line(&again).as_deref(),
            Some("Bezig met een nieuwe poging (de vorige: geen verbinding met de server).")
        );
        // Refused by the server rather than unreachable.
        let refused = failed(Phase::Retrying { in_s: 30, at }, false, "serverfout 500");
        assert_eq!(status_words(&refused), ("niet gelukt".to_owned(), "bad"));
        assert_eq!(
            status_line(&refused).as_deref(),
            Some("Niet gelukt: serverfout 500; nieuwe poging om 22:52.")
        );
        // All well: the pill counts, the screen has nothing to add.
        let ok = SyncStatus {
            phase: Phase::Idle,
            online: true,
            ..SyncStatus::default()
        };
        assert_eq!(status_words(&ok).0, "alles verzonden");
        assert_eq!(status_line(&ok), None);
    }
}

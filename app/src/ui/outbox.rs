//! The outbox status list: every item waits (wacht), was sent (verzonden, with the
//! server's receipt) or was refused (geweigerd, with the reason). Refused items are kept
//! aside and never hold up the rest.

use avondronde_shared::sync::EntryState;
use dioxus::prelude::*;

use super::chrome::{Btn, status_line};
use super::{Screen, app, ui};
use crate::state::{date_hhmm, hhmm};
use crate::store::outbox::OutboxRow;
use crate::sync::{LONG_QUEUE, Phase};

/// How many rows the list shows.
const SHOWN: u32 = 200;

/// The state of a row in words.
pub fn state_words(row: &OutboxRow) -> (String, &'static str) {
    match &row.state {
        EntryState::Pending { .. } if row.attempts > 0 => (
            format!(
                "wacht ({} mislukte {})",
                row.attempts,
                if row.attempts == 1 {
                    "poging"
                } else {
                    "pogingen"
                }
            ),
            "state-pending",
        ),
        EntryState::Pending { .. } => ("wacht".into(), "state-pending"),
        EntryState::Sent(a) => (
            format!("verzonden · ontvangstbewijs {}", a.seq),
            "state-sent",
        ),
        EntryState::Quarantined { message, .. } => {
            (format!("geweigerd: {message}"), "state-quarantined")
        }
    }
}

/// The progress bar for a long queue, if one is being sent.
#[component]
pub fn QueueProgress() -> Element {
    let status = (ui().status)();
    let (done, total) = match (status.progress, &status.phase) {
        (Some(p), Phase::Sending) => p,
        _ => return rsx! {},
    };
    if total < LONG_QUEUE {
        return rsx! {};
    }
    rsx! {
        div { aria_label: "Voortgang verzenden",
            p { "Verzenden: {done} van {total}" }
            progress { max: "{total}", value: "{done}", aria_label: "{done} van {total} verzonden" }
        }
    }
}

/// The outbox screen.
#[component]
pub fn Outbox() -> Element {
    let ctx = app();
    let ui = ui();
    let _ = (ui.data)();
    let status = (ui.status)();
    let (rows, c, pin) = match ctx.outbox_view(SHOWN) {
        Ok(view) => view,
        Err(e) => return rsx! { p { class: "error", role: "alert", "{e}" } },
    };
    rsx! {
        h2 { "Verzendstatus" }
        if let Some(f) = pin {
            p { class: "muted", id: "vingerafdruk",
                "Vingerafdruk meldpunt: "
                strong { "{f.words_line()}" }
            }
        }
        p { "{c.pending} wacht · {c.sent} verzonden · {c.quarantined} geweigerd" }
        if let Some(t) = status.last_ok {
            p { class: "muted", "Laatst gelukt: {date_hhmm(t)}" }
        }
        if let Some(line) = status_line(&status) {
            p { class: "warn", role: "status", aria_label: "Laatste verzendpoging", "{line}" }
        }
        QueueProgress {}
        Btn { label: "Nu proberen", class: "btn primary wide", onclick: move |()| app().sync.trigger() }
        ul { class: "list", aria_label: "Items",
            for row in rows {
                li { key: "{row.local_seq}",
                    div { strong { "{row.kind.label_nl()}" } span { class: "muted", " · {hhmm(row.created_at)}" } }
                    {
                        let (words, class) = state_words(&row);
                        rsx! { div { class: "{class}", "{words}" } }
                    }
                }
            }
        }
        Device {}
    }
}

/// The phone's enrolment, at the very end of the status screen: enrolling again is rare
/// (a new code from the beheerder, another user), so it is a quiet button behind a
/// question, not a big one under "Nu proberen" (rev3 finding 8).
#[component]
fn Device() -> Element {
    let ui = ui();
    let mut asking = use_signal(|| false);
    let server = app().enrolment().map(|e| e.server_url).unwrap_or_default();
    rsx! {
        section { class: "device", aria_label: "Toestel",
            h3 { "Toestel" }
            p { class: "muted", "Aangemeld bij {server}." }
            if asking() {
                div { class: "card", role: "group", aria_label: "Opnieuw aanmelden?",
                    p { strong { "Dit toestel opnieuw aanmelden?" } }
                    p { class: "muted",
                        "Alleen nodig met een nieuwe aanmeldcode van de beheerder, bijvoorbeeld voor een andere gebruiker. Je hebt die code nodig; zonder code kun je terug."
                    }
                    div { class: "row pair",
                        Btn { label: "Nee, terug", class: "btn", onclick: move |()| asking.set(false) }
                        Btn { label: "Ja, opnieuw aanmelden", class: "btn", onclick: move |()| ui.go(Screen::Enrol) }
                    }
                }
            } else {
                Btn { label: "Toestel opnieuw aanmelden…", text: "Opnieuw aanmelden…", class: "btn quiet", onclick: move |()| asking.set(true) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use avondronde_shared::sync::ItemKind;

    fn waiting(attempts: u32) -> OutboxRow {
        OutboxRow {
            local_seq: 1,
            kind: ItemKind::Contact,
            item_id: "c".into(),
            state: EntryState::Pending { attempts },
            attempts,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn failed_attempts_are_counted_in_good_dutch() {
        assert_eq!(state_words(&waiting(0)).0, "wacht");
        assert_eq!(state_words(&waiting(1)).0, "wacht (1 mislukte poging)");
        assert_eq!(state_words(&waiting(3)).0, "wacht (3 mislukte pogingen)");
    }
}

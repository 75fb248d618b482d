//! Ending a round, with the "alles verzonden?" check: anything still waiting is listed
//! and can be tried now; ending anyway keeps it queued. Unsent care-form drafts block the
//! end (issue 10): each is finished, or deliberately thrown away after a confirmation.

use avondronde_shared::sync::EntryState;
use dioxus::prelude::*;

use super::chrome::Btn;
use super::outbox::{QueueProgress, state_words};
use super::{Screen, app, ui};
use crate::keeping::{DraftAge, end_round_blocker, items};
use crate::state::hhmm;
use crate::suggest::zorgformulieren;

/// The end-of-round screen.
#[component]
pub fn EndRound() -> Element {
    let ctx = app();
    let ui = ui();
    let _ = (ui.data)();
    let mut error = use_signal(|| None::<String>);
    let mut confirm = use_signal(|| None::<avondronde_shared::CareFormId>);
    let ages = ctx.draft_ages().unwrap_or_default();
    let read = ctx
        .outbox_view(500)
        .and_then(|(rows, _, _)| Ok((rows, ctx.care_drafts()?)));
    let (rows, drafts) = match read {
        Ok(r) => r,
        Err(e) => return rsx! { p { class: "error", role: "alert", "{e}" } },
    };
    let unsent = rows
        .into_iter()
        .filter(|r| !matches!(r.state, EntryState::Sent(_)))
        .collect::<Vec<_>>();
    let all_sent = unsent.is_empty() && drafts.is_empty();
    let blocker = end_round_blocker(drafts.len());
    let age_of = move |id| {
        ages.iter()
            .find(|(d, _)| *d == id)
            .map_or(DraftAge::Fresh, |(_, a)| *a)
    };
    let end = move |()| match app().end_round() {
        Ok(()) => {
            ui.changed();
            ui.say("Ronde beëindigd");
            ui.go(Screen::Home);
        }
        Err(e) => error.set(Some(e.to_string())),
    };
    rsx! {
        h2 { "Ronde beëindigen" }
        h3 { "Alles verzonden?" }
        if all_sent {
            p { class: "state-sent", role: "status", "Ja, alles is verzonden." }
        } else {
            p { class: "warn", role: "status",
                "Nog niet alles is verzonden: {items(unsent.len() as u32)}"
                if !drafts.is_empty() { ", {zorgformulieren(drafts.len())} nog niet verzegeld" }
                "."
            }
            QueueProgress {}
            ul { class: "list", aria_label: "Niet verzonden",
                for row in unsent {
                    li { key: "{row.local_seq}",
                        strong { "{row.kind.label_nl()}" }
                        " · {hhmm(row.created_at)} · "
                        { let (w, c) = state_words(&row); rsx! { span { class: "{c}", "{w}" } } }
                    }
                }
                for d in drafts {
                    li { key: "{d.id}",
                        Btn { label: format!("Zorgformulier kind {} afmaken", d.child_no), class: "btn wide",
                            onclick: move |()| ui.go(Screen::CareForm(d.id)) }
                        if let Some(w) = age_of(d.id).warning_nl() {
                            p { class: "warn", "{w}" }
                        }
                        if confirm() == Some(d.id) {
                            p { strong { "Zorgformulier kind {d.child_no} weggooien? Wat erin staat, is dan weg." } }
                            Btn { label: format!("Ja, zorgformulier kind {} weggooien", d.child_no), class: "btn danger wide",
                                onclick: move |()| {
                                    confirm.set(None);
                                    match app().discard_care_draft(d.id) {
                                        Ok(()) => { ui.say("Zorgformulier weggegooid"); ui.changed(); }
                                        Err(e) => error.set(Some(e.to_string())),
                                    }
                                } }
                            Btn { label: "Nee, bewaren", class: "btn wide", onclick: move |()| confirm.set(None) }
                        } else {
                            Btn { label: format!("Zorgformulier kind {} weggooien", d.child_no), text: "Weggooien…".to_string(), class: "btn wide",
                                onclick: move |()| confirm.set(Some(d.id)) }
                        }
                    }
                }
            }
            Btn { label: "Nu proberen", class: "btn primary wide", onclick: move |()| app().sync.trigger() }
            p { class: "muted", "Toch beëindigen kan: wat wacht, blijft bewaard en wordt later verzonden." }
        }
        if let Some(e) = error() {
            p { class: "error", role: "alert", "{e}" }
        }
        if let Some(b) = &blocker {
            p { class: "warn", role: "status", "{b}" }
        }
        Btn {
            disabled: blocker.is_some(),
            label: if all_sent { "Ronde beëindigen".to_string() } else { "Toch beëindigen".to_string() },
            class: if all_sent { "btn primary wide" } else { "btn danger wide" },
            onclick: end,
        }
        Btn { label: "Terug", class: "btn wide", onclick: move |()| ui.go(Screen::Home) }
    }
}

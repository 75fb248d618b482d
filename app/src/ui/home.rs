//! Home: start a round (wijk and partner), or see the round in progress with the contacts
//! saved in it (each one can be corrected); after a round, what it came to; open care
//! forms that still need finishing; what is unsent; news from the meldpunt.

use avondronde_shared::{StreetContact, WijkId};
use dioxus::prelude::*;

use super::chrome::{Btn, Chip, TextField};
use super::{MapPurpose, Screen, app, ui};
use crate::state::hhmm;
use crate::suggest::{RoundSummary, contacten, round_line};

/// The home screen.
#[component]
pub fn Home() -> Element {
    let ctx = app();
    let ui = ui();
    let _ = (ui.data)();
    let round = ctx.active_round();
    let (drafts, unread, contacts, pending) = match ctx.home_summary() {
        Ok(summary) => summary,
        Err(e) => return rsx! { p { class: "error", role: "alert", "{e}" } },
    };
    // After "Ronde beëindigen": what the evening came to, and whether all of it is sent
    // (it follows the sync engine, so "nog 1 te verzenden" turns into "alles verzonden").
    let finished = match ctx.round_summary() {
        Ok(s) => s,
        Err(e) => return rsx! { p { class: "error", role: "alert", "{e}" } },
    };
    let saved = if round.is_some() {
        ctx.round_contacts()
    } else {
        Vec::new()
    };

    rsx! {
        if let Some(r) = round {
            section { class: "card", aria_label: "Lopende ronde",
                h2 { "Ronde in {r.wijk_name}" }
                p { "Gestart om {hhmm(r.started_at)}"
                    if let Some(p) = &r.partner { ", met {p}" }
                    ". {contacten(contacts)} vastgelegd."
                }
                if !drafts.is_empty() {
                    p { class: "warn", aria_label: "Zorgformulieren wachten",
                        if drafts.len() == 1 { "1 zorgformulier wacht op verzegelen." } else { "{drafts.len()} zorgformulieren wachten op verzegelen." }
                    }
                }
                Btn { label: "Contact vastleggen", class: "btn primary wide", onclick: move |()| ui.go(Screen::Record) }
                Btn { label: "Kaart van de ronde", text: "Kaart", class: "btn wide", onclick: move |()| ui.go(Screen::Map(MapPurpose::View)) }
                Btn { label: "Ronde beëindigen", class: "btn wide", onclick: move |()| ui.go(Screen::EndRound) }
                if !saved.is_empty() {
                    h3 { "Vastgelegd deze ronde" }
                    ul { class: "list", aria_label: "Vastgelegd deze ronde",
                        for (i, c) in saved.into_iter().enumerate() {
                            SavedContact { key: "{c.id}", number: i + 1, contact: c }
                        }
                    }
                }
            }
        } else {
            if let Some(summary) = finished {
                RoundDone { summary }
            }
            StartRound {}
        }
        if !drafts.is_empty() {
            section { aria_label: "Zorgformulieren af te maken",
                h3 { "Zorgformulieren af te maken" }
                for d in drafts {
                    Btn {
                        key: "{d.id}",
                        label: format!("Zorgformulier kind {} ({}) verder invullen", d.child_no, d.age_band.label_nl()),
                        text: format!("Kind {} · {} · verder invullen", d.child_no, d.age_band.label_nl()),
                        class: "btn wide",
                        onclick: move |()| ui.go(Screen::CareForm(d.id)),
                    }
                }
            }
        }
        section { aria_label: "Overzicht",
            h3 { "Overzicht" }
            Btn {
                label: format!("Verzendstatus: {pending} nog te verzenden"),
                text: format!("Nog te verzenden: {pending}"),
                class: "btn wide",
                onclick: move |()| ui.go(Screen::Outbox),
            }
            Btn {
                label: format!("Terugkoppeling: {unread} nieuw"),
                text: if unread > 0 { format!("Terugkoppeling · {unread} nieuw") } else { "Terugkoppeling".to_string() },
                class: if unread > 0 { "btn wide new" } else { "btn wide" },
                onclick: move |()| ui.go(Screen::Feedback),
            }
        }
    }
}

/// The summary of the round that just ended (rev3 finding 21): "Ronde Delfshaven
/// 22:30–23:59: 5 contacten, 1 zorgformulier, alles verzonden".
#[component]
fn RoundDone(summary: RoundSummary) -> Element {
    let ui = ui();
    let line = summary.line_nl();
    let all_sent = summary.all_sent();
    rsx! {
        section { class: if all_sent { "card done" } else { "card done waiting" }, aria_label: "Ronde afgerond",
            h2 { "Ronde afgerond" }
            p { role: "status", aria_label: "Samenvatting van de ronde", "{line}" }
            if !all_sent {
                Btn { label: "Verzendstatus bekijken", class: "btn wide", onclick: move |()| ui.go(Screen::Outbox) }
            }
        }
    }
}

/// Choosing the wijk and partner for a new round.
#[component]
fn StartRound() -> Element {
    let ctx = app();
    let ui = ui();
    // The wijken arrive with a sync; re-read them whenever the store changes.
    let _ = (ui.data)();
    let config = ctx.config();
    let wijken = config.map(|c| c.wijken).unwrap_or_default();
    let only = (wijken.len() == 1).then(|| wijken[0].id);
    let mut chosen = use_signal(move || only);
    let mut partner = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let start_wijken = wijken.clone();
    let start = move |()| {
        let Some(id) = chosen() else {
            error.set(Some("Kies eerst een wijk.".into()));
            return;
        };
        let Some(wijk) = start_wijken.iter().find(|w| w.id == id) else {
            return;
        };
        match app().start_round(wijk, &partner.peek()) {
            Ok(_) => {
                ui.say(format!("Ronde in {} gestart", wijk.name));
                ui.changed();
                ui.go(Screen::Record);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    rsx! {
        section { aria_label: "Ronde starten",
            h2 { "Ronde starten" }
            if wijken.is_empty() {
                p { class: "warn", "Nog geen wijken van de server ontvangen." }
                Btn { label: "Nu ophalen", class: "btn wide", onclick: move |()| app().sync.trigger() }
            } else {
                h3 { "Wijk" }
                div { class: "chips", role: "group", aria_label: "Wijk",
                    for w in wijken.iter().cloned() {
                        Chip {
                            key: "{w.id}",
                            label: w.name.clone(),
                            on: chosen() == Some(w.id),
                            onclick: move |()| chosen.set(Some::<WijkId>(w.id)),
                        }
                    }
                }
                TextField {
                    label: "Partner (optioneel)",
                    placeholder: "naam of roepnummer",
                    value: partner(),
                    oninput: move |v| partner.set(v),
                }
                if let Some(e) = error() {
                    p { class: "error", role: "alert", "{e}" }
                }
                Btn { label: "Start ronde", class: "btn primary wide", disabled: chosen().is_none(), onclick: start }
            }
        }
    }
}

/// One contact saved in the round in progress, with a button to correct it: its time,
/// group and what happened, where, and a mark when a child was past the norm.
#[component]
fn SavedContact(number: usize, contact: StreetContact) -> Element {
    let ui = ui();
    let line = round_line(&contact.facts, app().config().as_ref());
    let time = line.time.clone();
    let id = contact.id;
    rsx! {
        li { class: "row saved",
            div { class: "saved-what",
                div {
                    span { class: "muted", "{number}. " }
                    strong { "{line.time}" }
                    if line.past_norm {
                        span { class: "past-norm", "na de norm" }
                    }
                }
                div { "{line.what}" }
                div { class: "muted", "{line.place}" }
            }
            Btn {
                label: format!("Corrigeer contact {number} van {time}"),
                text: "Corrigeer",
                onclick: move |()| match app().correction_form(id) {
                    Ok(form) => ui.correct(id, form),
                    Err(e) => ui.say(e.to_string()),
                },
            }
        }
    }
}

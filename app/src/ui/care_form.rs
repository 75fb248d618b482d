//! The care form (zorgformulier) for one child brought home. Every change is saved to the
//! encrypted store at once; "verzegelen" encrypts it for the meldpunt and deletes the
//! plaintext from the device.

use avondronde_shared::{AgeBand, CareFormId};
use dioxus::document;
use dioxus::prelude::*;

use super::chrome::{Btn, Chip, TextField};
use super::{Screen, app, ui};
use crate::care::{CareDraft, REACTIONS, RECEPTIONS, SIGNALS, SealError, parse_date_nl};
use crate::state::hhmm;

/// The birth date field's label (and accessible name).
const BIRTH_LABEL: &str = "Geboortedatum (dd-mm-jjjj)";

/// Whether a problem from sealing is about the birth date, so it is shown at that field.
fn about_birth(problem: &str) -> bool {
    problem.starts_with("Geboortedatum")
}

/// Applies a change to the draft and saves it.
fn edit(
    mut draft: Signal<CareDraft>,
    id: CareFormId,
    mut saved: Signal<Option<String>>,
    change: impl FnOnce(&mut CareDraft),
) {
    change(&mut draft.write());
    let content = draft.peek().clone();
    let ctx = app();
    let now = ctx.now();
    let result = ctx.save_care_draft(id, &content);
    saved.set(Some(match result {
        Ok(()) => format!("Concept bewaard om {}", hhmm(now)),
        Err(e) => format!("Niet bewaard: {e}"),
    }));
}

/// The care-form screen.
#[component]
pub fn CareFormScreen(id: CareFormId) -> Element {
    let ui = ui();
    let loaded = use_hook(|| app().care_draft(id).map_err(|e| e.to_string()));
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => return rsx! { p { class: "error", role: "alert", "{e}" } },
    };
    let Some((row, initial)) = loaded else {
        return rsx! {
            h2 { "Zorgformulier" }
            p { "Dit formulier is al verzegeld en verzonden, of bestaat niet meer." }
            Btn { label: "Terug naar de ronde", class: "btn wide", onclick: move |()| ui.go(Screen::Home) }
        };
    };
    rsx! { CareFormFields { id, child_no: row.child_no, band: row.age_band, initial } }
}

#[component]
fn CareFormFields(id: CareFormId, child_no: u32, band: AgeBand, initial: CareDraft) -> Element {
    let ui = ui();
    let draft = use_signal(|| initial.clone());
    let saved = use_signal(|| None::<String>);
    let mut band_sig = use_signal(|| band);
    let mut problems = use_signal(Vec::<String>::new);
    let d = draft.read().clone();
    let has_key = app().config().is_some_and(|c| c.meldpunt_key.is_some());
    // At the field: what sealing said about the birth date, or, once it is long enough to
    // be a whole date, that it cannot be read; and how a date in digits was read.
    let typed = d.birth_date.trim().to_owned();
    let birth_error = problems
        .read()
        .iter()
        .find(|p| about_birth(p))
        .cloned()
        .or_else(|| {
            (typed.chars().count() >= 8)
                .then(|| d.birth_date_problem().map(str::to_owned))
                .flatten()
        });
    let birth_note = parse_date_nl(&typed)
        .map(|date| date.strftime("%d-%m-%Y").to_string())
        .filter(|read| *read != typed)
        .map(|read| format!("Gelezen als {read}"));

    let submit = move |()| match app().submit_care_form(id) {
        Ok(()) => {
            ui.changed();
            ui.say("Zorgformulier verzegeld; de inhoud staat niet meer leesbaar op dit toestel.");
            match app().next_care_draft() {
                Ok(next) => ui.go(next.map_or(Screen::Home, Screen::CareForm)),
                Err(e) => problems.set(vec![e.to_string()]),
            }
        }
        Err(SealError::Incomplete(list)) => {
            // The error is shown at the field too; bring the field into view, since the
            // button is at the bottom of a long form (rev3 finding 3).
            if list.iter().any(|p| about_birth(p)) {
                document::eval(&format!(
                    "document.querySelector('input[aria-label=\"{BIRTH_LABEL}\"]')?.scrollIntoView({{ block: 'center' }});"
                ));
            }
            problems.set(list);
        }
        Err(e) => problems.set(vec![e.to_string()]),
    };

    rsx! {
        h2 { "Zorgformulier kind {child_no}" }
        p { class: "muted", "Alleen het meldpunt kan dit formulier lezen. Het concept wordt versleuteld op dit toestel bewaard." }
        if !has_key {
            p { class: "warn", role: "note",
                "Er is nog geen sleutel van het meldpunt. Vul het formulier gerust in: het concept blijft bewaard en kan verzegeld worden zodra de sleutel binnen is."
            }
        }
        h3 { "Leeftijd" }
        div { class: "chips", role: "group", aria_label: "Leeftijdsklasse van het kind",
            for b in AgeBand::ALL {
                Chip { key: "{b.code()}", label: b.label_nl().to_string(), on: band_sig() == b,
                    onclick: move |()| {
                        band_sig.set(b);
                        if let Err(e) = app().set_care_band(id, b) {
                            problems.set(vec![e.to_string()]);
                        }
                    } }
            }
        }
        TextField { label: "Naam van het kind", value: d.child_name.clone(),
            oninput: move |v| edit(draft, id, saved, |d| d.child_name = v) }
        TextField { label: BIRTH_LABEL, inputmode: "numeric", placeholder: "dd-mm-jjjj",
            value: d.birth_date.clone(), error: birth_error, note: birth_note,
            oninput: move |v| {
                problems.write().retain(|p| !about_birth(p));
                edit(draft, id, saved, |d| d.birth_date = v);
            } }
        TextField { label: "of geschatte leeftijd (jaren)", kind: "number", inputmode: "numeric",
            value: d.estimated_age.map(|a| a.to_string()).unwrap_or_default(),
            oninput: move |v: String| edit(draft, id, saved, |d| d.estimated_age = v.trim().parse().ok()) }
        TextField { label: "Adres", value: d.address.clone(),
            oninput: move |v| edit(draft, id, saved, |d| d.address = v) }
        h3 { "Hoe werd het kind thuis ontvangen?" }
        div { class: "chips", role: "group", aria_label: "Ontvangst thuis",
            for r in RECEPTIONS {
                Chip { key: "{r.code()}", label: r.label_nl().to_string(), on: d.reception.as_ref() == Some(&r),
                    onclick: move |()| { let r = r.clone(); edit(draft, id, saved, |d| d.reception = Some(r)) } }
            }
        }
        h3 { "Broertjes of zusjes aanwezig?" }
        div { class: "chips", role: "group", aria_label: "Broertjes of zusjes aanwezig",
            Chip { label: "Ja", on: d.siblings_present == Some(true), onclick: move |()| edit(draft, id, saved, |d| d.siblings_present = Some(true)) }
            Chip { label: "Nee", on: d.siblings_present == Some(false), onclick: move |()| edit(draft, id, saved, |d| d.siblings_present = Some(false)) }
        }
        h3 { "Hoe reageerden de ouders?" }
        div { class: "chips", role: "group", aria_label: "Reactie ouders",
            for r in REACTIONS {
                Chip { key: "{r.code()}", label: r.label_nl().to_string(), on: d.parents_reaction.as_ref() == Some(&r),
                    onclick: move |()| { let r = r.clone(); edit(draft, id, saved, |d| d.parents_reaction = Some(r)) } }
            }
        }
        // Its own question, not a sixth answer to how the parents reacted (rev3 finding 21).
        h3 { "Melding aan de ouders" }
        p { class: "muted hint", "Vertel de ouders dat er een zorgmelding komt." }
        div { class: "chips single", role: "group", aria_label: "Melding aan de ouders",
            Chip { label: "Ouders weten dat er een melding komt", on: d.parents_informed,
                onclick: move |()| edit(draft, id, saved, |d| d.parents_informed = !d.parents_informed) }
        }
        h3 { "Zorgsignalen" }
        div { class: "chips", role: "group", aria_label: "Zorgsignalen",
            for s in SIGNALS {
                Chip { key: "{s.code()}", label: s.label_nl().to_string(), on: d.signals.contains(&s),
                    onclick: move |()| { let s = s.clone(); edit(draft, id, saved, |d| d.toggle_signal(s)) } }
            }
        }
        label { class: "field",
            span { "Toelichting (optioneel)" }
            textarea { aria_label: "Toelichting", value: "{d.narrative}",
                oninput: move |e| edit(draft, id, saved, |d| d.narrative = e.value()) }
        }
        if let Some(s) = saved() {
            p { class: "muted", role: "status", "{s}" }
        }
        if !problems().is_empty() {
            ul { class: "error", role: "alert",
                for p in problems() { li { "{p}" } }
            }
        }
        Btn { label: "Verzegelen en verzenden", class: "btn primary wide", onclick: submit }
        Btn { label: "Later afmaken", class: "btn wide", onclick: move |()| ui.go(Screen::Home) }
    }
}

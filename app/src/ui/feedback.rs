//! Terugkoppeling: my care forms with the meldpunt's status and short message, each named
//! by its contact's time and place (never by anything about the child). Opening
//! the list marks the news as seen; what was new stays highlighted while it is open.

use std::collections::HashSet;

use dioxus::prelude::*;

use super::{app, ui};
use crate::state::date_hhmm;

/// The feedback screen.
#[component]
pub fn FeedbackList() -> Element {
    let ctx = app();
    let ui = ui();
    let _ = (ui.data)();
    let marked = use_hook(|| {
        let ctx = app();
        let read = || -> Result<HashSet<_>, crate::services::AppError> {
            let ids = ctx
                .sent_forms()?
                .into_iter()
                .filter(|f| f.unread)
                .map(|f| f.id)
                .collect::<HashSet<_>>();
            if !ids.is_empty() {
                ctx.mark_feedback_read()?;
                spawn(async move { ui.changed() });
            }
            Ok(ids)
        };
        read().map_err(|e| e.to_string())
    });
    let read = marked
        .clone()
        .and_then(|fresh| Ok((fresh, ctx.feedback().map_err(|e| e.to_string())?)));
    let (fresh, forms) = match read {
        Ok(r) => r,
        Err(e) => return rsx! { p { class: "error", role: "alert", "{e}" } },
    };
    rsx! {
        h2 { "Terugkoppeling" }
        if forms.is_empty() {
            p { class: "muted", "Nog geen zorgformulieren verzonden." }
        }
        for (f, about) in forms {
            article {
                key: "{f.id}",
                class: if fresh.contains(&f.id) || f.unread { "card new" } else { "card" },
                aria_label: "Zorgformulier {f.age_band.label_nl()}",
                div { strong { "Zorgformulier · {f.age_band.label_nl()}" } }
                // Which family it is about, for the reporter: the contact's time and
                // place, never anything about the child (rev3 finding 21).
                if let Some(a) = about {
                    div { class: "form-about", "{a}" }
                }
                div { class: "muted", "Verzegeld {date_hhmm(f.sealed_at)}" }
                match &f.status {
                    Some(s) => rsx! { div { class: "state-sent", "Status: {s.label_nl()}" } },
                    None => rsx! { div { class: "state-pending", "Nog geen reactie van het meldpunt" } },
                }
                if let Some(m) = &f.message {
                    p { "Meldpunt: “{m}”" }
                }
                if fresh.contains(&f.id) {
                    span { class: "badge", "nieuw" }
                }
            }
        }
    }
}

//! Terugkoppeling: my care forms with the meldpunt's status and short message. Opening
//! the list marks the news as seen; what was new stays highlighted while it is open.

use std::collections::HashSet;

use dioxus::prelude::*;

use super::{app, ui};
use crate::state::date_hhmm;
use crate::store::lock;

/// The feedback screen.
#[component]
pub fn FeedbackList() -> Element {
    let ctx = app();
    let ui = ui();
    let _ = (ui.data)();
    let fresh: HashSet<_> = use_hook(|| {
        let ctx = app();
        let store = lock(&ctx.store);
        let ids = store
            .sent_forms()
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f.unread)
            .map(|f| f.id)
            .collect::<HashSet<_>>();
        if !ids.is_empty() {
            let _ = store.mark_feedback_read();
            spawn(async move { ui.changed() });
        }
        ids
    });
    let forms = lock(&ctx.store).sent_forms().unwrap_or_default();
    rsx! {
        h2 { "Terugkoppeling" }
        if forms.is_empty() {
            p { class: "muted", "Nog geen zorgformulieren verzonden." }
        }
        for f in forms {
            article {
                key: "{f.id}",
                class: if fresh.contains(&f.id) || f.unread { "card new" } else { "card" },
                aria_label: "Zorgformulier {f.age_band.label_nl()}",
                div { strong { "Zorgformulier · {f.age_band.label_nl()}" } }
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

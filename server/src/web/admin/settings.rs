//! Retention and the meldpunt key (`/beheer/instellingen`): the gemeente's retention
//! periods ([`crate::retention::set_periods`], as `admin set-retention` does), and the
//! meldpunt key's status and fingerprint as words. The admin sees only public key parts;
//! making and rotating the key is the meldpunt's, on the meldpunt page, with its passphrase.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::{done, failed, page, refused};
use crate::audit::Actor;
use crate::auth::{Page, WebUser, roles};
use crate::dates::format_local_ms;
use crate::db::{DbError, now_ms};
use crate::meldpunt::keys::{self, KeyStatus};
use crate::retention::{self, Periods};
use crate::state::AppState;

/// Routes of the settings page.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/beheer/instellingen", get(show_page))
        .route("/beheer/bewaartermijnen", post(set_retention))
}

/// The key's state in a few lines (also on the overview).
pub fn key_summary(k: &KeyStatus) -> Markup {
    html! {
        @if k.keys == 0 {
            p.notice.error role="alert" #key-status {
                "Er is nog geen meldpuntsleutel. Zonder sleutel kunnen telefoons geen zorgformulieren versturen. Het meldpunt maakt hem aan op de meldpuntpagina (Sleutel), met een wachtwoordzin die alleen het meldpunt kent."
            }
        } @else {
            dl.keystatus #key-status {
                dt { "Huidige sleutel sinds" } dd { (k.current_since.map(format_local_ms).unwrap_or_else(|| "–".into())) }
                dt { "Geldig tot" } dd {
                    @match k.valid_until {
                        Some(ms) if ms < now_ms() => span.badge.alert { "verlopen op " (format_local_ms(ms)) },
                        Some(ms) => (format_local_ms(ms)),
                        None => span.badge.warn { "niet ondertekend" },
                    }
                }
                dt { "Sleutels (met oude)" } dd { (k.keys) }
                dt { "Vingerafdruk" } dd {
                    @match &k.fingerprint {
                        Some(f) => strong.fingerprint #key-fingerprint { (f.words_line()) },
                        None => span.badge.warn { "geen: het meldpunt moet de sleutel vervangen" },
                    }
                }
            }
            p.muted { "Telefoons tonen bij het aanmelden dezelfde woorden. Het meldpunt vervangt de sleutel op de meldpuntpagina; de vingerafdruk blijft dan gelijk." }
        }
    }
}

async fn show(
    state: &Arc<AppState>,
    user: &WebUser,
    notice: Option<Markup>,
    typed: Option<&RetentionForm>,
) -> Response {
    let g = user.gemeente;
    let data = state
        .store
        .read(g, move |tx| {
            Ok((retention::periods(tx, g)?, keys::status(tx, g)?))
        })
        .await;
    let (p, key) = match data {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    let value = |typed_v: Option<&String>, stored: u32| {
        typed_v.cloned().unwrap_or_else(|| stored.to_string())
    };
    let field = |id: &str, label: &str, v: String, hint: &str| {
        html! {
            div {
                label for=(id) { (label) }
                input #(id) type="number" name=(id) min="1" max="120" step="1" value=(v) required;
                p.muted.small { (hint) }
            }
        }
    };
    page(
        user,
        "Bewaren en sleutel",
        "/beheer/instellingen",
        notice,
        html! {
            div.grid2 {
                section.panel {
                    h2 { "Bewaartermijnen (maanden)" }
                    form method="post" action="/beheer/bewaartermijnen" {
                        (field("care_form_months", "Afgeronde zorgformulieren", value(typed.map(|t| &t.care_form_months), p.care_form_months), "Na het afronden; daarna verwijderd."))
                        (field("contact_months", "Contacten", value(typed.map(|t| &t.contact_months), p.contact_months), "Na de waarneming; de geanonimiseerde telling blijft."))
                        (field("open_form_warn_months", "Open zorgformulieren: waarschuwen na", value(typed.map(|t| &t.open_form_warn_months), p.open_form_warn_months), "Zonder wijziging; het meldpunt ziet een waarschuwing."))
                        (field("open_form_months", "Open zorgformulieren: verwijderen na", value(typed.map(|t| &t.open_form_months), p.open_form_months), "Zonder wijziging, tenzij het meldpunt het bewust vasthoudt."))
                        p { button type="submit" { "Bewaartermijnen opslaan" } }
                    }
                }
                section.panel {
                    h2 { "Meldpuntsleutel" }
                    (key_summary(&key))
                }
            }
        },
    )
    .into_response()
}

async fn show_page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
) -> Response {
    show(&state, &user, None, None).await
}

#[derive(Debug, Deserialize)]
struct RetentionForm {
    care_form_months: String,
    contact_months: String,
    open_form_warn_months: String,
    open_form_months: String,
}

impl RetentionForm {
    fn periods(&self) -> Result<Periods, String> {
        let n = |what: &str, s: &str| {
            s.trim().parse::<u32>().map_err(|_| {
                format!("Bewaartermijn {what}: vul een heel aantal maanden in (1 tot en met 120).")
            })
        };
        Ok(Periods {
            care_form_months: n("afgeronde zorgformulieren", &self.care_form_months)?,
            contact_months: n("contacten", &self.contact_months)?,
            open_form_warn_months: n("waarschuwing open formulieren", &self.open_form_warn_months)?,
            open_form_months: n("open formulieren", &self.open_form_months)?,
        })
    }
}

fn sentence(s: &str) -> String {
    let mut c = s.chars();
    let first = c
        .next()
        .map(|f| f.to_uppercase().collect::<String>())
        .unwrap_or_default();
    let rest: String = c.collect();
    if rest.ends_with('.') {
        format!("{first}{rest}")
    } else {
        format!("{first}{rest}.")
    }
}

async fn set_retention(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    Form(form): Form<RetentionForm>,
) -> Response {
    let periods = match form.periods() {
        Ok(p) => p,
        Err(e) => return show(&state, &user, Some(refused(e)), Some(&form)).await,
    };
    let actor = Actor::user(&user);
    let g = user.gemeente;
    let out = state
        .store
        .write(g, move |tx| {
            match retention::set_periods(tx, g, periods, &actor, now_ms()) {
                Ok(()) => Ok(Ok(())),
                Err(DbError::Domain(m)) => Ok(Err(m)),
                Err(e) => Err(e),
            }
        })
        .await;
    match out {
        Ok(Ok(())) => {
            show(
                &state,
                &user,
                Some(done("De bewaartermijnen zijn opgeslagen; ze gelden vanaf de volgende dagelijkse opruiming.")),
                None,
            )
            .await
        }
        Ok(Err(m)) => show(&state, &user, Some(refused(sentence(&m))), Some(&form)).await,
        Err(e) => failed(e),
    }
}

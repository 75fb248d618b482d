//! Retention and the phones (`/beheer/instellingen`): the gemeente's retention periods
//! ([`crate::retention::set_periods`], as `admin set-retention` does) and its phone policy
//! ([`crate::phone_policy::set`], as `admin set-phone-policy` does: contacts kept on the
//! phone, PIN after minutes in the background). Both are checked where the command line's
//! are, so the bounds have one home. The meldpunt key's status and fingerprint
//! ([`key_summary`]) are on the overview; making and rotating the key is the meldpunt's,
//! on the meldpunt page, with its passphrase.

use std::sync::Arc;

use avondronde_shared::sync::PhonePolicy;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::{NoticeQuery, done, failed, page, redirect_with, refused, take_notice};
use crate::audit::Actor;
use crate::auth::{Page, WebUser, roles};
use crate::dates::format_local_ms;
use crate::db::{DbError, now_ms};
use crate::meldpunt::keys::KeyStatus;
use crate::retention::{self, Periods};
use crate::state::AppState;

/// Routes of the settings page.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/beheer/instellingen", get(show_page))
        .route("/beheer/bewaartermijnen", post(set_retention))
        .route("/beheer/telefooninstellingen", post(set_phone_policy))
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

/// What was typed into one of the two forms, to show it again after a refusal.
enum Typed<'a> {
    Nothing,
    Retention(&'a RetentionForm),
    Phones(&'a PhoneForm),
}

async fn show(
    state: &Arc<AppState>,
    user: &WebUser,
    notice: Option<Markup>,
    typed: Typed<'_>,
) -> Response {
    let g = user.gemeente;
    let data = state
        .store
        .read(g, move |tx| {
            Ok((retention::periods(tx, g)?, crate::phone_policy::get(tx, g)?))
        })
        .await;
    let (p, phones) = match data {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    let (typed, typed_phones) = match typed {
        Typed::Retention(t) => (Some(t), None),
        Typed::Phones(t) => (None, Some(t)),
        Typed::Nothing => (None, None),
    };
    let value = |typed_v: Option<&String>, stored: u32| {
        typed_v.cloned().unwrap_or_else(|| stored.to_string())
    };
    let phone_field = |id: &str, label: &str, v: String, min: u16, max: u16, hint: &str| {
        html! {
            div {
                label for=(id) { (label) }
                input #(id) type="number" name=(id) min=(min) max=(max) step="1" value=(v) required;
                p.muted.small { (hint) }
            }
        }
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
        "Instellingen",
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
                section.panel #telefoons {
                    h2 { "Telefoons van veldwerkers" }
                    form method="post" action="/beheer/telefooninstellingen" {
                        (phone_field("lock_after_minutes", "Pincode vragen na (minuten op de achtergrond)",
                            typed_phones.map_or_else(|| phones.lock_after_minutes.to_string(), |t| t.lock_after_minutes.clone()),
                            0, PhonePolicy::MAX_LOCK_MINUTES,
                            &format!("0 tot en met {} minuten; 0 = elke keer dat de app terugkomt.", PhonePolicy::MAX_LOCK_MINUTES)))
                        (phone_field("contact_retention_days", "Contacten op de telefoon bewaren (dagen)",
                            typed_phones.map_or_else(|| phones.contact_retention_days.to_string(), |t| t.contact_retention_days.clone()),
                            1, PhonePolicy::MAX_RETENTION_DAYS,
                            &format!("1 tot en met {} dagen, nadat de server ze heeft ontvangen; daarna wist de telefoon ze.", PhonePolicy::MAX_RETENTION_DAYS)))
                        p.muted.small { "De telefoons nemen dit over bij hun volgende synchronisatie." }
                        p { button type="submit" { "Telefooninstellingen opslaan" } }
                    }
                }
            }
        },
    )
    .into_response()
}

async fn show_page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let notice = take_notice(&state, &user, q.melding.as_deref());
    show(&state, &user, notice, Typed::Nothing).await
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
        Err(e) => return show(&state, &user, Some(refused(e)), Typed::Retention(&form)).await,
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
        Ok(Ok(())) => redirect_with(
            &state,
            &user,
            "/beheer/instellingen",
            done(
                "De bewaartermijnen zijn opgeslagen; ze gelden vanaf de volgende dagelijkse opruiming.",
            ),
        ),
        Ok(Err(m)) => {
            show(
                &state,
                &user,
                Some(refused(sentence(&m))),
                Typed::Retention(&form),
            )
            .await
        }
        Err(e) => failed(e),
    }
}

#[derive(Debug, Deserialize)]
struct PhoneForm {
    lock_after_minutes: String,
    contact_retention_days: String,
}

impl PhoneForm {
    /// The policy as typed. A whole number is read here; whether it is in range is
    /// [`crate::phone_policy::validate`]'s to say, as for the command line.
    fn policy(&self) -> Result<PhonePolicy, String> {
        let n = |s: &str, what: String| s.trim().parse::<u16>().map_err(|_| what);
        Ok(PhonePolicy {
            lock_after_minutes: n(
                &self.lock_after_minutes,
                format!(
                    "Pincode vragen na: vul een heel aantal minuten in (0 tot en met {}).",
                    PhonePolicy::MAX_LOCK_MINUTES
                ),
            )?,
            contact_retention_days: n(
                &self.contact_retention_days,
                format!(
                    "Contacten op de telefoon bewaren: vul een heel aantal dagen in (1 tot en met {}).",
                    PhonePolicy::MAX_RETENTION_DAYS
                ),
            )?,
        })
    }
}

async fn set_phone_policy(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::Admin>,
    Form(form): Form<PhoneForm>,
) -> Response {
    let policy = match form.policy() {
        Ok(p) => p,
        Err(e) => return show(&state, &user, Some(refused(e)), Typed::Phones(&form)).await,
    };
    let actor = Actor::user(&user);
    let g = user.gemeente;
    let out = state
        .store
        .write(g, move |tx| {
            match crate::phone_policy::set(tx, g, policy, &actor, now_ms()) {
                Ok(()) => Ok(Ok(())),
                Err(DbError::Domain(m)) => Ok(Err(m)),
                Err(e) => Err(e),
            }
        })
        .await;
    match out {
        Ok(Ok(())) => redirect_with(
            &state,
            &user,
            "/beheer/instellingen",
            done(format!(
                "De telefooninstellingen zijn opgeslagen: pincode na {} minuten op de achtergrond, contacten {} dagen op de telefoon. De telefoons nemen ze over bij hun volgende synchronisatie.",
                policy.lock_after_minutes, policy.contact_retention_days
            )),
        ),
        Ok(Err(m)) => {
            show(
                &state,
                &user,
                Some(refused(sentence(&m))),
                Typed::Phones(&form),
            )
            .await
        }
        Err(e) => failed(e),
    }
}

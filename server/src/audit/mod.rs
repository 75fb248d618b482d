//! The audit log: who opened, changed, exported or unlocked what, when and from where.
//!
//! Every read of a care form is recorded (DOMAIN.md, "Privacy is part of the job"), and so
//! is every status change, export and operation on the meldpunt key. The log is:
//! - **append-only**: SQLite triggers abort any `UPDATE` or `DELETE` on `audit_log`, for
//!   every connection, and no endpoint writes to it other than through [`record`];
//! - **tamper-evident**: each row's hash covers its own fields and the previous row's hash
//!   of the same gemeente (a hash chain), so [`verify`] finds the first row that was
//!   altered, removed or reordered. The newest hash is shown on the audit page so that it
//!   can be noted outside the server, which also reveals a rewrite of the whole tail.
//!
//! Entries hold ids, role codes, status codes and counts: never a name, address or message.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use avondronde_shared::{CareFormId, GemeenteId, UserId};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::auth::WebUser;
use crate::db::DbError;
use crate::store::{self, Tx};

pub mod describe;
pub mod web;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A care form was decrypted and shown.
    Open,
    /// Status, "bekend bij", visit or feedback message changed.
    Update,
    /// Data left the server as a file or bulk answer.
    Export,
    /// A meldpunt key was unlocked for a session.
    Unlock,
    /// An unlock failed (wrong passphrase).
    UnlockFailed,
    /// A session's unlocked key was dropped on request.
    Lock,
    /// The first meldpunt key of a gemeente was made.
    KeyCreate,
    /// A new meldpunt key became current.
    KeyRotate,
    /// Match pseudonyms were computed for new forms.
    Match,
    /// The retention job deleted expired records.
    Retention,
    /// Retention periods were changed.
    RetentionSettings,
    /// The perturbation table of the coordinator statistics was changed (issue 9).
    DisclosureSettings,
    /// A coordinator was given (or lost) a wijk (issue 9).
    WijkAssignment,
    /// An enrolment code was issued (issue 11).
    EnrolmentCode,
    /// A device was revoked.
    DeviceRevoke,
    /// A user was disabled.
    UserDisable,
    /// A disabled user was enabled again.
    UserEnable,
    /// A user's sessions were ended.
    SessionsEnd,
    /// A password-reset code was issued.
    PasswordReset,
    /// A user set a new password with a reset code.
    PasswordChanged,
    /// A user's second factor was switched off.
    MfaReset,
    /// A user was added.
    UserAdd,
    /// The buitenspeelnormen were changed (issue 12).
    Norms,
    /// An area rule was added or ended (issue 12).
    AreaRule,
    /// Wijken were imported from a GeoJSON file (issue 12).
    Wijken,
}

impl Action {
    /// Every action, in display order.
    pub const ALL: [Action; 25] = [
        Action::Open,
        Action::Update,
        Action::Export,
        Action::Unlock,
        Action::UnlockFailed,
        Action::Lock,
        Action::KeyCreate,
        Action::KeyRotate,
        Action::Match,
        Action::Retention,
        Action::RetentionSettings,
        Action::DisclosureSettings,
        Action::WijkAssignment,
        Action::EnrolmentCode,
        Action::DeviceRevoke,
        Action::UserDisable,
        Action::UserEnable,
        Action::SessionsEnd,
        Action::PasswordReset,
        Action::PasswordChanged,
        Action::MfaReset,
        Action::UserAdd,
        Action::Norms,
        Action::AreaRule,
        Action::Wijken,
    ];

    /// The stable code stored in the log.
    pub fn code(self) -> &'static str {
        match self {
            Action::Open => "open",
            Action::Update => "update",
            Action::Export => "export",
            Action::Unlock => "unlock",
            Action::UnlockFailed => "unlock_failed",
            Action::Lock => "lock",
            Action::KeyCreate => "key_create",
            Action::KeyRotate => "key_rotate",
            Action::Match => "match",
            Action::Retention => "retention",
            Action::RetentionSettings => "retention_settings",
            Action::DisclosureSettings => "disclosure_settings",
            Action::WijkAssignment => "wijk_assignment",
            Action::EnrolmentCode => "enrolment_code",
            Action::DeviceRevoke => "device_revoke",
            Action::UserDisable => "user_disable",
            Action::UserEnable => "user_enable",
            Action::SessionsEnd => "sessions_end",
            Action::PasswordReset => "password_reset",
            Action::PasswordChanged => "password_changed",
            Action::MfaReset => "mfa_reset",
            Action::UserAdd => "user_add",
            Action::Norms => "norms",
            Action::AreaRule => "area_rule",
            Action::Wijken => "wijken",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }

    /// The Dutch label for the audit page, in the words of the pages where it happens
    /// (display only: the stored code is what the chain covers).
    pub fn label_nl(self) -> &'static str {
        match self {
            Action::Open => "formulier geopend",
            Action::Update => "afhandeling gewijzigd",
            Action::Export => "export (CSV/GeoJSON)",
            Action::Unlock => "sleutel ontgrendeld",
            Action::UnlockFailed => "ontgrendelen mislukt",
            Action::Lock => "sleutel vergrendeld",
            Action::KeyCreate => "sleutel aangemaakt",
            Action::KeyRotate => "sleutel vervangen",
            Action::Match => "koppelcodes berekend",
            Action::Retention => "bewaartermijn: verwijderd",
            Action::RetentionSettings => "bewaartermijnen gewijzigd",
            Action::DisclosureSettings => "ruisinstellingen gewijzigd",
            Action::WijkAssignment => "wijken gewijzigd",
            Action::EnrolmentCode => "aanmeldcode gemaakt",
            Action::DeviceRevoke => "telefoon ingetrokken",
            Action::UserDisable => "gebruiker uitgeschakeld",
            Action::UserEnable => "gebruiker ingeschakeld",
            Action::SessionsEnd => "sessies beëindigd",
            Action::PasswordReset => "herstelcode gemaakt",
            Action::PasswordChanged => "wachtwoord gewijzigd",
            Action::MfaReset => "tweede stap opnieuw",
            Action::UserAdd => "gebruiker toegevoegd",
            Action::Norms => "buitenspeelnormen gewijzigd",
            Action::AreaRule => "gebiedsregel",
            Action::Wijken => "wijken ingelezen",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user, or `None` for the system itself.
    pub id: Option<UserId>,
    /// Username, or a fixed name for the system.
    pub name: String,
    /// Role code, or `system`.
    pub role: String,
}

impl Actor {
    /// A logged-in web user.
    pub fn user(user: &WebUser) -> Actor {
        Actor {
            id: Some(user.id),
            name: user.username.clone(),
            role: user.role.code().to_owned(),
        }
    }

    /// The server itself (the retention job).
    pub fn system() -> Actor {
        Actor {
            id: None,
            name: "systeem".into(),
            role: "system".into(),
        }
    }

    /// Someone with shell access running the `admin` subcommand.
    pub fn cli() -> Actor {
        Actor {
            id: None,
            name: "beheer (opdrachtregel)".into(),
            role: "system".into(),
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Whose log it goes in.
    pub gemeente: GemeenteId,
    /// Who.
    pub actor: &'a Actor,
    /// What.
    pub action: Action,
    /// Which form, if one.
    pub form: Option<CareFormId>,
    /// From which address, if known.
    pub address: Option<IpAddr>,
    /// Codes and counts only; never personal data.
    pub detail: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entry {
    /// Position in the log (global, increasing).
    pub seq: i64,
    /// When (server clock).
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Username or system name.
    pub actor_name: String,
    /// Role code or `system`.
    pub actor_role: String,
    /// Action code.
    pub action: String,
    /// The form concerned.
    pub form: Option<String>,
    /// Client address.
    pub address: Option<String>,
    /// Codes and counts.
    pub detail: String,
    /// This row's chain hash (hex).
    pub hash: String,
}

/// The outcome of checking a gemeente's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Verification {
    /// Rows checked.
    pub rows: u64,
    /// The first row whose hash does not follow from its content and predecessor.
    pub broken_at: Option<i64>,
    /// The newest hash (hex), to note down outside the server.
    pub head: Option<String>,
}

impl Verification {
    /// Whether every row checked out.
    pub fn intact(&self) -> bool {
        self.broken_at.is_none()
    }
}

/// The client's address, when the server was started with connect info (`serve` is) or a
/// test layered `MockConnectInfo`; `None` under a bare `Router::oneshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Through the extractor, so `MockConnectInfo` in tests counts too.
        Ok(ClientAddr(
            ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
                .await
                .ok()
                .map(|c| c.0.ip()),
        ))
    }
}

fn genesis(gemeente: &str) -> [u8; 32] {
    *blake3::Hasher::new()
        .update(b"avondronde audit genesis v1\0")
        .update(gemeente.as_bytes())
        .finalize()
        .as_bytes()
}

/// The fields a row's hash covers, as stored.
struct Row<'a> {
    gemeente: &'a str,
    at: i64,
    actor_id: Option<&'a str>,
    actor_name: &'a str,
    actor_role: &'a str,
    action: &'a str,
    form: Option<&'a str>,
    address: Option<&'a str>,
    detail: &'a str,
}

/// The chain hash: domain tag, previous hash and every field, each length-prefixed so that
/// no two different rows encode alike.
fn chain_hash(prev: &[u8], row: &Row<'_>) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"avondronde audit v1\0");
    let mut field = |bytes: &[u8]| {
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(prev);
    field(row.gemeente.as_bytes());
    field(&row.at.to_le_bytes());
    field(row.actor_id.unwrap_or("").as_bytes());
    field(row.actor_name.as_bytes());
    field(row.actor_role.as_bytes());
    field(row.action.as_bytes());
    field(row.form.unwrap_or("").as_bytes());
    field(row.address.unwrap_or("").as_bytes());
    field(row.detail.as_bytes());
    *h.finalize().as_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends an event to its gemeente's chain. Call it inside the write that does the
/// action, so that the action and its record commit together or not at all.
pub fn record(tx: &Tx, event: &Event<'_>, now_ms: i64) -> Result<i64, DbError> {
    let gemeente = event.gemeente.to_string();
    let prev: Vec<u8> =
        store::audit::head(tx, event.gemeente)?.unwrap_or_else(|| genesis(&gemeente).to_vec());
    let actor_id = event.actor.id.map(|u| u.to_string());
    let form = event.form.map(|f| f.to_string());
    let address = event.address.map(|a| a.to_string());
    let row = Row {
        gemeente: &gemeente,
        at: now_ms,
        actor_id: actor_id.as_deref(),
        actor_name: &event.actor.name,
        actor_role: &event.actor.role,
        action: event.action.code(),
        form: form.as_deref(),
        address: address.as_deref(),
        detail: &event.detail,
    };
    let hash = chain_hash(&prev, &row);
    store::audit::append(
        tx,
        &store::audit::NewRow {
            gemeente: event.gemeente,
            at: now_ms,
            actor_id: event.actor.id,
            actor_name: row.actor_name,
            actor_role: row.actor_role,
            action: row.action,
            form: event.form,
            address: row.address,
            detail: row.detail,
            prev_hash: &prev,
            hash: &hash[..],
        },
    )
}

/// Recomputes a gemeente's chain from its first row and reports the first broken row.
pub fn verify(tx: &Tx, gemeente: GemeenteId) -> Result<Verification, DbError> {
    let id = gemeente;
    let gemeente = gemeente.to_string();
    let mut expected_prev = genesis(&gemeente).to_vec();
    let mut out = Verification {
        rows: 0,
        broken_at: None,
        head: None,
    };
    store::audit::each_in_chain(tx, id, |r| {
        let row = Row {
            gemeente: &gemeente,
            at: r.at,
            actor_id: r.actor_id.as_deref(),
            actor_name: &r.actor_name,
            actor_role: &r.actor_role,
            action: &r.action,
            form: r.form.as_deref(),
            address: r.address.as_deref(),
            detail: &r.detail,
        };
        out.rows += 1;
        if out.broken_at.is_none()
            && (r.prev_hash != expected_prev || chain_hash(&r.prev_hash, &row)[..] != r.hash[..])
        {
            out.broken_at = Some(r.seq);
        }
        expected_prev = r.hash;
    })?;
    if out.rows > 0 {
        out.head = Some(hex(&expected_prev));
    }
    Ok(out)
}

/// A page of a gemeente's log, newest first: up to `limit` entries before `before` (a
/// seq), or the newest when `None`.
pub fn list(
    tx: &Tx,
    gemeente: GemeenteId,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Entry>, DbError> {
    Ok(
        store::audit::page(tx, gemeente, before.unwrap_or(i64::MAX), limit)?
            .into_iter()
            .map(|r| Entry {
                seq: r.seq,
                at: Timestamp::from_millisecond(r.at).unwrap_or(Timestamp::UNIX_EPOCH),
                actor_name: r.actor_name,
                actor_role: r.actor_role,
                action: r.action,
                form: r.form,
                address: r.address,
                detail: r.detail,
                hash: hex(&r.hash),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Direct;
    use rusqlite::{Connection, params};

    /// A gemeente's database: a connection for arranging and tampering (the attacker's
    /// view) and the store on the same file.
    fn setup() -> (tempfile::TempDir, Connection, Direct, GemeenteId) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.db");
        let (conn, g) = crate::setup::test_gemeente_db(&path);
        let direct = Direct::open(&path).expect("direct");
        (dir, conn, direct, g)
    }

    fn add(d: &mut Direct, g: GemeenteId, action: Action, at: i64) {
        let actor = Actor::system();
        d.transaction(|tx| {
            record(
                tx,
                &Event {
                    gemeente: g,
                    actor: &actor,
                    action,
                    form: Some(CareFormId::new()),
                    address: Some(IpAddr::from([127, 0, 0, 1])),
                    detail: "status: received → visit_planned".into(),
                },
                at,
            )
        })
        .expect("record");
    }

    #[test]
    fn a_fresh_chain_verifies_and_each_gemeente_has_its_own() {
        let (_dir, conn, mut d, g) = setup();
        let other = crate::setup::create_gemeente(
            &crate::store::Tx::over(&conn),
            "Ander",
            "GM0002",
            &avondronde_shared::norms::NormSet::rotterdam(),
        )
        .expect("other");
        for (i, a) in Action::ALL.into_iter().enumerate() {
            add(&mut d, g, a, 1_000 + i as i64);
            add(&mut d, other, a, 2_000 + i as i64);
        }
        let v = d.read(|tx| verify(tx, g)).expect("verify");
        assert!(v.intact(), "{v:?}");
        assert_eq!(v.rows, Action::ALL.len() as u64);
        assert!(d.read(|tx| verify(tx, other)).expect("verify").intact());
        assert_eq!(d.read(|tx| list(tx, g, None, 3)).expect("list").len(), 3);
    }

    #[test]
    fn updates_and_deletes_are_refused_by_the_database() {
        let (_dir, conn, mut d, g) = setup();
        add(&mut d, g, Action::Open, 1);
        let update = conn.execute("UPDATE audit_log SET detail = 'x'", []);
        assert!(update.is_err_and(|e| e.to_string().contains("append-only")));
        let delete = conn.execute("DELETE FROM audit_log", []);
        assert!(delete.is_err_and(|e| e.to_string().contains("append-only")));
        assert_eq!(
            conn.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get::<_, i64>(0))
                .expect("count"),
            1
        );
    }

    /// Issue 5: the chain's verification fails if any row is altered.
    #[rstest::rstest]
    #[case::detail("UPDATE audit_log SET detail = 'niets' WHERE seq = ?1")]
    #[case::actor("UPDATE audit_log SET actor_name = 'iemand anders' WHERE seq = ?1")]
    #[case::time("UPDATE audit_log SET at = at + 1 WHERE seq = ?1")]
    #[case::action("UPDATE audit_log SET action = 'lock' WHERE seq = ?1")]
    #[case::form("UPDATE audit_log SET form_id = NULL WHERE seq = ?1")]
    #[case::address("UPDATE audit_log SET address = '10.0.0.1' WHERE seq = ?1")]
    #[case::hash_recomputed_badly("UPDATE audit_log SET hash = zeroblob(32) WHERE seq = ?1")]
    #[case::removed("DELETE FROM audit_log WHERE seq = ?1")]
    fn any_altered_row_breaks_the_chain(#[case] tamper: &str) {
        let (_dir, conn, mut d, g) = setup();
        for i in 0..5 {
            add(&mut d, g, Action::Open, i);
        }
        let middle: i64 = conn
            .query_row(
                "SELECT seq FROM audit_log ORDER BY seq LIMIT 1 OFFSET 2",
                [],
                |r| r.get(0),
            )
            .expect("seq");
        conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .expect("drop triggers");
        conn.execute(tamper, params![middle]).expect("tamper");
        let v = d.read(|tx| verify(tx, g)).expect("verify");
        assert!(!v.intact(), "tampering went unnoticed");
        let broken = v.broken_at.expect("broken");
        assert!(
            broken == middle || broken == middle + 1,
            "broken at {broken}, tampered {middle}"
        );
    }
}

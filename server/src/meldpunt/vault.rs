//! The vault: the meldpunt keys a session has unlocked, held in memory only.
//!
//! A meldpunt user's passphrase opens a [`KeyRing`] once per session
//! ([`super::keys`] holds how). The ring then lives here, keyed by the hash of the web
//! session's token, and nowhere else: never in the database, a log or a cookie. It is dropped
//! on logout, on lock, when the session expires or ends elsewhere, and when the server
//! stops (a restart locks every session again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use avondronde_shared::GemeenteId;

use super::keys::KeyRing;

/// One session's unlocked ring, and until when it may be used.
struct Held {
    gemeente: GemeenteId,
    expires_at: i64,
    ring: Arc<KeyRing>,
}

/// Unlocked key rings, per web session (keyed by the session token's hash). Memory only:
/// a restart locks every session again.
#[derive(Default)]
pub struct Vault {
    sessions: Mutex<HashMap<Vec<u8>, Held>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault { <redacted> }")
    }
}

impl Vault {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Held>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds `ring` for the session until `expires_at` (unix ms, the session's expiry).
    pub fn insert(&self, session: &[u8], ring: KeyRing, expires_at: i64) {
        let gemeente = ring.gemeente();
        self.lock().insert(
            session.to_vec(),
            Held {
                gemeente,
                expires_at,
                ring: Arc::new(ring),
            },
        );
    }

    /// The session's ring, if it unlocked one for `gemeente` and has not expired. Drops
    /// every expired ring on the way.
    pub fn get(&self, session: &[u8], gemeente: GemeenteId, now_ms: i64) -> Option<Arc<KeyRing>> {
        let mut held = self.lock();
        held.retain(|_, h| h.expires_at > now_ms);
        held.get(session)
            .filter(|h| h.gemeente == gemeente)
            .map(|h| h.ring.clone())
    }

    /// Drops the session's ring (logout, lock). Returns whether there was one.
    pub fn forget(&self, session: &[u8]) -> bool {
        self.lock().remove(session).is_some()
    }

    /// Drops the rings of every session not in `live` (sessions ended elsewhere, such as
    /// by the command line or the idle timeout).
    pub fn retain_sessions(&self, live: &[Vec<u8>]) {
        let live: std::collections::HashSet<&[u8]> = live.iter().map(Vec::as_slice).collect();
        self.lock().retain(|k, _| live.contains(k.as_slice()));
    }

    /// How many sessions hold an unlocked ring.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session holds an unlocked ring.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meldpunt::keys::tests::{create_key, gemeente, loaded, open, pass};

    #[test]
    fn the_vault_forgets_on_request_and_on_expiry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (conn, mut d) = open(&dir);
        let g = gemeente(&conn);
        create_key(&mut d, g, &pass("eerste wachtwoordzin"), 1).expect("create");
        let stored = loaded(&d, g);
        let vault = Vault::default();
        let open = || KeyRing::open(g, &stored, &pass("eerste wachtwoordzin")).expect("open");
        vault.insert(b"a", open(), 100);
        vault.insert(b"b", open(), 200);
        assert!(vault.get(b"a", g, 50).is_some());
        assert!(
            vault.get(b"a", GemeenteId::new(), 50).is_none(),
            "other gemeente"
        );
        assert!(vault.get(b"a", g, 150).is_none(), "expired");
        assert_eq!(vault.len(), 1);
        assert!(vault.forget(b"b"));
        assert!(vault.is_empty());
    }
}

//! The results of the admin's changes, waiting for the page view that follows their
//! redirect (Post/Redirect/Get, [`crate::web::admin::redirect_with`]). A result is kept in
//! the server's memory, in [`crate::state::AppState`], under a random token that the
//! redirect's URL carries, and never goes through the URL itself: some results are
//! one-time secrets (a first-password code, a reset code). It lives for one page view, and
//! a restart losing it only loses the green confirmation, never the change.

use std::collections::HashMap;
use std::sync::Mutex;

use avondronde_shared::UserId;

/// How long a result waits for its page view after the redirect.
const TTL_MS: i64 = 5 * 60 * 1000;
/// At most this many results wait at once (only admins make them; the oldest goes first).
const MAX: usize = 256;

/// A result waiting for its page view: whose it is, until when, and the rendered notice.
struct Waiting {
    user: UserId,
    until: i64,
    notice: String,
}

/// The results waiting for their page view, by token.
#[derive(Default)]
pub struct Notices {
    waiting: Mutex<HashMap<String, Waiting>>,
}

impl Notices {
    /// Keeps `notice` (rendered HTML) for `user`'s next page view at `now` (ms since the
    /// epoch); returns its token.
    pub fn put(&self, user: UserId, notice: String, now: i64) -> String {
        let token: String = rand::random::<[u8; 16]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut w = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        w.retain(|_, v| v.until > now);
        while w.len() >= MAX {
            let Some(oldest) = w
                .iter()
                .min_by_key(|(_, v)| v.until)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            w.remove(&oldest);
        }
        w.insert(
            token.clone(),
            Waiting {
                user,
                until: now + TTL_MS,
                notice,
            },
        );
        token
    }

    /// The notice waiting under `token` for `user` at `now`, taken: a reload shows the
    /// page without it, so a one-time code is shown once. Another user's token, or one past
    /// its time, gives nothing.
    pub fn take(&self, user: UserId, token: &str, now: i64) -> Option<String> {
        let mut w = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        match w.get(token) {
            Some(v) if v.user == user && v.until > now => w.remove(token).map(|v| v.notice),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_taken_once_by_its_own_user_within_its_time() {
        let notices = Notices::default();
        let (admin, other) = (UserId::new(), UserId::new());
        let token = notices.put(admin, "<p>klaar</p>".into(), 1_000);
        assert_eq!(notices.take(other, &token, 1_001), None, "another user");
        assert_eq!(
            notices.take(admin, &token, 1_000 + TTL_MS),
            None,
            "too late"
        );
        let token = notices.put(admin, "<p>klaar</p>".into(), 2_000);
        assert_eq!(
            notices.take(admin, &token, 2_001).as_deref(),
            Some("<p>klaar</p>")
        );
        assert_eq!(notices.take(admin, &token, 2_002), None, "only once");
    }

    #[test]
    fn at_most_max_notices_wait_and_the_oldest_goes_first() {
        let notices = Notices::default();
        let admin = UserId::new();
        let first = notices.put(admin, "eerste".into(), 0);
        for i in 1..=MAX as i64 {
            notices.put(admin, format!("{i}"), i);
        }
        assert_eq!(notices.take(admin, &first, MAX as i64 + 1), None);
        assert_eq!(notices.waiting.lock().expect("lock").len(), MAX, "bounded");
    }
}

//! Login throttling that an attacker can turn neither into a memory leak, nor into a
//! lock-out, nor into a list of usernames, nor into more guesses by adding server nodes.
//!
//! Issue 11 found a limiter keyed on the submitted username: every unique name (100 KB
//! each) stayed in memory for ever, and ten bad logins a minute locked the real account
//! for everyone. This one:
//! - never stores a username: it counts per client address (an IPv6 client by its /64,
//!   which one subscriber gets whole) and per account *name* as a [`NameKey`], a keyed
//!   hash of 16 bytes, after the name was capped at [`MAX_USERNAME_BYTES`];
//! - counts a name that belongs to no one exactly as a name that does, so that a lock
//!   (429 instead of 401) does not tell which accounts exist;
//! - keeps at most [`MAX_ENTRIES`] windows per map in memory and [`MAX_SHARED`] in the
//!   database, pruning expired ones first and the oldest after that, so what it holds stays
//!   bounded whatever arrives;
//! - once an account has taken too many failures in an hour, refuses it to every *unknown*
//!   browser for the rest of that hour, whatever its address, while a browser that
//!   completed a login on it before (it holds a **device cookie**, OWASP's defence against
//!   guessing from many addresses) keeps logging in and is counted on its own; a device
//!   cookie that fails the per-minute limit is an unknown browser again for a day, so a
//!   stolen one buys a handful of guesses, not 180 days of them. Before, an address that
//!   had not failed could always try, so a botnet of fresh addresses guessed without limit;
//! - counts wrong second-factor codes per account over an hour, across sessions: logging
//!   in again with the password does not buy new guesses. Only someone who has the
//!   password can reach that step, so locking it for every address locks out no one else.
//!
//! **Shared by every node.** The two hourly counts per account (failures from unknown
//! browsers, wrong second-factor codes) are kept in the database
//! ([`crate::store::login_throttle`]), so several server nodes behind a load balancer give
//! a botnet the budget of one, and a restart does not give it a fresh one. The secret that
//! keys the names and signs the device cookies is kept there too, so a browser stays known
//! after a restart and on every node. The per-minute counts (per address, per address and
//! account, per known browser) stay in each node's memory: they are the cheap first line
//! against one client hammering, and the hourly counts bound what any number of clients
//! and nodes get.
//!
//! Fixed windows are coarse but cheap, and their worst case (twice the limit across a
//! window boundary) is still far below what guessing a password or a code would need.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use rand::{Rng, RngCore};

use crate::db::DbError;
use crate::store::login_throttle::{self as shared, FailureKind};
use crate::store::{Scope, Store};

/// The longest username accepted at the login boundary (bytes, after trimming).
pub const MAX_USERNAME_BYTES: usize = 64;
/// The most windows one map keeps in memory.
pub const MAX_ENTRIES: usize = 10_000;
/// The most hourly windows the database keeps (both kinds together).
pub const MAX_SHARED: usize = 100_000;
/// The length of a window of logins.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The length of a window of wrong second-factor codes.
pub const SECOND_FACTOR_WINDOW: Duration = Duration::from_secs(3600);
/// Wrong second-factor codes an account takes per [`SECOND_FACTOR_WINDOW`], from all
/// sessions and addresses together, before its second step is refused until the window
/// ends. Six digits with a window of three steps leave 1 in 333,333 per guess: at this
/// rate about 1 in 1,400 per day of guessing.
pub const SECOND_FACTOR_FAILURES: u32 = 10;

/// The name under which the throttle's secret is kept in the database.
const SECRET_NAME: &str = "login throttle";

/// An account name as the throttle knows it: a hash keyed with the secret the server
/// nodes share, so neither the name nor a dictionary-reversible hash of it is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameKey([u8; 16]);

/// The log's tag for an account name: the first six bytes of its key in hex. Keyed with
/// the server's secret, so a leaked log cannot be matched against a list of staff names
/// (an unkeyed hash could, name by name); on one database the same name has the same tag.
impl std::fmt::Display for NameKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0[..6].iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The window over which an account counts failures from unknown browsers: ten times the
/// per-minute limit per hour, so that a botnet of fresh addresses gets at most that many
/// guesses an hour, not a minute.
pub const ACCOUNT_WINDOW: Duration = Duration::from_secs(3600);
/// How long a device cookie that failed the per-minute limit on its account is not
/// trusted: a stolen cookie buys that many guesses a day, then counts as an unknown
/// browser.
pub const DISTRUST_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// How long a device cookie is honoured.
pub const DEVICE_COOKIE_TTL: Duration = Duration::from_secs(180 * 24 * 3600);

/// A browser that completed a login on an account, known by the random id in its device
/// cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Device(u128);

/// The key a client is counted under: an IPv4 address, or the /64 of an IPv6 one (an
/// IPv4 address written as IPv6 counts as itself).
fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

/// A duration in milliseconds, as the windows count time.
fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[derive(Debug, Clone, Copy)]
struct Window {
    /// Unix ms.
    start: i64,
    count: u32,
}

/// A bounded map of per-key counters over fixed windows.
#[derive(Debug)]
struct Counters<K> {
    map: HashMap<K, Window>,
    /// In ms.
    window: i64,
}

impl<K: Hash + Eq + Copy> Counters<K> {
    fn new(window: Duration) -> Self {
        Counters {
            map: HashMap::new(),
            window: ms(window),
        }
    }

    fn count(&self, key: &K, now: i64) -> u32 {
        self.map
            .get(key)
            .filter(|w| now - w.start < self.window)
            .map_or(0, |w| w.count)
    }

    fn add(&mut self, key: K, now: i64) {
        if !self.map.contains_key(&key) && self.map.len() >= MAX_ENTRIES {
            self.prune(now);
            if self.map.len() >= MAX_ENTRIES {
                // Still full of live windows: drop the oldest tenth at once, so that a
                // flood costs a sort per thousand new keys rather than a scan per key.
                let mut by_age: Vec<(i64, K)> =
                    self.map.iter().map(|(k, w)| (w.start, *k)).collect();
                by_age.sort_unstable_by_key(|(start, _)| *start);
                for (_, k) in by_age.into_iter().take(MAX_ENTRIES / 10) {
                    self.map.remove(&k);
                }
            }
        }
        let w = self.map.entry(key).or_insert(Window {
            start: now,
            count: 0,
        });
        if now - w.start >= self.window {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        w.count = w.count.saturating_add(1);
    }

    fn prune(&mut self, now: i64) {
        let window = self.window;
        self.map.retain(|_, w| now - w.start < window);
        self.map.shrink_to(MAX_ENTRIES.min(self.map.len() * 2));
    }
}

/// The per-minute counts, in this node's memory.
#[derive(Debug)]
struct Inner {
    /// Every attempt per client address.
    address: Counters<IpAddr>,
    /// Failures per account name and address, from unknown browsers.
    pair: Counters<(NameKey, IpAddr)>,
    /// Failures per account name and known browser.
    device: Counters<(NameKey, Device)>,
    /// Known browsers that failed too often on an account: unknown again for a day.
    distrusted: Counters<(NameKey, Device)>,
}

/// Why a login attempt was refused before its password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many attempts from this address.
    Address,
    /// The account is locked for this browser: it failed too often from here, or (for a
    /// browser without a device cookie) too often from unknown browsers in all.
    Account,
    /// The account's second step took too many wrong codes this hour.
    SecondFactor,
}

/// The throttle's keys, derived from the secret every server node on the database shares.
#[derive(Debug)]
pub struct Keys {
    /// Keys [`NameKey`]s.
    name: [u8; 32],
    /// Signs device cookies.
    device: [u8; 32],
}

impl Keys {
    /// The keys derived from `secret`.
    pub fn from_secret(secret: &[u8; 32]) -> Keys {
        Keys {
            name: blake3::derive_key("avondronde 2026 login account name", secret),
            device: blake3::derive_key("avondronde 2026 login device cookie", secret),
        }
    }

    /// The key of an account name (trimmed, as the login looks it up), whether or not an
    /// account has that name.
    pub fn name_key(&self, username: &str) -> NameKey {
        let hash = blake3::keyed_hash(&self.name, username.trim().as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&hash.as_bytes()[..16]);
        NameKey(key)
    }

    /// The signature of device `id` on `account` while its password is the one
    /// `credential` digests ([`crate::auth::StoredLogin::credential`]): a new password
    /// (a reset, or the user's own change) makes every earlier cookie name no device.
    fn device_mac(&self, account: NameKey, credential: &[u8; 32], id: u128) -> blake3::Hash {
        let mut mac = blake3::Hasher::new_keyed(&self.device);
        mac.update(&account.0);
        mac.update(&id.to_be_bytes());
        mac.update(credential);
        mac.finalize()
    }

    /// A new device cookie value for a browser that just completed a login on `account`
    /// with the password `credential` digests: a random id and its signature, in hex (97
    /// characters).
    pub fn device_cookie(&self, account: NameKey, credential: &[u8; 32]) -> String {
        let id: u128 = rand::rng().random();
        format!(
            "{id:032x}.{}",
            self.device_mac(account, credential, id).to_hex()
        )
    }

    /// The device a cookie value names, if a server of this database issued it for
    /// `account` while its password was the one `credential` digests; anything else
    /// (another account's cookie, one from before a password change, a forged or mangled
    /// one) is no device.
    pub fn device(&self, account: NameKey, credential: &[u8; 32], cookie: &str) -> Option<Device> {
        let (id_hex, mac_hex) = cookie.split_once('.')?;
        if id_hex.len() != 32 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let id = u128::from_str_radix(id_hex, 16).ok()?;
        let mac = blake3::Hash::from_hex(mac_hex).ok()?;
        // `Hash` compares in constant time: a forger learns nothing from the timing.
        (mac == self.device_mac(account, credential, id)).then_some(Device(id))
    }
}

/// The login throttle (see the module doc).
#[derive(Debug)]
pub struct LoginThrottle {
    per_address: u32,
    per_account: u32,
    per_pair: u32,
    /// Read from the database (or drawn and stored there) at first use.
    keys: tokio::sync::OnceCell<Keys>,
    inner: Mutex<Inner>,
}

impl LoginThrottle {
    /// `per_minute` is the number of failures an account may take from one address per
    /// minute; an address may make three times that many attempts, and an account takes
    /// ten times that many failures before it locks for every address that failed on it.
    pub fn new(per_minute: u32) -> Self {
        let n = per_minute.max(1);
        LoginThrottle {
            per_address: n.saturating_mul(3),
            per_account: n.saturating_mul(10),
            per_pair: n,
            keys: tokio::sync::OnceCell::new(),
            inner: Mutex::new(Inner {
                address: Counters::new(WINDOW),
                pair: Counters::new(WINDOW),
                device: Counters::new(WINDOW),
                distrusted: Counters::new(DISTRUST_WINDOW),
            }),
        }
    }

    /// The keys of every server on `store`'s database: its stored secret, drawn and stored
    /// by the first server that asks.
    pub async fn keys(&self, store: &Store) -> Result<&Keys, DbError> {
        self.keys
            .get_or_try_init(|| async {
                let mut candidate = [0u8; 32];
                rand::rng().fill_bytes(&mut candidate);
                let secret = store
                    .write(Scope::System, move |tx| {
                        shared::secret(tx, SECRET_NAME, &candidate)
                    })
                    .await?;
                Ok(Keys::from_secret(&secret))
            })
            .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an attempt from `address`; refuses when the address made too many.
    pub fn attempt(&self, address: IpAddr) -> Result<(), Refusal> {
        let address = client_key(address);
        let now = crate::db::now_ms();
        let mut inner = self.lock();
        if inner.address.count(&address, now) >= self.per_address {
            return Err(Refusal::Address);
        }
        inner.address.add(address, now);
        Ok(())
    }

    /// Whether `account` may be tried from `address` by a browser with `device` (a valid
    /// device cookie) or none. A known device is refused only when it failed on the
    /// account too often itself. An unknown browser (or a known one that failed too often
    /// today) is refused when its address failed on the account too often, or when the
    /// account has taken too many failures from unknown browsers this hour, on any node:
    /// then no fresh address gets another guess.
    pub async fn account_open(
        &self,
        store: &Store,
        account: NameKey,
        address: IpAddr,
        device: Option<Device>,
    ) -> Result<Result<(), Refusal>, DbError> {
        self.account_open_at(store, account, address, device, crate::db::now_ms())
            .await
    }

    async fn account_open_at(
        &self,
        store: &Store,
        account: NameKey,
        address: IpAddr,
        device: Option<Device>,
        now: i64,
    ) -> Result<Result<(), Refusal>, DbError> {
        // Whether the browser is a known one, and whether its own count (a known
        // browser's, else its address's on this account) is full.
        let (known, full) = {
            let inner = self.lock();
            match device.filter(|&d| inner.distrusted.count(&(account, d), now) == 0) {
                Some(device) => (
                    true,
                    inner.device.count(&(account, device), now) >= self.per_pair,
                ),
                None => (
                    false,
                    inner.pair.count(&(account, client_key(address)), now) >= self.per_pair,
                ),
            }
        };
        let refused = full
            || (!known
                && shared_count(store, FailureKind::Account, account, now, ACCOUNT_WINDOW).await?
                    >= self.per_account);
        Ok(if refused {
            Err(Refusal::Account)
        } else {
            Ok(())
        })
    }

    /// Records a failed password for an account name, whether or not it exists: against
    /// the known device that tried (which is distrusted for a day once it reaches the
    /// per-minute limit), or else against the address and the account.
    pub async fn failed(
        &self,
        store: &Store,
        account: NameKey,
        address: IpAddr,
        device: Option<Device>,
    ) -> Result<(), DbError> {
        self.failed_at(store, account, address, device, crate::db::now_ms())
            .await
    }

    async fn failed_at(
        &self,
        store: &Store,
        account: NameKey,
        address: IpAddr,
        device: Option<Device>,
        now: i64,
    ) -> Result<(), DbError> {
        {
            let mut inner = self.lock();
            match device.filter(|&d| inner.distrusted.count(&(account, d), now) == 0) {
                Some(device) => {
                    inner.device.add((account, device), now);
                    if inner.device.count(&(account, device), now) >= self.per_pair {
                        inner.distrusted.add((account, device), now);
                    }
                    return Ok(());
                }
                None => inner.pair.add((account, client_key(address)), now),
            }
        }
        add_shared(store, FailureKind::Account, account, now, ACCOUNT_WINDOW).await
    }

    /// Whether `account`'s second step may take another code.
    pub async fn second_factor_open(
        &self,
        store: &Store,
        account: NameKey,
    ) -> Result<Result<(), Refusal>, DbError> {
        let now = crate::db::now_ms();
        let wrong = shared_count(
            store,
            FailureKind::SecondFactor,
            account,
            now,
            SECOND_FACTOR_WINDOW,
        )
        .await?;
        Ok(if wrong >= SECOND_FACTOR_FAILURES {
            Err(Refusal::SecondFactor)
        } else {
            Ok(())
        })
    }

    /// Records a wrong second-factor code: against the account for the hour, and as a
    /// failed login from `address`.
    pub async fn second_factor_failed(
        &self,
        store: &Store,
        account: NameKey,
        address: IpAddr,
    ) -> Result<(), DbError> {
        let now = crate::db::now_ms();
        add_shared(
            store,
            FailureKind::SecondFactor,
            account,
            now,
            SECOND_FACTOR_WINDOW,
        )
        .await?;
        self.failed_at(store, account, address, None, now).await
    }

    /// Drops every expired window, in memory and in the database, and the oldest windows
    /// of the database beyond [`MAX_SHARED`] (the server calls this every minute).
    pub async fn prune(&self, store: &Store) -> Result<(), DbError> {
        let now = crate::db::now_ms();
        {
            let mut inner = self.lock();
            inner.address.prune(now);
            inner.pair.prune(now);
            inner.device.prune(now);
            inner.distrusted.prune(now);
        }
        let before = now - ms(ACCOUNT_WINDOW.max(SECOND_FACTOR_WINDOW));
        store
            .write(Scope::System, move |tx| {
                shared::prune_failures(tx, before, MAX_SHARED)
            })
            .await?;
        Ok(())
    }

    /// How many windows this node holds in memory: what the memory bound is about.
    pub fn len(&self) -> usize {
        let inner = self.lock();
        inner.address.map.len()
            + inner.pair.map.len()
            + inner.device.map.len()
            + inner.distrusted.map.len()
    }

    /// Whether nothing is held in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The shared count of `kind` for `account` in its window of length `window` at `now`.
async fn shared_count(
    store: &Store,
    kind: FailureKind,
    account: NameKey,
    now: i64,
    window: Duration,
) -> Result<u32, DbError> {
    let since = now - ms(window);
    store
        .read(Scope::System, move |tx| {
            shared::failures(tx, kind, &account.0, since)
        })
        .await
}

/// Counts one failure of `kind` for `account` in the shared windows.
async fn add_shared(
    store: &Store,
    kind: FailureKind,
    account: NameKey,
    now: i64,
    window: Duration,
) -> Result<(), DbError> {
    let window = ms(window);
    store
        .write(Scope::System, move |tx| {
            shared::add_failure(tx, kind, &account.0, now, window)
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    /// The digest of an account's password, as the login reads it.
    const PASSWORD: [u8; 32] = [7; 32];

    /// A store of its own (the directory must live as long as it).
    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("throttle.sqlite")).expect("store");
        (dir, store)
    }

    fn later(start: i64, secs: i64) -> i64 {
        start + secs * 1000
    }

    /// A log leaked with its tags cannot be matched against a list of staff names: the tag
    /// is not the unkeyed hash anyone can compute, and another database's secret tags the
    /// name otherwise.
    #[test]
    fn the_log_tag_of_a_name_is_keyed_and_differs_from_database_to_database() {
        let (ours, theirs) = (Keys::from_secret(&[1; 32]), Keys::from_secret(&[2; 32]));
        let tag = ours.name_key("coach.west").to_string();
        assert_eq!(tag.len(), 12);
        assert_eq!(
            tag,
            ours.name_key(" coach.west ").to_string(),
            "same name, same tag"
        );
        assert_ne!(tag, ours.name_key("coach.oost").to_string());
        assert_ne!(tag, theirs.name_key("coach.west").to_string());
        assert_ne!(ours.name_key("Meldpunt"), ours.name_key("meldpunt"));
        let unkeyed = blake3::hash(b"coach.west").to_hex();
        assert!(!unkeyed.starts_with(&tag), "the tag is not the plain hash");
    }

    #[tokio::test]
    async fn the_secret_is_drawn_once_per_database_and_kept_across_restarts() {
        let (_dir, s) = store();
        let (first, restarted) = (LoginThrottle::new(2), LoginThrottle::new(2));
        let keys = first.keys(&s).await.expect("keys");
        let user = keys.name_key("coordinator");
        let cookie = keys.device_cookie(user, &PASSWORD);
        let again = restarted.keys(&s).await.expect("keys");
        assert_eq!(again.name_key("coordinator"), user);
        assert!(
            again.device(user, &PASSWORD, &cookie).is_some(),
            "a browser known before the restart is known after it"
        );
        let (_other_dir, other) = store();
        let elsewhere = LoginThrottle::new(2);
        let theirs = elsewhere.keys(&other).await.expect("keys");
        assert_ne!(theirs.name_key("coordinator"), user);
        assert_eq!(theirs.device(user, &PASSWORD, &cookie), None);
    }

    #[test]
    fn an_address_is_refused_after_three_times_the_limit() {
        let t = LoginThrottle::new(2);
        for _ in 0..6 {
            assert_eq!(t.attempt(ip(1)), Ok(()));
        }
        assert_eq!(t.attempt(ip(1)), Err(Refusal::Address));
        assert_eq!(t.attempt(ip(2)), Ok(()), "another address is not affected");
    }

    #[tokio::test]
    async fn a_locked_account_is_closed_to_every_unknown_browser_and_open_to_a_known_one() {
        let (_dir, s) = store();
        let t = LoginThrottle::new(2);
        let keys = t.keys(&s).await.expect("keys");
        let user = keys.name_key("coordinator");
        let owner = keys.device(user, &PASSWORD, &keys.device_cookie(user, &PASSWORD));
        assert!(
            owner.is_some(),
            "a cookie this server issued names a device"
        );
        // Twenty attackers fail once each: the account is now locked (10 × 2).
        for n in 0..20 {
            assert_eq!(
                t.account_open(&s, user, ip(n), None).await.expect("db"),
                Ok(())
            );
            t.failed(&s, user, ip(n), None).await.expect("db");
        }
        let open = |address, device| t.account_open(&s, user, address, device);
        assert_eq!(open(ip(3), None).await.expect("db"), Err(Refusal::Account));
        assert_eq!(
            open(ip(999), None).await.expect("db"),
            Err(Refusal::Account),
            "a fresh address gets no guess either"
        );
        assert_eq!(
            open(ip(3), owner).await.expect("db"),
            Ok(()),
            "the owner's browser logged in before"
        );
        let other = keys.name_key("meldpunt");
        assert_eq!(
            t.account_open(&s, other, ip(3), None).await.expect("db"),
            Ok(())
        );
    }

    /// Several server nodes on one database: failures on one count on the others, so a
    /// botnet that spreads its guesses over the nodes gets the budget of one, and a
    /// browser that logged in on one node is known on every other.
    #[tokio::test]
    async fn nodes_on_one_database_share_the_account_lock_and_know_each_others_browsers() {
        let (_dir, s) = store();
        let nodes = [
            LoginThrottle::new(2),
            LoginThrottle::new(2),
            LoginThrottle::new(2),
        ];
        let keys = nodes[0].keys(&s).await.expect("keys");
        let user = keys.name_key("coordinator");
        let cookie = keys.device_cookie(user, &PASSWORD);
        for n in 0..20u32 {
            let node = &nodes[n as usize % 3];
            assert_eq!(
                node.account_open(&s, user, ip(n), None).await.expect("db"),
                Ok(())
            );
            node.failed(&s, user, ip(n), None).await.expect("db");
        }
        for node in &nodes {
            assert_eq!(
                node.account_open(&s, user, ip(500), None)
                    .await
                    .expect("db"),
                Err(Refusal::Account),
                "locked on every node after 20 failures in all"
            );
            let theirs = node.keys(&s).await.expect("keys");
            let owner = theirs.device(user, &PASSWORD, &cookie);
            assert!(owner.is_some(), "a cookie another node issued");
            assert_eq!(
                node.account_open(&s, user, ip(500), owner)
                    .await
                    .expect("db"),
                Ok(())
            );
        }
        // The second step's wrong codes too: ten in all, spread over the nodes.
        for n in 0..SECOND_FACTOR_FAILURES {
            let node = &nodes[n as usize % 3];
            assert_eq!(node.second_factor_open(&s, user).await.expect("db"), Ok(()));
            node.second_factor_failed(&s, user, ip(n))
                .await
                .expect("db");
        }
        for node in &nodes {
            assert_eq!(
                node.second_factor_open(&s, user).await.expect("db"),
                Err(Refusal::SecondFactor)
            );
        }
    }

    #[tokio::test]
    async fn a_known_browser_that_keeps_failing_loses_its_standing_and_no_one_else_does() {
        let (_dir, s) = store();
        let t = LoginThrottle::new(2);
        let keys = t.keys(&s).await.expect("keys");
        let user = keys.name_key("coordinator");
        let (stolen, owner) = (
            keys.device(user, &PASSWORD, &keys.device_cookie(user, &PASSWORD)),
            keys.device(user, &PASSWORD, &keys.device_cookie(user, &PASSWORD)),
        );
        t.failed(&s, user, ip(1), stolen).await.expect("db");
        t.failed(&s, user, ip(2), stolen).await.expect("db");
        // Now an unknown browser: from an address that failed as one it is refused, and
        // its further failures count against the account like anyone's.
        t.failed(&s, user, ip(3), stolen).await.expect("db");
        t.failed(&s, user, ip(3), stolen).await.expect("db");
        let open = |address, device| t.account_open(&s, user, address, device);
        assert_eq!(
            open(ip(3), stolen).await.expect("db"),
            Err(Refusal::Account)
        );
        assert_eq!(open(ip(3), None).await.expect("db"), Err(Refusal::Account));
        assert_eq!(open(ip(1), owner).await.expect("db"), Ok(()));
        assert_eq!(
            open(ip(1), None).await.expect("db"),
            Ok(()),
            "a known device's failures do not lock the account for others"
        );
    }

    /// The account-wide lock does not refill every minute: a botnet that waits for the next
    /// minute gets nothing more until the hour is over, while one address's own lock is
    /// still a minute.
    #[tokio::test]
    async fn the_lock_for_unknown_browsers_lasts_the_hour_not_the_minute() {
        let (_dir, s) = store();
        let t = LoginThrottle::new(2);
        let keys = t.keys(&s).await.expect("keys");
        let user = keys.name_key("coordinator");
        let start = crate::db::now_ms();
        for n in 0..20 {
            t.failed_at(&s, user, ip(n), None, start).await.expect("db");
        }
        let open = |account, address, at| t.account_open_at(&s, account, address, None, at);
        assert_eq!(
            open(user, ip(500), later(start, 90)).await.expect("db"),
            Err(Refusal::Account)
        );
        assert_eq!(
            open(user, ip(500), later(start, 3500)).await.expect("db"),
            Err(Refusal::Account)
        );
        assert_eq!(
            open(user, ip(500), later(start, 3601)).await.expect("db"),
            Ok(())
        );
        // A single address that failed its own limit waits a minute, not the hour.
        let other = keys.name_key("meldpunt");
        t.failed_at(&s, other, ip(1), None, start)
            .await
            .expect("db");
        t.failed_at(&s, other, ip(1), None, start)
            .await
            .expect("db");
        assert_eq!(
            open(other, ip(1), later(start, 30)).await.expect("db"),
            Err(Refusal::Account)
        );
        assert_eq!(
            open(other, ip(1), later(start, 61)).await.expect("db"),
            Ok(())
        );
    }

    /// A stolen device cookie is not a licence to guess for 180 days: once it fails the
    /// per-minute limit it counts as an unknown browser for a day, so it is caught by the
    /// account's lock like everyone else's.
    #[tokio::test]
    async fn a_device_cookie_that_keeps_failing_is_not_trusted_for_a_day() {
        let (_dir, s) = store();
        let t = LoginThrottle::new(2);
        let keys = t.keys(&s).await.expect("keys");
        let user = keys.name_key("coordinator");
        let stolen = keys.device(user, &PASSWORD, &keys.device_cookie(user, &PASSWORD));
        let start = crate::db::now_ms();
        let fail = |address, device, at| t.failed_at(&s, user, address, device, at);
        let open = |address, at| t.account_open_at(&s, user, address, stolen, at);
        fail(ip(1), stolen, start).await.expect("db");
        fail(ip(1), stolen, start).await.expect("db");
        // A minute on, its own counter is empty, but it is no longer a known browser: its
        // guesses now count against the account, and the address's own limit applies.
        assert_eq!(open(ip(2), later(start, 61)).await.expect("db"), Ok(()));
        fail(ip(2), stolen, later(start, 61)).await.expect("db");
        fail(ip(2), stolen, later(start, 61)).await.expect("db");
        assert_eq!(
            open(ip(2), later(start, 62)).await.expect("db"),
            Err(Refusal::Account),
            "treated as the unknown browser it now is"
        );
        for n in 10..30 {
            fail(ip(n), None, later(start, 70)).await.expect("db");
        }
        assert_eq!(
            open(ip(3), later(start, 200)).await.expect("db"),
            Err(Refusal::Account),
            "its own minute is over, but the account's lock holds for it"
        );
        assert_eq!(
            open(ip(3), later(start, 24 * 3600 + 10)).await.expect("db"),
            Ok(()),
            "a day later it is trusted again"
        );
    }

    #[test]
    fn a_forged_copied_mangled_or_outdated_device_cookie_names_no_device() {
        let keys = Keys::from_secret(&[3; 32]);
        let (user, other) = (keys.name_key("meldpunt"), keys.name_key("admin"));
        let cookie = keys.device_cookie(user, &PASSWORD);
        assert_eq!(cookie.len(), 97);
        assert!(keys.device(user, &PASSWORD, &cookie).is_some());
        assert_eq!(
            keys.device(other, &PASSWORD, &cookie),
            None,
            "another account's cookie"
        );
        assert_eq!(
            keys.device(user, &[8; 32], &cookie),
            None,
            "a cookie from before the password changed"
        );
        assert_eq!(
            Keys::from_secret(&[4; 32]).device(user, &PASSWORD, &cookie),
            None,
            "a cookie signed under another database's secret"
        );
        let (id, mac) = cookie.split_once('.').expect("two parts");
        let mut flipped = id.to_owned();
        flipped.replace_range(0..1, if id.starts_with('0') { "1" } else { "0" });
        for forged in [
            format!("{flipped}.{mac}"),
            format!("{id}.{}", &mac[..63]),
            format!("+{}.{mac}", &id[1..]),
            id.to_owned(),
            String::new(),
            "é".repeat(50),
        ] {
            assert_eq!(keys.device(user, &PASSWORD, &forged), None, "{forged}");
        }
    }

    #[tokio::test]
    async fn an_address_that_fails_on_one_account_twice_is_locked_out_of_it() {
        let (_dir, s) = store();
        let t = LoginThrottle::new(2);
        let keys = t.keys(&s).await.expect("keys");
        let user = keys.name_key("coordinator");
        t.failed(&s, user, ip(1), None).await.expect("db");
        t.failed(&s, user, ip(1), None).await.expect("db");
        assert_eq!(
            t.account_open(&s, user, ip(1), None).await.expect("db"),
            Err(Refusal::Account)
        );
        let other = keys.name_key("meldpunt");
        assert_eq!(
            t.account_open(&s, other, ip(1), None).await.expect("db"),
            Ok(())
        );
    }

    #[tokio::test]
    async fn the_addresses_of_one_ipv6_subscriber_count_as_one_client() {
        let (_dir, s) = store();
        let t = LoginThrottle::new(1);
        let user = t.keys(&s).await.expect("keys").name_key("coordinator");
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ipv6");
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:fffe".parse().expect("ipv6");
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().expect("ipv6");
        t.failed(&s, user, a, None).await.expect("db");
        assert_eq!(
            t.account_open(&s, user, b, None).await.expect("db"),
            Err(Refusal::Account),
            "another address of the same /64"
        );
        assert_eq!(
            t.account_open(&s, user, elsewhere, None).await.expect("db"),
            Ok(())
        );
        for _ in 0..3 {
            assert_eq!(t.attempt(a), Ok(()));
        }
        assert_eq!(t.attempt(b), Err(Refusal::Address));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("mapped");
        t.failed(&s, user, "192.0.2.7".parse().expect("ipv4"), None)
            .await
            .expect("db");
        assert_eq!(
            t.account_open(&s, user, mapped, None).await.expect("db"),
            Err(Refusal::Account)
        );
    }

    #[tokio::test]
    async fn wrong_second_factor_codes_lock_the_second_step_for_every_address_and_session() {
        let (_dir, s) = store();
        let t = LoginThrottle::new(1_000);
        let keys = t.keys(&s).await.expect("keys");
        let user = keys.name_key("meldpunt");
        for n in 0..SECOND_FACTOR_FAILURES {
            assert_eq!(t.second_factor_open(&s, user).await.expect("db"), Ok(()));
            // Each from another address, as if each from a fresh login.
            t.second_factor_failed(&s, user, ip(n)).await.expect("db");
        }
        assert_eq!(
            t.second_factor_open(&s, user).await.expect("db"),
            Err(Refusal::SecondFactor)
        );
        let other = keys.name_key("admin");
        assert_eq!(t.second_factor_open(&s, other).await.expect("db"), Ok(()));
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_addresses_and_accounts() {
        let t = LoginThrottle::new(1_000_000);
        let keys = Keys::from_secret(&[5; 32]);
        let now = crate::db::now_ms();
        for n in 0..(3 * MAX_ENTRIES as u32) {
            let _ = t.attempt(ip(n));
            let name = keys.name_key(&format!("niemand-{n}"));
            let device = keys.device(name, &PASSWORD, &keys.device_cookie(name, &PASSWORD));
            let mut inner = t.lock();
            inner.pair.add((name, ip(n)), now);
            inner.device.add((name, device.expect("device")), now);
            inner.distrusted.add((name, device.expect("device")), now);
        }
        assert!(t.len() <= 4 * MAX_ENTRIES, "{} windows", t.len());
    }

    /// The shared windows are bounded too: pruning drops the expired ones, then all but
    /// the newest `keep`, whatever a flood of names wrote.
    #[tokio::test]
    async fn the_database_keeps_only_live_windows_and_at_most_the_newest_bound() {
        let (_dir, s) = store();
        let t = LoginThrottle::new(2);
        let keys = t.keys(&s).await.expect("keys");
        let start = crate::db::now_ms();
        for n in 0..300u32 {
            let name = keys.name_key(&format!("niemand-{n}"));
            // A third of them over an hour ago.
            let at = if n < 100 {
                later(start, -4000)
            } else {
                start + i64::from(n)
            };
            t.failed_at(&s, name, ip(n), None, at).await.expect("db");
        }
        let windows = || s.read(Scope::System, shared::windows);
        assert_eq!(windows().await.expect("db"), 300);
        let before = start - ms(ACCOUNT_WINDOW);
        let dropped = s
            .write(Scope::System, move |tx| {
                shared::prune_failures(tx, before, 150)
            })
            .await
            .expect("db");
        assert_eq!(dropped, 150, "100 expired, then 50 of the oldest live ones");
        assert_eq!(windows().await.expect("db"), 150);
        // The newest stay: the last name's window is still counted.
        let newest = keys.name_key("niemand-299");
        assert_eq!(
            shared_count(
                &s,
                FailureKind::Account,
                newest,
                start + 300,
                ACCOUNT_WINDOW
            )
            .await
            .expect("db"),
            1
        );
        let oldest_live = keys.name_key("niemand-100");
        assert_eq!(
            shared_count(
                &s,
                FailureKind::Account,
                oldest_live,
                start + 300,
                ACCOUNT_WINDOW
            )
            .await
            .expect("db"),
            0
        );
    }
}

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
//!   database, pruning expired ones first and then those with the fewest failures (the
//!   oldest among equals), so what it holds stays bounded whatever arrives, and a flood of
//!   fresh keys cannot push out the count of an address or account under attack;
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
                // Still full of live windows: drop the tenth with the fewest counts (the
                // oldest among equals) at once, so that a flood costs a sort per thousand
                // new keys rather than a scan per key, and cannot push out a key that is
                // hammering.
                let mut by_weight: Vec<((u32, i64), K)> = self
                    .map
                    .iter()
                    .map(|(k, w)| ((w.count, w.start), *k))
                    .collect();
                by_weight.sort_unstable_by_key(|(weight, _)| *weight);
                for (_, k) in by_weight.into_iter().take(MAX_ENTRIES / 10) {
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

    /// Drops every expired window, in memory and in the database, and the windows of the
    /// database beyond [`MAX_SHARED`] with the fewest failures (the server calls this every
    /// minute).
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
mod tests;

//! Login throttling that an attacker can turn neither into a memory leak, nor into a
//! lock-out, nor into a list of usernames.
//!
//! Issue 11 found a limiter keyed on the submitted username: every unique name (100 KB
//! each) stayed in memory for ever, and ten bad logins a minute locked the real account
//! for everyone. This one:
//! - never stores a username: it counts per client address (an IPv6 client by its /64,
//!   which one subscriber gets whole) and per account *name* as a [`NameKey`], a keyed
//!   hash of 16 bytes, after the name was capped at [`MAX_USERNAME_BYTES`];
//! - counts a name that belongs to no one exactly as a name that does, so that a lock
//!   (429 instead of 401) does not tell which accounts exist;
//! - keeps at most [`MAX_ENTRIES`] windows per map, pruning expired ones first and the
//!   oldest after that, so memory stays bounded whatever arrives;
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
//! Fixed windows are coarse but cheap, and their worst case (twice the limit across a
//! window boundary) is still far below what guessing a password or a code would need.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::{Rng, RngCore};

/// The longest username accepted at the login boundary (bytes, after trimming).
pub const MAX_USERNAME_BYTES: usize = 64;
/// The most windows one map keeps.
pub const MAX_ENTRIES: usize = 10_000;
/// The length of a window of logins.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The length of a window of wrong second-factor codes.
pub const SECOND_FACTOR_WINDOW: Duration = Duration::from_secs(3600);
/// Wrong second-factor codes an account takes per [`SECOND_FACTOR_WINDOW`], from all
/// sessions and addresses together, before its second step is refused until the window
/// ends. Six digits with a window of three steps leave 1 in 333,333 per guess: at this
/// rate about 1 in 1,400 per day of guessing.
pub const SECOND_FACTOR_FAILURES: u32 = 10;

/// An account name as the throttle knows it: a hash keyed with a secret drawn at start-up,
/// so neither the name nor a dictionary-reversible hash of it is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameKey([u8; 16]);

/// The log's tag for an account name: the first six bytes of its key in hex. Keyed with
/// the process's secret, so a leaked log cannot be matched against a list of staff names
/// (an unkeyed hash could, name by name); within one run the same name has the same tag.
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

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// A bounded map of per-key counters over fixed windows.
#[derive(Debug)]
struct Counters<K> {
    map: HashMap<K, Window>,
    window: Duration,
}

impl<K: Hash + Eq + Copy> Counters<K> {
    fn new(window: Duration) -> Self {
        Counters {
            map: HashMap::new(),
            window,
        }
    }

    fn count(&self, key: &K, now: Instant) -> u32 {
        self.map
            .get(key)
            .filter(|w| now.duration_since(w.start) < self.window)
            .map_or(0, |w| w.count)
    }

    fn add(&mut self, key: K, now: Instant) {
        if !self.map.contains_key(&key) && self.map.len() >= MAX_ENTRIES {
            self.prune(now);
            if self.map.len() >= MAX_ENTRIES {
                // Still full of live windows: drop the oldest tenth at once, so that a
                // flood costs a sort per thousand new keys rather than a scan per key.
                let mut by_age: Vec<(Instant, K)> =
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
        if now.duration_since(w.start) >= self.window {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        w.count = w.count.saturating_add(1);
    }

    fn prune(&mut self, now: Instant) {
        let window = self.window;
        self.map.retain(|_, w| now.duration_since(w.start) < window);
        self.map.shrink_to(MAX_ENTRIES.min(self.map.len() * 2));
    }
}

#[derive(Debug)]
struct Inner {
    /// Every attempt per client address.
    address: Counters<IpAddr>,
    /// Failures per account name.
    account: Counters<NameKey>,
    /// Failures per account name and address, from unknown browsers.
    pair: Counters<(NameKey, IpAddr)>,
    /// Failures per account name and known browser.
    device: Counters<(NameKey, Device)>,
    /// Known browsers that failed too often on an account: unknown again for a day.
    distrusted: Counters<(NameKey, Device)>,
    /// Wrong second-factor codes per account name.
    second_factor: Counters<NameKey>,
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

/// The login throttle (see the module doc).
#[derive(Debug)]
pub struct LoginThrottle {
    per_address: u32,
    per_account: u32,
    per_pair: u32,
    /// The secret that keys [`NameKey`]s.
    key: [u8; 32],
    /// The secret that signs device cookies (derived from `key`).
    device_key: [u8; 32],
    inner: Mutex<Inner>,
}

impl LoginThrottle {
    /// `per_minute` is the number of failures an account may take from one address per
    /// minute; an address may make three times that many attempts, and an account takes
    /// ten times that many failures before it locks for every address that failed on it.
    pub fn new(per_minute: u32) -> Self {
        let n = per_minute.max(1);
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        LoginThrottle {
            per_address: n.saturating_mul(3),
            per_account: n.saturating_mul(10),
            per_pair: n,
            key,
            device_key: blake3::derive_key("avondronde 2026 login device cookie", &key),
            inner: Mutex::new(Inner {
                address: Counters::new(WINDOW),
                account: Counters::new(ACCOUNT_WINDOW),
                pair: Counters::new(WINDOW),
                device: Counters::new(WINDOW),
                distrusted: Counters::new(DISTRUST_WINDOW),
                second_factor: Counters::new(SECOND_FACTOR_WINDOW),
            }),
        }
    }

    /// The key of an account name (trimmed, as the login looks it up), whether or not an
    /// account has that name.
    pub fn name_key(&self, username: &str) -> NameKey {
        let hash = blake3::keyed_hash(&self.key, username.trim().as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&hash.as_bytes()[..16]);
        NameKey(key)
    }

    /// The signature of device `id` on `account` while its password is the one
    /// `credential` digests ([`crate::auth::StoredLogin::credential`]): a new password
    /// (a reset, or the user's own change) makes every earlier cookie name no device.
    fn device_mac(&self, account: NameKey, credential: &[u8; 32], id: u128) -> blake3::Hash {
        let mut mac = blake3::Hasher::new_keyed(&self.device_key);
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

    /// The device a cookie value names, if this server issued it for `account` while its
    /// password was the one `credential` digests; anything else (another account's
    /// cookie, one from before a password change, a forged or mangled one) is no device.
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an attempt from `address`; refuses when the address made too many.
    pub fn attempt(&self, address: IpAddr) -> Result<(), Refusal> {
        let address = client_key(address);
        let now = Instant::now();
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
    /// account has taken too many failures from unknown browsers this hour: then no fresh
    /// address gets another guess.
    pub fn account_open(
        &self,
        account: NameKey,
        address: IpAddr,
        device: Option<Device>,
    ) -> Result<(), Refusal> {
        self.account_open_at(account, address, device, Instant::now())
    }

    fn account_open_at(
        &self,
        account: NameKey,
        address: IpAddr,
        device: Option<Device>,
        now: Instant,
    ) -> Result<(), Refusal> {
        let inner = self.lock();
        let device = device.filter(|&d| inner.distrusted.count(&(account, d), now) == 0);
        let refused = match device {
            Some(device) => inner.device.count(&(account, device), now) >= self.per_pair,
            None => {
                inner.pair.count(&(account, client_key(address)), now) >= self.per_pair
                    || inner.account.count(&account, now) >= self.per_account
            }
        };
        if refused {
            Err(Refusal::Account)
        } else {
            Ok(())
        }
    }

    /// Records a failed password for an account name, whether or not it exists: against
    /// the known device that tried (which is distrusted for a day once it reaches the
    /// per-minute limit), or else against the address and the account.
    pub fn failed(&self, account: NameKey, address: IpAddr, device: Option<Device>) {
        self.failed_at(account, address, device, Instant::now());
    }

    fn failed_at(&self, account: NameKey, address: IpAddr, device: Option<Device>, now: Instant) {
        let mut inner = self.lock();
        let device = device.filter(|&d| inner.distrusted.count(&(account, d), now) == 0);
        match device {
            Some(device) => {
                inner.device.add((account, device), now);
                if inner.device.count(&(account, device), now) >= self.per_pair {
                    inner.distrusted.add((account, device), now);
                }
            }
            None => {
                inner.account.add(account, now);
                inner.pair.add((account, client_key(address)), now);
            }
        }
    }

    /// Whether `account`'s second step may take another code.
    pub fn second_factor_open(&self, account: NameKey) -> Result<(), Refusal> {
        let now = Instant::now();
        if self.lock().second_factor.count(&account, now) >= SECOND_FACTOR_FAILURES {
            Err(Refusal::SecondFactor)
        } else {
            Ok(())
        }
    }

    /// Records a wrong second-factor code: against the account for the hour, and as a
    /// failed login from `address`.
    pub fn second_factor_failed(&self, account: NameKey, address: IpAddr) {
        let now = Instant::now();
        self.lock().second_factor.add(account, now);
        self.failed(account, address, None);
    }

    /// Drops every expired window (the server calls this every minute).
    pub fn prune(&self) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.address.prune(now);
        inner.account.prune(now);
        inner.pair.prune(now);
        inner.device.prune(now);
        inner.distrusted.prune(now);
        inner.second_factor.prune(now);
    }

    /// How many windows are held in all: what the memory bound is about.
    pub fn len(&self) -> usize {
        let inner = self.lock();
        inner.address.map.len()
            + inner.account.map.len()
            + inner.pair.map.len()
            + inner.device.map.len()
            + inner.distrusted.map.len()
            + inner.second_factor.map.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    /// The digest of an account's password, as the login reads it.
    const PASSWORD: [u8; 32] = [7; 32];

    /// A log leaked with its tags cannot be matched against a list of staff names: the tag
    /// is not the unkeyed hash anyone can compute, and another run tags the name otherwise.
    #[test]
    fn the_log_tag_of_a_name_is_keyed_and_stable_only_within_one_run() {
        let (run, next_run) = (LoginThrottle::new(5), LoginThrottle::new(5));
        let tag = run.name_key("coach.west").to_string();
        assert_eq!(tag.len(), 12);
        assert_eq!(
            tag,
            run.name_key(" coach.west ").to_string(),
            "same name, same tag"
        );
        assert_ne!(tag, run.name_key("coach.oost").to_string());
        assert_ne!(tag, next_run.name_key("coach.west").to_string());
        let unkeyed = blake3::hash(b"coach.west").to_hex();
        assert!(!unkeyed.starts_with(&tag), "the tag is not the plain hash");
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

    #[test]
    fn a_locked_account_is_closed_to_every_unknown_browser_and_open_to_a_known_one() {
        let t = LoginThrottle::new(2);
        let user = t.name_key("coordinator");
        let owner = t.device(user, &PASSWORD, &t.device_cookie(user, &PASSWORD));
        assert!(
            owner.is_some(),
            "a cookie this server issued names a device"
        );
        // Twenty attackers fail once each: the account is now locked (10 × 2).
        for n in 0..20 {
            assert_eq!(t.account_open(user, ip(n), None), Ok(()));
            t.failed(user, ip(n), None);
        }
        assert_eq!(t.account_open(user, ip(3), None), Err(Refusal::Account));
        assert_eq!(
            t.account_open(user, ip(999), None),
            Err(Refusal::Account),
            "a fresh address gets no guess either"
        );
        assert_eq!(
            t.account_open(user, ip(3), owner),
            Ok(()),
            "the owner's browser logged in before"
        );
        let other = t.name_key("meldpunt");
        assert_eq!(t.account_open(other, ip(3), None), Ok(()));
    }

    #[test]
    fn a_known_browser_that_keeps_failing_loses_its_standing_and_no_one_else_does() {
        let t = LoginThrottle::new(2);
        let user = t.name_key("coordinator");
        let (stolen, owner) = (
            t.device(user, &PASSWORD, &t.device_cookie(user, &PASSWORD)),
            t.device(user, &PASSWORD, &t.device_cookie(user, &PASSWORD)),
        );
        t.failed(user, ip(1), stolen);
        t.failed(user, ip(2), stolen);
        // Now an unknown browser: from an address that failed as one it is refused, and
        // its further failures count against the account like anyone's.
        t.failed(user, ip(3), stolen);
        t.failed(user, ip(3), stolen);
        assert_eq!(t.account_open(user, ip(3), stolen), Err(Refusal::Account));
        assert_eq!(t.account_open(user, ip(3), None), Err(Refusal::Account));
        assert_eq!(t.account_open(user, ip(1), owner), Ok(()));
        assert_eq!(
            t.account_open(user, ip(1), None),
            Ok(()),
            "a known device's failures do not lock the account for others"
        );
    }

    /// The account-wide lock does not refill every minute: a botnet that waits for the next
    /// minute gets nothing more until the hour is over, while one address's own lock is
    /// still a minute.
    #[test]
    fn the_lock_for_unknown_browsers_lasts_the_hour_not_the_minute() {
        let t = LoginThrottle::new(2);
        let user = t.name_key("coordinator");
        let start = Instant::now();
        for n in 0..20 {
            t.failed_at(user, ip(n), None, start);
        }
        let later = |s| start + Duration::from_secs(s);
        assert_eq!(
            t.account_open_at(user, ip(500), None, later(90)),
            Err(Refusal::Account)
        );
        assert_eq!(
            t.account_open_at(user, ip(500), None, later(3500)),
            Err(Refusal::Account)
        );
        assert_eq!(t.account_open_at(user, ip(500), None, later(3601)), Ok(()));
        // A single address that failed its own limit waits a minute, not the hour.
        let other = t.name_key("meldpunt");
        t.failed_at(other, ip(1), None, start);
        t.failed_at(other, ip(1), None, start);
        assert_eq!(
            t.account_open_at(other, ip(1), None, later(30)),
            Err(Refusal::Account)
        );
        assert_eq!(t.account_open_at(other, ip(1), None, later(61)), Ok(()));
    }

    /// A stolen device cookie is not a licence to guess for 180 days: once it fails the
    /// per-minute limit it counts as an unknown browser for a day, so it is caught by the
    /// account's lock like everyone else's.
    #[test]
    fn a_device_cookie_that_keeps_failing_is_not_trusted_for_a_day() {
        let t = LoginThrottle::new(2);
        let user = t.name_key("coordinator");
        let stolen = t.device(user, &PASSWORD, &t.device_cookie(user, &PASSWORD));
        let start = Instant::now();
        let later = |s| start + Duration::from_secs(s);
        t.failed_at(user, ip(1), stolen, start);
        t.failed_at(user, ip(1), stolen, start);
        // A minute on, its own counter is empty, but it is no longer a known browser: its
        // guesses now count against the account, and the address's own limit applies.
        assert_eq!(t.account_open_at(user, ip(2), stolen, later(61)), Ok(()));
        t.failed_at(user, ip(2), stolen, later(61));
        t.failed_at(user, ip(2), stolen, later(61));
        assert_eq!(
            t.account_open_at(user, ip(2), stolen, later(62)),
            Err(Refusal::Account),
            "treated as the unknown browser it now is"
        );
        for n in 10..30 {
            t.failed_at(user, ip(n), None, later(70));
        }
        assert_eq!(
            t.account_open_at(user, ip(3), stolen, later(200)),
            Err(Refusal::Account),
            "its own minute is over, but the account's lock holds for it"
        );
        assert_eq!(
            t.account_open_at(user, ip(3), stolen, later(24 * 3600 + 10)),
            Ok(()),
            "a day later it is trusted again"
        );
    }

    #[test]
    fn a_forged_copied_mangled_or_outdated_device_cookie_names_no_device() {
        let t = LoginThrottle::new(2);
        let (user, other) = (t.name_key("meldpunt"), t.name_key("admin"));
        let cookie = t.device_cookie(user, &PASSWORD);
        assert_eq!(cookie.len(), 97);
        assert!(t.device(user, &PASSWORD, &cookie).is_some());
        assert_eq!(
            t.device(other, &PASSWORD, &cookie),
            None,
            "another account's cookie"
        );
        assert_eq!(
            t.device(user, &[8; 32], &cookie),
            None,
            "a cookie from before the password changed"
        );
        assert_eq!(
            LoginThrottle::new(2).device(user, &PASSWORD, &cookie),
            None,
            "another server's cookie"
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
            assert_eq!(t.device(user, &PASSWORD, &forged), None, "{forged}");
        }
    }

    #[test]
    fn an_address_that_fails_on_one_account_twice_is_locked_out_of_it() {
        let t = LoginThrottle::new(2);
        let user = t.name_key("coordinator");
        t.failed(user, ip(1), None);
        t.failed(user, ip(1), None);
        assert_eq!(t.account_open(user, ip(1), None), Err(Refusal::Account));
        assert_eq!(t.account_open(t.name_key("meldpunt"), ip(1), None), Ok(()));
    }

    #[test]
    fn a_name_is_known_by_a_keyed_hash_that_differs_from_server_to_server() {
        let t = LoginThrottle::new(2);
        assert_eq!(t.name_key("meldpunt"), t.name_key("  meldpunt "));
        assert_ne!(t.name_key("meldpunt"), t.name_key("Meldpunt"));
        let other = LoginThrottle::new(2);
        assert_ne!(
            t.name_key("meldpunt"),
            other.name_key("meldpunt"),
            "a hash without a secret key could be reversed with a list of likely names"
        );
    }

    #[test]
    fn the_addresses_of_one_ipv6_subscriber_count_as_one_client() {
        let t = LoginThrottle::new(1);
        let user = t.name_key("coordinator");
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ipv6");
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:fffe".parse().expect("ipv6");
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().expect("ipv6");
        t.failed(user, a, None);
        assert_eq!(
            t.account_open(user, b, None),
            Err(Refusal::Account),
            "another address of the same /64"
        );
        assert_eq!(t.account_open(user, elsewhere, None), Ok(()));
        for _ in 0..3 {
            assert_eq!(t.attempt(a), Ok(()));
        }
        assert_eq!(t.attempt(b), Err(Refusal::Address));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("mapped");
        t.failed(user, "192.0.2.7".parse().expect("ipv4"), None);
        assert_eq!(t.account_open(user, mapped, None), Err(Refusal::Account));
    }

    #[test]
    fn wrong_second_factor_codes_lock_the_second_step_for_every_address_and_session() {
        let t = LoginThrottle::new(1_000);
        let user = t.name_key("meldpunt");
        for n in 0..SECOND_FACTOR_FAILURES {
            assert_eq!(t.second_factor_open(user), Ok(()));
            // Each from another address, as if each from a fresh login.
            t.second_factor_failed(user, ip(n));
        }
        assert_eq!(t.second_factor_open(user), Err(Refusal::SecondFactor));
        assert_eq!(t.second_factor_open(t.name_key("admin")), Ok(()));
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_addresses_and_accounts() {
        let t = LoginThrottle::new(1_000_000);
        for n in 0..(3 * MAX_ENTRIES as u32) {
            let _ = t.attempt(ip(n));
            let name = t.name_key(&format!("niemand-{n}"));
            t.failed(name, ip(n), None);
            t.failed(
                name,
                ip(n),
                t.device(name, &PASSWORD, &t.device_cookie(name, &PASSWORD)),
            );
            t.second_factor_failed(name, ip(n));
        }
        assert!(t.len() <= 6 * MAX_ENTRIES, "{} windows", t.len());
    }
}

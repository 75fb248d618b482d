//! Login throttling that an attacker cannot turn into a memory leak or a lock-out.
//!
//! Issue 11 found a limiter keyed on the submitted username: every unique name (100 KB
//! each) stayed in memory for ever, and ten bad logins a minute locked the real account
//! for everyone. This one:
//! - never stores a username: it counts per client address and per *existing* account
//!   ([`UserId`], 16 bytes), after the name was capped at [`MAX_USERNAME_BYTES`];
//! - keeps at most [`MAX_ENTRIES`] windows per map, pruning expired ones first and the
//!   oldest after that, so memory stays bounded whatever arrives;
//! - locks an account only for the addresses that failed on it: an account under attack
//!   stays usable from an address that has not failed.
//!
//! Fixed one-minute windows are coarse but cheap, and their worst case (twice the limit
//! across a window boundary) is still far below what guessing a password would need.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use avondronde_shared::UserId;

/// The longest username accepted at the login boundary (bytes, after trimming).
pub const MAX_USERNAME_BYTES: usize = 64;
/// The most windows one map keeps.
pub const MAX_ENTRIES: usize = 10_000;
/// The length of a window.
pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// A bounded map of per-key counters over fixed windows.
#[derive(Debug)]
struct Counters<K> {
    map: HashMap<K, Window>,
}

impl<K: Hash + Eq + Copy> Counters<K> {
    fn new() -> Self {
        Counters {
            map: HashMap::new(),
        }
    }

    fn count(&self, key: &K, now: Instant) -> u32 {
        self.map
            .get(key)
            .filter(|w| now.duration_since(w.start) < WINDOW)
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
        if now.duration_since(w.start) >= WINDOW {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        w.count = w.count.saturating_add(1);
    }

    fn prune(&mut self, now: Instant) {
        self.map.retain(|_, w| now.duration_since(w.start) < WINDOW);
        self.map.shrink_to(MAX_ENTRIES.min(self.map.len() * 2));
    }
}

#[derive(Debug)]
struct Inner {
    /// Every attempt per client address.
    address: Counters<IpAddr>,
    /// Failures per existing account.
    account: Counters<UserId>,
    /// Failures per account and address.
    pair: Counters<(UserId, IpAddr)>,
}

/// Why a login attempt was refused before its password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many attempts from this address.
    Address,
    /// The account is locked for this address (it failed here, and too often overall or
    /// from here).
    Account,
}

/// The login throttle (see the module doc).
#[derive(Debug)]
pub struct LoginThrottle {
    per_address: u32,
    per_account: u32,
    per_pair: u32,
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
            inner: Mutex::new(Inner {
                address: Counters::new(),
                account: Counters::new(),
                pair: Counters::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an attempt from `address`; refuses when the address made too many.
    pub fn attempt(&self, address: IpAddr) -> Result<(), Refusal> {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.address.count(&address, now) >= self.per_address {
            return Err(Refusal::Address);
        }
        inner.address.add(address, now);
        Ok(())
    }

    /// Whether `account` may be tried from `address`: refused when this address failed on
    /// it too often, or when it failed here at all while the account is locked.
    pub fn account_open(&self, account: UserId, address: IpAddr) -> Result<(), Refusal> {
        let now = Instant::now();
        let inner = self.lock();
        let here = inner.pair.count(&(account, address), now);
        let everywhere = inner.account.count(&account, now);
        if here >= self.per_pair || (here > 0 && everywhere >= self.per_account) {
            Err(Refusal::Account)
        } else {
            Ok(())
        }
    }

    /// Records a failed password for an existing account.
    pub fn failed(&self, account: UserId, address: IpAddr) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.account.add(account, now);
        inner.pair.add((account, address), now);
    }

    /// Drops every expired window (the server calls this every minute).
    pub fn prune(&self) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.address.prune(now);
        inner.account.prune(now);
        inner.pair.prune(now);
    }

    /// How many windows are held in all: what the memory bound is about.
    pub fn len(&self) -> usize {
        let inner = self.lock();
        inner.address.map.len() + inner.account.map.len() + inner.pair.map.len()
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
    fn a_locked_account_stays_open_to_an_address_that_did_not_fail() {
        let t = LoginThrottle::new(2);
        let user = UserId::new();
        // Twenty attackers fail once each: the account is now locked (10 × 2).
        for n in 0..20 {
            assert_eq!(t.account_open(user, ip(n)), Ok(()));
            t.failed(user, ip(n));
        }
        assert_eq!(t.account_open(user, ip(3)), Err(Refusal::Account));
        assert_eq!(
            t.account_open(user, ip(999)),
            Ok(()),
            "the real user's address never failed"
        );
    }

    #[test]
    fn an_address_that_fails_on_one_account_twice_is_locked_out_of_it() {
        let t = LoginThrottle::new(2);
        let user = UserId::new();
        t.failed(user, ip(1));
        t.failed(user, ip(1));
        assert_eq!(t.account_open(user, ip(1)), Err(Refusal::Account));
        assert_eq!(t.account_open(UserId::new(), ip(1)), Ok(()));
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_addresses_and_accounts() {
        let t = LoginThrottle::new(1_000_000);
        for n in 0..(3 * MAX_ENTRIES as u32) {
            let _ = t.attempt(ip(n));
            t.failed(UserId::new(), ip(n));
        }
        assert!(t.len() <= 3 * MAX_ENTRIES, "{} windows", t.len());
    }
}

//! The throttle's rules checked on a real store: locks, windows, device cookies, several
//! nodes on one database, and the bounds on what is held.

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

/// A botnet (or one IPv6 host walking its addresses) that floods the memory bound with
/// fresh addresses must not push out the count of the address that is hammering: the
/// fullest windows are the last to go.
#[test]
fn a_flood_of_fresh_addresses_cannot_push_out_the_count_of_one_that_is_hammering() {
    let t = LoginThrottle::new(2);
    let hammering = ip(u32::MAX);
    while t.attempt(hammering).is_ok() {}
    for n in 0..(2 * MAX_ENTRIES as u32) {
        assert_eq!(t.attempt(ip(n)), Ok(()));
    }
    assert_eq!(
        t.attempt(hammering),
        Err(Refusal::Address),
        "still refused after {} fresh addresses",
        2 * MAX_ENTRIES
    );
}

/// The same holds for an address's failures on one account: a flood of failures on fresh
/// names from fresh addresses (one failure each, the cheapest window there is) past the
/// memory bound does not push out the count that locked an address out of an account.
#[tokio::test]
async fn a_flood_of_fresh_names_cannot_push_out_the_lock_of_an_address_on_one_account() {
    let (_dir, s) = store();
    let t = LoginThrottle::new(2);
    let keys = t.keys(&s).await.expect("keys");
    let user = keys.name_key("coordinator");
    t.failed(&s, user, ip(1), None).await.expect("db");
    t.failed(&s, user, ip(1), None).await.expect("db");
    // The flood goes straight into the per-node map: through `failed`, each would also
    // write a shared window, which the test above bounds.
    let now = crate::db::now_ms();
    for n in 0..(2 * MAX_ENTRIES as u32) {
        let name = keys.name_key(&format!("niemand-{n}"));
        t.lock().pair.add((name, ip(n + 2)), now);
    }
    let held = t.lock().pair.map.len();
    assert!(held <= MAX_ENTRIES, "{held} windows");
    assert_eq!(
        t.account_open(&s, user, ip(1), None).await.expect("db"),
        Err(Refusal::Account),
        "still locked out after {} fresh names",
        2 * MAX_ENTRIES
    );
}

/// The shared windows are bounded too: pruning drops the expired ones, then all but the
/// `keep` with the most failures, whatever a flood of names wrote. A flood of fresh names
/// (one failure each, the cheapest an attacker can write) cannot push out the older window
/// of an account under attack, so it cannot unlock that account.
#[tokio::test]
async fn the_database_keeps_only_live_windows_and_at_most_the_bound_most_failed_first() {
    let (_dir, s) = store();
    let t = LoginThrottle::new(2);
    let keys = t.keys(&s).await.expect("keys");
    let start = crate::db::now_ms();
    let attacked = keys.name_key("coordinator");
    for _ in 0..5 {
        t.failed_at(&s, attacked, ip(7), None, start)
            .await
            .expect("db");
    }
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
    assert_eq!(windows().await.expect("db"), 301);
    let before = start - ms(ACCOUNT_WINDOW);
    let dropped = s
        .write(Scope::System, move |tx| {
            shared::prune_failures(tx, before, 150)
        })
        .await
        .expect("db");
    assert_eq!(
        dropped, 151,
        "100 expired, then 51 of the oldest live ones with one failure"
    );
    assert_eq!(windows().await.expect("db"), 150);
    assert_eq!(
        shared_count(
            &s,
            FailureKind::Account,
            attacked,
            start + 300,
            ACCOUNT_WINDOW
        )
        .await
        .expect("db"),
        5,
        "the oldest live window, but the one with the most failures, stays"
    );
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

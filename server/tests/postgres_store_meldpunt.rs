//! The PostgreSQL arms of the meldpunt's store modules (issue 13): the inbox and its
//! feedback ([`store::care_forms`]), the meldpunt key chain ([`store::meldpunt_keys`]), the
//! audit log ([`store::audit`]), a phone's configuration ([`store::config`]) and the
//! retention sweeps ([`store::retention`]).
//!
//! - One scenario runs on SQLite and on PostgreSQL over the same seeded rows and must give
//!   the same answers, step by step, and leave the same rows behind: a PostgreSQL arm that
//!   differs from its SQLite arm fails it.
//! - A transaction of gemeente B, asked for gemeente A's rows through these functions, gets
//!   none, and cannot change or add any.
//! - Two transactions appending to one gemeente's audit chain at once queue; the chain
//!   stays one line, and a forking row is refused.
//!
//! The rows are seeded with plain SQL (as the cluster's superuser on PostgreSQL, through
//! rusqlite on SQLite): the store functions that write them belong to other modules.

#[path = "common/pg.rs"]
mod pg;

use std::sync::{Arc, Barrier};

use avondronde_server::audit::{self, Action, Actor, Event};
use avondronde_server::db::DbError;
use avondronde_server::meldpunt::inbox::KnownTo;
use avondronde_server::retention::Periods;
use avondronde_server::store::postgres::{APP_ROLE, PgAdmin};
use avondronde_server::store::{self, Store, Tx};
use avondronde_shared::care::{CareStatus, RecipientKeyId};
use avondronde_shared::keychain::KeyLink;
use avondronde_shared::norms::{AreaEffect, AreaRule, DailyWindow, NormSet};
use avondronde_shared::{AgeBand, AreaRuleId, CareFormId, GemeenteId};
use geo::{MultiPolygon, polygon};
use jiff::Timestamp;
use jiff::civil::{Date, Time, date};
use pg::PgCluster;

/// The fixed id number `n` of gemeente `g` (ids are UUIDs; both backends get the same).
fn id(g: u16, n: u16) -> String {
    format!("00000000-0000-7000-8000-{g:04x}0000{n:04x}")
}

const A: u16 = 0xa;
const B: u16 = 0xb;

fn gid(g: u16) -> GemeenteId {
    id(g, 0).parse().expect("gemeente id")
}

fn form(g: u16, n: u16) -> CareFormId {
    id(g, 0x500 + n).parse().expect("form id")
}

/// "Now" in the scenario, unix ms (2026-02-25).
const NOW_MS: i64 = 1_772_000_000_000;
/// Contacts observed before this (2026-02-01, unix s) are archived and deleted.
const CONTACT_CUTOFF_S: i64 = 1_769_904_000;
/// Forms last changed before this (unix ms) are old.
const FORM_CUTOFF_MS: i64 = 1_770_000_000_000;

fn blob(pg: bool, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if pg {
        format!("'\\x{hex}'::bytea")
    } else {
        format!("X'{hex}'")
    }
}

/// Single quotes doubled, for a JSON text in a literal.
fn quoted(json: &str) -> String {
    format!("'{}'", json.replace('\'', "''"))
}

fn area_rule(g: u16) -> AreaRule {
    AreaRule {
        id: id(g, 0x700).parse::<AreaRuleId>().expect("rule id"),
        gemeente: gid(g),
        name: "Burgemeestersbevel Bospolder".into(),
        area: MultiPolygon::new(vec![polygon![
            (x: 4.43, y: 51.905),
            (x: 4.445, y: 51.905),
            (x: 4.445, y: 51.915),
            (x: 4.43, y: 51.915),
        ]]),
        window: DailyWindow {
            start: Time::new(20, 0, 0, 0).expect("time"),
            end: Time::new(6, 0, 0, 0).expect("time"),
        },
        valid_from: date(2026, 1, 1),
        valid_until: Date::new(2026, 12, 31).expect("date"),
        bands: vec![AgeBand::Under6, AgeBand::Age6To9],
        effect: AreaEffect::PresenceBanned,
    }
}

/// A contact to seed: number, round, wijk, observed at (unix s), behaviours, record key.
type ContactSeed<'a> = (u16, u16, Option<&'a str>, i64, &'a str, i64);

/// A write that must be refused.
type Attempt = Box<dyn FnOnce(&Tx) -> Result<(), DbError> + Send>;

/// The statements that seed gemeente `g`, in the dialect of the backend (`pg`): PostgreSQL
/// names the gemeente on every tenant row and keeps a feedback counter per gemeente.
fn seed_sql(g: u16, pg: bool) -> String {
    let gm = id(g, 0);
    // The gemeente column, where SQLite has none (place, device, round, correction).
    let (gc, gv) = if pg {
        (", gemeente_id", format!(", '{gm}'"))
    } else {
        ("", String::new())
    };
    let norms = quoted(&serde_json::to_string(&NormSet::rotterdam()).expect("norms"));
    let rule = quoted(&serde_json::to_string(&area_rule(g)).expect("rule"));
    let boundary = quoted(
        &serde_json::to_string(&MultiPolygon::new(vec![polygon![
            (x: 4.4, y: 51.9),
            (x: 4.5, y: 51.9),
            (x: 4.5, y: 52.0),
        ]]))
        .expect("boundary"),
    );
    let (u1, u2, w1, w2, d1) = (
        id(g, 0x101),
        id(g, 0x102),
        id(g, 0x201),
        id(g, 0x202),
        id(g, 0x301),
    );
    let mut sql = format!(
        "INSERT INTO gemeente (id, name, code, norms) VALUES ('{gm}', 'Gemeente {g}', 'GM{g:04}', {norms});
         INSERT INTO \"user\" (id, gemeente_id, username, role, created_at)
             VALUES ('{u1}', '{gm}', 'veld-{g}', 'field', 0), ('{u2}', '{gm}', 'meldpunt-{g}', 'meldpunt', 0);
         INSERT INTO wijk (id, gemeente_id, code, name, boundary)
             VALUES ('{w2}', '{gm}', 'WK{g:04}02', 'Noord', {boundary}),
                    ('{w1}', '{gm}', 'WK{g:04}01', 'Zuid', {boundary});
         INSERT INTO place (id, wijk_id, name, lat, lon{gc}) VALUES
             ('{}', '{w1}', 'plein', 51.91, 4.44{gv}),
             ('{}', '{w1}', 'Zuidplein', 51.92, 4.45{gv}),
             ('{}', '{w2}', 'Ábrahamhof', 51.93, 4.46{gv});
         INSERT INTO area_rule (id, gemeente_id, rule) VALUES ('{}', '{gm}', {rule});
         INSERT INTO device (id, user_id, token_hash, label, created_at{gc})
             VALUES ('{d1}', '{u1}', {}, 'telefoon', 0{gv});
         INSERT INTO round (id, device_id, user_id, wijk_id, started_at{gc}) VALUES
             ('{}', '{d1}', '{u1}', '{w1}', 1767225600{gv}),
             ('{}', '{d1}', '{u1}', '{w1}', 1767225600{gv}),
             ('{}', '{d1}', '{u1}', '{w1}', 1770500000{gv});
         INSERT INTO meldpunt_key (id, gemeente_id, recipient, identity, created_at)
             VALUES ('{}', '{gm}', 'age1legacy{g}', {}, 1);",
        id(g, 0x401),
        id(g, 0x402),
        id(g, 0x403),
        id(g, 0x700),
        blob(pg, &[g as u8, 1]),
        id(g, 0x601),
        id(g, 0x602),
        id(g, 0x603),
        id(g, 0x800),
        blob(pg, b"wrapped-legacy"),
    );
    if pg {
        sql.push_str(&format!(
            "INSERT INTO counter (gemeente_id, name, value) VALUES ('{gm}', 'feedback', 0);"
        ));
    }
    // Contacts 1 and 2 share an hour and every grouped fact; their keys add up past 2³².
    let contacts: [ContactSeed; 5] = [
        (1, 1, Some(&w1), 1_767_270_123, "[\"roken\"]", 4_294_967_295),
        (2, 1, Some(&w1), 1_767_271_000, "[\"roken\"]", 4_294_967_295),
        (3, 1, Some(&w1), 1_767_290_000, "[]", 3),
        (4, 1, None, 1_767_290_001, "[]", 7),
        (5, 2, Some(&w2), 1_771_000_000, "[]", 11),
    ];
    for (n, round, wijk, at, behaviours, key) in contacts {
        let wijk = wijk.map_or("NULL".to_owned(), |w| format!("'{w}'"));
        // Ledger numbers are unique in the whole database: SQLite keys a contact by its own.
        let seq = u32::from(g) * 100 + u32::from(n);
        sql.push_str(&format!(
            "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id,
                 observed_at, utc_offset_s, received_at, clock_skew_ms, skew_flag, source,
                 n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions,
                 brought_home, past_norm, cell_r9, cell_r10, record_key)
             VALUES ('{}', {seq}, '{d1}', '{u1}', '{gm}', '{}', {wijk}, {at}, 3600, {at}000, 0, 0,
                 'gps', 1, 2, 0, 0, 0, 0, '{behaviours}', '[]', 1, 1, 600000000000, 600000000001,
                 {key});",
            id(g, 0x900 + n),
            id(g, 0x600 + round),
        ));
    }
    for (n, contact) in [(1u16, 1u16), (2, 5)] {
        sql.push_str(&format!(
            "INSERT INTO correction (id, contact_id, seq, facts{gc}) VALUES ('{}', '{}', {n}, '{{}}'{gv});",
            id(g, 0xa00 + n),
            id(g, 0x900 + contact),
        ));
    }
    // Forms: (n, wijk, received_at = updated_at, status). 2 and 5 arrive in one millisecond.
    let forms: [(u16, Option<&str>, i64, &str); 5] = [
        (1, Some(&w1), 1_767_300_000_000, "received"),
        (2, None, 1_767_400_000_000, "in_progress"),
        (3, Some(&w2), 1_767_500_000_000, "closed"),
        (4, Some(&w1), 1_771_000_000_000, "received"),
        (5, Some(&w1), 1_767_400_000_000, "received"),
    ];
    for (n, wijk, at, status) in forms {
        let wijk = wijk.map_or("NULL".to_owned(), |w| format!("'{w}'"));
        sql.push_str(&format!(
            "INSERT INTO care_form (id, seq, device_id, user_id, gemeente_id, contact_id, wijk_id,
                 reporter_role, age_band, created_at, received_at, recipient_key, sealed, status,
                 updated_at, feedback_seq)
             VALUES ('{}', {n}, '{d1}', '{u1}', '{gm}', '{}', {wijk}, 'jongerenwerker', '{}',
                 {}, {at}, '{}', {}, '{status}', {at}, 0);",
            form(g, n),
            id(g, 0x901),
            AgeBand::Age6To9.code(),
            at / 1000,
            id(g, 0x800),
            blob(pg, format!("sealed-{g}-{n}").as_bytes()),
        ));
    }
    sql
}

/// What the scenario's steps answered, one line per step.
type Outcome = Vec<String>;

fn link(g: u16, n: u16, seq: u32, at_ms: i64) -> KeyLink {
    KeyLink {
        seq,
        gemeente: gid(g),
        signing_key: format!("signing-key-{n}"),
        recipient_id: RecipientKeyId(id(g, 0x800 + n)),
        recipient: format!("age1recipient{n}"),
        valid_from: Timestamp::from_millisecond(at_ms).expect("time"),
        valid_until: Timestamp::from_millisecond(at_ms + 86_400_000).expect("time"),
        signature: format!("signature-{n}"),
    }
}

fn keys(tx: &Tx, g: GemeenteId) -> Result<String, DbError> {
    let keys: Vec<_> = store::meldpunt_keys::load(tx, g)?
        .into_iter()
        .map(|k| {
            (
                k.id,
                k.recipient,
                k.wrapped,
                k.created_at,
                k.retired_at,
                k.signing_seed,
                k.link,
            )
        })
        .collect();
    Ok(format!("{keys:?}"))
}

/// The meldpunt's work on gemeente A, in a realistic order, through the store functions of
/// these modules (and the audit chain on top of them).
fn scenario(tx: &Tx) -> Result<Outcome, DbError> {
    let g = gid(A);
    let mut out = Vec::new();
    let mut note = |step: &str, answer: String| out.push(format!("{step}: {answer}"));

    // The phone's configuration.
    use store::config;
    note("gemeente", format!("{:?}", config::gemeente(tx, g)?));
    note("version", format!("{:?}", config::config_version(tx, g)?));
    config::bump_config_version(tx, g)?;
    note(
        "version bumped",
        format!("{:?}", config::config_version(tx, g)?),
    );
    note(
        "norms are Rotterdam's",
        format!("{:?}", config::norms(tx, g)? == Some(NormSet::rotterdam())),
    );
    note("area rules", format!("{:?}", config::area_rules(tx, g)?));
    note("wijken", format!("{:?}", config::wijken(tx, g)?));
    note("places", format!("{:?}", config::places(tx, g)?));
    note(
        "policy unset",
        format!("{:?}", config::phone_policy(tx, g)?),
    );
    config::set_phone_policy(tx, g, 30, 5, NOW_MS)?;
    note("policy", format!("{:?}", config::phone_policy(tx, g)?));
    config::set_phone_policy(tx, g, 365, 0, NOW_MS + 1)?;
    note(
        "policy replaced",
        format!("{:?}", config::phone_policy(tx, g)?),
    );

    // The key chain: a legacy key, then a root, then a rotation.
    use store::meldpunt_keys as mk;
    note("keys", keys(tx, g)?);
    note("current legacy", format!("{:?}", mk::current(tx, g)?));
    let root = link(A, 1, 0, 10);
    mk::insert(
        tx,
        g,
        &mk::NewKey {
            id: &root.recipient_id,
            recipient: &root.recipient,
            wrapped: b"wrapped-1",
            created_at: 10,
            signing_seed: b"seed-1",
            link: &root,
        },
    )?;
    note("current root", format!("{:?}", mk::current(tx, g)?));
    mk::set_identity(tx, g, &RecipientKeyId(id(A, 0x800)), b"rewrapped-legacy")?;
    mk::set_identity(tx, g, &root.recipient_id, b"rewrapped-1")?;
    mk::set_signing_seed(tx, g, &root.recipient_id, b"reseed-1")?;
    mk::retire_current(tx, g, 20)?;
    note("current none", format!("{:?}", mk::current(tx, g)?));
    let next = link(A, 2, 1, 21);
    mk::insert(
        tx,
        g,
        &mk::NewKey {
            id: &next.recipient_id,
            recipient: &next.recipient,
            wrapped: b"wrapped-2",
            created_at: 21,
            signing_seed: b"seed-2",
            link: &next,
        },
    )?;
    note("keys rotated", keys(tx, g)?);
    note("current rotated", format!("{:?}", mk::current(tx, g)?));

    // The inbox.
    use store::care_forms as cf;
    let rows = |tx: &Tx| -> Result<String, DbError> {
        let mut rows = cf::rows(tx, g)?;
        rows.sort_by_key(|r| r.id);
        Ok(format!("{rows:?}"))
    };
    note("inbox", rows(tx)?);
    note("row 1", format!("{:?}", cf::row(tx, g, form(A, 1))?));
    note("row missing", format!("{:?}", cf::row(tx, g, form(A, 9))?));
    note("sealed 1", format!("{:?}", cf::sealed(tx, g, form(A, 1))?));
    note(
        "sealed missing",
        format!("{:?}", cf::sealed(tx, g, form(A, 9))?),
    );
    let pending = |tx: &Tx| -> Result<String, DbError> {
        let p: Vec<_> = cf::without_pseudonym(tx, g)?
            .into_iter()
            .map(|p| (p.id, p.key, p.sealed))
            .collect();
        Ok(format!("{p:?}"))
    };
    note("pending", pending(tx)?);
    for (n, pseudonym) in [
        (1, &b"child"[..]),
        (2, &b"child"[..]),
        (5, &b"child"[..]),
        (4, &b""[..]),
    ] {
        let changed = cf::set_pseudonym(tx, g, form(A, n), pseudonym)?;
        note(&format!("pseudonym {n}"), format!("{changed}"));
    }
    note(
        "pseudonym again",
        format!("{}", cf::set_pseudonym(tx, g, form(A, 1), b"other")?),
    );
    note("pending after", pending(tx)?);
    note("inbox matched", rows(tx)?);
    for n in [1, 2, 5, 4, 3] {
        note(
            &format!("later {n}"),
            format!("{:?}", cf::later(tx, g, form(A, n))?),
        );
    }
    let visit = Timestamp::from_millisecond(NOW_MS + 86_400_000).expect("time");
    cf::set_care(tx, g, form(A, 1), Some(KnownTo::Wijkteam), Some(visit))?;
    cf::set_care(tx, g, form(A, 2), None, None)?;
    let first = cf::next_feedback_seq(tx)?;
    let second = cf::next_feedback_seq(tx)?;
    note("feedback seqs", format!("{first} {second}"));
    cf::set_feedback(
        tx,
        g,
        form(A, 1),
        &CareStatus::VisitPlanned,
        Some("We gaan langs"),
        NOW_MS,
        second,
    )?;
    note(
        "row 1 handled",
        format!("{:?}", cf::row(tx, g, form(A, 1))?),
    );
    note(
        "open old",
        format!("{:?}", cf::open_changed_before(tx, g, FORM_CUTOFF_MS)?),
    );
    note(
        "hold 2",
        format!("{}", cf::set_held(tx, g, form(A, 2), true)?),
    );
    note(
        "hold closed 3",
        format!("{}", cf::set_held(tx, g, form(A, 3), true)?),
    );
    note(
        "open old held",
        format!("{:?}", cf::open_changed_before(tx, g, FORM_CUTOFF_MS)?),
    );
    note(
        "open unheld",
        format!(
            "{:?}",
            cf::open_unheld_changed_before(tx, g, FORM_CUTOFF_MS)?
        ),
    );
    cf::delete(tx, form(A, 5))?;
    note("inbox after delete", rows(tx)?);

    // The audit chain.
    note(
        "audit head empty",
        format!("{:?}", store::audit::head(tx, g)?),
    );
    let actor = Actor::system();
    for (n, action) in [(1, Action::Open), (2, Action::Update), (3, Action::Export)] {
        let seq = audit::record(
            tx,
            &Event {
                gemeente: g,
                actor: &actor,
                action,
                form: Some(form(A, 1)),
                address: Some("192.0.2.7".parse().expect("address")),
                detail: format!("stap {n}"),
            },
            NOW_MS + n,
        )?;
        note(&format!("audit seq {n}"), format!("{seq}"));
    }
    note("audit head", format!("{:?}", store::audit::head(tx, g)?));
    note("audit page", format!("{:?}", audit::list(tx, g, None, 2)?));
    note(
        "audit page before 2",
        format!("{:?}", audit::list(tx, g, Some(2), 10)?),
    );
    note("audit verify", format!("{:?}", audit::verify(tx, g)?));
    let mut chain = Vec::new();
    store::audit::each_in_chain(tx, g, |r| chain.push(format!("{r:?}")))?;
    note("audit chain", chain.join("; "));

    // Retention.
    use store::retention as rt;
    note("periods unset", format!("{:?}", rt::periods(tx, g)?));
    let periods = Periods {
        care_form_months: 12,
        contact_months: 24,
        open_form_warn_months: 6,
        open_form_months: 18,
    };
    rt::set_periods(tx, g, &periods, NOW_MS)?;
    note("periods", format!("{:?}", rt::periods(tx, g)?));
    rt::set_periods(
        tx,
        g,
        &Periods {
            contact_months: 36,
            ..periods
        },
        NOW_MS + 1,
    )?;
    note("periods replaced", format!("{:?}", rt::periods(tx, g)?));
    note(
        "closed forms deleted",
        format!("{}", rt::delete_closed_care_forms(tx, g, FORM_CUTOFF_MS)?),
    );
    note(
        "archive rows",
        format!("{}", rt::archive_contacts(tx, g, CONTACT_CUTOFF_S)?),
    );
    note(
        "corrections deleted",
        format!(
            "{}",
            rt::delete_corrections_before(tx, g, CONTACT_CUTOFF_S)?
        ),
    );
    note(
        "contacts deleted",
        format!("{}", rt::delete_contacts_before(tx, g, CONTACT_CUTOFF_S)?),
    );
    note(
        "rounds deleted",
        format!(
            "{}",
            rt::delete_empty_rounds_before(tx, g, CONTACT_CUTOFF_S)?
        ),
    );
    Ok(out)
}

/// What is left in the database afterwards (both gemeenten), as text rows, sorted. The
/// same SQL on both backends.
const LEFT: &[&str] = &[
    "SELECT 'contact ' || id FROM contact",
    "SELECT 'round ' || id FROM round",
    "SELECT 'correction ' || id FROM correction",
    "SELECT 'form ' || id || ' ' || status || ' held ' || CAST(held AS TEXT) || ' fb '
        || CAST(feedback_seq AS TEXT) || ' ' || COALESCE(message, '-') || ' '
        || COALESCE(known_to, '-') || ' ' || COALESCE(CAST(visit_at AS TEXT), '-')
        || ' ' || CAST(updated_at AS TEXT) FROM care_form",
    "SELECT 'key ' || id || ' ' || COALESCE(CAST(retired_at AS TEXT), '-') FROM meldpunt_key",
    "SELECT 'version ' || id || ' ' || CAST(config_version AS TEXT) FROM gemeente",
    "SELECT 'policy ' || gemeente_id || ' ' || CAST(contact_retention_days AS TEXT) || ' '
        || CAST(lock_after_minutes AS TEXT) FROM phone_policy",
    "SELECT 'audit ' || gemeente_id || ' ' || CAST(seq AS TEXT) FROM audit_log",
    "SELECT 'archive ' || gemeente_id || ' ' || wijk_id || ' ' || CAST(hour_at AS TEXT) || ' '
        || COALESCE(CAST(cell_r9 AS TEXT), '-') || ' ' || COALESCE(CAST(cell_r10 AS TEXT), '-')
        || ' ' || CAST(n_0_5 AS TEXT) || CAST(n_6_9 AS TEXT) || CAST(n_10_11 AS TEXT)
        || CAST(n_12_13 AS TEXT) || CAST(n_14p AS TEXT) || ' ' || CAST(brought_home AS TEXT)
        || ' ' || behaviours || ' ' || CAST(past_norm AS TEXT) || ' '
        || CAST(contacts AS TEXT) || ' ' || CAST(key_sum AS TEXT) FROM contact_archive",
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The scenario on SQLite: its answers and what is left.
fn on_sqlite() -> (Outcome, Vec<String>) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("store.sqlite");
    let store = Store::open(&path).expect("sqlite store");
    let conn = rusqlite::Connection::open(&path).expect("seed connection");
    for g in [A, B] {
        conn.execute_batch(&seed_sql(g, false))
            .expect("seed sqlite");
    }
    let outcome = runtime()
        .block_on(store.write(gid(A), scenario))
        .expect("scenario on sqlite");
    let mut left = Vec::new();
    for sql in LEFT {
        let mut stmt = conn.prepare(sql).expect("left");
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .expect("left rows");
        left.extend(rows.map(|r| r.expect("left row")));
    }
    left.push(format!(
        "counter {}",
        conn.query_row(
            "SELECT value FROM counter WHERE name = 'feedback'",
            [],
            |r| { r.get::<_, i64>(0) }
        )
        .expect("counter")
    ));
    left.sort();
    (outcome, left)
}

/// A migrated cluster with both gemeenten seeded, and the application's store on it.
struct Pg {
    cluster: PgCluster,
    admin: postgres::Client,
    store: Store,
}

/// The database the PostgreSQL tests use: its text sorts the Dutch way (ICU `nl-NL`, as a
/// real installation might be set up), not by bytes, so a query that leaves the order of
/// text to the database's collation answers differently from SQLite here.
const DB: &str = "meldpunt";

fn pg_seeded() -> Pg {
    let cluster = PgCluster::start();
    postgres::Client::connect(&cluster.admin_url("postgres"), postgres::NoTls)
        .expect("su")
        .batch_execute(&format!(
            "CREATE DATABASE {DB} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'
             LOCALE_PROVIDER icu ICU_LOCALE 'nl-NL'"
        ))
        .expect("a database with Dutch collation");
    let mut owner = PgAdmin::connect(&cluster.admin_url(DB)).expect("admin");
    owner.ensure_roles(None).expect("roles");
    owner.migrate().expect("migrate");
    owner
        .ensure_contact_partitions(date(2026, 1, 1), 3)
        .expect("partitions");
    let mut admin = postgres::Client::connect(&cluster.admin_url(DB), postgres::NoTls).expect("su");
    for g in [A, B] {
        admin.batch_execute(&seed_sql(g, true)).expect("seed pg");
    }
    let store = Store::connect(&cluster.url(APP_ROLE, DB)).expect("app store");
    Pg {
        cluster,
        admin,
        store,
    }
}

/// What is left on PostgreSQL, as [`on_sqlite`] lists it (the feedback counter is A's).
fn pg_left(admin: &mut postgres::Client) -> Vec<String> {
    let mut left = Vec::new();
    for sql in LEFT {
        for r in admin.query(*sql, &[]).expect("left") {
            left.push(r.get::<_, String>(0));
        }
    }
    let counter: i64 = admin
        .query_one(
            "SELECT value FROM counter WHERE name = 'feedback' AND gemeente_id = $1",
            &[&id(A, 0)],
        )
        .expect("counter")
        .get(0);
    left.push(format!("counter {counter}"));
    left.sort();
    left
}

#[test]
fn the_meldpunt_scenario_answers_the_same_and_leaves_the_same_rows_on_sqlite_and_postgresql() {
    let (lite, lite_left) = on_sqlite();
    let mut pg = pg_seeded();
    let outcome = runtime()
        .block_on(pg.store.write(gid(A), scenario))
        .expect("scenario on postgresql");
    assert_eq!(lite.len(), outcome.len());
    for (l, p) in lite.iter().zip(&outcome) {
        assert_eq!(l, p, "SQLite and PostgreSQL answer this step differently");
    }
    let left = pg_left(&mut pg.admin);
    assert_eq!(lite_left, left, "different rows left behind");

    // The scenario did something worth comparing: the answers a wrong arm would change.
    let has = |prefix: &str, answer: &str| {
        lite.iter()
            .any(|l| l.starts_with(prefix) && l.ends_with(answer))
    };
    assert!(has("feedback seqs", "1 2"));
    assert!(has("archive rows", ": 3"), "{lite:?}");
    assert!(has("contacts deleted", ": 4"));
    assert!(has("rounds deleted", ": 1"));
    assert!(has("closed forms deleted", ": 1"));
    assert!(has("pseudonym again", ": 0"));
    assert!(has("hold closed 3", ": 0"));
    assert!(
        lite.iter()
            .any(|l| l.starts_with("audit verify") && l.contains("broken_at: None"))
    );
    // Keys of contacts 1 and 2 add up to 2³³ − 2: stored mod 2³² as 2³² − 2.
    assert!(
        lite_left
            .iter()
            .any(|l| l.contains("[\"roken\"]") && l.ends_with(" 2 4294967294")),
        "{lite_left:?}"
    );
    // Places in byte order, as SQLite orders text.
    let places = lite
        .iter()
        .find(|l| l.starts_with("places"))
        .expect("places");
    let (z, p, a) = (
        places.find("Zuidplein").expect("Zuidplein"),
        places.find("\"plein\"").expect("plein"),
        places.find("Ábrahamhof").expect("Ábrahamhof"),
    );
    assert!(z < p && p < a, "{places}");
    // B was not touched: its contacts, rounds, forms and counter are all still there.
    assert!(
        left.iter()
            .any(|l| l == &format!("contact {}", id(B, 0x901)))
    );
    assert_eq!(
        left.iter()
            .filter(|l| l.starts_with(&format!("form 00000000-0000-7000-8000-{B:04x}")))
            .count(),
        5
    );
    drop(pg.cluster);
}

/// Everything gemeente A's rows answer through these modules, asked for in a transaction.
fn a_as_seen(tx: &Tx) -> Result<Vec<String>, DbError> {
    let g = gid(A);
    Ok(vec![
        format!("{:?}", store::care_forms::rows(tx, g)?),
        format!("{:?}", store::care_forms::row(tx, g, form(A, 1))?),
        format!("{:?}", store::care_forms::sealed(tx, g, form(A, 1))?),
        format!("{:?}", store::care_forms::later(tx, g, form(A, 1))?),
        format!("{}", store::care_forms::without_pseudonym(tx, g)?.len()),
        format!(
            "{:?}",
            store::care_forms::open_changed_before(tx, g, i64::MAX)?
        ),
        format!(
            "{:?}",
            store::care_forms::open_unheld_changed_before(tx, g, i64::MAX)?
        ),
        keys(tx, g)?,
        format!("{:?}", store::meldpunt_keys::current(tx, g)?),
        format!("{:?}", store::audit::page(tx, g, i64::MAX, 100)?),
        format!("{:?}", audit::verify(tx, g)?),
        format!("{:?}", store::config::gemeente(tx, g)?),
        format!("{:?}", store::config::config_version(tx, g)?),
        format!("{:?}", store::config::norms(tx, g)?.is_some()),
        format!("{:?}", store::config::area_rules(tx, g)?),
        format!("{:?}", store::config::wijken(tx, g)?),
        format!("{:?}", store::config::places(tx, g)?),
        format!("{:?}", store::config::phone_policy(tx, g)?),
        format!("{:?}", store::retention::periods(tx, g)?),
    ])
}

#[test]
fn a_transaction_of_gemeente_b_sees_and_changes_none_of_gemeente_a_s_forms_keys_audit_rows_config_or_contacts()
 {
    let mut pg = pg_seeded();
    let rt = runtime();
    // Give A an audit row, a phone policy and retention periods, so that there is
    // something of each to see.
    rt.block_on(pg.store.write(gid(A), |tx| {
        let actor = Actor::system();
        audit::record(
            tx,
            &Event {
                gemeente: gid(A),
                actor: &actor,
                action: Action::Open,
                form: Some(form(A, 1)),
                address: None,
                detail: String::new(),
            },
            NOW_MS,
        )?;
        store::config::set_phone_policy(tx, gid(A), 30, 5, NOW_MS)?;
        store::care_forms::set_pseudonym(tx, gid(A), form(A, 1), b"p")?;
        store::care_forms::set_pseudonym(tx, gid(A), form(A, 5), b"p")?;
        store::retention::set_periods(tx, gid(A), &Periods::default(), NOW_MS)
    }))
    .expect("A's own rows");
    let own = rt
        .block_on(pg.store.read(gid(A), a_as_seen))
        .expect("A sees A");
    let before = pg_left(&mut pg.admin);

    // Asked in B's transaction, A has nothing.
    let seen_from_b = rt
        .block_on(pg.store.read(gid(B), a_as_seen))
        .expect("B asks");
    let nothing = [
        "[]",
        "None",
        "None",
        "[]",
        "0",
        "[]",
        "[]",
        "[]",
        "None",
        "[]",
        "Verification { rows: 0, broken_at: None, head: None }",
        "None",
        "None",
        "false",
        "[]",
        "[]",
        "[]",
        "None",
        "None",
    ];
    assert_eq!(seen_from_b, nothing, "B's transaction sees A's rows");
    // Not vacuous: A's own transaction sees every one of them.
    for (i, (mine, theirs)) in own.iter().zip(nothing).enumerate() {
        assert_ne!(mine, theirs, "A sees nothing at question {i}");
    }

    // Changes to A's rows from B's transaction change nothing.
    let changed = rt
        .block_on(pg.store.write(gid(B), |tx| {
            let g = gid(A);
            use store::care_forms as cf;
            use store::retention as ret;
            let counts = vec![
                cf::set_pseudonym(tx, g, form(A, 2), b"x")?,
                cf::set_held(tx, g, form(A, 1), true)?,
                ret::delete_closed_care_forms(tx, g, i64::MAX)?,
                ret::archive_contacts(tx, g, i64::MAX)?,
                ret::delete_corrections_before(tx, g, i64::MAX)?,
                ret::delete_contacts_before(tx, g, i64::MAX)?,
                ret::delete_empty_rounds_before(tx, g, i64::MAX)?,
            ];
            cf::set_care(tx, g, form(A, 1), Some(KnownTo::Bjz), None)?;
            cf::set_feedback(
                tx,
                g,
                form(A, 1),
                &CareStatus::Closed,
                Some("x"),
                NOW_MS,
                99,
            )?;
            cf::delete(tx, form(A, 2))?;
            store::meldpunt_keys::set_identity(tx, g, &RecipientKeyId(id(A, 0x800)), b"x")?;
            store::meldpunt_keys::set_signing_seed(tx, g, &RecipientKeyId(id(A, 0x800)), b"x")?;
            store::meldpunt_keys::retire_current(tx, g, NOW_MS)?;
            store::config::bump_config_version(tx, g)?;
            // B's feedback counter is B's own.
            let seq = cf::next_feedback_seq(tx)?;
            Ok((counts, seq))
        }))
        .expect("B's writes");
    assert_eq!(changed, (vec![0; 7], 1));
    let mut after = pg_left(&mut pg.admin);
    assert_eq!(before, after, "B's transaction changed A's rows");

    // Adding rows for A from B's transaction is refused, and nothing is kept.
    let root = link(A, 1, 0, 10);
    let attempts: Vec<(&str, Attempt)> = vec![
        (
            "phone policy",
            Box::new(|tx: &Tx| store::config::set_phone_policy(tx, gid(A), 1, 1, NOW_MS)),
        ),
        (
            "retention",
            Box::new(|tx: &Tx| {
                store::retention::set_periods(tx, gid(A), &Periods::default(), NOW_MS)
            }),
        ),
        (
            "key",
            Box::new(move |tx: &Tx| {
                store::meldpunt_keys::insert(
                    tx,
                    gid(A),
                    &store::meldpunt_keys::NewKey {
                        id: &root.recipient_id,
                        recipient: &root.recipient,
                        wrapped: b"w",
                        created_at: 10,
                        signing_seed: b"s",
                        link: &root,
                    },
                )
            }),
        ),
        (
            "audit row",
            Box::new(|tx: &Tx| {
                store::audit::append(
                    tx,
                    &store::audit::NewRow {
                        gemeente: gid(A),
                        at: NOW_MS,
                        actor_id: None,
                        actor_name: "x",
                        actor_role: "system",
                        action: "open",
                        form: None,
                        address: None,
                        detail: "",
                        prev_hash: b"forged",
                        hash: b"forged",
                    },
                )
                .map(|_| ())
            }),
        ),
    ];
    for (what, attempt) in attempts {
        let result = rt.block_on(pg.store.write(gid(B), attempt));
        assert!(result.is_err(), "B wrote A's {what}");
    }
    after = pg_left(&mut pg.admin);
    assert_eq!(before, after, "a refused write of B left a row of A");
    drop(pg.cluster);
}

#[test]
fn two_transactions_appending_to_one_audit_chain_at_once_queue_and_the_chain_stays_one_line() {
    let pg = pg_seeded();
    let rt = runtime();
    let store = pg.store.clone();
    // The first transaction reads the head (taking the chain) and waits before appending;
    // the second starts meanwhile and must not read the same head.
    let started = Arc::new(Barrier::new(2));
    let first = {
        let (store, started) = (store.clone(), started.clone());
        std::thread::spawn(move || {
            runtime().block_on(store.write(gid(A), move |tx| {
                let prev = store::audit::head(tx, gid(A))?.unwrap_or_else(|| b"genesis".to_vec());
                started.wait();
                std::thread::sleep(std::time::Duration::from_millis(500));
                store::audit::append(tx, &row(&prev, b"first"))
            }))
        })
    };
    started.wait();
    let second = rt.block_on(store.write(gid(A), |tx| {
        let prev = store::audit::head(tx, gid(A))?.unwrap_or_else(|| b"genesis".to_vec());
        store::audit::append(tx, &row(&prev, b"second"))
    }));
    let first = first.join().expect("first thread");
    assert!(first.is_ok(), "first append: {first:?}");
    assert!(second.is_ok(), "second append: {second:?}");

    let chain = rt
        .block_on(store.read(gid(A), |tx| {
            let mut chain = Vec::new();
            store::audit::each_in_chain(tx, gid(A), |r| chain.push((r.prev_hash, r.hash)))?;
            Ok(chain)
        }))
        .expect("chain");
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0], (b"genesis".to_vec(), b"first".to_vec()));
    assert_eq!(
        chain[1],
        (b"first".to_vec(), b"second".to_vec()),
        "the second forked"
    );

    // A row that follows a hash another row already follows is refused.
    let fork = rt.block_on(store.write(gid(A), |tx| {
        store::audit::append(tx, &row(b"genesis", b"fork"))
    }));
    assert!(fork.is_err(), "a fork was kept");
    drop(pg.cluster);
}

fn row<'a>(prev: &'a [u8], hash: &'a [u8]) -> store::audit::NewRow<'a> {
    store::audit::NewRow {
        gemeente: gid(A),
        at: NOW_MS,
        actor_id: None,
        actor_name: "systeem",
        actor_role: "system",
        action: "open",
        form: None,
        address: None,
        detail: "",
        prev_hash: prev,
        hash,
    }
}

//! The push path's store functions on both backends (issue 13): `store::sync` (the ledger,
//! rounds, contacts, corrections, care forms, feedback), `store::devices` (enrolment,
//! token look-up, the phone's reports, revocation) and `store::hotspot` (the ledger head,
//! the "since seq" reads, the coordinator scope, the disclosure settings).
//!
//! One scenario runs the functions in the order a phone's enrolment, two pushes and the
//! hotspot map's catch-up run them, on SQLite and on PostgreSQL (a throwaway cluster,
//! tests/common/pg.rs, as the application role under row-level security), and the two
//! answers must be equal. Then the attacker's questions: a transaction of gemeente B sees
//! none of gemeente A's rounds, contacts, ledger or phones through these functions, and
//! claims in one gemeente are numbered in commit order (the ledger lock).

#[path = "common/pg.rs"]
mod pg;

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use avondronde_server::db::{DbError, open_connection};
use avondronde_server::hotspot::index::RawContact;
use avondronde_server::ingest::{Derived, UnknownWijkRound};
use avondronde_server::store::postgres::{APP_ROLE, PgAdmin};
use avondronde_server::store::sync::{
    FeedbackRow, LedgerEntry, NewCareForm, NewContact, claim_item,
};
use avondronde_server::store::{RouteKind, Scope, Store, Tx, devices, hotspot, sync};
use avondronde_shared::care::{CareFormEnvelope, RecipientKeyId};
use avondronde_shared::contact::{
    Action, AgeBand, Behaviour, ContactFacts, GroupCounts, Location, StreetContact,
};
use avondronde_shared::disclosure::PtableParams;
use avondronde_shared::round::Round;
use avondronde_shared::sync::ItemKind;
use avondronde_shared::{
    CareFormId, ContactId, CorrectionId, DeviceId, GemeenteId, Role, RoundId, UserId, WijkId,
};
use jiff::Timestamp;
use pg::PgCluster;

/// A fixed id (the same on both backends, so the answers compare).
fn id<T: FromStr>(n: u32) -> T
where
    T::Err: std::fmt::Debug,
{
    T::from_str(&format!("00000000-0000-7000-8000-{n:012}")).expect("uuid")
}

/// The rows of one gemeente that the scenario's set-up writes directly (gemeente, users,
/// wijken): other modules own them.
#[derive(Clone, Copy)]
struct Tenant {
    n: u32,
    gemeente: GemeenteId,
    field_user: UserId,
    coordinator: UserId,
    wijk1: WijkId,
    wijk2: WijkId,
}

impl Tenant {
    fn new(n: u32) -> Tenant {
        Tenant {
            n,
            gemeente: id(n * 100 + 1),
            field_user: id(n * 100 + 2),
            coordinator: id(n * 100 + 3),
            wijk1: id(n * 100 + 4),
            wijk2: id(n * 100 + 5),
        }
    }

    fn username(&self, who: &str) -> String {
        format!("{who}-{}", self.n)
    }

    /// SQL for SQLite (`gemeente_id` only where SQLite has it) or PostgreSQL.
    fn setup_sql(&self, postgres: bool) -> String {
        let Tenant {
            n,
            gemeente: g,
            field_user,
            coordinator,
            wijk1,
            wijk2,
        } = *self;
        let (user, counter) = if postgres {
            (
                "\"user\"",
                format!(
                    "INSERT INTO counter (gemeente_id, name, value) VALUES ('{g}', 'feedback', 0);"
                ),
            )
        } else {
            ("user", String::new())
        };
        let field = Role::Straatcoach.code();
        let coord = Role::Coordinator.code();
        let (fu, cu) = (self.username("veld"), self.username("coord"));
        format!(
            "INSERT INTO gemeente (id, name, code, norms) VALUES ('{g}', 'G{n}', 'GM{n:04}', '{{}}');
             {counter}
             INSERT INTO {user} (id, gemeente_id, username, role, created_at)
                 VALUES ('{field_user}', '{g}', '{fu}', '{field}', 0),
                        ('{coordinator}', '{g}', '{cu}', '{coord}', 0);
             INSERT INTO wijk (id, gemeente_id, code, name, boundary)
                 VALUES ('{wijk2}', '{g}', 'WK{n:04}02', 'Noord', '{{}}'),
                        ('{wijk1}', '{g}', 'WK{n:04}01', 'Zuid', '{{}}');"
        )
    }
}

/// A fresh SQLite store with the tenant set up.
fn sqlite_store(dir: &Path, t: &Tenant) -> Store {
    let path = dir.join("avondronde.db");
    let conn = open_connection(&path).expect("sqlite");
    conn.execute_batch(&t.setup_sql(false)).expect("set-up");
    drop(conn);
    Store::open(&path).expect("store")
}

/// A migrated cluster with the tenants set up (as the superuser), and the application's
/// store (as `avondronde_app`, under row-level security).
///
/// The synchronous PostgreSQL client blocks (also when a connection is dropped), which a
/// runtime's worker may not: the tests make and drop their stores outside the runtime and
/// run only the async part in it ([`runtime`]).
fn postgres_store(tenants: &[Tenant]) -> (PgCluster, Store) {
    let cluster = PgCluster::start();
    let mut admin = PgAdmin::connect(&cluster.admin_url("postgres")).expect("admin");
    admin.ensure_roles(None).expect("roles");
    admin.migrate().expect("migrate");
    let mut su = postgres::Client::connect(&cluster.admin_url("postgres"), postgres::NoTls)
        .expect("superuser");
    for t in tenants {
        su.batch_execute(&t.setup_sql(true)).expect("set-up");
    }
    let store = Store::connect(&cluster.url(APP_ROLE, "postgres")).expect("app store");
    (cluster, store)
}

/// The runtime the async part of a test runs in.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

const TOKEN: &[u8] = b"token-hash-of-the-phone-000000000";
const CODE: &[u8] = b"enrolment-code-hash-0000000000000";
const NOW: i64 = 1_767_700_000_000;

fn facts(observed_s: i64, lat: f64, kids: u16, behaviours: Vec<Behaviour>) -> ContactFacts {
    ContactFacts {
        observed_at: Timestamp::from_second(observed_s).expect("time"),
        utc_offset_s: 3600,
        location: Location::gps(lat, 5.1, 12.5, 3),
        group: GroupCounts {
            age12_13: kids,
            ..GroupCounts::default()
        },
        supervised: false,
        behaviours,
        actions: vec![Action::Spoken],
        brought_home: 1,
    }
}

fn derived(wijk: Option<WijkId>, past_norm: bool) -> Derived {
    Derived {
        wijk,
        past_norm,
        cell_r9: Some(0x8919_6953_0000_0000 | 0x0fff),
        cell_r10: Some(0x8a19_6953_0000_0fff),
    }
}

/// Everything the scenario's store functions answered.
#[derive(Debug, PartialEq)]
struct Outcome {
    enrolment: Option<(UserId, i64, Option<i64>)>,
    enrolment_used: Option<(UserId, i64, Option<i64>)>,
    device_role: (String, GemeenteId),
    token: Option<(DeviceId, UserId, GemeenteId, Role, bool)>,
    push1_seqs: Vec<Option<i64>>,
    own_round_wijk: Vec<Option<Option<WijkId>>>,
    own_contact_wijk: Vec<Option<Option<WijkId>>>,
    push2: Vec<String>,
    duplicate: Option<i64>,
    duplicate_entry: LedgerEntry,
    head: i64,
    new_contacts_all: Vec<RawContact>,
    new_contacts_after_first: Vec<RawContact>,
    corrected: Vec<(RawContact, bool)>,
    corrected_wijk2: Vec<(RawContact, bool)>,
    contacts_of_wijk1: Vec<RawContact>,
    contacts_of_wijk2: Vec<RawContact>,
    feedback: Vec<FeedbackRow>,
    feedback_after: Vec<FeedbackRow>,
    unknown_wijk: Vec<UnknownWijkRound>,
    phones: Vec<devices::DeviceListRow>,
    key_refused: Option<String>,
    active: Option<GemeenteId>,
    assignment: (BTreeSet<WijkId>, BTreeSet<WijkId>, usize),
    user_by_name: Option<(UserId, GemeenteId, String)>,
    wijk_by_code: Option<WijkId>,
    wijk_codes: Vec<String>,
    disclosure: (Option<PtableParams>, Option<PtableParams>),
    revocation: (bool, bool, usize, Option<GemeenteId>, bool),
}

fn sorted(mut v: Vec<RawContact>) -> Vec<RawContact> {
    v.sort_by_key(|r| r.seq);
    v
}

/// Claims an item as ingest does: `Some(seq)` when new.
fn claim(
    tx: &Tx,
    kind: ItemKind,
    id: &impl ToString,
    device: DeviceId,
    hash: u8,
) -> Result<Option<i64>, DbError> {
    claim_item(tx, &kind, &id.to_string(), device, &[hash; 32], NOW)
}

/// The ids of one tenant's phone and its items.
#[derive(Clone, Copy)]
struct Items {
    device: DeviceId,
    round1: RoundId,
    round2: RoundId,
    contact1: ContactId,
    contact2: ContactId,
    contact3: ContactId,
    correction: CorrectionId,
    form: CareFormId,
}

impl Items {
    fn of(t: &Tenant) -> Items {
        let b = t.n * 100 + 50;
        Items {
            device: id(b),
            round1: id(b + 1),
            round2: id(b + 2),
            contact1: id(b + 3),
            contact2: id(b + 4),
            contact3: id(b + 5),
            correction: id(b + 6),
            form: id(b + 7),
        }
    }
}

/// A phone enrolled and two pushes, as ingest writes them, then the reads of a pull, the
/// hotspot index and the admin's pages. Returns what every function answered.
async fn scenario(store: &Store, t: Tenant) -> Outcome {
    let g = t.gemeente;
    let it = Items::of(&t);
    let device = it.device;
    let user = t.field_user;

    // Enrolment: a code for the field worker, then the phone with its token.
    let (enrolment, enrolment_used, device_role) = store
        .write(g, move |tx| {
            devices::insert_enrolment_code(tx, CODE, user, NOW, NOW + 60_000)?;
            let enrolment =
                devices::enrolment_code(tx, CODE)?.map(|c| (c.user, c.expires_at, c.used_at));
            devices::insert(tx, device, user, TOKEN, "telefoon", NOW)?;
            devices::use_enrolment_code(tx, CODE, NOW + 1, device)?;
            let used =
                devices::enrolment_code(tx, CODE)?.map(|c| (c.user, c.expires_at, c.used_at));
            Ok((enrolment, used, sync::device_role(tx, device)?))
        })
        .await
        .expect("enrolment");

    // The token look-up, as the server's authentication runs it (routed by the hash).
    let token = store
        .read(Scope::Route(RouteKind::DeviceToken, TOKEN.to_vec()), |tx| {
            Ok(devices::by_token_hash(tx, TOKEN)?
                .map(|r| (r.id, r.user, r.gemeente, r.role, r.revoked)))
        })
        .await
        .expect("token");

    // Push 1: two rounds (one in a wijk the server does not know) and three contacts.
    let (w1, w2) = (t.wijk1, t.wijk2);
    let (push1_seqs, own_round_wijk, own_contact_wijk) = store
        .write(g, move |tx| {
            sync::record_seen(tx, device, NOW, -1500)?;
            let mut seqs = Vec::new();
            let round1 = Round {
                id: it.round1,
                wijk: w1,
                partner: Some("collega".into()),
                started_at: Timestamp::from_second(1_767_690_000).expect("time"),
            };
            seqs.push(claim(tx, ItemKind::Round, &round1.id, device, 1)?);
            assert!(sync::wijk_in_gemeente(tx, w1, g)?);
            sync::insert_round(tx, &round1, device, user, Some(w1), None)?;
            let unknown: WijkId = id(999_999);
            let round2 = Round {
                id: it.round2,
                wijk: unknown,
                partner: None,
                started_at: Timestamp::from_second(1_767_690_500).expect("time"),
            };
            seqs.push(claim(tx, ItemKind::Round, &round2.id, device, 2)?);
            let known = sync::wijk_in_gemeente(tx, unknown, g)?;
            sync::insert_round(tx, &round2, device, user, None, (!known).then_some(unknown))?;
            let rounds = vec![
                sync::own_round_wijk(tx, it.round1, device)?,
                sync::own_round_wijk(tx, it.round2, device)?,
                sync::own_round_wijk(tx, id(888_888), device)?,
            ];
            let contacts = [
                (
                    it.contact1,
                    it.round1,
                    52.01,
                    3,
                    derived(Some(w1), true),
                    Some(w1),
                ),
                (
                    it.contact2,
                    it.round1,
                    52.02,
                    1,
                    derived(None, false),
                    Some(w1),
                ),
                (
                    it.contact3,
                    it.round2,
                    52.03,
                    2,
                    derived(Some(w2), false),
                    Some(w2),
                ),
            ];
            for (i, (cid, round, lat, kids, d, wijk)) in contacts.into_iter().enumerate() {
                let contact = StreetContact {
                    id: cid,
                    round,
                    facts: facts(
                        1_767_690_600 + i as i64,
                        lat,
                        kids,
                        vec![Behaviour::Nuisance, Behaviour::HangingAround],
                    ),
                };
                let seq = claim(tx, ItemKind::Contact, &cid, device, 10 + i as u8)?;
                seqs.push(seq);
                sync::insert_contact(
                    tx,
                    &NewContact {
                        contact: &contact,
                        derived: &d,
                        seq: seq.expect("new"),
                        device,
                        user,
                        gemeente: g,
                        wijk,
                        received_at: NOW,
                        skew_ms: -1500,
                        skew_flag: i == 2,
                        record_key: 1000 + i as i64,
                    },
                )?;
            }
            let contacts = vec![
                sync::own_contact_wijk(tx, it.contact1, device)?,
                sync::own_contact_wijk(tx, it.contact3, device)?,
                sync::own_contact_wijk(tx, id(777_777), device)?,
                // Another device's contact is not this one's.
                sync::own_contact_wijk(tx, it.contact1, id(1))?,
            ];
            Ok((seqs, rounds, contacts))
        })
        .await
        .expect("push 1");
    let first_contact_seq = push1_seqs[2].expect("contact 1 claimed");

    // Push 2: a correction moving contact 1 to wijk 2, a care form on it, a duplicate and a
    // conflict, a round end, and an item held back for a missing parent (released last:
    // SQLite may hand its number out again, PostgreSQL does not).
    let (push2, duplicate, duplicate_entry) = store
        .write(g, move |tx| {
            let mut log = Vec::new();
            let seq = claim(tx, ItemKind::Correction, &it.correction, device, 20)?
                .expect("new correction");
            let new_facts = facts(1_767_690_700, 52.05, 4, vec![Behaviour::Vandalism]);
            let corrected = sync::correct_contact(
                tx,
                it.contact1,
                device,
                seq,
                &new_facts,
                &derived(Some(w2), false),
                Some(w2),
            )?;
            log.push(format!("correction {seq} applied {corrected}"));
            sync::insert_correction(tx, it.correction, it.contact1, seq, &new_facts)?;
            // An older correction (lower seq) does not overwrite a newer one.
            let stale = sync::correct_contact(
                tx,
                it.contact1,
                device,
                seq - 1,
                &facts(1, 0.0, 9, vec![]),
                &derived(None, true),
                None,
            )?;
            log.push(format!("stale correction applied {stale}"));
            let unknown_contact: ContactId = id(666_666);
            log.push(format!(
                "correction of an unknown contact applied {} exists {}",
                sync::correct_contact(
                    tx,
                    unknown_contact,
                    device,
                    seq + 100,
                    &new_facts,
                    &derived(None, false),
                    None
                )?,
                sync::contact_exists(tx, unknown_contact)?
            ));

            let form_seq = claim(tx, ItemKind::CareForm, &it.form, device, 30)?.expect("new form");
            let wijk = sync::own_contact_wijk(tx, it.contact1, device)?.expect("own contact");
            let form = CareFormEnvelope {
                id: it.form,
                contact: it.contact1,
                created_at: Timestamp::from_second(1_767_690_800).expect("time"),
                age_band: AgeBand::Age12To13,
                recipient_key: RecipientKeyId("age1meldpunt".into()),
                sealed: vec![0, 1, 2, 255],
            };
            sync::insert_care_form(
                tx,
                &NewCareForm {
                    form: &form,
                    seq: form_seq,
                    device,
                    user,
                    gemeente: g,
                    wijk,
                    reporter_role: Role::Straatcoach.code(),
                    received_at: NOW + 5,
                    feedback_seq: 1,
                },
            )?;
            log.push(format!("form {form_seq} in {wijk:?}"));

            log.push(format!(
                "round 1 ended {}, unknown round ended {}",
                sync::end_round(tx, it.round1, device, 1_767_699_999)?,
                sync::end_round(tx, id(555_555), device, 1_767_699_999)?
            ));
            log.push(format!(
                "round exists {} {}",
                sync::round_exists(tx, it.round1)?,
                sync::round_exists(tx, id(555_555))?
            ));

            // The same contact again: the key is taken, and the first entry answers.
            let duplicate = claim(tx, ItemKind::Contact, &it.contact1, device, 99)?;
            let entry = sync::ledger_entry(tx, &ItemKind::Contact, &it.contact1.to_string(), g)?
                .expect("the first entry");

            // Held back: a contact of a round the server has not seen.
            let held: ContactId = id(444_444);
            let held_seq = claim(tx, ItemKind::Contact, &held, device, 40)?.expect("claimed");
            let parent = sync::own_round_wijk(tx, id(333_333), device)?;
            sync::release_item(tx, held_seq)?;
            log.push(format!("held {parent:?}, released"));
            Ok((log, duplicate, entry))
        })
        .await
        .expect("push 2");

    // The phone's own reports, the admin's page and the coordinator scope.
    let coordinator = t.coordinator;
    let coord_name = t.username("coord");
    let (phones, key_refused, active, assignment, user_by_name, wijk_by_code, wijk_codes) = store
        .write(g, move |tx| {
            devices::set_outbox(tx, device, 3, 1, NOW + 10)?;
            devices::set_key_refused(tx, device, "chain_broken", NOW + 11)?;
            hotspot::replace_assignment(tx, coordinator, &[w2], NOW)?;
            let first: BTreeSet<WijkId> = hotspot::assigned_wijken(tx, coordinator)?
                .into_iter()
                .collect();
            let added = hotspot::assign_all(tx, coordinator, NOW)?;
            let all: BTreeSet<WijkId> = hotspot::assigned_wijken(tx, coordinator)?
                .into_iter()
                .collect();
            Ok((
                devices::of_gemeente(tx, g)?,
                devices::key_refused(tx, device)?,
                devices::active_device_gemeente(tx, device)?,
                (first, all, added),
                hotspot::user_by_name(tx, &coord_name)?,
                hotspot::wijk_in_gemeente_by_code(tx, &format!("WK{:04}01", t.n), g)?,
                hotspot::wijk_codes_of_user(tx, &coord_name)?,
            ))
        })
        .await
        .expect("reports");

    let params = PtableParams {
        max_noise: 7,
        variance: 2.5,
        threshold: 15,
    };
    let disclosure = store
        .write(g, move |tx| {
            let before = hotspot::disclosure_params(tx, g)?;
            hotspot::set_disclosure_params(tx, g, &params, NOW)?;
            hotspot::set_disclosure_params(
                tx,
                g,
                &PtableParams {
                    threshold: 20,
                    ..params
                },
                NOW + 1,
            )?;
            Ok((before, hotspot::disclosure_params(tx, g)?))
        })
        .await
        .expect("disclosure");

    // The hotspot index's reads, and a pull's feedback, in one snapshot.
    let reads = store
        .read(g, move |tx| {
            let head = hotspot::ledger_head(tx)?;
            let mut all = Vec::new();
            hotspot::each_new_contact(tx, w1, 0, head, |r| all.push(r))?;
            hotspot::each_new_contact(tx, w2, 0, head, |r| all.push(r))?;
            let mut after = Vec::new();
            hotspot::each_new_contact(tx, w1, first_contact_seq, head, |r| after.push(r))?;
            let mut corrected = Vec::new();
            hotspot::each_corrected_contact(tx, w1, 0, head, |r, inside| {
                corrected.push((r, inside))
            })?;
            let mut corrected_wijk2 = Vec::new();
            hotspot::each_corrected_contact(tx, w2, 0, head, |r, inside| {
                corrected_wijk2.push((r, inside))
            })?;
            let mut of1 = Vec::new();
            hotspot::each_contact_of_wijk(tx, w1, |r| of1.push(r))?;
            let mut of2 = Vec::new();
            hotspot::each_contact_of_wijk(tx, w2, |r| of2.push(r))?;
            Ok((
                head,
                all,
                after,
                corrected,
                corrected_wijk2,
                sorted(of1),
                sorted(of2),
                sync::feedback_since(tx, device, 0)?,
                sync::feedback_since(tx, device, 1)?,
                sync::rounds_with_unknown_wijk(tx, g)?,
            ))
        })
        .await
        .expect("reads");

    // Revocation last.
    let revocation = store
        .write(g, move |tx| {
            let first = devices::revoke(tx, device, NOW + 20)?;
            let again = devices::revoke(tx, device, NOW + 21)?;
            let others = devices::revoke_all_of_user(tx, user, NOW + 22)?;
            let active = devices::active_device_gemeente(tx, device)?;
            let revoked = devices::by_token_hash(tx, TOKEN)?.is_some_and(|r| r.revoked);
            Ok((first, again, others, active, revoked))
        })
        .await
        .expect("revocation");

    Outcome {
        enrolment,
        enrolment_used,
        device_role,
        token,
        push1_seqs,
        own_round_wijk,
        own_contact_wijk,
        push2,
        duplicate,
        duplicate_entry,
        head: reads.0,
        new_contacts_all: reads.1,
        new_contacts_after_first: reads.2,
        corrected: reads.3,
        corrected_wijk2: reads.4,
        contacts_of_wijk1: reads.5,
        contacts_of_wijk2: reads.6,
        feedback: reads.7,
        feedback_after: reads.8,
        unknown_wijk: reads.9,
        phones,
        key_refused,
        active,
        assignment,
        user_by_name,
        wijk_by_code,
        wijk_codes,
        disclosure,
        revocation,
    }
}

#[test]
fn the_push_path_answers_the_same_on_sqlite_and_postgresql() {
    let t = Tenant::new(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let on_sqlite = rt.block_on(async { scenario(&sqlite_store(dir.path(), &t), t).await });
    let (_cluster, pg) = postgres_store(&[t]);
    let on_postgres = rt.block_on(scenario(&pg, t));

    // The scenario did what it says (so equal answers are not two empty ones).
    assert_eq!(
        on_sqlite.push1_seqs,
        vec![Some(1), Some(2), Some(3), Some(4), Some(5)]
    );
    assert_eq!(on_sqlite.duplicate, None);
    assert_eq!(on_sqlite.duplicate_entry.seq, 3);
    assert_eq!(on_sqlite.head, 7, "the released item is not the head");
    assert_eq!(on_sqlite.new_contacts_all.len(), 3);
    assert_eq!(on_sqlite.corrected.len(), 1);
    assert!(
        !on_sqlite.corrected[0].1,
        "the correction moved contact 1 out of wijk 1"
    );
    assert_eq!(
        on_sqlite.contacts_of_wijk2.len(),
        2,
        "contact 1 moved to wijk 2"
    );
    assert_eq!(on_sqlite.feedback.len(), 1);
    assert!(on_sqlite.feedback_after.is_empty());
    assert_eq!(on_sqlite.unknown_wijk.len(), 1);
    assert_eq!(on_sqlite.phones.len(), 1);
    assert_eq!(on_sqlite.revocation, (true, false, 0, None, true));

    assert_eq!(on_sqlite, on_postgres);
}

/// Contacts stored in one call, as a writer job of many pushes stores them (on PostgreSQL
/// one statement of a column of values per array): each reads back with its own
/// values, in ledger order, the same on both backends; and every column of every row is
/// stored the same on both, the NULLs of a contact without a fix or without a place
/// included.
#[test]
fn contacts_stored_together_read_back_each_with_its_own_values_on_both_backends() {
    const N: usize = 70;
    let t = Tenant::new(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let on_sqlite = rt.block_on(async { many_contacts(&sqlite_store(dir.path(), &t), t, N).await });
    let (cluster, pg) = postgres_store(&[t]);
    let on_postgres = rt.block_on(many_contacts(&pg, t, N));

    assert_eq!(on_sqlite.len(), N);
    for (i, r) in on_sqlite.iter().enumerate() {
        let cell = (i % 4 != 2).then_some(0x8919_6953_0000_0000 | i as u64);
        let expected = (
            i as i64 + 1,
            1_767_690_600 + 60 * i as i64,
            (i % 9) as u16,
            i % 3 == 0,
            cell,
        );
        let got = (r.seq, r.observed_at, r.counts[3], r.past_norm, r.cell_r9);
        assert_eq!(got, expected, "contact {i}");
    }
    assert_eq!(on_sqlite, on_postgres);

    let sqlite_rows = rusqlite::Connection::open(dir.path().join("avondronde.db"))
        .expect("sqlite")
        .prepare(&format!(
            "SELECT {} FROM contact ORDER BY seq",
            COLUMNS.join(", ")
        ))
        .expect("select")
        .query_map([], |r| {
            (0..COLUMNS.len()).map(|i| column_text(r, i)).collect()
        })
        .expect("rows")
        .collect::<Result<Vec<Vec<Option<String>>>, _>>()
        .expect("sqlite rows");
    let mut su = postgres::Client::connect(&cluster.admin_url("postgres"), postgres::NoTls)
        .expect("superuser");
    let postgres_rows: Vec<Vec<Option<String>>> = su
        .query(
            &format!("SELECT {} FROM contact ORDER BY seq", COLUMNS.join(", ")),
            &[],
        )
        .expect("select")
        .iter()
        .map(|r| (0..COLUMNS.len()).map(|i| pg_column_text(r, i)).collect())
        .collect();
    assert_eq!(sqlite_rows.len(), N);
    assert_eq!(sqlite_rows, postgres_rows);
    // The stored values themselves, for one contact of each kind of location.
    let column = |row: usize, name: &str| {
        let i = COLUMNS.iter().position(|c| *c == name).expect("column");
        sqlite_rows[row][i].clone()
    };
    let text = |v: &str| Some(v.to_string());
    assert_eq!(
        [0, 1, 2, 3].map(|row| column(row, "source")),
        [text("gps"), text("place"), text("none"), text("pin")]
    );
    assert_eq!(column(0, "accuracy_m"), text("12.5"));
    assert_eq!(column(0, "fix_age_s"), text("3"));
    assert_eq!(
        column(1, "place_id"),
        text("00000000-0000-7000-8000-000000000901")
    );
    assert_eq!(column(1, "accuracy_m"), None);
    assert_eq!(column(2, "lat"), None);
    assert_eq!(column(2, "cell_r10"), None);
    assert_eq!(column(3, "lon"), text("5.1"));
    assert_eq!(column(5, "clock_skew_ms"), text("-1500"));
    assert_eq!(column(4, "skew_flag"), text("1"));
    assert_eq!(column(5, "record_key"), text("5005"));
}

/// Every column of `contact` that the server writes.
const COLUMNS: [&str; 31] = [
    "id",
    "seq",
    "device_id",
    "user_id",
    "gemeente_id",
    "round_id",
    "wijk_id",
    "received_at",
    "clock_skew_ms",
    "skew_flag",
    "record_key",
    "observed_at",
    "utc_offset_s",
    "source",
    "lat",
    "lon",
    "accuracy_m",
    "fix_age_s",
    "place_id",
    "n_0_5",
    "n_6_9",
    "n_10_11",
    "n_12_13",
    "n_14p",
    "supervised",
    "behaviours",
    "actions",
    "brought_home",
    "past_norm",
    "cell_r9",
    "cell_r10",
];

/// A column's value as text, the same for both backends (reals as Rust prints them).
fn column_text(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Option<String>> {
    Ok(match r.get_ref(i)? {
        rusqlite::types::ValueRef::Null => None,
        rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
        rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
        rusqlite::types::ValueRef::Text(v) => Some(String::from_utf8_lossy(v).into_owned()),
        rusqlite::types::ValueRef::Blob(_) => Some("blob".into()),
    })
}

/// As [`column_text`], for PostgreSQL's row.
fn pg_column_text(r: &postgres::Row, i: usize) -> Option<String> {
    use postgres::types::Type;
    match *r.columns()[i].type_() {
        Type::FLOAT8 => r.get::<_, Option<f64>>(i).map(|v| v.to_string()),
        Type::INT8 => r.get::<_, Option<i64>>(i).map(|v| v.to_string()),
        _ => r.get::<_, Option<String>>(i),
    }
}

/// Stores `n` contacts, each with values of its own, in one `insert_contacts`; reads them
/// back as the hotspot index does.
async fn many_contacts(store: &Store, t: Tenant, n: usize) -> Vec<RawContact> {
    let (g, user, wijk) = (t.gemeente, t.field_user, t.wijk1);
    let device = Items::of(&t).device;
    store
        .write(g, move |tx| {
            devices::insert(tx, device, user, TOKEN, "telefoon", NOW)?;
            let round: RoundId = id(t.n * 100 + 60);
            let contacts: Vec<StreetContact> = (0..n)
                .map(|i| StreetContact {
                    id: id(t.n * 100_000 + 1_000 + i as u32),
                    round,
                    facts: ContactFacts {
                        // Every kind of location in turn: a fix, a named place, none, a pin.
                        location: match i % 4 {
                            0 => Location::gps(52.0 + i as f64 / 1000.0, 5.1, 12.5, 3),
                            1 => Location::place(id(901), 52.0, 5.1 + i as f64 / 1000.0),
                            2 => Location::none(),
                            _ => Location::pin(52.0 + i as f64 / 1000.0, 5.1),
                        },
                        ..facts(
                            1_767_690_600 + 60 * i as i64,
                            52.0,
                            (i % 9) as u16,
                            if i % 2 == 0 {
                                vec![Behaviour::Nuisance]
                            } else {
                                vec![Behaviour::HangingAround]
                            },
                        )
                    },
                })
                .collect();
            let derived: Vec<Derived> = (0..n)
                .map(|i| {
                    // No cells for a contact without a location.
                    let located = i % 4 != 2;
                    Derived {
                        cell_r9: located.then_some(0x8919_6953_0000_0000 | i as u64),
                        cell_r10: located.then_some(0x8a19_6953_0000_0000 | i as u64),
                        ..derived(Some(wijk), i % 3 == 0)
                    }
                })
                .collect();
            let mut rows = Vec::with_capacity(n);
            for (i, (contact, derived)) in contacts.iter().zip(&derived).enumerate() {
                let seq = claim(tx, ItemKind::Contact, &contact.id, device, i as u8)?;
                rows.push(NewContact {
                    contact,
                    derived,
                    seq: seq.expect("new"),
                    device,
                    user,
                    gemeente: g,
                    wijk: Some(wijk),
                    received_at: NOW,
                    skew_ms: -1500,
                    skew_flag: i % 4 == 0,
                    record_key: 5000 + i as i64,
                });
            }
            sync::insert_contacts(tx, &rows)?;
            Ok(())
        })
        .await
        .expect("contacts stored");
    store
        .read(g, move |tx| {
            let head = hotspot::ledger_head(tx)?;
            let mut all = Vec::new();
            hotspot::each_new_contact(tx, wijk, 0, head, |r| all.push(r))?;
            Ok(sorted(all))
        })
        .await
        .expect("contacts read")
}

/// Gemeente A's push, then everything gemeente B's transactions can ask through these
/// functions about A's rows: nothing, and nothing of A's changes.
#[test]
fn gemeente_b_sees_none_of_gemeente_a_s_rounds_contacts_ledger_or_phones() {
    let (a, b) = (Tenant::new(1), Tenant::new(2));
    let (_cluster, store) = postgres_store(&[a, b]);
    runtime().block_on(b_sees_none_of_a(&store, a, b));
}

async fn b_sees_none_of_a(store: &Store, a: Tenant, b: Tenant) {
    let outcome_a = scenario(store, a).await;
    assert_eq!(outcome_a.head, 7);
    let ia = Items::of(&a);

    let seen_by_b = store
        .write(b.gemeente, move |tx| {
            let head = hotspot::ledger_head(tx)?;
            let mut contacts = Vec::new();
            hotspot::each_new_contact(tx, a.wijk1, 0, i64::MAX, |r| contacts.push(r))?;
            hotspot::each_new_contact(tx, a.wijk2, 0, i64::MAX, |r| contacts.push(r))?;
            hotspot::each_contact_of_wijk(tx, a.wijk1, |r| contacts.push(r))?;
            hotspot::each_contact_of_wijk(tx, a.wijk2, |r| contacts.push(r))?;
            let mut corrected = Vec::new();
            hotspot::each_corrected_contact(tx, a.wijk2, 0, i64::MAX, |r, _| corrected.push(r))?;
            let archived = hotspot::archived_of_wijk(tx, a.wijk1)?;
            let rounds = (
                sync::round_exists(tx, ia.round1)?,
                sync::own_round_wijk(tx, ia.round1, ia.device)?,
                sync::rounds_with_unknown_wijk(tx, a.gemeente)?,
                // Writes aimed at A's rows change nothing.
                sync::end_round(tx, ia.round1, ia.device, 1)?,
            );
            let contact = (
                sync::contact_exists(tx, ia.contact1)?,
                sync::own_contact_wijk(tx, ia.contact1, ia.device)?,
                sync::correct_contact(
                    tx,
                    ia.contact1,
                    ia.device,
                    i64::MAX,
                    &facts(1, 0.0, 9, vec![]),
                    &derived(None, false),
                    None,
                )?,
            );
            let ledger =
                sync::ledger_entry(tx, &ItemKind::Contact, &ia.contact1.to_string(), b.gemeente)?;
            // A's key, claimed in B: taken (unique over all gemeenten), and not B's to read.
            let claimed = claim(tx, ItemKind::Contact, &ia.contact1, ia.device, 10)?;
            let phones = (
                devices::by_token_hash(tx, TOKEN)?.is_some(),
                devices::of_gemeente(tx, a.gemeente)?.len(),
                devices::active_device_gemeente(tx, ia.device)?,
                devices::enrolment_code(tx, CODE)?.is_some(),
                devices::revoke(tx, ia.device, 1)?,
                hotspot::user_by_name(tx, &a.username("coord"))?,
                hotspot::assigned_wijken(tx, a.coordinator)?.len(),
                hotspot::disclosure_params(tx, a.gemeente)?,
                sync::feedback_since(tx, ia.device, 0)?.len(),
                hotspot::wijk_in_gemeente_by_code(tx, &format!("WK{:04}01", a.n), a.gemeente)?,
                sync::wijk_in_gemeente(tx, a.wijk1, a.gemeente)?,
            );
            Ok((
                head, contacts, corrected, archived, rounds, contact, ledger, claimed, phones,
            ))
        })
        .await
        .expect("B's transaction");
    let (head, contacts, corrected, archived, rounds, contact, ledger, claimed, phones) = seen_by_b;
    assert_eq!(head, 0, "B's ledger is empty");
    assert!(contacts.is_empty() && corrected.is_empty() && archived.is_empty());
    // Whether a round or contact id exists at all is answered over all gemeenten, as on
    // SQLite (migration 008: a contact on another gemeente's round is refused for good
    // instead of waiting forever); nothing else of A's is readable or changeable.
    assert_eq!(rounds, (true, None, vec![], false));
    assert_eq!(contact, (true, None, false));
    assert_eq!(ledger, None, "A's ledger row is not B's to read");
    assert_eq!(claimed, None);
    assert_eq!(
        phones,
        (false, 0, None, false, false, None, 0, None, 0, None, false)
    );

    // A's rows are as they were: B's attempts changed nothing.
    let again = store
        .read(a.gemeente, move |tx| {
            let mut of2 = Vec::new();
            hotspot::each_contact_of_wijk(tx, a.wijk2, |r| of2.push(r))?;
            Ok((
                hotspot::ledger_head(tx)?,
                sorted(of2),
                devices::active_device_gemeente(tx, ia.device)?,
            ))
        })
        .await
        .expect("A again");
    assert_eq!(again.0, 7);
    assert_eq!(again.1, outcome_a.contacts_of_wijk2);
    assert_eq!(
        again.2, None,
        "revoked by A itself, at the end of the scenario"
    );

    // B's own push numbers after A's, and A's catch-up since its head never sees it.
    let ib = Items::of(&b);
    let b_seq = store
        .write(b.gemeente, move |tx| {
            devices::insert(tx, ib.device, b.field_user, b"token-b", "telefoon", NOW)?;
            let round = Round {
                id: ib.round1,
                wijk: b.wijk1,
                partner: None,
                started_at: Timestamp::from_second(1_767_690_000).expect("time"),
            };
            let seq = claim(tx, ItemKind::Round, &round.id, ib.device, 1)?;
            sync::insert_round(tx, &round, ib.device, b.field_user, Some(b.wijk1), None)?;
            Ok(seq)
        })
        .await
        .expect("B's push")
        .expect("claimed");
    assert!(b_seq > 7);
    let a_head = store
        .read(a.gemeente, hotspot::ledger_head)
        .await
        .expect("A's head");
    assert_eq!(a_head, 7, "B's claim is not in A's ledger");
    let b_head = store
        .read(b.gemeente, hotspot::ledger_head)
        .await
        .expect("B's head");
    assert_eq!(b_head, b_seq);
}

/// Two pushes of one gemeente at once: the second's claim waits until the first commits, so
/// ledger numbers are in commit order (a reader that caught up to a head never misses a
/// number below it committing later). Another gemeente's push does not wait.
#[test]
fn claims_of_one_gemeente_are_numbered_in_commit_order() {
    let (a, b) = (Tenant::new(1), Tenant::new(2));
    let (_cluster, store) = postgres_store(&[a, b]);
    runtime().block_on(commit_order(&store, a, b));
}

async fn commit_order(store: &Store, a: Tenant, b: Tenant) {
    for t in [a, b] {
        let it = Items::of(&t);
        let token = format!("token-{}", t.n).into_bytes();
        store
            .write(t.gemeente, move |tx| {
                devices::insert(tx, it.device, t.field_user, &token, "telefoon", NOW)
            })
            .await
            .expect("device");
    }
    let (da, db) = (Items::of(&a).device, Items::of(&b).device);
    let hold = Duration::from_millis(800);

    // The first push claims, then takes its time before committing.
    let (claimed_tx, claimed_rx) = std::sync::mpsc::channel::<()>();
    let first = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(a.gemeente, move |tx| {
                    let seq = claim(tx, ItemKind::Round, &id::<RoundId>(901), da, 1)?;
                    claimed_tx.send(()).ok();
                    std::thread::sleep(hold);
                    Ok((seq, Instant::now()))
                })
                .await
        })
    };
    tokio::task::spawn_blocking(move || claimed_rx.recv())
        .await
        .expect("join")
        .expect("first claimed");

    let started = Instant::now();
    // Another gemeente does not wait for it.
    let other = store
        .write(b.gemeente, move |tx| {
            claim(tx, ItemKind::Round, &id::<RoundId>(902), db, 1)
        })
        .await
        .expect("other gemeente");
    assert!(other.is_some());
    assert!(
        started.elapsed() < hold / 2,
        "another gemeente's claim waited {:?}",
        started.elapsed()
    );
    // The same gemeente's second claim waits for the first to commit.
    let second = store
        .write(a.gemeente, move |tx| {
            Ok((
                claim(tx, ItemKind::Round, &id::<RoundId>(903), da, 1)?,
                Instant::now(),
            ))
        })
        .await
        .expect("second");
    let (first_seq, first_done) = first.await.expect("join").expect("first");
    assert!(
        second.1 >= first_done,
        "the second claim returned before the first transaction finished"
    );
    assert!(second.0.expect("new") > first_seq.expect("new"));
}

/// Phones of two gemeenten look their tokens up at once, as their requests do, with
/// unknown tokens and phones asking twice among them. On PostgreSQL the look-ups that wait
/// together are asked in one statement (store/postgres/tokens.rs): each must still get its
/// own device and no other. And while the others keep asking, a phone revoked is refused
/// at its very next look-up: no answer may come from a statement that began before it.
#[test]
fn phones_looking_up_their_tokens_at_once_each_get_their_own_device_and_a_revocation_holds_at_once()
{
    let (a, b) = (Tenant::new(1), Tenant::new(2));
    let (_cluster, pg) = postgres_store(&[a, b]);
    runtime().block_on(tokens_at_once(&pg, &[a, b]));
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = sqlite_store(dir.path(), &a);
    runtime().block_on(tokens_at_once(&sqlite, &[a]));
}

async fn tokens_at_once(store: &Store, tenants: &[Tenant]) {
    const PHONES: u32 = 40;
    let token = |t: &Tenant, i: u32| format!("token-{}-{i}", t.n).into_bytes();
    let device = |t: &Tenant, i: u32| id::<DeviceId>(t.n * 100_000 + 500 + i);
    for t in tenants {
        let (t, tokens) = (*t, (0..PHONES).map(|i| token(t, i)).collect::<Vec<_>>());
        store
            .write(t.gemeente, move |tx| {
                for (i, token) in (0..PHONES).zip(&tokens) {
                    devices::insert(tx, device(&t, i), t.field_user, token, "telefoon", NOW)?;
                }
                Ok(())
            })
            .await
            .expect("devices");
    }
    let ask = |hash: Vec<u8>| {
        let store = store.clone();
        tokio::spawn(async move { store.device_by_token_hash(hash).await })
    };

    // Every phone twice, and as many unknown tokens, all at once.
    let mut asked = Vec::new();
    for t in tenants {
        for i in 0..PHONES {
            for _ in 0..2 {
                asked.push((Some((device(t, i), t.gemeente)), ask(token(t, i))));
            }
            asked.push((None, ask(format!("nobody-{}-{i}", t.n).into_bytes())));
        }
    }
    for (expected, answer) in asked {
        let found = answer.await.expect("join").expect("look-up");
        assert_eq!(
            found.map(|r| (r.id, r.gemeente, r.revoked)),
            expected.map(|(d, g)| (d, g, false))
        );
    }

    // Phones 0..10 of the first gemeente revoked one by one, while every phone of every
    // gemeente keeps asking: each is refused at the next look-up after its revocation.
    // Each revocation waits until the others have asked again, so that it always lands
    // among look-ups in flight, however the machine schedules the tasks.
    let t = tenants[0];
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let asked = std::sync::Arc::new(AtomicU32::new(0));
    let background: Vec<_> = tenants
        .iter()
        .flat_map(|t| (10..PHONES).map(move |i| token(t, i)))
        .map(|hash| {
            let (store, stop, asked) = (store.clone(), stop.clone(), asked.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let found = store.device_by_token_hash(hash.clone()).await;
                    assert!(found.expect("look-up").is_some_and(|r| !r.revoked));
                    asked.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let others_ask_again = || async {
        let from = asked.load(Ordering::Relaxed);
        let waited = tokio::time::timeout(Duration::from_secs(30), async {
            while asked.load(Ordering::Relaxed) < from + 20 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        waited.await.expect("the other phones keep asking");
    };
    for i in 0..10 {
        others_ask_again().await;
        let d = device(&t, i);
        let revoked = store
            .write(t.gemeente, move |tx| devices::revoke(tx, d, NOW + 1))
            .await
            .expect("revoke");
        assert!(revoked);
        let found = store
            .device_by_token_hash(token(&t, i))
            .await
            .expect("look-up")
            .expect("found");
        assert!(found.revoked, "phone {i} was let in after its revocation");
    }
    stop.store(true, Ordering::Relaxed);
    for task in background {
        task.await.expect("no other phone was refused");
    }
}

#[test]
fn no_function_of_these_modules_still_reaches_sqlite_only() {
    for file in ["sync.rs", "devices.rs", "hotspot.rs"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/store")
            .join(file);
        let text = std::fs::read_to_string(&path).expect("source");
        assert!(
            !text.contains("tx.conn()"),
            "{file} still has a function without its PostgreSQL arm"
        );
    }
}

/// The hotspot map asks for its gemeente's ledger head on every request: under row-level
/// security that is an index probe on (gemeente_id, seq) (migration 004), not a walk back
/// over every other gemeente's newer items.
#[test]
fn a_gemeente_s_ledger_head_and_since_reads_use_the_gemeente_seq_index() {
    let t = Tenant::new(1);
    let (cluster, _store) = postgres_store(&[t]);
    let mut app = postgres::Client::connect(&cluster.url(APP_ROLE, "postgres"), postgres::NoTls)
        .expect("app role");
    let mut tx = app.transaction().expect("transaction");
    tx.execute(
        "SELECT set_config('app.gemeente', $1, true)",
        &[&t.gemeente.to_string()],
    )
    .expect("gemeente");
    // The tables are tiny here: make the planner show whether the index can serve.
    tx.batch_execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        .expect("planner settings");
    for sql in [
        "EXPLAIN SELECT COALESCE(MAX(seq), 0)::bigint FROM item",
        "EXPLAIN SELECT seq FROM item WHERE seq > 5 AND seq <= 9 AND kind = 'contact'",
    ] {
        let plan: Vec<String> = tx
            .query(sql, &[])
            .expect("explain")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(
            plan.iter().any(|l| l.contains("item_gemeente_seq")),
            "{sql}:\n{}",
            plan.join("\n")
        );
    }
}

//! PostgreSQL operations (issue 13): what the server does when every connection of its pool
//! is busy (503 with `Retry-After`, never 500), and the monthly partition maintenance
//! (`admin postgres-maintain`): months are created ahead, rows that landed in the default
//! partition move into their new month, and months wholly past every gemeente's retention
//! are dropped. Each test runs on a throwaway cluster (tests/common/pg.rs).
//!
//! The synchronous PostgreSQL client blocks (also when a connection is dropped), which a
//! runtime's worker may not: stores are made and dropped outside the runtime, and only the
//! requests run in it.

#[path = "common/pg.rs"]
mod pg;

use std::sync::mpsc;
use std::time::Duration;

use avondronde_server::audit::Actor;
use avondronde_server::db::DbError;
use avondronde_server::partitions::{MONTHS_AHEAD, maintain};
use avondronde_server::retention;
use avondronde_server::state::{AppState, Config};
use avondronde_server::store::postgres::{APP_ROLE, PgAdmin};
use avondronde_server::store::{Direct, PoolOptions, Scope, Store, setup};
use avondronde_shared::{GemeenteId, WijkId};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use pg::PgCluster;
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A migrated cluster.
fn migrated() -> PgCluster {
    let cluster = PgCluster::start();
    let mut admin = PgAdmin::connect(&cluster.admin_url("postgres")).expect("admin");
    admin.ensure_roles(None).expect("roles");
    admin.migrate().expect("migrate");
    cluster
}

/// A store on a migrated cluster whose pool has one connection and waits 300 ms for it,
/// with that connection held in a transaction by another thread until released.
fn a_pool_of_one_held_busy() -> (PgCluster, Store, Held) {
    let cluster = migrated();
    let store = Store::connect_pool(
        &cluster.url(APP_ROLE, "postgres"),
        PoolOptions {
            max_size: 1,
            wait: Duration::from_millis(300),
        },
    )
    .expect("app store");
    let (taken_tx, taken) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let holder = {
        let store = store.clone();
        std::thread::spawn(move || {
            store.read_blocking(Scope::System, |_tx| {
                taken_tx.send(()).expect("signal");
                let _ = release_rx.recv_timeout(Duration::from_secs(30));
                Ok(())
            })
        })
    };
    taken.recv().expect("the connection is held");
    (cluster, store, Held { release, holder })
}

/// The thread holding the pool's only connection (see [`a_pool_of_one_held_busy`]).
struct Held {
    release: mpsc::Sender<()>,
    holder: std::thread::JoinHandle<Result<(), DbError>>,
}

impl Held {
    /// Lets the connection go and waits until it is back in the pool.
    fn release(self) {
        self.release.send(()).expect("release");
        self.holder.join().expect("holder").expect("held read");
    }
}

/// A push's write waits for its gemeente's writer (group commit), which needs a connection
/// of its own: when none can be had in time, the queued write is answered "busy" (a 503
/// with Retry-After), not an internal error, and the next write, with a free connection,
/// is stored.
#[test]
fn a_queued_write_that_gets_no_connection_in_time_is_busy_not_broken() {
    let (_cluster, store, held) = a_pool_of_one_held_busy();
    let gemeente = GemeenteId::new();
    let rt = runtime();
    let queued = rt.block_on(async {
        store
            .submit(gemeente, |_tx| Ok("stored"))
            .expect("queued")
            .await
    });
    let err = queued.expect_err("no connection for the group");
    assert!(matches!(err, DbError::Busy(_)), "{err:?}");
    let api = avondronde_server::error::ApiError::from(err);
    assert_eq!(
        axum::response::IntoResponse::into_response(api).status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    held.release();
    let again = rt.block_on(async {
        store
            .submit(gemeente, |_tx| Ok("stored"))
            .expect("queued")
            .await
    });
    assert_eq!(again.expect("a free connection"), "stored");
}

/// PostgreSQL answers COMMIT on an aborted transaction with a rollback, not an error. So a
/// write that runs into a database error and carries on (here: a text PostgreSQL cannot
/// store, its error ignored) must not let its group commit report anything as stored:
/// every write answered "stored" is in the database, and the careless one is answered
/// with an error.
#[test]
fn a_write_that_ignores_a_database_error_never_lets_its_group_report_unstored_rows_as_stored() {
    use avondronde_server::store::sync::claim_item;
    use avondronde_shared::DeviceId;
    use avondronde_shared::sync::ItemKind;
    let cluster = migrated();
    let store = Store::connect(&cluster.url(APP_ROLE, "postgres")).expect("app store");
    let (gemeente, device) = (GemeenteId::new(), DeviceId::new());
    let rt = runtime();
    let (first, careless) = rt.block_on(async {
        let first = store
            .submit(gemeente, move |tx| {
                claim_item(tx, &ItemKind::Contact, "first", device, &[1; 32], 1)
            })
            .expect("queued");
        let careless = store
            .submit(gemeente, move |tx| {
                let _ignored = claim_item(tx, &ItemKind::Contact, "nul\0", device, &[2; 32], 1);
                Ok(())
            })
            .expect("queued");
        (first.await, careless.await)
    });
    assert!(
        careless.is_err(),
        "the aborted transaction is not reported stored"
    );
    let mut su =
        postgres::Client::connect(&cluster.admin_url("postgres"), postgres::NoTls).expect("su");
    let stored = count(&mut su, "SELECT count(*) FROM item WHERE item_id = 'first'");
    match first {
        Ok(_) => assert_eq!(stored, 1, "answered stored, so stored"),
        Err(_) => assert_eq!(stored, 0, "answered failed, so not stored"),
    }
}

/// The same for a write of its own transaction (`Store::write`, the web's writes).
#[test]
fn a_write_transaction_that_ignores_a_database_error_is_not_reported_stored() {
    use avondronde_server::store::sync::claim_item;
    use avondronde_shared::DeviceId;
    use avondronde_shared::sync::ItemKind;
    let cluster = migrated();
    let store = Store::connect(&cluster.url(APP_ROLE, "postgres")).expect("app store");
    let (gemeente, device) = (GemeenteId::new(), DeviceId::new());
    let careless = runtime().block_on(store.write(gemeente, move |tx| {
        claim_item(tx, &ItemKind::Contact, "before", device, &[1; 32], 1)?;
        let _ignored = claim_item(tx, &ItemKind::Contact, "nul\0", device, &[2; 32], 1);
        Ok(())
    }));
    assert!(
        careless.is_err(),
        "the aborted transaction is not reported stored"
    );
    let mut su =
        postgres::Client::connect(&cluster.admin_url("postgres"), postgres::NoTls).expect("su");
    assert_eq!(count(&mut su, "SELECT count(*) FROM item"), 0);
}

/// (status, Retry-After, content type, body) of one request.
async fn send(
    router: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, Option<String>, String, String) {
    let res = router.clone().oneshot(req).await.expect("answer");
    let status = res.status();
    let header_of = |h| {
        res.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry = header_of(header::RETRY_AFTER);
    let ctype = header_of(header::CONTENT_TYPE).unwrap_or_default();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        retry,
        ctype,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn push_request() -> Request<Body> {
    Request::post("/api/v1/sync/push")
        .header(header::AUTHORIZATION, "Bearer not-a-real-device-token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"protocol":2,"items":[]}"#))
        .expect("request")
}

fn pull_request() -> Request<Body> {
    Request::post("/api/v1/sync/pull")
        .header(header::AUTHORIZATION, "Bearer not-a-real-device-token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"protocol":2}"#))
        .expect("request")
}

fn page_request() -> Request<Body> {
    Request::get("/beheer")
        .header(header::COOKIE, "avondronde_session=not-a-real-session")
        .body(Body::empty())
        .expect("request")
}

#[test]
fn an_exhausted_pool_answers_503_with_retry_after_and_a_dutch_message_not_500() {
    // The pool's only connection is held in a transaction until let go.
    let (_cluster, store, held) = a_pool_of_one_held_busy();
    let state = AppState::new(store.clone(), Config::default());
    let router = avondronde_server::app(state.clone());

    let rt = runtime();
    let (push, pull, page, health) = rt.block_on(async {
        (
            send(&router, push_request()).await,
            send(&router, pull_request()).await,
            send(&router, page_request()).await,
            send(
                &router,
                Request::get("/health").body(Body::empty()).expect("req"),
            )
            .await,
        )
    });
    for (what, (status, retry, ctype, body)) in
        [("push", &push), ("pull", &pull), ("health", &health)]
    {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
        assert_eq!(retry.as_deref(), Some("5"), "{what} says when to retry");
        assert!(ctype.starts_with("application/json"), "{what}: {ctype}");
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["code"], "unavailable", "{what}");
        let message = json["message"].as_str().expect("message");
        assert!(message.contains("probeer het"), "{what}: Dutch: {message}");
        assert!(!message.contains("pool"), "{what}: no internals: {message}");
    }
    let (status, retry, ctype, body) = &page;
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "page: {body}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert!(ctype.starts_with("text/html"), "a page, not JSON: {ctype}");
    assert!(body.contains("Het is even druk"), "{body}");

    // Once the connection is free again the same requests reach the database: the 503 was
    // the busy pool and nothing else (an unknown token is then refused as such).
    held.release();
    let push_after = rt.block_on(send(&router, push_request()));
    assert_eq!(push_after.0, StatusCode::UNAUTHORIZED, "{}", push_after.3);
    let health_after = rt.block_on(send(
        &router,
        Request::get("/health").body(Body::empty()).expect("req"),
    ));
    assert_eq!(health_after.0, StatusCode::OK);

    // The OpenAPI says so for the routes that reach the database, with the header.
    let spec = rt.block_on(send(
        &router,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .expect("req"),
    ));
    let spec: serde_json::Value = serde_json::from_str(&spec.3).expect("spec");
    for (path, method) in [
        ("/api/v1/sync/push", "post"),
        ("/api/v1/sync/pull", "post"),
        ("/api/v1/enrol", "post"),
        ("/health", "get"),
    ] {
        let documented = &spec["paths"][path][method]["responses"]["503"];
        assert!(
            documented["headers"]["Retry-After"].is_object(),
            "{method} {path} documents 503 with Retry-After: {documented}"
        );
    }
    drop(rt);
    drop((router, state, store));
}

// ---- Contact months: creation ahead, rows out of the default, drops past retention ----

/// A gemeente made the way the admin CLI makes it, with `contact_months` of contact
/// retention.
fn gemeente(admin_url: &str, code: &str, contact_months: u32) -> GemeenteId {
    let mut direct = Direct::connect(admin_url).expect("direct");
    direct
        .transaction(|tx| {
            let g = avondronde_server::setup::create_gemeente(
                tx,
                code,
                code,
                &avondronde_shared::norms::NormSet::rotterdam(),
            )
            .map_err(|e| DbError::Domain(e.to_string()))?;
            retention::set_periods(
                tx,
                g,
                retention::Periods {
                    contact_months,
                    ..retention::Periods::default()
                },
                &Actor::system(),
                0,
            )?;
            Ok(g)
        })
        .expect("gemeente")
}

/// Unix seconds of noon UTC on `day`.
fn noon(day: &str) -> i64 {
    let d: Date = day.parse().expect("date");
    d.to_zoned(TimeZone::UTC)
        .expect("zoned")
        .timestamp()
        .as_second()
        + 12 * 3600
}

/// Stores a contact of `g` observed at `observed_at`, as the cluster's admin (the routing to
/// a month is PostgreSQL's).
fn contact_at(su: &mut postgres::Client, g: GemeenteId, id: &str, observed_at: i64) {
    su.execute(
        "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id,
           observed_at, utc_offset_s, received_at, clock_skew_ms, skew_flag, source,
           n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions,
           brought_home, past_norm)
         VALUES ($1, 1, 'device', 'user', $2, 'round', 'wijk', $3, 3600, 0, 0, 0, 'gps',
           1, 2, 0, 0, 0, 0, '[]', '[]', 0, 0)",
        &[&id, &g.to_string(), &observed_at],
    )
    .expect("insert contact");
}

fn count(su: &mut postgres::Client, sql: &str) -> i64 {
    su.query_one(sql, &[]).expect(sql).get(0)
}

fn partitions(su: &mut postgres::Client) -> Vec<String> {
    su.query("SELECT name FROM contact_partitions()", &[])
        .expect("partitions")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// How many contacts the application role sees as gemeente `g` (row-level security).
fn seen_by_app(cluster: &PgCluster, g: GemeenteId) -> i64 {
    let mut app = postgres::Client::connect(&cluster.url(APP_ROLE, "postgres"), postgres::NoTls)
        .expect("app");
    let mut tx = app.transaction().expect("tx");
    tx.execute(
        "SELECT set_config('app.gemeente', $1, true)",
        &[&g.to_string()],
    )
    .expect("gemeente");
    tx.query_one("SELECT count(*) FROM contact", &[])
        .expect("count")
        .get(0)
}

#[test]
fn maintenance_moves_contacts_from_the_default_into_their_month_when_it_is_created() {
    let cluster = migrated();
    let admin_url = cluster.admin_url("postgres");
    let a = gemeente(&admin_url, "GM0599", 24);
    let b = gemeente(&admin_url, "GM0363", 24);
    let mut su = postgres::Client::connect(&admin_url, postgres::NoTls).expect("su");
    // No months exist yet: this month's and next month's contacts land in the default.
    let now = Timestamp::from_second(noon("2026-06-15")).expect("now");
    for i in 0..5 {
        contact_at(&mut su, a, &format!("a-june-{i}"), noon("2026-06-03") + i);
    }
    contact_at(&mut su, a, "a-july", noon("2026-07-20"));
    contact_at(&mut su, b, "b-june", noon("2026-06-10"));
    // One far in the future (a phone clock years ahead) stays in the default.
    contact_at(&mut su, a, "a-2031", noon("2031-01-01"));
    assert_eq!(count(&mut su, "SELECT count(*) FROM contact_default"), 8);

    let done = maintain(&admin_url, now).expect("maintain");
    assert_eq!(done.created, MONTHS_AHEAD);
    assert!(done.dropped.is_empty(), "{:?}", done.dropped);

    assert_eq!(
        count(&mut su, "SELECT count(*) FROM contact"),
        8,
        "none lost"
    );
    assert_eq!(count(&mut su, "SELECT count(*) FROM contact_default"), 1);
    assert_eq!(count(&mut su, "SELECT count(*) FROM contact_y2026m06"), 6);
    assert_eq!(count(&mut su, "SELECT count(*) FROM contact_y2026m07"), 1);
    assert_eq!(
        count(
            &mut su,
            "SELECT count(DISTINCT id) FROM contact WHERE id LIKE 'a-june-%'"
        ),
        5,
        "each moved row once"
    );
    // The new months carry row-level security: each gemeente sees its own rows only.
    assert_eq!(seen_by_app(&cluster, a), 7);
    assert_eq!(seen_by_app(&cluster, b), 1);
    let forced: bool = su
        .query_one(
            "SELECT bool_and(relforcerowsecurity) FROM pg_class
             WHERE relname IN ('contact_default', 'contact_y2026m06', 'contact_y2026m07')",
            &[],
        )
        .expect("rls")
        .get(0);
    assert!(
        forced,
        "FORCE row-level security on the default and the new months"
    );
    // Run again: nothing more to create, nothing moved twice.
    let again = maintain(&admin_url, now).expect("maintain again");
    assert_eq!(again.created, 0);
    assert_eq!(count(&mut su, "SELECT count(*) FROM contact"), 8);
}

#[test]
fn maintenance_drops_only_months_wholly_past_the_longest_retention_after_archiving_them() {
    let cluster = migrated();
    let admin_url = cluster.admin_url("postgres");
    let short = gemeente(&admin_url, "GM0599", 3);
    let long = gemeente(&admin_url, "GM0363", 6);
    let mut pg = PgAdmin::connect(&admin_url).expect("admin");
    pg.ensure_contact_partitions("2025-10-01".parse().expect("date"), 9)
        .expect("months");
    let mut su = postgres::Client::connect(&admin_url, postgres::NoTls).expect("su");
    let now = Timestamp::from_second(noon("2026-06-15")).expect("now");
    // Eight months old: past both retentions. Four months old: past the short one only.
    contact_at(&mut su, short, "s-nov", noon("2025-11-10"));
    contact_at(&mut su, short, "s-feb", noon("2026-02-10"));
    contact_at(&mut su, short, "s-may", noon("2026-05-10"));
    contact_at(&mut su, long, "l-nov-1", noon("2025-11-11"));
    contact_at(&mut su, long, "l-nov-2", noon("2025-11-12"));
    contact_at(&mut su, long, "l-feb", noon("2026-02-11"));

    let done = maintain(&admin_url, now).expect("maintain");
    assert_eq!(done.longest_months, 6);
    // Six months before 15 June 2026 is 15 December 2025: December is still kept.
    assert_eq!(done.keep_from, Some("2025-12-01".parse().expect("date")));
    assert_eq!(
        done.dropped,
        vec!["contact_y2025m10".to_owned(), "contact_y2025m11".to_owned()]
    );
    let left = partitions(&mut su);
    assert_eq!(left.first().map(String::as_str), Some("contact_y2025m12"));
    assert!(left.contains(&"contact_y2026m09".to_owned()), "{left:?}");

    // What each gemeente's retention keeps is still there; the rest was archived first.
    let ids: Vec<String> = su
        .query("SELECT id FROM contact ORDER BY id", &[])
        .expect("ids")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec!["l-feb", "s-may"]);
    let archived = |su: &mut postgres::Client, g: GemeenteId| -> i64 {
        su.query_one(
            "SELECT COALESCE(sum(contacts), 0)::bigint FROM contact_archive WHERE gemeente_id = $1",
            &[&g.to_string()],
        )
        .expect("archive")
        .get(0)
    };
    assert_eq!(archived(&mut su, short), 2, "s-nov and s-feb archived");
    assert_eq!(
        archived(&mut su, long),
        2,
        "both November contacts archived"
    );
    let swept: usize = done.swept.iter().map(|(_, r)| r.contacts).sum();
    assert_eq!(swept, 4);
}

#[test]
fn a_month_that_still_holds_unarchived_contacts_is_not_dropped() {
    let cluster = migrated();
    let admin_url = cluster.admin_url("postgres");
    let g = gemeente(&admin_url, "GM0599", 24);
    let mut pg = PgAdmin::connect(&admin_url).expect("admin");
    pg.ensure_contact_partitions("2025-10-01".parse().expect("date"), 3)
        .expect("months");
    let mut su = postgres::Client::connect(&admin_url, postgres::NoTls).expect("su");
    contact_at(&mut su, g, "kept", noon("2025-11-10"));

    // Straight to the drop, with no sweep before it: refused, and nothing went.
    let err = pg
        .drop_contact_months_before("2026-01-01".parse().expect("date"))
        .expect_err("a month with rows is refused");
    assert!(err.to_string().contains("not archived"), "{err}");
    assert_eq!(
        partitions(&mut su).len(),
        3,
        "not even the empty October went"
    );
    assert_eq!(count(&mut su, "SELECT count(*) FROM contact"), 1);
    assert_eq!(
        seen_by_app(&cluster, g),
        1,
        "row-level security back in force"
    );
}

// ---- One consistent read: Store::snapshot_blocking is REPEATABLE READ ----

#[test]
fn a_snapshot_read_does_not_see_what_commits_between_its_statements_but_a_plain_read_does() {
    let cluster = migrated();
    let admin_url = cluster.admin_url("postgres");
    gemeente(&admin_url, "GM0599", 24);
    let store = Store::connect(&cluster.url(APP_ROLE, "postgres")).expect("app store");
    let mut n = 0;
    let mut add = |code: &str| {
        n += 1;
        gemeente(&admin_url, code, 24);
    };

    // Between the snapshot's two statements another connection commits a gemeente.
    let (first, second) = store
        .snapshot_blocking(Scope::System, |tx| {
            let first = setup::gemeenten(tx)?.len();
            add("GM0363");
            Ok((first, setup::gemeenten(tx)?.len()))
        })
        .expect("snapshot");
    assert_eq!((first, second), (1, 1), "both statements read one snapshot");

    // A plain read (READ COMMITTED, as before) sees the commit between its statements:
    // the snapshot's answer above is the isolation level's doing, not the timing.
    let (first, second) = store
        .read_blocking(Scope::System, |tx| {
            let first = setup::gemeenten(tx)?.len();
            add("GM0344");
            Ok((first, setup::gemeenten(tx)?.len()))
        })
        .expect("plain read");
    assert_eq!((first, second), (2, 3));
    assert_eq!(n, 2);
    drop(store);
}

// ---- The hotspot index's catch-up on a freshly loaded, partitioned table ----

#[test]
fn the_hotspot_catch_up_of_2000_new_contacts_reads_its_wijk_by_ledger_number_in_milliseconds() {
    let cluster = migrated();
    let admin_url = cluster.admin_url("postgres");
    let mut pg = PgAdmin::connect(&admin_url).expect("admin");
    let now = Timestamp::now();
    let this_month = now.to_zoned(TimeZone::UTC).date().first_of_month();
    let from = this_month
        .checked_sub(jiff::Span::new().months(24))
        .expect("date");
    assert_eq!(pg.ensure_contact_partitions(from, 28).expect("months"), 28);
    let g = GemeenteId::new();
    let other = GemeenteId::new();
    let wijk = WijkId::new();
    let wijken: Vec<String> = (0..7)
        .map(|_| WijkId::new().to_string())
        .chain([wijk.to_string()])
        .collect();
    // 100,000 contacts over two years in eight wijken of two gemeenten, then 2,000 new ones
    // in one wijk: loaded in bulk, with no ANALYZE after, as after a migration or a burst.
    let mut su = postgres::Client::connect(&admin_url, postgres::NoTls).expect("su");
    let old = 100_000_i64;
    let fresh = 2_000_i64;
    su.execute(
        "INSERT INTO item (gemeente_id, kind, item_id, device_id, hash, received_at)
         SELECT CASE WHEN i % 2 = 0 THEN $1 ELSE $2 END, 'contact', 'c' || i, 'd', '\\x00', 0
         FROM generate_series(1, $3::bigint) i ORDER BY i",
        &[&g.to_string(), &other.to_string(), &old],
    )
    .expect("old items");
    su.execute(
        "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id,
           observed_at, utc_offset_s, received_at, clock_skew_ms, skew_flag, source,
           n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions,
           brought_home, past_norm, cell_r9, cell_r10)
         SELECT 'c' || i, i, 'd', 'u', CASE WHEN i % 2 = 0 THEN $1 ELSE $2 END, 'r',
           ($3::text[])[1 + i % 8], $4::bigint - i * 600, 3600, 0, 0, 0, 'gps',
           1, 0, 0, 0, 0, 0, '[]', '[]', 0, 0, 1, 2
         FROM generate_series(1, $5::bigint) i",
        &[
            &g.to_string(),
            &other.to_string(),
            &wijken,
            &now.as_second(),
            &old,
        ],
    )
    .expect("old contacts");
    su.execute(
        "INSERT INTO item (gemeente_id, kind, item_id, device_id, hash, received_at)
         SELECT $1, 'contact', 'n' || i, 'd', '\\x00', 0
         FROM generate_series(1, $2::bigint) i ORDER BY i",
        &[&g.to_string(), &fresh],
    )
    .expect("new items");
    su.execute(
        "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id,
           observed_at, utc_offset_s, received_at, clock_skew_ms, skew_flag, source,
           n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions,
           brought_home, past_norm, cell_r9, cell_r10)
         SELECT 'n' || i, $5::bigint + i, 'd', 'u', $1, 'r', $2, $3::bigint - i, 3600, 0, 0, 0,
           'gps', 1, 0, 0, 0, 0, 0, '[]', '[]', 0, 0, 1, 2
         FROM generate_series(1, $4::bigint) i",
        &[
            &g.to_string(),
            &wijk.to_string(),
            &now.as_second(),
            &fresh,
            &old,
        ],
    )
    .expect("new contacts");

    let store = Store::connect(&cluster.url(APP_ROLE, "postgres")).expect("app store");
    let (seqs, took) = store
        .read_blocking(g, move |tx| {
            let head = avondronde_server::store::hotspot::ledger_head(tx)?;
            let started = std::time::Instant::now();
            let mut seqs = Vec::new();
            avondronde_server::store::hotspot::each_new_contact(tx, wijk, old, head, |raw| {
                seqs.push(raw.seq)
            })?;
            Ok((seqs, started.elapsed()))
        })
        .expect("catch-up");
    println!("catch-up of {fresh} new contacts: {took:?}");
    let expected: Vec<i64> = (old + 1..=old + fresh).collect();
    assert_eq!(
        seqs, expected,
        "every new contact of the wijk, in ledger order"
    );
    // The join through the ledger took seconds here (a probe of every month per new item).
    assert!(
        took < Duration::from_millis(500),
        "the catch-up took {took:?}"
    );
    drop(store);
}

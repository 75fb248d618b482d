//! `admin migrate` (issue 13, item 5): one gemeente moves from SQLite to PostgreSQL and
//! back without loss, verified (row counts, the audit chain's head, sampled records), and
//! a move into a target that already holds the gemeente, or that cannot take it, stops with
//! a clear error and nothing written. Each test starts its own throwaway cluster.

mod common;
#[path = "common/pg.rs"]
mod pg;

use avondronde_server::audit::{self, Action, Actor, Event};
use avondronde_server::store::Direct;
use avondronde_server::store::migrate::{Endpoint, MigrateError, migrate};
use avondronde_server::store::postgres::PgAdmin;
use avondronde_shared::sync::Payload;
use common::{TestApp, contact, minutes_ago, push_request, round};
use pg::PgCluster;

/// The tables a gemeente's rows live in, with the rows of gemeente `g` per table on SQLite.
const COUNTED: &[&str] = &[
    "wijk",
    "\"user\"",
    "device",
    "item",
    "round",
    "contact",
    "audit_log",
    "enrolment_code",
];

/// A SQLite server with two gemeenten, the first with a device that pushed rounds and
/// contacts and a few audit rows. Returns the app (with the runtime it runs on) and the
/// first gemeente's code. The tests are synchronous: the PostgreSQL client blocks.
fn source() -> (tokio::runtime::Runtime, TestApp, String) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (app, code) = rt.block_on(arrange());
    (rt, app, code)
}

async fn arrange() -> (TestApp, String) {
    let app = TestApp::new();
    let seed = app.seed(false);
    let _other = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    for r in 0..3 {
        let rd = round(seed.wijk, minutes_ago(300 - r * 60));
        let mut payloads = vec![Payload::Round(rd.clone())];
        payloads.extend(
            (0..20).map(|i| {
                Payload::Contact(contact(rd.id, minutes_ago(290 - r * 60 - i), seed.inside))
            }),
        );
        app.push_ok(&token, &push_request(minutes_ago(0), &payloads))
            .await;
    }
    app.direct()
        .transaction(|tx| {
            for i in 0..5 {
                audit::record(
                    tx,
                    &Event {
                        gemeente: seed.gemeente,
                        actor: &Actor::system(),
                        action: Action::Retention,
                        form: None,
                        address: None,
                        detail: format!("test {i}"),
                    },
                    1_000 + i,
                )?;
            }
            Ok(())
        })
        .expect("audit rows");
    let code = app.scalar_text(&format!(
        "SELECT code FROM gemeente WHERE id = '{}'",
        seed.gemeente
    ));
    (app, code)
}

fn prepared_cluster() -> PgCluster {
    let cluster = PgCluster::start();
    let mut admin = PgAdmin::connect(&cluster.admin_url("postgres")).expect("admin");
    admin.ensure_roles(None).expect("roles");
    admin.migrate().expect("migrate");
    cluster
}

fn pg_count(cluster: &PgCluster, sql: &str) -> i64 {
    let mut c = postgres::Client::connect(&cluster.admin_url("postgres"), postgres::NoTls)
        .expect("connect");
    c.query_one(sql, &[]).expect(sql).get(0)
}

fn sqlite_count(path: &std::path::Path, sql: &str) -> i64 {
    avondronde_server::db::open_connection(path)
        .expect("open")
        .query_row(sql, [], |r| r.get(0))
        .expect(sql)
}

/// Runs a blocking migration off the test's async thread.
fn run(
    from: Endpoint,
    to: Endpoint,
    code: &str,
) -> Result<avondronde_server::store::migrate::Report, MigrateError> {
    let code = code.to_owned();
    std::thread::spawn(move || migrate(&from, &to, &code))
        .join()
        .expect("no panic")
}

#[test]
fn a_gemeente_moves_to_postgres_and_back_with_every_row_and_its_audit_chain() {
    let (_rt, app, code) = source();
    let g = app.scalar_text(&format!("SELECT id FROM gemeente WHERE code = '{code}'"));
    let cluster = prepared_cluster();
    let url = cluster.admin_url("postgres");

    let there = run(
        Endpoint::Sqlite(app.sqlite_path()),
        Endpoint::Postgres(url.clone()),
        &code,
    )
    .expect("to PostgreSQL");
    assert_eq!(there.rows["contact"], 60, "{there:?}");
    assert_eq!(there.rows["audit_log"], 5);
    assert!(there.sampled > 0 && there.audit_head.is_some());
    for table in COUNTED {
        let filter = match *table {
            "device" | "item" | "round" | "enrolment_code" => format!(
                "{} IN (SELECT {} FROM {})",
                if *table == "item" {
                    "device_id"
                } else {
                    "user_id"
                },
                if *table == "item" { "d.id" } else { "id" },
                if *table == "item" {
                    format!("device d JOIN user u ON u.id = d.user_id WHERE u.gemeente_id = '{g}'")
                } else {
                    format!("user WHERE gemeente_id = '{g}'")
                }
            ),
            _ => format!("gemeente_id = '{g}'"),
        };
        let on_sqlite = sqlite_count(
            &app.sqlite_path(),
            &format!("SELECT count(*) FROM {table} WHERE {filter}"),
        );
        let on_pg = pg_count(
            &cluster,
            &format!("SELECT count(*) FROM {table} WHERE gemeente_id = '{g}'"),
        );
        assert_eq!(on_sqlite, on_pg, "{table}");
        assert!(on_sqlite > 0, "{table} has rows to move");
    }
    assert_eq!(
        pg_count(&cluster, "SELECT count(*) FROM gemeente"),
        1,
        "only the gemeente asked for moved"
    );

    // And back, into a fresh SQLite file: the same rows and the same audit head.
    let dir = tempfile::tempdir().expect("dir");
    let back_path = dir.path().join("back.sqlite");
    drop(Direct::open(&back_path).expect("create"));
    let back = run(
        Endpoint::Postgres(url),
        Endpoint::Sqlite(back_path.clone()),
        &code,
    )
    .expect("back to SQLite");
    assert_eq!(back.rows, there.rows);
    assert_eq!(back.audit_head, there.audit_head);
    let verified = Direct::open(&back_path)
        .expect("open")
        .read(|tx| audit::verify(tx, g.parse().expect("id")))
        .expect("verify");
    assert_eq!((verified.rows, verified.broken_at), (5, None));
}

#[test]
fn a_second_move_into_a_target_that_holds_the_gemeente_is_refused_and_writes_nothing() {
    let (_rt, app, code) = source();
    let cluster = prepared_cluster();
    let url = cluster.admin_url("postgres");
    run(
        Endpoint::Sqlite(app.sqlite_path()),
        Endpoint::Postgres(url.clone()),
        &code,
    )
    .expect("first");
    let contacts = pg_count(&cluster, "SELECT count(*) FROM contact");
    let err = run(
        Endpoint::Sqlite(app.sqlite_path()),
        Endpoint::Postgres(url),
        &code,
    )
    .expect_err("second move refused");
    assert!(matches!(err, MigrateError::AlreadyThere(_)), "{err}");
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(pg_count(&cluster, "SELECT count(*) FROM contact"), contacts);
}

#[test]
fn a_move_that_fails_halfway_leaves_nothing_of_the_gemeente_in_the_target() {
    let (_rt, app, code) = source();
    let cluster = prepared_cluster();
    // The target already has a wijk with the source's wijk code (in another gemeente): the
    // wijk insert fails after the gemeente row went in.
    let wijk_code = app.scalar_text(
        "SELECT w.code FROM wijk w JOIN gemeente g ON g.id = w.gemeente_id ORDER BY g.code LIMIT 1",
    );
    let mut c = postgres::Client::connect(&cluster.admin_url("postgres"), postgres::NoTls)
        .expect("connect");
    c.batch_execute(&format!(
        "INSERT INTO gemeente (id, name, code, norms) VALUES ('x', 'X', 'GM0001', '{{}}');
         INSERT INTO wijk (id, gemeente_id, code, name, boundary) VALUES ('w', 'x', '{wijk_code}', 'W', '{{}}');"
    ))
    .expect("arrange");
    let err = run(
        Endpoint::Sqlite(app.sqlite_path()),
        Endpoint::Postgres(cluster.admin_url("postgres")),
        &code,
    )
    .expect_err("refused");
    assert!(!err.to_string().is_empty());
    assert_eq!(
        pg_count(&cluster, "SELECT count(*) FROM gemeente"),
        1,
        "{err}"
    );
    assert_eq!(pg_count(&cluster, "SELECT count(*) FROM contact"), 0);
    assert_eq!(pg_count(&cluster, "SELECT count(*) FROM \"user\""), 0);
}

#[test]
fn an_unknown_gemeente_or_two_files_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("a.sqlite");
    drop(Direct::open(&path).expect("create"));
    let err = migrate(
        &Endpoint::Sqlite(path.clone()),
        &Endpoint::Sqlite(dir.path().join("b.sqlite")),
        "GM0599",
    )
    .expect_err("same backend");
    assert!(matches!(err, MigrateError::SameBackend), "{err}");
    let cluster = prepared_cluster();
    let err = migrate(
        &Endpoint::Sqlite(path),
        &Endpoint::Postgres(cluster.admin_url("postgres")),
        "GM0599",
    )
    .expect_err("unknown");
    assert!(
        err.to_string().contains("no gemeente with code GM0599"),
        "{err}"
    );
}

//! Tenant isolation on PostgreSQL, enforced by the database (issue 13): the tests an
//! attacker, or a careless code path, would run. Each test starts its own throwaway cluster
//! (tests/common/pg.rs), migrates it as the owner and talks to it as `avondronde_app`
//! through the store's own pool ([`PgStore`]).
//!
//! Also here: the schema's migrations (fresh and upgraded end the same; every SQLite table
//! has its PostgreSQL twin) and the contact table's month partitions.

#[path = "common/pg.rs"]
mod pg;

use avondronde_server::store::postgres::{APP_ROLE, PgAdmin, PgError, PgStore, RouteKind};
use jiff::civil::date;
use pg::PgCluster;

const A: &str = "gemeente-a";
const B: &str = "gemeente-b";

/// Every table with tenant rows (all of the schema but the migration record and the routing
/// table). Partitions are reached through their parent only: the application role has no
/// privilege on them by name.
fn tenant_tables(admin: &mut postgres::Client) -> Vec<String> {
    admin
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND c.relname NOT IN ('schema_migrations', 'tenant_route', 'server_secret',
                                     'login_failure')
             ORDER BY 1",
            &[],
        )
        .expect("list tables")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A migrated cluster with the two gemeenten seeded through the application's pool, each in
/// its own transaction: a gemeente, a user, a wijk, a device, a round, two contacts, an
/// audit row and rows in the other small tables.
struct Fixture {
    cluster: PgCluster,
    store: PgStore,
}

fn fixture() -> Fixture {
    let cluster = PgCluster::start();
    let mut admin = PgAdmin::connect(&cluster.admin_url("postgres")).expect("admin");
    admin.ensure_roles(None).expect("roles");
    admin.migrate().expect("migrate");
    admin
        .ensure_contact_partitions(date(2026, 1, 1), 3)
        .expect("partitions");
    let store = PgStore::connect_with(&cluster.url(APP_ROLE, "postgres"), 2).expect("pool");
    for g in [A, B] {
        store
            .transaction(g, |tx| seed(tx.client(), g))
            .expect("seed");
    }
    Fixture { cluster, store }
}

fn seed(c: &mut postgres::Transaction, g: &str) -> Result<(), PgError> {
    c.batch_execute(&format!(
        "INSERT INTO gemeente (id, name, code, norms) VALUES ('{g}', 'G {g}', 'GM-{g}', '{{}}');
         INSERT INTO counter (gemeente_id, name, value) VALUES ('{g}', 'feedback', 0);
         INSERT INTO \"user\" (id, gemeente_id, username, role, created_at)
             VALUES ('{g}-u1', '{g}', 'user-{g}', 'field', 0);
         INSERT INTO wijk (id, gemeente_id, code, name, boundary)
             VALUES ('{g}-w1', '{g}', 'WK-{g}', 'Wijk', '{{}}');
         INSERT INTO place (id, gemeente_id, wijk_id, name, lat, lon)
             VALUES ('{g}-p1', '{g}', '{g}-w1', 'Plein', 52.0, 5.0);
         INSERT INTO user_wijk (gemeente_id, user_id, wijk_id, assigned_at)
             VALUES ('{g}', '{g}-u1', '{g}-w1', 0);
         INSERT INTO device (id, gemeente_id, user_id, token_hash, label, created_at)
             VALUES ('{g}-d1', '{g}', '{g}-u1', convert_to('token-{g}', 'UTF8'), 'telefoon', 0);
         INSERT INTO web_session (token_hash, gemeente_id, user_id, created_at, expires_at)
             VALUES (convert_to('session-{g}', 'UTF8'), '{g}', '{g}-u1', 0, 1);
         INSERT INTO round (id, gemeente_id, device_id, user_id, wijk_id, started_at)
             VALUES ('{g}-r1', '{g}', '{g}-d1', '{g}-u1', '{g}-w1', 0);
         INSERT INTO item (gemeente_id, kind, item_id, device_id, hash, received_at)
             VALUES ('{g}', 'round', '{g}-r1', '{g}-d1', '\\x00', 0);
         INSERT INTO audit_log (gemeente_id, at, actor_name, actor_role, action, prev_hash, hash)
             VALUES ('{g}', 0, 'systeem', 'system', 'open', '\\x00', '\\x01');
         INSERT INTO retention_setting (gemeente_id, care_form_months, contact_months, updated_at)
             VALUES ('{g}', 12, 24, 0);
         INSERT INTO phone_policy (gemeente_id, contact_retention_days, lock_after_minutes, updated_at)
             VALUES ('{g}', 30, 5, 0);"
    ))?;
    // One contact in January and one in February 2026.
    for (n, at) in [(1, 1_767_268_800_i64), (2, 1_770_000_000_i64)] {
        insert_contact(c, g, &format!("{g}-c{n}"), at)?;
    }
    Ok(())
}

fn insert_contact(
    c: &mut postgres::Transaction,
    g: &str,
    id: &str,
    observed_at: i64,
) -> Result<u64, PgError> {
    Ok(c.execute(
        "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id,
             observed_at, utc_offset_s, received_at, clock_skew_ms, skew_flag, source,
             n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions,
             brought_home, past_norm)
         VALUES ($1, 0, 'd', 'u', $2, 'r', 'w', $3, 3600, 0, 0, 0, 'gps',
             0, 1, 0, 0, 0, 0, '[]', '[]', 0, 0)",
        &[&id, &g, &observed_at],
    )?)
}

fn count(c: &mut postgres::Transaction, sql: &str) -> i64 {
    try_count(c, sql).expect("count")
}

fn try_count(c: &mut postgres::Transaction, sql: &str) -> Result<i64, PgError> {
    Ok(c.query_one(sql, &[])?.get(0))
}

fn superuser(f: &Fixture) -> postgres::Client {
    postgres::Client::connect(&f.cluster.admin_url("postgres"), postgres::NoTls).expect("superuser")
}

#[test]
fn the_application_role_sees_no_rows_of_any_tenant_table_without_the_gemeente_setting() {
    let f = fixture();
    let mut su = superuser(&f);
    let tables = tenant_tables(&mut su);
    assert!(tables.len() >= 24, "tables: {tables:?}");
    // Every tenant table has RLS enabled and forced.
    let unprotected: Vec<String> = su
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
               AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
            &[],
        )
        .expect("rls flags")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(unprotected, vec!["schema_migrations".to_string()]);
    let mut seeded = 0;
    for t in &tables {
        // The superuser (who bypasses RLS) sees the seeded rows: the check below can fail.
        let all: i64 = su
            .query_one(&format!("SELECT count(*) FROM \"{t}\""), &[])
            .expect("superuser count")
            .get(0);
        if all > 0 {
            seeded += 1;
        }
        let seen = f
            .store
            .system(|tx| Ok(count(tx.client(), &format!("SELECT count(*) FROM \"{t}\""))))
            .expect("count as the app");
        assert_eq!(seen, 0, "{t}: {seen} rows visible without app.gemeente");
    }
    // The fixture fills 14 of the tables (the rest stay empty for the app either way).
    assert!(seeded >= 14, "only {seeded} tables were seeded");
    // An explicitly empty setting is no gemeente either.
    let seen = f
        .store
        .system(|tx| {
            tx.client()
                .execute("SELECT set_config('app.gemeente', '', true)", &[])?;
            Ok(count(tx.client(), "SELECT count(*) FROM contact"))
        })
        .expect("empty setting");
    assert_eq!(seen, 0);
}

#[test]
fn a_gemeente_session_cannot_read_update_or_delete_another_gemeentes_rows_even_without_a_where() {
    let f = fixture();
    let mut su = superuser(&f);
    let b_before: i64 = su
        .query_one("SELECT count(*) FROM contact WHERE gemeente_id = $1", &[&B])
        .expect("b")
        .get(0);
    assert_eq!(b_before, 2);

    f.store
        .transaction(A, |tx| {
            let c = tx.client();
            let rows = c.query("SELECT * FROM contact", &[])?;
            assert_eq!(rows.len(), 2);
            assert!(rows.iter().all(|r| r.get::<_, String>("gemeente_id") == A));
            assert_eq!(count(c, "SELECT count(*) FROM \"user\""), 1);
            assert_eq!(count(c, "SELECT count(*) FROM gemeente"), 1);
            // A query that looks B's rows up by id finds nothing.
            let b = c.query("SELECT id FROM device WHERE id = 'gemeente-b-d1'", &[])?;
            assert!(b.is_empty());
            // Updates and deletes without a WHERE touch A's rows only.
            assert_eq!(
                c.execute("UPDATE device SET label = 'overschreven'", &[])?,
                1
            );
            assert_eq!(c.execute("UPDATE contact SET n_14p = 99", &[])?, 2);
            assert_eq!(c.execute("DELETE FROM contact", &[])?, 2);
            assert_eq!(c.execute("DELETE FROM web_session", &[])?, 1);
            Ok(())
        })
        .expect("A's careless transaction");

    // B is untouched.
    let b_after: i64 = su
        .query_one(
            "SELECT count(*) FROM contact WHERE gemeente_id = $1 AND n_14p = 0",
            &[&B],
        )
        .expect("b after")
        .get(0);
    assert_eq!(b_after, 2);
    let label: String = su
        .query_one("SELECT label FROM device WHERE gemeente_id = $1", &[&B])
        .expect("b device")
        .get(0);
    assert_eq!(label, "telefoon");
    let sessions: i64 = su
        .query_one(
            "SELECT count(*) FROM web_session WHERE gemeente_id = $1",
            &[&B],
        )
        .expect("b sessions")
        .get(0);
    assert_eq!(sessions, 1);

    // Reaching a partition by its own name is refused outright (no privilege on it).
    for partition in ["contact_y2026m01", "contact_default"] {
        let err = f
            .store
            .transaction(A, |tx| {
                try_count(tx.client(), &format!("SELECT count(*) FROM {partition}"))
            })
            .expect_err(partition);
        assert!(err.to_string().contains("permission denied"), "{err}");
    }

    // A cannot write a row labelled with B, nor move its own row to B.
    let err = f
        .store
        .transaction(A, |tx| {
            insert_contact(tx.client(), B, "planted", 1_767_268_800)
        })
        .expect_err("insert for B");
    assert!(is_rls_refusal(&err), "{err}");
    let err = f
        .store
        .transaction(A, |tx| {
            Ok(tx
                .client()
                .execute("UPDATE device SET gemeente_id = 'gemeente-b'", &[])?)
        })
        .expect_err("move to B");
    assert!(is_rls_refusal(&err), "{err}");
    // Nor point a row of A at a parent of B (foreign keys ignore RLS; the gemeente is part
    // of the key).
    let err = f
        .store
        .transaction(A, |tx| {
            Ok(tx.client().execute(
                "INSERT INTO place (id, gemeente_id, wijk_id, name, lat, lon)
                 VALUES ('x', 'gemeente-a', 'gemeente-b-w1', 'x', 0, 0)",
                &[],
            )?)
        })
        .expect_err("place in B's wijk");
    assert!(err.to_string().contains("foreign key"), "{err}");
    let planted: i64 = su
        .query_one("SELECT count(*) FROM contact WHERE id = 'planted'", &[])
        .expect("planted")
        .get(0);
    assert_eq!(planted, 0);
}

fn is_rls_refusal(err: &PgError) -> bool {
    match err {
        PgError::Postgres(e) => {
            e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
        }
        _ => false,
    }
}

#[test]
fn the_gemeente_setting_does_not_outlive_its_transaction_on_a_pooled_connection() {
    let cluster_f = fixture();
    // A pool of one: the second transaction gets the very same connection.
    let store =
        PgStore::connect_with(&cluster_f.cluster.url(APP_ROLE, "postgres"), 1).expect("pool");
    let (pid_a, seen_a) = store
        .transaction(A, |tx| {
            let c = tx.client();
            let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[])?.get(0);
            Ok((pid, count(c, "SELECT count(*) FROM contact")))
        })
        .expect("A");
    assert_eq!(seen_a, 2);
    let (pid_next, seen_next, setting) = store
        .system(|tx| {
            let c = tx.client();
            let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[])?.get(0);
            let setting: Option<String> = c
                .query_one("SELECT current_setting('app.gemeente', true)", &[])?
                .get(0);
            Ok((pid, count(c, "SELECT count(*) FROM contact"), setting))
        })
        .expect("next");
    assert_eq!(pid_a, pid_next, "not the same pooled connection");
    assert_eq!(seen_next, 0);
    assert!(setting.unwrap_or_default().is_empty());
    // Also after A's transaction failed half-way.
    let _ = store.transaction(A, |tx| -> Result<(), PgError> {
        tx.client().execute("SELECT 1/0", &[])?;
        Ok(())
    });
    let seen = store
        .system(|tx| Ok(count(tx.client(), "SELECT count(*) FROM device")))
        .expect("after failure");
    assert_eq!(seen, 0);
    // And B's transaction on that connection sees B's rows, not A's.
    let ids: Vec<String> = store
        .read(B, |tx| {
            Ok(tx
                .client()
                .query("SELECT gemeente_id FROM contact", &[])?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
        .expect("B");
    assert_eq!(ids, vec![B.to_string(), B.to_string()]);
}

#[test]
fn the_application_role_does_not_own_the_tables_and_cannot_disable_rls_or_drop_a_policy() {
    let f = fixture();
    let mut su = superuser(&f);
    let role = su
        .query_one(
            "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = $1",
            &[&APP_ROLE],
        )
        .expect("role");
    assert!(!role.get::<_, bool>(0), "superuser");
    assert!(!role.get::<_, bool>(1), "bypassrls");
    assert!(!role.get::<_, bool>(2), "createrole");
    let owned: i64 = su
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND r.rolname = $1",
            &[&APP_ROLE],
        )
        .expect("owned")
        .get(0);
    assert_eq!(owned, 0);
    let member: bool = su
        .query_one(
            "SELECT pg_has_role($1, 'avondronde_owner', 'MEMBER')",
            &[&APP_ROLE],
        )
        .expect("member")
        .get(0);
    assert!(!member, "the app role is a member of the owner role");

    for attack in [
        "ALTER TABLE contact DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE device NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant ON device",
        "CREATE POLICY everything ON device USING (true)",
        "ALTER POLICY tenant ON contact USING (true)",
        "SET ROLE avondronde_owner",
        "SELECT * FROM tenant_route",
        "SELECT secret FROM server_secret",
        "UPDATE server_secret SET secret = '\\x00'",
        "SELECT * FROM login_failure",
        "DELETE FROM login_failure",
        "DROP TABLE contact_y2026m01",
        "SELECT contact_partitions_drop_before('2030-01-01')",
        "UPDATE audit_log SET detail = 'x'",
        "DELETE FROM audit_log",
    ] {
        let err = f
            .store
            .transaction(A, |tx| Ok(tx.client().batch_execute(attack)?))
            .expect_err(attack);
        assert!(
            err.to_string().contains("must be owner")
                || err.to_string().contains("permission denied"),
            "{attack}: {err}"
        );
    }
    // The only cross-tenant read: one exact key to (gemeente, id).
    assert_eq!(
        f.store
            .route(RouteKind::DeviceToken, b"token-gemeente-b")
            .expect("route"),
        Some((B.to_string(), "gemeente-b-d1".to_string()))
    );
    assert_eq!(
        f.store
            .route(RouteKind::Username, b"user-gemeente-a")
            .expect("route"),
        Some((A.to_string(), "gemeente-a-u1".to_string()))
    );
    assert_eq!(
        f.store
            .route(RouteKind::WebSession, b"nope")
            .expect("route"),
        None
    );
    // The routes follow the rows: a revoked (deleted) device no longer routes.
    f.store
        .transaction(B, |tx| {
            Ok(tx.client().execute("DELETE FROM device", &[])?)
        })
        .expect("delete B's device");
    assert_eq!(
        f.store
            .route(RouteKind::DeviceToken, b"token-gemeente-b")
            .expect("route"),
        None
    );
}

#[test]
fn the_audit_chain_is_kept_per_gemeente_and_cannot_fork_or_be_rewritten() {
    let f = fixture();
    // Both gemeenten have a genesis row with the same prev_hash (seeded); a second row of A
    // claiming the same predecessor is a fork and is refused.
    let err = f
        .store
        .transaction(A, |tx| {
            Ok(tx.client().execute(
                "INSERT INTO audit_log (gemeente_id, at, actor_name, actor_role, action,
                     prev_hash, hash) VALUES ($1, 1, 'x', 'system', 'open', '\\x00', '\\x02')",
                &[&A],
            )?)
        })
        .expect_err("fork");
    assert!(err.to_string().contains("duplicate key"), "{err}");
    f.store
        .transaction(A, |tx| {
            Ok(tx.client().execute(
                "INSERT INTO audit_log (gemeente_id, at, actor_name, actor_role, action,
                     prev_hash, hash) VALUES ($1, 1, 'x', 'system', 'open', '\\x01', '\\x02')",
                &[&A],
            )?)
        })
        .expect("the next link");
    // Even the superuser (no RLS) cannot rewrite it: the trigger refuses.
    let mut su = superuser(&f);
    let err = su
        .batch_execute("UPDATE audit_log SET detail = 'x'")
        .expect_err("update");
    assert!(err.to_string().contains("append-only") || format!("{err:?}").contains("append-only"));
}

fn schema_dump(cluster: &PgCluster, db: &str) -> String {
    let out = std::process::Command::new(cluster.tool("pg_dump"))
        .args(["--schema-only", "--no-owner", "--no-privileges"])
        .arg("-d")
        .arg(cluster.admin_url(db))
        .output()
        .expect("pg_dump");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // pg_dump 15.14+ brackets the dump in \restrict/\unrestrict with a random key.
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_fresh_database_and_one_upgraded_migration_by_migration_end_in_the_same_schema() {
    let cluster = PgCluster::start();
    cluster.create_database("fresh");
    cluster.create_database("upgraded");
    let mut fresh = PgAdmin::connect(&cluster.admin_url("fresh")).expect("fresh");
    fresh.ensure_roles(None).expect("roles");
    let all: Vec<i64> = avondronde_server::store::postgres::MIGRATIONS
        .iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(fresh.migrate().expect("migrate"), all);
    assert!(fresh.migrate().expect("again").is_empty(), "not idempotent");

    let mut up = PgAdmin::connect(&cluster.admin_url("upgraded")).expect("upgraded");
    up.ensure_roles(None).expect("roles");
    assert_eq!(up.migrate_to(1).expect("v1"), vec![1]);
    // Data written at version 1 stays through the upgrade.
    up.client()
        .batch_execute(
            "INSERT INTO gemeente (id, name, code, norms) VALUES ('g', 'G', 'GM1', '{}')",
        )
        .expect("row at v1");
    assert_eq!(up.migrate().expect("the rest"), all[1..].to_vec());

    let (a, b) = (
        schema_dump(&cluster, "fresh"),
        schema_dump(&cluster, "upgraded"),
    );
    assert!(a.contains("CREATE TABLE public.contact"), "dump is empty");
    assert!(a.contains("contact_partitions_drop_before"));
    assert_eq!(a, b, "fresh and upgraded schemas differ");
    let kept: i64 = up
        .client()
        .query_one("SELECT count(*) FROM gemeente", &[])
        .expect("count")
        .get(0);
    assert_eq!(kept, 1);
}

#[test]
fn every_sqlite_table_has_a_postgres_table_with_the_same_columns() {
    // The SQLite schema after all of its migrations, applied the way the server does.
    let sqlite = rusqlite::Connection::open_in_memory().expect("sqlite");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    for file in &files {
        sqlite
            .execute_batch(&std::fs::read_to_string(file).expect("read"))
            .expect("apply a SQLite migration");
    }
    let mut stmt = sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .expect("tables");
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();

    let cluster = PgCluster::start();
    let mut admin = PgAdmin::connect(&cluster.admin_url("postgres")).expect("admin");
    admin.ensure_roles(None).expect("roles");
    admin.migrate().expect("migrate");
    let mut problems = Vec::new();
    for t in &tables {
        let mut cols = sqlite
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{t}') ORDER BY name"
            ))
            .expect("columns");
        let lite: Vec<String> = cols
            .query_map([], |r| r.get(0))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        let pg: Vec<String> = admin
            .client()
            .query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY 1",
                &[t],
            )
            .expect("pg columns")
            .iter()
            .map(|r| r.get(0))
            .collect();
        if pg.is_empty() {
            problems.push(format!("{t}: no PostgreSQL table"));
            continue;
        }
        for c in &lite {
            if !pg.contains(c) {
                problems.push(format!("{t}.{c}: missing in PostgreSQL"));
            }
        }
        for c in &pg {
            // The only column PostgreSQL adds: the tenant, where SQLite reaches it through a
            // parent row.
            if !lite.contains(c) && c != "gemeente_id" {
                problems.push(format!("{t}.{c}: only in PostgreSQL"));
            }
        }
        // The login throttle's tables are not tenant data: a login comes before its gemeente
        // is known (the application role reaches them only through functions, tested above).
        let tenant = !matches!(t.as_str(), "gemeente" | "server_secret" | "login_failure");
        if tenant && !pg.iter().any(|c| c == "gemeente_id") {
            problems.push(format!("{t}: no gemeente_id"));
        }
    }
    assert!(
        problems.is_empty(),
        "schemas out of step:\n{}",
        problems.join("\n")
    );
    assert!(tables.len() >= 24, "only {} SQLite tables", tables.len());
}

#[test]
fn contacts_of_two_months_land_in_two_partitions_and_only_the_swept_older_month_is_dropped() {
    let f = fixture();
    // Two more January contacts for A (the fixture has one per month per gemeente).
    f.store
        .transaction(A, |tx| {
            insert_contact(tx.client(), A, "a-jan-2", 1_767_300_000)?;
            insert_contact(tx.client(), A, "a-jan-3", 1_769_900_000)?;
            Ok(())
        })
        .expect("more contacts");
    let mut su = superuser(&f);
    let per_partition: Vec<(String, i64)> = su
        .query(
            "SELECT tableoid::regclass::text, count(*) FROM contact GROUP BY 1 ORDER BY 1",
            &[],
        )
        .expect("per partition")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        per_partition,
        vec![
            ("contact_y2026m01".to_string(), 4),
            ("contact_y2026m02".to_string(), 2)
        ]
    );
    let feb_ids: Vec<String> = su
        .query(
            "SELECT id FROM contact WHERE observed_at >= 1769904000 ORDER BY id",
            &[],
        )
        .expect("feb")
        .iter()
        .map(|r| r.get(0))
        .collect();

    let mut admin = PgAdmin::connect(&f.cluster.admin_url("postgres")).expect("admin");
    // January still holds contacts the retention sweep has not archived: refused, nothing
    // dropped (migration 009).
    admin
        .drop_contact_months_before(date(2026, 2, 15))
        .expect_err("a month with rows is not dropped");
    let all: i64 = su
        .query_one("SELECT count(*) FROM contact", &[])
        .expect("count")
        .get(0);
    assert_eq!(all, 6);
    // Once swept (the sweep archives, then deletes them), a cutoff inside February drops
    // January only.
    su.execute("DELETE FROM contact WHERE observed_at < 1769904000", &[])
        .expect("sweep January");
    let dropped = admin
        .drop_contact_months_before(date(2026, 2, 15))
        .expect("drop");
    assert_eq!(dropped, vec!["contact_y2026m01".to_string()]);
    let left: Vec<String> = su
        .query("SELECT id FROM contact ORDER BY id", &[])
        .expect("left")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, feb_ids);
    assert_eq!(left.len(), 2);

    // The month is a table again for an insert, once recreated; February can be detached
    // for archiving and then holds its rows outside the contact table.
    assert_eq!(
        admin
            .ensure_contact_partitions(date(2026, 1, 1), 3)
            .expect("ensure"),
        1
    );
    assert_eq!(
        admin
            .detach_contact_month(date(2026, 2, 1))
            .expect("detach"),
        Some("contact_y2026m02".to_string())
    );
    let after: i64 = su
        .query_one("SELECT count(*) FROM contact", &[])
        .expect("count")
        .get(0);
    assert_eq!(after, 0);
    let archived: i64 = su
        .query_one("SELECT count(*) FROM contact_y2026m02", &[])
        .expect("archived")
        .get(0);
    assert_eq!(archived, 2);
    assert_eq!(
        admin.detach_contact_month(date(2025, 6, 1)).expect("none"),
        None
    );
}

#[test]
fn the_cross_tenant_functions_answer_ids_only_and_a_parentless_insert_cannot_land_in_another_gemeente()
 {
    let f = fixture();
    // Without a gemeente, the listing gives ids and nothing else; the tables stay empty.
    let (ids, by_code, names) = f
        .store
        .system(|tx| {
            let c = tx.client();
            let ids: Vec<String> = c
                .query("SELECT * FROM gemeente_ids()", &[])?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let by_code: Option<String> = c
                .query_one("SELECT gemeente_id_by_code('GM-gemeente-b')", &[])?
                .get(0);
            Ok((ids, by_code, count(c, "SELECT count(*) FROM gemeente")))
        })
        .expect("system");
    assert_eq!(ids, vec![A.to_owned(), B.to_owned()]);
    assert_eq!(by_code.as_deref(), Some(B));
    assert_eq!(names, 0, "no gemeente row is readable without the setting");
    // In A's transaction, a row that names only B's user (its gemeente left to the default
    // and the trigger) is A's row pointing at a user A does not have: refused.
    let err = f
        .store
        .transaction(A, |tx| {
            tx.client().execute(
                "INSERT INTO enrolment_code (code_hash, user_id, created_at, expires_at)
                 VALUES ('\x01', $1, 0, 1)",
                &[&format!("{B}-u1")],
            )?;
            Ok(())
        })
        .expect_err("a row of A pointing at B's user");
    assert!(err.to_string().contains("foreign key"), "{err}");
    // Without any setting, the trigger has no parent it may see: refused as well.
    let err = f
        .store
        .transaction("", |_| Ok(()))
        .expect_err("an empty gemeente is refused up front");
    assert!(err.to_string().contains("empty gemeente"), "{err}");
    let mut admin = postgres::Client::connect(&f.cluster.admin_url("postgres"), postgres::NoTls)
        .expect("superuser");
    let n: i64 = admin
        .query_one("SELECT count(*) FROM enrolment_code", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, 0, "nothing was written");
}

#[test]
fn the_server_refuses_to_run_as_a_role_that_bypasses_row_level_security() {
    let f = fixture();
    let err = avondronde_server::store::Store::connect(&f.cluster.admin_url("postgres"))
        .err()
        .expect("a superuser URL is refused");
    assert!(err.to_string().contains("application role"), "{err}");
    assert!(
        avondronde_server::store::Store::connect(&f.cluster.url(APP_ROLE, "postgres")).is_ok(),
        "the application role is accepted"
    );
}

/// `devices_by_tokens` (migration 016) finds phones' devices in one statement without a
/// transaction, for tokens of any gemeenten at once: each row names the token it answers
/// and comes from that token's own gemeente. It sets each gemeente for its own query only,
/// so the connection is left with no gemeente and sees no rows afterwards; an unknown
/// token, or a token of another kind, finds nothing.
#[test]
fn the_one_statement_device_lookup_answers_each_token_from_its_own_gemeente_and_sets_nothing() {
    let f = fixture();
    let mut app = postgres::Client::connect(&f.cluster.url(APP_ROLE, "postgres"), postgres::NoTls)
        .expect("application role");
    let lookup = |app: &mut postgres::Client, tokens: &[&str]| -> Vec<(String, String, String)> {
        let hashes: Vec<&[u8]> = tokens.iter().map(|t| t.as_bytes()).collect();
        let mut found: Vec<(String, String, String)> = app
            .query(
                "SELECT convert_from(token_hash, 'UTF8'), id, gemeente_id
                 FROM devices_by_tokens($1)",
                &[&hashes],
            )
            .expect("devices_by_tokens")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        found.sort();
        found
    };
    let (ta, tb) = (format!("token-{A}"), format!("token-{B}"));
    assert_eq!(
        lookup(&mut app, &[&tb]),
        vec![(tb.clone(), format!("{B}-d1"), B.to_owned())]
    );
    // Both gemeenten's tokens in one call, among tokens that are no phone's: a session's
    // token is not a device token (the route is per kind).
    let session = format!("session-{A}");
    assert_eq!(
        lookup(&mut app, &[&tb, "token-of-nobody", &ta, &session, &tb]),
        vec![
            (ta.clone(), format!("{A}-d1"), A.to_owned()),
            (tb.clone(), format!("{B}-d1"), B.to_owned()),
        ]
    );
    let setting: Option<String> = app
        .query_one("SELECT current_setting('app.gemeente', true)", &[])
        .expect("setting")
        .get(0);
    assert!(
        setting.unwrap_or_default().is_empty(),
        "no gemeente left set"
    );
    let devices: i64 = app
        .query_one("SELECT count(*) FROM device", &[])
        .expect("count")
        .get(0);
    assert_eq!(devices, 0, "the next statement sees no tenant's rows");
    assert!(lookup(&mut app, &["token-of-nobody", &session]).is_empty());
    assert!(lookup(&mut app, &[]).is_empty());
}

/// Called inside a transaction scoped to gemeente A, `devices_by_tokens` with a token of
/// gemeente B finds B's device (its own query runs in B) but leaves the transaction in A
/// (migrations 013 and 016): the statements after it see A's rows and none of B's. Before
/// migration 013 the token's gemeente stayed set until the end of the transaction, so a
/// code path that looked a token up mid-transaction would read and write in the token's
/// gemeente.
#[test]
fn a_token_looked_up_inside_another_gemeentes_transaction_leaves_that_transaction_in_its_own_gemeente()
 {
    let f = fixture();
    let (found, setting, devices, b_devices) = f
        .store
        .transaction(A, |tx| {
            let c = tx.client();
            let found: Vec<String> = c
                .query(
                    "SELECT gemeente_id FROM devices_by_tokens(ARRAY[convert_to($1, 'UTF8')])",
                    &[&format!("token-{B}")],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let setting: Option<String> = c
                .query_one("SELECT current_setting('app.gemeente', true)", &[])?
                .get(0);
            let devices = count(c, "SELECT count(*) FROM device");
            let b_devices = try_count(
                c,
                &format!("SELECT count(*) FROM device WHERE gemeente_id = '{B}'"),
            )?;
            Ok((found, setting, devices, b_devices))
        })
        .expect("lookup inside A's transaction");
    assert_eq!(found, vec![B.to_owned()], "the lookup itself runs in B");
    assert_eq!(setting.as_deref(), Some(A), "the transaction is still A's");
    assert_eq!(devices, 1, "A's one device, and only it");
    assert_eq!(b_devices, 0, "none of B's rows after the lookup");
}

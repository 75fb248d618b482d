//! Moving one gemeente between the two backends (`avondronde-server admin migrate --from …
//! --to … --gemeente GM…`, issue 13): from a SQLite file to PostgreSQL when a gemeente joins
//! a provider, and back when it leaves.
//!
//! Every row of the gemeente is copied, table by table in the order of their references,
//! in ONE transaction on the target, which is verified before it commits:
//! - the number of rows of every table is the same on both sides;
//! - the audit chain verifies on the target and ends in the same head as on the source;
//! - a sample of contacts and care forms reads back column for column as on the source.
//!
//! Anything wrong, including a target that already holds the gemeente (by id or code), stops
//! the move with a clear error and nothing is written. The source is only read.
//!
//! Ledger positions (`item.seq`, and the `seq` of contacts, corrections and care forms that
//! refer to it) and audit positions are shifted past the target's own, so a gemeente joins a
//! database that already serves others; order within the gemeente is kept, and the audit
//! chain does not hash positions. Both schemas have the same tables and columns
//! (`server/tests/postgres_isolation.rs` keeps them so); PostgreSQL adds `gemeente_id`
//! where SQLite reaches the gemeente through a parent row.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, NoTls};
use avondronde_shared::GemeenteId;
use rusqlite::types::Value as SqlValue;

use super::Tx;
use crate::db::DbError;

/// One end of a move.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL, as a role that bypasses row-level security (the cluster's admin).
    Postgres(String),
}

impl Endpoint {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else a SQLite file.
    pub fn parse(s: &str) -> Endpoint {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Endpoint::Postgres(s.to_owned())
        } else {
            Endpoint::Sqlite(PathBuf::from(s))
        }
    }
}

/// Why a move stopped. Nothing was written to the target.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The source has no gemeente with that code.
    #[error("the source has no gemeente with code {0}")]
    UnknownGemeente(String),
    /// The target already holds the gemeente.
    #[error(
        "the target already holds gemeente {0}; nothing was written (remove it there first, or \
         move into another database)"
    )]
    AlreadyThere(String),
    /// Source and target are the same kind of database.
    #[error(
        "move between SQLite and PostgreSQL: one of --from and --to is a file, the other a URL"
    )]
    SameBackend,
    /// A verification failed; the target transaction was rolled back.
    #[error("verification failed, nothing was written: {0}")]
    Verification(String),
    /// A value that does not fit the target column.
    #[error("table {table}, column {column}: {problem}")]
    Value {
        /// The table.
        table: &'static str,
        /// The column.
        column: String,
        /// What was wrong.
        problem: String,
    },
    /// The database said no.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> MigrateError {
        MigrateError::Db(e.into())
    }
}

impl From<::postgres::Error> for MigrateError {
    fn from(e: ::postgres::Error) -> MigrateError {
        MigrateError::Db(e.into())
    }
}

/// What a move copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The gemeente moved.
    pub gemeente: GemeenteId,
    /// Rows per table.
    pub rows: BTreeMap<&'static str, usize>,
    /// The audit chain's head (hex) on both sides, if the gemeente has audit rows.
    pub audit_head: Option<String>,
    /// How many sampled records were compared column for column.
    pub sampled: usize,
}

/// Which rows of a table belong to the gemeente, in SQLite (`?1` is the gemeente id).
/// In PostgreSQL every table has `gemeente_id` (the gemeente table: `id`).
const TABLES: &[(&str, &str)] = &[
    ("gemeente", "id = ?1"),
    ("wijk", "gemeente_id = ?1"),
    (
        "place",
        "wijk_id IN (SELECT id FROM wijk WHERE gemeente_id = ?1)",
    ),
    ("area_rule", "gemeente_id = ?1"),
    ("user", "gemeente_id = ?1"),
    ("user_wijk", USERS),
    ("recovery_code", USERS),
    ("password_reset", USERS),
    ("web_session", USERS),
    ("enrolment_code", USERS),
    ("device", USERS),
    (
        "item",
        "device_id IN (SELECT d.id FROM device d JOIN user u ON u.id = d.user_id WHERE u.gemeente_id = ?1)",
    ),
    ("round", USERS),
    ("contact", "gemeente_id = ?1"),
    (
        "correction",
        "contact_id IN (SELECT id FROM contact WHERE gemeente_id = ?1)",
    ),
    ("care_form", "gemeente_id = ?1"),
    ("meldpunt_key", "gemeente_id = ?1"),
    ("audit_log", "gemeente_id = ?1"),
    ("retention_setting", "gemeente_id = ?1"),
    ("contact_aggregate", "gemeente_id = ?1"),
    ("contact_archive", "gemeente_id = ?1"),
    ("disclosure_setting", "gemeente_id = ?1"),
    ("phone_policy", "gemeente_id = ?1"),
];

const USERS: &str = "user_id IN (SELECT id FROM user WHERE gemeente_id = ?1)";

/// Columns holding a ledger position, per table; shifted past the target's ledger.
const LEDGER_COLUMNS: &[(&str, &str)] = &[
    ("item", "seq"),
    ("contact", "seq"),
    ("contact", "corrected_seq"),
    ("correction", "seq"),
    ("care_form", "seq"),
];

/// A row as read: column name → value.
type Row = Vec<(String, SqlValue)>;

/// Moves gemeente `code` from `from` to `to`. See the module documentation.
pub fn migrate(from: &Endpoint, to: &Endpoint, code: &str) -> Result<Report, MigrateError> {
    match (from, to) {
        (Endpoint::Sqlite(src), Endpoint::Postgres(dst)) => {
            let src = crate::db::open_connection(src)?;
            let mut dst = Client::connect(dst, NoTls)?;
            sqlite_to_postgres(&src, &mut dst, code)
        }
        (Endpoint::Postgres(src), Endpoint::Sqlite(dst)) => {
            let mut src = Client::connect(src, NoTls)?;
            let mut dst = crate::db::open_connection(dst)?;
            postgres_to_sqlite(&mut src, &mut dst, code)
        }
        _ => Err(MigrateError::SameBackend),
    }
}

fn table_name(t: &str) -> String {
    if t == "user" {
        "\"user\"".into()
    } else {
        t.into()
    }
}

/// The SQLite columns of a table (the shared column set of both schemas).
fn sqlite_columns(c: &rusqlite::Connection, table: &str) -> Result<Vec<String>, MigrateError> {
    let mut stmt = c.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
    let cols = stmt
        .query_map([table], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(cols)
}

fn read_sqlite(
    c: &rusqlite::Connection,
    table: &str,
    filter: &str,
    cols: &[String],
    g: GemeenteId,
) -> Result<Vec<Row>, MigrateError> {
    let list = cols.join(", ");
    let mut stmt = c.prepare(&format!(
        "SELECT {list} FROM {} WHERE {filter} ORDER BY 1",
        table_name(table)
    ))?;
    let rows = stmt
        .query_map([g], |r| {
            (0..cols.len())
                .map(|i| Ok((cols[i].clone(), r.get::<_, SqlValue>(i)?)))
                .collect::<rusqlite::Result<Row>>()
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn read_postgres(
    t: &mut ::postgres::Transaction<'_>,
    table: &'static str,
    cols: &[String],
    g: GemeenteId,
) -> Result<Vec<Row>, MigrateError> {
    let list = cols.join(", ");
    let key = if table == "gemeente" {
        "id"
    } else {
        "gemeente_id"
    };
    let order = match table {
        "item" | "audit_log" => "seq",
        _ => "1",
    };
    let rows = t.query(
        &format!(
            "SELECT {list} FROM {} WHERE {key} = $1 ORDER BY {order}",
            table_name(table)
        ),
        &[&g],
    )?;
    rows.iter()
        .map(|r| {
            r.columns()
                .iter()
                .enumerate()
                .map(|(i, col)| {
                    let v = from_postgres(r, i, col.type_()).map_err(|problem| {
                        MigrateError::Value {
                            table,
                            column: col.name().to_owned(),
                            problem,
                        }
                    })?;
                    Ok((col.name().to_owned(), v))
                })
                .collect()
        })
        .collect()
}

fn from_postgres(r: &::postgres::Row, i: usize, ty: &Type) -> Result<SqlValue, String> {
    let e = |e: ::postgres::Error| e.to_string();
    Ok(match *ty {
        Type::INT8 => r
            .try_get::<_, Option<i64>>(i)
            .map_err(e)?
            .map_or(SqlValue::Null, SqlValue::Integer),
        Type::FLOAT8 => r
            .try_get::<_, Option<f64>>(i)
            .map_err(e)?
            .map_or(SqlValue::Null, SqlValue::Real),
        Type::TEXT => r
            .try_get::<_, Option<String>>(i)
            .map_err(e)?
            .map_or(SqlValue::Null, SqlValue::Text),
        Type::BYTEA => r
            .try_get::<_, Option<Vec<u8>>>(i)
            .map_err(e)?
            .map_or(SqlValue::Null, SqlValue::Blob),
        ref other => return Err(format!("unexpected column type {other}")),
    })
}

/// A value as a parameter of PostgreSQL type `ty`.
fn to_postgres(v: &SqlValue, ty: &Type) -> Result<Box<dyn ToSql + Sync>, String> {
    Ok(match (ty.clone(), v) {
        (Type::INT8, SqlValue::Null) => Box::new(None::<i64>),
        (Type::INT8, SqlValue::Integer(i)) => Box::new(*i),
        (Type::FLOAT8, SqlValue::Null) => Box::new(None::<f64>),
        (Type::FLOAT8, SqlValue::Real(f)) => Box::new(*f),
        #[allow(clippy::cast_precision_loss)] // SQLite keeps a whole REAL as an integer
        (Type::FLOAT8, SqlValue::Integer(i)) => Box::new(*i as f64),
        (Type::TEXT, SqlValue::Null) => Box::new(None::<String>),
        (Type::TEXT, SqlValue::Text(s)) => Box::new(s.clone()),
        (Type::BYTEA, SqlValue::Null) => Box::new(None::<Vec<u8>>),
        (Type::BYTEA, SqlValue::Blob(b)) => Box::new(b.clone()),
        (ty, v) => {
            return Err(format!(
                "a {:?} value does not fit a {ty} column",
                v.data_type()
            ));
        }
    })
}

/// Adds `offset` to the ledger (or audit) positions of a row.
fn shift(table: &str, row: &mut Row, ledger: i64, audit: i64) {
    for (name, v) in row.iter_mut() {
        let by = if table == "audit_log" && name == "seq" {
            audit
        } else if LEDGER_COLUMNS.contains(&(table, name.as_str())) {
            ledger
        } else {
            continue;
        };
        if let SqlValue::Integer(i) = v {
            *i += by;
        }
    }
}

fn sqlite_to_postgres(
    src: &rusqlite::Connection,
    dst: &mut Client,
    code: &str,
) -> Result<Report, MigrateError> {
    let read = src.unchecked_transaction()?;
    let g: GemeenteId = read
        .query_row("SELECT id FROM gemeente WHERE code = ?1", [code], |r| {
            r.get(0)
        })
        .map_err(|_| MigrateError::UnknownGemeente(code.to_owned()))?;
    let mut t = dst.transaction()?;
    let there: i64 = t
        .query_one(
            "SELECT count(*) FROM gemeente WHERE id = $1 OR code = $2",
            &[&g, &code],
        )?
        .try_get(0)?;
    if there > 0 {
        return Err(MigrateError::AlreadyThere(code.to_owned()));
    }
    // The gemeente's rows get it as their default; contacts land in their month.
    t.execute("SELECT set_config('app.gemeente', $1, true)", &[&g])?;
    let ledger: i64 = t
        .query_one("SELECT COALESCE(max(seq), 0) FROM item", &[])?
        .try_get(0)?;
    let audit: i64 = t
        .query_one("SELECT COALESCE(max(seq), 0) FROM audit_log", &[])?
        .try_get(0)?;
    let span: (Option<i64>, Option<i64>) = read.query_row(
        "SELECT min(observed_at), max(observed_at) FROM contact WHERE gemeente_id = ?1",
        [g],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if let (Some(lo), Some(hi)) = span {
        let months = i32::try_from((hi - lo) / (28 * 86_400) + 2).unwrap_or(i32::MAX);
        t.execute(
            "SELECT contact_partitions_ensure(to_timestamp($1)::date, $2)",
            &[&(lo as f64), &months.min(600)],
        )?;
    }
    let mut report = Report {
        gemeente: g,
        rows: BTreeMap::new(),
        audit_head: None,
        sampled: 0,
    };
    let mut copied: BTreeMap<&'static str, Vec<Row>> = BTreeMap::new();
    for &(table, filter) in TABLES {
        let cols = sqlite_columns(&read, table)?;
        let mut rows = read_sqlite(&read, table, filter, &cols, g)?;
        let mut names = cols.clone();
        if !names.iter().any(|c| c == "gemeente_id") && table != "gemeente" {
            names.push("gemeente_id".into());
        }
        let placeholders = (1..=names.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let stmt = t.prepare(&format!(
            "INSERT INTO {} ({}) VALUES ({placeholders})",
            table_name(table),
            names.join(", ")
        ))?;
        for row in &mut rows {
            shift(table, row, ledger, audit);
            let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(names.len());
            for (i, (col, v)) in row.iter().enumerate() {
                params.push(to_postgres(v, &stmt.params()[i]).map_err(|problem| {
                    MigrateError::Value {
                        table,
                        column: col.clone(),
                        problem,
                    }
                })?);
            }
            if names.len() > row.len() {
                params.push(Box::new(g));
            }
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
            t.execute(&stmt, &refs)?;
        }
        report.rows.insert(table, rows.len());
        copied.insert(table, rows);
    }
    // The feedback counter: SQLite keeps one, PostgreSQL one per gemeente.
    let feedback: i64 = read.query_row(
        "SELECT value FROM counter WHERE name = 'feedback'",
        [],
        |r| r.get(0),
    )?;
    t.execute(
        "INSERT INTO counter (gemeente_id, name, value) VALUES ($1, 'feedback', $2)",
        &[&g, &feedback],
    )?;
    for seq in ["item", "audit_log"] {
        t.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{seq}', 'seq'), \
                 (SELECT COALESCE(max(seq), 1) FROM {seq}))"
            ),
            &[],
        )?;
    }
    // Verify inside the transaction: a failure rolls everything back.
    for &(table, _) in TABLES {
        let cols = sqlite_columns(&read, table)?;
        let back = read_postgres(&mut t, table, &cols, g)?;
        verify_table(table, &copied[table], &back, &mut report)?;
    }
    let target = Tx::postgres(t);
    report.audit_head = verify_audit(&Tx::over(&read), &target, g)?;
    if let Some(t) = target.into_postgres() {
        t.commit()?;
    }
    // Statistics for the rows just loaded: until autovacuum gets to them the planner
    // believes the tables are (nearly) empty and picks plans that cost seconds.
    dst.batch_execute("ANALYZE")?;
    Ok(report)
}

fn postgres_to_sqlite(
    src: &mut Client,
    dst: &mut rusqlite::Connection,
    code: &str,
) -> Result<Report, MigrateError> {
    let mut read = src.build_transaction().read_only(true).start()?;
    let g: GemeenteId = read
        .query_opt("SELECT id FROM gemeente WHERE code = $1", &[&code])?
        .ok_or_else(|| MigrateError::UnknownGemeente(code.to_owned()))?
        .try_get(0)?;
    let t = dst.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let there: i64 = t.query_row(
        "SELECT count(*) FROM gemeente WHERE id = ?1 OR code = ?2",
        rusqlite::params![g, code],
        |r| r.get(0),
    )?;
    if there > 0 {
        return Err(MigrateError::AlreadyThere(code.to_owned()));
    }
    let ledger: i64 = t.query_row("SELECT COALESCE(max(seq), 0) FROM item", [], |r| r.get(0))?;
    let audit: i64 = t.query_row("SELECT COALESCE(max(seq), 0) FROM audit_log", [], |r| {
        r.get(0)
    })?;
    let mut report = Report {
        gemeente: g,
        rows: BTreeMap::new(),
        audit_head: None,
        sampled: 0,
    };
    let mut copied: BTreeMap<&'static str, Vec<Row>> = BTreeMap::new();
    for &(table, _) in TABLES {
        let cols = sqlite_columns(&t, table)?;
        let mut rows = read_postgres(&mut read, table, &cols, g)?;
        let placeholders = (1..=cols.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        {
            let mut stmt = t.prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({placeholders})",
                table_name(table),
                cols.join(", ")
            ))?;
            for row in &mut rows {
                shift(table, row, ledger, audit);
                stmt.execute(rusqlite::params_from_iter(row.iter().map(|(_, v)| v)))?;
            }
        }
        report.rows.insert(table, rows.len());
        copied.insert(table, rows);
    }
    let feedback: i64 = read
        .query_opt(
            "SELECT value FROM counter WHERE gemeente_id = $1 AND name = 'feedback'",
            &[&g],
        )?
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0);
    t.execute(
        "UPDATE counter SET value = max(value, ?1) WHERE name = 'feedback'",
        [feedback],
    )?;
    for &(table, filter) in TABLES {
        let cols = sqlite_columns(&t, table)?;
        let back = read_sqlite(&t, table, filter, &cols, g)?;
        verify_table(table, &copied[table], &back, &mut report)?;
    }
    report.audit_head = verify_audit(&Tx::postgres(read), &Tx::over(&t), g)?;
    t.commit()?;
    Ok(report)
}

/// Same number of rows; contacts and care forms compared column for column (a sample of
/// at most 200 each, spread over the table).
fn verify_table(
    table: &'static str,
    copied: &[Row],
    back: &[Row],
    report: &mut Report,
) -> Result<(), MigrateError> {
    if copied.len() != back.len() {
        return Err(MigrateError::Verification(format!(
            "{table}: {} rows copied, {} found on the target",
            copied.len(),
            back.len()
        )));
    }
    if !matches!(table, "contact" | "care_form") || copied.is_empty() {
        return Ok(());
    }
    let by_id = |rows: &[Row]| -> BTreeMap<String, Row> {
        rows.iter()
            .filter_map(|r| match &r[0].1 {
                SqlValue::Text(id) => Some((id.clone(), r.clone())),
                _ => None,
            })
            .collect()
    };
    let (a, b) = (by_id(copied), by_id(back));
    let step = (copied.len() / 200).max(1);
    for (id, row) in a.iter().step_by(step) {
        if b.get(id) != Some(row) {
            return Err(MigrateError::Verification(format!(
                "{table}: a sampled record reads back differently on the target"
            )));
        }
        report.sampled += 1;
    }
    Ok(())
}

/// The audit chain verifies on the target and has the source's head.
fn verify_audit(
    source: &Tx<'_>,
    target: &Tx<'_>,
    g: GemeenteId,
) -> Result<Option<String>, MigrateError> {
    let before = crate::audit::verify(source, g)?;
    let after = crate::audit::verify(target, g)?;
    if after.broken_at.is_some() || after.head != before.head || after.rows != before.rows {
        return Err(MigrateError::Verification(format!(
            "the audit chain does not carry over: {} rows with head {:?} on the source, {} \
             rows with head {:?}{} on the target",
            before.rows,
            before.head,
            after.rows,
            after.head,
            if after.broken_at.is_some() {
                " (broken)"
            } else {
                ""
            }
        )));
    }
    Ok(after.head)
}

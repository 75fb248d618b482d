//! Prepared statements kept per pooled connection.
//!
//! The synchronous client keeps no statement cache: a query given as text is prepared
//! (parsed and planned, one round trip) and then run (another), every time. The store's
//! statements are fixed texts, so each pooled connection keeps the statements it prepared
//! ([`PgConn`]), and the transaction the store modules speak to ([`PgTransaction`]) runs a
//! text through its prepared statement: one round trip, and no parse. Everything else of
//! the client's transaction is reached through `Deref`.
//!
//! A prepared statement lives as long as its connection. Run schema migrations with the
//! server stopped (docs/postgres.md): PostgreSQL re-plans a statement after a change to
//! its tables, but refuses one whose result columns changed.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, Error, NoTls, Row, Statement, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::r2d2;

/// Statements one connection keeps at most; past that it starts over. The store has far
/// fewer, so this only bounds a mistake (a statement text that varies per call).
const MAX_STATEMENTS: usize = 512;

/// A statement parameter.
type Param<'a> = &'a (dyn ToSql + Sync);

/// The prepared statements of one connection, by text and parameter types.
#[derive(Default)]
pub struct Statements(HashMap<String, Statement>);

/// A pooled connection with the statements prepared on it.
pub struct PgConn {
    /// The connection.
    pub client: Client,
    /// What was prepared on it.
    pub statements: Statements,
}

/// The pool's manager: `r2d2_postgres`'s, with a statement cache per connection.
#[derive(Debug)]
pub struct Manager(pub PostgresConnectionManager<NoTls>);

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = Error;

    fn connect(&self) -> Result<PgConn, Error> {
        Ok(PgConn {
            client: self.0.connect()?,
            statements: Statements::default(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        self.0.has_broken(&mut conn.client)
    }
}

/// An open transaction with its connection's statements (or, outside the pool, with
/// none kept: each text is then prepared per call, as the client does).
pub struct PgTransaction<'a> {
    tx: Transaction<'a>,
    statements: Option<&'a mut Statements>,
}

impl<'a> PgTransaction<'a> {
    /// A transaction that keeps its prepared statements in `statements`.
    pub fn cached(tx: Transaction<'a>, statements: &'a mut Statements) -> PgTransaction<'a> {
        PgTransaction {
            tx,
            statements: Some(statements),
        }
    }

    /// A transaction that keeps nothing (a direct connection of the admin CLI).
    pub fn uncached(tx: Transaction<'a>) -> PgTransaction<'a> {
        PgTransaction {
            tx,
            statements: None,
        }
    }

    /// The client's transaction back, to commit it.
    pub fn into_inner(self) -> Transaction<'a> {
        self.tx
    }

    /// The statement for `sql` with parameters of `types` (empty: inferred), prepared
    /// once per connection.
    fn statement(&mut self, sql: &str, types: &[Type]) -> Result<Statement, Error> {
        let Some(statements) = self.statements.as_deref_mut() else {
            return self.tx.prepare_typed(sql, types);
        };
        let mut key = String::with_capacity(sql.len() + 8 * types.len());
        key.push_str(sql);
        for ty in types {
            key.push('\0');
            key.push_str(&ty.oid().to_string());
        }
        if let Some(statement) = statements.0.get(&key) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare_typed(sql, types)?;
        if statements.0.len() >= MAX_STATEMENTS {
            statements.0.clear();
        }
        statements.0.insert(key, statement.clone());
        Ok(statement)
    }

    /// Runs `sql`; the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, Error> {
        let statement = self.statement(sql, &[])?;
        self.tx.execute(&statement, params)
    }

    /// Runs `sql`; its rows.
    pub fn query(&mut self, sql: &str, params: &[Param]) -> Result<Vec<Row>, Error> {
        let statement = self.statement(sql, &[])?;
        self.tx.query(&statement, params)
    }

    /// Runs `sql`, which must answer exactly one row.
    pub fn query_one(&mut self, sql: &str, params: &[Param]) -> Result<Row, Error> {
        let statement = self.statement(sql, &[])?;
        self.tx.query_one(&statement, params)
    }

    /// Runs `sql`, which answers at most one row.
    pub fn query_opt(&mut self, sql: &str, params: &[Param]) -> Result<Option<Row>, Error> {
        let statement = self.statement(sql, &[])?;
        self.tx.query_opt(&statement, params)
    }

    /// As [`PgTransaction::execute`], with each parameter's type given.
    pub fn execute_typed(&mut self, sql: &str, params: &[(Param, Type)]) -> Result<u64, Error> {
        let (values, types) = split(params);
        let statement = self.statement(sql, &types)?;
        self.tx.execute(&statement, &values)
    }

    /// As [`PgTransaction::query`], with each parameter's type given.
    pub fn query_typed(&mut self, sql: &str, params: &[(Param, Type)]) -> Result<Vec<Row>, Error> {
        let (values, types) = split(params);
        let statement = self.statement(sql, &types)?;
        self.tx.query(&statement, &values)
    }
}

impl<'a> From<Transaction<'a>> for PgTransaction<'a> {
    fn from(tx: Transaction<'a>) -> PgTransaction<'a> {
        PgTransaction::uncached(tx)
    }
}

fn split<'p>(params: &[(Param<'p>, Type)]) -> (Vec<Param<'p>>, Vec<Type>) {
    params.iter().map(|(v, t)| (*v, t.clone())).unzip()
}

impl<'a> Deref for PgTransaction<'a> {
    type Target = Transaction<'a>;
    fn deref(&self) -> &Transaction<'a> {
        &self.tx
    }
}

impl<'a> DerefMut for PgTransaction<'a> {
    fn deref_mut(&mut self) -> &mut Transaction<'a> {
        &mut self.tx
    }
}

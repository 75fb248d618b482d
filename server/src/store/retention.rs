//! Retention as it is kept and carried out: the `retention_setting` rows (a gemeente's
//! periods), and the sweeps that delete by age from `care_form`, `contact`, `correction`
//! and `round`, after copying expired contacts into `contact_archive`. The periods, their
//! defaults and their limits, and the audit entry of a run, are [`crate::retention`]'s.
//!
//! Both backends (see [`super`]) give the same answers: an archive row's hour is the
//! observation time rounded down to the hour by the same remainder (`%` truncates on both),
//! and the key sum, which PostgreSQL adds up as `numeric`, is taken mod 2³² before it is
//! stored as an integer.

use avondronde_shared::GemeenteId;
use rusqlite::{OptionalExtension, params};

use super::{Backend, Tx};
use crate::db::DbError;
use crate::retention::Periods;

/// A gemeente's stored periods; the two open-form periods may be unset (older rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodsRow {
    /// Closed care forms, months.
    pub care_form_months: u32,
    /// Raw contacts, months.
    pub contact_months: u32,
    /// Open care forms, warning age in months.
    pub open_form_warn_months: Option<u32>,
    /// Open care forms, maximum age in months.
    pub open_form_months: Option<u32>,
}

/// A stored month count as the periods hold it (a bigint on PostgreSQL).
fn months(v: i64) -> Result<u32, DbError> {
    u32::try_from(v).map_err(|_| DbError::Domain("bad retention period in database".into()))
}

/// Rows changed, as SQLite counts them.
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The gemeente's stored periods, if any were set.
pub fn periods(tx: &Tx, gemeente: GemeenteId) -> Result<Option<PeriodsRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(
                "SELECT care_form_months, contact_months, open_form_warn_months, open_form_months
                 FROM retention_setting WHERE gemeente_id = ?1",
            )?
            .query_row(params![gemeente], |r| {
                Ok(PeriodsRow {
                    care_form_months: r.get(0)?,
                    contact_months: r.get(1)?,
                    open_form_warn_months: r.get(2)?,
                    open_form_months: r.get(3)?,
                })
            })
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT care_form_months, contact_months, open_form_warn_months, open_form_months
                 FROM retention_setting WHERE gemeente_id = $1",
                &[&gemeente],
            )?
            .map(|r| {
                Ok(PeriodsRow {
                    care_form_months: months(r.try_get(0)?)?,
                    contact_months: months(r.try_get(1)?)?,
                    open_form_warn_months: r
                        .try_get::<_, Option<i64>>(2)?
                        .map(months)
                        .transpose()?,
                    open_form_months: r.try_get::<_, Option<i64>>(3)?.map(months).transpose()?,
                })
            })
            .transpose(),
    }
}

/// Stores (inserts or replaces) the gemeente's periods, changed at `now_ms`.
pub fn set_periods(tx: &Tx, gemeente: GemeenteId, p: &Periods, now_ms: i64) -> Result<(), DbError> {
    let sql =
        "INSERT INTO retention_setting (gemeente_id, care_form_months, contact_months, updated_at,
           open_form_warn_months, open_form_months)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (gemeente_id) DO UPDATE SET care_form_months = excluded.care_form_months,
           contact_months = excluded.contact_months, updated_at = excluded.updated_at,
           open_form_warn_months = excluded.open_form_warn_months,
           open_form_months = excluded.open_form_months";
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                sql,
                params![
                    gemeente,
                    p.care_form_months,
                    p.contact_months,
                    now_ms,
                    p.open_form_warn_months,
                    p.open_form_months
                ],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                &pg(sql),
                &[
                    &gemeente,
                    &i64::from(p.care_form_months),
                    &i64::from(p.contact_months),
                    &now_ms,
                    &i64::from(p.open_form_warn_months),
                    &i64::from(p.open_form_months),
                ],
            )?;
        }
    }
    Ok(())
}

/// SQLite's numbered placeholders (`?1`…`?9`) as PostgreSQL's (`$1`…`$9`), for statements
/// the two dialects otherwise share.
fn pg(sql: &str) -> String {
    sql.replace('?', "$")
}

/// Deletes the gemeente's closed care forms ("afgerond", "niet opgepakt") last changed
/// before `before_ms`. Returns how many went.
pub fn delete_closed_care_forms(
    tx: &Tx,
    gemeente: GemeenteId,
    before_ms: i64,
) -> Result<usize, DbError> {
    let sql = "DELETE FROM care_form WHERE gemeente_id = ?1
           AND status IN ('closed', 'not_taken_up') AND updated_at < ?2";
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.execute(sql, params![gemeente, before_ms])?),
        Backend::Postgres(mut t) => Ok(count(t.execute(&pg(sql), &[&gemeente, &before_ms])?)),
    }
}

/// Adds the gemeente's contacts observed before `before_s` to `contact_archive`, grouped
/// on the facts the hotspot map filters on, with their count and key sum (mod 2³²). Returns
/// how many archive rows were written.
pub fn archive_contacts(tx: &Tx, gemeente: GemeenteId, before_s: i64) -> Result<usize, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.execute(
            "INSERT INTO contact_archive (gemeente_id, wijk_id, hour_at, cell_r9, cell_r10,
               n_0_5, n_6_9, n_10_11, n_12_13, n_14p, brought_home, behaviours, past_norm,
               contacts, key_sum)
             SELECT gemeente_id, COALESCE(wijk_id, ''), observed_at - observed_at % 3600,
               cell_r9, cell_r10, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, brought_home,
               behaviours, past_norm, COUNT(*), SUM(COALESCE(record_key, 0)) % 4294967296
             FROM contact WHERE gemeente_id = ?1 AND observed_at < ?2
             GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13",
            params![gemeente, before_s],
        )?),
        // SUM of bigints is numeric here: the remainder is taken on the exact sum and only
        // then made a bigint again.
        Backend::Postgres(mut t) => Ok(count(t.execute(
            "INSERT INTO contact_archive (gemeente_id, wijk_id, hour_at, cell_r9, cell_r10,
               n_0_5, n_6_9, n_10_11, n_12_13, n_14p, brought_home, behaviours, past_norm,
               contacts, key_sum)
             SELECT gemeente_id, COALESCE(wijk_id, ''), observed_at - observed_at % 3600,
               cell_r9, cell_r10, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, brought_home,
               behaviours, past_norm, COUNT(*),
               (SUM(COALESCE(record_key, 0)) % 4294967296)::bigint
             FROM contact WHERE gemeente_id = $1 AND observed_at < $2
             GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13",
            &[&gemeente, &before_s],
        )?)),
    }
}

/// Deletes the corrections of the gemeente's contacts observed before `before_s`.
pub fn delete_corrections_before(
    tx: &Tx,
    gemeente: GemeenteId,
    before_s: i64,
) -> Result<usize, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.execute(
            "DELETE FROM correction WHERE contact_id IN
               (SELECT id FROM contact WHERE gemeente_id = ?1 AND observed_at < ?2)",
            params![gemeente, before_s],
        )?),
        Backend::Postgres(mut t) => Ok(count(t.execute(
            "DELETE FROM correction WHERE gemeente_id = $1 AND contact_id IN
               (SELECT id FROM contact WHERE gemeente_id = $1 AND observed_at < $2)",
            &[&gemeente, &before_s],
        )?)),
    }
}

/// Deletes the gemeente's contacts observed before `before_s`.
pub fn delete_contacts_before(
    tx: &Tx,
    gemeente: GemeenteId,
    before_s: i64,
) -> Result<usize, DbError> {
    let sql = "DELETE FROM contact WHERE gemeente_id = ?1 AND observed_at < ?2";
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.execute(sql, params![gemeente, before_s])?),
        Backend::Postgres(mut t) => Ok(count(t.execute(&pg(sql), &[&gemeente, &before_s])?)),
    }
}

/// The rounds to delete on SQLite. The contacts' round ids are read once (`NOT IN` a list),
/// not once per old round: `contact` has no index on `round_id`, so the correlated
/// `NOT EXISTS` that PostgreSQL turns into one anti-join is a scan of every contact per
/// round on SQLite (30 s against 0.08 s for 3,000 old rounds among 200,000 contacts), with
/// every phone's push waiting behind it. `round_id` is never NULL, so `NOT IN` means
/// "no contact refers to it".
const SQLITE_DELETE_EMPTY_ROUNDS: &str = "DELETE FROM round WHERE started_at < ?2
   AND user_id IN (SELECT id FROM user WHERE gemeente_id = ?1)
   AND id NOT IN (SELECT round_id FROM contact)";

/// Deletes the gemeente's rounds started before `before_s` that have no contacts left.
pub fn delete_empty_rounds_before(
    tx: &Tx,
    gemeente: GemeenteId,
    before_s: i64,
) -> Result<usize, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            Ok(c.execute(SQLITE_DELETE_EMPTY_ROUNDS, params![gemeente, before_s])?)
        }
        Backend::Postgres(mut t) => Ok(count(t.execute(
            "DELETE FROM round WHERE gemeente_id = $1 AND started_at < $2
               AND user_id IN (SELECT id FROM \"user\" WHERE gemeente_id = $1)
               AND NOT EXISTS (SELECT 1 FROM contact c
                               WHERE c.gemeente_id = round.gemeente_id AND c.round_id = round.id)",
            &[&gemeente, &before_s],
        )?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_sqlite_the_empty_rounds_are_found_with_one_read_of_the_contacts_not_one_per_round() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (conn, _) = crate::setup::test_gemeente_db(&dir.path().join("r.db"));
        let mut plan = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {SQLITE_DELETE_EMPTY_ROUNDS}"))
            .expect("explain");
        let steps: Vec<String> = plan
            .query_map(params!["g", 0], |r| r.get(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("steps");
        assert!(
            !steps.iter().any(|s| s.contains("CORRELATED")),
            "a subquery runs once per round: {steps:?}"
        );
    }
}

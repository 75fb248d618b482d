//! A gemeente's rules as the admin changes them: the norms on the `gemeente` row and the
//! `area_rule` rows (each rule kept as JSON; a correction of a rule in force is a new row, see
//! [`crate::admin_rules::change_area_rule`]). Owns the writes and the admin's own reads of
//! [`crate::setup::set_norms`] and [`crate::admin_rules`]; what the phones get (the device
//! config) is read elsewhere. Validation, the art. 172b refusal and the audit text stay in
//! the domain modules.

use avondronde_shared::norms::{AreaRule, NormSet};
use avondronde_shared::{AreaRuleId, GemeenteId};
use rusqlite::params;

use super::Tx;
use super::accounts::change;
use crate::db::DbError;

/// A count of changed rows as the callers take it.
fn rows(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Replaces a gemeente's norms. Returns how many gemeenten changed (0 or 1).
pub fn set_norms(tx: &Tx, gemeente: GemeenteId, norms: &NormSet) -> Result<usize, DbError> {
    let norms = serde_json::to_string(norms)?;
    Ok(rows(change(
        tx,
        "UPDATE gemeente SET norms = ?1 WHERE id = ?2",
        "UPDATE gemeente SET norms = $1 WHERE id = $2",
        params![norms, gemeente],
        &[&norms, &gemeente],
    )?))
}

/// Removes every area rule of a gemeente. Returns how many went.
pub fn delete_area_rules_of(tx: &Tx, gemeente: GemeenteId) -> Result<usize, DbError> {
    Ok(rows(change(
        tx,
        "DELETE FROM area_rule WHERE gemeente_id = ?1",
        "DELETE FROM area_rule WHERE gemeente_id = $1",
        params![gemeente],
        &[&gemeente],
    )?))
}

/// Stores one area rule (in its own gemeente).
pub fn insert_area_rule(tx: &Tx, rule: &AreaRule) -> Result<(), DbError> {
    let json = serde_json::to_string(rule)?;
    change(
        tx,
        "INSERT INTO area_rule (id, gemeente_id, rule) VALUES (?1, ?2, ?3)",
        "INSERT INTO area_rule (id, gemeente_id, rule) VALUES ($1, $2, $3)",
        params![rule.id, rule.gemeente, json],
        &[&rule.id, &rule.gemeente, &json],
    )?;
    Ok(())
}

/// Removes one area rule of a gemeente. Returns how many went (0 if it is not there or
/// belongs to another gemeente).
pub fn delete_area_rule(tx: &Tx, id: AreaRuleId, gemeente: GemeenteId) -> Result<usize, DbError> {
    Ok(rows(change(
        tx,
        "DELETE FROM area_rule WHERE id = ?1 AND gemeente_id = ?2",
        "DELETE FROM area_rule WHERE id = $1 AND gemeente_id = $2",
        params![id, gemeente],
        &[&id, &gemeente],
    )?))
}

/// Replaces a stored area rule of a gemeente with a new content under the same id (a
/// correction before the rule took effect, or the end date of the version a correction
/// replaces). Returns how many changed (0 if it is not there or belongs to another
/// gemeente).
pub fn update_area_rule(tx: &Tx, rule: &AreaRule) -> Result<usize, DbError> {
    let json = serde_json::to_string(rule)?;
    Ok(rows(change(
        tx,
        "UPDATE area_rule SET rule = ?1 WHERE id = ?2 AND gemeente_id = ?3",
        "UPDATE area_rule SET rule = $1 WHERE id = $2 AND gemeente_id = $3",
        params![json, rule.id, rule.gemeente],
        &[&json, &rule.id, &rule.gemeente],
    )?))
}

//! A gemeente's rules as the admin changes them: the norms on the `gemeente` row and the
//! `area_rule` rows (each rule kept as JSON). Owns the writes and the admin's own reads of
//! [`crate::setup::set_norms`] and [`crate::admin_rules`]; what the phones get (the device
//! config) is read elsewhere. Validation, the art. 172b refusal and the audit text stay in
//! the domain modules.

use avondronde_shared::norms::{AreaRule, NormSet};
use avondronde_shared::{AreaRuleId, GemeenteId};
use rusqlite::params;

use super::Tx;
use crate::db::DbError;

/// Replaces a gemeente's norms. Returns how many gemeenten changed (0 or 1).
pub fn set_norms(tx: &Tx, gemeente: GemeenteId, norms: &NormSet) -> Result<usize, DbError> {
    Ok(tx.conn()?.execute(
        "UPDATE gemeente SET norms = ?1 WHERE id = ?2",
        params![serde_json::to_string(norms)?, gemeente],
    )?)
}

/// Removes every area rule of a gemeente. Returns how many went.
pub fn delete_area_rules_of(tx: &Tx, gemeente: GemeenteId) -> Result<usize, DbError> {
    Ok(tx.conn()?.execute(
        "DELETE FROM area_rule WHERE gemeente_id = ?1",
        params![gemeente],
    )?)
}

/// Stores one area rule (in its own gemeente).
pub fn insert_area_rule(tx: &Tx, rule: &AreaRule) -> Result<(), DbError> {
    tx.conn()?.execute(
        "INSERT INTO area_rule (id, gemeente_id, rule) VALUES (?1, ?2, ?3)",
        params![rule.id, rule.gemeente, serde_json::to_string(rule)?],
    )?;
    Ok(())
}

/// A gemeente's area rules, in no particular order.
pub fn area_rules_of(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<AreaRule>, DbError> {
    let mut stmt = tx
        .conn()?
        .prepare("SELECT rule FROM area_rule WHERE gemeente_id = ?1")?;
    let rows = stmt.query_map(params![gemeente], |r| r.get::<_, String>(0))?;
    rows.map(|j| Ok(serde_json::from_str(&j?)?)).collect()
}

/// Removes one area rule of a gemeente. Returns how many went (0 if it is not there or
/// belongs to another gemeente).
pub fn delete_area_rule(tx: &Tx, id: AreaRuleId, gemeente: GemeenteId) -> Result<usize, DbError> {
    Ok(tx.conn()?.execute(
        "DELETE FROM area_rule WHERE id = ?1 AND gemeente_id = ?2",
        params![id, gemeente],
    )?)
}

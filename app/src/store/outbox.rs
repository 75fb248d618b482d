//! The outbox: every record waiting for the server, in local insertion order.
//!
//! A row is written in the same transaction as the record it carries. The sync engine
//! reads pending rows as [`Entry`] values for the pure plan in
//! [`avondronde_shared::sync`], sends their bodies, and writes back the plan's
//! [`Transition`]s. Rows are never deleted: a sent row keeps the server's receipt, a
//! refused row its reason, so the status list can show both.

use avondronde_shared::sync::{
    Entry, EntryState, ItemKind, ItemRef, Payload, PushItem, Transition,
};
use jiff::Timestamp;
use rusqlite::{Transaction, params};
use serde_json::value::RawValue;

use super::{Result, Store, from_ms, ms};

/// One outbox row as the status list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// Local insertion counter.
    pub local_seq: u64,
    /// What kind of record.
    pub kind: ItemKind,
    /// The record's id.
    pub item_id: String,
    /// Waiting, sent (with receipt) or refused (with reason).
    pub state: EntryState,
    /// Failed attempts.
    pub attempts: u32,
    /// When it was queued (device clock, display only).
    pub created_at: Timestamp,
}

/// How many rows are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting to be sent.
    pub pending: u32,
    /// Sent.
    pub sent: u32,
    /// Refused.
    pub quarantined: u32,
}

fn status_of(state: &EntryState) -> &'static str {
    match state {
        EntryState::Pending { .. } => "pending",
        EntryState::Sent(_) => "sent",
        EntryState::Quarantined { .. } => "quarantined",
    }
}

/// Queues a payload inside the caller's transaction; returns its local sequence number.
pub(crate) fn enqueue(tx: &Transaction<'_>, payload: &Payload, now: Timestamp) -> Result<u64> {
    let state = EntryState::Pending { attempts: 0 };
    tx.prepare_cached(
        "INSERT INTO outbox (kind, item_id, body, status, state, attempts, created_at)
         VALUES (?1, ?2, ?3, 'pending', ?4, 0, ?5)",
    )?
    .execute(params![
        payload.kind().code(),
        payload.id().to_string(),
        payload.body_json()?,
        serde_json::to_string(&state)?,
        ms(now),
    ])?;
    Ok(tx.last_insert_rowid().max(0) as u64)
}

impl Store {
    /// The pending entries, oldest first, as the sync plan sees them.
    pub fn pending_entries(&self) -> Result<Vec<Entry>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT local_seq, kind, item_id, length(body), state FROM outbox
             WHERE status = 'pending' ORDER BY local_seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, kind, id, len, state) = row?;
            out.push(Entry {
                local_seq: seq.max(0) as u64,
                kind: ItemKind::from(kind),
                id,
                body_len: len.max(0) as usize,
                state: serde_json::from_str(&state)?,
            });
        }
        Ok(out)
    }

    /// The entries of these items, in whatever state they are (the parents a `retry`
    /// receipt names). Items this outbox never held are skipped.
    pub fn entries_of(&self, items: &[ItemRef]) -> Result<Vec<Entry>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT local_seq, length(body), state FROM outbox WHERE kind = ?1 AND item_id = ?2",
        )?;
        let mut out = Vec::new();
        for item in items {
            let mut rows = stmt.query(params![item.kind.code(), item.id])?;
            if let Some(r) = rows.next()? {
                out.push(Entry {
                    local_seq: r.get::<_, i64>(0)?.max(0) as u64,
                    kind: item.kind.clone(),
                    id: item.id.clone(),
                    body_len: r.get::<_, i64>(1)?.max(0) as usize,
                    state: serde_json::from_str(&r.get::<_, String>(2)?)?,
                });
            }
        }
        Ok(out)
    }

    /// The wire items for the given entries, in the given order.
    pub fn push_items(&self, seqs: &[u64]) -> Result<Vec<PushItem>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT kind, item_id, body FROM outbox WHERE local_seq = ?1")?;
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
            let (kind, id, body) = stmt.query_row(params![*seq as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            out.push(PushItem {
                kind: ItemKind::from(kind),
                id,
                body: RawValue::from_string(body)?,
            });
        }
        Ok(out)
    }

    /// Writes the plan's transitions in one transaction.
    pub fn apply_transitions(&mut self, transitions: &[Transition]) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE outbox SET status = ?1, state = ?2, attempts = ?3 WHERE local_seq = ?4",
            )?;
            for t in transitions {
                let attempts = match &t.state {
                    EntryState::Pending { attempts } => *attempts,
                    _ => 0,
                };
                stmt.execute(params![
                    status_of(&t.state),
                    serde_json::to_string(&t.state)?,
                    attempts,
                    t.local_seq as i64,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Counts one more failed attempt for each of these pending entries.
    pub fn count_failed_attempt(&mut self, batch: &[Entry]) -> Result<()> {
        let transitions: Vec<Transition> = batch
            .iter()
            .map(|e| Transition {
                local_seq: e.local_seq,
                state: EntryState::Pending {
                    attempts: match e.state {
                        EntryState::Pending { attempts } => attempts.saturating_add(1),
                        _ => 1,
                    },
                },
            })
            .collect();
        self.apply_transitions(&transitions)
    }

    /// The newest rows first, at most `limit`.
    pub fn outbox_rows(&self, limit: u32) -> Result<Vec<OutboxRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT local_seq, kind, item_id, state, attempts, created_at FROM outbox
             ORDER BY (status = 'pending') DESC, (status = 'quarantined') DESC, local_seq DESC
             LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, kind, id, state, attempts, created) = row?;
            out.push(OutboxRow {
                local_seq: seq.max(0) as u64,
                kind: ItemKind::from(kind),
                item_id: id,
                state: serde_json::from_str(&state)?,
                attempts: u32::try_from(attempts).unwrap_or(0),
                created_at: from_ms(created),
            });
        }
        Ok(out)
    }

    /// How many rows are in each state.
    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        let mut counts = OutboxCounts::default();
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT status, count(*) FROM outbox GROUP BY status")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (status, n) = row?;
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            match status.as_str() {
                "pending" => counts.pending = n,
                "sent" => counts.sent = n,
                _ => counts.quarantined = n,
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use avondronde_shared::RoundId;
    use avondronde_shared::round::RoundEnd;
    use avondronde_shared::sync::Acceptance;

    use super::*;

    #[test]
    fn enqueued_items_come_back_in_order_and_take_their_transitions() {
        let mut store = Store::open_in_memory().expect("store");
        let now = Timestamp::now();
        let payloads: Vec<Payload> = (0..3)
            .map(|_| {
                Payload::RoundEnd(RoundEnd {
                    round: RoundId::new(),
                    ended_at: now,
                })
            })
            .collect();
        {
            let tx = store.conn_mut().transaction().expect("tx");
            for p in &payloads {
                enqueue(&tx, p, now).expect("enqueue");
            }
            tx.commit().expect("commit");
        }
        let entries = store.pending_entries().expect("entries");
        assert_eq!(entries.len(), 3);
        assert!(entries.windows(2).all(|w| w[0].local_seq < w[1].local_seq));
        let items = store.push_items(&[entries[1].local_seq]).expect("items");
        assert_eq!(items[0].id, payloads[1].id().to_string());
        let sent = EntryState::Sent(Acceptance {
            seq: 7,
            received_at: now,
        });
        store
            .apply_transitions(&[Transition {
                local_seq: entries[0].local_seq,
                state: sent.clone(),
            }])
            .expect("apply");
        store.count_failed_attempt(&entries[1..2]).expect("fail");
        let counts = store.outbox_counts().expect("counts");
        assert_eq!((counts.pending, counts.sent), (2, 1));
        let rows = store.outbox_rows(10).expect("rows");
        assert!(rows.iter().any(|r| r.state == sent));
        assert!(rows.iter().any(|r| r.attempts == 1));
    }
}

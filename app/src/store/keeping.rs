//! What the phone keeps, and for how long (issue 10): what a previous enrolment left
//! unsent, deleting receipted contacts after the gemeente's retention, deleting care-form
//! drafts that are too old, and the app PIN's hash and failure count.
//!
//! A lost phone is only as harmless as what is still on it, so everything that has done its
//! work goes: a contact once the server has receipted it and "Eerder hier" no longer needs
//! it, a draft with a child's name once it is a week old. The rules themselves (how old is
//! too old) are pure, in [`crate::keeping`]; this module only runs the SQL.

use avondronde_shared::CareFormId;
use jiff::Timestamp;
use rusqlite::params;

use super::{Result, Store, StoreError, ms};

/// What the current (or a previous) enrolment left on the phone that was never sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Outbox items waiting to be sent.
    pub pending: u32,
    /// Care-form drafts not yet sealed.
    pub drafts: u32,
    /// Whether a round is still in progress.
    pub open_round: bool,
}

impl Leftovers {
    /// The number of unsent items (outbox items plus drafts), as the confirmation names it.
    pub fn items(&self) -> u32 {
        self.pending.saturating_add(self.drafts)
    }

    /// Whether nothing is left that would end up under another user.
    pub fn is_empty(&self) -> bool {
        self.items() == 0 && !self.open_round
    }
}

/// What one housekeeping pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Receipted contacts past the retention.
    pub contacts: u32,
    /// Sent outbox rows past the retention (their bodies held the contacts' facts).
    pub outbox_rows: u32,
    /// Ended rounds with nothing left in them.
    pub rounds: u32,
    /// Care-form drafts past their maximum age.
    pub drafts: u32,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Store {
    /// What is unsent on this phone: pending outbox items, drafts and a round in progress.
    pub fn leftovers(&self) -> Result<Leftovers> {
        let pending = self.outbox_counts()?.pending;
        let drafts: i64 =
            self.conn()
                .query_row("SELECT count(*) FROM care_form_draft", [], |r| r.get(0))?;
        Ok(Leftovers {
            pending,
            drafts: u32::try_from(drafts).unwrap_or(u32::MAX),
            open_round: self.active_round()?.is_some(),
        })
    }

    /// Throws away what a previous user left unsent, in one transaction: pending outbox
    /// items, all drafts, and the round in progress is closed on the phone without being
    /// sent. `confirmed` is the number of items the user agreed to throw away; if it no
    /// longer matches (something changed meanwhile), nothing is deleted.
    pub fn discard_leftovers(&mut self, confirmed: u32, now: Timestamp) -> Result<Leftovers> {
        let found = self.leftovers()?;
        if found.items() != confirmed {
            return Err(StoreError::NotFound("dezelfde niet-verzonden items"));
        }
        let tx = self.conn_mut().transaction()?;
        tx.execute("DELETE FROM care_form_draft", [])?;
        tx.execute("DELETE FROM outbox WHERE status = 'pending'", [])?;
        tx.execute(
            "UPDATE round SET ended_at = ?1 WHERE ended_at IS NULL",
            params![ms(now)],
        )?;
        tx.commit()?;
        self.checkpoint();
        Ok(found)
    }

    /// Deletes one care-form draft on purpose ("weggooien"); its plaintext goes at once.
    pub fn discard_draft(&mut self, id: CareFormId) -> Result<()> {
        let n = self.conn().execute(
            "DELETE FROM care_form_draft WHERE id = ?1",
            params![id.to_string()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound("concept"));
        }
        self.checkpoint();
        Ok(())
    }

    /// The care-form drafts with the time each was started (its contact's time), oldest
    /// first, for the draft-age rules.
    pub fn draft_ages(&self) -> Result<Vec<(CareFormId, Timestamp)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT d.id, coalesce(c.observed_at, d.updated_at) FROM care_form_draft d
             LEFT JOIN contact c ON c.id = d.contact_id
             ORDER BY 2",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at) = row?;
            let id = id
                .parse()
                .map_err(|_| StoreError::NotFound("formulier-id"))?;
            out.push((id, super::from_ms(at)));
        }
        Ok(out)
    }

    /// One housekeeping pass at `now`: deletes drafts started before `drafts_before`, and
    /// contacts (with their sent outbox rows and emptied rounds) from before
    /// `contacts_before` that the server has receipted. A contact of the round in
    /// progress, one with an unsent outbox row, and one with a draft all stay.
    pub fn sweep(&mut self, contacts_before: Timestamp, drafts_before: Timestamp) -> Result<Swept> {
        let tx = self.conn_mut().transaction()?;
        let drafts = tx.execute(
            "DELETE FROM care_form_draft WHERE id IN (
                 SELECT d.id FROM care_form_draft d
                 LEFT JOIN contact c ON c.id = d.contact_id
                 WHERE coalesce(c.observed_at, d.updated_at) < ?1)",
            params![ms(drafts_before)],
        )?;
        let contacts = tx.execute(
            "DELETE FROM contact WHERE observed_at < ?1
               AND round_id NOT IN (SELECT id FROM round WHERE ended_at IS NULL)
               AND NOT EXISTS (SELECT 1 FROM outbox o
                               WHERE o.item_id = contact.id AND o.status <> 'sent')
               AND NOT EXISTS (SELECT 1 FROM care_form_draft d WHERE d.contact_id = contact.id)",
            params![ms(contacts_before)],
        )?;
        let outbox_rows = tx.execute(
            "DELETE FROM outbox WHERE status = 'sent' AND created_at < ?1",
            params![ms(contacts_before)],
        )?;
        let rounds = tx.execute(
            "DELETE FROM round WHERE ended_at IS NOT NULL AND ended_at < ?1
               AND NOT EXISTS (SELECT 1 FROM contact c WHERE c.round_id = round.id)
               AND NOT EXISTS (SELECT 1 FROM outbox o
                               WHERE o.item_id = round.id AND o.status <> 'sent')",
            params![ms(contacts_before)],
        )?;
        tx.commit()?;
        let swept = Swept {
            contacts: count(contacts),
            outbox_rows: count(outbox_rows),
            rounds: count(rounds),
            drafts: count(drafts),
        };
        if swept != Swept::default() {
            self.checkpoint();
        }
        Ok(swept)
    }

    /// One housekeeping pass at `now` under the pulled configuration's rules (the
    /// defaults before the first pull); see [`crate::keeping`].
    pub fn housekeep(&mut self, now: Timestamp) -> Result<Swept> {
        let policy = self.config()?.map(|c| c.phone).unwrap_or_default();
        let cut = crate::keeping::cutoffs(policy, now);
        self.sweep(cut.contacts_before, cut.drafts_before)
    }

    /// Copies the WAL into the (encrypted, secure-deleted) database and truncates it, so
    /// no copy of a deleted page stays behind in the WAL file.
    fn checkpoint(&self) {
        if let Err(e) = self
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        {
            tracing::warn!("wal checkpoint failed: {e}");
        }
    }

    /// The app PIN's hash (a PHC string), if a PIN was set.
    pub fn pin_hash(&self) -> Result<Option<String>> {
        self.meta("pin_hash")
    }

    /// Sets the PIN's hash and clears the failure count.
    pub fn set_pin_hash(&self, phc: &str) -> Result<()> {
        self.set_meta("pin_hash", phc)?;
        self.set_pin_failures(0)
    }

    /// Forgets the PIN (a new enrolment: the new user chooses their own).
    pub fn clear_pin(&self) -> Result<()> {
        self.conn().execute(
            "DELETE FROM meta WHERE key IN ('pin_hash', 'pin_failures')",
            [],
        )?;
        Ok(())
    }

    /// Wrong PINs in a row.
    pub fn pin_failures(&self) -> Result<u32> {
        Ok(self
            .meta("pin_failures")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Stores the count of wrong PINs in a row (kept in the store, so restarting the app
    /// does not reset it).
    pub fn set_pin_failures(&self, n: u32) -> Result<()> {
        self.set_meta("pin_failures", &n.to_string())
    }
}

#[cfg(test)]
mod tests {
    use avondronde_shared::contact::{ContactFacts, GroupCounts, Location};
    use avondronde_shared::round::{Round, RoundEnd};
    use avondronde_shared::sync::{Acceptance, EntryState, Transition};
    use avondronde_shared::{AgeBand, ContactId, RoundId, StreetContact, WijkId};
    use jiff::SignedDuration;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    fn days(n: i64) -> SignedDuration {
        SignedDuration::from_hours(24 * n)
    }

    fn contact(round: RoundId, when: Timestamp) -> StreetContact {
        StreetContact {
            id: ContactId::new(),
            round,
            facts: ContactFacts {
                observed_at: when,
                utc_offset_s: 3600,
                location: Location::gps(51.91, 4.44, 10.0, 0),
                group: GroupCounts {
                    age10_11: 2,
                    ..Default::default()
                },
                supervised: false,
                behaviours: vec![],
                actions: vec![],
                brought_home: 0,
            },
        }
    }

    fn mark_all_sent(store: &mut Store, when: Timestamp) {
        let entries = store.pending_entries().expect("entries");
        let t: Vec<Transition> = entries
            .iter()
            .map(|e| Transition {
                local_seq: e.local_seq,
                state: EntryState::Sent(Acceptance {
                    seq: e.local_seq,
                    received_at: when,
                }),
            })
            .collect();
        store.apply_transitions(&t).expect("sent");
    }

    fn round(store: &mut Store, start: Timestamp) -> RoundId {
        let r = Round {
            id: RoundId::new(),
            wijk: WijkId::new(),
            partner: Some("Sam".into()),
            started_at: start,
        };
        store.start_round(&r, "Delfshaven", start).expect("round");
        r.id
    }

    fn end(store: &mut Store, id: RoundId, when: Timestamp) {
        store
            .end_round(
                &RoundEnd {
                    round: id,
                    ended_at: when,
                },
                when,
            )
            .expect("end");
    }

    #[test]
    fn a_receipted_contact_goes_after_the_retention_and_an_unsent_or_recent_one_stays() {
        let mut store = Store::open_in_memory().expect("store");
        let old = at("2026-10-01T20:00:00Z");
        let now = at("2026-11-20T21:00:00Z");
        let r = round(&mut store, old);
        let sent_old = contact(r, old);
        store.save_contact(&sent_old, &[], old).expect("save");
        end(&mut store, r, old + SignedDuration::from_hours(2));
        mark_all_sent(&mut store, old);
        // An old contact whose outbox row never went out: stays.
        let r2 = round(&mut store, old);
        mark_all_sent(&mut store, old);
        let unsent_old = contact(r2, old);
        store.save_contact(&unsent_old, &[], old).expect("save");
        end(&mut store, r2, old + SignedDuration::from_hours(2));
        // A recent receipted one: stays.
        let r3 = round(&mut store, now - days(3));
        let recent = contact(r3, now - days(3));
        store
            .save_contact(&recent, &[], now - days(3))
            .expect("save");
        let cutoff = now - days(30);
        // r2's contact and end are pending; r3's round and contact too. Send r3's only.
        let pending = store.pending_entries().expect("p");
        let r3_rows: Vec<_> = pending
            .iter()
            .filter(|e| e.id == r3.to_string() || e.id == recent.id.to_string())
            .map(|e| Transition {
                local_seq: e.local_seq,
                state: EntryState::Sent(Acceptance {
                    seq: 1,
                    received_at: now,
                }),
            })
            .collect();
        store.apply_transitions(&r3_rows).expect("sent");

        let swept = store.sweep(cutoff, now - days(7)).expect("sweep");
        assert_eq!(swept.contacts, 1, "{swept:?}");
        assert!(store.contact(sent_old.id).expect("read").is_none());
        assert!(store.contact(unsent_old.id).expect("read").is_some());
        assert!(store.contact(recent.id).expect("read").is_some());
        assert!(
            store.round(r).expect("round").is_none(),
            "emptied round goes"
        );
        assert!(store.round(r2).expect("round").is_some());
        // The sent rows that carried the old contact's facts are gone too.
        let rows = store.outbox_rows(100).expect("rows");
        assert!(
            !rows
                .iter()
                .any(|row| row.item_id == sent_old.id.to_string())
        );
        assert!(
            rows.iter()
                .any(|row| row.item_id == unsent_old.id.to_string())
        );
        // Idempotent.
        assert_eq!(
            store.sweep(cutoff, now - days(7)).expect("again"),
            Swept::default()
        );
    }

    #[test]
    fn a_draft_older_than_its_limit_is_deleted_and_a_younger_one_stays() {
        let mut store = Store::open_in_memory().expect("store");
        let now = at("2026-11-20T21:00:00Z");
        let r = round(&mut store, now - days(9));
        let mut old = contact(r, now - days(8));
        old.facts.actions = vec![avondronde_shared::contact::Action::BroughtHome];
        old.facts.brought_home = 1;
        let mut young = contact(r, now - days(6));
        young.facts.actions = old.facts.actions.clone();
        young.facts.brought_home = 1;
        let old_form = CareFormId::new();
        let young_form = CareFormId::new();
        store
            .save_contact(&old, &[(old_form, AgeBand::Age6To9)], now - days(8))
            .expect("save");
        store
            .save_contact(&young, &[(young_form, AgeBand::Age6To9)], now - days(6))
            .expect("save");
        let ages = store.draft_ages().expect("ages");
        assert_eq!(
            ages,
            vec![(old_form, now - days(8)), (young_form, now - days(6))]
        );
        let swept = store.sweep(now - days(30), now - days(7)).expect("sweep");
        assert_eq!(swept.drafts, 1);
        assert!(store.draft(old_form).expect("read").is_none());
        assert!(store.draft(young_form).expect("read").is_some());
    }

    #[test]
    fn leftovers_count_pending_items_and_drafts_and_discarding_needs_the_same_number() {
        let mut store = Store::open_in_memory().expect("store");
        let now = at("2026-11-20T21:00:00Z");
        assert!(store.leftovers().expect("l").is_empty());
        let r = round(&mut store, now);
        let mut c = contact(r, now);
        c.facts.actions = vec![avondronde_shared::contact::Action::BroughtHome];
        c.facts.brought_home = 1;
        store
            .save_contact(&c, &[(CareFormId::new(), AgeBand::Age6To9)], now)
            .expect("save");
        let left = store.leftovers().expect("l");
        assert_eq!(
            left,
            Leftovers {
                pending: 2,
                drafts: 1,
                open_round: true
            }
        );
        assert_eq!(left.items(), 3);
        assert!(store.discard_leftovers(2, now).is_err(), "a stale count");
        assert_eq!(store.leftovers().expect("l").items(), 3, "nothing deleted");
        store.discard_leftovers(3, now).expect("discard");
        assert!(store.leftovers().expect("l").is_empty());
    }
}

//! Rounds and street contacts (and corrections to them), each written together with its
//! outbox row.

use avondronde_shared::care::CareFormEnvelope;
use avondronde_shared::round::{Round, RoundEnd};
use avondronde_shared::sync::{ContactCorrection, Payload};
use avondronde_shared::{AgeBand, CareFormId, RoundId, StreetContact, WijkId};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::outbox::enqueue;
use super::{Result, Store, StoreError, from_ms, ms};
use crate::care::CareDraft;

/// A round as the app shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundInfo {
    /// Its id.
    pub id: RoundId,
    /// The wijk.
    pub wijk: WijkId,
    /// The wijk's name.
    pub wijk_name: String,
    /// The partner, if any.
    pub partner: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended, if it did.
    pub ended_at: Option<Timestamp>,
}

/// Earth's mean radius in metres, for distances of a few hundred metres.
const EARTH_M: f64 = 6_371_000.0;

/// Great-circle distance in metres.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_M * a.sqrt().asin()
}

impl Store {
    /// Starts a round: the round and its outbox row in one transaction.
    pub fn start_round(&mut self, round: &Round, wijk_name: &str, now: Timestamp) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "INSERT INTO round (id, wijk_id, wijk_name, partner, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                round.id.to_string(),
                round.wijk.to_string(),
                wijk_name,
                round.partner,
                ms(round.started_at)
            ],
        )?;
        enqueue(&tx, &Payload::Round(round.clone()), now)?;
        tx.commit()?;
        Ok(())
    }

    /// Ends a round: the end time and its outbox row in one transaction.
    pub fn end_round(&mut self, end: &RoundEnd, now: Timestamp) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        let n = tx.execute(
            "UPDATE round SET ended_at = ?1 WHERE id = ?2 AND ended_at IS NULL",
            params![ms(end.ended_at), end.round.to_string()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound("lopende ronde"));
        }
        enqueue(&tx, &Payload::RoundEnd(end.clone()), now)?;
        tx.commit()?;
        Ok(())
    }

    /// The round in progress, if any.
    pub fn active_round(&self) -> Result<Option<RoundInfo>> {
        self.conn()
            .prepare_cached(
                "SELECT id, wijk_id, wijk_name, partner, started_at, ended_at FROM round
                 WHERE ended_at IS NULL ORDER BY started_at DESC LIMIT 1",
            )?
            .query_row([], round_info)
            .optional()?
            .transpose()
    }

    /// A round by id.
    pub fn round(&self, id: RoundId) -> Result<Option<RoundInfo>> {
        self.conn()
            .prepare_cached(
                "SELECT id, wijk_id, wijk_name, partner, started_at, ended_at FROM round WHERE id = ?1",
            )?
            .query_row(params![id.to_string()], round_info)
            .optional()?
            .transpose()
    }

    /// Saves a contact with its outbox row and an empty care-form draft per child brought
    /// home, in one transaction. When this returns the contact is on disk.
    pub fn save_contact(
        &mut self,
        contact: &StreetContact,
        care_forms: &[(CareFormId, AgeBand)],
        now: Timestamp,
    ) -> Result<u64> {
        let tx = self.conn_mut().transaction()?;
        let facts = &contact.facts;
        tx.prepare_cached(
            "INSERT INTO contact (id, round_id, observed_at, lat, lon, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            contact.id.to_string(),
            contact.round.to_string(),
            ms(facts.observed_at),
            facts.location.lat,
            facts.location.lon,
            serde_json::to_string(contact)?,
        ])?;
        let seq = enqueue(&tx, &Payload::Contact(contact.clone()), now)?;
        add_drafts(&tx, contact.id, 1, care_forms, now)?;
        tx.commit()?;
        Ok(seq)
    }

    /// A contact by id.
    pub fn contact(&self, id: avondronde_shared::ContactId) -> Result<Option<StreetContact>> {
        let body: Option<String> = self
            .conn()
            .prepare_cached("SELECT body FROM contact WHERE id = ?1")?
            .query_row(params![id.to_string()], |r| r.get(0))
            .optional()?;
        Ok(match body {
            Some(b) => Some(serde_json::from_str(&b)?),
            None => None,
        })
    }

    /// Corrects a contact of the round in progress: its local facts and the correction's
    /// outbox row in one transaction. A contact of an ended round (or of no known round)
    /// is refused with [`StoreError::NotInActiveRound`]; an unknown contact with
    /// [`StoreError::NotFound`].
    pub fn correct_contact(
        &mut self,
        correction: &ContactCorrection,
        care_forms: &[(CareFormId, AgeBand)],
        now: Timestamp,
    ) -> Result<Vec<CareFormId>> {
        let tx = self.conn_mut().transaction()?;
        let row: Option<(String, bool)> = tx
            .prepare_cached(
                "SELECT c.body, c.round_id = (SELECT id FROM round WHERE ended_at IS NULL
                                             ORDER BY started_at DESC LIMIT 1)
                 FROM contact c WHERE c.id = ?1",
            )?
            .query_row(params![correction.contact.to_string()], |r| {
                Ok((r.get(0)?, r.get::<_, Option<bool>>(1)?.unwrap_or(false)))
            })
            .optional()?;
        let Some((body, active)) = row else {
            return Err(StoreError::NotFound("contact"));
        };
        if !active {
            return Err(StoreError::NotInActiveRound);
        }
        let mut contact: StreetContact = serde_json::from_str(&body)?;
        contact.facts = correction.facts.clone();
        let facts = &contact.facts;
        tx.prepare_cached(
            "UPDATE contact SET observed_at = ?1, lat = ?2, lon = ?3, body = ?4 WHERE id = ?5",
        )?
        .execute(params![
            ms(facts.observed_at),
            facts.location.lat,
            facts.location.lon,
            serde_json::to_string(&contact)?,
            contact.id.to_string(),
        ])?;
        enqueue(&tx, &Payload::Correction(correction.clone()), now)?;
        // More children brought home than before: a care form for each one more. Forms
        // already there (drafts or sent) stay as they are; nothing is taken back.
        let existing: usize = tx
            .prepare_cached(
                "SELECT (SELECT COUNT(*) FROM care_form_draft WHERE contact_id = ?1)
                      + (SELECT COUNT(*) FROM care_form_sent WHERE contact_id = ?1)",
            )?
            .query_row(params![contact.id.to_string()], |r| r.get::<_, i64>(0))?
            .try_into()
            .unwrap_or(0);
        let added = care_forms.get(existing..).unwrap_or_default();
        add_drafts(&tx, contact.id, existing + 1, added, now)?;
        tx.commit()?;
        Ok(added.iter().map(|(id, _)| *id).collect())
    }

    /// The contacts of the round in progress, in the order they happened (none without a
    /// round), as saved or last corrected.
    pub fn contacts_of_active_round(&self) -> Result<Vec<StreetContact>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT body FROM contact WHERE round_id = (SELECT id FROM round WHERE ended_at IS NULL
                                                       ORDER BY started_at DESC LIMIT 1)
             ORDER BY observed_at, id",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    /// How many contacts a round has.
    pub fn contacts_in_round(&self, round: RoundId) -> Result<u32> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM contact WHERE round_id = ?1")?
            .query_row(params![round.to_string()], |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The round that ended last, if any (for the summary after "Ronde beëindigen").
    pub fn last_ended_round(&self) -> Result<Option<RoundInfo>> {
        self.conn()
            .prepare_cached(
                "SELECT id, wijk_id, wijk_name, partner, started_at, ended_at FROM round
                 WHERE ended_at IS NOT NULL ORDER BY ended_at DESC, started_at DESC LIMIT 1",
            )?
            .query_row([], round_info)
            .optional()?
            .transpose()
    }

    /// How many care forms were sealed for the contacts of a round.
    pub fn sealed_forms_in_round(&self, round: RoundId) -> Result<u32> {
        let n: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM care_form_sent s JOIN contact c ON c.id = s.contact_id
                 WHERE c.round_id = ?1",
            )?
            .query_row(params![round.to_string()], |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// How many contacts this device recorded within `radius_m` of a point since `since`
    /// ("Eerder hier"). A bounding box narrows the rows; the exact distance decides.
    pub fn contacts_near(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        since: Timestamp,
    ) -> Result<u32> {
        let dlat = (radius_m / EARTH_M).to_degrees();
        let dlon = dlat / lat.to_radians().cos().abs().max(0.01);
        let mut stmt = self.conn().prepare_cached(
            "SELECT lat, lon FROM contact
             WHERE observed_at >= ?1 AND lat BETWEEN ?2 AND ?3 AND lon BETWEEN ?4 AND ?5",
        )?;
        let rows = stmt.query_map(
            params![ms(since), lat - dlat, lat + dlat, lon - dlon, lon + dlon],
            |r| Ok((r.get::<_, f64>(0)?, r.get::<_, f64>(1)?)),
        )?;
        let mut n = 0u32;
        for row in rows {
            let (a, b) = row?;
            if distance_m(lat, lon, a, b) <= radius_m {
                n = n.saturating_add(1);
            }
        }
        Ok(n)
    }

    /// This device's contacts within `radius_m` of a point since `since`, newest first, at
    /// most `limit` (the suggestions of "this hangplek"). Like [`Store::contacts_near`], a
    /// bounding box narrows the rows and the exact distance decides.
    pub fn recent_contacts_near(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<StreetContact>> {
        let dlat = (radius_m / EARTH_M).to_degrees();
        let dlon = dlat / lat.to_radians().cos().abs().max(0.01);
        let mut stmt = self.conn().prepare_cached(
            "SELECT lat, lon, body FROM contact
             WHERE observed_at >= ?1 AND lat BETWEEN ?2 AND ?3 AND lon BETWEEN ?4 AND ?5
             ORDER BY observed_at DESC",
        )?;
        let rows = stmt.query_map(
            params![ms(since), lat - dlat, lat + dlat, lon - dlon, lon + dlon],
            |r| {
                Ok((
                    r.get::<_, f64>(0)?,
                    r.get::<_, f64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            if out.len() >= limit {
                break;
            }
            let (a, b, body) = row?;
            if distance_m(lat, lon, a, b) <= radius_m {
                out.push(serde_json::from_str(&body)?);
            }
        }
        Ok(out)
    }

    /// Total number of contacts in the store.
    pub fn contact_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM contact", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Queues a sealed care form (used by [`Store::seal_draft`]).
    pub(crate) fn enqueue_care_form(
        tx: &rusqlite::Transaction<'_>,
        envelope: &CareFormEnvelope,
        now: Timestamp,
    ) -> Result<u64> {
        enqueue(tx, &Payload::CareForm(envelope.clone()), now)
    }
}

fn round_info(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<RoundInfo>> {
    let id: String = r.get(0)?;
    let wijk: String = r.get(1)?;
    let info = (|| {
        Ok(RoundInfo {
            id: id.parse().map_err(|_| StoreError::NotFound("ronde-id"))?,
            wijk: wijk.parse().map_err(|_| StoreError::NotFound("wijk-id"))?,
            wijk_name: r.get(2)?,
            partner: r.get(3)?,
            started_at: from_ms(r.get(4)?),
            ended_at: r.get::<_, Option<i64>>(5)?.map(from_ms),
        })
    })();
    Ok(info)
}

/// Empty care-form drafts for children brought home, numbered from `first_child_no`.
fn add_drafts(
    tx: &rusqlite::Transaction<'_>,
    contact: avondronde_shared::ContactId,
    first_child_no: usize,
    care_forms: &[(CareFormId, AgeBand)],
    now: Timestamp,
) -> Result<()> {
    let empty = serde_json::to_string(&CareDraft::default())?;
    for (i, (id, band)) in care_forms.iter().enumerate() {
        tx.prepare_cached(
            "INSERT INTO care_form_draft (id, contact_id, child_no, age_band, content, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            id.to_string(),
            contact.to_string(),
            (first_child_no + i) as i64,
            band.code(),
            empty,
            ms(now)
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use avondronde_shared::contact::{Behaviour, ContactFacts, GroupCounts, Location};
    use avondronde_shared::sync::ItemKind;
    use avondronde_shared::{ContactId, CorrectionId};

    use super::super::StoreKey;

    use super::*;

    fn contact(round: RoundId, lat: f64, lon: f64, at: Timestamp) -> StreetContact {
        StreetContact {
            id: ContactId::new(),
            round,
            facts: ContactFacts {
                observed_at: at,
                utc_offset_s: 3600,
                location: Location::gps(lat, lon, 8.0, 3),
                group: GroupCounts::default().with(AgeBand::Age10To11, 3),
                supervised: false,
                behaviours: vec![],
                actions: vec![],
                brought_home: 0,
            },
        }
    }

    #[test]
    fn contact_round_trip_and_eerder_hier_counts_only_near_and_recent_ones() {
        let mut store = Store::open_in_memory().expect("store");
        let now: Timestamp = "2026-11-20T21:30:00Z".parse().expect("ts");
        let round = Round {
            id: RoundId::new(),
            wijk: WijkId::new(),
            partner: None,
            started_at: now,
        };
        store.start_round(&round, "Delfshaven", now).expect("round");
        assert_eq!(
            store.active_round().expect("active").map(|r| r.id),
            Some(round.id)
        );
        let (lat, lon) = (51.9122, 4.4447);
        let near = contact(round.id, lat + 0.0005, lon, now); // ~55 m
        let far = contact(round.id, lat + 0.0020, lon, now); // ~220 m
        let old = contact(
            round.id,
            lat,
            lon,
            now - jiff::SignedDuration::from_hours(24 * 40),
        );
        for c in [&near, &far, &old] {
            store.save_contact(c, &[], now).expect("save");
        }
        assert_eq!(store.contact(near.id).expect("get"), Some(near.clone()));
        let since = now - jiff::SignedDuration::from_hours(24 * 30);
        assert_eq!(
            store.contacts_near(lat, lon, 100.0, since).expect("near"),
            1
        );
        // The suggestions of "this hangplek" read the same contacts, whole.
        assert_eq!(
            store
                .recent_contacts_near(lat, lon, 100.0, since, 10)
                .expect("recent near"),
            vec![near.clone()]
        );
        assert!(
            store
                .recent_contacts_near(lat, lon, 100.0, since, 0)
                .expect("none asked")
                .is_empty()
        );
        assert_eq!(store.contacts_in_round(round.id).expect("n"), 3);
        // Round + three contacts are queued, in order.
        assert_eq!(store.pending_entries().expect("entries").len(), 4);
    }

    fn round_at(now: Timestamp) -> Round {
        Round {
            id: RoundId::new(),
            wijk: WijkId::new(),
            partner: None,
            started_at: now,
        }
    }

    #[test]
    fn a_correction_that_brings_more_children_home_adds_a_care_form_for_each_one_more() {
        let mut store = Store::open_in_memory().expect("open");
        let now: Timestamp = "2026-11-20T21:30:00Z".parse().expect("ts");
        let round = round_at(now);
        store.start_round(&round, "Delfshaven", now).expect("round");
        let c = contact(round.id, 51.9122, 4.4447, now);
        let first = CareFormId::new();
        store
            .save_contact(&c, &[(first, AgeBand::Age6To9)], now)
            .expect("save");
        let correct = |store: &mut Store, forms: &[(CareFormId, AgeBand)]| {
            let correction = ContactCorrection {
                id: CorrectionId::new(),
                contact: c.id,
                facts: c.facts.clone(),
            };
            store
                .correct_contact(&correction, forms, now)
                .expect("correct")
        };
        // The corrected form asks for three forms; one exists, so two are added.
        let wanted: Vec<_> = (0..3)
            .map(|_| (CareFormId::new(), AgeBand::Age6To9))
            .collect();
        let added = correct(&mut store, &wanted);
        assert_eq!(added, vec![wanted[1].0, wanted[2].0]);
        let drafts = store.drafts().expect("drafts");
        assert_eq!(
            drafts
                .iter()
                .map(|d| (d.id, d.child_no))
                .collect::<Vec<_>>(),
            vec![(first, 1), (wanted[1].0, 2), (wanted[2].0, 3)]
        );
        // Fewer children in a later correction takes no form back.
        assert!(correct(&mut store, &wanted[..1]).is_empty());
        assert_eq!(store.drafts().expect("drafts").len(), 3);
    }

    /// The summary after "Ronde beëindigen" counts the last ended round's own care forms,
    /// not those of an earlier round, and nothing while no round has ended.
    #[test]
    fn the_last_ended_round_and_its_sealed_forms_are_counted_per_round() {
        let mut store = Store::open_in_memory().expect("open");
        let now: Timestamp = "2026-11-20T21:30:00Z".parse().expect("ts");
        let later: Timestamp = "2026-11-21T21:30:00Z".parse().expect("ts");
        assert_eq!(store.last_ended_round().expect("read"), None);
        let seal_one = |store: &mut Store, round: &Round, at: Timestamp| {
            store.start_round(round, "Delfshaven", at).expect("round");
            let c = contact(round.id, 51.9122, 4.4447, at);
            let form = CareFormId::new();
            store
                .save_contact(&c, &[(form, AgeBand::Age6To9)], at)
                .expect("save");
            let envelope = CareFormEnvelope {
                id: form,
                contact: c.id,
                created_at: at,
                age_band: AgeBand::Age6To9,
                recipient_key: avondronde_shared::care::RecipientKeyId("k1".into()),
                sealed: vec![1],
            };
            store.seal_draft(&envelope, at).expect("seal");
            store
                .end_round(
                    &RoundEnd {
                        round: round.id,
                        ended_at: at,
                    },
                    at,
                )
                .expect("end");
        };
        let first = round_at(now);
        seal_one(&mut store, &first, now);
        let second = round_at(later);
        seal_one(&mut store, &second, later);
        let last = store.last_ended_round().expect("read").expect("a round");
        assert_eq!((last.id, last.ended_at), (second.id, Some(later)));
        assert_eq!(store.sealed_forms_in_round(second.id).expect("count"), 1);
        assert_eq!(store.sealed_forms_in_round(first.id).expect("count"), 1);
        assert_eq!(store.contacts_in_round(second.id).expect("count"), 1);
    }

    #[test]
    fn correcting_a_contact_updates_its_facts_and_queues_one_correction_that_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let key = StoreKey::generate();
        let mut store = Store::open(&path, &key).expect("open");
        let now: Timestamp = "2026-11-20T21:30:00Z".parse().expect("ts");
        let (lat, lon) = (51.9122, 4.4447);

        // A contact of an earlier, ended round cannot be corrected.
        let old_round = round_at(now - jiff::SignedDuration::from_hours(2));
        store
            .start_round(&old_round, "Delfshaven", now)
            .expect("round");
        let old = contact(
            old_round.id,
            lat,
            lon,
            now - jiff::SignedDuration::from_hours(2),
        );
        store.save_contact(&old, &[], now).expect("save");
        store
            .end_round(
                &RoundEnd {
                    round: old_round.id,
                    ended_at: now - jiff::SignedDuration::from_hours(1),
                },
                now,
            )
            .expect("end");
        let round = round_at(now);
        store.start_round(&round, "Delfshaven", now).expect("round");
        let c = contact(round.id, lat, lon, now);
        store.save_contact(&c, &[], now).expect("save");
        assert_eq!(
            store
                .contacts_of_active_round()
                .expect("list")
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>(),
            vec![c.id],
            "only the round in progress is listed"
        );
        let before = store.pending_entries().expect("entries").len();

        let mut facts = c.facts.clone();
        facts.group = GroupCounts::default().with(AgeBand::Age10To11, 4);
        facts.behaviours = vec![Behaviour::Fireworks];
        let correction = ContactCorrection {
            id: CorrectionId::new(),
            contact: c.id,
            facts: facts.clone(),
        };
        store
            .correct_contact(&correction, &[], now)
            .expect("correct");

        let refused = ContactCorrection {
            id: CorrectionId::new(),
            contact: old.id,
            facts: facts.clone(),
        };
        assert!(matches!(
            store.correct_contact(&refused, &[], now),
            Err(StoreError::NotInActiveRound)
        ));
        let unknown = ContactCorrection {
            id: CorrectionId::new(),
            contact: ContactId::new(),
            facts: facts.clone(),
        };
        assert!(matches!(
            store.correct_contact(&unknown, &[], now),
            Err(StoreError::NotFound(_))
        ));
        drop(store);

        let store = Store::open(&path, &key).expect("reopen");
        let stored = store.contact(c.id).expect("get").expect("still there");
        assert_eq!(
            stored.facts, facts,
            "the local copy has the corrected facts"
        );
        assert_eq!(stored.round, round.id);
        assert_eq!(store.contact(old.id).expect("get"), Some(old.clone()));
        assert_eq!(store.contact_count().expect("count"), 2, "no new contact");
        let entries = store.pending_entries().expect("entries");
        assert_eq!(entries.len(), before + 1, "exactly one more outbox row");
        let last = entries.last().expect("row");
        assert_eq!(last.kind, ItemKind::Correction);
        assert_eq!(last.id, correction.id.0.to_string());
        let item = store.push_items(&[last.local_seq]).expect("item");
        let sent = Payload::parse(&ItemKind::Correction, item[0].body.get())
            .expect("parse")
            .expect("known kind");
        assert_eq!(sent, Payload::Correction(correction));
    }
}

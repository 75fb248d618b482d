//! Care-form drafts, sealed forms and the meldpunt's feedback on them.

use avondronde_shared::care::{CareFormEnvelope, CareStatus, Feedback};
use avondronde_shared::{AgeBand, CareFormId, ContactId};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Result, Store, StoreError, from_ms, ms};
use crate::care::{CareDraft, DraftRow};

/// A sealed care form as the reporter sees it: no content, only its status.
#[derive(Debug, Clone, PartialEq)]
pub struct SentForm {
    /// The form's id.
    pub id: CareFormId,
    /// The contact.
    pub contact: ContactId,
    /// The child's age band.
    pub age_band: AgeBand,
    /// When it was sealed.
    pub sealed_at: Timestamp,
    /// The meldpunt's status, once there is feedback.
    pub status: Option<CareStatus>,
    /// The meldpunt's short message.
    pub message: Option<String>,
    /// When the feedback last changed.
    pub feedback_at: Option<Timestamp>,
    /// Whether the feedback is news to the reporter.
    pub unread: bool,
}

fn parse_id<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T> {
    s.parse().map_err(|_| StoreError::NotFound(what))
}

fn band(code: &str) -> AgeBand {
    AgeBand::from_code(code).unwrap_or(AgeBand::Age10To11)
}

/// Writes feedback inside the caller's transaction.
pub(crate) fn apply_feedback(tx: &Transaction<'_>, feedback: &[Feedback]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "UPDATE care_form_sent SET status = ?1, message = ?2, feedback_at = ?3, unread = 1
         WHERE id = ?4 AND (status IS NOT ?1 OR message IS NOT ?2)",
    )?;
    for f in feedback {
        stmt.execute(params![
            f.status.code(),
            f.message,
            ms(f.updated_at),
            f.form.to_string()
        ])?;
    }
    Ok(())
}

impl Store {
    /// The open drafts, oldest first.
    pub fn drafts(&self) -> Result<Vec<DraftRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, contact_id, child_no, age_band, updated_at FROM care_form_draft
             ORDER BY contact_id, child_no",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, contact, no, b, updated) = row?;
            out.push(DraftRow {
                id: parse_id(&id, "formulier-id")?,
                contact: parse_id(&contact, "contact-id")?,
                child_no: u32::try_from(no).unwrap_or(0),
                age_band: band(&b),
                updated_at: from_ms(updated),
            });
        }
        Ok(out)
    }

    /// One draft with its content.
    pub fn draft(&self, id: CareFormId) -> Result<Option<(DraftRow, CareDraft)>> {
        let row = self
            .conn()
            .prepare_cached(
                "SELECT contact_id, child_no, age_band, updated_at, content FROM care_form_draft
                 WHERE id = ?1",
            )?
            .query_row(params![id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .optional()?;
        let Some((contact, no, b, updated, content)) = row else {
            return Ok(None);
        };
        Ok(Some((
            DraftRow {
                id,
                contact: parse_id(&contact, "contact-id")?,
                child_no: u32::try_from(no).unwrap_or(0),
                age_band: band(&b),
                updated_at: from_ms(updated),
            },
            serde_json::from_str(&content)?,
        )))
    }

    /// Saves a draft's content (on every change).
    pub fn save_draft(&self, id: CareFormId, draft: &CareDraft, now: Timestamp) -> Result<()> {
        let n = self
            .conn()
            .prepare_cached(
                "UPDATE care_form_draft SET content = ?1, updated_at = ?2 WHERE id = ?3",
            )?
            .execute(params![
                serde_json::to_string(draft)?,
                ms(now),
                id.to_string()
            ])?;
        if n == 0 {
            return Err(StoreError::NotFound("concept"));
        }
        Ok(())
    }

    /// Changes the age band of a draft.
    pub fn set_draft_band(&self, id: CareFormId, band: AgeBand) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE care_form_draft SET age_band = ?1 WHERE id = ?2")?
            .execute(params![band.code(), id.to_string()])?;
        Ok(())
    }

    /// Queues a sealed form, remembers it for feedback and deletes the plaintext draft,
    /// in one transaction; then checkpoints the WAL so no copy of the draft page stays.
    pub fn seal_draft(&mut self, envelope: &CareFormEnvelope, now: Timestamp) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        Store::enqueue_care_form(&tx, envelope, now)?;
        tx.execute(
            "INSERT INTO care_form_sent (id, contact_id, age_band, sealed_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                envelope.id.to_string(),
                envelope.contact.to_string(),
                envelope.age_band.code(),
                ms(now)
            ],
        )?;
        let n = tx.execute(
            "DELETE FROM care_form_draft WHERE id = ?1",
            params![envelope.id.to_string()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound("concept"));
        }
        tx.commit()?;
        // Best effort: in-memory stores have no WAL.
        let _ = self
            .conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        Ok(())
    }

    /// The sealed forms, newest first.
    pub fn sent_forms(&self) -> Result<Vec<SentForm>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, contact_id, age_band, sealed_at, status, message, feedback_at, unread
             FROM care_form_sent ORDER BY sealed_at DESC, id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, contact, b, sealed, status, message, at, unread) = row?;
            out.push(SentForm {
                id: parse_id(&id, "formulier-id")?,
                contact: parse_id(&contact, "contact-id")?,
                age_band: band(&b),
                sealed_at: from_ms(sealed),
                status: status.map(CareStatus::from),
                message,
                feedback_at: at.map(from_ms),
                unread: unread != 0,
            });
        }
        Ok(out)
    }

    /// How many forms have news.
    pub fn unread_feedback(&self) -> Result<u32> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM care_form_sent WHERE unread = 1")?
            .query_row([], |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Marks all feedback as seen.
    pub fn mark_feedback_read(&self) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE care_form_sent SET unread = 0 WHERE unread = 1")?
            .execute([])?;
        Ok(())
    }
}

-- Issue 10: the meldpunt key chain and the phones' outbox counts.
-- Each key row gets the Ed25519 signing key of its period (public half in the clear, the
-- seed wrapped under the meldpunt passphrase like the age identity) and the signed link
-- that phones verify against the root they pinned at enrolment.
ALTER TABLE meldpunt_key ADD COLUMN seq INTEGER;
ALTER TABLE meldpunt_key ADD COLUMN signing_key TEXT;
ALTER TABLE meldpunt_key ADD COLUMN signing_seed BLOB;      -- passphrase-encrypted Ed25519 seed
ALTER TABLE meldpunt_key ADD COLUMN valid_from INTEGER;
ALTER TABLE meldpunt_key ADD COLUMN valid_until INTEGER;
ALTER TABLE meldpunt_key ADD COLUMN signature TEXT;         -- by the previous row's signing key

-- What each phone last reported about its outbox (counts only), and the last time it
-- refused the meldpunt key (a code, no content).
ALTER TABLE device ADD COLUMN outbox_pending INTEGER;
ALTER TABLE device ADD COLUMN outbox_quarantined INTEGER;
ALTER TABLE device ADD COLUMN outbox_reported_at INTEGER;
ALTER TABLE device ADD COLUMN key_refused_code TEXT;
ALTER TABLE device ADD COLUMN key_refused_at INTEGER;

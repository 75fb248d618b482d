-- Issue 9: coordinator statistics that keep small counts secret.
--
-- 1. The cell-key method (shared/src/disclosure.rs). Every contact carries a random record
--    key k, standing for k / 2^32 in [0, 1). It is never published and never sent to a
--    phone. Existing contacts get one here; ingest draws one for each new contact, and a
--    row inserted without one (a tool, a test) gets one from the trigger, so no contact is
--    ever without a random key.
ALTER TABLE contact ADD COLUMN record_key INTEGER;
UPDATE contact SET record_key = random() & 4294967295;
CREATE TRIGGER contact_record_key AFTER INSERT ON contact WHEN NEW.record_key IS NULL
BEGIN
    UPDATE contact SET record_key = random() & 4294967295 WHERE rowid = NEW.rowid;
END;

-- An archive row keeps the sum of its contacts' record keys (mod 2^32), so every cell,
-- hour, week and total keeps its cell key, and its noise, after retention. Rows archived
-- before this migration lost their contacts' keys: they get one random key each, which is
-- what a new record would get.
ALTER TABLE contact_archive ADD COLUMN key_sum INTEGER NOT NULL DEFAULT 0;
UPDATE contact_archive SET key_sum = random() & 4294967295;

-- The gemeente's perturbation table parameters (defaults in code when absent).
CREATE TABLE disclosure_setting (
    gemeente_id TEXT PRIMARY KEY REFERENCES gemeente(id),
    max_noise   INTEGER NOT NULL,
    variance    REAL NOT NULL,
    threshold   INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- 2. Coordinators see their own wijken. Nobody loses access silently: every existing
--    coordinator is assigned every wijk of their gemeente. A coordinator without an
--    assignment sees nothing.
CREATE TABLE user_wijk (
    user_id     TEXT NOT NULL REFERENCES user(id),
    wijk_id     TEXT NOT NULL REFERENCES wijk(id),
    assigned_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, wijk_id)
) WITHOUT ROWID;
INSERT INTO user_wijk (user_id, wijk_id, assigned_at)
    SELECT u.id, w.id, 0 FROM user u JOIN wijk w ON w.gemeente_id = u.gemeente_id
    WHERE u.role = 'coordinator';

-- 3. Open care forms no longer stay forever: a warning in the inbox after N months, deletion
--    after M months, unless the meldpunt holds the form on purpose.
ALTER TABLE care_form ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE retention_setting ADD COLUMN open_form_warn_months INTEGER;
ALTER TABLE retention_setting ADD COLUMN open_form_months INTEGER;

-- Avondronde schema, version 2: the meldpunt's audit log, retention settings and the
-- aggregates that outlive raw contacts.

-- The audit log: append-only, one hash chain per gemeente. Each row's hash covers its own
-- fields and the previous row's hash (see server/src/audit/mod.rs), so altering, removing
-- or reordering a row breaks verification from that row on. The triggers below make the
-- table append-only for every connection, the server's included.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    gemeente_id TEXT NOT NULL,
    at          INTEGER NOT NULL,           -- unix ms, server clock
    actor_id    TEXT,                       -- user id; NULL for the system (retention, CLI)
    actor_name  TEXT NOT NULL,              -- username, or 'systeem' / 'beheer (CLI)'
    actor_role  TEXT NOT NULL,              -- role code, or 'system'
    action      TEXT NOT NULL,              -- open, update, unlock, key_rotate, …
    form_id     TEXT,                       -- the care form concerned, if any
    address     TEXT,                       -- client IP address, if known
    detail      TEXT NOT NULL DEFAULT '',   -- codes and counts only, never personal data
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL
);
CREATE INDEX audit_log_gemeente ON audit_log (gemeente_id, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Retention periods per gemeente; a gemeente without a row uses the defaults
-- (closed care forms 12 months, raw contacts 24 months).
CREATE TABLE retention_setting (
    gemeente_id      TEXT PRIMARY KEY REFERENCES gemeente(id),
    care_form_months INTEGER NOT NULL,
    contact_months   INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- What remains of raw contacts after retention: counts per wijk, H3 cell (resolution 9),
-- local week (its Monday) and local hour. No device, user or exact time or place.
CREATE TABLE contact_aggregate (
    gemeente_id  TEXT NOT NULL,
    wijk_id      TEXT NOT NULL DEFAULT '',
    cell_r9      INTEGER NOT NULL DEFAULT 0,
    week         TEXT NOT NULL,             -- yyyy-mm-dd of the local Monday
    hour         INTEGER NOT NULL,          -- local hour 0–23
    contacts     INTEGER NOT NULL,
    n_0_5        INTEGER NOT NULL,
    n_6_9        INTEGER NOT NULL,
    n_10_11      INTEGER NOT NULL,
    n_12_13      INTEGER NOT NULL,
    n_14p        INTEGER NOT NULL,
    supervised   INTEGER NOT NULL,          -- contacts with adult supervision
    past_norm    INTEGER NOT NULL,          -- contacts with a band past its norm
    brought_home INTEGER NOT NULL,          -- children brought home
    PRIMARY KEY (gemeente_id, wijk_id, cell_r9, week, hour)
);

CREATE INDEX care_form_pseudonym ON care_form (gemeente_id, pseudonym);
CREATE INDEX contact_observed ON contact (observed_at);

-- The field app's local store. The whole file is encrypted by SQLCipher.
-- Times are Unix milliseconds (UTC); ids are UUIDv7 text.

-- Small settings: enrolment, pull cursor, revocation.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The pulled DeviceConfig (norms, wijken, places, meldpunt key).
CREATE TABLE config (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    version   INTEGER NOT NULL,
    body      TEXT NOT NULL,
    pulled_at INTEGER NOT NULL
);

CREATE TABLE round (
    id         TEXT PRIMARY KEY,
    wijk_id    TEXT NOT NULL,
    wijk_name  TEXT NOT NULL,
    partner    TEXT,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER
);

-- Street contacts recorded on this device (no identity of any child).
CREATE TABLE contact (
    id          TEXT PRIMARY KEY,
    round_id    TEXT NOT NULL REFERENCES round(id),
    observed_at INTEGER NOT NULL,
    lat         REAL,
    lon         REAL,
    body        TEXT NOT NULL
);
CREATE INDEX contact_time ON contact (observed_at);

-- What is still to be sent, and what became of it. Ordered by local_seq only.
CREATE TABLE outbox (
    local_seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    body       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending',  -- pending / sent / quarantined
    state      TEXT NOT NULL,                    -- EntryState JSON
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (kind, item_id)
);
CREATE INDEX outbox_status ON outbox (status, local_seq);

-- Care-form drafts: plaintext personal data, only until sealed (then deleted).
CREATE TABLE care_form_draft (
    id         TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contact(id),
    child_no   INTEGER NOT NULL,
    age_band   TEXT NOT NULL,
    content    TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Sealed care forms: no content, only what the reporter needs for the feedback list.
CREATE TABLE care_form_sent (
    id          TEXT PRIMARY KEY,
    contact_id  TEXT NOT NULL,
    age_band    TEXT NOT NULL,
    sealed_at   INTEGER NOT NULL,
    status      TEXT,
    message     TEXT,
    feedback_at INTEGER,
    unread      INTEGER NOT NULL DEFAULT 0
);

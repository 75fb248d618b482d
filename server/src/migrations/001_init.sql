-- Avondronde schema, version 1.
CREATE TABLE gemeente (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    code          TEXT NOT NULL UNIQUE,
    norms         TEXT NOT NULL,            -- NormSet as JSON
    config_version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE wijk (
    id          TEXT PRIMARY KEY,
    gemeente_id TEXT NOT NULL REFERENCES gemeente(id),
    code        TEXT NOT NULL UNIQUE,       -- CBS code WK……
    name        TEXT NOT NULL,
    boundary    TEXT NOT NULL               -- geo::MultiPolygon as JSON (lon/lat)
);

CREATE TABLE place (
    id      TEXT PRIMARY KEY,
    wijk_id TEXT NOT NULL REFERENCES wijk(id),
    name    TEXT NOT NULL,
    lat     REAL NOT NULL,
    lon     REAL NOT NULL
);

CREATE TABLE area_rule (
    id          TEXT PRIMARY KEY,
    gemeente_id TEXT NOT NULL REFERENCES gemeente(id),
    rule        TEXT NOT NULL               -- AreaRule as JSON
);

CREATE TABLE user (
    id            TEXT PRIMARY KEY,
    gemeente_id   TEXT NOT NULL REFERENCES gemeente(id),
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT,                     -- argon2id PHC string; NULL for field-only users
    created_at    INTEGER NOT NULL
);

CREATE TABLE web_session (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES user(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE enrolment_code (
    code_hash  BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES user(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    device_id  TEXT
);

CREATE TABLE device (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES user(id),
    token_hash      BLOB NOT NULL UNIQUE,
    label           TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    last_seen_at    INTEGER,
    clock_offset_ms INTEGER
);

-- The idempotency ledger: one row per accepted outbox item, in server order.
CREATE TABLE item (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    device_id   TEXT NOT NULL REFERENCES device(id),
    hash        BLOB NOT NULL,
    received_at INTEGER NOT NULL,           -- unix ms, server clock
    UNIQUE (kind, item_id)
);

CREATE TABLE round (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    wijk_id     TEXT NOT NULL,
    partner     TEXT,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER
);

CREATE TABLE contact (
    id            TEXT PRIMARY KEY,
    seq           INTEGER NOT NULL,
    device_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    gemeente_id   TEXT NOT NULL,
    round_id      TEXT NOT NULL,
    wijk_id       TEXT,                     -- by location, else the round's wijk
    observed_at   INTEGER NOT NULL,         -- unix seconds (device's claim)
    utc_offset_s  INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,         -- unix ms (server clock)
    clock_skew_ms INTEGER NOT NULL,         -- device clock minus server clock at push
    skew_flag     INTEGER NOT NULL,         -- 1 when |skew| > 5 min
    source        TEXT NOT NULL,
    lat           REAL,
    lon           REAL,
    accuracy_m    REAL,
    fix_age_s     INTEGER,
    place_id      TEXT,
    n_0_5         INTEGER NOT NULL,
    n_6_9         INTEGER NOT NULL,
    n_10_11       INTEGER NOT NULL,
    n_12_13       INTEGER NOT NULL,
    n_14p         INTEGER NOT NULL,
    supervised    INTEGER NOT NULL,
    behaviours    TEXT NOT NULL,            -- JSON array of codes
    actions       TEXT NOT NULL,            -- JSON array of codes
    brought_home  INTEGER NOT NULL,
    past_norm     INTEGER NOT NULL,         -- 1 when any band was past its norm
    cell_r9       INTEGER,                  -- H3 cells, binned once at ingest
    cell_r10      INTEGER,
    corrected_seq INTEGER                   -- seq of the correction now in force
);
CREATE INDEX contact_wijk_time ON contact (wijk_id, observed_at);
CREATE INDEX contact_device ON contact (device_id);

CREATE TABLE correction (
    id         TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    facts      TEXT NOT NULL
);

CREATE TABLE care_form (
    id            TEXT PRIMARY KEY,
    seq           INTEGER NOT NULL,
    device_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    gemeente_id   TEXT NOT NULL,
    contact_id    TEXT NOT NULL,
    wijk_id       TEXT,
    reporter_role TEXT NOT NULL,
    age_band      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,         -- device clock, unix s
    received_at   INTEGER NOT NULL,         -- server clock, unix ms: the 48-hour clock
    recipient_key TEXT NOT NULL,
    sealed        BLOB NOT NULL,
    status        TEXT NOT NULL DEFAULT 'received',
    known_to      TEXT,                     -- bjz / veilig_thuis / wijkteam / onbekend
    visit_at      INTEGER,
    message       TEXT,
    updated_at    INTEGER NOT NULL,
    feedback_seq  INTEGER NOT NULL,         -- bumped on each status change: the pull cursor
    pseudonym     BLOB                      -- keyed match pseudonym (meldpunt only)
);
CREATE INDEX care_form_device_feedback ON care_form (device_id, feedback_seq);
CREATE INDEX care_form_gemeente ON care_form (gemeente_id, status);

CREATE TABLE counter (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counter (name, value) VALUES ('feedback', 0);

-- Meldpunt key pairs: the public recipient in the clear, the identity (private key)
-- encrypted under a passphrase the server never stores.
CREATE TABLE meldpunt_key (
    id          TEXT PRIMARY KEY,
    gemeente_id TEXT NOT NULL REFERENCES gemeente(id),
    recipient   TEXT NOT NULL,
    identity    BLOB NOT NULL,              -- passphrase-encrypted age identity
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER                     -- set on rotation; still used to open old forms
);

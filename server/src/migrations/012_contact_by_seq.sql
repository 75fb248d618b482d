-- Issue 13: a contact row is keyed by its ledger number, and has no index of its own on id.
--
-- Every contact's id was indexed twice: by the contact table's own primary key, and by the
-- ledger's UNIQUE (kind, item_id), which already keeps it unique (a contact is stored only
-- once its claim in the ledger succeeded). The sync writer, which every push waits for,
-- spent most of a burst inserting into B-trees, and one of them was that second index.
-- Now `seq`, the contact's ledger number, is the rowid; a contact is found by id through
-- the ledger (`item`), then by rowid. The columns keep their order (the move of a gemeente
-- reads the id first).
CREATE TABLE contact_by_seq (
    id            TEXT NOT NULL,            -- unique through the ledger (item)
    seq           INTEGER PRIMARY KEY,      -- the ledger number: the rowid
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
    corrected_seq INTEGER,                  -- seq of the correction now in force
    record_key    INTEGER NOT NULL DEFAULT (random() & 4294967295) -- the cell key's k
);
INSERT INTO contact_by_seq
      (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id, observed_at,
       utc_offset_s, received_at, clock_skew_ms, skew_flag, source, lat, lon, accuracy_m,
       fix_age_s, place_id, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours,
       actions, brought_home, past_norm, cell_r9, cell_r10, corrected_seq, record_key)
SELECT id, seq, device_id, user_id, gemeente_id, round_id, wijk_id, observed_at,
       utc_offset_s, received_at, clock_skew_ms, skew_flag, source, lat, lon, accuracy_m,
       fix_age_s, place_id, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours,
       actions, brought_home, past_norm, cell_r9, cell_r10, corrected_seq, record_key
FROM contact;
DROP TABLE contact;
ALTER TABLE contact_by_seq RENAME TO contact;
CREATE INDEX contact_wijk_time ON contact (wijk_id, observed_at);
CREATE INDEX contact_observed ON contact (observed_at);

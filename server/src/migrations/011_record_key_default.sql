-- Issue 13: a contact's record key comes from a column default, not from a trigger.
--
-- Any trigger on `contact` makes SQLite keep a statement journal for every insert into it,
-- even when the trigger's WHEN is false, as it is for every push (ingest draws the key).
-- That journal was a quarter of the writer's time in a burst of pushes. A default gives a
-- row inserted without a key (a tool, a test) one just the same, and NOT NULL now makes
-- "no contact without a random key" a rule of the table. SQLite cannot change a column's
-- default in place, so the table is rebuilt, rowids and indexes as they were.
CREATE TABLE contact_rebuilt (
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
    corrected_seq INTEGER,                  -- seq of the correction now in force
    record_key    INTEGER NOT NULL DEFAULT (random() & 4294967295) -- the cell key's k
);
INSERT INTO contact_rebuilt
      (rowid, id, seq, device_id, user_id, gemeente_id, round_id, wijk_id, observed_at,
       utc_offset_s, received_at, clock_skew_ms, skew_flag, source, lat, lon, accuracy_m,
       fix_age_s, place_id, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours,
       actions, brought_home, past_norm, cell_r9, cell_r10, corrected_seq,
       record_key)
SELECT rowid, id, seq, device_id, user_id, gemeente_id, round_id, wijk_id, observed_at,
       utc_offset_s, received_at, clock_skew_ms, skew_flag, source, lat, lon, accuracy_m,
       fix_age_s, place_id, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours,
       actions, brought_home, past_norm, cell_r9, cell_r10, corrected_seq,
       COALESCE(record_key, random() & 4294967295)
FROM contact;
DROP TABLE contact;
ALTER TABLE contact_rebuilt RENAME TO contact;
CREATE INDEX contact_wijk_time ON contact (wijk_id, observed_at);
CREATE INDEX contact_observed ON contact (observed_at);

-- What stays of contacts after their retention period (24 months by default), so that the
-- hotspot map, its charts and its exports keep covering the older years.
--
-- A raw contact is linkable: it names its device, user and round and holds its exact
-- time and position. The archive keeps none of that: contacts are grouped on the facts
-- the map filters on (wijk, the hour they fall in, the H3 cells, the counts per age band,
-- children brought home, behaviours, past the norm) and stored with how many there were.
-- Every filter of the map stays exact over archived years.
--
-- It replaces contact_aggregate (weekly sums at resolution 9), which nothing could read
-- and which is no longer written. Its rows are left where they are: sums cannot be turned
-- back into contacts, and nothing is deleted by a migration.
CREATE TABLE contact_archive (
    gemeente_id  TEXT NOT NULL,
    wijk_id      TEXT NOT NULL,
    hour_at      INTEGER NOT NULL,          -- unix seconds, rounded down to the hour
    cell_r9      INTEGER,
    cell_r10     INTEGER,
    n_0_5        INTEGER NOT NULL,
    n_6_9        INTEGER NOT NULL,
    n_10_11      INTEGER NOT NULL,
    n_12_13      INTEGER NOT NULL,
    n_14p        INTEGER NOT NULL,
    brought_home INTEGER NOT NULL,
    behaviours   TEXT NOT NULL,             -- JSON array of codes, as in contact
    past_norm    INTEGER NOT NULL,
    contacts     INTEGER NOT NULL           -- how many contacts had exactly these facts
);
CREATE INDEX contact_archive_wijk ON contact_archive (wijk_id);

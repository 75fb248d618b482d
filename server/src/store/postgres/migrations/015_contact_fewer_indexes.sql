-- Avondronde on PostgreSQL, version 15: a contact row is written to three indexes, not five.
--
-- Every query of contact runs under row-level security, so it is always one gemeente's rows
-- (and nearly always one wijk's). Two indexes served no such query:
-- - `contact_observed (observed_at)`: the time queries (retention, the move of a gemeente)
--   ask "this gemeente's contacts before T", which `contact_gemeente_time` answers;
-- - `contact_wijk_time (wijk_id, observed_at)`: the hotspot index loads a wijk whole, or
--   catches up by ledger number, which `contact_wijk_seq (wijk_id, seq)` answers (migration
--   10); nothing filters a wijk by time in SQL.
-- Each cost every inserted contact an index entry: in a burst of 200 phones pushing 50
-- contacts each, the insert was the largest single item of the database's time.
-- Dropping an index of the partitioned table drops it from every month as well.
DROP INDEX contact_observed;
DROP INDEX contact_wijk_time;

-- Avondronde on PostgreSQL, version 4: the ledger read per gemeente.
--
-- The hotspot map asks, on every request, for its gemeente's ledger head
-- (`SELECT MAX(seq) FROM item`, row-level security adding `gemeente_id = …`) and then for the
-- items "since seq X up to the head". With only the primary key on seq, the head of a quiet
-- gemeente is found by walking back over every newer item of every other gemeente; with
-- this index it is one probe, and the "since" range is one range scan.
CREATE INDEX item_gemeente_seq ON item (gemeente_id, seq);

-- Fewer B-trees touched per pushed item: the sync writer is the one thread every push
-- waits for, so each index on its path costs every device.
--
-- The ledger's seq no longer needs AUTOINCREMENT (which updates sqlite_sequence on every
-- insert): rows are only deleted when an item is refused in the same transaction that
-- claimed it, so a plain INTEGER PRIMARY KEY stays increasing for everything kept. The
-- device reference is checked by the authenticating extractor, not by a foreign key
-- lookup per item.
CREATE TABLE item_new (
    seq         INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    hash        BLOB NOT NULL,
    received_at INTEGER NOT NULL,           -- unix ms, server clock
    UNIQUE (kind, item_id)
);
INSERT INTO item_new (seq, kind, item_id, device_id, hash, received_at)
    SELECT seq, kind, item_id, device_id, hash, received_at FROM item;
DROP TABLE item;
ALTER TABLE item_new RENAME TO item;

-- Nothing looks contacts up by device alone (a device's own contact is found by id).
DROP INDEX contact_device;

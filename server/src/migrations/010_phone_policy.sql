-- Issue 10: what a gemeente lets a phone keep, and when the app locks. Sent to the phones
-- in the pulled configuration; a gemeente without a row gets the defaults (30 days, 5 min).
CREATE TABLE phone_policy (
    gemeente_id            TEXT PRIMARY KEY REFERENCES gemeente(id),
    contact_retention_days INTEGER NOT NULL CHECK (contact_retention_days BETWEEN 1 AND 365),
    lock_after_minutes     INTEGER NOT NULL CHECK (lock_after_minutes BETWEEN 0 AND 480),
    updated_at             INTEGER NOT NULL
);

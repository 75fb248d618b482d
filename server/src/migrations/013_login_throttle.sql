-- The login throttle's shared part: what must hold across every server node and restart.
--
-- `server_secret` keeps the secret that keys the throttle's account names and signs the
-- browsers' device cookies (drawn by the first server that needs it), so a device cookie
-- stays valid after a restart and on every node. `login_failure` counts, per account name
-- (a keyed hash, never the name), the failures that lock an account for an hour: those
-- from unknown browsers, and wrong second-factor codes. Counted in one place, several
-- nodes behind a load balancer give an attacker the budget of one.
CREATE TABLE server_secret (
    name   TEXT PRIMARY KEY,
    secret BLOB NOT NULL
);

CREATE TABLE login_failure (
    kind         TEXT NOT NULL,       -- 'account' or 'second_factor'
    name_key     BLOB NOT NULL,       -- the throttle's keyed hash of the account name
    window_start INTEGER NOT NULL,    -- unix ms
    failures     INTEGER NOT NULL,
    PRIMARY KEY (kind, name_key)
) WITHOUT ROWID;
CREATE INDEX login_failure_by_start ON login_failure (window_start);

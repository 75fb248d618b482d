-- Issue 11: second factor, disabled users, password resets, idle timeouts.
ALTER TABLE user ADD COLUMN totp_secret TEXT;            -- base32; pending until totp_enabled
ALTER TABLE user ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user ADD COLUMN disabled_at INTEGER;         -- set: no login, no sessions, no devices

-- A session whose second factor is still to come can only finish the login.
ALTER TABLE web_session ADD COLUMN mfa_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE web_session ADD COLUMN mfa_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE web_session ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX web_session_user ON web_session(user_id);
CREATE INDEX web_session_expiry ON web_session(expires_at);

CREATE TABLE recovery_code (
    user_id   TEXT NOT NULL REFERENCES user(id),
    code_hash BLOB NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- One-time password-reset codes, issued by an admin; stored as hashes.
CREATE TABLE password_reset (
    code_hash  BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES user(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

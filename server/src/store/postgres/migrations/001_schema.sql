-- Avondronde on PostgreSQL, version 1: the SQLite schema after its migrations 001..010, for
-- many gemeenten in one database (issue 13, docs/postgres.md).
--
-- Run as avondronde_owner (the store's migrator sets the role). Rules of translation:
-- - Same tables, same column names. INTEGER → bigint, REAL → double precision, BLOB → bytea,
--   TEXT → text. JSON stays text, so what a phone sent is kept byte for byte. 0/1 flags stay
--   bigint as well, so a gemeente moves between the backends without conversion.
-- - Every tenant table has `gemeente_id`, also where SQLite reaches the gemeente only through
--   a parent row (place, web_session, enrolment_code, device, item, round, correction,
--   counter, user_wijk, recovery_code, password_reset). `gemeente` itself is the tenant's
--   row: its policy is on `id`.
-- - References to a parent include the gemeente ((gemeente_id, x) → parent (gemeente_id, id)),
--   because a foreign-key check is not subject to row-level security: without it a row of
--   gemeente A could point at a row of gemeente B.
-- - Row-level security is ENABLEd and FORCEd on every table with a policy
--   `gemeente_id = NULLIF(current_setting('app.gemeente', true), '')`: without the setting
--   (or with it empty) no row is visible and no row can be written.
-- - Cross-tenant look-ups (which gemeente a device token, a web session, an enrolment or
--   reset code or a username belongs to) go through `tenant_route`, which the application
--   role cannot read; only `route_lookup(kind, key)` answers, for one exact key, with
--   (gemeente_id, id) and nothing else. Triggers keep it in step.

CREATE TABLE gemeente (
    id             text PRIMARY KEY CHECK (id <> ''),
    name           text NOT NULL,
    code           text NOT NULL UNIQUE,
    norms          text NOT NULL,            -- NormSet as JSON
    config_version bigint NOT NULL DEFAULT 1
);

CREATE TABLE wijk (
    id          text PRIMARY KEY,
    gemeente_id text NOT NULL REFERENCES gemeente(id),
    code        text NOT NULL UNIQUE,        -- CBS code WK……
    name        text NOT NULL,
    boundary    text NOT NULL,               -- geo::MultiPolygon as JSON (lon/lat)
    UNIQUE (gemeente_id, id)
);

CREATE TABLE place (
    id          text PRIMARY KEY,
    gemeente_id text NOT NULL,
    wijk_id     text NOT NULL,
    name        text NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    FOREIGN KEY (gemeente_id, wijk_id) REFERENCES wijk (gemeente_id, id)
);

CREATE TABLE area_rule (
    id          text PRIMARY KEY,
    gemeente_id text NOT NULL REFERENCES gemeente(id),
    rule        text NOT NULL                -- AreaRule as JSON
);

-- "user" is a reserved word in PostgreSQL; the store quotes it.
CREATE TABLE "user" (
    id             text PRIMARY KEY,
    gemeente_id    text NOT NULL REFERENCES gemeente(id),
    username       text NOT NULL UNIQUE,
    role           text NOT NULL,
    password_hash  text,                     -- argon2id PHC string; NULL for field-only users
    created_at     bigint NOT NULL,
    totp_secret    text,
    totp_enabled   bigint NOT NULL DEFAULT 0,
    disabled_at    bigint,
    totp_last_step bigint,
    UNIQUE (gemeente_id, id)
);

CREATE TABLE web_session (
    token_hash   bytea PRIMARY KEY,
    gemeente_id  text NOT NULL,
    user_id      text NOT NULL,
    created_at   bigint NOT NULL,
    expires_at   bigint NOT NULL,
    mfa_pending  bigint NOT NULL DEFAULT 0,
    mfa_attempts bigint NOT NULL DEFAULT 0,
    last_seen_at bigint NOT NULL DEFAULT 0,
    FOREIGN KEY (gemeente_id, user_id) REFERENCES "user" (gemeente_id, id)
);
CREATE INDEX web_session_user ON web_session (user_id);
CREATE INDEX web_session_expiry ON web_session (expires_at);

CREATE TABLE enrolment_code (
    code_hash   bytea PRIMARY KEY,
    gemeente_id text NOT NULL,
    user_id     text NOT NULL,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL,
    used_at     bigint,
    device_id   text,
    FOREIGN KEY (gemeente_id, user_id) REFERENCES "user" (gemeente_id, id)
);

CREATE TABLE device (
    id                 text PRIMARY KEY,
    gemeente_id        text NOT NULL,
    user_id            text NOT NULL,
    token_hash         bytea NOT NULL UNIQUE,
    label              text NOT NULL DEFAULT '',
    created_at         bigint NOT NULL,
    revoked_at         bigint,
    last_seen_at       bigint,
    clock_offset_ms    bigint,
    outbox_pending     bigint,
    outbox_quarantined bigint,
    outbox_reported_at bigint,
    key_refused_code   text,
    key_refused_at     bigint,
    FOREIGN KEY (gemeente_id, user_id) REFERENCES "user" (gemeente_id, id)
);

-- The idempotency ledger: one row per accepted outbox item, in server order. The key stays
-- (kind, item_id) over all gemeenten: an item id is a UUID the phone drew, and a second
-- gemeente claiming the same id is refused rather than stored twice.
CREATE TABLE item (
    seq         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    gemeente_id text NOT NULL,
    kind        text NOT NULL,
    item_id     text NOT NULL,
    device_id   text NOT NULL,
    hash        bytea NOT NULL,
    received_at bigint NOT NULL,             -- unix ms, server clock
    UNIQUE (kind, item_id)
);

CREATE TABLE round (
    id           text PRIMARY KEY,
    gemeente_id  text NOT NULL,
    device_id    text NOT NULL,
    user_id      text NOT NULL,
    wijk_id      text NOT NULL,
    partner      text,
    started_at   bigint NOT NULL,
    ended_at     bigint,
    unknown_wijk text
);
CREATE INDEX round_unknown_wijk ON round (unknown_wijk) WHERE unknown_wijk IS NOT NULL;

-- Partitioned by month of observed_at (unix seconds, the device's claim): retention drops
-- whole months (migration 002 has the functions). A partitioned table's keys must contain
-- the partition key, so the primary key is (id, observed_at); that a contact id is stored
-- once is kept by the ledger (item UNIQUE (kind, item_id)) in the same transaction.
CREATE TABLE contact (
    id            text NOT NULL,
    seq           bigint NOT NULL,
    device_id     text NOT NULL,
    user_id       text NOT NULL,
    gemeente_id   text NOT NULL,
    round_id      text NOT NULL,
    wijk_id       text,                      -- by location, else the round's wijk
    observed_at   bigint NOT NULL,           -- unix seconds (device's claim)
    utc_offset_s  bigint NOT NULL,
    received_at   bigint NOT NULL,           -- unix ms (server clock)
    clock_skew_ms bigint NOT NULL,           -- device clock minus server clock at push
    skew_flag     bigint NOT NULL,           -- 1 when |skew| > 5 min
    source        text NOT NULL,
    lat           double precision,
    lon           double precision,
    accuracy_m    double precision,
    fix_age_s     bigint,
    place_id      text,
    n_0_5         bigint NOT NULL,
    n_6_9         bigint NOT NULL,
    n_10_11       bigint NOT NULL,
    n_12_13       bigint NOT NULL,
    n_14p         bigint NOT NULL,
    supervised    bigint NOT NULL,
    behaviours    text NOT NULL,             -- JSON array of codes
    actions       text NOT NULL,             -- JSON array of codes
    brought_home  bigint NOT NULL,
    past_norm     bigint NOT NULL,           -- 1 when any band was past its norm
    cell_r9       bigint,                    -- H3 cells, binned once at ingest
    cell_r10      bigint,
    corrected_seq bigint,                    -- seq of the correction now in force
    -- The cell-key record key (SQLite migration 005): drawn at insert when not given.
    record_key    bigint NOT NULL DEFAULT (floor(random() * 4294967296))::bigint,
    PRIMARY KEY (id, observed_at)
) PARTITION BY RANGE (observed_at);
-- Rows whose month has no partition (a phone clock far off) land here instead of failing.
CREATE TABLE contact_default PARTITION OF contact DEFAULT;
CREATE INDEX contact_wijk_time ON contact (wijk_id, observed_at);
CREATE INDEX contact_observed ON contact (observed_at);
CREATE INDEX contact_gemeente_time ON contact (gemeente_id, observed_at);

CREATE TABLE correction (
    id          text PRIMARY KEY,
    gemeente_id text NOT NULL,
    contact_id  text NOT NULL,
    seq         bigint NOT NULL,
    facts       text NOT NULL
);

CREATE TABLE care_form (
    id            text PRIMARY KEY,
    seq           bigint NOT NULL,
    device_id     text NOT NULL,
    user_id       text NOT NULL,
    gemeente_id   text NOT NULL,
    contact_id    text NOT NULL,
    wijk_id       text,
    reporter_role text NOT NULL,
    age_band      text NOT NULL,
    created_at    bigint NOT NULL,           -- device clock, unix s
    received_at   bigint NOT NULL,           -- server clock, unix ms: the 48-hour clock
    recipient_key text NOT NULL,
    sealed        bytea NOT NULL,
    status        text NOT NULL DEFAULT 'received',
    known_to      text,
    visit_at      bigint,
    message       text,
    updated_at    bigint NOT NULL,
    feedback_seq  bigint NOT NULL,           -- bumped on each status change: the pull cursor
    pseudonym     bytea,                     -- keyed match pseudonym (meldpunt only)
    held          bigint NOT NULL DEFAULT 0
);
CREATE INDEX care_form_device_feedback ON care_form (device_id, feedback_seq);
CREATE INDEX care_form_gemeente ON care_form (gemeente_id, status);
CREATE INDEX care_form_pseudonym ON care_form (gemeente_id, pseudonym);

-- Per gemeente (SQLite has one row 'feedback' for its one gemeente): the store inserts
-- (gemeente, 'feedback', 0) when it creates a gemeente.
CREATE TABLE counter (
    gemeente_id text NOT NULL REFERENCES gemeente(id),
    name        text NOT NULL,
    value       bigint NOT NULL,
    PRIMARY KEY (gemeente_id, name)
);

CREATE TABLE meldpunt_key (
    id           text PRIMARY KEY,
    gemeente_id  text NOT NULL REFERENCES gemeente(id),
    recipient    text NOT NULL,
    identity     bytea NOT NULL,             -- passphrase-encrypted age identity
    created_at   bigint NOT NULL,
    retired_at   bigint,
    seq          bigint,
    signing_key  text,
    signing_seed bytea,                      -- passphrase-encrypted Ed25519 seed
    valid_from   bigint,
    valid_until  bigint,
    signature    text
);

-- The audit log: append-only, one hash chain per gemeente, the same columns as SQLite's
-- (prev_hash, hash; see server/src/audit/mod.rs). seq orders all rows; a chain is the rows
-- of one gemeente in seq order. UNIQUE (gemeente_id, prev_hash) refuses a fork: two
-- concurrent appends that read the same head cannot both be kept.
CREATE TABLE audit_log (
    seq         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    gemeente_id text NOT NULL,
    at          bigint NOT NULL,             -- unix ms, server clock
    actor_id    text,
    actor_name  text NOT NULL,
    actor_role  text NOT NULL,
    action      text NOT NULL,
    form_id     text,
    address     text,
    detail      text NOT NULL DEFAULT '',    -- codes and counts only, never personal data
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL,
    UNIQUE (gemeente_id, prev_hash)
);
CREATE INDEX audit_log_gemeente ON audit_log (gemeente_id, seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE retention_setting (
    gemeente_id           text PRIMARY KEY REFERENCES gemeente(id),
    care_form_months      bigint NOT NULL,
    contact_months        bigint NOT NULL,
    updated_at            bigint NOT NULL,
    open_form_warn_months bigint,
    open_form_months      bigint
);

-- Kept for parity with SQLite (no longer written there either).
CREATE TABLE contact_aggregate (
    gemeente_id  text NOT NULL,
    wijk_id      text NOT NULL DEFAULT '',
    cell_r9      bigint NOT NULL DEFAULT 0,
    week         text NOT NULL,
    hour         bigint NOT NULL,
    contacts     bigint NOT NULL,
    n_0_5        bigint NOT NULL,
    n_6_9        bigint NOT NULL,
    n_10_11      bigint NOT NULL,
    n_12_13      bigint NOT NULL,
    n_14p        bigint NOT NULL,
    supervised   bigint NOT NULL,
    past_norm    bigint NOT NULL,
    brought_home bigint NOT NULL,
    PRIMARY KEY (gemeente_id, wijk_id, cell_r9, week, hour)
);

CREATE TABLE contact_archive (
    gemeente_id  text NOT NULL,
    wijk_id      text NOT NULL,
    hour_at      bigint NOT NULL,            -- unix seconds, rounded down to the hour
    cell_r9      bigint,
    cell_r10     bigint,
    n_0_5        bigint NOT NULL,
    n_6_9        bigint NOT NULL,
    n_10_11      bigint NOT NULL,
    n_12_13      bigint NOT NULL,
    n_14p        bigint NOT NULL,
    brought_home bigint NOT NULL,
    behaviours   text NOT NULL,
    past_norm    bigint NOT NULL,
    contacts     bigint NOT NULL,
    key_sum      bigint NOT NULL DEFAULT 0
);
CREATE INDEX contact_archive_wijk ON contact_archive (gemeente_id, wijk_id);

CREATE TABLE disclosure_setting (
    gemeente_id text PRIMARY KEY REFERENCES gemeente(id),
    max_noise   bigint NOT NULL,
    variance    double precision NOT NULL,
    threshold   bigint NOT NULL,
    updated_at  bigint NOT NULL
);

CREATE TABLE user_wijk (
    gemeente_id text NOT NULL,
    user_id     text NOT NULL,
    wijk_id     text NOT NULL,
    assigned_at bigint NOT NULL,
    PRIMARY KEY (user_id, wijk_id),
    FOREIGN KEY (gemeente_id, user_id) REFERENCES "user" (gemeente_id, id),
    FOREIGN KEY (gemeente_id, wijk_id) REFERENCES wijk (gemeente_id, id)
);

CREATE TABLE recovery_code (
    gemeente_id text NOT NULL,
    user_id     text NOT NULL,
    code_hash   bytea NOT NULL,
    used_at     bigint,
    PRIMARY KEY (user_id, code_hash),
    FOREIGN KEY (gemeente_id, user_id) REFERENCES "user" (gemeente_id, id)
);

CREATE TABLE password_reset (
    code_hash   bytea PRIMARY KEY,
    gemeente_id text NOT NULL,
    user_id     text NOT NULL,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL,
    used_at     bigint,
    FOREIGN KEY (gemeente_id, user_id) REFERENCES "user" (gemeente_id, id)
);

CREATE TABLE phone_policy (
    gemeente_id            text PRIMARY KEY REFERENCES gemeente(id),
    contact_retention_days bigint NOT NULL CHECK (contact_retention_days BETWEEN 1 AND 365),
    lock_after_minutes     bigint NOT NULL CHECK (lock_after_minutes BETWEEN 0 AND 480),
    updated_at             bigint NOT NULL
);

-- Row-level security on every tenant table, forced for the owner too. The application role
-- gets plain DML on them (the audit log: read and append only).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['wijk', 'place', 'area_rule', 'user', 'web_session',
        'enrolment_code', 'device', 'item', 'round', 'contact', 'correction', 'care_form',
        'counter', 'meldpunt_key', 'audit_log', 'retention_setting', 'contact_aggregate',
        'contact_archive', 'disclosure_setting', 'user_wijk', 'recovery_code',
        'password_reset', 'phone_policy']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (gemeente_id = '
            'NULLIF(current_setting(''app.gemeente'', true), '''')) WITH CHECK (gemeente_id = '
            'NULLIF(current_setting(''app.gemeente'', true), ''''))', t);
        IF t = 'audit_log' THEN
            EXECUTE format('GRANT SELECT, INSERT ON %I TO avondronde_app', t);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO avondronde_app', t);
        END IF;
    END LOOP;
END;
$$;
-- The partitions of contact: policies apply through the parent, but a partition reached by
-- its own name must not be a way around them.
ALTER TABLE contact_default ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_default FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON contact_default
    USING (gemeente_id = NULLIF(current_setting('app.gemeente', true), ''))
    WITH CHECK (gemeente_id = NULLIF(current_setting('app.gemeente', true), ''));

ALTER TABLE gemeente ENABLE ROW LEVEL SECURITY;
ALTER TABLE gemeente FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON gemeente
    USING (id = NULLIF(current_setting('app.gemeente', true), ''))
    WITH CHECK (id = NULLIF(current_setting('app.gemeente', true), ''));
GRANT SELECT, INSERT, UPDATE, DELETE ON gemeente TO avondronde_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO avondronde_app;

-- Cross-tenant routing: which gemeente (and which row) a secret or a username belongs to.
-- Keys only: token and code hashes, and usernames (as UTF-8 bytes). The application role has
-- no privilege on the table; it asks route_lookup for one exact key.
CREATE TABLE tenant_route (
    kind        text NOT NULL CHECK (kind IN ('device_token', 'web_session', 'enrolment_code',
                                             'password_reset', 'username')),
    key         bytea NOT NULL,
    gemeente_id text NOT NULL,
    id          text NOT NULL,
    PRIMARY KEY (kind, key)
);
ALTER TABLE tenant_route ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_route FORCE ROW LEVEL SECURITY;
-- Only the owner (as whom the functions below run) reaches the routes.
CREATE POLICY owner_only ON tenant_route TO avondronde_owner USING (true) WITH CHECK (true);

CREATE FUNCTION route_lookup(p_kind text, p_key bytea)
    RETURNS TABLE (gemeente_id text, id text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.gemeente_id, r.id FROM tenant_route r WHERE r.kind = p_kind AND r.key = p_key;
$$;
REVOKE ALL ON FUNCTION route_lookup(text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION route_lookup(text, bytea) TO avondronde_app;

-- Keeps tenant_route in step with the tables it routes to. Runs as the owner; it writes only
-- the row the application just wrote in its own gemeente (RLS has already checked that).
CREATE FUNCTION tenant_route_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    k_new bytea;
    k_old bytea;
    id_new text;
    id_old text;
BEGIN
    IF TG_TABLE_NAME = 'device' THEN
        IF TG_OP <> 'DELETE' THEN k_new := NEW.token_hash; id_new := NEW.id; END IF;
        IF TG_OP <> 'INSERT' THEN k_old := OLD.token_hash; id_old := OLD.id; END IF;
    ELSIF TG_TABLE_NAME = 'user' THEN
        IF TG_OP <> 'DELETE' THEN k_new := convert_to(NEW.username, 'UTF8'); id_new := NEW.id; END IF;
        IF TG_OP <> 'INSERT' THEN k_old := convert_to(OLD.username, 'UTF8'); id_old := OLD.id; END IF;
    ELSE
        -- web_session, enrolment_code, password_reset: the row's key is the hash; the id
        -- routed to is the user.
        -- (PL/pgSQL resolves every field named in an expression, so one branch per table.)
        IF TG_TABLE_NAME = 'web_session' THEN
            IF TG_OP <> 'DELETE' THEN k_new := NEW.token_hash; END IF;
            IF TG_OP <> 'INSERT' THEN k_old := OLD.token_hash; END IF;
        ELSE
            IF TG_OP <> 'DELETE' THEN k_new := NEW.code_hash; END IF;
            IF TG_OP <> 'INSERT' THEN k_old := OLD.code_hash; END IF;
        END IF;
        IF TG_OP <> 'DELETE' THEN id_new := NEW.user_id; END IF;
        IF TG_OP <> 'INSERT' THEN id_old := OLD.user_id; END IF;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM tenant_route
            WHERE kind = TG_ARGV[0] AND key = k_old AND gemeente_id = OLD.gemeente_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tenant_route (kind, key, gemeente_id, id)
            VALUES (TG_ARGV[0], k_new, NEW.gemeente_id, id_new);
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$;
REVOKE ALL ON FUNCTION tenant_route_sync() FROM PUBLIC;
CREATE TRIGGER device_route AFTER INSERT OR DELETE OR UPDATE OF token_hash, id ON device
    FOR EACH ROW EXECUTE FUNCTION tenant_route_sync('device_token');
CREATE TRIGGER user_route AFTER INSERT OR DELETE OR UPDATE OF username, id ON "user"
    FOR EACH ROW EXECUTE FUNCTION tenant_route_sync('username');
CREATE TRIGGER web_session_route AFTER INSERT OR DELETE OR UPDATE OF token_hash, user_id ON web_session
    FOR EACH ROW EXECUTE FUNCTION tenant_route_sync('web_session');
CREATE TRIGGER enrolment_code_route AFTER INSERT OR DELETE OR UPDATE OF code_hash, user_id ON enrolment_code
    FOR EACH ROW EXECUTE FUNCTION tenant_route_sync('enrolment_code');
CREATE TRIGGER password_reset_route AFTER INSERT OR DELETE OR UPDATE OF code_hash, user_id ON password_reset
    FOR EACH ROW EXECUTE FUNCTION tenant_route_sync('password_reset');

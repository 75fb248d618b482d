-- Avondronde on PostgreSQL, version 17: the login throttle's shared part (SQLite's
-- migration 013), so that every server node on this database counts an account's failures
-- together and accepts the device cookies any of them issued.
--
-- Neither table is tenant data (the login comes before the gemeente is known): like
-- `tenant_route`, both have row-level security forced with a policy for the owner only,
-- and the application role has no privilege on them. It reaches them through the
-- functions below, each of which answers for one exact key.
CREATE TABLE server_secret (
    name   text PRIMARY KEY,
    secret bytea NOT NULL CHECK (length(secret) = 32)
);
ALTER TABLE server_secret ENABLE ROW LEVEL SECURITY;
ALTER TABLE server_secret FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON server_secret TO avondronde_owner USING (true) WITH CHECK (true);

CREATE TABLE login_failure (
    kind         text NOT NULL CHECK (kind IN ('account', 'second_factor')),
    name_key     bytea NOT NULL,
    window_start bigint NOT NULL,
    failures     integer NOT NULL,
    PRIMARY KEY (kind, name_key)
);
CREATE INDEX login_failure_by_start ON login_failure (window_start);
ALTER TABLE login_failure ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_failure FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON login_failure TO avondronde_owner USING (true) WITH CHECK (true);

-- The secret named `p_name`: the stored one, or `p_candidate` if there was none (the first
-- caller's draw wins; every later one gets the same secret back).
CREATE FUNCTION server_secret(p_name text, p_candidate bytea) RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO server_secret (name, secret) VALUES (p_name, p_candidate)
        ON CONFLICT (name) DO NOTHING;
    RETURN (SELECT s.secret FROM server_secret s WHERE s.name = p_name);
END $$;

-- The failures of one name in its window, if that window started after `p_since`.
CREATE FUNCTION login_failures(p_kind text, p_key bytea, p_since bigint) RETURNS integer
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce((SELECT f.failures FROM login_failure f
                     WHERE f.kind = p_kind AND f.name_key = p_key AND f.window_start > p_since), 0);
$$;

-- Counts one failure of a name at `p_now`: in its window, or in a new one from `p_now` if
-- the window started at or before `p_now - p_window`. Answers the count after it.
CREATE FUNCTION login_failure_add(p_kind text, p_key bytea, p_now bigint, p_window bigint)
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO login_failure AS f (kind, name_key, window_start, failures)
    VALUES (p_kind, p_key, p_now, 1)
    ON CONFLICT (kind, name_key) DO UPDATE SET
        window_start = CASE WHEN f.window_start <= p_now - p_window THEN p_now ELSE f.window_start END,
        failures = CASE WHEN f.window_start <= p_now - p_window THEN 1 ELSE f.failures + 1 END
    RETURNING f.failures;
$$;

-- Drops the windows that started at or before `p_before`, then all but the newest `p_keep`.
-- Answers how many rows it dropped.
CREATE FUNCTION login_failures_prune(p_before bigint, p_keep integer) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    expired bigint;
    crowded bigint;
BEGIN
    DELETE FROM login_failure WHERE window_start <= p_before;
    GET DIAGNOSTICS expired = ROW_COUNT;
    DELETE FROM login_failure WHERE (kind, name_key) IN (
        SELECT kind, name_key FROM login_failure
        ORDER BY window_start DESC OFFSET p_keep);
    GET DIAGNOSTICS crowded = ROW_COUNT;
    RETURN expired + crowded;
END $$;

-- How many windows are kept (for the bound's checks).
CREATE FUNCTION login_failure_windows() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT count(*) FROM login_failure;
$$;

REVOKE ALL ON FUNCTION server_secret(text, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION login_failure_windows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION login_failure_windows() TO avondronde_app;
REVOKE ALL ON FUNCTION login_failures(text, bytea, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION login_failure_add(text, bytea, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION login_failures_prune(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION server_secret(text, bytea) TO avondronde_app;
GRANT EXECUTE ON FUNCTION login_failures(text, bytea, bigint) TO avondronde_app;
GRANT EXECUTE ON FUNCTION login_failure_add(text, bytea, bigint, bigint) TO avondronde_app;
GRANT EXECUTE ON FUNCTION login_failures_prune(bigint, integer) TO avondronde_app;

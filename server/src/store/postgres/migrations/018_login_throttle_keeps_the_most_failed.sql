-- Avondronde on PostgreSQL, version 18 (SQLite's migration 014): when more account names
-- fail within the hour than the login throttle keeps windows for, it drops the windows
-- with the fewest failures first (the oldest of those first), not simply the oldest. A
-- flood of fresh names, one failure each, then cannot push out the window of an account
-- under attack and so cannot unlock it.
CREATE INDEX login_failure_by_weight ON login_failure (failures DESC, window_start DESC);

-- Drops the windows that started at or before `p_before`, then all but the `p_keep` with
-- the most failures (the newest first among equals). Answers how many rows it dropped.
CREATE OR REPLACE FUNCTION login_failures_prune(p_before bigint, p_keep integer) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    expired bigint;
    crowded bigint;
BEGIN
    DELETE FROM login_failure WHERE window_start <= p_before;
    GET DIAGNOSTICS expired = ROW_COUNT;
    DELETE FROM login_failure WHERE (kind, name_key) IN (
        SELECT kind, name_key FROM login_failure
        ORDER BY failures DESC, window_start DESC OFFSET p_keep);
    GET DIAGNOSTICS crowded = ROW_COUNT;
    RETURN expired + crowded;
END $$;

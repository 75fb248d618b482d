-- Avondronde on PostgreSQL, version 11: a phone's token is checked in one statement.
--
-- Every request of a phone starts with finding its device by the token's hash. As a
-- transaction that was four round trips (begin, set the gemeente from `route_lookup`,
-- select, commit), before the request could do anything. This function does the same in
-- one statement, run outside any transaction: it sets the token's gemeente for that
-- statement's own transaction only (`set_config(…, true)`), then reads the device under
-- row-level security like any other query of the application role. It runs as its caller
-- (not SECURITY DEFINER): it can see nothing the caller could not, and an unknown token
-- sets no gemeente, so it finds no row.
CREATE FUNCTION device_by_token(p_hash bytea)
    RETURNS TABLE (id text, user_id text, gemeente_id text, role text, revoked boolean)
    LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM set_config('app.gemeente', r.gemeente_id, true)
    FROM route_lookup('device_token', p_hash) r;
    RETURN QUERY
    SELECT d.id, d.user_id, u.gemeente_id, u.role,
           d.revoked_at IS NOT NULL OR u.disabled_at IS NOT NULL
    FROM device d JOIN "user" u ON u.id = d.user_id
    WHERE d.token_hash = p_hash;
END $$;
REVOKE ALL ON FUNCTION device_by_token(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION device_by_token(bytea) TO avondronde_app;

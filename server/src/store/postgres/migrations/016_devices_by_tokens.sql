-- Avondronde on PostgreSQL, version 16: the phones' tokens looked up together.
--
-- Every request of a phone starts with finding its device by its token's hash. One
-- statement per request (`device_by_token`, migrations 011 and 013) was, under load, most
-- of the database's work: in a benchmark of 200 phones each pushing one contact at a time,
-- the look-ups took more of its time than all the writes. The server now asks for the
-- tokens of every request waiting at that moment in one statement
-- (`store/postgres/tokens.rs`), and this function replaces the one-token one.
--
-- What it answers and to whom is unchanged: it runs as its caller (not SECURITY DEFINER),
-- finds each token's gemeente through `route_lookup`, and reads that gemeente's devices
-- under row-level security with that gemeente set, one gemeente at a time. A token finds
-- only its own device, and an unknown token finds nothing. Each row names the hash it
-- answers, so no request can be given another's device. It leaves the caller's gemeente
-- setting as it found it.
DROP FUNCTION device_by_token(bytea);

CREATE FUNCTION devices_by_tokens(p_hashes bytea[])
    RETURNS TABLE (token_hash bytea, id text, user_id text, gemeente_id text, role text,
                   revoked boolean)
    LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
    caller text := current_setting('app.gemeente', true);
    g text;
    hashes bytea[];
BEGIN
    FOR g, hashes IN
        SELECT r.gemeente_id, array_agg(DISTINCT k.h)
        FROM unnest(p_hashes) AS k(h), LATERAL route_lookup('device_token', k.h) r
        GROUP BY r.gemeente_id
    LOOP
        PERFORM set_config('app.gemeente', g, true);
        RETURN QUERY
        SELECT d.token_hash, d.id, d.user_id, u.gemeente_id, u.role,
               d.revoked_at IS NOT NULL OR u.disabled_at IS NOT NULL
        FROM device d JOIN "user" u ON u.id = d.user_id
        WHERE d.token_hash = ANY (hashes);
    END LOOP;
    PERFORM set_config('app.gemeente', coalesce(caller, ''), true);
END $$;
REVOKE ALL ON FUNCTION devices_by_tokens(bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION devices_by_tokens(bytea[]) TO avondronde_app;

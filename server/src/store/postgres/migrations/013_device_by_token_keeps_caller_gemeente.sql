-- Avondronde on PostgreSQL, version 13: `device_by_token` leaves its caller's gemeente as
-- it found it.
--
-- The function sets the token's gemeente with `set_config(…, true)`, which lasts until the
-- end of the transaction. The server calls it outside any transaction, so that was one
-- statement; but called inside a transaction scoped to one gemeente, it left that
-- transaction scoped to the token's gemeente for every later statement. It now keeps the
-- caller's setting and puts it back once its own query has run. (A `SET` clause on the
-- function would do the same, but only a superuser may attach a custom setting to one.)
-- An unknown token sets no gemeente, as before, rather than keeping the caller's: the
-- query then finds nothing. If the query fails, the transaction or savepoint that called
-- it rolls the setting back with everything else.
CREATE OR REPLACE FUNCTION device_by_token(p_hash bytea)
    RETURNS TABLE (id text, user_id text, gemeente_id text, role text, revoked boolean)
    LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
    caller text := current_setting('app.gemeente', true);
BEGIN
    PERFORM set_config('app.gemeente',
        coalesce((SELECT r.gemeente_id FROM route_lookup('device_token', p_hash) r LIMIT 1), ''),
        true);
    RETURN QUERY
    SELECT d.id, d.user_id, u.gemeente_id, u.role,
           d.revoked_at IS NOT NULL OR u.disabled_at IS NOT NULL
    FROM device d JOIN "user" u ON u.id = d.user_id
    WHERE d.token_hash = p_hash;
    PERFORM set_config('app.gemeente', coalesce(caller, ''), true);
END $$;

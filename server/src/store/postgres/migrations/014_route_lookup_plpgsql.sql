-- Avondronde on PostgreSQL, version 14: `route_lookup` in PL/pgSQL, so that its query is
-- planned once per connection instead of at every call.
--
-- A SQL function that PostgreSQL cannot inline (this one is SECURITY DEFINER and has a SET
-- clause, and must keep both) is parsed and planned again each time it is called. Every
-- request of a phone looks its token up through it (`device_by_token`), and every web
-- request its session: in a benchmark of 200 phones pushing one contact at a time, that
-- planning was nearly half of the database's time. PL/pgSQL keeps the plan of its query
-- for the life of the connection. What it answers, and to whom, does not change.
CREATE OR REPLACE FUNCTION route_lookup(p_kind text, p_key bytea)
    RETURNS TABLE (gemeente_id text, id text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT r.gemeente_id, r.id FROM tenant_route r WHERE r.kind = p_kind AND r.key = p_key;
END $$;

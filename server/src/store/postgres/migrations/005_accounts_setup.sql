-- Avondronde on PostgreSQL, version 5: the set-up's cross-tenant look-ups, answered as on
-- SQLite (store::setup).
--
-- A wijk's CBS code is unique over all gemeenten. When an admin uploads wijken, a code that
-- is another gemeente's must refuse the file (not fail on the unique key halfway), so the
-- store asks which gemeente a code belongs to. Like gemeente_id_by_code, this SECURITY
-- DEFINER function answers for one exact code with ids only (the wijk's and its gemeente's),
-- never a name or a boundary, and lists nothing.
CREATE FUNCTION wijk_by_code(p_code text)
    RETURNS TABLE (id text, gemeente_id text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT w.id, w.gemeente_id FROM wijk w WHERE w.code = p_code;
$$;
REVOKE ALL ON FUNCTION wijk_by_code(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wijk_by_code(text) TO avondronde_app;
-- The function runs as the owner, for whom row-level security is forced too: let the owner
-- (never the application role) read the wijk rows.
CREATE POLICY owner_lists ON wijk FOR SELECT TO avondronde_owner USING (true);

-- The gemeenten in the order of their CBS codes, as SQLite lists them (store::setup::
-- gemeenten), so that sweeps visit them in the same order on both backends. Still the ids
-- only.
CREATE OR REPLACE FUNCTION gemeente_ids()
    RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT g.id FROM gemeente g ORDER BY g.code COLLATE "C", g.id;
$$;

-- Avondronde on PostgreSQL, version 3: which gemeenten exist, for the server's start-up and
-- its sweeps (retention, the hotspot index), which then open one transaction per gemeente.
--
-- The application role sees no gemeente without the setting (row-level security), so this
-- SECURITY DEFINER function answers the one cross-tenant question: the ids, and nothing else.
CREATE FUNCTION gemeente_ids()
    RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT g.id FROM gemeente g ORDER BY g.id;
$$;
REVOKE ALL ON FUNCTION gemeente_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gemeente_ids() TO avondronde_app;
-- The function runs as the owner, for whom row-level security is forced too: let the owner
-- (never the application role) read the gemeente rows.
CREATE POLICY owner_lists ON gemeente FOR SELECT TO avondronde_owner USING (true);

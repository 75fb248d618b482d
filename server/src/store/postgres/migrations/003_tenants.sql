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

-- A gemeente by its CBS code, for the set-up commands (run by the provider's admin) and the
-- demo: the id only.
CREATE FUNCTION gemeente_id_by_code(p_code text)
    RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT g.id FROM gemeente g WHERE g.code = p_code;
$$;
REVOKE ALL ON FUNCTION gemeente_id_by_code(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gemeente_id_by_code(text) TO avondronde_app;

-- Every tenant row is written in its transaction's gemeente: the column defaults to it, so the
-- store inserts rows of tables that have no gemeente column in SQLite (a contact's
-- correction, a device, a ledger entry) without naming it. Row-level security still checks
-- that the value is the transaction's gemeente.
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
        EXECUTE format('ALTER TABLE %I ALTER COLUMN gemeente_id SET DEFAULT '
            'NULLIF(current_setting(''app.gemeente'', true), '''')', t);
    END LOOP;
END;
$$;

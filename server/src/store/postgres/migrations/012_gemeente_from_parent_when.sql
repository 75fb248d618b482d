-- Avondronde on PostgreSQL, version 12: the gemeente-from-parent triggers (migration 7) fire
-- only when a row comes without a gemeente.
--
-- In the server every row has one already (the column's default is the transaction's
-- gemeente), so the trigger function had nothing to do, but it was still called, in
-- PL/pgSQL, for every row: for every ledger row of every push. A trigger's WHEN is checked
-- without calling the function. The admin commands, which set no gemeente, still get the
-- parent's.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['place', 'item', 'correction', 'web_session', 'enrolment_code',
        'device', 'round', 'user_wijk', 'recovery_code', 'password_reset']
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_gemeente', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH ROW '
            'WHEN (NEW.gemeente_id IS NULL) EXECUTE FUNCTION gemeente_from_parent()',
            t || '_gemeente', t);
    END LOOP;
END;
$$;

-- Avondronde on PostgreSQL, version 9: a contact month can be created after its rows arrived.
--
-- A contact whose month had no partition yet (a phone clock far ahead, or maintenance that
-- ran late) lands in contact_default. PostgreSQL refuses to create a partition while the
-- default holds rows of its range, so contact_partitions_ensure now moves those rows out of
-- the default, creates the month, and puts them into it, all in the caller's transaction:
-- no row is lost or doubled, and a failure leaves everything as it was.
--
-- It runs as the owner, whom FORCE ROW LEVEL SECURITY also binds: for the move the default's
-- FORCE is lifted and put back within the same transaction (other sessions wait on the
-- table's lock and never see it lifted). The new month gets its row-level security before
-- the transaction commits, so no one ever sees it without.

CREATE OR REPLACE FUNCTION contact_partitions_ensure(p_from date, p_months integer)
    RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', p_from)::date;
    made integer := 0;
    v_name text;
    v_lo bigint;
    v_hi bigint;
    v_moved bigint;
BEGIN
    FOR i IN 1..p_months LOOP
        v_name := format('contact_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass(v_name) IS NULL THEN
            v_lo := extract(epoch FROM m::timestamp)::bigint;
            v_hi := extract(epoch FROM (m + interval '1 month')::timestamp)::bigint;
            ALTER TABLE contact_default NO FORCE ROW LEVEL SECURITY;
            CREATE TEMP TABLE contact_moving ON COMMIT DROP AS
                WITH moved AS (
                    DELETE FROM contact_default
                    WHERE observed_at >= v_lo AND observed_at < v_hi
                    RETURNING *)
                SELECT * FROM moved;
            ALTER TABLE contact_default FORCE ROW LEVEL SECURITY;
            EXECUTE format('CREATE TABLE %I PARTITION OF contact FOR VALUES FROM (%s) TO (%s)',
                v_name, v_lo, v_hi);
            EXECUTE format('INSERT INTO %I SELECT * FROM pg_temp.contact_moving', v_name);
            GET DIAGNOSTICS v_moved = ROW_COUNT;
            IF v_moved > 0 THEN
                RAISE NOTICE 'contact month %: % row(s) moved from contact_default', v_name, v_moved;
            END IF;
            DROP TABLE pg_temp.contact_moving;
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', v_name);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', v_name);
            EXECUTE format('CREATE POLICY tenant ON %I USING (gemeente_id = '
                'NULLIF(current_setting(''app.gemeente'', true), '''')) WITH CHECK (gemeente_id = '
                'NULLIF(current_setting(''app.gemeente'', true), ''''))', v_name);
            made := made + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN made;
END;
$$;

REVOKE ALL ON FUNCTION contact_partitions_ensure(date, integer) FROM PUBLIC;

-- Drops every month partition that ends on or before `p_before`, as in version 2, but only
-- when the month holds no rows any more: the retention sweep archives a contact (into
-- contact_archive) and deletes it before its month may go, so a month that still holds rows
-- was not swept and is refused, with nothing dropped. (The owner is bound by FORCE ROW
-- LEVEL SECURITY; it is lifted on the month to look, which the DROP makes moot, and an error
-- rolls it back.)
CREATE OR REPLACE FUNCTION contact_partitions_drop_before(p_before date)
    RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    p record;
    v_rows boolean;
BEGIN
    FOR p IN SELECT * FROM contact_partitions() LOOP
        IF (p.month + interval '1 month')::date <= p_before THEN
            EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', p.name);
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', p.name) INTO v_rows;
            IF v_rows THEN
                RAISE EXCEPTION 'contact month % still holds contacts that the retention sweep '
                    'has not archived; run the sweep first (nothing was dropped)', p.name
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
            EXECUTE format('DROP TABLE %I', p.name);
            RETURN NEXT p.name;
        END IF;
    END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION contact_partitions_drop_before(date) FROM PUBLIC;

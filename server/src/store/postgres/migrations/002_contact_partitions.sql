-- Avondronde on PostgreSQL, version 2: keeping the contact table's months.
--
-- contact is partitioned by month of observed_at (unix seconds, UTC months). Partitions are
-- named contact_yYYYYmMM. Retention removes whole months: a DROP (or a DETACH, to archive the
-- month's table first) instead of deleting row by row. These functions do DDL, so they run as
-- the owner (the admin connection); the application role cannot execute them.
--
-- A month is dropped only when it is past the retention of every gemeente; a gemeente with a
-- shorter retention still archives and deletes its own rows within the month.

-- Creates the partitions of `p_months` months from the month of `p_from` on, skipping those
-- that exist, each with the same row-level security as its parent. Returns how many were made.
CREATE FUNCTION contact_partitions_ensure(p_from date, p_months integer)
    RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', p_from)::date;
    made integer := 0;
    v_name text;
BEGIN
    FOR i IN 1..p_months LOOP
        v_name := format('contact_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass(v_name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF contact FOR VALUES FROM (%s) TO (%s)',
                v_name,
                extract(epoch FROM m::timestamp)::bigint,
                extract(epoch FROM (m + interval '1 month')::timestamp)::bigint);
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

-- The month partitions of contact, oldest first: name and month.
CREATE FUNCTION contact_partitions()
    RETURNS TABLE (name text, month date) LANGUAGE sql STABLE AS $$
    SELECT c.relname::text,
           make_date(substring(c.relname FROM 10 FOR 4)::integer,
                     substring(c.relname FROM 15 FOR 2)::integer, 1)
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'contact'::regclass AND c.relname ~ '^contact_y[0-9]{4}m[0-9]{2}$'
    ORDER BY 2;
$$;

-- Drops every month partition that ends on or before `p_before` (a month wholly older than
-- the retention). Returns the names dropped.
CREATE FUNCTION contact_partitions_drop_before(p_before date)
    RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT * FROM contact_partitions() LOOP
        IF (p.month + interval '1 month')::date <= p_before THEN
            EXECUTE format('DROP TABLE %I', p.name);
            RETURN NEXT p.name;
        END IF;
    END LOOP;
END;
$$;

-- Detaches the partition of the month of `p_month`, leaving it as a table of its own to
-- archive (pg_dump -t) and then drop. Returns its name, or NULL when there is none.
CREATE FUNCTION contact_partition_detach(p_month date)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_name text := format('contact_y%sm%s', to_char(p_month, 'YYYY'), to_char(p_month, 'MM'));
BEGIN
    IF NOT EXISTS (SELECT 1 FROM contact_partitions() p WHERE p.name = v_name) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('ALTER TABLE contact DETACH PARTITION %I', v_name);
    RETURN v_name;
END;
$$;

REVOKE ALL ON FUNCTION contact_partitions_ensure(date, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION contact_partitions() FROM PUBLIC;
REVOKE ALL ON FUNCTION contact_partitions_drop_before(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION contact_partition_detach(date) FROM PUBLIC;

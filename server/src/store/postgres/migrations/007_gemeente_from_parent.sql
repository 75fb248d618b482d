-- Avondronde on PostgreSQL, version 7: a row of a table that reaches its gemeente through a
-- parent in SQLite (a device through its user, a correction through its contact, …) gets
-- `gemeente_id` from that parent when the insert does not name it and no gemeente is set for
-- the transaction (the admin commands, which connect as the cluster's admin). In the server
-- the column's default (the transaction's gemeente, migration 003) has already filled it, and
-- row-level security checks it either way.
CREATE FUNCTION gemeente_from_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.gemeente_id IS NULL THEN
        IF TG_TABLE_NAME = 'place' THEN
            SELECT w.gemeente_id INTO NEW.gemeente_id FROM wijk w WHERE w.id = NEW.wijk_id;
        ELSIF TG_TABLE_NAME = 'item' THEN
            SELECT d.gemeente_id INTO NEW.gemeente_id FROM device d WHERE d.id = NEW.device_id;
        ELSIF TG_TABLE_NAME = 'correction' THEN
            SELECT c.gemeente_id INTO NEW.gemeente_id FROM contact c WHERE c.id = NEW.contact_id;
        ELSE
            -- web_session, enrolment_code, device, round, user_wijk, recovery_code,
            -- password_reset: through the user.
            SELECT u.gemeente_id INTO NEW.gemeente_id FROM "user" u WHERE u.id = NEW.user_id;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['place', 'item', 'correction', 'web_session', 'enrolment_code',
        'device', 'round', 'user_wijk', 'recovery_code', 'password_reset']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH ROW '
            'EXECUTE FUNCTION gemeente_from_parent()', t || '_gemeente', t);
    END LOOP;
END;
$$;

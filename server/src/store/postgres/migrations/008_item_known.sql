-- Avondronde on PostgreSQL, version 8: whether a round or contact id is known at all, in any
-- gemeente, for the push's parent check. A contact on a round that exists, but not for this
-- device, is refused for good ("unknown_round"); only a parent that exists nowhere yet is
-- worth waiting for. Under row-level security another gemeente's round is invisible, so the
-- answer comes from the ledger through this function: a yes or no for one exact id the phone
-- already holds, nothing else.
CREATE POLICY owner_reads ON item FOR SELECT TO avondronde_owner USING (true);

CREATE FUNCTION item_known(p_kind text, p_item_id text)
    RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM item i WHERE i.kind = p_kind AND i.item_id = p_item_id);
$$;
REVOKE ALL ON FUNCTION item_known(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION item_known(text, text) TO avondronde_app;

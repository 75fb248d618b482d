-- Issue 13: a round whose wijk the server does not know (deleted by the admin, or never in
-- this gemeente) is stored instead of refused, so its contacts are never stuck on the
-- phone. Its `wijk_id` is then '' (no wijk: its contacts get a wijk by location only, never
-- the unknown id), and the id the phone named is kept here for the admin to see.
ALTER TABLE round ADD COLUMN unknown_wijk TEXT;
CREATE INDEX round_unknown_wijk ON round (unknown_wijk) WHERE unknown_wijk IS NOT NULL;

-- ASVS 2.8.4: a TOTP code is accepted once. The last accepted 30-second step per user;
-- a code of that step or an earlier one is refused.
ALTER TABLE user ADD COLUMN totp_last_step INTEGER;

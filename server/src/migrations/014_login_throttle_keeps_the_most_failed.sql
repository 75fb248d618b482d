-- When more account names fail within the hour than the login throttle keeps windows for,
-- it drops the windows with the fewest failures first (the oldest of those first), not
-- simply the oldest. A flood of fresh names, one failure each, then cannot push out the
-- window of an account under attack and so cannot unlock it: to push out a window of k
-- failures an attacker must fill every kept window with at least k failures of its own.
CREATE INDEX login_failure_by_weight ON login_failure (failures DESC, window_start DESC);

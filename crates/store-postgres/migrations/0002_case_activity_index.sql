-- The case list can be ordered by last activity (agents' default view of
-- live work); this keeps that order and its cursor paging indexed.
CREATE INDEX cases_account_activity ON cases(account_id, last_activity_at DESC, id DESC);

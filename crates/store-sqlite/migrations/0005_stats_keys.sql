-- Statistics without joins (R15). Each history event carries its case's
-- grouping keys (assignee, channel) and the case's creation time, so the
-- counters and resolution times of a period are read from one index of
-- case_events alone, without probing a case for every event.
-- A case's creation time and channel never change; its assignee does, and
-- `update_case` moves its events along (in Rust, not a trigger: a trigger
-- would make every case update open a statement journal, whose release
-- costs time in proportion to the pages a transaction has written), so
-- events always count for the case's current assignee, as before.
ALTER TABLE case_events ADD COLUMN assignee_id TEXT;
ALTER TABLE case_events ADD COLUMN channel_id TEXT NOT NULL DEFAULT '';
ALTER TABLE case_events ADD COLUMN case_created_at INTEGER NOT NULL DEFAULT 0;
UPDATE case_events SET (assignee_id, channel_id, case_created_at) =
    (SELECT c.assignee_id, c.channel_id, c.created_at FROM cases c WHERE c.id = case_events.case_id);

DROP INDEX case_events_stats;
CREATE INDEX case_events_stats ON case_events(account_id, created_at, kind, sets_closed,
    sets_finished, assignee_id, channel_id);
-- The closes of a period, with what a resolution time needs.
CREATE INDEX case_events_closes ON case_events(account_id, created_at, case_created_at,
    assignee_id, channel_id) WHERE sets_closed = 1;
-- Only the statistics' joins of events to cases used it.
DROP INDEX cases_stats_keys;

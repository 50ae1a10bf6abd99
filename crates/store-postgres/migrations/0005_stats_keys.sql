-- Statistics without joins (R15). Each history event carries its case's
-- grouping keys (assignee, channel) and the case's creation time, so the
-- counters and resolution times of a period are read from one index of
-- case_events alone, without probing a case for every event.
-- A case's creation time and channel never change; its assignee does, and
-- a trigger moves its events along, so events always count for the case's
-- current assignee (as before this migration).
ALTER TABLE case_events ADD COLUMN assignee_id TEXT;
ALTER TABLE case_events ADD COLUMN channel_id TEXT NOT NULL DEFAULT '';
ALTER TABLE case_events ADD COLUMN case_created_at BIGINT NOT NULL DEFAULT 0;
UPDATE case_events e SET assignee_id = c.assignee_id, channel_id = c.channel_id,
    case_created_at = c.created_at
    FROM cases c WHERE c.id = e.case_id;

CREATE FUNCTION cd_case_event_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE case_events SET assignee_id = NEW.assignee_id, channel_id = NEW.channel_id
        WHERE case_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER cases_event_keys AFTER UPDATE OF assignee_id, channel_id ON cases
    FOR EACH ROW
    WHEN (OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
        OR OLD.channel_id IS DISTINCT FROM NEW.channel_id)
    EXECUTE FUNCTION cd_case_event_keys();

DROP INDEX case_events_stats;
CREATE INDEX case_events_stats ON case_events(account_id, created_at, kind, sets_closed,
    sets_finished, assignee_id, channel_id);
-- The closes of a period, with what a resolution time needs.
CREATE INDEX case_events_closes ON case_events(account_id, created_at)
    INCLUDE (case_created_at, assignee_id, channel_id) WHERE sets_closed;
-- Only the statistics' joins of events to cases used it.
DROP INDEX cases_stats_keys;

-- Reports (R15, R16).
-- The account's time zone: statistics days and weeks are its local ones.
ALTER TABLE accounts ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

-- What an event's changes set, kept as columns (written with the event,
-- see casedesk_domain::stats::EventFacts) so statistics never parse JSON.
ALTER TABLE case_events ADD COLUMN sets_closed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_events ADD COLUMN sets_finished INTEGER NOT NULL DEFAULT 0;
UPDATE case_events SET
    sets_closed = (instr(changes, '{"field":"status","before":"open","after":"closed"}') > 0
        OR instr(changes, '{"field":"status","before":"pending","after":"closed"}') > 0),
    sets_finished = instr(changes, '{"field":"chat_state","before":"active","after":"finished"}') > 0;

-- Covering indexes: a period's events, its new cases, and a case's
-- grouping keys are read from the index alone, without table lookups.
CREATE INDEX case_events_stats
    ON case_events(account_id, created_at, kind, sets_closed, sets_finished, case_id);
CREATE INDEX cases_stats_created ON cases(account_id, created_at, assignee_id, channel_id,
    first_response_at, message_count, merged_into_id);
CREATE INDEX cases_stats_keys ON cases(id, created_at, assignee_id, channel_id);
-- Active chats now, per agent and channel.
CREATE INDEX cases_account_active_chats ON cases(account_id, assignee_id, channel_id)
    WHERE chat_state = 'active' AND merged_into_id IS NULL;

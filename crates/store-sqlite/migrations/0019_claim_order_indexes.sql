-- The scheduler's claims take due work in a total order (due time, then
-- key) so that a burst due at one moment is handed out in pages: with an
-- index on the due time alone, every claim read and sorted every due row
-- (100,000 chats due at once: 100,000 rows per claim of 1,000). Indexed in
-- the claims' order, a claim reads what it takes (issue 16).
DROP INDEX chat_deadlines_due;
CREATE INDEX chat_deadlines_due ON chat_deadlines(due_at, case_id, kind);
DROP INDEX rule_timers_due;
CREATE INDEX rule_timers_due ON rule_timers(due_at, case_id, rule_id);
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox(next_attempt_at, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

-- Outbound webhooks (hardening items 5 and 6): deliveries that used up their
-- attempts, or had nowhere to go, are kept as failed (dead letters) until an
-- admin redelivers them; each attempt's time is kept for the admin's list.
ALTER TABLE outbox ADD COLUMN failed_at INTEGER;
ALTER TABLE outbox ADD COLUMN last_attempt_at INTEGER;

-- Failed items are not due: the worker's index leaves them out.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox(next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
-- A channel's deliveries, newest first.
CREATE INDEX outbox_channel ON outbox(channel_id, created_at);

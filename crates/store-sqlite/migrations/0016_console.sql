-- The agent console (issue 20): an agent's reply to an unassigned case
-- assigns it to them unless the account turns this off.
ALTER TABLE accounts ADD COLUMN assign_on_reply INTEGER NOT NULL DEFAULT 1;

-- The queues (Mine, Unassigned, All open, Waiting on customer) count the
-- account's unmerged cases by status and assignee.
CREATE INDEX cases_queue ON cases(account_id, status, assignee_id);

-- A channel an admin turned off: it takes nothing in (webhook, widget,
-- MIME, bot and mailbox polling) until turned on again; its cases stay.
ALTER TABLE channels ADD COLUMN disabled_at BIGINT;

-- The page of the host site a widget visitor last wrote from (origin and
-- path only), shown beside their name.
ALTER TABLE customers ADD COLUMN page TEXT;

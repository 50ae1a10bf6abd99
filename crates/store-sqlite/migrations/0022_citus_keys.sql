-- The keys PostgreSQL's migration 0022 gives every account table for a
-- database distributed by account (Citus) — as far as the queries both
-- databases share need them: their `ON CONFLICT` targets include
-- `account_id`, so the unique keys they name do too. Small tables are
-- rebuilt with the new keys (SQLite cannot change a key in place);
-- `customers` gets a unique index beside its old constraint.
CREATE TABLE chat_deadlines_keyed (
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    account_id TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    PRIMARY KEY (case_id, kind, account_id)
);
INSERT INTO chat_deadlines_keyed SELECT case_id, kind, account_id, due_at FROM chat_deadlines;
DROP TABLE chat_deadlines;
ALTER TABLE chat_deadlines_keyed RENAME TO chat_deadlines;
CREATE INDEX chat_deadlines_due ON chat_deadlines(due_at, case_id, kind);

CREATE TABLE rule_timers_keyed (
    case_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    PRIMARY KEY (case_id, rule_id, account_id)
);
INSERT INTO rule_timers_keyed SELECT case_id, rule_id, account_id, due_at FROM rule_timers;
DROP TABLE rule_timers;
ALTER TABLE rule_timers_keyed RENAME TO rule_timers;
CREATE INDEX rule_timers_due ON rule_timers(due_at, case_id, rule_id);
CREATE INDEX rule_timers_rule ON rule_timers(rule_id);

CREATE TABLE channel_secrets_keyed (
    channel_id TEXT NOT NULL REFERENCES channels(id),
    account_id TEXT NOT NULL,
    secret TEXT NOT NULL,
    webhook_secret TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, account_id)
);
INSERT INTO channel_secrets_keyed
    SELECT channel_id, account_id, secret, webhook_secret, settings, created_at, updated_at
    FROM channel_secrets;
DROP TABLE channel_secrets;
ALTER TABLE channel_secrets_keyed RENAME TO channel_secrets;

CREATE TABLE channel_polls_keyed (
    channel_id TEXT NOT NULL REFERENCES channels(id),
    account_id TEXT NOT NULL,
    next_offset BIGINT NOT NULL DEFAULT 0,
    holder TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    validity BIGINT,
    PRIMARY KEY (channel_id, account_id)
);
INSERT INTO channel_polls_keyed
    SELECT p.channel_id, c.account_id, p.next_offset, p.holder, p.lease_until, p.validity
    FROM channel_polls p JOIN channels c ON c.id = p.channel_id;
DROP TABLE channel_polls;
ALTER TABLE channel_polls_keyed RENAME TO channel_polls;

CREATE UNIQUE INDEX customers_external ON customers(channel_id, external_id, account_id);

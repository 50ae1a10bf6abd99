-- Keys ready for a database distributed by account (Citus, docs/scaling.md):
-- every primary key, unique constraint and foreign key includes
-- `account_id`, the rule Citus puts on tables distributed by a column, so
-- that each one can be checked on the node holding the account. Ids stay
-- the leading column, so lookups by id use the same index as before.
-- Exceptions, checked by the catalog test: `accounts` (distributed by its
-- own `id`), `agents.email` (one login across accounts: a reference table
-- under Citus) and `limit_entries` (not account data: counts of
-- addresses, kept on the coordinator).

-- Foreign keys between account tables go first: they hold the keys below.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_agent_id_fkey;
ALTER TABLE customers DROP CONSTRAINT customers_channel_id_fkey;
ALTER TABLE cases DROP CONSTRAINT cases_channel_id_fkey;
ALTER TABLE cases DROP CONSTRAINT cases_customer_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_case_id_fkey;
ALTER TABLE case_labels DROP CONSTRAINT case_labels_case_id_fkey;
ALTER TABLE case_labels DROP CONSTRAINT case_labels_label_id_fkey;
ALTER TABLE templates DROP CONSTRAINT templates_owner_id_fkey;
ALTER TABLE widget_visitors DROP CONSTRAINT widget_visitors_customer_id_fkey;
ALTER TABLE widget_visitors DROP CONSTRAINT widget_visitors_channel_id_fkey;
ALTER TABLE help_tokens DROP CONSTRAINT help_tokens_customer_id_fkey;
ALTER TABLE attachments DROP CONSTRAINT attachments_message_id_fkey;
ALTER TABLE channel_secrets DROP CONSTRAINT channel_secrets_channel_id_fkey;
ALTER TABLE channel_updates DROP CONSTRAINT channel_updates_channel_id_fkey;
ALTER TABLE channel_polls DROP CONSTRAINT channel_polls_channel_id_fkey;
ALTER TABLE letters DROP CONSTRAINT letters_message_id_fkey;

-- The one table without the column gets it from its channel.
ALTER TABLE channel_polls ADD COLUMN account_id TEXT;
UPDATE channel_polls p SET account_id = c.account_id FROM channels c WHERE c.id = p.channel_id;
DELETE FROM channel_polls WHERE account_id IS NULL;
ALTER TABLE channel_polls ALTER COLUMN account_id SET NOT NULL;

ALTER TABLE agents DROP CONSTRAINT agents_pkey, ADD PRIMARY KEY (id, account_id);
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_pkey, ADD PRIMARY KEY (token_hash, account_id);
ALTER TABLE channels DROP CONSTRAINT channels_pkey, ADD PRIMARY KEY (id, account_id);
ALTER TABLE customers DROP CONSTRAINT customers_pkey, ADD PRIMARY KEY (id, account_id),
    DROP CONSTRAINT customers_channel_id_external_id_key,
    ADD UNIQUE (channel_id, external_id, account_id);
ALTER TABLE cases DROP CONSTRAINT cases_pkey, ADD PRIMARY KEY (id, account_id);
ALTER TABLE messages DROP CONSTRAINT messages_pkey, ADD PRIMARY KEY (seq, account_id),
    DROP CONSTRAINT messages_id_key, ADD UNIQUE (id, account_id);
DROP INDEX messages_channel_message;
CREATE UNIQUE INDEX messages_channel_message
    ON messages(channel_id, channel_message_id, account_id)
    WHERE channel_message_id IS NOT NULL;
ALTER TABLE reactions DROP CONSTRAINT reactions_pkey, ADD PRIMARY KEY (id, account_id);
ALTER TABLE case_events DROP CONSTRAINT case_events_pkey, ADD PRIMARY KEY (seq, account_id),
    DROP CONSTRAINT case_events_id_key, ADD UNIQUE (id, account_id);
ALTER TABLE chat_deadlines DROP CONSTRAINT chat_deadlines_pkey,
    ADD PRIMARY KEY (case_id, kind, account_id);
ALTER TABLE outbox DROP CONSTRAINT outbox_pkey, ADD PRIMARY KEY (id, account_id);
ALTER TABLE labels DROP CONSTRAINT labels_pkey, ADD PRIMARY KEY (id, account_id);
ALTER TABLE case_labels DROP CONSTRAINT case_labels_pkey,
    ADD PRIMARY KEY (case_id, label_id, account_id);
ALTER TABLE templates DROP CONSTRAINT templates_pkey, ADD PRIMARY KEY (id, account_id);
ALTER TABLE rules DROP CONSTRAINT rules_pkey, ADD PRIMARY KEY (id, account_id);
ALTER TABLE rule_timers DROP CONSTRAINT rule_timers_pkey,
    ADD PRIMARY KEY (case_id, rule_id, account_id);
ALTER TABLE widget_visitors DROP CONSTRAINT widget_visitors_pkey,
    ADD PRIMARY KEY (token_hash, account_id);
ALTER TABLE help_tokens DROP CONSTRAINT help_tokens_pkey, ADD PRIMARY KEY (token_hash, account_id);
ALTER TABLE attachments DROP CONSTRAINT attachments_pkey, ADD PRIMARY KEY (id, account_id);
ALTER TABLE channel_secrets DROP CONSTRAINT channel_secrets_pkey,
    ADD PRIMARY KEY (channel_id, account_id);
ALTER TABLE channel_updates DROP CONSTRAINT channel_updates_pkey,
    ADD PRIMARY KEY (channel_id, update_id, account_id);
DROP INDEX channel_updates_key;
CREATE UNIQUE INDEX channel_updates_key ON channel_updates(channel_id, update_key, account_id);
ALTER TABLE channel_polls DROP CONSTRAINT channel_polls_pkey,
    ADD PRIMARY KEY (channel_id, account_id);
ALTER TABLE letters DROP CONSTRAINT letters_pkey, ADD PRIMARY KEY (message_id, account_id);

ALTER TABLE api_tokens ADD FOREIGN KEY (agent_id, account_id) REFERENCES agents(id, account_id);
ALTER TABLE customers ADD FOREIGN KEY (channel_id, account_id) REFERENCES channels(id, account_id);
ALTER TABLE cases ADD FOREIGN KEY (channel_id, account_id) REFERENCES channels(id, account_id),
    ADD FOREIGN KEY (customer_id, account_id) REFERENCES customers(id, account_id);
ALTER TABLE messages ADD FOREIGN KEY (case_id, account_id) REFERENCES cases(id, account_id);
ALTER TABLE case_labels ADD FOREIGN KEY (case_id, account_id) REFERENCES cases(id, account_id),
    ADD FOREIGN KEY (label_id, account_id) REFERENCES labels(id, account_id) ON DELETE CASCADE;
ALTER TABLE templates ADD FOREIGN KEY (owner_id, account_id) REFERENCES agents(id, account_id);
ALTER TABLE widget_visitors
    ADD FOREIGN KEY (customer_id, account_id) REFERENCES customers(id, account_id),
    ADD FOREIGN KEY (channel_id, account_id) REFERENCES channels(id, account_id);
ALTER TABLE help_tokens ADD FOREIGN KEY (customer_id, account_id) REFERENCES customers(id, account_id);
ALTER TABLE attachments ADD FOREIGN KEY (message_id, account_id) REFERENCES messages(id, account_id);
ALTER TABLE channel_secrets ADD FOREIGN KEY (channel_id, account_id) REFERENCES channels(id, account_id);
ALTER TABLE channel_updates ADD FOREIGN KEY (channel_id, account_id) REFERENCES channels(id, account_id);
ALTER TABLE channel_polls ADD FOREIGN KEY (channel_id, account_id) REFERENCES channels(id, account_id),
    ADD FOREIGN KEY (account_id) REFERENCES accounts(id);
ALTER TABLE letters ADD FOREIGN KEY (message_id, account_id) REFERENCES messages(id, account_id);

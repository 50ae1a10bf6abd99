-- Messenger channels (Telegram first). The same text on SQLite and PostgreSQL.

-- What only the server may see: the messenger's credential (the bot
-- token) and the secret its webhook calls carry; apart from `channels`,
-- which the API shows.
CREATE TABLE channel_secrets (
    channel_id TEXT PRIMARY KEY REFERENCES channels(id),
    account_id TEXT NOT NULL,
    secret TEXT NOT NULL,
    webhook_secret TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Store first, then process: every update delivered, raw, once per
-- (channel, update_id); a chat's updates are processed in update_id order.
CREATE TABLE channel_updates (
    channel_id TEXT NOT NULL REFERENCES channels(id),
    update_id BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    chat_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    processed_at BIGINT,
    failed_at BIGINT,
    last_error TEXT,
    PRIMARY KEY (channel_id, update_id)
);
-- The pending updates of each chat, in order, and when they are due.
CREATE INDEX channel_updates_pending ON channel_updates(channel_id, chat_key, update_id)
    WHERE processed_at IS NULL AND failed_at IS NULL;
CREATE INDEX channel_updates_due ON channel_updates(next_attempt_at)
    WHERE processed_at IS NULL AND failed_at IS NULL;
CREATE INDEX channel_updates_listed ON channel_updates(account_id, channel_id, received_at);

-- Long polling: where each bot's updates continue, and which server
-- holds the right to poll it until when.
CREATE TABLE channel_polls (
    channel_id TEXT PRIMARY KEY REFERENCES channels(id),
    next_offset BIGINT NOT NULL DEFAULT 0,
    holder TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
);

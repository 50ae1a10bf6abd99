-- casedesk core schema (PostgreSQL). Times are microseconds since the Unix epoch, UTC.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    chat_auto_finish_after_seconds BIGINT NOT NULL DEFAULT 600,
    chat_auto_finish_warning_seconds BIGINT NOT NULL DEFAULT 60,
    next_case_number BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX agents_account ON agents(account_id);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    webhook_url TEXT,
    inbound_token TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX channels_account ON channels(account_id);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel_id TEXT NOT NULL REFERENCES channels(id),
    external_id TEXT NOT NULL,
    name TEXT,
    latest_case_id TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (channel_id, external_id)
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    number BIGINT NOT NULL,
    channel_id TEXT NOT NULL REFERENCES channels(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    chat_state TEXT,
    assignee_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL,
    finished_at BIGINT,
    closed_at BIGINT,
    reopen_from_seq BIGINT,
    reopen_status_before TEXT,
    reopen_finished_at_before BIGINT,
    last_public_author TEXT,
    previous_case_id TEXT,
    next_case_id TEXT,
    merged_into_id TEXT,
    message_count BIGINT NOT NULL DEFAULT 0,
    unread BOOLEAN NOT NULL DEFAULT FALSE,
    first_response_at BIGINT,
    UNIQUE (account_id, number)
);
CREATE INDEX cases_account_created ON cases(account_id, created_at DESC, id DESC);
CREATE INDEX cases_customer ON cases(customer_id, created_at);

CREATE SEQUENCE message_seq;

CREATE TABLE messages (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    author_type TEXT NOT NULL,
    author_id TEXT,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    channel_id TEXT NOT NULL,
    channel_message_id TEXT,
    reacted_message_id TEXT
);
CREATE INDEX messages_case ON messages(case_id, created_at, seq);
-- Exactly once: a redelivered channel message cannot be stored twice.
CREATE UNIQUE INDEX messages_channel_message ON messages(channel_id, channel_message_id)
    WHERE channel_message_id IS NOT NULL;

CREATE TABLE reactions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    emoji TEXT NOT NULL,
    note_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX reactions_message ON reactions(message_id);

CREATE TABLE case_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    changes TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX case_events_case ON case_events(case_id, seq);
CREATE INDEX case_events_account_time ON case_events(account_id, created_at);

-- One row per pending timer of an active chat; fired rows are deleted.
CREATE TABLE chat_deadlines (
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    account_id TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, kind)
);
CREATE INDEX chat_deadlines_due ON chat_deadlines(due_at);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE delivered_at IS NULL;

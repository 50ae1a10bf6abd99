-- The change notices live clients are sent (server-sent events), kept a
-- while so that a client that reconnects, or a server that fell behind,
-- reads what it missed (docs/live.md). A notice's place in its account's
-- feed is (tx, seq): the id of the transaction that wrote it, then its
-- sequence number. Readers take only rows of transactions below the
-- oldest one still running (`pg_snapshot_xmin`), so no row can later
-- appear before a place a reader has passed: a transaction that took its
-- sequence numbers first but commits last is read when it commits.
CREATE TABLE notices (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    tx BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    account_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    case_number BIGINT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, tx, seq)
);
-- Pruning takes the oldest rows first.
CREATE INDEX notices_seq ON notices(seq);

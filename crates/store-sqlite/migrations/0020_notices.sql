-- The change notices live clients are sent (server-sent events), kept a
-- while so that a client that reconnects reads what it missed
-- (docs/live.md). A notice's place in its account's feed is (tx, seq);
-- SQLite's one writer commits in the order it numbers rows, so `tx` is
-- always 0 and the row id orders the feed. Pruning keeps the newest row,
-- so a row id is never given out twice.
CREATE TABLE notices (
    seq INTEGER PRIMARY KEY,
    tx INTEGER NOT NULL DEFAULT 0,
    account_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    case_number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX notices_account ON notices(account_id, tx, seq);

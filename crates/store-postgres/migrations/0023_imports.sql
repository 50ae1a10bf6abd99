-- History imports: an uploaded file's messages are staged in `import_rows`,
-- then a worker turns each customer's into cases, one customer per unit of
-- work, and records in `imports` the last customer done (customers are
-- worked in `customer_id` order) so that a crash resumes after it. Keys
-- include `account_id` (migration 0022); a staged row is its import's
-- account's.
CREATE TABLE imports (
    id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel_id TEXT NOT NULL,
    format TEXT NOT NULL,
    state TEXT NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    cases BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    error_count BIGINT NOT NULL DEFAULT 0,
    -- The first unreadable records, a JSON array of {line, message}.
    errors TEXT NOT NULL DEFAULT '[]',
    staged BIGINT NOT NULL DEFAULT 0,
    customers_done BIGINT NOT NULL DEFAULT 0,
    last_customer TEXT,
    failure TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (id, account_id),
    FOREIGN KEY (channel_id, account_id) REFERENCES channels(id, account_id)
);
CREATE INDEX imports_claim ON imports(state, lease_until);
CREATE INDEX imports_listed ON imports(account_id, created_at DESC);

CREATE TABLE import_rows (
    import_id TEXT NOT NULL,
    n BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    line BIGINT NOT NULL,
    -- Bytewise, as SQLite and Rust compare: the order customers are
    -- worked in, and the resume point, mean the same everywhere.
    customer_id TEXT COLLATE "C" NOT NULL,
    customer_name TEXT,
    source_id TEXT NOT NULL,
    from_customer BOOLEAN NOT NULL,
    agent_name TEXT,
    at BIGINT NOT NULL,
    text TEXT NOT NULL,
    attachment TEXT,
    PRIMARY KEY (import_id, n, account_id),
    FOREIGN KEY (import_id, account_id) REFERENCES imports(id, account_id)
);
CREATE INDEX import_rows_customer ON import_rows(import_id, customer_id, at, n);

-- History imports: an uploaded file's messages are staged in `import_rows`,
-- then a worker turns each customer's into cases, one customer per unit of
-- work, and records in `imports` the last customer done (customers are
-- worked in `customer_id` order, bytewise) so that a crash resumes after
-- it. Keyed as PostgreSQL's (its migration 0022: keys include
-- `account_id`); a staged row is its import's account's.
CREATE TABLE imports (
    id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel_id TEXT NOT NULL REFERENCES channels(id),
    format TEXT NOT NULL,
    state TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    cases INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    error_count INTEGER NOT NULL DEFAULT 0,
    -- The first unreadable records, a JSON array of {line, message}.
    errors TEXT NOT NULL DEFAULT '[]',
    staged INTEGER NOT NULL DEFAULT 0,
    customers_done INTEGER NOT NULL DEFAULT 0,
    last_customer TEXT,
    failure TEXT,
    lease_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (id, account_id)
);
CREATE INDEX imports_claim ON imports(state, lease_until);
CREATE INDEX imports_listed ON imports(account_id, created_at DESC);

CREATE TABLE import_rows (
    import_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    customer_name TEXT,
    source_id TEXT NOT NULL,
    from_customer INTEGER NOT NULL,
    agent_name TEXT,
    at INTEGER NOT NULL,
    text TEXT NOT NULL,
    attachment TEXT,
    PRIMARY KEY (import_id, n, account_id),
    FOREIGN KEY (import_id, account_id) REFERENCES imports(id, account_id)
);
CREATE INDEX import_rows_customer ON import_rows(import_id, customer_id, at, n);

-- The Help Center and attachments (issue 5): customers' e-mail addresses, which sign them
-- in, and the sign-in links and sessions of customers.
ALTER TABLE customers ADD COLUMN email TEXT;
-- When a widget visitor's token was last used (NULL: never since created).
ALTER TABLE widget_visitors ADD COLUMN last_seen_at INTEGER;
CREATE INDEX customers_email ON customers(account_id, email) WHERE email IS NOT NULL;

CREATE TABLE help_tokens (
    -- SHA-256 of the token; the token itself is never stored.
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    -- 'link' (one-time sign-in link) or 'session' (a signed-in browser).
    kind TEXT NOT NULL,
    -- Whom it signs in: every customer of the account with this address,
    -- and/or this one customer (a widget visitor).
    email TEXT,
    customer_id TEXT REFERENCES customers(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX help_tokens_expiry ON help_tokens(expires_at);

-- Files attached to messages (widget visitors and agents). The bytes are in
-- the attachments directory; the row says what they are.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    message_id TEXT NOT NULL REFERENCES messages(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

-- The web chat widget (issue 5): which sites may embed a widget channel,
-- and the visitors' tokens.
-- JSON array of origins such as "https://shop.example"; NULL or [] = any.
ALTER TABLE channels ADD COLUMN allowed_origins TEXT;

CREATE TABLE widget_visitors (
    -- SHA-256 of the visitor's bearer token; the token itself is never stored.
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel_id TEXT NOT NULL REFERENCES channels(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX widget_visitors_customer ON widget_visitors(customer_id);

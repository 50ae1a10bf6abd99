-- What counts against limits shared by several servers (docs/security.md,
-- "Limits across servers"): rate limits' hits and open event streams'
-- leases. Several servers need PostgreSQL; SQLite keeps the table so that
-- both backends answer the same queries.
CREATE TABLE limit_entries (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    tag TEXT,
    expires_at INTEGER NOT NULL
);
CREATE INDEX limit_entries_key ON limit_entries(key, expires_at);
CREATE INDEX limit_entries_tag ON limit_entries(tag) WHERE tag IS NOT NULL;
CREATE INDEX limit_entries_expiry ON limit_entries(expires_at);

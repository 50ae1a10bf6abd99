-- What counts against the limits several servers share (docs/security.md,
-- "Limits across servers"): a rate limit's hits (`key` such as
-- `visitors-ip:…`, expiring when they leave the window) and open event
-- streams (leases renewed by the server holding them). `tag` groups
-- entries one action forgets at once (an agent's failed logins from every
-- address). UNLOGGED: no WAL, so a unit of work touching only this table
-- commits without waiting for a flush; a crash forgets the counts, which
-- only lets a few more attempts through.
CREATE UNLOGGED TABLE limit_entries (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    tag TEXT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX limit_entries_key ON limit_entries(key, expires_at);
CREATE INDEX limit_entries_tag ON limit_entries(tag) WHERE tag IS NOT NULL;
CREATE INDEX limit_entries_expiry ON limit_entries(expires_at);

-- Hardening (issue 21): admins disable agents (no login, sessions ended) and
-- delete them (kept for the history their actions are in, never listed).
ALTER TABLE agents ADD COLUMN disabled_at BIGINT;
ALTER TABLE agents ADD COLUMN deleted_at BIGINT;
CREATE INDEX api_tokens_agent ON api_tokens(agent_id);

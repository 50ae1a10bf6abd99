-- Messenger edits (Telegram's edited_message): when a customer last
-- changed a message's text; the text before is kept in the case history.
-- The same text on SQLite and PostgreSQL.
ALTER TABLE messages ADD COLUMN edited_at BIGINT;

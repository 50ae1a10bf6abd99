-- The language a messenger reports for a customer (Telegram's
-- language_code: `ru`, `en`, `pt-br`), so agents can answer in it.
-- The same text on SQLite and PostgreSQL.
ALTER TABLE customers ADD COLUMN language TEXT;

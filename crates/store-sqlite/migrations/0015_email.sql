-- E-mail channels (issue 14). The same text on SQLite and PostgreSQL.

-- A letter is stored once per channel however often it arrives (IMAP
-- after an error, the MIME endpoint, both): under its Message-ID, or the
-- hash of its bytes without one. Telegram updates need no key (their
-- update_id is theirs) and leave it NULL, which never conflicts.
ALTER TABLE channel_updates ADD COLUMN update_key TEXT;
CREATE UNIQUE INDEX channel_updates_key ON channel_updates(channel_id, update_key);

-- An IMAP mailbox's position is its next UID under a UIDVALIDITY: when
-- the server renumbers the folder, fetching starts over (and the letter
-- key keeps what was stored from being stored again).
ALTER TABLE channel_polls ADD COLUMN validity BIGINT;

-- What a message that is a letter has beyond its text: one row per
-- message received or sent by e-mail.
CREATE TABLE letters (
    message_id TEXT PRIMARY KEY REFERENCES messages(id),
    account_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    from_address TEXT NOT NULL,
    -- JSON array of the To and Cc addresses.
    recipients TEXT NOT NULL,
    -- The HTML body as it came (never shown unsanitized).
    html TEXT,
    -- Why it counts as machine-sent (out-of-office, bounce, list), if so.
    automatic TEXT,
    -- The raw letter in the attachments store.
    raw_file TEXT,
    created_at BIGINT NOT NULL
);

-- One person, many channels: an agent links a customer's profiles in
-- different channels (an e-mail address, a Telegram user, a widget
-- visitor); linked profiles share a person id.
ALTER TABLE customers ADD COLUMN person_id TEXT;
CREATE INDEX customers_person ON customers(account_id, person_id);

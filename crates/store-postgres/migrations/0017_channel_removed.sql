-- A channel an admin removed: turned off for good, gone from Settings and
-- from the pickers of new rules; its cases, customers and history stay and
-- still name it.
ALTER TABLE channels ADD COLUMN removed_at BIGINT;

-- Business hours (R15): the account's weekly schedule as JSON, e.g.
-- {"mon":[["09:00","18:00"]]} (casedesk_domain::BusinessHours), read in the
-- account's time zone; NULL means statistics use calendar time.
ALTER TABLE accounts ADD COLUMN business_hours TEXT;

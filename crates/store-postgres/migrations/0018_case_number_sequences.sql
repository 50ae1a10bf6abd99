-- Case numbers without a lock (issue 16). Each account numbers its cases
-- from a sequence of its own, case_number_<account id>: new cases of one
-- account no longer wait for each other's commits on the account's row (at
-- most one new case per commit before). A sequence is not rolled back, so a
-- unit of work that fails after taking a number leaves a gap
-- (docs/rules.md). accounts.next_case_number is no longer read here; SQLite,
-- whose one writer counts without gaps, keeps using it.
CREATE FUNCTION create_case_number_sequence(account TEXT, first_number BIGINT DEFAULT 1)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I START %s', 'case_number_' || account,
        first_number);
END
$$;

SELECT create_case_number_sequence(id, next_case_number) FROM accounts;

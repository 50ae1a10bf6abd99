-- Labels on cases, templates (macros) and automation rules, issue 6.
CREATE TABLE labels (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    -- Lower case of name: names are unique per account ignoring case.
    name_folded TEXT NOT NULL,
    color TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, name_folded)
);

CREATE TABLE case_labels (
    case_id TEXT NOT NULL REFERENCES cases(id),
    label_id TEXT NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, label_id)
);
-- The case list filtered by label.
CREATE INDEX case_labels_label ON case_labels(label_id, case_id);

CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    -- NULL: shared by the account; otherwise the agent's personal template.
    owner_id TEXT REFERENCES agents(id),
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    -- JSON array of casedesk_domain::Action.
    actions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX templates_account ON templates(account_id, name);

CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    -- Rules run in this order (then by creation).
    position BIGINT NOT NULL,
    -- JSON of casedesk_domain::rules::Trigger, Condition list, Action list.
    "trigger" TEXT NOT NULL,
    conditions TEXT NOT NULL,
    actions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rules_account ON rules(account_id, position);

-- Durable timers of time-based rules ("pending for N seconds", "open
-- without agent reply for N seconds"): one per case and rule, fired by the
-- scheduler from the due index, never by scanning cases.
CREATE TABLE rule_timers (
    case_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, rule_id)
);
CREATE INDEX rule_timers_due ON rule_timers(due_at);
CREATE INDEX rule_timers_rule ON rule_timers(rule_id);

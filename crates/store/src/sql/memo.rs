//! What a backend's only writer may remember between units of work.

use std::collections::HashMap;

use crate::{AccountRecord, RuleRecord};

/// How many accounts a memo remembers before it starts over (bounded
/// memory whatever the number of accounts).
const MAX_ACCOUNTS: usize = 4096;

/// Accounts and their rules as the database holds them, kept by a
/// connection that is the only one to write (SQLite's writer), so that
/// routing a message does not read them again. The queries that read
/// them fill it; the queries that change them forget the account's entry;
/// the backend forgets everything when a unit of work fails, since what it
/// read after its own writes was rolled back with them.
#[derive(Debug, Default)]
pub struct Memo {
    accounts: HashMap<String, AccountRecord>,
    rules: HashMap<String, Vec<RuleRecord>>,
}

impl Memo {
    pub fn clear(&mut self) {
        self.accounts.clear();
        self.rules.clear();
    }

    pub(crate) fn account(&self, account_id: &str) -> Option<AccountRecord> {
        self.accounts.get(account_id).cloned()
    }

    pub(crate) fn keep_account(&mut self, account: &AccountRecord) {
        if self.accounts.len() >= MAX_ACCOUNTS {
            self.accounts.clear();
        }
        self.accounts.insert(account.id.clone(), account.clone());
    }

    pub(crate) fn forget_account(&mut self, account_id: &str) {
        self.accounts.remove(account_id);
    }

    pub(crate) fn rules(&self, account_id: &str) -> Option<Vec<RuleRecord>> {
        self.rules.get(account_id).cloned()
    }

    pub(crate) fn keep_rules(&mut self, account_id: &str, rules: &[RuleRecord]) {
        if self.rules.len() >= MAX_ACCOUNTS {
            self.rules.clear();
        }
        self.rules.insert(account_id.to_owned(), rules.to_vec());
    }

    pub(crate) fn forget_rules(&mut self, account_id: &str) {
        self.rules.remove(account_id);
    }
}

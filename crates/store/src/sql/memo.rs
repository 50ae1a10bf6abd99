//! What a backend's only writer may remember between units of work.

use std::collections::HashMap;

use crate::{AccountRecord, CaseRecord, CustomerRecord, RuleRecord};

/// How many accounts a memo remembers before it starts over (bounded
/// memory whatever the number of accounts).
const MAX_ACCOUNTS: usize = 4096;

/// How many customers, and how many cases, a memo remembers before it
/// starts over (a few MiB at most).
const MAX_ROUTING: usize = 16_384;

/// Records as the database holds them, kept by a connection that is the
/// only one to write (SQLite's writer), so that routing a message does not
/// read them again: accounts, their rules, customers and cases. Every entry
/// is the row as stored — the invariant each query keeps: the queries that
/// read a record fill its entry; a query that changes a row either writes
/// the row it knows it stored through, or forgets the entry; the backend
/// forgets everything when a unit of work fails, since what it read after
/// its own writes was rolled back with them.
#[derive(Debug, Default)]
pub struct Memo {
    accounts: HashMap<String, AccountRecord>,
    rules: HashMap<String, Vec<RuleRecord>>,
    /// By customer id, with their ids by channel and external id.
    customers: HashMap<String, CustomerRecord>,
    customer_ids: HashMap<(String, String), String>,
    cases: HashMap<String, CaseRecord>,
}

impl Memo {
    pub fn clear(&mut self) {
        self.accounts.clear();
        self.rules.clear();
        self.forget_customers();
        self.cases.clear();
    }

    pub(crate) fn customer_by_key(
        &self,
        channel_id: &str,
        external_id: &str,
    ) -> Option<&CustomerRecord> {
        let id = self
            .customer_ids
            .get(&(channel_id.to_owned(), external_id.to_owned()))?;
        self.customers.get(id)
    }

    pub(crate) fn customer_mut(&mut self, customer_id: &str) -> Option<&mut CustomerRecord> {
        self.customers.get_mut(customer_id)
    }

    pub(crate) fn keep_customer(&mut self, customer: &CustomerRecord) {
        if self.customers.len() >= MAX_ROUTING {
            self.forget_customers();
        }
        let key = (customer.channel_id.clone(), customer.external_id.clone());
        self.customer_ids.insert(key, customer.id.clone());
        self.customers.insert(customer.id.clone(), customer.clone());
    }

    pub(crate) fn forget_customer(&mut self, customer_id: &str) {
        if let Some(c) = self.customers.remove(customer_id) {
            self.customer_ids.remove(&(c.channel_id, c.external_id));
        }
    }

    pub(crate) fn forget_customers(&mut self) {
        self.customers.clear();
        self.customer_ids.clear();
    }

    pub(crate) fn case(&self, case_id: &str) -> Option<&CaseRecord> {
        self.cases.get(case_id)
    }

    pub(crate) fn keep_case(&mut self, case: &CaseRecord) {
        keep(&mut self.cases, MAX_ROUTING, &case.id, case.clone());
    }

    pub(crate) fn forget_case(&mut self, case_id: &str) {
        self.cases.remove(case_id);
    }

    pub(crate) fn account(&self, account_id: &str) -> Option<AccountRecord> {
        self.accounts.get(account_id).cloned()
    }

    pub(crate) fn keep_account(&mut self, account: &AccountRecord) {
        keep(
            &mut self.accounts,
            MAX_ACCOUNTS,
            &account.id,
            account.clone(),
        );
    }

    pub(crate) fn forget_account(&mut self, account_id: &str) {
        self.accounts.remove(account_id);
    }

    pub(crate) fn rules(&self, account_id: &str) -> Option<Vec<RuleRecord>> {
        self.rules.get(account_id).cloned()
    }

    pub(crate) fn keep_rules(&mut self, account_id: &str, rules: &[RuleRecord]) {
        keep(&mut self.rules, MAX_ACCOUNTS, account_id, rules.to_vec());
    }

    pub(crate) fn forget_rules(&mut self, account_id: &str) {
        self.rules.remove(account_id);
    }
}

/// Puts `value` under `key`, starting the map over when it holds `max`.
fn keep<V>(map: &mut HashMap<String, V>, max: usize, key: &str, value: V) {
    if map.len() >= max {
        map.clear();
    }
    map.insert(key.to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the number of accounts and chats, the memo stays bounded:
    /// a full map starts over (and is read again from the database).
    #[test]
    fn a_full_memo_starts_over() {
        let mut map = HashMap::new();
        for i in 0..3 {
            keep(&mut map, 3, &i.to_string(), i);
        }
        assert_eq!(map.len(), 3);
        keep(&mut map, 3, "3", 3);
        assert_eq!(map.len(), 1, "the fourth entry starts the map over");
        assert_eq!(map.get("3"), Some(&3));
    }
}

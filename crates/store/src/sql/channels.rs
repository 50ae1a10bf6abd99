//! Channels and who writes in them: customers, widget visitors, Help Center
//! tokens.

use casedesk_domain::{ChannelKind, Time};

use super::codec::{self, CHANNEL_COLUMNS, CUSTOMER_COLUMNS, HELP_TOKEN_COLUMNS, VISITOR_COLUMNS};
use super::{
    R, ROWS_PER_STATEMENT, Sql, SqlExt, Value, args, customer_lock_order, row_placeholders,
};
use crate::{ChannelRecord, ChannelTx, CustomerRecord, HelpTokenRecord, StoreError, VisitorRecord};

#[async_trait::async_trait]
impl<S: Sql + ?Sized> ChannelTx for S {
    async fn insert_channel(&mut self, c: &ChannelRecord) -> R<()> {
        let [id, account, kind, name, webhook, token, created_at] = args![
            &c.id,
            &c.account_id,
            c.kind.as_str(),
            &c.name,
            &c.webhook_url,
            &c.inbound_token,
            c.created_at,
        ];
        let origins = codec::origins_json(&c.allowed_origins)?;
        self.execute(
            &format!(
                "INSERT INTO channels ({CHANNEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                id,
                account,
                kind,
                name,
                webhook,
                token,
                created_at,
                origins,
                c.disabled_at.into(),
                c.removed_at.into(),
            ],
        )
        .await
        .map(drop)
    }

    async fn find_channel(&mut self, channel_id: &str) -> R<Option<ChannelRecord>> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1");
        self.maybe(&sql, &args![channel_id], codec::channel).await
    }

    async fn list_channels(&mut self, account_id: &str) -> R<Vec<ChannelRecord>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE account_id = $1 ORDER BY created_at, id"
        );
        self.all(&sql, &args![account_id], codec::channel).await
    }

    async fn list_channels_of_kind(&mut self, kind: ChannelKind) -> R<Vec<ChannelRecord>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE kind = $1 ORDER BY created_at, id"
        );
        self.all(&sql, &args![kind.as_str()], codec::channel).await
    }

    async fn update_channel(&mut self, c: &ChannelRecord) -> R<()> {
        let [account, id, name, webhook] = args![&c.account_id, &c.id, &c.name, &c.webhook_url];
        self.found(
            "UPDATE channels SET name = $3, webhook_url = $4, allowed_origins = $5, \
             disabled_at = $6, removed_at = $7 WHERE account_id = $1 AND id = $2",
            &[
                account,
                id,
                name,
                webhook,
                codec::origins_json(&c.allowed_origins)?,
                c.disabled_at.into(),
                c.removed_at.into(),
            ],
        )
        .await
    }

    async fn upsert_customer_locked(&mut self, new: &CustomerRecord) -> R<CustomerRecord> {
        let mut customers = self
            .upsert_customers_locked(std::slice::from_ref(new))
            .await?;
        customers.pop().ok_or(StoreError::NotFound)
    }

    async fn upsert_customers_locked(&mut self, new: &[CustomerRecord]) -> R<Vec<CustomerRecord>> {
        // Remembered, and nothing to take from `new`: no statement at all.
        let unchanged =
            |given: &Option<String>, kept: &Option<String>| given.is_none() || given == kept;
        let mut found: Vec<Option<CustomerRecord>> = new
            .iter()
            .map(|new| {
                self.memo()
                    .and_then(|m| {
                        m.customer_by_key(&new.channel_id, &new.external_id)
                            .cloned()
                    })
                    .filter(|c| {
                        c.account_id == new.account_id
                            && unchanged(&new.name, &c.name)
                            && unchanged(&new.language, &c.language)
                    })
            })
            .collect();
        let mut unknown: Vec<&CustomerRecord> = new
            .iter()
            .zip(&found)
            .filter(|(_, known)| known.is_none())
            .map(|(new, _)| new)
            .collect();
        unknown
            .sort_by(|a, b| (&a.channel_id, &a.external_id).cmp(&(&b.channel_id, &b.external_id)));
        for chunk in unknown.chunks(ROWS_PER_STATEMENT) {
            for customer in insert_or_lock_customers(self, chunk).await? {
                let at = new.iter().position(|n| {
                    n.channel_id == customer.channel_id && n.external_id == customer.external_id
                });
                if let Some(at) = at {
                    found[at] = Some(customer);
                }
            }
        }
        let customers = found
            .into_iter()
            .collect::<Option<Vec<CustomerRecord>>>()
            .ok_or(StoreError::NotFound)?;
        if let Some(memo) = self.memo() {
            customers.iter().for_each(|c| memo.keep_customer(c));
        }
        Ok(customers)
    }

    async fn get_customer(&mut self, account_id: &str, customer_id: &str) -> R<CustomerRecord> {
        let sql =
            format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account_id = $1 AND id = $2");
        self.one(&sql, &args![account_id, customer_id], codec::customer)
            .await
    }

    async fn lock_customer(&mut self, account_id: &str, customer_id: &str) -> R<CustomerRecord> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account_id = $1 AND id = $2{}",
            self.dialect().for_update()
        );
        self.one(&sql, &args![account_id, customer_id], codec::customer)
            .await
    }

    async fn set_customer_latest_case(
        &mut self,
        customer_id: &str,
        latest_case_id: Option<&str>,
    ) -> R<()> {
        self.execute(
            "UPDATE customers SET latest_case_id = $2 WHERE id = $1",
            &args![customer_id, latest_case_id],
        )
        .await?;
        if let Some(known) = self.memo().and_then(|m| m.customer_mut(customer_id)) {
            known.latest_case_id = latest_case_id.map(str::to_owned);
        }
        Ok(())
    }

    async fn set_customers_latest_cases(&mut self, latest: &[(String, String)]) -> R<()> {
        for chunk in latest.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<Value> = chunk
                .iter()
                .flat_map(|(customer, case)| args![customer, case])
                .collect();
            let sql = format!(
                "WITH v (id, latest_case_id) AS (VALUES {}) \
                 UPDATE customers SET latest_case_id = v.latest_case_id FROM v \
                 WHERE customers.id = v.id",
                row_placeholders(chunk.len(), 2)
            );
            self.execute(&sql, &values).await?;
            for (customer, case) in chunk {
                if let Some(known) = self.memo().and_then(|m| m.customer_mut(customer)) {
                    known.latest_case_id = Some(case.clone());
                }
            }
        }
        Ok(())
    }

    async fn set_customer_page(&mut self, customer_id: &str, page: &str) -> R<()> {
        forget_customer(self, customer_id);
        self.execute(
            "UPDATE customers SET page = $2 WHERE id = $1",
            &args![customer_id, page],
        )
        .await
        .map(drop)
    }

    async fn set_customer_email(
        &mut self,
        account_id: &str,
        customer_id: &str,
        email: Option<&str>,
    ) -> R<()> {
        forget_customer(self, customer_id);
        self.found(
            "UPDATE customers SET email = $3 WHERE account_id = $1 AND id = $2",
            &args![account_id, customer_id, email],
        )
        .await
    }

    async fn link_customers(
        &mut self,
        account_id: &str,
        customer_id: &str,
        other_id: &str,
    ) -> R<String> {
        // It may change every profile of either person.
        if let Some(memo) = self.memo() {
            memo.forget_customers();
        }
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account_id = $1 AND id = $2{}",
            self.dialect().for_update()
        );
        let a = self
            .one(&sql, &args![account_id, customer_id], codec::customer)
            .await?;
        let b = self
            .one(&sql, &args![account_id, other_id], codec::customer)
            .await?;
        // The person both join: either's, else the other profile's id.
        let person = b
            .person_id
            .clone()
            .or_else(|| a.person_id.clone())
            .unwrap_or_else(|| b.id.clone());
        self.execute(
            "UPDATE customers SET person_id = $2 WHERE account_id = $1 \
             AND (id = $3 OR id = $4 OR person_id = $5 OR person_id = $6)",
            &args![
                account_id,
                &person,
                &a.id,
                &b.id,
                &a.person_id,
                &b.person_id
            ],
        )
        .await?;
        Ok(person)
    }

    async fn unlink_customer(&mut self, account_id: &str, customer_id: &str) -> R<bool> {
        forget_customer(self, customer_id);
        let n = self
            .execute(
                "UPDATE customers SET person_id = NULL \
                 WHERE account_id = $1 AND id = $2 AND person_id IS NOT NULL",
                &args![account_id, customer_id],
            )
            .await?;
        Ok(n > 0)
    }

    async fn list_linked_customers(
        &mut self,
        account_id: &str,
        customer_id: &str,
    ) -> R<Vec<CustomerRecord>> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account_id = $1 AND (id = $2 OR \
             person_id = (SELECT person_id FROM customers WHERE account_id = $1 AND id = $2)) \
             ORDER BY created_at, id"
        );
        self.all(&sql, &args![account_id, customer_id], codec::customer)
            .await
    }

    async fn list_customers_by_email(
        &mut self,
        account_id: &str,
        email: &str,
    ) -> R<Vec<CustomerRecord>> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account_id = $1 AND email = $2 \
             ORDER BY created_at, id"
        );
        self.all(&sql, &args![account_id, email], codec::customer)
            .await
    }

    async fn insert_visitor(&mut self, v: &VisitorRecord) -> R<()> {
        self.execute(
            "INSERT INTO widget_visitors (token_hash, account_id, channel_id, customer_id, \
             created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &args![
                &v.token_hash,
                &v.account_id,
                &v.channel_id,
                &v.customer_id,
                v.created_at,
                v.last_seen_at
            ],
        )
        .await
        .map(drop)
    }

    async fn touch_visitor(&mut self, token_hash: &str, at: Time) -> R<()> {
        self.execute(
            "UPDATE widget_visitors SET last_seen_at = $2 WHERE token_hash = $1",
            &args![token_hash, at],
        )
        .await
        .map(drop)
    }

    async fn find_visitor(&mut self, token_hash: &str) -> R<Option<VisitorRecord>> {
        let sql = format!("SELECT {VISITOR_COLUMNS} FROM widget_visitors WHERE token_hash = $1");
        self.maybe(&sql, &args![token_hash], codec::visitor).await
    }

    async fn insert_help_token(&mut self, t: &HelpTokenRecord) -> R<()> {
        self.execute(
            &format!(
                "INSERT INTO help_tokens ({HELP_TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &args![
                &t.token_hash,
                &t.account_id,
                t.kind.as_str(),
                &t.email,
                &t.customer_id,
                t.created_at,
                t.expires_at
            ],
        )
        .await
        .map(drop)
    }

    async fn find_help_token(&mut self, token_hash: &str) -> R<Option<HelpTokenRecord>> {
        let sql = format!("SELECT {HELP_TOKEN_COLUMNS} FROM help_tokens WHERE token_hash = $1");
        self.maybe(&sql, &args![token_hash], codec::help_token)
            .await
    }

    async fn take_help_token(&mut self, token_hash: &str) -> R<Option<HelpTokenRecord>> {
        let sql =
            format!("DELETE FROM help_tokens WHERE token_hash = $1 RETURNING {HELP_TOKEN_COLUMNS}");
        self.maybe(&sql, &args![token_hash], codec::help_token)
            .await
    }

    async fn revoke_customer_tokens(
        &mut self,
        account_id: &str,
        customer_id: &str,
        email: Option<&str>,
    ) -> R<u64> {
        let visitors = self
            .execute(
                "DELETE FROM widget_visitors WHERE account_id = $1 AND customer_id = $2",
                &args![account_id, customer_id],
            )
            .await?;
        let help = self
            .execute(
                "DELETE FROM help_tokens WHERE account_id = $1 \
                 AND (customer_id = $2 OR ($3 IS NOT NULL AND email = $3))",
                &args![account_id, customer_id, email],
            )
            .await?;
        Ok(visitors + help)
    }

    async fn delete_expired_help_tokens(&mut self, now: Time) -> R<u64> {
        self.execute("DELETE FROM help_tokens WHERE expires_at < $1", &args![now])
            .await
    }
}

/// Inserts the customer, or locks and reads the row of their identity
/// with its name and language taken from `new` where it has them: one
/// statement. On PostgreSQL, the conflict waits for a concurrent insert of
/// the same identity to commit, and the row lock the update takes orders
/// the routing decisions (it conflicts with `lock_customer`'s). SQLite's
/// single writer already runs them one at a time. Through a channel of
/// another account nothing is written or returned (`NotFound`).
/// Inserts the customers that are new and locks every one, in the
/// order given; only those whose channel is in their account.
async fn insert_or_lock_customers<S: Sql + ?Sized>(
    s: &mut S,
    new: &[&CustomerRecord],
) -> R<Vec<CustomerRecord>> {
    let values: Vec<Value> = new
        .iter()
        .flat_map(|new| {
            args![
                &new.id,
                &new.account_id,
                &new.channel_id,
                &new.external_id,
                &new.name,
                &new.latest_case_id,
                new.created_at,
                &new.language,
                &new.email
            ]
        })
        .collect();
    let columns = "id, account_id, channel_id, external_id, name, latest_case_id, created_at, \
                   language, email";
    // Rows are inserted, and existing ones locked, in the order of the
    // `ORDER BY`, the one order of every unit of work that locks many
    // customers; the caller gives them in that order across statements.
    let sql = format!(
        "WITH v ({columns}) AS (VALUES {}) \
         INSERT INTO customers ({columns}) SELECT {} FROM v \
         WHERE EXISTS (SELECT 1 FROM channels c \
                       WHERE c.id = v.channel_id AND c.account_id = v.account_id) \
         ORDER BY {} \
         ON CONFLICT (channel_id, external_id, account_id) DO UPDATE \
         SET name = COALESCE(excluded.name, customers.name), \
         language = COALESCE(excluded.language, customers.language) \
         WHERE (excluded.name IS NOT NULL \
                AND (customers.name IS NULL OR excluded.name <> customers.name)) \
            OR (excluded.language IS NOT NULL \
                AND (customers.language IS NULL OR excluded.language <> customers.language)) \
         RETURNING {CUSTOMER_COLUMNS}",
        row_placeholders(new.len(), 9),
        codec::qualified(columns, "v"),
        codec::qualified(&customer_lock_order(s.dialect()), "v"),
    );
    let mut customers = s.all(&sql, &values, codec::customer).await?;
    // A customer whose name and language are as given is locked but not
    // written (a new row version per message cost PostgreSQL a heap tuple,
    // its WAL and, later, vacuum), and so not returned: read it.
    let returned = |n: &CustomerRecord| {
        customers
            .iter()
            .any(|c| c.channel_id == n.channel_id && c.external_id == n.external_id)
    };
    let unchanged: Vec<&&CustomerRecord> = new.iter().filter(|n| !returned(n)).collect();
    if !unchanged.is_empty() {
        let keys: Vec<Value> = unchanged
            .iter()
            .flat_map(|n| args![&n.channel_id, &n.external_id, &n.account_id])
            .collect();
        let sql = s.dialect().probe(
            "customers",
            CUSTOMER_COLUMNS,
            &["channel_id", "external_id", "account_id"],
            unchanged.len(),
        );
        customers.extend(s.all(&sql, &keys, codec::customer).await?);
    }
    Ok(customers)
}

/// Called by the queries that change a customer's row without knowing
/// all of it afterwards.
fn forget_customer<S: Sql + ?Sized>(s: &mut S, customer_id: &str) {
    if let Some(memo) = s.memo() {
        memo.forget_customer(customer_id);
    }
}

//! Accounts, agents and their login tokens.

use casedesk_domain::{AccountTimeZone, AutoFinishSettings, BusinessHours};

use super::codec::{self, ACCOUNT_COLUMNS, AGENT_COLUMNS, TOKEN_COLUMNS};
use super::{R, Sql, SqlExt, args};
use crate::{AccountRecord, AccountTx, AgentRecord, AgentTx, StoreError, TokenRecord};

#[async_trait::async_trait]
impl<S: Sql + ?Sized> AccountTx for S {
    async fn insert_account(&mut self, a: &AccountRecord) -> R<()> {
        let [id, name, after, warning, created_at, zone] = args![
            &a.id,
            &a.name,
            a.settings.after_seconds(),
            a.settings.warning_seconds(),
            a.created_at,
            a.time_zone.name(),
        ];
        let hours = codec::hours_json(a.business_hours.as_ref())?;
        self.execute(
            &format!(
                "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            &[
                id,
                name,
                after,
                warning,
                created_at,
                zone,
                hours,
                a.assign_on_reply.into(),
            ],
        )
        .await?;
        if let Some(sql) = self.dialect().new_account() {
            self.execute(sql, &args![&a.id]).await?;
        }
        Ok(())
    }

    async fn get_account(&mut self, account_id: &str) -> R<AccountRecord> {
        if let Some(account) = self.memo().and_then(|m| m.account(account_id)) {
            return Ok(account);
        }
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        let account = self.one(&sql, &args![account_id], codec::account).await?;
        if let Some(memo) = self.memo() {
            memo.keep_account(&account);
        }
        Ok(account)
    }

    async fn count_accounts(&mut self) -> R<i64> {
        self.one("SELECT COUNT(*) AS n FROM accounts", &[], |r| r.get("n"))
            .await
    }

    async fn list_account_ids(&mut self, limit: i64) -> R<Vec<String>> {
        self.all(
            "SELECT id FROM accounts ORDER BY created_at, id LIMIT $1",
            &args![limit.max(0)],
            |r| r.get("id"),
        )
        .await
    }

    async fn update_account_settings(
        &mut self,
        account_id: &str,
        settings: AutoFinishSettings,
    ) -> R<()> {
        forget_account(self, account_id);
        self.found(
            "UPDATE accounts SET chat_auto_finish_after_seconds = $2, \
             chat_auto_finish_warning_seconds = $3 WHERE id = $1",
            &args![
                account_id,
                settings.after_seconds(),
                settings.warning_seconds()
            ],
        )
        .await
    }

    async fn next_case_number(&mut self, account_id: &str) -> R<i64> {
        let numbers = self.next_case_numbers(account_id, 1).await?;
        numbers.first().copied().ok_or(StoreError::NotFound)
    }

    async fn next_case_numbers(&mut self, account_id: &str, n: usize) -> R<Vec<i64>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let dialect = self.dialect();
        let sql = dialect.next_case_numbers();
        let numbers = self
            .all(sql, &args![account_id, n as i64], |r| r.get("number"))
            .await?;
        if numbers.is_empty() {
            return Err(StoreError::NotFound);
        }
        dialect.taken(numbers, n)
    }

    async fn update_account_assign_on_reply(&mut self, account_id: &str, on: bool) -> R<()> {
        forget_account(self, account_id);
        self.found(
            "UPDATE accounts SET assign_on_reply = $2 WHERE id = $1",
            &args![account_id, on],
        )
        .await
    }

    async fn update_account_time_zone(
        &mut self,
        account_id: &str,
        time_zone: AccountTimeZone,
    ) -> R<()> {
        forget_account(self, account_id);
        self.found(
            "UPDATE accounts SET time_zone = $2 WHERE id = $1",
            &args![account_id, time_zone.name()],
        )
        .await
    }

    async fn update_account_business_hours(
        &mut self,
        account_id: &str,
        hours: Option<&BusinessHours>,
    ) -> R<()> {
        forget_account(self, account_id);
        let [id] = args![account_id];
        self.found(
            "UPDATE accounts SET business_hours = $2 WHERE id = $1",
            &[id, codec::hours_json(hours)?],
        )
        .await
    }
}

/// Called by every query that changes an account's row (its case counter
/// aside, which [`AccountRecord`] does not carry).
fn forget_account<S: Sql + ?Sized>(s: &mut S, account_id: &str) {
    if let Some(memo) = s.memo() {
        memo.forget_account(account_id);
    }
}

#[async_trait::async_trait]
impl<S: Sql + ?Sized> AgentTx for S {
    async fn insert_agent(&mut self, a: &AgentRecord) -> R<()> {
        self.execute(
            "INSERT INTO agents (id, account_id, email, name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &args![
                &a.id,
                &a.account_id,
                &a.email,
                &a.name,
                a.role.as_str(),
                &a.password_hash,
                a.created_at
            ],
        )
        .await
        .map(drop)
    }

    async fn get_agent(&mut self, account_id: &str, agent_id: &str) -> R<AgentRecord> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 AND id = $2");
        self.one(&sql, &args![account_id, agent_id], codec::agent)
            .await
    }

    async fn find_agent_by_email(&mut self, email: &str) -> R<Option<AgentRecord>> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE email = $1");
        self.maybe(&sql, &args![email], codec::agent).await
    }

    async fn list_agents(&mut self, account_id: &str) -> R<Vec<AgentRecord>> {
        let sql = format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 ORDER BY created_at, id"
        );
        self.all(&sql, &args![account_id], codec::agent).await
    }

    async fn set_agent_password(&mut self, agent_id: &str, password_hash: &str) -> R<()> {
        self.found(
            "UPDATE agents SET password_hash = $2 WHERE id = $1",
            &args![agent_id, password_hash],
        )
        .await
    }

    async fn update_agent(&mut self, a: &AgentRecord) -> R<()> {
        self.found(
            "UPDATE agents SET email = $2, name = $3, role = $4, disabled_at = $5, \
             deleted_at = $6 WHERE id = $1",
            &args![
                &a.id,
                &a.email,
                &a.name,
                a.role.as_str(),
                a.disabled_at,
                a.deleted_at
            ],
        )
        .await
    }

    async fn delete_agent_tokens(&mut self, agent_id: &str) -> R<u64> {
        self.execute(
            "DELETE FROM api_tokens WHERE agent_id = $1",
            &args![agent_id],
        )
        .await
    }

    async fn insert_token(&mut self, t: &TokenRecord) -> R<()> {
        self.execute(
            &format!("INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
            &args![
                &t.token_hash,
                &t.account_id,
                &t.agent_id,
                t.created_at,
                t.expires_at
            ],
        )
        .await
        .map(drop)
    }

    async fn find_token(&mut self, token_hash: &str) -> R<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
        self.maybe(&sql, &args![token_hash], codec::token).await
    }

    async fn delete_token(&mut self, token_hash: &str) -> R<()> {
        self.execute(
            "DELETE FROM api_tokens WHERE token_hash = $1",
            &args![token_hash],
        )
        .await
        .map(drop)
    }
}

//! What admins define for an account: labels, templates and rules.

use casedesk_domain::search::fold;
use casedesk_domain::templates::label_key;

use super::codec::{self, LABEL_COLUMNS, RULE_COLUMNS, TEMPLATE_COLUMNS};
use super::{R, Sql, SqlExt, args};
use crate::{CatalogTx, LabelRecord, RuleRecord, TemplateRecord};

#[async_trait::async_trait]
impl<S: Sql + ?Sized> CatalogTx for S {
    async fn insert_label(&mut self, l: &LabelRecord) -> R<()> {
        self.execute(
            "INSERT INTO labels (id, account_id, name, name_folded, color, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &args![
                &l.id,
                &l.account_id,
                &l.name,
                label_key(&l.name),
                &l.color,
                l.created_at
            ],
        )
        .await
        .map(drop)
    }

    async fn list_labels(&mut self, account_id: &str) -> R<Vec<LabelRecord>> {
        let sql = format!(
            "SELECT {LABEL_COLUMNS} FROM labels WHERE account_id = $1 ORDER BY name_folded, id"
        );
        self.all(&sql, &args![account_id], codec::label).await
    }

    async fn get_label(&mut self, account_id: &str, label_id: &str) -> R<LabelRecord> {
        let sql = format!("SELECT {LABEL_COLUMNS} FROM labels WHERE account_id = $1 AND id = $2");
        self.one(&sql, &args![account_id, label_id], codec::label)
            .await
    }

    async fn update_label(&mut self, l: &LabelRecord) -> R<()> {
        self.found(
            "UPDATE labels SET name = $3, name_folded = $4, color = $5 \
             WHERE account_id = $1 AND id = $2",
            &args![&l.account_id, &l.id, &l.name, label_key(&l.name), &l.color],
        )
        .await
    }

    async fn delete_label(&mut self, account_id: &str, label_id: &str) -> R<()> {
        let args = args![account_id, label_id];
        self.execute(
            "DELETE FROM case_labels WHERE account_id = $1 AND label_id = $2",
            &args,
        )
        .await?;
        self.found(
            "DELETE FROM labels WHERE account_id = $1 AND id = $2",
            &args,
        )
        .await
    }

    async fn insert_template(&mut self, t: &TemplateRecord) -> R<()> {
        self.execute(
            &format!(
                "INSERT INTO templates ({TEMPLATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            &args![
                &t.id,
                &t.account_id,
                &t.owner_id,
                &t.name,
                &t.body,
                codec::actions_json(&t.actions)?,
                t.created_at,
                t.updated_at
            ],
        )
        .await
        .map(drop)
    }

    async fn list_templates(&mut self, account_id: &str) -> R<Vec<TemplateRecord>> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM templates WHERE account_id = $1");
        let mut templates = self.all(&sql, &args![account_id], codec::template).await?;
        // By name ignoring case as the domain folds it (an account has a few
        // dozen templates; no database collation decides the order).
        templates.sort_by_cached_key(|t| (fold(&t.name), t.id.clone()));
        Ok(templates)
    }

    async fn get_template(&mut self, account_id: &str, template_id: &str) -> R<TemplateRecord> {
        let sql =
            format!("SELECT {TEMPLATE_COLUMNS} FROM templates WHERE account_id = $1 AND id = $2");
        self.one(&sql, &args![account_id, template_id], codec::template)
            .await
    }

    async fn update_template(&mut self, t: &TemplateRecord) -> R<()> {
        self.found(
            "UPDATE templates SET owner_id = $3, name = $4, body = $5, actions = $6, \
             updated_at = $7 WHERE account_id = $1 AND id = $2",
            &args![
                &t.account_id,
                &t.id,
                &t.owner_id,
                &t.name,
                &t.body,
                codec::actions_json(&t.actions)?,
                t.updated_at
            ],
        )
        .await
    }

    async fn delete_template(&mut self, account_id: &str, template_id: &str) -> R<()> {
        self.found(
            "DELETE FROM templates WHERE account_id = $1 AND id = $2",
            &args![account_id, template_id],
        )
        .await
    }

    async fn insert_rule(&mut self, r: &RuleRecord) -> R<()> {
        forget_rules(self, &r.account_id);
        let [trigger, conditions, actions] = codec::rule_json(r)?;
        self.execute(
            &format!(
                "INSERT INTO rules ({RULE_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &args![
                &r.id,
                &r.account_id,
                &r.name,
                r.enabled,
                r.position,
                trigger,
                conditions,
                actions,
                r.created_at,
                r.updated_at
            ],
        )
        .await
        .map(drop)
    }

    async fn list_rules(&mut self, account_id: &str) -> R<Vec<RuleRecord>> {
        if let Some(rules) = self.memo().and_then(|m| m.rules(account_id)) {
            return Ok(rules);
        }
        let sql = format!(
            "SELECT {RULE_COLUMNS} FROM rules WHERE account_id = $1 \
             ORDER BY position, created_at, id"
        );
        let rules = self.all(&sql, &args![account_id], codec::rule).await?;
        if let Some(memo) = self.memo() {
            memo.keep_rules(account_id, &rules);
        }
        Ok(rules)
    }

    async fn get_rule(&mut self, account_id: &str, rule_id: &str) -> R<RuleRecord> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM rules WHERE account_id = $1 AND id = $2");
        self.one(&sql, &args![account_id, rule_id], codec::rule)
            .await
    }

    async fn update_rule(&mut self, r: &RuleRecord) -> R<()> {
        forget_rules(self, &r.account_id);
        let [trigger, conditions, actions] = codec::rule_json(r)?;
        self.found(
            "UPDATE rules SET name = $3, enabled = $4, position = $5, \"trigger\" = $6, \
             conditions = $7, actions = $8, updated_at = $9 WHERE account_id = $1 AND id = $2",
            &args![
                &r.account_id,
                &r.id,
                &r.name,
                r.enabled,
                r.position,
                trigger,
                conditions,
                actions,
                r.updated_at
            ],
        )
        .await
    }

    async fn delete_rule(&mut self, account_id: &str, rule_id: &str) -> R<()> {
        forget_rules(self, account_id);
        self.found(
            "DELETE FROM rules WHERE account_id = $1 AND id = $2",
            &args![account_id, rule_id],
        )
        .await?;
        self.execute(
            "DELETE FROM rule_timers WHERE rule_id = $1",
            &args![rule_id],
        )
        .await
        .map(drop)
    }
}

/// Called by every query that changes an account's rules.
fn forget_rules<S: Sql + ?Sized>(s: &mut S, account_id: &str) {
    if let Some(memo) = s.memo() {
        memo.forget_rules(account_id);
    }
}

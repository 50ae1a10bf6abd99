//! Reports: the statistics facts (per backend, see [`Sql::stats`]), the
//! export's rows, and the benchmarks' bulk load.

use std::collections::HashMap;

use casedesk_domain::stats::StatsInput;

use super::codec::{self, CUSTOMER_COLUMNS};
use super::{R, Sql, SqlExt, Value, args, placeholders};
use casedesk_domain::{AuthorType, ChannelKind, MessageKind, Time};

use crate::{
    AgentTx, CaseFilter, CaseTx, ChannelTx, ExportRow, MessageTx, ReportTx, SeedBatch,
    SimulationMessages, StatsQuery,
};

#[async_trait::async_trait]
impl<S: Sql + ?Sized> ReportTx for S {
    async fn stats(&mut self, account_id: &str, q: &StatsQuery) -> R<StatsInput> {
        Sql::stats(self, account_id, q).await
    }

    async fn export_cases(&mut self, account_id: &str, filter: &CaseFilter) -> R<Vec<ExportRow>> {
        let cases = self.list_cases(account_id, filter).await?;
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        let channels: HashMap<String, String> = self
            .list_channels(account_id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let agents: HashMap<String, String> = self
            .list_agents(account_id)
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        let customer_ids: Vec<&str> = cases.iter().map(|c| c.customer_id.as_str()).collect();
        let customers: HashMap<String, (Option<String>, String)> = self
            .all(
                &format!(
                    "SELECT id, name, external_id FROM customers WHERE account_id = $1 \
                     AND id IN ({})",
                    placeholders(2, customer_ids.len())
                ),
                &scoped(account_id, &customer_ids),
                |r| Ok((r.get("id")?, (r.get("name")?, r.get("external_id")?))),
            )
            .await?
            .into_iter()
            .collect();
        let linked: Vec<&str> = cases
            .iter()
            .flat_map(|c| [c.previous_case_id.as_deref(), c.next_case_id.as_deref()])
            .flatten()
            .collect();
        let numbers: HashMap<String, i64> = if linked.is_empty() {
            HashMap::new()
        } else {
            self.all(
                &format!(
                    "SELECT id, number FROM cases WHERE account_id = $1 AND id IN ({})",
                    placeholders(2, linked.len())
                ),
                &scoped(account_id, &linked),
                |r| Ok((r.get("id")?, r.get("number")?)),
            )
            .await?
            .into_iter()
            .collect()
        };
        Ok(cases
            .into_iter()
            .map(|case| {
                let (customer_name, customer_external_id) = customers
                    .get(&case.customer_id)
                    .cloned()
                    .unwrap_or((None, String::new()));
                let number =
                    |id: &Option<String>| id.as_ref().and_then(|i| numbers.get(i).copied());
                ExportRow {
                    channel_name: channels.get(&case.channel_id).cloned().unwrap_or_default(),
                    assignee_name: case
                        .assignee_id
                        .as_ref()
                        .and_then(|a| agents.get(a).cloned()),
                    customer_name,
                    customer_external_id,
                    previous_number: number(&case.previous_case_id),
                    next_number: number(&case.next_case_id),
                    labels: Vec::new(),
                    case,
                }
            })
            .collect())
    }

    async fn simulation_messages(
        &mut self,
        account_id: &str,
        from: Time,
        to: Time,
        max: usize,
    ) -> R<SimulationMessages> {
        // Unordered: the caller sorts the small tuples faster than either
        // database sorts the rows (and no collation is involved).
        let sql = "SELECT c.customer_id, m.created_at, m.author_type FROM messages m \
                   JOIN cases c ON c.id = m.case_id \
                   JOIN channels ch ON ch.id = c.channel_id \
                   WHERE m.account_id = $1 AND m.created_at >= $2 AND m.created_at < $3 \
                   AND m.kind = $4 AND m.author_type IN ($5, $6) AND ch.kind <> $7 \
                   LIMIT $8";
        let limit = i64::try_from(max.saturating_add(1)).unwrap_or(i64::MAX);
        let args = args![
            account_id,
            from,
            to,
            MessageKind::Message.as_str(),
            AuthorType::Customer.as_str(),
            AuthorType::Agent.as_str(),
            ChannelKind::Email.as_str(),
            limit
        ];
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut messages = Vec::new();
        self.each(sql, &args, &mut |r| {
            let customer = r.text("customer_id")?;
            let conversation = match ids.get(customer) {
                Some(&n) => n,
                None => {
                    let n = u32::try_from(ids.len())
                        .map_err(|_| crate::StoreError::Other("too many customers".into()))?;
                    ids.insert(customer.to_owned(), n);
                    n
                }
            };
            let at: Time = r.get("created_at")?;
            let from_customer = r.text("author_type")? == AuthorType::Customer.as_str();
            messages.push((conversation, at.timestamp(), from_customer));
            Ok(())
        })
        .await?;
        let complete = messages.len() <= max;
        messages.truncate(max);
        Ok(SimulationMessages {
            messages,
            conversations: u32::try_from(ids.len()).unwrap_or(u32::MAX),
            complete,
        })
    }

    async fn seed_bulk(&mut self, batch: &SeedBatch) -> R<()> {
        Sql::seed_bulk(self, batch).await
    }
}

/// The account, then `ids`: the arguments of an `IN` list query.
fn scoped(account_id: &str, ids: &[&str]) -> Vec<Value> {
    std::iter::once(account_id.into())
        .chain(ids.iter().map(|&id| id.into()))
        .collect()
}

/// Inserts a benchmark batch row by row, customers with their latest case
/// as given. Prepared single-row inserts in one transaction reach a few
/// hundred thousand rows per second on SQLite, which is what a seed needs.
pub async fn seed_rows<S: Sql + ?Sized>(s: &mut S, batch: &SeedBatch) -> R<()> {
    if let Some(memo) = s.memo() {
        memo.clear();
    }
    for c in &batch.customers {
        let values = codec::customer_values(c);
        let sql = format!(
            "INSERT INTO customers ({CUSTOMER_COLUMNS}) VALUES ({})",
            placeholders(1, values.len())
        );
        s.execute(&sql, &values).await?;
    }
    for c in &batch.cases {
        s.insert_case(c).await?;
    }
    for e in &batch.events {
        s.insert_event(e).await?;
    }
    Ok(())
}

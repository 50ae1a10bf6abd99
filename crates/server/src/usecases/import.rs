//! Importing a messenger's history (issue 19): an admin uploads a file
//! (Telegram Desktop's export, or JSONL; [`crate::import`] reads them),
//! and its messages become the cases casedesk would have made of them.
//!
//! Two steps, both durable:
//! 1. **Receiving**: the upload is parsed as it arrives, never held whole
//!    (a thread reads the bytes a task pumps from the request body), and
//!    its messages are staged (`import_rows`) a thousand at a time, with
//!    the counts of skipped and bad records. A file that cannot be read to
//!    its end (truncated, cut off) fails the import and stages nothing:
//!    nothing half-imported is left.
//! 2. **Splitting** (the import worker, [`crate::workers::imports`]):
//!    customer by customer, each in one unit of work, the staged messages
//!    are read in time order a chunk at a time and split into chats by the
//!    account's auto-finish time (`casedesk_domain::retro`): closed cases
//!    linked previous/next, with the history events casedesk would have
//!    written at the imported times (marked `"imported"`), the latest one
//!    the customer's latest chat when they have none in casedesk yet. The
//!    import remembers the last customer done in the same unit of work, so
//!    a crash resumes with the next one.
//!
//! Idempotent: each message is stored under its source's id
//! (`import:<source id>` as the channel message id), so a message
//! imported before is skipped and importing the same file again adds
//! nothing.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use axum::body::Bytes;
use casedesk_domain::retro::{Chat, Said, Splitter};
use casedesk_domain::{Actor, AuthorType, EventKind, MessageKind, Subject, Time};
use casedesk_store::{
    CaseRecord, ChannelRecord, CustomerRecord, EventRecord, ImportError, ImportRecord, ImportRow,
    ImportState, MAX_IMPORT_ERRORS, MessageRecord, Tx, read, write,
};
use futures::{Stream, StreamExt};
use serde_json::json;

use super::unit::{AgentActor, new_case_record, not_found, reschedule, settings_of};
use crate::AppState;
use crate::error::AppError;
use crate::import::{Format, Parsed, SourceMessage};
use crate::util::new_id;

/// Records staged per unit of work while receiving.
pub const STAGE_BATCH: usize = 1000;
/// A customer's staged messages read at once while splitting.
const ROWS_CHUNK: usize = 2000;
/// How long a worker holds an import it works on before another may take
/// it over ([`crate::Config::import_lease`]); renewed with every customer,
/// so it must outlast the splitting of the largest customer's history.
pub const DEFAULT_IMPORT_LEASE: std::time::Duration = std::time::Duration::from_secs(300);
/// The largest file an import takes.
pub const MAX_IMPORT_BYTES: u64 = 4 << 30;
/// What marks imported messages' channel ids.
const KEY_PREFIX: &str = "import:";

/// Receives an upload into a new import of `channel_id` and stages its
/// messages; the import is then `splitting` (the worker takes it) or
/// `failed` with the reason. Admins only (the caller checks).
pub async fn receive<S, E>(
    app: &AppState,
    who: &AgentActor,
    channel_id: String,
    format: Format,
    body: S,
) -> Result<ImportRecord, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let account_id = who.account_id.clone();
    let channel = read::<_, AppError, _>(&*app.store, {
        let (account_id, channel_id) = (account_id.clone(), channel_id.clone());
        move |tx| {
            Box::pin(async move {
                match tx.find_channel(&channel_id).await? {
                    Some(c) if c.account_id == account_id && c.removed_at.is_none() => {
                        if c.kind.is_chat() {
                            Ok(c)
                        } else {
                            Err(AppError::invalid_as(
                                "import_needs_chat_channel",
                                "history imports into a chat channel (API, widget, Telegram); \
                                 e-mail is already one case per letter",
                            ))
                        }
                    }
                    _ => Err(AppError::not_found("channel")),
                }
            })
        }
    })
    .await?;
    let now = app.clock.now();
    let mut import = ImportRecord {
        id: new_id(),
        account_id,
        channel_id: channel.id.clone(),
        format: format.as_str().to_owned(),
        state: ImportState::Receiving,
        messages: 0,
        cases: 0,
        skipped: 0,
        error_count: 0,
        errors: Vec::new(),
        staged: 0,
        customers_done: 0,
        last_customer: None,
        failure: None,
        lease_until: Some(now + app.import_lease),
        created_at: now,
        updated_at: now,
    };
    save(app, &import, Vec::new(), true).await?;
    app.uploads.begin(&import.id);
    let received = stage(app, &mut import, &channel, format, body).await;
    app.uploads.end(&import.id);
    if let Err(e) = received {
        // Whatever stopped it, the import says so now, not when its lease ends.
        import.failure.get_or_insert_with(|| e.message.clone());
    }
    import.updated_at = app.clock.now();
    import.lease_until = None;
    if import.failure.is_some() {
        import.state = ImportState::Failed;
        drop_rows(app, &import).await?;
    } else {
        import.state = ImportState::Splitting;
        save(app, &import, Vec::new(), false).await?;
        app.imports_changed.notify_one();
    }
    Ok(import)
}

/// Parses the upload as it arrives and stages its messages, renewing the
/// import's lease as it goes (also while a long stretch of the file holds
/// nothing to stage, or the client pauses), so that no worker takes it for
/// an upload a crash cut off.
async fn stage<S, E>(
    app: &AppState,
    import: &mut ImportRecord,
    channel: &ChannelRecord,
    format: Format,
    body: S,
) -> Result<(), AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let (bytes_tx, bytes_rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let (parsed_tx, mut parsed_rx) = tokio::sync::mpsc::channel::<Vec<Parsed>>(2);
    let names = vec![channel.id.clone(), channel.name.clone()];
    let parser = tokio::task::spawn_blocking(move || {
        let reader = std::io::BufReader::with_capacity(64 << 10, ChannelReader::new(bytes_rx));
        let mut batch = Vec::with_capacity(STAGE_BATCH);
        for parsed in crate::import::parse(format, reader, &names) {
            let fatal = matches!(parsed, Parsed::Fatal { .. });
            batch.push(parsed);
            if (batch.len() >= STAGE_BATCH || fatal)
                && parsed_tx.blocking_send(std::mem::take(&mut batch)).is_err()
            {
                return;
            }
            if fatal {
                return;
            }
        }
        let _ = parsed_tx.blocking_send(batch);
    });
    let pump = tokio::spawn(pump(body, bytes_tx));
    let renew_every = (app.import_lease / 4)
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(1))
        .max(std::time::Duration::from_millis(100));
    let mut renew = tokio::time::interval(renew_every);
    renew.tick().await;
    let mut n = 0i64;
    loop {
        let batch = tokio::select! {
            batch = parsed_rx.recv() => batch,
            _ = renew.tick() => {
                renew_lease(app, import).await?;
                continue;
            }
        };
        let Some(batch) = batch else { break };
        let mut rows = Vec::with_capacity(batch.len());
        for parsed in batch {
            match parsed {
                Parsed::Message(m) => {
                    n += 1;
                    rows.push(row(&import.id, n, m));
                }
                Parsed::Skipped { .. } => import.skipped += 1,
                Parsed::Error { line, message } => note_error(import, line, message),
                Parsed::Fatal { line, message } => {
                    note_error(import, line, message.clone());
                    import.failure = Some(format!("line {line}: {message}"));
                }
            }
        }
        import.staged += rows.len() as i64;
        renew_lease(app, import).await?;
        save(app, import, rows, false).await?;
    }
    let pumped = pump.await.map_err(AppError::internal)?;
    parser.await.map_err(AppError::internal)?;
    if let Err(cut) = pumped {
        import.failure.get_or_insert(cut);
    }
    Ok(())
}

/// Moves the import's lease on (written with the next save, or now).
async fn renew_lease(app: &AppState, import: &mut ImportRecord) -> Result<(), AppError> {
    let now = app.clock.now();
    import.updated_at = now;
    import.lease_until = Some(now + app.import_lease);
    save(app, import, Vec::new(), false).await
}

/// The imports this process is receiving right now: the worker leaves
/// them alone whatever their lease says.
#[derive(Default)]
pub struct Uploads(std::sync::Mutex<HashSet<String>>);

impl Uploads {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn begin(&self, id: &str) {
        self.set().insert(id.to_owned());
    }

    fn end(&self, id: &str) {
        self.set().remove(id);
    }

    pub(crate) fn receiving(&self, id: &str) -> bool {
        self.set().contains(id)
    }
}

/// Moves the request body's bytes to the parser; the reason when it was
/// cut off or too large.
async fn pump<S, E>(mut body: S, to: tokio::sync::mpsc::Sender<Bytes>) -> Result<(), String>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut total = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| format!("the upload was cut off: {e}"))?;
        total += chunk.len() as u64;
        if total > MAX_IMPORT_BYTES {
            return Err(format!(
                "the file is larger than {} GiB",
                MAX_IMPORT_BYTES >> 30
            ));
        }
        if to.send(chunk).await.is_err() {
            // The parser stopped (a fatal error): the rest is not read.
            break;
        }
    }
    Ok(())
}

/// The bytes a task sends, as a blocking [`Read`] for the parser thread.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl ChannelReader {
    fn new(rx: tokio::sync::mpsc::Receiver<Bytes>) -> ChannelReader {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(bytes) => self.current = bytes,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

fn note_error(import: &mut ImportRecord, line: u64, message: String) {
    import.error_count += 1;
    if import.errors.len() < MAX_IMPORT_ERRORS {
        import.errors.push(ImportError {
            line: i64::try_from(line).unwrap_or(i64::MAX),
            message,
        });
    }
}

fn row(import_id: &str, n: i64, m: SourceMessage) -> ImportRow {
    ImportRow {
        import_id: import_id.to_owned(),
        n,
        line: i64::try_from(m.line).unwrap_or(i64::MAX),
        customer_id: m.customer_id,
        customer_name: m.customer_name,
        source_id: m.source_id,
        from_customer: m.from_customer,
        agent_name: m.agent_name,
        at: m.at,
        text: m.text,
        attachment: m.attachment,
    }
}

/// A message's text with the reference of its attachment (not fetched).
fn with_attachment(text: String, attachment: Option<&str>) -> String {
    match attachment {
        Some(a) if !text.contains(a) => format!("{text}\n📎 {a}"),
        _ => text,
    }
}

/// Stages `rows` and writes the import as it is now, in one unit of work.
async fn save(
    app: &AppState,
    import: &ImportRecord,
    rows: Vec<ImportRow>,
    new: bool,
) -> Result<(), AppError> {
    let import = import.clone();
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            if new {
                tx.insert_import(&import).await?;
            } else {
                tx.update_import(&import).await?;
            }
            if !rows.is_empty() {
                tx.stage_import_rows(&rows).await?;
            }
            Ok(())
        })
    })
    .await
}

/// Writes the import as it ended and removes what it staged.
async fn drop_rows(app: &AppState, import: &ImportRecord) -> Result<(), AppError> {
    let import = import.clone();
    write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.update_import(&import).await?;
            tx.delete_import_rows(&import.id).await?;
            Ok(())
        })
    })
    .await
}

/// An import of the account, as `GET /imports/{id}` shows it.
pub async fn get(app: &AppState, account_id: String, id: String) -> Result<ImportRecord, AppError> {
    read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.get_import(&account_id, &id)
                .await
                .map_err(not_found("import"))
        })
    })
    .await
}

/// The account's latest imports, newest first.
pub async fn list(app: &AppState, account_id: String) -> Result<Vec<ImportRecord>, AppError> {
    read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move { Ok(tx.list_imports(&account_id, 50).await?) })
    })
    .await
}

/// Customers split per read of the next ones.
const CUSTOMERS_PER_READ: usize = 100;

/// Works on a claimed import until it is done (or the server stops): an
/// upload that never finished is failed, a staged one split customer by
/// customer.
pub(crate) async fn work(app: &AppState, mut import: ImportRecord) -> Result<(), AppError> {
    if import.state == ImportState::Receiving && app.uploads.receiving(&import.id) {
        return Ok(());
    }
    if import.state == ImportState::Receiving {
        import.state = ImportState::Failed;
        import.failure = Some(
            "the upload stopped before its end (was the server restarted?); import the file \
             again: what was imported stays and nothing is doubled"
                .to_owned(),
        );
        import.lease_until = None;
        import.updated_at = app.clock.now();
        return drop_rows(app, &import).await;
    }
    loop {
        if *app.shutdown.borrow() {
            return Ok(());
        }
        let (id, after) = (import.id.clone(), import.last_customer.clone());
        let customers = read::<_, AppError, _>(&*app.store, move |tx| {
            Box::pin(async move {
                Ok(tx
                    .import_customers(&id, after.as_deref(), CUSTOMERS_PER_READ)
                    .await?)
            })
        })
        .await?;
        if customers.is_empty() {
            import.state = ImportState::Done;
            import.lease_until = None;
            import.updated_at = app.clock.now();
            return drop_rows(app, &import).await;
        }
        for customer in customers {
            if *app.shutdown.borrow() {
                return Ok(());
            }
            let done = split_customer(app, import.clone(), customer.clone()).await;
            import = match done {
                Ok(import) => import,
                // The database is away: the lease runs out and the import
                // is taken again from this customer.
                Err(e) if e.status == axum::http::StatusCode::SERVICE_UNAVAILABLE => {
                    return Err(e);
                }
                // Anything else would fail again every time: the import
                // stops, with what it did so far kept and the reason given.
                Err(e) => {
                    import.state = ImportState::Failed;
                    import.failure = Some(format!("customer {customer}: {}", e.message));
                    import.lease_until = None;
                    import.updated_at = app.clock.now();
                    return drop_rows(app, &import).await;
                }
            };
        }
    }
}

/// One customer's staged messages into cases, in one unit of work that
/// also records the customer as done.
async fn split_customer(
    app: &AppState,
    import: ImportRecord,
    customer: String,
) -> Result<ImportRecord, AppError> {
    let (clock, lease) = (app.clock.clone(), app.import_lease);
    let done = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut import = import;
            let now = clock.now();
            let channel = tx
                .find_channel(&import.channel_id)
                .await?
                .ok_or_else(|| AppError::not_found("channel"))?;
            let mut split = CustomerSplit::start(tx, &import, &channel, &customer, now).await?;
            let mut after = None;
            loop {
                let rows = tx
                    .import_rows(&import.id, &customer, after, ROWS_CHUNK)
                    .await?;
                let Some(last) = rows.last() else { break };
                after = Some((last.at, last.n));
                split.rows(tx, rows).await?;
            }
            let (messages, cases, skipped) = split.finish(tx).await?;
            import.messages += messages;
            import.cases += cases;
            import.skipped += skipped;
            import.customers_done += 1;
            import.last_customer = Some(customer);
            import.updated_at = now;
            import.lease_until = Some(now + lease);
            tx.update_import(&import).await?;
            Ok(import)
        })
    })
    .await?;
    Ok(done)
}

/// The chat being written.
struct Open {
    case: CaseRecord,
    subject: Option<String>,
}

/// One customer's import under way.
struct CustomerSplit {
    import_id: String,
    account_id: String,
    channel: ChannelRecord,
    customer: CustomerRecord,
    /// The customer had no chat in casedesk: the last imported one becomes
    /// their latest.
    latest: bool,
    after_seconds: i64,
    settings: casedesk_domain::AutoFinishSettings,
    agents: HashMap<String, String>,
    splitter: Splitter,
    open: Option<Open>,
    /// The chat completed last: the next one links to it.
    previous: Option<CaseRecord>,
    now: Time,
    messages: i64,
    cases: i64,
    skipped: i64,
}

impl CustomerSplit {
    async fn start(
        tx: &mut dyn Tx,
        import: &ImportRecord,
        channel: &ChannelRecord,
        external_id: &str,
        now: Time,
    ) -> Result<CustomerSplit, AppError> {
        let first = tx.import_rows(&import.id, external_id, None, 1).await?;
        let mut new = CustomerRecord {
            id: new_id(),
            account_id: import.account_id.clone(),
            channel_id: channel.id.clone(),
            external_id: external_id.to_owned(),
            name: None,
            email: None,
            latest_case_id: None,
            created_at: first.first().map_or(now, |r| r.at),
            language: None,
            person_id: None,
            page: None,
        };
        let mut customer = tx.upsert_customer_locked(&new).await?;
        // The name the history gives is for a customer it brings; one
        // casedesk knows keeps the name it has now.
        let name = first.first().and_then(|r| r.customer_name.clone());
        if customer.id == new.id && name.is_some() {
            new.name = name;
            customer = tx.upsert_customer_locked(&new).await?;
        }
        let settings = settings_of(tx, &import.account_id).await?;
        let agents = tx
            .list_agents(&import.account_id)
            .await?
            .into_iter()
            .map(|a| (a.name.to_lowercase(), a.id))
            .collect();
        Ok(CustomerSplit {
            import_id: import.id.clone(),
            account_id: import.account_id.clone(),
            channel: channel.clone(),
            latest: customer.latest_case_id.is_none(),
            customer,
            after_seconds: settings.after_seconds(),
            settings,
            agents,
            splitter: Splitter::new(settings.after_seconds(), channel.kind),
            open: None,
            previous: None,
            now,
            messages: 0,
            cases: 0,
            skipped: 0,
        })
    }

    /// The next chunk of the customer's rows, in time order.
    async fn rows(&mut self, tx: &mut dyn Tx, rows: Vec<ImportRow>) -> Result<(), AppError> {
        let keys: Vec<String> = rows
            .iter()
            .map(|r| key(&r.customer_id, &r.source_id))
            .collect();
        let stored: HashSet<String> = tx
            .find_messages_by_channel_ids(std::slice::from_ref(&self.channel.id), &keys)
            .await?
            .into_iter()
            .filter_map(|m| m.channel_message_id)
            .collect();
        // Imported before, or twice in the file: stored once.
        let total = rows.len();
        let mut seen = HashSet::new();
        let fresh: Vec<(ImportRow, String)> = rows
            .into_iter()
            .zip(keys)
            .filter(|(_, k)| !stored.contains(k) && seen.insert(k.clone()))
            .collect();
        self.skipped += (total - fresh.len()) as i64;
        if fresh.is_empty() {
            return Ok(());
        }
        let seqs = tx.next_message_seqs(fresh.len()).await?;
        let mut batch = Vec::with_capacity(fresh.len());
        for ((r, key), seq) in fresh.into_iter().zip(seqs) {
            let pushed = self.splitter.push(Said {
                at: r.at,
                from_customer: r.from_customer,
            });
            if pushed.new_chat {
                // Messages reference their case: what is pending goes first.
                if !batch.is_empty() {
                    tx.insert_messages(&std::mem::take(&mut batch)).await?;
                }
                if let Some(chat) = pushed.done {
                    self.complete(tx, chat, true).await?;
                }
                self.open_chat(tx, r.at).await?;
            }
            let open = self
                .open
                .as_mut()
                .ok_or_else(|| AppError::internal("no chat open"))?;
            if r.from_customer && open.subject.is_none() {
                open.subject = Some(r.text.clone());
            }
            let author_id = if r.from_customer {
                Some(self.customer.id.clone())
            } else {
                r.agent_name
                    .as_ref()
                    .and_then(|n| self.agents.get(&n.to_lowercase()).cloned())
            };
            batch.push(MessageRecord {
                id: new_id(),
                account_id: self.account_id.clone(),
                case_id: open.case.id.clone(),
                seq,
                kind: MessageKind::Message,
                author_type: if r.from_customer {
                    AuthorType::Customer
                } else {
                    AuthorType::Agent
                },
                author_id,
                text: with_attachment(r.text, r.attachment.as_deref()),
                created_at: r.at,
                channel_id: self.channel.id.clone(),
                channel_message_id: Some(key),
                reacted_message_id: None,
                edited_at: None,
            });
            self.messages += 1;
        }
        tx.insert_messages(&batch).await?;
        Ok(())
    }

    /// A new case for the chat starting at `at`, linked to the one before.
    async fn open_chat(&mut self, tx: &mut dyn Tx, at: Time) -> Result<(), AppError> {
        let number = tx.next_case_number(&self.account_id).await?;
        let case = new_case_record(
            &self.account_id,
            number,
            &self.channel,
            &self.customer.id,
            String::new(),
            self.previous.as_ref().map(|p| p.id.clone()),
            at,
        );
        // History is read already.
        let mut case = case;
        case.unread = false;
        tx.insert_case(&case).await?;
        if let Some(previous) = &mut self.previous {
            previous.next_case_id = Some(case.id.clone());
            tx.update_case(None, previous).await?;
        }
        self.open = Some(Open {
            case,
            subject: None,
        });
        self.cases += 1;
        Ok(())
    }

    /// The open chat is complete as `chat` says: its state, tallies and
    /// history.
    async fn complete(
        &mut self,
        tx: &mut dyn Tx,
        chat: Chat,
        closed: bool,
    ) -> Result<(), AppError> {
        let Some(Open { mut case, subject }) = self.open.take() else {
            return Err(AppError::internal("a chat completed that was not open"));
        };
        case.subject =
            Subject::from_first_message(subject.as_deref().unwrap_or_default()).into_string();
        case.state = chat.state.clone();
        case.message_count = chat.messages as i64;
        case.last_activity_at = chat.last_activity_at;
        case.updated_at = chat.events.last().map_or(chat.last_activity_at, |e| e.at);
        case.first_response_at = chat.first_response_at;
        tx.update_case(None, &case).await?;
        let events: Vec<EventRecord> = chat
            .events
            .iter()
            .map(|e| EventRecord {
                id: new_id(),
                account_id: self.account_id.clone(),
                case_id: case.id.clone(),
                kind: e.kind,
                actor: match e.kind {
                    EventKind::Created => Actor::Customer(self.customer.id.clone()),
                    _ if e.by_timer => Actor::System("auto_finish".into()),
                    _ => Actor::System("import".into()),
                },
                changes: e.changes.clone(),
                data: json!({ "imported": self.import_id }),
                created_at: e.at,
            })
            .collect();
        tx.insert_events(&events).await?;
        if !closed && case.state.is_active_chat() {
            reschedule(tx, &case, self.settings, case.last_activity_at).await?;
        }
        self.previous = Some(case);
        Ok(())
    }

    /// The last chat; what was stored: (messages, cases, skipped).
    async fn finish(mut self, tx: &mut dyn Tx) -> Result<(i64, i64, i64), AppError> {
        let splitter = std::mem::replace(
            &mut self.splitter,
            Splitter::new(self.after_seconds, self.channel.kind),
        );
        if let Some(chat) = splitter.finish(self.latest, self.now) {
            self.complete(tx, chat, !self.latest).await?;
            if self.latest
                && let Some(last) = &self.previous
            {
                tx.set_customer_latest_case(&self.customer.id, Some(&last.id))
                    .await?;
            }
        }
        Ok((self.messages, self.cases, self.skipped))
    }
}

/// The channel message id of an imported message: the customer and the
/// source's id (sources may number messages per conversation).
fn key(customer_id: &str, source_id: &str) -> String {
    format!("{KEY_PREFIX}{customer_id}:{source_id}")
}

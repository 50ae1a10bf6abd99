//! Customer messages routed in batches: the messages that arrive while a
//! batch is being written wait, and go together in the next one — one unit
//! of work and a few multi-row statements for all of them, where each
//! message alone took a dozen statements and a commit (issue 16,
//! docs/benchmarks.md).
//!
//! A batch holds each customer, and each channel message id, at most once:
//! a customer's next message waits for the batch before it, so every
//! message is routed by its customer's latest chat as the message before it
//! left it (R6, R11), in the order they arrived. In its unit of work a batch
//! locks its customers in one statement (in the order of channel and
//! external id, the same in every batch, so two batches never wait for each
//! other in a cycle), reads the messages stored before under the same ids,
//! the latest chats and the accounts, takes the sequence and case numbers it
//! needs, decides every message in memory as the single-message rules say
//! ([`route_customer_message`], [`count`]), writes cases, messages, history
//! and deadlines in a few statements, and then runs the rules of every
//! message of an account that has any, each as it would after that message
//! alone.
//!
//! When a batch fails, each of its messages is tried again alone, so a
//! message that cannot be stored fails only itself; when storage is
//! unavailable, every message of the batch gets that answer at once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use axum::http::StatusCode;
use casedesk_domain::rules::TriggerEvent;
use casedesk_domain::{
    Actor, AutoFinishSettings, CaseState, Routing, Subject, Time, route_customer_message,
};
use casedesk_store::{
    AttachmentRecord, CaseRecord, ChannelRecord, CustomerRecord, Deadline, EventRecord,
    MessageRecord, Tx, write,
};
use serde_json::json;
use tokio::sync::oneshot;

use super::{
    InboundMessage, InboundResult, Outcome, attached, count, customer_message, customer_of,
    duplicate_of, message_notice, new_case, reopened_event,
};
use crate::clock::Clock;
use crate::error::AppError;
use crate::events::{Notice, log};
use crate::usecases::unit::{case_notice, deadlines_of, notice, settings_of};
use crate::usecases::{automation, topics};
use crate::{App, AppState};

/// Most messages in one batch.
const MAX_BATCH: usize = 256;
/// Most messages waiting for a batch; more are refused (503, `busy`) until
/// the batches catch up, so a flood costs bounded memory.
const MAX_WAITING: usize = 8 * MAX_BATCH;

/// The messages waiting to be routed, and the batches under way.
pub struct Ingest {
    app: Weak<AppState>,
    /// Most batches written at once ([`casedesk_store::Store::parallel_writes`]).
    workers: usize,
    queue: Mutex<Queue>,
    /// Told when the last worker ends.
    idle: tokio::sync::Notify,
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<Item>,
    /// The keys of the messages in batches under way ([`Item::keys`]).
    busy: HashSet<Key>,
    /// Tasks taking batches from `pending`.
    workers: usize,
}

/// A customer (`(channel, customer id)`) or a channel message id
/// (`(channel, message id)`), told apart by the flag.
type Key = (String, String, bool);

struct Item {
    channel: ChannelRecord,
    msg: InboundMessage,
    reply: oneshot::Sender<Result<InboundResult, AppError>>,
}

impl Item {
    /// What two messages of one batch may not share.
    fn keys(&self) -> [Key; 2] {
        let channel = &self.channel.id;
        [
            (channel.clone(), self.msg.customer_id.clone(), false),
            (channel.clone(), self.msg.message_id.clone(), true),
        ]
    }
}

type Input = (ChannelRecord, InboundMessage);

impl Ingest {
    /// The batches of the server whose state `app` will be, at most
    /// `workers` written at once.
    pub fn new(app: Weak<AppState>, workers: usize) -> Ingest {
        Ingest {
            app,
            workers: workers.max(1),
            queue: Mutex::new(Queue::default()),
            idle: tokio::sync::Notify::new(),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Routes and stores `msg` with the next batch; answers when that
    /// batch committed (or failed).
    pub(crate) async fn submit(
        &self,
        channel: ChannelRecord,
        msg: InboundMessage,
    ) -> Result<InboundResult, AppError> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.queue();
            if queue.pending.len() >= MAX_WAITING {
                return Err(busy());
            }
            queue.pending.push_back(Item {
                channel,
                msg,
                reply,
            });
            let start = queue.workers < self.workers;
            queue.workers += usize::from(start);
            start
        };
        if start {
            match self.app.upgrade() {
                Some(app) => drop(tokio::spawn(drain(app))),
                None => self.refuse_all(),
            }
        }
        answer
            .await
            .unwrap_or_else(|_| Err(AppError::internal("a batch of messages ended unanswered")))
    }

    /// The server is gone: what waits is answered with that.
    fn refuse_all(&self) {
        let mut queue = self.queue();
        queue.workers = queue.workers.saturating_sub(1);
        for item in queue.pending.drain(..) {
            let _ = item.reply.send(Err(unavailable()));
        }
        if queue.workers == 0 {
            self.idle.notify_waiters();
        }
    }

    /// The next batch: waiting messages in their order, skipping (and
    /// keeping in place) those that share a key with one under way or
    /// already taken. Empty when nothing can go, and then this worker ends.
    fn take(&self) -> Vec<Item> {
        let mut queue = self.queue();
        let queue = &mut *queue;
        let mut batch = Vec::new();
        let mut kept = VecDeque::new();
        let mut waiting: HashSet<Key> = HashSet::new();
        while let Some(item) = queue.pending.pop_front() {
            if batch.len() == MAX_BATCH {
                kept.push_back(item);
                kept.append(&mut queue.pending);
                break;
            }
            let keys = item.keys();
            if keys
                .iter()
                .any(|k| queue.busy.contains(k) || waiting.contains(k))
            {
                // What waits holds back what came after it with a key in
                // common: a customer's messages keep their order.
                waiting.extend(keys);
                kept.push_back(item);
            } else {
                queue.busy.extend(keys);
                batch.push(item);
            }
        }
        queue.pending = kept;
        if batch.is_empty() {
            queue.workers -= 1;
            if queue.workers == 0 {
                self.idle.notify_waiters();
            }
        }
        batch
    }

    /// Waits until no batch is under way and none waits: at shutdown,
    /// before the store closes.
    pub(crate) async fn finish(&self) {
        loop {
            let idle = self.idle.notified();
            if self.queue().workers == 0 {
                return;
            }
            idle.await;
        }
    }

    fn done(&self, keys: &[Key]) {
        let mut queue = self.queue();
        for key in keys {
            queue.busy.remove(key);
        }
    }
}

/// The answer when [`MAX_WAITING`] messages wait already.
fn busy() -> AppError {
    AppError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "too many messages are waiting to be stored, try again",
    )
    .retry_after(1)
}

fn unavailable() -> AppError {
    AppError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "storage is unavailable, try again",
    )
}

/// A worker: takes batches until none can go. Each batch runs as a task of
/// its own, so that a bug that panics in one loses that batch's answers,
/// not the worker.
async fn drain(app: App) {
    loop {
        let batch = app.ingest.take();
        if batch.is_empty() {
            return;
        }
        let keys: Vec<Key> = batch.iter().flat_map(Item::keys).collect();
        if let Err(e) = tokio::spawn(run(Arc::clone(&app), batch)).await {
            tracing::error!("a batch of inbound messages failed: {e}");
        }
        app.ingest.done(&keys);
    }
}

/// Writes a batch and answers its messages; after a failure, tries each
/// message alone.
async fn run(app: App, items: Vec<Item>) {
    let (inputs, replies): (Vec<Input>, Vec<_>) = items
        .into_iter()
        .map(|i| ((i.channel, i.msg), i.reply))
        .unzip();
    let alone = inputs.len() == 1;
    match route(&app, inputs.clone()).await {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(e) if alone || e.status == StatusCode::SERVICE_UNAVAILABLE => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
        Err(e) => {
            tracing::info!(
                messages = inputs.len(),
                code = e.code,
                "a batch failed; its messages are tried one by one"
            );
            for (input, reply) in inputs.into_iter().zip(replies) {
                let result = route(&app, vec![input]).await.and_then(|mut r| {
                    r.pop()
                        .ok_or_else(|| AppError::internal("a message was not routed"))
                });
                let _ = reply.send(result);
            }
        }
    }
}

/// One unit of work for `inputs`; their answers in their order.
async fn route(app: &AppState, inputs: Vec<Input>) -> Result<Vec<InboundResult>, AppError> {
    let clock = app.clock.clone();
    let (results, logged, done) = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let (results, notices, done) = route_batch(tx, &clock, inputs).await?;
            Ok((results, log(tx, notices, clock.now()).await?, done))
        })
    })
    .await?;
    app.after_commit(logged, false);
    if let Some(earliest) = done.timers_from {
        app.timers.ring_for(earliest);
    }
    if done.queued {
        app.outbox_changed.notify_one();
    }
    let mut results = results;
    for split in done.splits {
        split_on_topic(app, split, &mut results).await;
    }
    Ok(results)
}

/// A rule's split of a new question, after the message is stored; the
/// message's answer then names the case it moved to. A split that fails
/// leaves the message where it landed (its answer says so): the message
/// itself is stored, and the customer's next message is judged again.
async fn split_on_topic(app: &AppState, split: TopicSplit, results: &mut [InboundResult]) {
    let TopicSplit {
        account_id,
        case_id,
        rule_id,
        message_id,
    } = split;
    let case = topics::split_on_topic(
        app,
        account_id,
        case_id.clone(),
        rule_id.clone(),
        message_id.clone(),
    )
    .await;
    match case {
        Ok(Some(case)) => {
            for r in results.iter_mut().filter(|r| r.message_id == message_id) {
                r.case_id = case.id.clone();
                r.case_number = case.number;
                r.outcome = super::Outcome::Created;
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(
            case = %case_id,
            rule = %rule_id,
            code = e.code,
            "a rule's split of a new question failed: {}",
            e.message
        ),
    }
}

/// A rule asked to split the message off its case if it starts a new
/// question ([`automation::Effects::split_on_topic`]).
struct TopicSplit {
    account_id: String,
    case_id: String,
    rule_id: String,
    message_id: String,
}

/// What a batch's commit sets going.
struct Done {
    /// A rule queued a webhook delivery.
    queued: bool,
    /// The earliest time a deadline or rule timer it set falls due; `None`
    /// when it set none (clearing a chat's deadlines wakes nobody).
    timers_from: Option<Time>,
    /// Splits rules asked for, done after the commit.
    splits: Vec<TopicSplit>,
}

/// What a batch writes, gathered while its messages are decided.
#[derive(Default)]
struct Writes {
    new_cases: Vec<CaseRecord>,
    /// Existing cases, as stored and as they are to be.
    updated: Vec<(CaseRecord, CaseRecord)>,
    /// New latest cases of customers.
    latest: Vec<(String, String)>,
    messages: Vec<MessageRecord>,
    attachments: Vec<AttachmentRecord>,
    events: Vec<EventRecord>,
    deadlines: Vec<Deadline>,
    /// Cases whose deadlines go.
    cleared: Vec<String>,
    notices: Vec<Notice>,
    /// The rules to run after the writes: the case, its state before the
    /// message (`None` for a new case), the message's id and text.
    rules: Vec<(CaseRecord, Option<CaseState>, String, String)>,
}

/// What a batch reads before it decides.
struct Known {
    /// Each input's customer, locked.
    customers: Vec<CustomerRecord>,
    /// Messages stored before, by channel and channel message id.
    stored: HashMap<(String, String), MessageRecord>,
    /// The latest chats, and the cases of the messages stored before.
    cases: HashMap<String, CaseRecord>,
    /// Each account's settings, and whether it has rules that are on.
    accounts: HashMap<String, (AutoFinishSettings, bool)>,
}

/// Locks the customers and reads what routing their messages needs.
async fn read(tx: &mut dyn Tx, inputs: &[Input], now: Time) -> Result<Known, AppError> {
    let new: Vec<CustomerRecord> = inputs
        .iter()
        .map(|(channel, msg)| customer_of(channel, msg, None, now))
        .collect();
    let customers = tx.upsert_customers_locked(&new).await?;
    let keys: Vec<(String, String)> = inputs
        .iter()
        .map(|(c, m)| (c.id.clone(), m.message_id.clone()))
        .collect();
    let stored: HashMap<(String, String), MessageRecord> = tx
        .find_messages_by_channel_keys(&keys)
        .await?
        .into_iter()
        .filter_map(|m| Some(((m.channel_id.clone(), m.channel_message_id.clone()?), m)))
        .collect();
    let mut case_ids: HashMap<&str, Vec<String>> = HashMap::new();
    for ((channel, msg), customer) in inputs.iter().zip(&customers) {
        let account = channel.account_id.as_str();
        let key = (channel.id.clone(), msg.message_id.clone());
        let id = match stored.get(&key) {
            Some(m) => Some(&m.case_id),
            None => customer.latest_case_id.as_ref(),
        };
        case_ids.entry(account).or_default().extend(id.cloned());
    }
    let mut cases = HashMap::new();
    let mut accounts = HashMap::new();
    for (account, ids) in case_ids {
        for case in tx.get_cases(account, &ids).await? {
            cases.insert(case.id.clone(), case);
        }
        let settings = settings_of(tx, account).await?;
        let rules = !automation::enabled_rules(tx, account).await?.is_empty();
        accounts.insert(account.to_owned(), (settings, rules));
    }
    Ok(Known {
        customers,
        stored,
        cases,
        accounts,
    })
}

/// R6 for a batch of messages of distinct customers: read, decide each in
/// memory, write, then the rules.
async fn route_batch(
    tx: &mut dyn Tx,
    clock: &Clock,
    inputs: Vec<Input>,
) -> Result<(Vec<InboundResult>, Vec<Notice>, Done), AppError> {
    let known = read(tx, &inputs, clock.now()).await?;
    // The time is taken under the locks: messages are listed by time, and
    // their order must be the order they were routed in. Taken before, a
    // message that waited for a lock would be listed before messages routed
    // ahead of it (even before the one that opened its chat).
    let at = clock.now();
    // Each message's routing and the latest chat it was routed by; `None`
    // for a redelivery.
    let mut routings: Vec<Option<(Routing, Option<CaseRecord>)>> = Vec::new();
    for ((channel, msg), customer) in inputs.iter().zip(&known.customers) {
        if known
            .stored
            .contains_key(&(channel.id.clone(), msg.message_id.clone()))
        {
            routings.push(None);
            continue;
        }
        let latest = match &customer.latest_case_id {
            Some(id) => Some(known.cases.get(id).cloned().ok_or_else(|| {
                AppError::internal(format!("the latest case {id} of a customer is missing"))
            })?),
            None => None,
        };
        let routing = route_customer_message(channel.kind, latest.as_ref().map(|c| &c.state));
        routings.push(Some((routing, latest)));
    }
    let mut seqs = tx
        .next_message_seqs(routings.iter().flatten().count())
        .await?
        .into_iter();
    let mut wanted: HashMap<String, usize> = HashMap::new();
    for ((channel, _), routing) in inputs.iter().zip(&routings) {
        if let Some((Routing::NewCase { .. }, _)) = routing {
            *wanted.entry(channel.account_id.clone()).or_default() += 1;
        }
    }
    let mut numbers: HashMap<String, VecDeque<i64>> = HashMap::new();
    for (account, n) in wanted {
        let taken = tx.next_case_numbers(&account, n).await?;
        numbers.insert(account, taken.into());
    }

    let mut w = Writes::default();
    let mut results = Vec::with_capacity(inputs.len());
    for (((channel, msg), customer), routing) in
        inputs.into_iter().zip(&known.customers).zip(routings)
    {
        let Some((routing, latest)) = routing else {
            let stored = &known.stored[&(channel.id.clone(), msg.message_id.clone())];
            let case = known
                .cases
                .get(&stored.case_id)
                .ok_or_else(|| AppError::internal("a stored message's case is missing"))?;
            results.push(duplicate_of(case, stored.id.clone()));
            continue;
        };
        let seq = seqs
            .next()
            .ok_or_else(|| AppError::internal("too few message seqs"))?;
        let number = match routing {
            Routing::NewCase { .. } => numbers
                .get_mut(&channel.account_id)
                .and_then(VecDeque::pop_front),
            _ => None,
        };
        let (settings, rules) = known
            .accounts
            .get(&channel.account_id)
            .copied()
            .ok_or_else(|| AppError::internal("a message's account was not read"))?;
        let routed = decide(
            &mut w, &channel, customer, latest, routing, number, &msg.text, seq, at,
        )?;
        let Routed {
            mut case,
            stored,
            before,
            outcome,
            mut notices,
        } = routed;
        let message =
            customer_message(&channel, customer, &case, msg.message_id, msg.text, seq, at);
        w.attachments.extend(attached(msg.attachments, &message.id));
        if count(&mut case, at) {
            match deadlines_of(&case, settings, at) {
                Some(deadlines) => w.deadlines.extend(deadlines),
                None => w.cleared.push(case.id.clone()),
            }
        }
        notices.push(message_notice(&case, &message.id, &notices));
        w.notices.extend(notices);
        results.push(InboundResult {
            case_id: case.id.clone(),
            case_number: case.number,
            message_id: message.id.clone(),
            outcome,
        });
        if rules {
            w.rules.push((
                case.clone(),
                before,
                message.id.clone(),
                message.text.clone(),
            ));
        }
        match stored {
            Some(stored) => w.updated.push((stored, case)),
            None => w.new_cases.push(case),
        }
        w.messages.push(message);
    }
    let (notices, done) = write_batch(tx, w, at).await?;
    Ok((results, notices, done))
}

/// Where routing put a message, before it is stored.
struct Routed {
    case: CaseRecord,
    /// The case as stored; `None` for a new one.
    stored: Option<CaseRecord>,
    /// What the rules compare with: the chat as it was, `None` for a new case.
    before: Option<CaseState>,
    outcome: Outcome,
    notices: Vec<Notice>,
}

/// What the domain's routing decided, in memory: a new case (linked to the
/// closed chat before it, numbered `number`), the active chat as it is, or
/// the finished chat reopened.
#[allow(clippy::too_many_arguments)]
fn decide(
    w: &mut Writes,
    channel: &ChannelRecord,
    customer: &CustomerRecord,
    latest: Option<CaseRecord>,
    routing: Routing,
    number: Option<i64>,
    text: &str,
    seq: i64,
    at: Time,
) -> Result<Routed, AppError> {
    let actor = Actor::Customer(customer.id.clone());
    let no_latest = |what: &'static str| move || AppError::internal(what);
    match routing {
        Routing::NewCase { after_closed } => {
            let number = number.ok_or_else(no_latest("no case number taken"))?;
            // R6 d: a chat after a closed one links to it (R12).
            let previous = latest.filter(|_| after_closed);
            let subject = Subject::from_first_message(text);
            let opened = new_case(channel, customer, subject, previous, number, &actor, at);
            w.events.extend(opened.events);
            w.updated.extend(opened.previous);
            w.latest.push((customer.id.clone(), opened.case.id.clone()));
            let created = notice(
                &opened.case,
                "case.created",
                json!({ "subject": opened.case.subject }),
            );
            Ok(Routed {
                case: opened.case,
                stored: None,
                before: None,
                outcome: Outcome::Created,
                notices: vec![created],
            })
        }
        Routing::Append => {
            let case = latest.ok_or_else(no_latest("append without a latest chat"))?;
            Ok(Routed {
                before: Some(case.state.clone()),
                stored: Some(case.clone()),
                case,
                outcome: Outcome::Appended,
                notices: Vec::new(),
            })
        }
        Routing::Reopen => {
            // R6 c: the latest chat, finished open or pending, is active
            // again and remembers from which message on a split would take
            // the new messages.
            let stored = latest.ok_or_else(no_latest("reopen without a latest chat"))?;
            let mut case = stored.clone();
            let before = case.state.clone();
            let changes = case.state.reopen_by_customer(seq, at);
            w.events.push(reopened_event(&case, &actor, changes, at));
            Ok(Routed {
                notices: vec![case_notice(&case)],
                stored: Some(stored),
                case,
                before: Some(before),
                outcome: Outcome::Reopened,
            })
        }
    }
}

/// Writes what a batch decided, then runs the rules; the notices, whether
/// a rule queued a delivery, and the earliest deadline or timer set.
async fn write_batch(
    tx: &mut dyn Tx,
    w: Writes,
    at: Time,
) -> Result<(Vec<Notice>, Done), AppError> {
    tx.insert_cases(&w.new_cases).await?;
    let updated: Vec<(Option<&CaseRecord>, &CaseRecord)> =
        w.updated.iter().map(|(s, c)| (Some(s), c)).collect();
    tx.update_cases(&updated).await?;
    tx.set_customers_latest_cases(&w.latest).await?;
    tx.insert_messages(&w.messages).await?;
    for attachment in &w.attachments {
        tx.insert_attachment(attachment).await?;
    }
    tx.insert_events(&w.events).await?;
    tx.set_deadlines(&w.deadlines).await?;
    for case_id in &w.cleared {
        tx.clear_deadlines(case_id).await?;
    }
    let mut notices = w.notices;
    let mut done = Done {
        queued: false,
        timers_from: w.deadlines.iter().map(|d| d.due_at).min(),
        splits: Vec::new(),
    };
    for (case, before, message_id, text) in w.rules {
        let effects = automation::after_change(
            tx,
            &case.id,
            &case.account_id,
            before,
            vec![TriggerEvent::CustomerMessage { text }],
            at,
        )
        .await?;
        if let Some((case_id, rule_id)) = effects.split_on_topic {
            done.splits.push(TopicSplit {
                account_id: case.account_id.clone(),
                case_id,
                rule_id,
                message_id,
            });
        }
        notices.extend(effects.notices);
        done.queued |= effects.queued;
        done.timers_from = done
            .timers_from
            .into_iter()
            .chain(effects.timers_from)
            .min();
    }
    Ok((notices, done))
}

#[cfg(test)]
mod tests {
    use casedesk_domain::ChannelKind;

    use super::*;

    fn item(
        customer: &str,
        message_id: &str,
    ) -> (Item, oneshot::Receiver<Result<InboundResult, AppError>>) {
        let (reply, answer) = oneshot::channel();
        let channel = ChannelRecord {
            id: "ch".into(),
            account_id: "acc".into(),
            kind: ChannelKind::Api,
            name: "api".into(),
            webhook_url: None,
            inbound_token: "t".into(),
            allowed_origins: Vec::new(),
            created_at: chrono::Utc::now(),
            disabled_at: None,
            removed_at: None,
        };
        let msg = InboundMessage {
            message_id: message_id.into(),
            customer_id: customer.into(),
            customer_name: None,
            customer_language: None,
            text: format!("{customer} {message_id}"),
            attachments: Vec::new(),
        };
        (
            Item {
                channel,
                msg,
                reply,
            },
            answer,
        )
    }

    fn taken(ingest: &Ingest) -> Vec<String> {
        let batch = ingest.take();
        let names = batch.iter().map(|i| i.msg.text.clone()).collect();
        let keys: Vec<Key> = batch.iter().flat_map(Item::keys).collect();
        ingest.done(&keys);
        names
    }

    #[test]
    fn a_batch_holds_each_customer_and_message_id_once_and_keeps_their_order() {
        let ingest = Ingest::new(Weak::new(), 1);
        let mut answers = Vec::new();
        {
            let mut queue = ingest.queue();
            queue.workers = 1;
            for (customer, id) in [
                ("a", "1"),
                ("b", "x"),
                ("a", "2"),
                ("c", "x"),
                ("c", "3"),
                ("b", "4"),
            ] {
                let (item, answer) = item(customer, id);
                queue.pending.push_back(item);
                answers.push(answer);
            }
        }
        // c's first message waits for b's (same message id), and so does
        // c's second, which may not pass the first.
        assert_eq!(taken(&ingest), ["a 1", "b x"]);
        assert_eq!(taken(&ingest), ["a 2", "c x", "b 4"]);
        assert_eq!(taken(&ingest), ["c 3"]);
        assert!(taken(&ingest).is_empty());
        assert_eq!(
            ingest.queue().workers,
            0,
            "the worker ends with nothing to take"
        );
    }

    #[test]
    fn a_batch_holds_at_most_its_maximum() {
        let ingest = Ingest::new(Weak::new(), 1);
        {
            let mut queue = ingest.queue();
            queue.workers = 1;
            for n in 0..MAX_BATCH + 3 {
                queue.pending.push_back(item(&format!("c{n}"), "m").0);
                // distinct message ids
                let last = queue.pending.back_mut().expect("pushed");
                last.msg.message_id = format!("m{n}");
            }
        }
        assert_eq!(taken(&ingest).len(), MAX_BATCH);
        assert_eq!(taken(&ingest).len(), 3);
    }
}

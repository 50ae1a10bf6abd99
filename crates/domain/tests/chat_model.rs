//! A model test of the chat rules (SPEC R1–R13): random sequences of what
//! customers and agents do, run against casedesk's rules and against a small
//! reference model written from the spec, compared after every step.
//!
//! **Where it runs: the domain level** (`casedesk-domain`, with an explicit
//! `now`), driven the way the server's use cases drive it
//! (`crates/server/src/usecases/`: routing and the customer's latest chat,
//! each message counted by the domain's transition for its kind, message
//! moves and recounts on split and merge, chat links, deadlines
//! rescheduled when a transition says the timer restarts and fired when
//! due). Here time is data, and a sequence costs
//! no database or HTTP round trip; the server's wiring of the rules is
//! covered by the end-to-end tests, which move the server's clock
//! (`casedesk_server::clock::ManualClock`) instead.
//!
//! The reference model is deliberately naive: per customer an ordered chain
//! of chats (previous/next are neighbours in it, the latest is its end),
//! each with a state, a status, message ids and, after a reopen, the first
//! reopened message and the status before. It never calls the domain's
//! rule functions. One choice the spec leaves open is modelled as the
//! server makes it: a chat that becomes active (new, reopened, reactivated
//! by an agent reply, split off, merged into) starts its inactivity timer
//! at that moment.
//!
//! Bounded to run in well under a second: 256 sequences of at most 40
//! steps. `chat_model.proptest-regressions` keeps the seed of a failure
//! found once (a closed latest chat reopening instead of starting a new
//! case, tried deliberately); proptest replays it first on every run.

use casedesk_domain::moves::{Held, Selection, messages_to_move};
use casedesk_domain::{
    AuthorType, AutoFinishSettings, CaseState, ChannelKind, ChatState, Recount, Routing, RuleError,
    Status, Tally, Time, Wrote, route_customer_message,
};
use proptest::prelude::*;

const CUSTOMERS: usize = 3;
/// The account's `chat_auto_finish_after_seconds` (the default).
const AUTO_FINISH_SECONDS: i64 = 600;

#[derive(Debug, Clone)]
enum Op {
    CustomerSays {
        customer: usize,
    },
    AgentReplies {
        customer: usize,
        pick: usize,
    },
    Finish {
        customer: usize,
        pick: usize,
        status: Status,
    },
    Close {
        customer: usize,
        pick: usize,
    },
    /// Time passes without anyone writing.
    Wait {
        seconds: i64,
    },
    Split {
        customer: usize,
        pick: usize,
    },
    MergeWithPrevious {
        customer: usize,
        pick: usize,
    },
    /// A reaction to one of the customer's chats' public messages.
    React {
        customer: usize,
        pick: usize,
    },
}

/// What an operation answered: the case it went to, or why it was refused.
type Outcome = Result<Option<usize>, &'static str>;

/// One case as both sides must show it; cases are numbered from 0 in the
/// order they were created, as their numbers are.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CaseView {
    customer: usize,
    status: Status,
    chat_state: ChatState,
    previous: Option<usize>,
    next: Option<usize>,
    merged_into: Option<usize>,
    split_available: bool,
    /// Message ids (numbered in the order they were written), in time order.
    messages: Vec<usize>,
}

// ------------------------------------------------------------ casedesk

/// A message as the store keeps it: its case and sequence, who wrote it
/// (`None`: a note), when, and, for a reaction note, the reacted message.
struct StoredMessage {
    case: usize,
    author: Option<AuthorType>,
    at: Time,
    reacts_to: Option<usize>,
}

struct StoredCase {
    customer: usize,
    state: CaseState,
    tally: Tally,
    previous: Option<usize>,
    next: Option<usize>,
    merged_into: Option<usize>,
    /// The finish deadline of an active chat.
    finish_at: Option<Time>,
    created: Time,
}

/// casedesk's rules, driven like the server's use cases drive them.
struct Casedesk {
    cases: Vec<StoredCase>,
    messages: Vec<StoredMessage>,
    latest: [Option<usize>; CUSTOMERS],
    settings: AutoFinishSettings,
    now: Time,
}

fn rule(e: RuleError) -> &'static str {
    match e {
        RuleError::NotAChat => "not_a_chat",
        RuleError::AlreadyFinished => "already_finished",
        RuleError::NotActive => "not_active",
        RuleError::SplitUnavailable => "split_unavailable",
        RuleError::NoPreviousChat => "no_previous_chat",
        RuleError::Merged => "merged",
        RuleError::PreviousMerged => "previous_merged",
    }
}

impl Casedesk {
    fn new() -> Casedesk {
        Casedesk {
            cases: Vec::new(),
            messages: Vec::new(),
            latest: [None; CUSTOMERS],
            settings: AutoFinishSettings::default(),
            now: Time::from_timestamp(1_700_000_000, 0).expect("time"),
        }
    }

    /// Stores a message and applies what the domain said it changes.
    fn add_message(
        &mut self,
        case: usize,
        author: Option<AuthorType>,
        reacts_to: Option<usize>,
        wrote: Wrote,
    ) {
        self.messages.push(StoredMessage {
            case,
            author,
            at: self.now,
            reacts_to,
        });
        self.cases[case].tally = wrote.tally;
        if wrote.restarts_timer {
            self.reschedule(case);
        }
    }

    /// `reschedule` of the server: deadlines for an active chat, none else.
    fn reschedule(&mut self, case: usize) {
        let c = &mut self.cases[case];
        c.finish_at = (c.state.is_active_chat() && !c.state.merged)
            .then(|| self.settings.deadlines(self.now).1);
    }

    /// The store's `message_summary` after messages moved, and the
    /// domain's recount of it.
    fn refresh(&mut self, case: usize) {
        let held: Vec<&StoredMessage> = self.messages.iter().filter(|m| m.case == case).collect();
        let last_public = held.iter().rev().find(|m| m.author.is_some());
        let created = self.cases[case].created;
        let now_holds = Recount {
            message_count: held.len() as i64,
            last_public_author: last_public.and_then(|m| m.author),
            last_public_at: last_public.map(|m| m.at),
            first_agent_reply_at: held
                .iter()
                .find(|m| m.author == Some(AuthorType::Agent) && m.at >= created)
                .map(|m| m.at),
        };
        let c = &mut self.cases[case];
        c.tally = c.state.recount(c.tally, now_holds);
    }

    fn customer_says(&mut self, customer: usize) -> Outcome {
        let latest = self.latest[customer];
        let seq = self.messages.len() as i64;
        let routing =
            route_customer_message(ChannelKind::Api, latest.map(|l| &self.cases[l].state));
        let case = match (routing, latest) {
            (Routing::NewCase { .. }, _) => {
                let new = self.cases.len();
                self.cases.push(StoredCase {
                    customer,
                    state: CaseState::new_case(ChannelKind::Api),
                    tally: Tally::new_case(self.now),
                    previous: latest,
                    next: None,
                    merged_into: None,
                    finish_at: None,
                    created: self.now,
                });
                if let Some(l) = latest {
                    self.cases[l].next = Some(new);
                }
                self.latest[customer] = Some(new);
                new
            }
            (Routing::Append, Some(l)) => l,
            (Routing::Reopen, Some(l)) => {
                self.cases[l].state.reopen_by_customer(seq, self.now);
                l
            }
            (_, None) => return Err("routed to a chat that does not exist"),
        };
        let c = &mut self.cases[case];
        let wrote = c.state.customer_wrote(c.tally, self.now);
        self.add_message(case, Some(AuthorType::Customer), None, wrote);
        Ok(Some(case))
    }

    fn agent_replies(&mut self, case: usize) -> Outcome {
        if self.cases[case].state.merged {
            return Err(rule(RuleError::Merged));
        }
        let is_latest = self.latest[self.cases[case].customer] == Some(case);
        let c = &mut self.cases[case];
        let wrote = c.state.agent_wrote(is_latest, c.tally, self.now);
        self.add_message(case, Some(AuthorType::Agent), None, wrote);
        Ok(Some(case))
    }

    fn change(&mut self, case: usize, status: Status, finish: bool) -> Outcome {
        let state = &mut self.cases[case].state;
        let changed = if finish {
            state.finish(status, self.now)
        } else {
            state.set_status(status, self.now)
        };
        changed.map_err(rule)?;
        if !self.cases[case].state.is_active_chat() {
            self.cases[case].finish_at = None;
        }
        Ok(Some(case))
    }

    fn split(&mut self, case: usize) -> Outcome {
        let plan = self.cases[case].state.split().map_err(rule)?;
        let new = self.cases.len();
        self.cases.push(StoredCase {
            customer: self.cases[case].customer,
            state: CaseState::new_case(ChannelKind::Api),
            tally: Tally::new_case(self.now),
            previous: Some(case),
            next: self.cases[case].next,
            merged_into: None,
            finish_at: None,
            created: self.now,
        });
        self.move_messages(case, new, Selection::FromSeq(plan.from_seq));
        self.cases[case].next = Some(new);
        self.refresh(case);
        self.refresh(new);
        let customer = self.cases[case].customer;
        if self.latest[customer] == Some(case) {
            self.latest[customer] = Some(new);
        }
        self.reschedule(case);
        self.reschedule(new);
        Ok(Some(new))
    }

    /// The server's move: the domain picks the messages, the store moves
    /// exactly those.
    fn move_messages(&mut self, from: usize, to: usize, selection: Selection<'_>) {
        let ids: Vec<String> = (0..self.messages.len()).map(|i| i.to_string()).collect();
        let held: Vec<Held<'_>> = self
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.case == from)
            .map(|(i, m)| Held {
                id: &ids[i],
                seq: i as i64,
                reacted_message_id: m.reacts_to.map(|r| ids[r].as_str()),
            })
            .collect();
        let moving = messages_to_move(&held, selection).expect("splits and merges always move");
        for id in moving {
            let i: usize = id.parse().expect("an index");
            self.messages[i].case = to;
        }
    }

    fn merge_with_previous(&mut self, case: usize) -> Outcome {
        if self.cases[case].state.merged {
            return Err(rule(RuleError::Merged));
        }
        let Some(previous) = self.cases[case].previous else {
            return Err(rule(RuleError::NoPreviousChat));
        };
        let mut previous_state = self.cases[previous].state.clone();
        self.cases[case]
            .state
            .merge_into_previous(&mut previous_state, true, self.now)
            .map_err(rule)?;
        self.cases[previous].state = previous_state;
        self.move_messages(case, previous, Selection::All);
        self.cases[case].merged_into = Some(previous);
        let next = self.cases[case].next;
        self.cases[previous].next = next;
        if let Some(n) = next {
            self.cases[n].previous = Some(previous);
        }
        self.refresh(case);
        self.refresh(previous);
        let customer = self.cases[case].customer;
        if self.latest[customer] == Some(case) {
            self.latest[customer] = Some(previous);
        }
        self.cases[case].finish_at = None;
        self.reschedule(previous);
        Ok(Some(previous))
    }

    fn react(&mut self, target: usize) -> Outcome {
        let case = self.messages[target].case;
        let c = &self.cases[case];
        let wrote = c.state.customer_reacted(c.tally, self.now);
        self.add_message(case, None, Some(target), wrote);
        Ok(Some(case))
    }

    /// Time passes; due deadlines fire as the scheduler fires them.
    fn wait(&mut self, seconds: i64) -> Outcome {
        self.now += chrono::Duration::seconds(seconds);
        for c in &mut self.cases {
            if c.finish_at.is_some_and(|due| due <= self.now) {
                c.finish_at = None;
                if c.state.is_active_chat() && !c.state.merged {
                    c.state.auto_finish(self.now).map_err(rule)?;
                }
            }
        }
        Ok(None)
    }

    fn views(&self) -> Vec<CaseView> {
        (0..self.cases.len())
            .map(|i| {
                let c = &self.cases[i];
                CaseView {
                    customer: c.customer,
                    status: c.state.status,
                    chat_state: c.state.chat_state.unwrap_or(ChatState::Finished),
                    previous: c.previous,
                    next: c.next,
                    merged_into: c.merged_into,
                    split_available: c.state.split_available(),
                    messages: (0..self.messages.len())
                        .filter(|&m| self.messages[m].case == i)
                        .collect(),
                }
            })
            .collect()
    }

    fn public_messages_of(&self, customer: usize) -> Vec<usize> {
        (0..self.messages.len())
            .filter(|&m| {
                let msg = &self.messages[m];
                msg.author.is_some() && self.cases[msg.case].customer == customer
            })
            .collect()
    }
}

// ------------------------------------------------------------ the model

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    Customer,
    Agent,
    /// A customer reaction, kept as a note.
    Reaction {
        to: usize,
    },
}

#[derive(Debug, Clone)]
struct Chat {
    customer: usize,
    status: Status,
    active: bool,
    messages: Vec<usize>,
    /// After a reopen by the customer (R6 c): the first reopened message and
    /// the status before; gone once the chat is finished again (R7).
    reopened: Option<(usize, Status)>,
    /// Merged (R9): into which chat, and the links it had then.
    merged: Option<(usize, Option<usize>, Option<usize>)>,
    timer_from: i64,
}

#[derive(Default)]
struct Model {
    chats: Vec<Chat>,
    /// Per customer, their unmerged chats from first to latest (R11, R12).
    chains: [Vec<usize>; CUSTOMERS],
    writers: Vec<Writer>,
    now: i64,
}

impl Model {
    fn holder(&self, message: usize) -> usize {
        self.chats
            .iter()
            .position(|c| c.messages.contains(&message))
            .expect("every message is in a chat")
    }

    fn write(&mut self, chat: usize, writer: Writer) {
        self.writers.push(writer);
        self.chats[chat].messages.push(self.writers.len() - 1);
    }

    fn start_timer(&mut self, chat: usize) {
        self.chats[chat].timer_from = self.now;
    }

    fn new_chat(&mut self, customer: usize) -> usize {
        self.chats.push(Chat {
            customer,
            status: Status::Open,
            active: true,
            messages: Vec::new(),
            reopened: None,
            merged: None,
            timer_from: self.now,
        });
        self.chats.len() - 1
    }

    /// R1/R2/R7: a chat that stops being active forgets its reopen.
    fn end(&mut self, chat: usize, status: Status) {
        let c = &mut self.chats[chat];
        c.active = false;
        c.status = status;
        c.reopened = None;
    }

    fn customer_says(&mut self, customer: usize) -> Outcome {
        let chat = match self.chains[customer].last().copied() {
            // R6 b: appended to the active latest chat.
            Some(l) if self.chats[l].active => l,
            // R6 c: the latest is finished open or pending: it is reopened
            // and offers the split.
            Some(l) if self.chats[l].status != Status::Closed => {
                let before = self.chats[l].status;
                self.chats[l].reopened = Some((self.writers.len(), before));
                self.chats[l].active = true;
                self.chats[l].status = Status::Open;
                l
            }
            // R6 a, d: no chat yet, or the latest is closed: a new chat
            // after it.
            _ => {
                let new = self.new_chat(customer);
                self.chains[customer].push(new);
                new
            }
        };
        self.write(chat, Writer::Customer);
        self.start_timer(chat);
        Ok(Some(chat))
    }

    fn agent_replies(&mut self, chat: usize) -> Outcome {
        if self.chats[chat].merged.is_some() {
            return Err("merged");
        }
        let customer = self.chats[chat].customer;
        // R2/R11: only the latest finished chat becomes active again.
        if self.chains[customer].last() == Some(&chat) {
            self.chats[chat].active = true;
        }
        self.write(chat, Writer::Agent);
        if self.chats[chat].active {
            self.start_timer(chat);
        }
        Ok(Some(chat))
    }

    fn finish(&mut self, chat: usize, status: Status) -> Outcome {
        if self.chats[chat].merged.is_some() {
            return Err("merged");
        }
        if !self.chats[chat].active {
            return Err("already_finished");
        }
        self.end(chat, status);
        Ok(Some(chat))
    }

    fn close(&mut self, chat: usize) -> Outcome {
        if self.chats[chat].merged.is_some() {
            return Err("merged");
        }
        if self.chats[chat].active {
            self.end(chat, Status::Closed);
        }
        self.chats[chat].status = Status::Closed;
        Ok(Some(chat))
    }

    fn split(&mut self, chat: usize) -> Outcome {
        if self.chats[chat].merged.is_some() {
            return Err("merged");
        }
        let Some((from, before)) = self.chats[chat]
            .reopened
            .filter(|_| self.chats[chat].active)
        else {
            return Err("split_unavailable");
        };
        // R7: every message since the reopen moves; a reaction note stays
        // with the message it reacts to (R10).
        let moved: Vec<usize> = self.chats[chat]
            .messages
            .iter()
            .copied()
            .filter(|&m| {
                m >= from && !matches!(self.writers[m], Writer::Reaction { to } if to < from)
            })
            .collect();
        self.chats[chat].messages.retain(|m| !moved.contains(m));
        let customer = self.chats[chat].customer;
        let new = self.new_chat(customer);
        self.chats[new].messages = moved;
        self.end(chat, before);
        let at = self.chains[customer]
            .iter()
            .position(|&c| c == chat)
            .expect("in chain");
        self.chains[customer].insert(at + 1, new);
        Ok(Some(new))
    }

    fn links(&self, chat: usize) -> (Option<usize>, Option<usize>) {
        if let Some((_, previous, next)) = self.chats[chat].merged {
            return (previous, next);
        }
        let chain = &self.chains[self.chats[chat].customer];
        let at = chain.iter().position(|&c| c == chat).expect("in chain");
        (
            at.checked_sub(1).map(|p| chain[p]),
            chain.get(at + 1).copied(),
        )
    }

    fn merge_with_previous(&mut self, chat: usize) -> Outcome {
        if self.chats[chat].merged.is_some() {
            return Err("merged");
        }
        let (previous, next) = self.links(chat);
        let Some(previous) = previous else {
            return Err("no_previous_chat");
        };
        // R9: all messages move, in time order; the previous chat is the
        // active, open chat again.
        let mut moved = std::mem::take(&mut self.chats[chat].messages);
        self.chats[previous].messages.append(&mut moved);
        self.chats[previous].messages.sort_unstable();
        self.chats[previous].active = true;
        self.chats[previous].status = Status::Open;
        self.chats[previous].reopened = None;
        self.start_timer(previous);
        let status = self.chats[chat].status;
        self.end(chat, status);
        self.chats[chat].merged = Some((previous, Some(previous), next));
        self.chains[self.chats[chat].customer].retain(|&c| c != chat);
        Ok(Some(previous))
    }

    fn react(&mut self, target: usize) -> Outcome {
        // R10: into the chat holding the message, whatever its state.
        let chat = self.holder(target);
        self.write(chat, Writer::Reaction { to: target });
        if self.chats[chat].active {
            self.start_timer(chat); // R3: restarts the timer only
        }
        Ok(Some(chat))
    }

    fn wait(&mut self, seconds: i64) -> Outcome {
        self.now += seconds;
        for chat in 0..self.chats.len() {
            let c = &self.chats[chat];
            if c.active && c.merged.is_none() && self.now - c.timer_from >= AUTO_FINISH_SECONDS {
                // R3: open if the customer wrote the last public message,
                // pending if an agent did; reactions and notes never count.
                let last = c
                    .messages
                    .iter()
                    .rev()
                    .find(|&&m| !matches!(self.writers[m], Writer::Reaction { .. }));
                let status = match last.map(|&m| self.writers[m]) {
                    Some(Writer::Agent) => Status::Pending,
                    _ => Status::Open,
                };
                self.end(chat, status);
            }
        }
        Ok(None)
    }

    fn views(&self) -> Vec<CaseView> {
        (0..self.chats.len())
            .map(|i| {
                let c = &self.chats[i];
                let (previous, next) = self.links(i);
                CaseView {
                    customer: c.customer,
                    status: c.status,
                    chat_state: if c.active {
                        ChatState::Active
                    } else {
                        ChatState::Finished
                    },
                    previous,
                    next,
                    merged_into: c.merged.map(|m| m.0),
                    split_available: c.active && c.reopened.is_some() && c.merged.is_none(),
                    messages: c.messages.clone(),
                }
            })
            .collect()
    }
}

// ------------------------------------------------------------ the test

/// The customer's `pick`-th chat (merged ones included), on either side.
fn pick_chat(views: &[CaseView], customer: usize, pick: usize) -> Option<usize> {
    let theirs: Vec<usize> = (0..views.len())
        .filter(|&i| views[i].customer == customer)
        .collect();
    (!theirs.is_empty()).then(|| theirs[pick % theirs.len()])
}

/// Runs `ops` on both sides, comparing answers and every case after each
/// step; returns the cases at the end.
fn run(ops: &[Op]) -> Result<Vec<CaseView>, TestCaseError> {
    let (mut casedesk, mut model) = (Casedesk::new(), Model::default());
    for (step, op) in ops.iter().enumerate() {
        let views = model.views();
        let (got, want) = match *op {
            Op::CustomerSays { customer } => (
                casedesk.customer_says(customer),
                model.customer_says(customer),
            ),
            Op::Wait { seconds } => (casedesk.wait(seconds), model.wait(seconds)),
            Op::React { customer, pick } => {
                let public = casedesk.public_messages_of(customer);
                if public.is_empty() {
                    continue;
                }
                let target = public[pick % public.len()];
                (casedesk.react(target), model.react(target))
            }
            Op::AgentReplies { customer, pick }
            | Op::Finish { customer, pick, .. }
            | Op::Close { customer, pick }
            | Op::Split { customer, pick }
            | Op::MergeWithPrevious { customer, pick } => {
                let Some(case) = pick_chat(&views, customer, pick) else {
                    continue;
                };
                match *op {
                    Op::AgentReplies { .. } => {
                        (casedesk.agent_replies(case), model.agent_replies(case))
                    }
                    Op::Finish { status, .. } => (
                        casedesk.change(case, status, true),
                        model.finish(case, status),
                    ),
                    Op::Close { .. } => (
                        casedesk.change(case, Status::Closed, false),
                        model.close(case),
                    ),
                    Op::Split { .. } => (casedesk.split(case), model.split(case)),
                    _ => (
                        casedesk.merge_with_previous(case),
                        model.merge_with_previous(case),
                    ),
                }
            }
        };
        prop_assert_eq!(got, want, "answer to step {} {:?}", step, op);
        let (got, want) = (casedesk.views(), model.views());
        for (number, (g, w)) in got.iter().zip(&want).enumerate() {
            prop_assert_eq!(g, w, "case {} after step {} {:?}", number, step, op);
        }
        prop_assert_eq!(got.len(), want.len(), "cases after step {} {:?}", step, op);
    }
    Ok(casedesk.views())
}

fn op() -> impl Strategy<Value = Op> {
    let customer = prop_oneof![3 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize)];
    let pick = 0..4usize;
    let status = prop_oneof![
        Just(Status::Open),
        Just(Status::Pending),
        Just(Status::Closed)
    ];
    prop_oneof![
        8 => customer.clone().prop_map(|customer| Op::CustomerSays { customer }),
        3 => (customer.clone(), pick.clone())
            .prop_map(|(customer, pick)| Op::AgentReplies { customer, pick }),
        3 => (customer.clone(), pick.clone(), status)
            .prop_map(|(customer, pick, status)| Op::Finish { customer, pick, status }),
        2 => (customer.clone(), pick.clone()).prop_map(|(customer, pick)| Op::Close { customer, pick }),
        3 => prop_oneof![1..AUTO_FINISH_SECONDS, AUTO_FINISH_SECONDS..AUTO_FINISH_SECONDS + 300]
            .prop_map(|seconds| Op::Wait { seconds }),
        3 => (customer.clone(), pick.clone()).prop_map(|(customer, pick)| Op::Split { customer, pick }),
        2 => (customer.clone(), pick.clone())
            .prop_map(|(customer, pick)| Op::MergeWithPrevious { customer, pick }),
        2 => (customer, pick).prop_map(|(customer, pick)| Op::React { customer, pick }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn casedesk_follows_the_model_of_the_chat_rules(
        ops in prop::collection::vec(op(), 1..=40)
    ) {
        run(&ops)?;
    }
}

/// One walk through the rules step by step: a readable example of what the
/// model says about reopen, split, reactions, merge and auto-finish, and a
/// check that the same comparison passes on it.
#[test]
fn a_reopened_chat_is_split_closed_continued_merged_back_and_auto_finished() {
    use Op::*;
    let ops = [
        CustomerSays { customer: 0 }, // message 0: case 0
        AgentReplies {
            customer: 0,
            pick: 0,
        }, // message 1
        Finish {
            customer: 0,
            pick: 0,
            status: Status::Pending,
        },
        CustomerSays { customer: 0 }, // message 2 reopens case 0
        React {
            customer: 0,
            pick: 0,
        }, // note 3 on message 0: stays in case 0
        Split {
            customer: 0,
            pick: 0,
        }, // message 2 moves to the new case 1
        Close {
            customer: 0,
            pick: 1,
        },
        CustomerSays { customer: 0 }, // message 4: case 2, after the closed case 1
        MergeWithPrevious {
            customer: 0,
            pick: 2,
        }, // case 2 into case 1
        Wait {
            seconds: AUTO_FINISH_SECONDS,
        },
    ];
    let cases = run(&ops).expect("casedesk follows the model");
    let brief: Vec<_> = cases
        .iter()
        .map(|c| {
            (
                c.status,
                c.chat_state,
                c.previous,
                c.next,
                c.merged_into,
                c.messages.clone(),
            )
        })
        .collect();
    use ChatState::Finished;
    assert_eq!(
        brief,
        [
            (
                Status::Pending,
                Finished,
                None,
                Some(1),
                None,
                vec![0, 1, 3]
            ),
            (Status::Open, Finished, Some(0), None, None, vec![2, 4]),
            (Status::Open, Finished, Some(1), None, Some(1), vec![]),
        ]
    );
}

//! The retro-split of imported history (issue 19): one customer's old
//! messages become the chats casedesk would have made of them, with the
//! states and the history it would have written.
//!
//! Where one chat ends and the next begins is the simulator's rule
//! ([`crate::simulate::starts_chat`]): a customer message after the
//! account's whole auto-finish time of silence. Each chat then finished by
//! the inactivity timer (R3: `open` when the customer wrote last, `pending`
//! when an agent did) at its last message plus that time, and was closed
//! then — so that the next customer message made a new case (R6 d) —
//! except the customer's latest chat, which keeps the status R3 gave it
//! (so a new message reopens it, R6 c), or is still active when its last
//! message is more recent than the auto-finish time.

use crate::simulate::starts_chat;
use crate::{CaseState, Change, ChannelKind, EventKind, Status, Time};

/// One message as the retro-split reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Said {
    pub at: Time,
    pub from_customer: bool,
}

/// A history event the chat would have recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub kind: EventKind,
    pub changes: Vec<Change>,
    pub at: Time,
    /// Done by the inactivity timer (else by the import itself, closing
    /// the chat, or by the customer, creating it).
    pub by_timer: bool,
}

/// A chat the messages make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// How many of the messages, in order, are its.
    pub messages: usize,
    pub state: CaseState,
    pub created_at: Time,
    pub last_activity_at: Time,
    /// The first agent message after the chat's first customer message.
    pub first_response_at: Option<Time>,
    /// `created`, then `auto_finished` and `updated` (closed) as they apply.
    pub events: Vec<Planned>,
}

impl Chat {
    /// When the inactivity timer finishes it, if it is still active.
    pub fn finishes_at(&self, after_seconds: i64) -> Option<Time> {
        self.state
            .is_active_chat()
            .then(|| self.last_activity_at + chrono::Duration::seconds(after_seconds))
    }
}

/// The chat being read.
#[derive(Debug, Clone)]
struct Running {
    created_at: Time,
    last: Said,
    first_customer_seen: bool,
    first_response_at: Option<Time>,
    messages: usize,
}

/// Reads one customer's messages in time order and hands over each chat
/// as soon as it is complete, holding nothing but the chat being read: a
/// history of any length splits in constant memory.
#[derive(Debug, Clone)]
pub struct Splitter {
    after_seconds: i64,
    kind: ChannelKind,
    open: Option<Running>,
}

/// What [`Splitter::push`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The message starts a new chat.
    pub new_chat: bool,
    /// The chat before it, complete (closed: the customer wrote again).
    pub done: Option<Chat>,
}

impl Splitter {
    pub fn new(after_seconds: i64, kind: ChannelKind) -> Splitter {
        Splitter {
            after_seconds,
            kind,
            open: None,
        }
    }

    /// The next message (not earlier than the one before).
    pub fn push(&mut self, m: Said) -> Pushed {
        let after_micros = self.after_seconds.saturating_mul(1_000_000);
        let previous = self.open.as_ref().map(|r| r.last.at.timestamp_micros());
        if !starts_chat(
            previous,
            m.at.timestamp_micros(),
            m.from_customer,
            after_micros,
        ) {
            if let Some(r) = &mut self.open {
                r.messages += 1;
                if !m.from_customer && r.first_customer_seen && r.first_response_at.is_none() {
                    r.first_response_at = Some(m.at);
                }
                r.first_customer_seen |= m.from_customer;
                r.last = m;
            }
            return Pushed {
                new_chat: false,
                done: None,
            };
        }
        let done = self.open.take().map(|r| self.complete(r, false, m.at));
        self.open = Some(Running {
            created_at: m.at,
            last: m,
            first_customer_seen: m.from_customer,
            first_response_at: None,
            messages: 1,
        });
        Pushed {
            new_chat: true,
            done,
        }
    }

    /// The last chat, complete. `latest`: it becomes the customer's latest
    /// chat (they have none later in casedesk); otherwise it is closed too.
    /// `now` decides whether a latest chat is still active.
    pub fn finish(mut self, latest: bool, now: Time) -> Option<Chat> {
        let open = self.open.take()?;
        Some(self.complete(open, latest, now))
    }

    fn complete(&self, r: Running, is_latest: bool, now: Time) -> Chat {
        let mut state = CaseState::new_case(self.kind);
        state.last_public_author = Some(if r.last.from_customer {
            crate::AuthorType::Customer
        } else {
            crate::AuthorType::Agent
        });
        let mut events = vec![Planned {
            kind: EventKind::Created,
            changes: Vec::new(),
            at: r.created_at,
            by_timer: false,
        }];
        let finish_at = r.last.at + chrono::Duration::seconds(self.after_seconds);
        let still_active = is_latest && now < finish_at;
        if self.kind.is_chat() && !still_active {
            // A new chat is active, so these transitions are always allowed.
            if let Ok(changes) = state.auto_finish(finish_at) {
                events.push(Planned {
                    kind: EventKind::AutoFinished,
                    changes,
                    at: finish_at,
                    by_timer: true,
                });
            }
            if !is_latest && let Ok(changes) = state.set_status(Status::Closed, finish_at) {
                events.push(Planned {
                    kind: EventKind::Updated,
                    changes,
                    at: finish_at,
                    by_timer: false,
                });
            }
        }
        Chat {
            messages: r.messages,
            state,
            created_at: r.created_at,
            last_activity_at: r.last.at,
            first_response_at: r.first_response_at,
            events,
        }
    }
}

/// The chats of one customer's `messages` (in time order) when chats finish
/// after `after_seconds` of silence: [`Splitter`] over a slice.
pub fn split(
    messages: &[Said],
    after_seconds: i64,
    latest: bool,
    kind: ChannelKind,
    now: Time,
) -> Vec<Chat> {
    let mut splitter = Splitter::new(after_seconds, kind);
    let mut chats: Vec<Chat> = messages
        .iter()
        .filter_map(|&m| splitter.push(m).done)
        .collect();
    chats.extend(splitter.finish(latest, now));
    chats
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::{AuthorType, ChatState, Field};

    fn t(minutes: i64) -> Time {
        chrono::Utc.with_ymd_and_hms(2024, 3, 1, 9, 0, 0).unwrap()
            + chrono::Duration::minutes(minutes)
    }

    fn said(list: &[(i64, bool)]) -> Vec<Said> {
        list.iter()
            .map(|&(m, c)| Said {
                at: t(m),
                from_customer: c,
            })
            .collect()
    }

    const TEN_MIN: i64 = 600;

    /// Worked out by hand: Ann asks at 9:00, an agent answers at 9:05 and
    /// 9:30 (after 25 quiet minutes, but an agent: same chat), Ann thanks at
    /// 9:32; next morning a new question, answered, and nothing after.
    #[test]
    fn a_history_split_by_hand() {
        let m = said(&[
            (0, true),
            (5, false),
            (30, false),
            (32, true),
            (24 * 60, true),
            (24 * 60 + 3, false),
        ]);
        let now = t(3 * 24 * 60);
        let chats = split(&m, TEN_MIN, true, ChannelKind::Telegram, now);
        assert_eq!(chats.len(), 2);
        let (a, b) = (&chats[0], &chats[1]);
        assert_eq!((a.messages, b.messages), (4, 2));
        assert_eq!(a.created_at, t(0));
        assert_eq!(a.last_activity_at, t(32));
        assert_eq!(a.first_response_at, Some(t(5)));
        // Finished at 9:42 (open: Ann wrote last), closed then.
        assert_eq!(a.state.status, Status::Closed);
        assert_eq!(a.state.chat_state, Some(ChatState::Finished));
        assert_eq!(a.state.finished_at, Some(t(42)));
        assert_eq!(a.state.closed_at, Some(t(42)));
        let kinds: Vec<EventKind> = a.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Created,
                EventKind::AutoFinished,
                EventKind::Updated
            ]
        );
        let auto = &a.events[1];
        assert!(auto.by_timer);
        assert!(
            auto.changes
                .iter()
                .any(|c| c.field == Field::ChatState && c.after.as_deref() == Some("finished")),
            "{:?}",
            auto.changes
        );
        assert!(
            a.events[2]
                .changes
                .iter()
                .any(|c| c.field == Field::Status && c.after.as_deref() == Some("closed"))
        );
        // The latest: finished pending (the agent wrote last), not closed.
        assert_eq!(b.state.status, Status::Pending);
        assert_eq!(b.state.chat_state, Some(ChatState::Finished));
        assert_eq!(b.state.last_public_author, Some(AuthorType::Agent));
        assert_eq!(b.state.closed_at, None);
        assert_eq!(b.events.len(), 2);
        assert_eq!(b.finishes_at(TEN_MIN), None);
    }

    #[test]
    fn a_recent_latest_chat_is_still_active_and_an_older_customer_closes_everything() {
        let m = said(&[(0, true), (2, false)]);
        let chats = split(&m, TEN_MIN, true, ChannelKind::Api, t(5));
        assert_eq!(chats.len(), 1);
        assert!(chats[0].state.is_active_chat());
        assert_eq!(chats[0].events.len(), 1, "only created");
        assert_eq!(chats[0].finishes_at(TEN_MIN), Some(t(12)));

        // A customer with later chats in casedesk: every imported chat closed.
        let chats = split(&m, TEN_MIN, false, ChannelKind::Api, t(5));
        assert_eq!(chats[0].state.status, Status::Closed);
        assert_eq!(chats[0].state.finished_at, Some(t(12)));
    }

    #[test]
    fn exactly_the_auto_finish_time_of_silence_ends_a_chat_and_an_agent_can_start_one() {
        let m = said(&[(0, false), (10, true), (19, true), (40, false)]);
        let chats = split(&m, TEN_MIN, true, ChannelKind::Telegram, t(1000));
        let sizes: Vec<usize> = chats.iter().map(|c| c.messages).collect();
        assert_eq!(sizes, [1, 3]);
        assert_eq!(chats[0].first_response_at, None, "no customer message");
        assert_eq!(chats[1].first_response_at, Some(t(40)));
        assert!(split(&[], TEN_MIN, true, ChannelKind::Telegram, t(0)).is_empty());
    }

    proptest::proptest! {
        /// The retro-split and the simulator draw the same lines, and every
        /// message is in exactly one chat.
        #[test]
        fn chats_are_the_simulators(
            gaps in proptest::collection::vec((0i64..7200, proptest::bool::ANY), 0..40),
            after in 1i64..3600,
        ) {
            let mut at = 0;
            let m: Vec<(i64, bool)> = gaps.iter().map(|&(g, c)| { at += g; (at, c) }).collect();
            let said: Vec<Said> = m
                .iter()
                .map(|&(s, c)| Said { at: t(0) + chrono::Duration::seconds(s), from_customer: c })
                .collect();
            let chats = split(&said, after, true, ChannelKind::Telegram, t(0));
            let starts = crate::simulate::chat_starts(&m, after);
            let sizes: Vec<usize> = chats.iter().map(|c| c.messages).collect();
            let expected: Vec<usize> = starts
                .iter()
                .enumerate()
                .map(|(k, &s)| starts.get(k + 1).copied().unwrap_or(m.len()) - s)
                .collect();
            proptest::prop_assert_eq!(sizes, expected);
            let closed = chats.iter().filter(|c| c.state.status == Status::Closed).count();
            proptest::prop_assert_eq!(closed, chats.len().saturating_sub(1));
        }
    }
}

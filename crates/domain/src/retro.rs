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
    /// Its messages: `messages[first..end]`.
    pub first: usize,
    pub end: usize,
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

/// The chats of one customer's `messages` (in time order) when chats finish
/// after `after_seconds` of silence. `latest`: the last chat becomes the
/// customer's latest (they have no later chat in casedesk); otherwise every
/// chat is closed. `now` decides whether a latest chat is still active.
pub fn split(
    messages: &[Said],
    after_seconds: i64,
    latest: bool,
    kind: ChannelKind,
    now: Time,
) -> Vec<Chat> {
    let after_micros = after_seconds.saturating_mul(1_000_000);
    let mut starts = Vec::new();
    let mut previous = None;
    for (i, m) in messages.iter().enumerate() {
        let at = m.at.timestamp_micros();
        if starts_chat(previous, at, m.from_customer, after_micros) {
            starts.push(i);
        }
        previous = Some(at);
    }
    let count = starts.len();
    starts
        .iter()
        .enumerate()
        .map(|(k, &first)| {
            let end = starts.get(k + 1).copied().unwrap_or(messages.len());
            let is_latest = latest && k + 1 == count;
            chat(
                &messages[first..end],
                first,
                after_seconds,
                is_latest,
                kind,
                now,
            )
        })
        .collect()
}

fn chat(
    said: &[Said],
    first: usize,
    after_seconds: i64,
    is_latest: bool,
    kind: ChannelKind,
    now: Time,
) -> Chat {
    let created_at = said[0].at;
    let last = said[said.len() - 1];
    let mut state = CaseState::new_case(kind);
    state.last_public_author = Some(if last.from_customer {
        crate::AuthorType::Customer
    } else {
        crate::AuthorType::Agent
    });
    let first_customer = said.iter().position(|m| m.from_customer);
    let first_response_at =
        first_customer.and_then(|i| said[i..].iter().find(|m| !m.from_customer).map(|m| m.at));
    let mut events = vec![Planned {
        kind: EventKind::Created,
        changes: Vec::new(),
        at: created_at,
        by_timer: false,
    }];
    let finish_at = last.at + chrono::Duration::seconds(after_seconds);
    let still_active = is_latest && now < finish_at;
    if kind.is_chat() && !still_active {
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
        first,
        end: first + said.len(),
        state,
        created_at,
        last_activity_at: last.at,
        first_response_at,
        events,
    }
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
        assert_eq!((a.first, a.end, b.first, b.end), (0, 4, 4, 6));
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
        let bounds: Vec<(usize, usize)> = chats.iter().map(|c| (c.first, c.end)).collect();
        assert_eq!(bounds, [(0, 1), (1, 4)]);
        assert_eq!(chats[0].first_response_at, None, "no customer message");
        assert_eq!(chats[1].first_response_at, Some(t(40)));
        assert!(split(&[], TEN_MIN, true, ChannelKind::Telegram, t(0)).is_empty());
    }
}

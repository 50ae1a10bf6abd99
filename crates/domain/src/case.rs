//! The state of one case and every rule that changes it.

use serde::{Deserialize, Serialize};

use crate::{AuthorType, ChannelKind, ChatState, Field, Status, Tally, Time};

/// Why a rule refused an action. The server maps each to 409 (state
/// conflict) or 422 (the request can never succeed on this case).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("only chats can be finished; this case is not a chat")]
    NotAChat,
    #[error("the chat is already finished")]
    AlreadyFinished,
    #[error("the chat is not active")]
    NotActive,
    #[error(
        "split is only possible while a chat reopened by new customer messages is active; \
         once it is finished again the messages belong to it for good"
    )]
    SplitUnavailable,
    #[error("this case has no previous chat to merge with")]
    NoPreviousChat,
    #[error("this case was merged into another case and can no longer change")]
    Merged,
    #[error("the previous chat was itself merged into another case")]
    PreviousMerged,
}

/// One field's change, as the case history records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub field: Field,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl Change {
    fn new(field: Field, before: Option<String>, after: Option<String>) -> Option<Change> {
        (before != after).then_some(Change {
            field,
            before,
            after,
        })
    }
}

/// Remembers what a chat looked like before new customer messages reopened
/// it (R6 c), so that "split new messages" (R7) can put it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reopen {
    /// Sequence number of the message that reopened the chat: it and every
    /// later message move to the new case on split.
    pub from_seq: i64,
    pub status_before: Status,
    pub finished_at_before: Option<Time>,
}

/// The parts of a case the rules look at and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseState {
    pub status: Status,
    /// `None` for cases of non-chat channels (email).
    pub chat_state: Option<ChatState>,
    pub finished_at: Option<Time>,
    pub closed_at: Option<Time>,
    pub reopen: Option<Reopen>,
    /// Who wrote the last public message; decides the auto-finish status (R3).
    pub last_public_author: Option<AuthorType>,
    pub merged: bool,
}

/// Where a new customer message on a chat channel goes (R6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routing {
    /// a) no case yet, d) the latest chat is closed (then `after_closed` is
    /// true and the new chat links to it), e) email.
    NewCase { after_closed: bool },
    /// b) the latest chat is active.
    Append,
    /// c) the latest chat is finished with status open or pending.
    Reopen,
}

/// R6/R11: only the customer's latest chat in the channel decides.
pub fn route_customer_message(kind: ChannelKind, latest: Option<&CaseState>) -> Routing {
    if !kind.is_chat() {
        return Routing::NewCase {
            after_closed: false,
        };
    }
    match latest {
        None => Routing::NewCase {
            after_closed: false,
        },
        Some(case) if case.chat_state == Some(ChatState::Active) => Routing::Append,
        Some(case) if case.status == Status::Closed => Routing::NewCase { after_closed: true },
        Some(_) => Routing::Reopen,
    }
}

/// R3: the status an inactive chat is finished with.
pub fn auto_finish_status(last_public_author: Option<AuthorType>) -> Status {
    match last_public_author {
        Some(AuthorType::Agent) => Status::Pending,
        _ => Status::Open,
    }
}

/// What a split does (R7): messages from `from_seq` on move to a new active
/// chat; the original goes back to how it was before the reopen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPlan {
    pub from_seq: i64,
    pub original_changes: Vec<Change>,
}

/// What a merge does (R9), as changes of the previous case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    pub previous_changes: Vec<Change>,
    pub current_changes: Vec<Change>,
}

fn opt_time(t: Option<Time>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

fn opt_state(s: Option<ChatState>) -> Option<String> {
    s.map(|s| s.as_str().to_owned())
}

impl CaseState {
    /// A new case: an active chat with status open, or an open email case.
    pub fn new_case(kind: ChannelKind) -> CaseState {
        CaseState {
            status: Status::Open,
            chat_state: kind.is_chat().then_some(ChatState::Active),
            finished_at: None,
            closed_at: None,
            reopen: None,
            last_public_author: None,
            merged: false,
        }
    }

    pub fn is_active_chat(&self) -> bool {
        self.chat_state == Some(ChatState::Active)
    }

    /// Split is offered while the chat reopened by the customer is active.
    pub fn split_available(&self) -> bool {
        self.reopen.is_some() && self.is_active_chat() && !self.merged
    }

    fn ensure_not_merged(&self) -> Result<(), RuleError> {
        if self.merged {
            Err(RuleError::Merged)
        } else {
            Ok(())
        }
    }

    fn set_status_field(&mut self, status: Status, now: Time, changes: &mut Vec<Change>) {
        let before = self.status;
        if before == status {
            return;
        }
        self.status = status;
        changes.extend(Change::new(
            Field::Status,
            Some(before.to_string()),
            Some(status.to_string()),
        ));
        let closed_at = (status == Status::Closed).then_some(now);
        let old = std::mem::replace(&mut self.closed_at, closed_at);
        changes.extend(Change::new(
            Field::ClosedAt,
            opt_time(old),
            opt_time(closed_at),
        ));
    }

    fn set_chat_state(&mut self, state: ChatState, now: Time, changes: &mut Vec<Change>) {
        let before = self.chat_state;
        if before == Some(state) {
            return;
        }
        self.chat_state = Some(state);
        changes.extend(Change::new(
            Field::ChatState,
            opt_state(before),
            opt_state(Some(state)),
        ));
        let finished_at = (state == ChatState::Finished).then_some(now);
        let old = std::mem::replace(&mut self.finished_at, finished_at);
        changes.extend(Change::new(
            Field::FinishedAt,
            opt_time(old),
            opt_time(finished_at),
        ));
        if state == ChatState::Finished {
            // R7: once finished again, the reopened messages belong here for good.
            self.reopen = None;
        }
    }

    /// R2: an agent, template or rule finishes an active chat with a status.
    pub fn finish(&mut self, status: Status, now: Time) -> Result<Vec<Change>, RuleError> {
        self.ensure_not_merged()?;
        match self.chat_state {
            None => return Err(RuleError::NotAChat),
            Some(ChatState::Finished) => return Err(RuleError::AlreadyFinished),
            Some(ChatState::Active) => {}
        }
        let mut changes = Vec::new();
        self.set_chat_state(ChatState::Finished, now, &mut changes);
        self.set_status_field(status, now, &mut changes);
        Ok(changes)
    }

    /// R3: the chat was inactive for the account's period.
    pub fn auto_finish(&mut self, now: Time) -> Result<Vec<Change>, RuleError> {
        self.finish(auto_finish_status(self.last_public_author), now)
    }

    /// R1/R5: set the status; closing an active chat finishes it too.
    pub fn set_status(&mut self, status: Status, now: Time) -> Result<Vec<Change>, RuleError> {
        self.ensure_not_merged()?;
        let mut changes = Vec::new();
        if status == Status::Closed && self.is_active_chat() {
            self.set_chat_state(ChatState::Finished, now, &mut changes);
        }
        self.set_status_field(status, now, &mut changes);
        Ok(changes)
    }

    /// R6 c: a customer message reopens the latest finished open/pending chat.
    /// `from_seq` is the sequence number the reopening message will get.
    pub fn reopen_by_customer(&mut self, from_seq: i64, now: Time) -> Vec<Change> {
        let reopen = Reopen {
            from_seq,
            status_before: self.status,
            finished_at_before: self.finished_at,
        };
        let mut changes = Vec::new();
        self.set_chat_state(ChatState::Active, now, &mut changes);
        self.set_status_field(Status::Open, now, &mut changes);
        self.reopen = Some(reopen);
        changes
    }

    /// R14: a customer's letter joined this e-mail case (by its headers or
    /// its tag): the case needs the team again, so a pending or closed case
    /// is open again, like a letter answered in any mail helpdesk. A
    /// machine-sent letter (an out-of-office reply, a bounce) changes
    /// nothing, and neither does anything in a merged case.
    pub fn letter_joined(&mut self, automatic: bool, now: Time) -> Vec<Change> {
        let mut changes = Vec::new();
        if !automatic && !self.merged {
            self.set_status_field(Status::Open, now, &mut changes);
        }
        changes
    }

    /// R2: a public agent reply in the customer's latest finished chat makes
    /// it active again, status unchanged. Replies to earlier chats change
    /// nothing here (R11).
    pub fn agent_replied(&mut self, is_latest_chat: bool, now: Time) -> Vec<Change> {
        let mut changes = Vec::new();
        if is_latest_chat && self.chat_state == Some(ChatState::Finished) && !self.merged {
            self.set_chat_state(ChatState::Active, now, &mut changes);
        }
        changes
    }

    /// R4: keep-active, on an active chat only, is activity: the
    /// inactivity timer runs from `now`.
    pub fn keep_active(&self, tally: Tally, now: Time) -> Result<Tally, RuleError> {
        self.ensure_not_merged()?;
        if !self.is_active_chat() {
            return Err(RuleError::NotActive);
        }
        Ok(Tally {
            last_activity_at: now,
            ..tally
        })
    }

    /// R7: put the chat back as it was before the reopen; the caller moves
    /// the messages from `from_seq` on into a new active chat.
    pub fn split(&mut self) -> Result<SplitPlan, RuleError> {
        self.ensure_not_merged()?;
        if !self.split_available() {
            return Err(RuleError::SplitUnavailable);
        }
        let Some(reopen) = self.reopen.take() else {
            return Err(RuleError::SplitUnavailable);
        };
        let mut changes = Vec::new();
        changes.extend(Change::new(
            Field::ChatState,
            opt_state(self.chat_state),
            opt_state(Some(ChatState::Finished)),
        ));
        self.chat_state = Some(ChatState::Finished);
        changes.extend(Change::new(
            Field::FinishedAt,
            opt_time(self.finished_at),
            opt_time(reopen.finished_at_before),
        ));
        self.finished_at = reopen.finished_at_before;
        changes.extend(Change::new(
            Field::Status,
            Some(self.status.to_string()),
            Some(reopen.status_before.to_string()),
        ));
        self.status = reopen.status_before;
        Ok(SplitPlan {
            from_seq: reopen.from_seq,
            original_changes: changes,
        })
    }

    /// R9: merge this (current) case into `previous`, its previous chat.
    /// Both states are updated; the caller moves the messages.
    pub fn merge_into_previous(
        &mut self,
        previous: &mut CaseState,
        has_previous_link: bool,
        now: Time,
    ) -> Result<MergePlan, RuleError> {
        self.ensure_not_merged()?;
        if !has_previous_link {
            return Err(RuleError::NoPreviousChat);
        }
        if previous.merged {
            return Err(RuleError::PreviousMerged);
        }
        let mut current_changes = Vec::new();
        if self.chat_state.is_some() {
            self.set_chat_state(ChatState::Finished, now, &mut current_changes);
        }
        self.merged = true;
        current_changes.push(Change {
            field: Field::Merged,
            before: Some("false".into()),
            after: Some("true".into()),
        });

        let mut previous_changes = Vec::new();
        previous.set_chat_state(ChatState::Active, now, &mut previous_changes);
        previous.set_status_field(Status::Open, now, &mut previous_changes);
        previous.reopen = None;
        if self.last_public_author.is_some() {
            previous.last_public_author = self.last_public_author;
        }
        Ok(MergePlan {
            previous_changes,
            current_changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Time {
        chrono::DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn active_chat() -> CaseState {
        CaseState::new_case(ChannelKind::Api)
    }

    fn finished(status: Status) -> CaseState {
        let mut c = active_chat();
        c.finish(status, t(10)).unwrap();
        c
    }

    #[test]
    fn r1_finishing_does_not_close_and_closing_finishes() {
        let mut c = active_chat();
        c.finish(Status::Pending, t(1)).unwrap();
        assert_eq!(c.chat_state, Some(ChatState::Finished));
        assert_eq!(c.status, Status::Pending);
        assert_eq!(c.closed_at, None);

        let mut c = active_chat();
        let changes = c.set_status(Status::Closed, t(2)).unwrap();
        assert_eq!(c.chat_state, Some(ChatState::Finished));
        assert_eq!(c.finished_at, Some(t(2)));
        assert_eq!(c.closed_at, Some(t(2)));
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["chat_state", "finished_at", "status", "closed_at"]);

        let mut c = active_chat();
        c.set_status(Status::Pending, t(3)).unwrap();
        assert_eq!(
            c.chat_state,
            Some(ChatState::Active),
            "pending keeps it active"
        );
    }

    #[test]
    fn r2_finish_with_each_status_and_refuse_twice() {
        for status in Status::ALL {
            let mut c = active_chat();
            let changes = c.finish(*status, t(5)).unwrap();
            assert_eq!(c.status, *status);
            assert_eq!(c.finished_at, Some(t(5)));
            assert!(changes.iter().any(|ch| ch.field == Field::ChatState));
            assert_eq!(c.finish(*status, t(6)), Err(RuleError::AlreadyFinished));
        }
        let mut email = CaseState::new_case(ChannelKind::Email);
        assert_eq!(email.finish(Status::Open, t(1)), Err(RuleError::NotAChat));
    }

    #[test]
    fn r2_agent_reply_reactivates_only_the_latest_finished_chat() {
        let mut c = finished(Status::Pending);
        assert!(c.agent_replied(false, t(20)).is_empty());
        assert_eq!(c.chat_state, Some(ChatState::Finished));
        let changes = c.agent_replied(true, t(21));
        assert_eq!(c.chat_state, Some(ChatState::Active));
        assert_eq!(c.status, Status::Pending, "status unchanged");
        assert_eq!(changes[0].field, Field::ChatState);
    }

    #[test]
    fn r3_auto_finish_status_follows_who_wrote_last() {
        let mut c = active_chat();
        c.last_public_author = Some(AuthorType::Customer);
        c.auto_finish(t(600)).unwrap();
        assert_eq!(c.status, Status::Open);

        let mut c = active_chat();
        c.last_public_author = Some(AuthorType::Agent);
        c.auto_finish(t(600)).unwrap();
        assert_eq!(c.status, Status::Pending);
        assert_eq!(c.chat_state, Some(ChatState::Finished));
    }

    #[test]
    fn r4_keep_active_needs_an_active_chat_and_restarts_its_activity() {
        let tally = Tally::new_case(t(1));
        let kept = active_chat().keep_active(tally, t(30)).unwrap();
        assert_eq!(kept.last_activity_at, t(30));
        assert_eq!(kept.message_count, tally.message_count);
        assert_eq!(
            finished(Status::Open).keep_active(tally, t(30)),
            Err(RuleError::NotActive)
        );
    }

    #[test]
    fn r6_routing_by_latest_chat() {
        let kind = ChannelKind::Api;
        assert_eq!(
            route_customer_message(kind, None),
            Routing::NewCase {
                after_closed: false
            }
        );
        assert_eq!(
            route_customer_message(kind, Some(&active_chat())),
            Routing::Append
        );
        assert_eq!(
            route_customer_message(kind, Some(&finished(Status::Open))),
            Routing::Reopen
        );
        assert_eq!(
            route_customer_message(kind, Some(&finished(Status::Pending))),
            Routing::Reopen
        );
        assert_eq!(
            route_customer_message(kind, Some(&finished(Status::Closed))),
            Routing::NewCase { after_closed: true }
        );
        assert_eq!(
            route_customer_message(ChannelKind::Email, Some(&active_chat())),
            Routing::NewCase {
                after_closed: false
            }
        );
    }

    #[test]
    fn r6c_reopen_makes_the_chat_active_and_open() {
        let mut c = finished(Status::Pending);
        let changes = c.reopen_by_customer(42, t(30));
        assert_eq!(c.chat_state, Some(ChatState::Active));
        assert_eq!(c.status, Status::Open);
        assert!(c.split_available());
        assert_eq!(c.reopen.as_ref().unwrap().status_before, Status::Pending);
        assert!(changes.iter().any(|ch| ch.field == Field::Status));
    }

    #[test]
    fn r14_a_letter_opens_its_case_again_unless_a_machine_wrote_it() {
        for status in [Status::Pending, Status::Closed] {
            let mut c = CaseState::new_case(ChannelKind::Email);
            c.set_status(status, t(5)).unwrap();
            assert!(
                c.letter_joined(true, t(10)).is_empty(),
                "an out-of-office reply"
            );
            assert_eq!(c.status, status);
            let changes = c.letter_joined(false, t(20));
            assert_eq!(c.status, Status::Open);
            assert_eq!(c.closed_at, None);
            assert!(changes.iter().any(|ch| ch.field == Field::Status));
            assert_eq!(c.chat_state, None, "an e-mail case is no chat");
        }
        let mut open = CaseState::new_case(ChannelKind::Email);
        assert!(
            open.letter_joined(false, t(1)).is_empty(),
            "open stays open"
        );
    }

    #[test]
    fn r7_split_restores_the_chat_and_is_refused_once_finished_again() {
        let mut c = finished(Status::Pending);
        c.reopen_by_customer(42, t(30));
        let plan = c.split().unwrap();
        assert_eq!(plan.from_seq, 42);
        assert_eq!(c.status, Status::Pending);
        assert_eq!(c.chat_state, Some(ChatState::Finished));
        assert_eq!(c.finished_at, Some(t(10)));
        assert!(!c.split_available());

        let mut c = finished(Status::Open);
        c.reopen_by_customer(7, t(30));
        c.finish(Status::Open, t(40)).unwrap();
        assert_eq!(c.split(), Err(RuleError::SplitUnavailable));

        assert_eq!(active_chat().split(), Err(RuleError::SplitUnavailable));
    }

    #[test]
    fn r9_merge_makes_previous_the_active_open_chat() {
        let mut previous = finished(Status::Closed);
        let mut current = active_chat();
        current.last_public_author = Some(AuthorType::Customer);
        let plan = current
            .merge_into_previous(&mut previous, true, t(50))
            .unwrap();
        assert!(current.merged);
        assert_eq!(current.chat_state, Some(ChatState::Finished));
        assert_eq!(previous.chat_state, Some(ChatState::Active));
        assert_eq!(previous.status, Status::Open);
        assert_eq!(previous.closed_at, None);
        assert!(
            plan.previous_changes
                .iter()
                .any(|c| c.field == Field::Status)
        );
        assert_eq!(
            current.merge_into_previous(&mut previous, true, t(51)),
            Err(RuleError::Merged)
        );
        assert_eq!(
            active_chat().merge_into_previous(&mut finished(Status::Closed), false, t(52)),
            Err(RuleError::NoPreviousChat)
        );
        assert_eq!(
            current.set_status(Status::Open, t(53)),
            Err(RuleError::Merged)
        );
    }

    #[test]
    fn r11_earlier_chats_worked_as_tasks_do_not_change_routing() {
        // An earlier chat reopened as a task is not the latest: routing only
        // ever looks at the latest one, which the caller passes.
        let latest = finished(Status::Closed);
        let before = route_customer_message(ChannelKind::Api, Some(&latest));
        // The earlier chat is worked as a task: status changes and an agent
        // reply, none of which reactivate it since it is not the latest.
        let mut earlier = finished(Status::Closed);
        earlier.set_status(Status::Pending, t(60)).unwrap();
        earlier.set_status(Status::Open, t(61)).unwrap();
        assert!(earlier.agent_replied(false, t(62)).is_empty());
        assert_eq!(earlier.chat_state, Some(ChatState::Finished));
        // Were it the latest, a customer message would reopen it; it is not,
        // and the latest (closed) chat still decides: a new linked case.
        assert_eq!(
            route_customer_message(ChannelKind::Api, Some(&earlier)),
            Routing::Reopen
        );
        assert_eq!(
            route_customer_message(ChannelKind::Api, Some(&latest)),
            before
        );
        assert_eq!(before, Routing::NewCase { after_closed: true });
    }
}

//! A case's bookkeeping of its messages — how many, whether an agent has
//! read them, when an agent first answered, when the case was last active,
//! and who wrote last — as transitions of the case. Each kind of message
//! says what it changes; the server applies the answer and counts nothing
//! by hand.

use crate::{AuthorType, CaseState, Change, Time};

/// What a case counts of its messages, besides who wrote the last public
/// one ([`CaseState::last_public_author`], which the rules read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Messages and notes in the case, reaction notes included.
    pub message_count: i64,
    /// Something came in that no agent has read yet.
    pub unread: bool,
    /// The first public reply of an agent: R15's first-response time.
    pub first_response_at: Option<Time>,
    /// The last public message, reaction or keep-active: lists sort by it,
    /// and the inactivity timer (R3) runs from it.
    pub last_activity_at: Time,
}

impl Tally {
    /// A new case: nothing in it yet, unread, active since `now`.
    pub fn new_case(now: Time) -> Tally {
        Tally {
            message_count: 0,
            unread: true,
            first_response_at: None,
            last_activity_at: now,
        }
    }

    /// An agent opened the case.
    pub fn read(self) -> Tally {
        Tally {
            unread: false,
            ..self
        }
    }

    /// R9: the case that `merged` was merged into is unread if either was.
    pub fn merged_in(self, merged: Tally) -> Tally {
        Tally {
            unread: self.unread || merged.unread,
            ..self
        }
    }

    fn one_more(self) -> Tally {
        Tally {
            message_count: self.message_count + 1,
            ..self
        }
    }
}

/// What a case's messages are once some moved in or out (R7 split, R9
/// merge), as the store counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recount {
    pub message_count: i64,
    pub last_public_author: Option<AuthorType>,
    /// When the last public message was written; `None` when none is left.
    pub last_public_at: Option<Time>,
    /// The earliest public agent reply the case holds from its creation on:
    /// its first response (R15) once messages moved in or out.
    pub first_agent_reply_at: Option<Time>,
}

/// What one new message or reaction changed on its case.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Wrote {
    /// The case's bookkeeping after it.
    pub tally: Tally,
    /// Changes the history records: a reply reactivating the chat (R2).
    pub changes: Vec<Change>,
    /// The inactivity timer starts again (R3, R4): the chat's deadlines
    /// follow from now.
    pub restarts_timer: bool,
}

impl Wrote {
    fn counted(tally: Tally) -> Wrote {
        Wrote {
            tally: tally.one_more(),
            changes: Vec::new(),
            restarts_timer: false,
        }
    }
}

impl CaseState {
    /// A customer's public message, in the case routing chose (R6): it
    /// counts, nobody has read it, the customer wrote last, and the chat's
    /// inactivity timer starts again (R3).
    pub fn customer_wrote(&mut self, tally: Tally, now: Time) -> Wrote {
        self.last_public_author = Some(AuthorType::Customer);
        Wrote {
            tally: Tally {
                unread: true,
                last_activity_at: now,
                ..tally.one_more()
            },
            changes: Vec::new(),
            restarts_timer: true,
        }
    }

    /// R10: a customer's reaction, kept as a note of the case holding the
    /// reacted message, whatever its state. It counts, nobody has read it
    /// and it is activity (lists move it up); in an active chat it restarts
    /// the timer (R3), but it never decides who wrote last.
    pub fn customer_reacted(&self, tally: Tally, now: Time) -> Wrote {
        Wrote {
            tally: Tally {
                unread: true,
                last_activity_at: now,
                ..tally.one_more()
            },
            changes: Vec::new(),
            restarts_timer: self.is_active_chat(),
        }
    }

    /// R2: an agent's public reply. It reactivates the customer's latest
    /// finished chat ([`CaseState::agent_replied`]), counts, leaves the case
    /// read (the agent has seen it), is the first response if none came
    /// before, decides that an agent wrote last, and restarts the timer.
    pub fn agent_wrote(&mut self, is_latest_chat: bool, tally: Tally, now: Time) -> Wrote {
        let changes = self.agent_replied(is_latest_chat, now);
        self.last_public_author = Some(AuthorType::Agent);
        Wrote {
            tally: Tally {
                unread: false,
                first_response_at: tally.first_response_at.or(Some(now)),
                last_activity_at: now,
                ..tally.one_more()
            },
            changes,
            restarts_timer: true,
        }
    }

    /// A public reply of an automation rule: delivered like an agent's, but
    /// casedesk's own and no agent's response. It only counts: it neither
    /// reactivates the chat, nor is a first response, nor decides who wrote
    /// last, nor restarts the timer.
    pub fn rule_replied(&self, tally: Tally) -> Wrote {
        Wrote::counted(tally)
    }

    /// An internal note, by an agent or a rule: it only counts. Notes are
    /// no activity (R3) and never decide who wrote last.
    pub fn note_added(&self, tally: Tally) -> Wrote {
        Wrote::counted(tally)
    }

    /// R7, R9: messages moved in or out; the case counts what it holds now.
    /// Who wrote last and the first response follow the messages; the last
    /// activity does too, unless no public message is left (then it stays).
    pub fn recount(&mut self, tally: Tally, now_holds: Recount) -> Tally {
        self.last_public_author = now_holds.last_public_author;
        Tally {
            message_count: now_holds.message_count,
            last_activity_at: now_holds.last_public_at.unwrap_or(tally.last_activity_at),
            first_response_at: now_holds.first_agent_reply_at,
            ..tally
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChannelKind, ChatState, Field, Status};

    fn t(s: i64) -> Time {
        chrono::DateTime::from_timestamp(1_700_000_000 + s, 0).expect("test time")
    }

    fn chat() -> CaseState {
        CaseState::new_case(ChannelKind::Api)
    }

    fn finished_chat() -> CaseState {
        let mut c = chat();
        c.finish(Status::Pending, t(5))
            .expect("an active chat finishes");
        c
    }

    /// A case with some history: three messages, read, answered at t(2).
    fn worked() -> Tally {
        Tally {
            message_count: 3,
            unread: false,
            first_response_at: Some(t(2)),
            last_activity_at: t(3),
        }
    }

    #[test]
    fn a_new_case_is_empty_unread_and_active_since_it_was_made() {
        let tally = Tally::new_case(t(1));
        assert_eq!(tally.message_count, 0);
        assert!(tally.unread);
        assert_eq!(tally.first_response_at, None);
        assert_eq!(tally.last_activity_at, t(1));
    }

    #[test]
    fn a_customer_message_counts_is_unread_is_activity_and_decides_who_wrote_last() {
        let mut c = chat();
        c.last_public_author = Some(AuthorType::Agent);
        let wrote = c.customer_wrote(worked(), t(10));
        assert_eq!(
            wrote.tally,
            Tally {
                message_count: 4,
                unread: true,
                first_response_at: Some(t(2)),
                last_activity_at: t(10),
            }
        );
        assert_eq!(c.last_public_author, Some(AuthorType::Customer));
        assert!(wrote.restarts_timer);
        assert!(wrote.changes.is_empty());
    }

    #[test]
    fn r10_a_reaction_counts_and_is_activity_but_does_not_decide_who_wrote_last() {
        let mut c = chat();
        c.last_public_author = Some(AuthorType::Agent);
        let wrote = c.customer_reacted(worked(), t(10));
        assert_eq!(wrote.tally.message_count, 4);
        assert!(wrote.tally.unread);
        assert_eq!(wrote.tally.last_activity_at, t(10));
        assert_eq!(wrote.tally.first_response_at, Some(t(2)));
        assert_eq!(c.last_public_author, Some(AuthorType::Agent));
        assert!(wrote.restarts_timer, "an active chat's timer restarts");

        // In a finished (even closed) chat: counted and unread, no timer.
        let mut closed = chat();
        closed.set_status(Status::Closed, t(4)).expect("closes");
        let wrote = closed.customer_reacted(worked(), t(10));
        assert_eq!(wrote.tally.message_count, 4);
        assert!(wrote.tally.unread);
        assert!(!wrote.restarts_timer);
        assert_eq!(closed.chat_state, Some(ChatState::Finished));
    }

    #[test]
    fn r2_an_agent_reply_is_read_activity_the_first_response_and_decides_who_wrote_last() {
        let mut c = chat();
        c.last_public_author = Some(AuthorType::Customer);
        let unanswered = Tally {
            unread: true,
            first_response_at: None,
            ..worked()
        };
        let wrote = c.agent_wrote(true, unanswered, t(10));
        assert_eq!(
            wrote.tally,
            Tally {
                message_count: 4,
                unread: false,
                first_response_at: Some(t(10)),
                last_activity_at: t(10),
            }
        );
        assert_eq!(c.last_public_author, Some(AuthorType::Agent));
        assert!(wrote.restarts_timer);
        assert!(wrote.changes.is_empty(), "an active chat stays as it is");

        // A later reply is no first response.
        let again = c.agent_wrote(true, wrote.tally, t(20));
        assert_eq!(again.tally.first_response_at, Some(t(10)));
        assert_eq!(again.tally.message_count, 5);
    }

    #[test]
    fn r2_an_agent_reply_reactivates_only_the_latest_finished_chat() {
        let mut latest = finished_chat();
        let wrote = latest.agent_wrote(true, worked(), t(10));
        assert_eq!(latest.chat_state, Some(ChatState::Active));
        assert_eq!(latest.status, Status::Pending, "status unchanged");
        let fields: Vec<_> = wrote.changes.iter().map(|c| c.field).collect();
        assert_eq!(fields, [Field::ChatState, Field::FinishedAt]);

        let mut earlier = finished_chat();
        let wrote = earlier.agent_wrote(false, worked(), t(10));
        assert_eq!(earlier.chat_state, Some(ChatState::Finished));
        assert!(wrote.changes.is_empty());
        assert_eq!(wrote.tally.message_count, 4, "still delivered and counted");
    }

    #[test]
    fn a_rule_reply_and_a_note_only_count() {
        for rule_reply in [true, false] {
            let mut c = finished_chat();
            c.last_public_author = Some(AuthorType::Customer);
            let unread = Tally {
                unread: true,
                first_response_at: None,
                ..worked()
            };
            let wrote = if rule_reply {
                c.rule_replied(unread)
            } else {
                c.note_added(unread)
            };
            assert_eq!(
                wrote.tally,
                Tally {
                    message_count: 4,
                    ..unread
                }
            );
            assert!(wrote.changes.is_empty());
            assert!(!wrote.restarts_timer);
            assert_eq!(c.chat_state, Some(ChatState::Finished), "no reactivation");
            assert_eq!(c.last_public_author, Some(AuthorType::Customer));
        }
    }

    #[test]
    fn reading_clears_unread_only() {
        let unread = Tally {
            unread: true,
            ..worked()
        };
        assert_eq!(unread.read(), worked());
    }

    #[test]
    fn r9_the_case_merged_into_is_unread_if_either_was() {
        let read = worked();
        let unread = Tally {
            unread: true,
            message_count: 9,
            ..worked()
        };
        assert!(read.merged_in(unread).unread);
        assert!(unread.merged_in(read).unread);
        assert!(!read.merged_in(read).unread);
        assert_eq!(read.merged_in(unread).message_count, 3, "only unread");
    }

    #[test]
    fn r7_r9_a_recount_follows_the_messages_the_case_holds() {
        let mut c = chat();
        c.last_public_author = Some(AuthorType::Agent);
        let tally = c.recount(
            worked(),
            Recount {
                message_count: 7,
                last_public_author: Some(AuthorType::Customer),
                last_public_at: Some(t(8)),
                first_agent_reply_at: Some(t(2)),
            },
        );
        assert_eq!(tally.message_count, 7);
        assert_eq!(tally.last_activity_at, t(8));
        assert_eq!(tally.first_response_at, Some(t(2)));
        assert!(!tally.unread);
        assert_eq!(c.last_public_author, Some(AuthorType::Customer));

        // Every message moved out: nobody wrote last, the activity stays.
        let tally = c.recount(
            worked(),
            Recount {
                message_count: 0,
                last_public_author: None,
                last_public_at: None,
                first_agent_reply_at: None,
            },
        );
        assert_eq!(tally.message_count, 0);
        assert_eq!(tally.last_activity_at, t(3));
        assert_eq!(tally.first_response_at, None, "its reply moved out");
        assert_eq!(c.last_public_author, None);
    }
}

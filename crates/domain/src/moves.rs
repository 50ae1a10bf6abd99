//! Which messages move when a case's messages go to another case: a split
//! (R7, everything since the reopen), a merge (R9, everything) or an agent's
//! own selection ("move messages"). One rule for all three: a reaction note
//! (R10) always goes where the message it reacts to goes, and is never
//! moved on its own.

use std::collections::HashSet;

/// What a case holds, as far as a move cares: each message's id, its place
/// in the case and, for a reaction note, the message it reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held<'a> {
    pub id: &'a str,
    pub seq: i64,
    pub reacted_message_id: Option<&'a str>,
}

/// Which messages an action takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection<'a> {
    /// R7: the message that reopened the chat and everything after it.
    FromSeq(i64),
    /// R9: every message of the case.
    All,
    /// An agent's selection, by message id.
    Ids(&'a [String]),
    /// An undo or redo: the messages an action moved (its reaction notes
    /// among them), back again; it may empty the case it takes them from,
    /// and reaction notes added since go along with their messages.
    Return(&'a [String]),
}

/// Most messages one "move messages" request may name.
pub const MAX_SELECTED: usize = 1000;

/// Why an agent's selection cannot move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    #[error("select at least one message to move")]
    NothingSelected,
    #[error("at most {MAX_SELECTED} messages can move at once")]
    TooMany,
    #[error("message {0} is not in this case")]
    NotInCase(String),
    #[error(
        "every message of the case would move and leave it empty; \
         merge the cases instead"
    )]
    WouldEmpty,
}

/// The ids of the messages that move, in the case's order, reaction notes
/// included; an agent's selection is refused when it names a message the
/// case does not hold, names nothing but reaction notes, or takes
/// everything.
pub fn messages_to_move(
    held: &[Held<'_>],
    selection: Selection<'_>,
) -> Result<Vec<String>, MoveError> {
    let mut selected = HashSet::new();
    if let Selection::Ids(ids) | Selection::Return(ids) = selection {
        if matches!(selection, Selection::Ids(_)) && ids.len() > MAX_SELECTED {
            return Err(MoveError::TooMany);
        }
        let holds: HashSet<&str> = held.iter().map(|m| m.id).collect();
        if let Some(missing) = ids.iter().find(|id| !holds.contains(id.as_str())) {
            return Err(MoveError::NotInCase(missing.clone()));
        }
        selected = ids.iter().map(String::as_str).collect();
    }
    let picked = |m: &Held<'_>| -> bool {
        match selection {
            Selection::FromSeq(from_seq) => m.seq >= from_seq,
            Selection::All => true,
            Selection::Ids(_) | Selection::Return(_) => selected.contains(m.id),
        }
    };
    let moving: HashSet<&str> = held
        .iter()
        .filter(|m| m.reacted_message_id.is_none() && picked(m))
        .map(|m| m.id)
        .collect();
    let mut ids: Vec<(i64, String)> = held
        .iter()
        .filter(|m| match m.reacted_message_id {
            None => moving.contains(m.id),
            Some(message) => moving.contains(message),
        })
        .map(|m| (m.seq, m.id.to_owned()))
        .collect();
    ids.sort();
    if let Selection::Ids(_) = selection {
        if ids.is_empty() {
            return Err(MoveError::NothingSelected);
        }
        if ids.len() == held.len() {
            return Err(MoveError::WouldEmpty);
        }
    }
    Ok(ids.into_iter().map(|(_, id)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held() -> Vec<Held<'static>> {
        let m = |id, seq, reacted| Held {
            id,
            seq,
            reacted_message_id: reacted,
        };
        vec![
            m("m1", 1, None),
            m("m2", 2, None),
            m("n1", 3, Some("m1")),
            m("m3", 4, None),
            m("n3", 5, Some("m3")),
        ]
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn r7_a_split_takes_what_came_since_the_reopen_but_not_older_messages_reactions() {
        let moved = messages_to_move(&held(), Selection::FromSeq(2)).unwrap();
        assert_eq!(moved, ids(&["m2", "m3", "n3"]));
    }

    #[test]
    fn r9_a_merge_takes_everything() {
        let moved = messages_to_move(&held(), Selection::All).unwrap();
        assert_eq!(moved.len(), 5);
        assert_eq!(
            messages_to_move(&[], Selection::All).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_selection_moves_its_messages_with_their_reactions_in_case_order() {
        let moved = messages_to_move(&held(), Selection::Ids(&ids(&["m3", "m1"]))).unwrap();
        assert_eq!(moved, ids(&["m1", "n1", "m3", "n3"]));
        // A reaction note selected without its message stays with it.
        let moved = messages_to_move(&held(), Selection::Ids(&ids(&["m2", "n1"]))).unwrap();
        assert_eq!(moved, ids(&["m2"]));
        // Named twice, moved once.
        let moved = messages_to_move(&held(), Selection::Ids(&ids(&["m2", "m2"]))).unwrap();
        assert_eq!(moved, ids(&["m2"]));
    }

    #[test]
    fn an_undo_takes_back_what_moved_with_reactions_added_since_even_everything() {
        let h = held();
        let back = messages_to_move(&h, Selection::Return(&ids(&["m1", "m2", "m3"]))).unwrap();
        assert_eq!(back.len(), 5, "the case may end up empty");
        let back = messages_to_move(&h, Selection::Return(&ids(&["m3"]))).unwrap();
        assert_eq!(
            back,
            ids(&["m3", "n3"]),
            "a reaction added since goes along"
        );
        assert_eq!(
            messages_to_move(&h, Selection::Return(&ids(&["gone"]))),
            Err(MoveError::NotInCase("gone".into()))
        );
    }

    #[test]
    fn a_selection_is_refused_when_it_cannot_move() {
        let h = held();
        assert_eq!(
            messages_to_move(&h, Selection::Ids(&[])),
            Err(MoveError::NothingSelected)
        );
        assert_eq!(
            messages_to_move(&h, Selection::Ids(&ids(&["n1"]))),
            Err(MoveError::NothingSelected),
            "only a reaction note"
        );
        assert_eq!(
            messages_to_move(&h, Selection::Ids(&ids(&["m2", "elsewhere"]))),
            Err(MoveError::NotInCase("elsewhere".into()))
        );
        assert_eq!(
            messages_to_move(&h, Selection::Ids(&ids(&["m1", "m2", "m3"]))),
            Err(MoveError::WouldEmpty)
        );
        let many: Vec<String> = (0..=MAX_SELECTED).map(|i| format!("x{i}")).collect();
        assert_eq!(
            messages_to_move(&h, Selection::Ids(&many)),
            Err(MoveError::TooMany)
        );
    }
}

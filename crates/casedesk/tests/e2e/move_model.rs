//! A property test of split, merge, move and undo through the real server
//! (issue 18): random sequences of customer messages, replies, reactions,
//! finishes, splits, merges, moves of random selections and undos of random
//! history events, on both backends. After every step, whatever the server
//! answered (refusals are fine, a 5xx never is): every message is in
//! exactly one case, every case counts what it holds, and the previous/next
//! chain of the cases still listed is consistent.
//!
//! Bounded: 8 sequences of at most 24 steps per backend, two customers;
//! `CASEDESK_MOVE_MODEL_CASES=200` runs more sequences (a longer hunt).

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(any_sequence_keeps_every_message_in_one_case_and_the_chain_whole);

#[derive(Debug, Clone)]
enum Step {
    Says {
        customer: u8,
    },
    Reply {
        case: u8,
    },
    React {
        case: u8,
        message: u8,
    },
    Finish {
        case: u8,
        status: u8,
    },
    Split {
        case: u8,
    },
    Merge {
        case: u8,
    },
    /// A run of `len + 1` messages from `start`, never all of them.
    Move {
        case: u8,
        start: u8,
        len: u8,
        to: u8,
    },
    Undo {
        case: u8,
        event: u8,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let pick = any::<u8>();
    prop_oneof![
        5 => (0..2u8).prop_map(|customer| Step::Says { customer }),
        2 => pick.prop_map(|case| Step::Reply { case }),
        1 => (pick, pick).prop_map(|(case, message)| Step::React { case, message }),
        2 => (pick, 0..3u8).prop_map(|(case, status)| Step::Finish { case, status }),
        2 => pick.prop_map(|case| Step::Split { case }),
        2 => pick.prop_map(|case| Step::Merge { case }),
        5 => (pick, pick, 0..4u8, pick)
            .prop_map(|(case, start, len, to)| Step::Move { case, start, len, to }),
        6 => (pick, pick).prop_map(|(case, event)| Step::Undo { case, event }),
    ]
}

/// What the sequence has made so far.
#[derive(Default)]
struct Seen {
    /// Every case ever answered, in the order first seen.
    cases: Vec<String>,
    /// Every message id the server accepted.
    messages: BTreeSet<String>,
    next_id: u32,
}

impl Seen {
    fn case(&self, pick: u8) -> Option<&String> {
        (!self.cases.is_empty()).then(|| &self.cases[pick as usize % self.cases.len()])
    }

    fn saw_case(&mut self, id: &Value) {
        if let Some(id) = id.as_str()
            && !self.cases.iter().any(|c| c == id)
        {
            self.cases.push(id.to_owned());
        }
    }
}

fn no_5xx(st: StatusCode, body: &Value, step: &Step) -> Result<(), TestCaseError> {
    prop_assert!(!st.is_server_error(), "{:?} answered {} {}", step, st, body);
    Ok(())
}

async fn apply(app: &TestApp, seen: &mut Seen, step: &Step) -> Result<(), TestCaseError> {
    seen.next_id += 1;
    let n = seen.next_id;
    let (st, body) = match *step {
        Step::Says { customer } => {
            let (st, body) = app
                .inbound(json!({"type": "message", "message_id": format!("m{n}"),
                    "customer": {"id": format!("p{customer}")}, "text": format!("message {n}")}))
                .await;
            seen.saw_case(&body["case_id"]);
            (st, body)
        }
        _ => {
            let pick = match *step {
                Step::Reply { case }
                | Step::React { case, .. }
                | Step::Finish { case, .. }
                | Step::Split { case }
                | Step::Merge { case }
                | Step::Move { case, .. }
                | Step::Undo { case, .. } => case,
                Step::Says { .. } => unreachable!("handled above"),
            };
            let Some(case) = seen.case(pick).cloned() else {
                return Ok(());
            };
            let path = |tail: &str| format!("/api/v1/cases/{case}/{tail}");
            match *step {
                Step::Reply { .. } => {
                    app.call(
                        Method::POST,
                        &path("messages"),
                        Some(json!({"text": format!("reply {n}"), "kind": "reply"})),
                    )
                    .await
                }
                Step::React { message, .. } => {
                    let messages = app.messages(&case).await;
                    let public: Vec<&Value> = messages
                        .iter()
                        .filter(|m| m["kind"] == "message" && m["author"]["type"] == "customer")
                        .collect();
                    if public.is_empty() {
                        return Ok(());
                    }
                    let target = public[message as usize % public.len()];
                    let customer = app.case(&case).await["customer_id"].clone();
                    let external = app
                        .ok(
                            Method::GET,
                            &format!("/api/v1/customers/{}", s(&customer)),
                            None,
                        )
                        .await["external_id"]
                        .clone();
                    app.inbound(json!({"type": "reaction", "customer": {"id": external},
                        "target_message_id": target["id"], "emoji": "👍"}))
                        .await
                }
                Step::Finish { status, .. } => {
                    let status = ["open", "pending", "closed"][status as usize];
                    app.finish(&case, status).await
                }
                Step::Split { .. } => app.call(Method::POST, &path("split"), None).await,
                Step::Merge { .. } => app.call(Method::POST, &path("merge-previous"), None).await,
                Step::Move { start, len, to, .. } => {
                    let messages = app.messages(&case).await;
                    if messages.len() < 2 {
                        return Ok(());
                    }
                    let from = start as usize % messages.len();
                    let end = (from + 1 + len as usize).min(messages.len());
                    let end = if from == 0 {
                        end.min(messages.len() - 1)
                    } else {
                        end
                    };
                    let ids: Vec<Value> = messages[from..end]
                        .iter()
                        .map(|m| m["id"].clone())
                        .collect();
                    let to = match to % 3 {
                        0 => "new".to_owned(),
                        _ => seen.case(to).cloned().unwrap_or_default(),
                    };
                    app.call(
                        Method::POST,
                        &path("move-messages"),
                        Some(json!({"message_ids": ids, "to": to})),
                    )
                    .await
                }
                Step::Undo { event, .. } => {
                    let undoable: Vec<Value> = app
                        .events(&case)
                        .await
                        .into_iter()
                        .filter(|e| e["data"]["action"].is_object())
                        .collect();
                    if undoable.is_empty() {
                        return Ok(());
                    }
                    let e = &undoable[event as usize % undoable.len()];
                    app.call(
                        Method::POST,
                        &path(&format!("events/{}/undo", s(&e["id"]))),
                        None,
                    )
                    .await
                }
                Step::Says { .. } => unreachable!("handled above"),
            }
        }
    };
    no_5xx(st, &body, step)?;
    if st.is_success() {
        if !matches!(step, Step::Reply { .. }) {
            seen.saw_case(&body["id"]);
        }
        seen.saw_case(&body["case_id"]);
        let message = match step {
            Step::Says { .. } | Step::React { .. } => &body["message_id"],
            Step::Reply { .. } => &body["id"],
            _ => &Value::Null,
        };
        if let Some(id) = message.as_str() {
            seen.messages.insert(id.to_owned());
        }
    }
    Ok(())
}

/// Every message in exactly one case, counts right, the chain whole.
async fn check(app: &TestApp, seen: &Seen, after: &Step) -> Result<(), TestCaseError> {
    let mut holder: HashMap<String, String> = HashMap::new();
    let mut cases = HashMap::new();
    for id in &seen.cases {
        let case = app.case(id).await;
        let messages = app.messages(id).await;
        prop_assert_eq!(
            case["message_count"].as_u64(),
            Some(messages.len() as u64),
            "case {} counts what it holds after {:?}",
            id,
            after
        );
        for m in &messages {
            let previous = holder.insert(s(&m["id"]), id.clone());
            prop_assert!(
                previous.is_none(),
                "message {} in two cases after {:?}",
                m["id"],
                after
            );
        }
        cases.insert(id.clone(), case);
    }
    for id in &seen.messages {
        prop_assert!(
            holder.contains_key(id),
            "message {} in no case after {:?}",
            id,
            after
        );
    }
    for (id, case) in &cases {
        if !case["merged_into_id"].is_null() {
            continue;
        }
        if let Some(next) = case["next_case_id"].as_str() {
            let next = &cases[next];
            prop_assert!(
                next["merged_into_id"].is_null(),
                "{} links to a merged next after {:?}",
                id,
                after
            );
            prop_assert_eq!(
                next["previous_case_id"].as_str(),
                Some(id.as_str()),
                "chain after {:?}",
                after
            );
        }
        if let Some(previous) = case["previous_case_id"].as_str() {
            let previous = &cases[previous];
            prop_assert!(
                previous["merged_into_id"].is_null(),
                "{} links to a merged previous after {:?}",
                id,
                after
            );
            prop_assert_eq!(
                previous["next_case_id"].as_str(),
                Some(id.as_str()),
                "chain after {:?}",
                after
            );
        }
    }
    Ok(())
}

async fn run(backend: Backend, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let app = TestApp::spawn(backend).await;
    let mut seen = Seen::default();
    for step in &steps {
        apply(&app, &mut seen, step).await?;
        check(&app, &seen, step).await?;
    }
    Ok(())
}

async fn any_sequence_keeps_every_message_in_one_case_and_the_chain_whole(backend: Backend) {
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases: std::env::var("CASEDESK_MOVE_MODEL_CASES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(8),
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&prop::collection::vec(step(), 1..=24), |steps| {
            handle.block_on(run(backend, steps))
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    });
}

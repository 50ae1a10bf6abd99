//! Evaluations of casedesk's judgements against labelled data
//! (`casedesk eval …`).
//!
//! `topic-split` replays the labelled chats of `data/topic-split`
//! (written by `scripts/topic-dataset`) through
//! [`casedesk_domain::topic::judge`] and counts how often it calls a new
//! topic rightly and wrongly (docs/topic-split.md). The chats are built into
//! the binary, so the command works anywhere; `--data DIR` reads other
//! files of the same form.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use casedesk_domain::topic::{Said, TopicContext, judge};
use casedesk_domain::{AuthorType, Time};
use clap::Subcommand;
use serde_json::Value;

#[derive(Subcommand)]
pub enum EvalCommand {
    /// The "this looks like a new question" judgement against labelled
    /// chats: precision and recall per part and language.
    TopicSplit {
        /// A directory with tune.jsonl and held.jsonl; default: the chats
        /// built into the binary (crates/casedesk/data/topic-split).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Also list the messages of the tune part judged wrongly (the
        /// held-aside part's are never shown: tuning must not see them).
        #[arg(long)]
        errors: bool,
    },
}

/// The goal for the held-aside part: of the messages judged a new topic,
/// at least this share are one…
pub const GOAL_PRECISION: f64 = 0.8;
/// …while at least this share of the new topics are found.
pub const GOAL_RECALL: f64 = 0.6;

const TUNE: &str = include_str!("../data/topic-split/tune.jsonl");
const HELD: &str = include_str!("../data/topic-split/held.jsonl");

/// The latest messages of a topic given to the judgement, as the server
/// will pass them.
const RECENT: usize = 20;

pub fn run(command: EvalCommand) -> Result<(), String> {
    match command {
        EvalCommand::TopicSplit { data, errors } => {
            let (tune, held) = match data {
                None => (TUNE.to_owned(), HELD.to_owned()),
                Some(dir) => {
                    let read = |name: &str| {
                        let path = dir.join(name);
                        std::fs::read_to_string(&path)
                            .map_err(|e| format!("cannot read {}: {e}", path.display()))
                    };
                    (read("tune.jsonl")?, read("held.jsonl")?)
                }
            };
            let report = TopicSplitReport {
                tune: evaluate_topic_split(&tune).map_err(|e| format!("tune.jsonl: {e}"))?,
                held: evaluate_topic_split(&held).map_err(|e| format!("held.jsonl: {e}"))?,
            };
            print!("{}", report.table());
            if errors {
                print!("{}", report.tune.mistakes_listing());
            }
            if report.goal_met() {
                Ok(())
            } else {
                Err("the held-aside part misses the goal".to_owned())
            }
        }
    }
}

/// The judgement's results on both parts of the data.
#[derive(Debug)]
pub struct TopicSplitReport {
    pub tune: PartResult,
    pub held: PartResult,
}

impl TopicSplitReport {
    /// Whether the held-aside part reaches [`GOAL_PRECISION`] at
    /// [`GOAL_RECALL`].
    pub fn goal_met(&self) -> bool {
        let all = self.held.all();
        all.precision() >= GOAL_PRECISION && all.recall() >= GOAL_RECALL
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "part  lang  chats  judged  new topics    TP    FP    FN  precision  recall"
        );
        for (part, result) in [("tune", &self.tune), ("held", &self.held)] {
            let rows = result
                .by_language
                .iter()
                .map(|(lang, counts)| (lang.as_str(), counts))
                .chain(std::iter::once(("all", &result.all())))
                .map(|(lang, c)| {
                    format!(
                        "{part:<4}  {lang:<4}  {:>5}  {:>6}  {:>10}  {:>4}  {:>4}  {:>4}  {:>9.3}  {:>6.3}\n",
                        c.conversations,
                        c.judged,
                        c.true_positives + c.false_negatives,
                        c.true_positives,
                        c.false_positives,
                        c.false_negatives,
                        c.precision(),
                        c.recall(),
                    )
                })
                .collect::<String>();
            out.push_str(&rows);
        }
        let held = self.held.all();
        let _ = writeln!(
            out,
            "goal (held-aside part: precision >= {GOAL_PRECISION:.2} at recall >= {GOAL_RECALL:.2}): {} \
             (precision {:.3}, recall {:.3})",
            if self.goal_met() { "met" } else { "NOT met" },
            held.precision(),
            held.recall(),
        );
        out
    }
}

/// The counts of one part of the data, per language.
#[derive(Debug, Default)]
pub struct PartResult {
    pub by_language: BTreeMap<String, Counts>,
    /// The messages judged wrongly, for `--errors`.
    pub mistakes: Vec<Mistake>,
}

impl PartResult {
    /// Both languages together.
    pub fn all(&self) -> Counts {
        self.by_language
            .values()
            .fold(Counts::default(), |sum, c| sum.plus(c))
    }

    fn mistakes_listing(&self) -> String {
        let mut out = String::new();
        for m in &self.mistakes {
            let _ = writeln!(
                out,
                "\n{} {} #{}: {}",
                m.conversation,
                if m.labelled_new {
                    "missed"
                } else {
                    "false alarm"
                },
                m.index,
                m.text
            );
            if let Some(reasons) = &m.reasons {
                let _ = writeln!(out, "    reasons: {reasons}");
            }
            for line in &m.context {
                let _ = writeln!(out, "    | {line}");
            }
        }
        out
    }
}

/// Judged messages of one language (customer messages after a
/// conversation's first).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub conversations: usize,
    pub judged: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
}

impl Counts {
    /// Of the messages judged a new topic, the share that are one (1 when
    /// none was judged so).
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// Of the new topics, the share judged so (1 when there are none).
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    fn plus(self, other: &Counts) -> Counts {
        Counts {
            conversations: self.conversations + other.conversations,
            judged: self.judged + other.judged,
            true_positives: self.true_positives + other.true_positives,
            false_positives: self.false_positives + other.false_positives,
            false_negatives: self.false_negatives + other.false_negatives,
        }
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// A message judged wrongly.
#[derive(Debug)]
pub struct Mistake {
    pub conversation: String,
    pub index: usize,
    pub text: String,
    pub labelled_new: bool,
    /// The reasons given, for a false alarm.
    pub reasons: Option<String>,
    /// The topic's messages before it, `author +minutes: text`.
    pub context: Vec<String>,
}

/// One message of a labelled chat.
struct Message {
    author: AuthorType,
    text: String,
    minutes: i64,
    new_topic: bool,
}

/// Replays each conversation of `jsonl` (one JSON object a line, as
/// `scripts/topic-dataset` writes them): every customer message after the
/// first is judged against the subject (the first customer message of the
/// current topic) and the topic's messages so far, the latest [`RECENT`].
/// A topic starts where the labels say, as if the agent had split every
/// new topic the judgement should have found.
pub fn evaluate_topic_split(jsonl: &str) -> Result<PartResult, String> {
    let mut result = PartResult::default();
    for (n, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at_line = |e: String| format!("line {}: {e}", n + 1);
        let chat: Value = serde_json::from_str(line).map_err(|e| at_line(e.to_string()))?;
        let id = field_str(&chat, "id").map_err(at_line)?.to_owned();
        let lang = field_str(&chat, "lang").map_err(at_line)?.to_owned();
        let messages = messages(&chat).map_err(at_line)?;
        let counts = result.by_language.entry(lang).or_default();
        counts.conversations += 1;
        replay(&id, &messages, counts, &mut result.mistakes);
    }
    Ok(result)
}

fn replay(id: &str, messages: &[Message], counts: &mut Counts, mistakes: &mut Vec<Mistake>) {
    let said: Vec<Said<'_>> = messages
        .iter()
        .map(|m| Said {
            author: m.author,
            text: &m.text,
            at: time(m.minutes),
        })
        .collect();
    let mut topic_start = 0;
    let mut seen_customer = false;
    for (i, m) in messages.iter().enumerate() {
        if m.author == AuthorType::Customer && seen_customer {
            let topic = &said[topic_start..i];
            let subject = topic
                .iter()
                .find(|s| s.author == AuthorType::Customer)
                .map_or("", |s| s.text);
            let recent = &topic[topic.len().saturating_sub(RECENT)..];
            let shift = judge(&TopicContext { subject, recent }, &said[i]);
            counts.judged += 1;
            match (shift.is_some(), m.new_topic) {
                (true, true) => counts.true_positives += 1,
                (true, false) => counts.false_positives += 1,
                (false, true) => counts.false_negatives += 1,
                (false, false) => {}
            }
            if shift.is_some() != m.new_topic {
                mistakes.push(Mistake {
                    conversation: id.to_owned(),
                    index: i,
                    text: m.text.clone(),
                    labelled_new: m.new_topic,
                    reasons: shift.map(|s| {
                        let words: Vec<String> =
                            s.reasons.iter().map(|r| r.describe_en()).collect();
                        format!("{:.2}: {}", s.score, words.join("; "))
                    }),
                    context: messages[topic_start..i]
                        .iter()
                        .map(|c| format!("{} +{}: {}", c.author, c.minutes, c.text))
                        .collect(),
                });
            }
        }
        if m.author == AuthorType::Customer {
            seen_customer = true;
        }
        if m.new_topic {
            topic_start = i;
        }
    }
}

fn messages(chat: &Value) -> Result<Vec<Message>, String> {
    let list = chat
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("no `messages` array")?;
    let mut out = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let at_message = |e: &str| format!("message {i}: {e}");
        let author = match field_str(m, "author").map_err(|e| at_message(&e))? {
            "customer" => AuthorType::Customer,
            "agent" => AuthorType::Agent,
            other => return Err(at_message(&format!("unknown author `{other}`"))),
        };
        let text = field_str(m, "text").map_err(|e| at_message(&e))?.to_owned();
        let minutes = m
            .get("minutes")
            .and_then(Value::as_i64)
            .ok_or_else(|| at_message("no whole `minutes`"))?;
        let new_topic = m
            .get("new_topic")
            .and_then(Value::as_bool)
            .ok_or_else(|| at_message("no `new_topic`"))?;
        if new_topic && (i == 0 || author != AuthorType::Customer) {
            return Err(at_message(
                "only a customer's message after the first can start a new topic",
            ));
        }
        if out.last().is_some_and(|p: &Message| p.minutes > minutes) {
            return Err(at_message("`minutes` goes back"));
        }
        out.push(Message {
            author,
            text,
            minutes,
            new_topic,
        });
    }
    Ok(out)
}

fn field_str<'v>(value: &'v Value, name: &str) -> Result<&'v str, String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no `{name}` string"))
}

/// Minutes from a fixed moment: only the differences matter.
fn time(minutes: i64) -> Time {
    let start = chrono::DateTime::UNIX_EPOCH + chrono::Duration::seconds(1_700_000_000);
    start + chrono::Duration::minutes(minutes.clamp(-1_000_000_000, 1_000_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built_in() -> TopicSplitReport {
        TopicSplitReport {
            tune: evaluate_topic_split(TUNE).unwrap(),
            held: evaluate_topic_split(HELD).unwrap(),
        }
    }

    #[test]
    fn the_held_aside_part_meets_the_goal() {
        let report = built_in();
        let held = report.held.all();
        assert!(
            report.goal_met(),
            "held aside: precision {:.3}, recall {:.3}\n{}",
            held.precision(),
            held.recall(),
            report.table()
        );
    }

    #[test]
    fn the_data_has_both_languages_with_a_third_held_aside() {
        let report = built_in();
        let (tune, held) = (report.tune.all(), report.held.all());
        assert!(tune.conversations + held.conversations >= 300);
        for lang in ["en", "ru"] {
            let tune = report.tune.by_language[lang];
            let held = report.held.by_language[lang];
            let total = tune.conversations + held.conversations;
            assert!(total >= 150, "{lang}: {total} conversations");
            assert_eq!(held.conversations, total / 3, "{lang}: a third held aside");
            assert!(held.true_positives + held.false_negatives >= 40);
        }
    }

    #[test]
    fn counts_follow_the_true_topic_boundaries() {
        let jsonl = concat!(
            r#"{"id":"x","lang":"en","messages":["#,
            r#"{"author":"customer","text":"Where is my order 48213?","minutes":0,"new_topic":false},"#,
            r#"{"author":"agent","text":"It arrives tomorrow.","minutes":2,"new_topic":false},"#,
            r#"{"author":"customer","text":"ok thanks","minutes":3,"new_topic":false},"#,
            r#"{"author":"customer","text":"One more question: how do I cancel my subscription?","minutes":4,"new_topic":true},"#,
            r#"{"author":"customer","text":"Also, order 51877 never came, where is it?","minutes":5,"new_topic":false}"#,
            "]}\n",
        );
        let result = evaluate_topic_split(jsonl).unwrap();
        let en = result.by_language["en"];
        assert_eq!(en.conversations, 1);
        assert_eq!(en.judged, 3);
        assert_eq!(
            (en.true_positives, en.false_positives, en.false_negatives),
            (1, 1, 0)
        );
        assert_eq!(result.mistakes.len(), 1);
        assert_eq!(result.mistakes[0].index, 4);
        assert!((en.precision() - 0.5).abs() < 1e-9);
        assert!((en.recall() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn bad_lines_are_refused_with_their_place() {
        let agent_new = r#"{"id":"x","lang":"en","messages":[{"author":"customer","text":"a","minutes":0,"new_topic":false},{"author":"agent","text":"b","minutes":1,"new_topic":true}]}"#;
        let e = evaluate_topic_split(agent_new).unwrap_err();
        assert!(e.starts_with("line 1: message 1:"), "{e}");
        assert!(
            evaluate_topic_split("{")
                .unwrap_err()
                .starts_with("line 1:")
        );
        assert!(
            evaluate_topic_split("\n{\"id\":1}")
                .unwrap_err()
                .starts_with("line 2:")
        );
    }
}

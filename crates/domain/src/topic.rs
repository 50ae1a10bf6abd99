//! "This looks like a new question": whether a customer's message in an
//! active or just-reopened chat starts a new topic, so that an agent can be
//! offered to split it into a case of its own (docs/topic-split.md).
//!
//! The judgement adds up points for a handful of signals:
//!
//! - a phrase that announces another question ("one more question",
//!   "ещё вопрос", "кстати"; "also", "и ещё" only at the start);
//! - an order number or an e-mail address the case has not seen yet, unless
//!   the agent has just asked for one;
//! - few of its words (normalised, stop words left out) appearing in the
//!   case's subject and recent messages;
//! - the silence before the message (worth little on its own: people come
//!   back to the same question after a night);
//! - a greeting at its start (the same: "hi, any news?");
//! - the message before it settling the previous question (the customer's
//!   "thanks", the agent's "anything else?");
//! - an opening like a question or request of its own ("how do I",
//!   "можно ли", "хочу").
//!
//! A message that sounds like a follow-up ("still", "any news", "всё ещё",
//! "до сих пор"), thanks, or shares much of its wording with the case loses
//! points. The message is judged a new topic when the score reaches
//! [`THRESHOLD`] *and* a signal about its content (a phrase, a number, an
//! address, the wording) is among the reasons: the others only ever add to
//! those, so a greeting after a night is never enough.
//!
//! Pure and bounded: no clock (the messages carry their times), at most the
//! first [`MAX_CHARS`] characters of each text and the latest
//! [`MAX_RECENT`] messages are read, and the same input always gives the
//! same answer.

use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::{AuthorType, Time};

/// One public message of a case, or the message being judged.
#[derive(Debug, Clone, Copy)]
pub struct Said<'a> {
    pub author: AuthorType,
    pub text: &'a str,
    pub at: Time,
}

/// What the message is judged against: the case's subject and its latest
/// public messages, oldest first, not including the message itself.
#[derive(Debug, Clone, Copy)]
pub struct TopicContext<'a> {
    pub subject: &'a str,
    pub recent: &'a [Said<'a>],
}

/// A message judged to start a new topic: how sure (`score`, 0 to 1, at
/// least [`THRESHOLD`]) and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicShift {
    pub score: f32,
    pub reasons: Vec<TopicReason>,
}

/// One reason a message looks like a new topic, in the order
/// [`TopicShift::reasons`] lists them: the strongest kinds first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TopicReason {
    /// It says it is another question ("one more question", "кстати");
    /// `phrase` as the list below spells it.
    Phrase { phrase: String },
    /// A number of five or more digits (or `#123`, `№123`) that neither the
    /// subject nor the recent messages contain.
    NewOrderNumber { number: String },
    /// An e-mail address that neither the subject nor the recent messages
    /// contain.
    NewEmail { address: String },
    /// Only `percent` of its words appear in the subject and the recent
    /// messages.
    LowOverlap { percent: u8 },
    /// The time since the latest recent message.
    Silence { minutes: i64 },
    /// It starts with "hi", "good morning", "здравствуйте"…
    Greeting,
    /// It comes after the customer's thanks or the agent's "anything
    /// else?": the previous question looked settled.
    AfterClosing,
}

/// The score from which a message is judged a new topic.
pub const THRESHOLD: f32 = 0.5;
/// Characters read of each text; the rest is ignored.
pub const MAX_CHARS: usize = 2_000;
/// Recent messages read (the latest ones).
pub const MAX_RECENT: usize = 20;

/// Points are whole hundredths of the score, so that sums are exact.
const THRESHOLD_POINTS: i32 = 50;
/// "another question" anywhere; "also" or "и ещё" only at the start, and
/// worth less.
const PHRASE_POINTS: i32 = 50;
const OPENING_WORD_POINTS: i32 = 30;
const NUMBER_POINTS: i32 = 35;
const EMAIL_POINTS: i32 = 30;
const GREETING_POINTS: i32 = 15;
/// The message before it settled the previous question.
const CLOSING_POINTS: i32 = 15;
/// It opens like a question or a request ("how do I", "можно ли", "хочу").
const REQUEST_POINTS: i32 = 10;
const FOLLOW_UP_POINTS: i32 = -30;
const SHARED_WORDING_POINTS: i32 = -20;
const THANKS_POINTS: i32 = -20;
/// Below this many distinct words, the overlap of a message says nothing
/// ("where is it?" shares no word with anything and is no new topic).
const MIN_WORDS_FOR_OVERLAP: usize = 2;
/// Nor does an overlap with a context of fewer words ("hi" as a subject).
const MIN_CONTEXT_WORDS: usize = 3;
/// Words compare by their first letters (after the endings are cut).
const KEY_CHARS: usize = 6;

/// Whether `message` starts a new topic in the case `ctx` describes: `Some`
/// with the score and the reasons when it does, `None` otherwise (and for
/// any message not written by a customer).
pub fn judge(ctx: &TopicContext<'_>, message: &Said<'_>) -> Option<TopicShift> {
    if message.author != AuthorType::Customer {
        return None;
    }
    let recent = latest(ctx.recent, message);
    let text = Text::read(message.text);
    let subject = Text::read(ctx.subject);
    let earlier: Vec<(AuthorType, Text)> = recent
        .iter()
        .map(|said| (said.author, Text::read(said.text)))
        .collect();
    if !subject.has_content()
        && !earlier
            .iter()
            .any(|(author, t)| *author == AuthorType::Customer && t.has_content())
    {
        // The customer has only said "hi" so far: this message is where
        // the topic starts, not a new one.
        return None;
    }
    let mut vocabulary = Vocabulary::default();
    vocabulary.add(&subject);
    for (_, t) in &earlier {
        vocabulary.add(t);
    }

    let phrase = text.phrase();
    // An agent who has just asked for an order number or an address gets a
    // new one in the answer: that is no new topic.
    let asked_for_identifier = earlier
        .last()
        .is_some_and(|(author, t)| *author == AuthorType::Agent && t.asks_for_identifier());
    let new_number = (!asked_for_identifier)
        .then(|| text.numbers.iter().find(|n| !vocabulary.has_number(n)))
        .flatten();
    let new_email = (!asked_for_identifier)
        .then(|| text.emails.iter().find(|e| !vocabulary.emails.contains(*e)))
        .flatten();
    if text.keys.is_empty() && phrase.is_none() && new_number.is_none() && new_email.is_none() {
        // "ok", "спасибо, всё понятно", an emoji: nothing to judge.
        return None;
    }

    let mut points = 0;
    let mut reasons = Vec::new();
    let mut announced = false;
    if let Some((phrase, only_at_start)) = phrase {
        announced = !only_at_start;
        points += if only_at_start {
            OPENING_WORD_POINTS
        } else {
            PHRASE_POINTS
        };
        reasons.push(TopicReason::Phrase {
            phrase: phrase.to_owned(),
        });
    }
    if let Some(number) = new_number {
        points += NUMBER_POINTS;
        reasons.push(TopicReason::NewOrderNumber {
            number: number.clone(),
        });
    }
    if let Some(address) = new_email {
        points += EMAIL_POINTS;
        reasons.push(TopicReason::NewEmail {
            address: address.clone(),
        });
    }
    if text.keys.len() >= MIN_WORDS_FOR_OVERLAP && vocabulary.keys.len() >= MIN_CONTEXT_WORDS {
        let shared = text.keys.iter().filter(|k| vocabulary.has_key(k)).count();
        let percent = shared * 100 / text.keys.len();
        let overlap_points = match (percent, text.keys.len()) {
            (0..=10, 5..) => 40,
            (0..=10, 3..) => 35,
            (0..=10, _) => 15,
            (11..=25, _) => 25,
            (26..=40, _) => 10,
            _ => 0,
        };
        if overlap_points > 0 {
            points += overlap_points;
            reasons.push(TopicReason::LowOverlap {
                percent: u8::try_from(percent).unwrap_or(100),
            });
        } else if percent >= 50 && shared >= 2 {
            points += SHARED_WORDING_POINTS;
        }
    }
    let content_signal = !reasons.is_empty();
    if let Some(previous) = recent.last() {
        let minutes = (message.at - previous.at).num_minutes();
        let silence_points = match minutes {
            m if m >= 12 * 60 => 20,
            m if m >= 2 * 60 => 15,
            m if m >= 30 => 10,
            _ => 0,
        };
        if silence_points > 0 {
            points += silence_points;
            reasons.push(TopicReason::Silence { minutes });
        }
    }
    if text.greeting > 0 {
        points += GREETING_POINTS;
        reasons.push(TopicReason::Greeting);
    }
    if earlier.last().is_some_and(|(author, t)| t.closes(*author)) {
        points += CLOSING_POINTS;
        reasons.push(TopicReason::AfterClosing);
    }
    if text.opens_request() {
        points += REQUEST_POINTS;
    }
    // "One more question: the refund still hasn't come" is about the
    // refund, whatever the rest of the case said.
    if !announced && text.follows_up() {
        points += FOLLOW_UP_POINTS;
    }
    if !announced && text.thanks() {
        points += THANKS_POINTS;
    }

    (content_signal && points >= THRESHOLD_POINTS).then(|| TopicShift {
        score: points.clamp(0, 100) as f32 / 100.0,
        reasons,
    })
}

/// The latest [`MAX_RECENT`] messages, without the judged message itself
/// should the caller have included it.
fn latest<'s, 'a>(recent: &'s [Said<'a>], message: &Said<'_>) -> &'s [Said<'a>] {
    let recent = match recent.last() {
        Some(last)
            if last.at == message.at
                && last.text == message.text
                && last.author == message.author =>
        {
            &recent[..recent.len() - 1]
        }
        _ => recent,
    };
    &recent[recent.len().saturating_sub(MAX_RECENT)..]
}

/// Customer messages judged, from the latest back, when looking for a
/// case's suggestion: a long chat costs no more than this.
pub const MAX_JUDGED: usize = 50;

/// The suggestion of a case: the latest of its customer messages that
/// starts a new topic, judged against the subject and the public messages
/// before it, with its index in `messages` (the case's public messages, in
/// order). Only the latest such message counts: when the agent dismissed
/// it (`dismissed(index)`), there is none, since what came before it was
/// already seen. The case's first message is never one (nothing would stay).
pub fn latest_shift(
    subject: &str,
    messages: &[Said<'_>],
    dismissed: impl Fn(usize) -> bool,
) -> Option<(usize, TopicShift)> {
    let customer = (1..messages.len())
        .rev()
        .filter(|&i| messages[i].author == AuthorType::Customer)
        .take(MAX_JUDGED);
    for i in customer {
        let recent = &messages[i.saturating_sub(MAX_RECENT)..i];
        let ctx = TopicContext { subject, recent };
        if let Some(shift) = judge(&ctx, &messages[i]) {
            return (!dismissed(i)).then_some((i, shift));
        }
    }
    None
}

impl TopicReason {
    /// The reason in words for agents, in English.
    pub fn describe_en(&self) -> String {
        match self {
            TopicReason::Phrase { phrase } => format!("says “{phrase}”"),
            TopicReason::NewOrderNumber { number } => {
                format!("mentions a new order number {number}")
            }
            TopicReason::NewEmail { address } => {
                format!("mentions a new e-mail address {address}")
            }
            TopicReason::LowOverlap { percent } => {
                format!("only {percent} % of its words appear earlier in the case")
            }
            TopicReason::Silence { minutes } => {
                format!("{} of silence before it", span_en(*minutes))
            }
            TopicReason::Greeting => "starts with a greeting".to_owned(),
            TopicReason::AfterClosing => "comes after a thank-you or “anything else?”".to_owned(),
        }
    }

    /// The reason in words for agents, in Russian.
    pub fn describe_ru(&self) -> String {
        match self {
            TopicReason::Phrase { phrase } => format!("пишет «{phrase}»"),
            TopicReason::NewOrderNumber { number } => {
                format!("упоминает новый номер заказа {number}")
            }
            TopicReason::NewEmail { address } => {
                format!("упоминает новый адрес почты {address}")
            }
            TopicReason::LowOverlap { percent } => {
                format!("лишь {percent} % его слов встречались раньше в обращении")
            }
            TopicReason::Silence { minutes } => {
                format!("перед ним {} тишины", span_ru(*minutes))
            }
            TopicReason::Greeting => "начинается с приветствия".to_owned(),
            TopicReason::AfterClosing => "следует за «спасибо» или «чем-то ещё помочь?»".to_owned(),
        }
    }
}

/// "2 days 3 h", "2 h 15 min", "45 min".
fn span_en(minutes: i64) -> String {
    let (days, hours, mins) = split_span(minutes);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, 0, _) => "1 day".to_owned(),
        (1, h, _) => format!("1 day {h} h"),
        (d, 0, _) => format!("{d} days"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

/// "2 дня 3 ч", "2 ч 15 мин", "45 мин".
fn span_ru(minutes: i64) -> String {
    let (days, hours, mins) = split_span(minutes);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m} мин"),
        (0, h, 0) => format!("{h} ч"),
        (0, h, m) => format!("{h} ч {m} мин"),
        (d, 0, _) => format!("{d} {}", days_ru(d)),
        (d, h, _) => format!("{d} {} {h} ч", days_ru(d)),
    }
}

/// Whole days, hours and minutes; minutes only count below a day.
fn split_span(minutes: i64) -> (i64, i64, i64) {
    let minutes = minutes.max(0);
    (minutes / (24 * 60), minutes / 60 % 24, minutes % 60)
}

fn days_ru(days: i64) -> &'static str {
    match (days % 10, days % 100) {
        (_, 11..=14) => "дней",
        (1, _) => "день",
        (2..=4, _) => "дня",
        _ => "дней",
    }
}

// ---------------------------------------------------------------------------
// Reading a text

/// What the judgement uses of one text.
#[derive(Debug, Default)]
struct Text {
    /// Every word, lower case, `ё` as `е`, apostrophes dropped, in order
    /// (for phrases).
    words: Vec<String>,
    /// The distinct keys of its content words (no stop words, no numbers).
    keys: Vec<String>,
    /// Order numbers and other identifiers, as written (lower case).
    numbers: Vec<String>,
    emails: Vec<String>,
    /// How many of its first words are a greeting (0: none).
    greeting: usize,
    /// It has a question mark.
    question: bool,
}

impl Text {
    fn read(text: &str) -> Text {
        let text = match text.char_indices().nth(MAX_CHARS) {
            Some((end, _)) => &text[..end],
            None => text,
        };
        let mut out = Text::default();
        let mut previous_chunk = "";
        let mut chunks = text.split_whitespace().peekable();
        while let Some(chunk) = chunks.next() {
            if let Some(address) = email(chunk) {
                if !out.emails.contains(&address) {
                    out.emails.push(address);
                }
                previous_chunk = chunk;
                continue;
            }
            let next_chunk = chunks.peek().copied().unwrap_or("");
            let runs = runs(chunk);
            for (i, run) in runs.iter().enumerate() {
                let next = runs
                    .get(i + 1)
                    .map(|r| r.word.as_str())
                    .or_else(|| currency_word(next_chunk));
                if let Some(number) = identifier(run, chunk, previous_chunk, next)
                    && !out.numbers.contains(&number)
                {
                    out.numbers.push(number);
                }
                out.words.push(run.word.clone());
            }
            previous_chunk = chunk;
        }
        out.greeting = greeting_words(&out.words);
        out.question = text.contains('?');
        for word in &out.words {
            if let Some(key) = key(word)
                && !out.keys.contains(&key)
            {
                out.keys.push(key);
            }
        }
        out
    }

    fn has_content(&self) -> bool {
        !(self.keys.is_empty() && self.numbers.is_empty() && self.emails.is_empty())
    }

    /// Its words after the greeting, if any.
    fn opening(&self) -> &[String] {
        &self.words[self.greeting.min(self.words.len())..]
    }

    /// The first phrase announcing another question, as the list spells
    /// it, and whether it is one that counts only at the start (after a
    /// greeting: "hi, also…").
    fn phrase(&self) -> Option<(&'static str, bool)> {
        PHRASES
            .iter()
            .find(|(_, words, only_at_start)| {
                if *only_at_start {
                    starts_with(self.opening(), words)
                } else {
                    contains(&self.words, words)
                }
            })
            .map(|(shown, _, only_at_start)| (*shown, *only_at_start))
    }

    /// Whether it sounds like more of the same: "still", "any news",
    /// "всё ещё", "до сих пор" (after the greeting: "hi again" is none).
    fn follows_up(&self) -> bool {
        FOLLOW_UPS
            .iter()
            .any(|phrase| contains(self.opening(), phrase))
    }

    /// Whether it thanks: "the update helped, thanks" ends a question.
    fn thanks(&self) -> bool {
        THANKS.iter().any(|t| contains(&self.words, t))
    }

    /// Whether, written by `author`, it looks like the end of a question:
    /// a customer's thanks with nothing else to say, or an agent's
    /// "anything else?" or "you're welcome".
    fn closes(&self, author: AuthorType) -> bool {
        match author {
            AuthorType::Customer => !self.has_content() && self.thanks(),
            AuthorType::Agent => {
                CLOSINGS.iter().any(|c| contains(&self.words, c))
                    || (!self.has_content() && contains(&self.words, "пожалуйста"))
            }
            AuthorType::System => false,
        }
    }

    /// Whether it opens like a question or a request of its own: "how do
    /// I…", "можно ли…", "хочу…".
    fn opens_request(&self) -> bool {
        REQUEST_OPENINGS
            .iter()
            .any(|phrase| starts_with(self.opening(), phrase))
    }

    /// Whether it asks for (or gives) an order number or an address: it
    /// names one ("номер", "e-mail"), or asks about an order or account.
    fn asks_for_identifier(&self) -> bool {
        let names = |list: &[&str]| {
            self.words
                .iter()
                .any(|w| list.iter().any(|prefix| w.starts_with(prefix)))
        };
        names(IDENTIFIER_WORDS) || (self.question && names(IDENTIFIED_THINGS))
    }
}

/// A run of letters and digits inside a chunk of text, normalised.
#[derive(Debug)]
struct Run {
    word: String,
    /// The character before it in the chunk, if any (`#`, `№`, `$`…).
    before: Option<char>,
}

/// The runs of letters and digits of a chunk: "didn't" is one word
/// ("didnt"), "трек-номер" two.
fn runs(chunk: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut before = None;
    let mut previous = None;
    for c in chunk.chars() {
        if c.is_alphanumeric() {
            if word.is_empty() {
                before = previous;
            }
            for lower in c.to_lowercase() {
                word.push(if lower == 'ё' { 'е' } else { lower });
            }
        } else if matches!(c, '\'' | '’') && !word.is_empty() {
            // Inside a word: "don't" is "dont".
        } else if !word.is_empty() {
            out.push(Run {
                word: std::mem::take(&mut word),
                before,
            });
        }
        previous = Some(c);
    }
    if !word.is_empty() {
        out.push(Run { word, before });
    }
    out
}

/// The currency a chunk starts with, if it does ("руб." in "12990 руб.").
fn currency_word(chunk: &str) -> Option<&'static str> {
    let runs = runs(chunk);
    let first = runs.first()?;
    CURRENCY_WORDS.iter().find(|c| **c == first.word).copied()
}

/// An order number or a similar identifier: five digits or more, with or
/// without letters ("RU123456789CN"), or three or more after `#` or `№`.
/// Amounts ("12990 руб", "$1299") and phone numbers are none.
fn identifier(run: &Run, chunk: &str, previous_chunk: &str, next: Option<&str>) -> Option<String> {
    let digits = run.word.chars().filter(char::is_ascii_digit).count();
    let all_digits = digits == run.word.chars().count();
    let marked = matches!(run.before, Some('#' | '№')) || matches!(previous_chunk, "#" | "№");
    let currency = chunk.chars().any(|c| CURRENCY_SIGNS.contains(&c))
        || next.is_some_and(|n| CURRENCY_WORDS.contains(&n));
    let phone = chunk.starts_with('+')
        || (all_digits && digits == 11 && matches!(run.word.chars().next(), Some('7' | '8')));
    if currency || phone || digits > 16 {
        return None;
    }
    // "12990руб", "1290р": an amount written without a space.
    let unit = run.word.trim_start_matches(|c: char| c.is_ascii_digit());
    let amount = !all_digits && unit.len() < run.word.len() && CURRENCY_WORDS.contains(&unit);
    let is_identifier = !amount && (digits >= 5 || (all_digits && marked && digits >= 3));
    is_identifier.then(|| run.word.clone())
}

/// An e-mail address in a chunk, lower case, without the punctuation
/// around it.
fn email(chunk: &str) -> Option<String> {
    let trimmed = chunk.trim_matches(|c: char| !(c.is_alphanumeric() || c == '@'));
    let (local, domain) = trimmed.split_once('@')?;
    let valid = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && domain
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "._%+-".contains(c));
    valid.then(|| trimmed.to_lowercase())
}

/// Whether `words` start with the words of `phrase` (separated by spaces),
/// forgiving a slip of the finger in words of five letters or more.
fn starts_with(words: &[String], phrase: &str) -> bool {
    let mut words = words.iter();
    phrase.split(' ').all(|p| {
        words.next().is_some_and(|w| {
            w == p || {
                let (w, p): (Vec<char>, Vec<char>) = (w.chars().collect(), p.chars().collect());
                w.len().min(p.len()) >= 4 && w.len().max(p.len()) >= 5 && one_slip(&w, &p)
            }
        })
    })
}

/// Whether `words` contain the words of `phrase` in a row.
fn contains(words: &[String], phrase: &str) -> bool {
    (0..words.len()).any(|i| starts_with(&words[i..], phrase))
}

/// How many words at the start of `words` greet: "hi" 1, "good morning"
/// 2, "ещё раз здравствуйте" 3, none 0. "Again" after a greeting belongs to
/// it.
fn greeting_words(words: &[String]) -> usize {
    let at = |i: usize| words.get(i).map_or("", String::as_str);
    let lead = match (at(0), at(1)) {
        ("снова" | "опять", _) => 1,
        ("еще", "раз") => 2,
        _ => 0,
    };
    let greeting = match (at(lead), at(lead + 1)) {
        (
            "hi"
            | "hello"
            | "hey"
            | "hiya"
            | "greetings"
            | "здравствуйте"
            | "здраствуйте"
            | "здрасте"
            | "здрасьте"
            | "здравствуй"
            | "привет"
            | "приветствую"
            | "салют",
            _,
        ) => 1,
        ("good", "morning" | "afternoon" | "evening" | "day") => 2,
        ("добрый", "день" | "вечер") | ("доброе", "утро") => 2,
        ("доброго", "дня" | "времени" | "вечера" | "утра") => 2,
        _ => return 0,
    };
    let end = lead + greeting;
    match at(end) {
        "again" | "there" | "снова" => end + 1,
        _ => end,
    }
}

/// The key a content word is compared by, or `None` for a stop word or a
/// number: a crude stem (common Russian and English endings cut), at most
/// [`KEY_CHARS`] letters.
fn key(word: &str) -> Option<String> {
    if word.chars().any(|c| c.is_ascii_digit()) || word.chars().count() < 2 {
        return None;
    }
    if is_stop_word(word) {
        return None;
    }
    let stem = stem(word);
    let key: String = stem.chars().take(KEY_CHARS).collect();
    (key.chars().count() >= 2 && !GENERIC_KEYS.contains(&key.as_str())).then_some(key)
}

fn stem(word: &str) -> &str {
    let cyrillic = word.chars().any(|c| matches!(c, 'а'..='я'));
    let endings: &[&str] = if cyrillic {
        RUSSIAN_ENDINGS
    } else {
        ENGLISH_ENDINGS
    };
    let mut stem = word;
    if cyrillic {
        for reflexive in ["ся", "сь"] {
            if let Some(s) = stem.strip_suffix(reflexive)
                && s.chars().count() >= 4
            {
                stem = s;
            }
        }
    }
    for ending in endings {
        if let Some(s) = stem.strip_suffix(ending)
            && s.chars().count() >= 3
        {
            stem = s;
            break;
        }
    }
    if !cyrillic {
        // "charge" and "charged" alike.
        if let Some(s) = stem.strip_suffix('e')
            && s.chars().count() >= 4
        {
            stem = s;
        }
    }
    stem
}

/// Whether `a` and `b` differ by one letter changed, added, dropped, or
/// two neighbours swapped.
fn one_slip(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let start = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        let swapped = start + 1 < short.len()
            && short[start] == long[start + 1]
            && short[start + 1] == long[start]
            && short[start + 2..] == long[start + 2..];
        swapped || short.get(start + 1..) == long.get(start + 1..)
    } else {
        short[start..] == long[start + 1..]
    }
}

/// Words of earlier texts.
#[derive(Debug, Default)]
struct Vocabulary {
    keys: BTreeSet<String>,
    numbers: BTreeSet<String>,
    emails: BTreeSet<String>,
}

impl Vocabulary {
    fn add(&mut self, text: &Text) {
        self.keys.extend(text.keys.iter().cloned());
        self.numbers.extend(text.numbers.iter().cloned());
        self.emails.extend(text.emails.iter().cloned());
    }

    /// Also when one key begins the other ("cancel", "cancell"), or is the
    /// other with one letter wrong, missing or swapped ("денег", "днег").
    fn has_key(&self, key: &str) -> bool {
        if self.keys.contains(key) {
            return true;
        }
        let chars: Vec<char> = key.chars().collect();
        self.keys.iter().any(|k| {
            let other: Vec<char> = k.chars().collect();
            chars.len().min(other.len()) >= 4
                && (k.starts_with(key) || key.starts_with(k.as_str()) || one_slip(&chars, &other))
        })
    }

    /// Also when one contains the other ("ru123456789cn", "123456789").
    fn has_number(&self, number: &str) -> bool {
        self.numbers
            .iter()
            .any(|n| n == number || n.contains(number) || number.contains(n.as_str()))
    }
}

// ---------------------------------------------------------------------------
// Word lists (normalised: lower case, `ё` as `е`, no apostrophes)

/// Phrases that announce another question: as shown to agents, as words,
/// and whether they count only at the start of the message.
const PHRASES: &[(&str, &str, bool)] = &[
    ("another question", "another question", false),
    ("one more question", "one more question", false),
    ("other question", "other question", false),
    ("different question", "different question", false),
    ("separate question", "separate question", false),
    ("second question", "second question", false),
    ("new question", "new question", false),
    ("another thing", "another thing", false),
    ("one more thing", "one more thing", false),
    ("something else", "something else", false),
    ("another issue", "another issue", false),
    ("different issue", "different issue", false),
    ("another problem", "another problem", false),
    ("different problem", "different problem", false),
    ("unrelated", "unrelated", false),
    ("on another note", "on another note", false),
    ("by the way", "by the way", false),
    ("btw", "btw", false),
    ("while I'm here", "while im here", false),
    ("also", "also", true),
    ("and also", "and also", true),
    ("oh and", "oh and", true),
    ("and another", "and another", true),
    ("plus", "plus", true),
    ("ещё вопрос", "еще вопрос", false),
    ("ещё один вопрос", "еще один вопрос", false),
    ("другой вопрос", "другой вопрос", false),
    ("отдельный вопрос", "отдельный вопрос", false),
    ("новый вопрос", "новый вопрос", false),
    ("второй вопрос", "второй вопрос", false),
    ("ещё одно", "еще одно", false),
    ("другая проблема", "другая проблема", false),
    ("ещё одна проблема", "еще одна проблема", false),
    ("другое дело", "другое дело", false),
    ("не по теме", "не по теме", false),
    ("кстати", "кстати", false),
    ("заодно", "заодно", false),
    ("пока вы тут", "пока вы тут", false),
    ("ещё спросить", "еще спросить", false),
    ("также хотел", "также хотел", false),
    ("также хотела", "также хотела", false),
    ("и ещё", "и еще", true),
    ("а ещё", "а еще", true),
    ("ещё", "еще", true),
];

/// How a question or request of its own opens (after a greeting).
const REQUEST_OPENINGS: &[&str] = &[
    "how do i",
    "how can i",
    "how to",
    "can i",
    "could i",
    "can you",
    "could you",
    "is it possible",
    "is there",
    "do you",
    "i want",
    "i wanna",
    "id like",
    "i would like",
    "i need",
    "как",
    "можно",
    "хочу",
    "хотела бы",
    "хотел бы",
    "подскажите",
    "есть ли",
    "мне нужно",
    "нужен",
    "нужно",
];

/// A customer's thanks.
const THANKS: &[&str] = &[
    "thanks",
    "thank",
    "thx",
    "ty",
    "cheers",
    "спасибо",
    "спс",
    "благодарю",
    "спасибочки",
];

/// An agent's end of a question.
const CLOSINGS: &[&str] = &[
    "anything else",
    "something else",
    "youre welcome",
    "you are welcome",
    "glad to help",
    "happy to help",
    "еще чем то",
    "чем то еще",
    "что то еще",
    "чем еще",
    "рады помочь",
    "рада помочь",
    "рад помочь",
    "обращайтесь",
];

/// Keys of words nearly every topic of a shop's support uses.
const GENERIC_KEYS: &[&str] = &["order", "заказ", "товар", "item"];

/// Words of a follow-up on the same topic.
const FOLLOW_UPS: &[&str] = &[
    "still",
    "again",
    "any news",
    "any update",
    "any updates",
    "following up",
    "follow up",
    "as i said",
    "finally",
    "все еще",
    "до сих пор",
    "так и не",
    "опять",
    "снова",
    "есть новости",
    "какие новости",
    "напоминаю",
    "по прежнему",
    "все равно",
    "наконец",
    "ну что",
];

/// Words (beginnings) of a message that asks for an order number or an
/// address, or gives one.
const IDENTIFIER_WORDS: &[&str] = &[
    "number",
    "email",
    "mail",
    "address",
    "digits",
    "id",
    "номер",
    "почт",
    "адрес",
    "цифр",
    "email",
    "логин",
    "login",
];
/// What a question can ask the number or address of ("Which order was
/// it?").
const IDENTIFIED_THINGS: &[&str] = &["order", "account", "заказ", "аккаунт", "подписк", "subscri"];

const CURRENCY_SIGNS: &[char] = &['$', '€', '₽', '£', '¥', '₴', '₸'];
const CURRENCY_WORDS: &[&str] = &[
    "р",
    "руб",
    "рублей",
    "рубля",
    "рубль",
    "rub",
    "usd",
    "eur",
    "euro",
    "euros",
    "евро",
    "dollars",
    "dollar",
    "долларов",
    "доллара",
    "gbp",
    "uah",
    "kzt",
    "грн",
    "тенге",
];

const RUSSIAN_ENDINGS: &[&str] = &[
    "иями", "ями", "ами", "иях", "ием", "ого", "его", "ому", "ему", "ыми", "ими", "ешь", "ете",
    "ишь", "ите", "ают", "яют", "уют", "ует", "ала", "ила", "ыла", "ела", "яла", "али", "или",
    "ыли", "ели", "яли", "ать", "ять", "ить", "еть", "уть", "ой", "ей", "ий", "ый", "ая", "яя",
    "ое", "ее", "ые", "ие", "ую", "юю", "ам", "ям", "ах", "ях", "ом", "ем", "ов", "ев", "ью", "ия",
    "ию", "ии", "ал", "ил", "ыл", "ел", "ят", "ут", "ют", "ат", "ет", "ит", "им", "а", "я", "о",
    "е", "ы", "и", "у", "ю", "ь", "й",
];

const ENGLISH_ENDINGS: &[&str] = &[
    "ational", "ations", "ation", "ments", "ment", "ness", "ings", "ing", "edly", "ies", "ied",
    "ed", "es", "ly", "s",
];

/// Words that carry no topic: function words, politeness, greetings,
/// acknowledgements and the words of any support question ("help",
/// "problem", "вопрос"), separated by spaces.
const STOP_WORDS_EN: &str = "\
    a an the and or but if so to of in on at by for with from about as into up down out \
    over off i me my mine myself we us our you your yours he him his she her it its they \
    them their this that these those there here what which who whom whose when where why \
    how is am are was were be been being do does did done doing have has had having can \
    could will would shall should may might must not no yes yeah yep ok okay k please pls \
    plz thanks thank thx ty hi hello hey hiya dear good morning afternoon evening just \
    also too very really still yet already now then than some any anything something \
    nothing all every each more most much many other another one get got im ive id ill \
    dont didnt doesnt cant cannot wont isnt arent wasnt werent havent hasnt hadnt couldnt \
    wouldnt shouldnt thats whats theres youre theyre lets want wanted like know tell need \
    help question questions problem issue thing things ask again sorry sure great alright \
    cool perfect understood right well oh btw anyone someone anybody way let see say only \
    even both same because since while after before until though although today tomorrow \
    yesterday ago soon lot lots bit gotten cheers wow hmm lol ah news update anyway guys \
    team support answer reply else unrelated different new";

const STOP_WORDS_RU: &str = "\
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только \
    ее мне было вот от меня еще нет о из ему теперь когда даже ну ли если уже или ни быть \
    был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где \
    есть надо ней для мы тебя их чем была сам чтоб без чего раз тоже себе под будет ж \
    тогда кто этот того потому этого какой какая какие какую совсем ним здесь этом один \
    одна одно мой моя мое мои моего моей моим моему тем чтобы нее сейчас были куда зачем \
    всех никогда можно при наконец об другой другая другое хоть после над больше тот та те \
    через эти нас про всего них много эту эта это этой свой свою своего перед лучше чуть \
    том нельзя такой им более всегда конечно всю между ваш ваша ваше ваши вашего вашей \
    вами пожалуйста пожалуйсто плиз спасибо спасиб благодарю здравствуйте здраствуйте \
    здрасте здрасьте привет приветствую добрый доброе доброго день вечер утро дня \
    подскажите скажите помогите вопрос вопросы вопроса проблема проблемы хочу хотела хотел \
    хотелось нужно нужен нужна ок окей ага угу понятно понял поняла ясно отлично супер \
    хорошо ладно жду подожду снова почему сколько который которая которые также просто \
    очень сегодня завтра вчера пока либо алло ау вроде кстати заодно спросить \
    новости вообще тема теме уточнить ребята поддержка ответ";

fn is_stop_word(word: &str) -> bool {
    static STOP_WORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
        STOP_WORDS_EN
            .split_whitespace()
            .chain(STOP_WORDS_RU.split_whitespace())
            .collect()
    });
    STOP_WORDS.contains(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Time {
        chrono::DateTime::from_timestamp(1_700_000_000 + min * 60, 0).unwrap()
    }

    fn customer(text: &str, min: i64) -> Said<'_> {
        Said {
            author: AuthorType::Customer,
            text,
            at: t(min),
        }
    }

    fn agent(text: &str, min: i64) -> Said<'_> {
        Said {
            author: AuthorType::Agent,
            text,
            at: t(min),
        }
    }

    /// Judges `message` written `min` minutes in, after `recent`, in a case
    /// whose subject is the first recent message.
    fn judged(recent: &[Said<'_>], text: &str, min: i64) -> Option<TopicShift> {
        let ctx = TopicContext {
            subject: recent.first().map_or("", |s| s.text),
            recent,
        };
        judge(&ctx, &customer(text, min))
    }

    #[test]
    fn a_case_suggests_its_latest_new_topic_unless_dismissed() {
        let messages = [
            customer("Where is my order 48213? It was supposed to arrive", 0),
            agent("The courier will contact you tomorrow.", 3),
            customer("ok thanks", 4),
            customer(
                "Good morning! How do I change the email on my account?",
                4 + 13 * 60,
            ),
            customer("It still shows the old one", 4 + 13 * 60 + 1),
        ];
        let (at, shift) =
            latest_shift(messages[0].text, &messages, |_| false).expect("a suggestion");
        assert_eq!(
            at, 3,
            "the message that changed the subject, not its follow-up"
        );
        assert!(shift.score >= THRESHOLD);
        assert_eq!(latest_shift(messages[0].text, &messages, |i| i == 3), None);
        // The first message never: nothing would stay behind.
        assert_eq!(latest_shift("", &messages[..1], |_| false), None);
        assert_eq!(latest_shift("", &[], |_| false), None);
    }

    #[test]
    fn a_different_question_after_a_night_is_a_new_topic_in_english() {
        let recent = [
            customer(
                "Where is my order 48213? It was supposed to arrive yesterday",
                0,
            ),
            agent(
                "The courier will contact you tomorrow between 10:00 and 14:00.",
                3,
            ),
            customer("ok thanks", 4),
        ];
        let shift = judged(
            &recent,
            "Good morning! How do I change the email on my account? It shows the old one",
            4 + 13 * 60 + 5,
        )
        .expect("a new topic");
        assert!(shift.score >= THRESHOLD);
        assert!(shift.reasons.contains(&TopicReason::Greeting));
        assert!(shift.reasons.contains(&TopicReason::Silence {
            minutes: 13 * 60 + 5
        }));
        assert!(
            shift
                .reasons
                .iter()
                .any(|r| matches!(r, TopicReason::LowOverlap { .. }))
        );
    }

    #[test]
    fn a_different_question_is_a_new_topic_in_russian() {
        let recent = [
            customer(
                "Здравствуйте, где мой заказ 48213? Должны были привезти вчера",
                0,
            ),
            agent("Курьер свяжется с Вами завтра с 10 до 14.", 3),
        ];
        let shift = judged(&recent, "И ещё вопрос: как отменить подписку Премиум?", 6)
            .expect("a new topic");
        assert_eq!(
            shift.reasons[0],
            TopicReason::Phrase {
                phrase: "ещё вопрос".to_owned()
            }
        );
        let shift = judged(
            &recent,
            "Добрый день! Хочу вернуть заказ 51877, пришёл не тот товар",
            600,
        )
        .expect("a new topic");
        assert!(shift.reasons.contains(&TopicReason::NewOrderNumber {
            number: "51877".to_owned()
        }));
    }

    #[test]
    fn follow_ups_are_no_new_topic_even_after_silence_and_a_greeting() {
        let recent = [
            customer("My parcel hasn't arrived yet, order 48213", 0),
            agent(
                "I'm sorry for the delay. Your parcel should arrive within 2 days.",
                5,
            ),
        ];
        assert_eq!(judged(&recent, "Hi, any news on my delivery?", 3000), None);
        assert_eq!(
            judged(&recent, "Hello again, the parcel still hasn't come", 3000),
            None
        );
        assert_eq!(
            judged(&recent, "hi, just following up on order 48213", 3000),
            None
        );
        assert_eq!(
            judged(&recent, "Hello", 1),
            None,
            "a greeting after a minute"
        );
        assert_eq!(judged(&recent, "thanks", 6), None);

        let recent = [
            customer("Посылка до сих пор не пришла, заказ 48213", 0),
            agent(
                "Приносим извинения за задержку, доставят в течение 2 дней.",
                5,
            ),
        ];
        assert_eq!(judged(&recent, "спасибо, всё понятно", 6), None);
        assert_eq!(
            judged(&recent, "Здравствуйте, посылка так и не пришла", 3000),
            None
        );
        assert_eq!(
            judged(&recent, "Добрый день! Есть новости по доставке?", 3000),
            None
        );
        assert_eq!(judged(&recent, "Заказ 48213, я же писала", 7), None);
    }

    #[test]
    fn an_order_number_or_address_the_agent_asked_for_is_no_new_topic() {
        let recent = [
            customer("I can't log in to my account, it says wrong password", 0),
            agent("What e-mail address is the account registered to?", 2),
        ];
        assert_eq!(judged(&recent, "it's anna.k@mail.ru", 3), None);
        let recent = [
            customer("Когда вернут деньги за возврат?", 0),
            agent("Назовите, пожалуйста, номер заказа.", 2),
        ];
        assert_eq!(judged(&recent, "№ 5512093", 3), None);
    }

    #[test]
    fn amounts_phone_numbers_and_dates_are_no_order_numbers() {
        let text = Text::read(
            "paid $1299 and 12990 руб, call +7 916 555-12-34 or 89165551234 on 12.05.2024",
        );
        assert!(text.numbers.is_empty(), "{:?}", text.numbers);
        let text = Text::read("order #4821, №  777, RU123456789CN and 1234567");
        assert_eq!(text.numbers, ["4821", "777", "ru123456789cn", "1234567"]);
        let text = Text::read("write to <Anna.K@Mail.ru>, not anna@localhost");
        assert_eq!(text.emails, ["anna.k@mail.ru"]);
    }

    #[test]
    fn words_are_compared_by_their_stems() {
        assert_eq!(key("доставили"), key("доставка"));
        assert_eq!(key("заказов"), key("заказу"));
        assert_eq!(
            key("Ёлка".to_lowercase().replace('ё', "е").as_str()),
            key("елки")
        );
        assert_eq!(key("charged"), key("charge"));
        assert_eq!(key("orders"), key("ordering"));
        assert_eq!(key("the"), None);
        assert_eq!(key("спасибо"), None);
        assert_eq!(Text::read("Didn't ЁЖИК").words, ["didnt", "ежик"]);
    }

    #[test]
    fn reasons_in_words() {
        let en = |r: TopicReason| r.describe_en();
        let ru = |r: TopicReason| r.describe_ru();
        assert_eq!(
            en(TopicReason::Silence { minutes: 135 }),
            "2 h 15 min of silence before it"
        );
        assert_eq!(
            en(TopicReason::Silence { minutes: 45 }),
            "45 min of silence before it"
        );
        assert_eq!(
            en(TopicReason::Silence { minutes: 120 }),
            "2 h of silence before it"
        );
        assert_eq!(
            en(TopicReason::Silence {
                minutes: 3 * 1440 + 130
            }),
            "3 days 2 h of silence before it"
        );
        assert_eq!(
            en(TopicReason::Silence { minutes: 1440 }),
            "1 day of silence before it"
        );
        assert_eq!(en(TopicReason::Greeting), "starts with a greeting");
        assert_eq!(
            en(TopicReason::NewOrderNumber {
                number: "48213".to_owned()
            }),
            "mentions a new order number 48213"
        );
        assert_eq!(
            en(TopicReason::NewEmail {
                address: "a@b.io".to_owned()
            }),
            "mentions a new e-mail address a@b.io"
        );
        assert_eq!(
            en(TopicReason::LowOverlap { percent: 5 }),
            "only 5 % of its words appear earlier in the case"
        );
        assert_eq!(
            en(TopicReason::Phrase {
                phrase: "one more question".to_owned()
            }),
            "says “one more question”"
        );
        assert_eq!(
            ru(TopicReason::Silence { minutes: 135 }),
            "перед ним 2 ч 15 мин тишины"
        );
        assert_eq!(
            ru(TopicReason::Silence {
                minutes: 2 * 1440 + 60
            }),
            "перед ним 2 дня 1 ч тишины"
        );
        assert_eq!(
            ru(TopicReason::Silence { minutes: 5 * 1440 }),
            "перед ним 5 дней тишины"
        );
        assert_eq!(
            ru(TopicReason::Silence { minutes: 21 * 1440 }),
            "перед ним 21 день тишины"
        );
        assert_eq!(
            ru(TopicReason::Silence { minutes: 11 * 1440 }),
            "перед ним 11 дней тишины"
        );
        assert_eq!(ru(TopicReason::Greeting), "начинается с приветствия");
        assert_eq!(
            ru(TopicReason::NewOrderNumber {
                number: "48213".to_owned()
            }),
            "упоминает новый номер заказа 48213"
        );
        assert_eq!(
            ru(TopicReason::LowOverlap { percent: 5 }),
            "лишь 5 % его слов встречались раньше в обращении"
        );
        assert_eq!(
            ru(TopicReason::Phrase {
                phrase: "ещё вопрос".to_owned()
            }),
            "пишет «ещё вопрос»"
        );
    }

    #[test]
    fn reasons_serialise_with_their_kind() {
        let shift = TopicShift {
            score: 0.75,
            reasons: vec![
                TopicReason::Silence { minutes: 90 },
                TopicReason::Greeting,
                TopicReason::LowOverlap { percent: 5 },
            ],
        };
        let json = serde_json::to_value(&shift).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"score": 0.75, "reasons": [
                {"kind": "silence", "minutes": 90},
                {"kind": "greeting"},
                {"kind": "low_overlap", "percent": 5},
            ]})
        );
        assert_eq!(serde_json::from_value::<TopicShift>(json).unwrap(), shift);
    }

    #[test]
    fn only_customers_messages_are_judged() {
        let recent = [customer("Where is my order 48213?", 0)];
        let ctx = TopicContext {
            subject: "Where is my order 48213?",
            recent: &recent,
        };
        let by_agent = agent(
            "By the way, order 99999 is a different question entirely",
            900,
        );
        assert_eq!(judge(&ctx, &by_agent), None);
    }

    #[test]
    fn the_message_itself_in_recent_is_ignored() {
        let message = customer("Another question: how do I cancel my subscription?", 5);
        let recent = [customer("Where is my order 48213?", 0), message];
        let ctx = TopicContext {
            subject: "Where is my order 48213?",
            recent: &recent,
        };
        assert!(judge(&ctx, &message).is_some());
    }

    #[test]
    fn no_weak_signal_fires_alone() {
        let recent = [
            customer("The app crashes every time I open the cart", 0),
            agent(
                "Our developers know about this issue and are working on a fix.",
                2,
            ),
        ];
        // A greeting, 30 s later; a greeting after three days; silence.
        assert_eq!(judged(&recent, "Hello!", 3), None);
        assert_eq!(judged(&recent, "Good morning", 3 * 1440), None);
        assert_eq!(judged(&recent, "??", 3 * 1440), None);
        // An order number given along the way.
        assert_eq!(judged(&recent, "my order is 48213 if it helps", 4), None);
        // A thank-you that says a little more.
        assert_eq!(
            judged(&recent, "Hi, the update fixed the crash, thanks!", 2000),
            None
        );
        let recent = [
            customer("Приложение вылетает каждый раз, когда открываю корзину", 0),
            agent("Разработчики знают о проблеме и уже исправляют.", 2),
        ];
        assert_eq!(judged(&recent, "Здравствуйте!", 3), None);
        assert_eq!(judged(&recent, "спасибо, всё понятно", 4), None);
        assert_eq!(
            judged(&recent, "Добрый день, обновление помогло, спасибо", 2000),
            None
        );
    }

    #[test]
    fn a_hello_first_is_where_the_topic_starts() {
        let recent = [
            customer("Добрый вечер", 0),
            agent("Здравствуйте! Меня зовут Анна, сейчас посмотрю.", 2),
        ];
        let ctx = TopicContext {
            subject: "Добрый вечер",
            recent: &recent,
        };
        let question = customer("Можно поменять адрес доставки для заказа #317578?", 3);
        assert_eq!(judge(&ctx, &question), None);
    }

    #[test]
    fn a_question_after_thanks_with_other_words_is_a_new_topic() {
        let recent = [
            customer("Не приходит смс с кодом для входа", 0),
            agent("Аккаунт разблокирован, попробуйте войти снова.", 5),
            customer("Получилось, спасибо!", 7),
            agent("Могу ли я ещё чем-то помочь?", 8),
        ];
        let shift = judged(&recent, "Можно оплатить заказ через СБП по счёту?", 9).expect("new");
        assert!(shift.reasons.contains(&TopicReason::AfterClosing));
        assert_eq!(
            TopicReason::AfterClosing.describe_en(),
            "comes after a thank-you or “anything else?”"
        );
    }

    #[test]
    fn slips_of_the_finger_are_forgiven() {
        let recent = [
            customer("I returned the item two weeks ago and still no money", 0),
            agent("The refund was issued on Monday; banks take 5-10 days.", 5),
        ];
        // "stlil" is "still": a follow-up, not new wording.
        assert_eq!(
            judged(&recent, "Good morning. The mony stlil isn't there", 3000),
            None
        );
        // "Diffferent question" is a phrase all the same.
        let shift = judged(
            &recent,
            "Diffferent question: how do I change my password?",
            6,
        )
        .expect("new");
        assert_eq!(
            shift.reasons[0],
            TopicReason::Phrase {
                phrase: "different question".to_owned()
            }
        );
        // Start-only words count after a greeting, not inside "ещё раз".
        assert!(
            Text::read("Hi, also how do I pay by card?")
                .phrase()
                .is_some()
        );
        assert_eq!(
            Text::read("Ещё раз здравствуйте, посылка где").phrase(),
            None
        );
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let huge = "заказ 12345 ".repeat(100_000);
        let emoji = "🎉🙂👍".repeat(1000);
        let odd = "@@@ @. .@ a@ @b #№# ##12 №№ $ + ' ’ ё Ё \u{0301}\u{200d} 𝟏𝟐𝟑𝟒𝟓 ١٢٣٤٥";
        let texts = ["", " ", "\n\t", emoji.as_str(), huge.as_str(), odd];
        for subject in texts {
            for text in texts {
                let recent = [customer(text, 0), agent(subject, 1)];
                let ctx = TopicContext {
                    subject,
                    recent: &recent,
                };
                let first = judge(&ctx, &customer(text, 100_000));
                assert_eq!(first, judge(&ctx, &customer(text, 100_000)));
                // Time running backwards is no silence.
                let _ = judge(&ctx, &customer(text, -100_000));
                let _ = judge(
                    &TopicContext {
                        subject,
                        recent: &[],
                    },
                    &customer(text, 0),
                );
            }
        }
        // A long text is read up to MAX_CHARS: an order number beyond it
        // does not count.
        let recent = [customer("Where is my order 48213?", 0)];
        let late_number = format!("{} order 99999", "word ".repeat(MAX_CHARS));
        let text = Text::read(&late_number);
        assert!(text.numbers.is_empty());
        let _ = judged(&recent, &late_number, 5);
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "заказ",
            "order",
            "12345",
            "#99",
            "№",
            "a@b.ru",
            "hi",
            "здравствуйте",
            "ещё",
            "вопрос",
            "🎉",
            " ",
            "\n",
            "'",
            "$",
            "+7",
            "still",
            "кстати",
            "Ё",
        ]);
        (
            prop::collection::vec(any::<char>(), 0..40),
            prop::collection::vec(pieces, 0..20),
        )
            .prop_map(|(chars, pieces)| {
                let mut s: String = chars.into_iter().collect();
                for p in pieces {
                    s.push(' ');
                    s.push_str(p);
                }
                s
            })
    }

    use proptest::prelude::*;

    proptest! {
        /// Any texts at any times: no panic, the same answer twice, a score
        /// in range and reasons only with a judged new topic.
        #[test]
        fn the_judgement_is_total_and_deterministic(
            subject in text_strategy(),
            earlier in prop::collection::vec((text_strategy(), any::<bool>(), -10_000i64..10_000), 0..6),
            text in text_strategy(),
            at in -10_000i64..100_000,
        ) {
            let recent: Vec<Said<'_>> = earlier
                .iter()
                .map(|(text, by_agent, min)| if *by_agent { agent(text, *min) } else { customer(text, *min) })
                .collect();
            let ctx = TopicContext { subject: &subject, recent: &recent };
            let message = customer(&text, at);
            let once = judge(&ctx, &message);
            prop_assert_eq!(&once, &judge(&ctx, &message));
            if let Some(shift) = once {
                prop_assert!(shift.score >= THRESHOLD && shift.score <= 1.0);
                prop_assert!(!shift.reasons.is_empty());
                for reason in &shift.reasons {
                    prop_assert!(!reason.describe_en().is_empty());
                    prop_assert!(!reason.describe_ru().is_empty());
                }
            }
        }
    }
}

//! The Help Center: a customer signs in and sees their own cases, across
//! channels, and may close them (R5, the fourth way).
//!
//! Who a signed-in person is: an e-mail address (every customer of the
//! account with that address, which an agent or a host site's signed user
//! gave them) and/or one customer (a widget visitor who followed the
//! widget's link). Sign-in links are one-time tokens valid for
//! [`LINK_TTL`]; they become a session token of [`SESSION_TTL`]. Tokens are
//! random and stored only as their SHA-256, like agents' and visitors'.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use casedesk_domain::{MessageKind, Status, Time};
use casedesk_store::{
    AttachmentRecord, CaseFilter, CaseRecord, CaseSort, ChannelRecord, CustomerRecord,
    HelpTokenKind, HelpTokenRecord, MessageRecord, SortOrder, StoreError, read, write,
};
use chrono::Duration;

use super::Mail;
use super::agent_actions;
use crate::App;
use crate::error::AppError;
use crate::util::{new_secret, sha256_hex};

/// How long a sign-in link works (once).
pub const LINK_TTL: Duration = Duration::minutes(15);
/// How long a Help Center session lasts.
pub const SESSION_TTL: Duration = Duration::days(30);
/// Most cases one person's list shows (per customer record).
const MAX_CASES: i64 = 200;

/// The languages of the Help Center and its mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    pub fn parse(s: Option<&str>) -> Lang {
        match s.map(|s| s.trim().to_ascii_lowercase()) {
            Some(s) if s.starts_with("ru") => Lang::Ru,
            _ => Lang::En,
        }
    }
}

/// A signed-in person of an account's Help Center.
#[derive(Debug, Clone)]
pub struct Person {
    pub account_id: String,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    /// The session token's hash (for signing out).
    pub session_hash: String,
}

/// The Help Center's address of an account.
pub fn help_url(base: &str, account_id: &str) -> String {
    format!("{base}/help/{account_id}")
}

/// The account `account_id`, or 404.
pub async fn account_name(app: &App, account_id: &str) -> Result<String, AppError> {
    let id = account_id.to_owned();
    read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.get_account(&id).await })
    })
    .await
    .map(|a| a.name)
    .map_err(|e| match e {
        StoreError::NotFound => AppError::not_found("help center"),
        e => e.into(),
    })
}

/// Mails a sign-in link to `email` when some customer of the account has
/// that address; answers the same either way, so nobody learns which
/// addresses are known. The mail is sent in the background.
pub async fn request_link(
    app: &App,
    account_id: &str,
    email: String,
    base: &str,
    lang: Lang,
) -> Result<(), AppError> {
    let account = account_name(app, account_id).await?;
    let (token, record) = new_link(account_id, Some(email.clone()), None, app.clock.now());
    let known = write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.delete_expired_help_tokens(record.created_at).await?;
            let customers = tx
                .list_customers_by_email(&record.account_id, record.email.as_deref().unwrap_or(""))
                .await?;
            if customers.is_empty() {
                return Ok(false);
            }
            tx.insert_help_token(&record).await?;
            Ok(true)
        })
    })
    .await?;
    if known {
        let link = format!("{}#login={token}", help_url(base, account_id));
        let mail = sign_in_mail(&account, email, &link, lang);
        let app = Arc::clone(app);
        tokio::spawn(async move { app.mailer.send(mail).await });
    } else {
        tracing::info!(
            account_id,
            "help center sign-in asked for an unknown address"
        );
    }
    Ok(())
}

/// A new sign-in link of [`LINK_TTL`] from `at` for whom it names: its
/// token, and the record to store.
fn new_link(
    account_id: &str,
    email: Option<String>,
    customer_id: Option<String>,
    at: Time,
) -> (String, HelpTokenRecord) {
    let token = new_secret();
    let record = HelpTokenRecord {
        token_hash: sha256_hex(&token),
        account_id: account_id.to_owned(),
        kind: HelpTokenKind::Link,
        email,
        customer_id,
        created_at: at,
        expires_at: at + LINK_TTL,
    };
    (token, record)
}

fn sign_in_mail(account: &str, to: String, link: &str, lang: Lang) -> Mail {
    let minutes = LINK_TTL.num_minutes();
    let (subject, body) = match lang {
        Lang::En => (
            format!("Sign in to {account} support"),
            format!(
                "Hello,\n\nto see your requests to {account}, open this link \
                 (it works once, for {minutes} minutes):\n\n{link}\n\n\
                 If you did not ask for it, ignore this message.\n"
            ),
        ),
        Lang::Ru => (
            format!("Вход в поддержку {account}"),
            format!(
                "Здравствуйте!\n\nЧтобы увидеть ваши обращения в {account}, откройте ссылку \
                 (она действует один раз, {minutes} минут):\n\n{link}\n\n\
                 Если вы не запрашивали вход, просто проигнорируйте это письмо.\n"
            ),
        ),
    };
    Mail { to, subject, body }
}

/// A one-time sign-in link for a widget visitor's customer: the widget's
/// "my requests" link. Returns the token.
pub async fn link_for_customer(app: &App, customer: &CustomerRecord) -> Result<String, AppError> {
    let (token, record) = new_link(
        &customer.account_id,
        customer.email.clone(),
        Some(customer.id.clone()),
        app.clock.now(),
    );
    write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            tx.delete_expired_help_tokens(record.created_at).await?;
            tx.insert_help_token(&record).await
        })
    })
    .await?;
    Ok(token)
}

fn bad_link() -> AppError {
    AppError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "bad_link",
        "this sign-in link is unknown, used or expired; ask for a new one",
    )
}

fn usable_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 200
}

/// Exchanges a sign-in link's token for a session: the link works once.
pub async fn open_session(
    app: &App,
    account_id: &str,
    link_token: &str,
) -> Result<(String, Person), AppError> {
    if !usable_token(link_token) {
        return Err(bad_link());
    }
    let (hash, account_id) = (sha256_hex(link_token), account_id.to_owned());
    let session = new_secret();
    let session_hash = sha256_hex(&session);
    let clock = app.clock.clone();
    let person = write::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let at = clock.now();
            let link = tx
                .take_help_token(&hash)
                .await?
                .filter(|t| {
                    t.kind == HelpTokenKind::Link && t.account_id == account_id && t.expires_at > at
                })
                .ok_or_else(bad_link)?;
            tx.insert_help_token(&HelpTokenRecord {
                token_hash: session_hash.clone(),
                kind: HelpTokenKind::Session,
                created_at: at,
                expires_at: at + SESSION_TTL,
                ..link.clone()
            })
            .await?;
            Ok(Person {
                account_id: link.account_id,
                email: link.email,
                customer_id: link.customer_id,
                session_hash,
            })
        })
    })
    .await?;
    Ok((session, person))
}

/// The person a session token of this account's Help Center stands for.
pub async fn person_of(
    app: &App,
    account_id: &str,
    session: Option<&str>,
) -> Result<Person, AppError> {
    let unauthorized = || AppError::unauthorized("not signed in to the help center");
    let session = session
        .filter(|t| usable_token(t))
        .ok_or_else(unauthorized)?;
    let hash = sha256_hex(session);
    let found = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.find_help_token(&hash).await })
    })
    .await?;
    let at = app.clock.now();
    let token = found
        .filter(|t| {
            t.kind == HelpTokenKind::Session && t.account_id == account_id && t.expires_at > at
        })
        .ok_or_else(unauthorized)?;
    Ok(Person {
        account_id: token.account_id,
        email: token.email,
        customer_id: token.customer_id,
        session_hash: token.token_hash,
    })
}

/// Ends a session.
pub async fn sign_out(app: &App, person: &Person) -> Result<(), AppError> {
    let hash = person.session_hash.clone();
    write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.take_help_token(&hash).await.map(drop) })
    })
    .await?;
    Ok(())
}

/// Every customer record of the person: the one they signed in as, all of
/// the account's customers with their address (or that customer's), and
/// the profiles linked to those.
async fn customers_of(
    tx: &mut dyn casedesk_store::Tx,
    person: &Person,
) -> Result<Vec<CustomerRecord>, StoreError> {
    let mut out: Vec<CustomerRecord> = Vec::new();
    let mut emails: Vec<String> = person.email.iter().cloned().collect();
    if let Some(id) = &person.customer_id {
        match tx.get_customer(&person.account_id, id).await {
            Ok(c) => {
                emails.extend(c.email.clone());
                out.push(c);
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    emails.sort();
    emails.dedup();
    for email in emails {
        for c in tx
            .list_customers_by_email(&person.account_id, &email)
            .await?
        {
            if !out.iter().any(|o| o.id == c.id) {
                out.push(c);
            }
        }
    }
    // And the profiles an agent linked to any of them (another channel's).
    let found: Vec<String> = out.iter().map(|c| c.id.clone()).collect();
    for id in found {
        for c in tx.list_linked_customers(&person.account_id, &id).await? {
            if !out.iter().any(|o| o.id == c.id) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// The ids of every customer record of the person.
pub async fn customer_ids(app: &App, person: &Person) -> Result<HashSet<String>, AppError> {
    let person = person.clone();
    let customers = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { customers_of(tx, &person).await })
    })
    .await?;
    Ok(customers.into_iter().map(|c| c.id).collect())
}

/// A case as the Help Center lists it.
#[derive(Debug, Clone)]
pub struct HelpCase {
    pub case: CaseRecord,
    pub channel: Option<ChannelRecord>,
}

/// The person's cases across channels, most recently active first
/// (merged cases live on in the case they were merged into).
pub async fn cases_of(app: &App, person: &Person) -> Result<Vec<HelpCase>, AppError> {
    let person = person.clone();
    let (mut cases, channels) = read::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let mut cases = Vec::new();
            for c in customers_of(tx, &person).await? {
                let filter = CaseFilter {
                    customer_id: Some(c.id.clone()),
                    sort: CaseSort::LastActivityAt,
                    order: SortOrder::Desc,
                    limit: MAX_CASES,
                    ..CaseFilter::default()
                };
                cases.extend(tx.list_cases(&person.account_id, &filter).await?);
            }
            let channels: HashMap<String, ChannelRecord> = tx
                .list_channels(&person.account_id)
                .await?
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect();
            Ok((cases, channels))
        })
    })
    .await?;
    cases.sort_by(|a, b| {
        b.last_activity_at
            .cmp(&a.last_activity_at)
            .then(b.id.cmp(&a.id))
    });
    Ok(cases
        .into_iter()
        .map(|case| HelpCase {
            channel: channels.get(&case.channel_id).cloned(),
            case,
        })
        .collect())
}

/// One of the person's cases with its public messages (never notes), or
/// 404 for any case that is not theirs.
pub async fn case_of(
    app: &App,
    person: &Person,
    case_id: &str,
) -> Result<(HelpCase, Vec<MessageRecord>, Vec<AttachmentRecord>), AppError> {
    let (person, case_id) = (person.clone(), case_id.to_owned());
    read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let case = own_case(tx, &person, &case_id).await?;
            let messages = tx
                .list_messages(&person.account_id, &case.id)
                .await?
                .into_iter()
                .filter(|m| m.kind == MessageKind::Message)
                .collect();
            let channel = tx.find_channel(&case.channel_id).await?;
            let files = tx.list_case_attachments(&case.id).await?;
            Ok((HelpCase { case, channel }, messages, files))
        })
    })
    .await
}

async fn own_case(
    tx: &mut dyn casedesk_store::Tx,
    person: &Person,
    case_id: &str,
) -> Result<CaseRecord, AppError> {
    let not_found = || AppError::not_found("case");
    let ids: HashSet<String> = customers_of(tx, person)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    match tx.get_case(&person.account_id, case_id).await {
        Ok(case) if ids.contains(&case.customer_id) && case.merged_into_id.is_none() => Ok(case),
        Ok(_) | Err(StoreError::NotFound) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// The person closes one of their cases (R5, the fourth way): closed, a
/// chat finished too, "closed by the customer" in its history; their next
/// message starts a new case.
pub async fn close(app: &App, person: &Person, case_id: &str) -> Result<CaseRecord, AppError> {
    let (p, id) = (person.clone(), case_id.to_owned());
    let case = read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move { own_case(tx, &p, &id).await })
    })
    .await?;
    if case.state.status == Status::Closed {
        return Err(AppError::conflict(
            "already_closed",
            "this case is already closed",
        ));
    }
    agent_actions::close_by_customer(app, person.account_id.clone(), case.customer_id, case.id)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_the_request() {
        assert_eq!(Lang::parse(Some("ru-RU,ru;q=0.9")), Lang::Ru);
        assert_eq!(Lang::parse(Some("en")), Lang::En);
        assert_eq!(Lang::parse(Some("de")), Lang::En);
        assert_eq!(Lang::parse(None), Lang::En);
    }

    #[test]
    fn the_mail_holds_the_link_in_both_languages() {
        let en = sign_in_mail(
            "Shop",
            "a@x.example".into(),
            "http://h/help/1#login=t",
            Lang::En,
        );
        assert!(en.body.contains("http://h/help/1#login=t") && en.subject.contains("Shop"));
        let ru = sign_in_mail(
            "Shop",
            "a@x.example".into(),
            "http://h/help/1#login=t",
            Lang::Ru,
        );
        assert!(ru.body.contains("http://h/help/1#login=t") && ru.subject.starts_with("Вход"));
    }
}

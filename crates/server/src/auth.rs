//! Agents, passwords and bearer tokens.
//!
//! Passwords are argon2id hashes, computed a few at a time whatever
//! arrives ([`HASHING_SLOTS`]); bearer tokens are random 256-bit secrets
//! stored only as SHA-256 hashes; failed logins are throttled per client
//! address and per address + email, so nobody can lock another person out.

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use casedesk_domain::{AutoFinishSettings, Role, Time};
use casedesk_store::{
    AccountRecord, AgentRecord, LimitEntries, Store, StoreError, TokenRecord, read, write,
};

use crate::App;
use crate::error::AppError;
use crate::util::{new_id, new_secret, sha256_hex};

/// How long a login token is valid.
pub const TOKEN_TTL_DAYS: i64 = 30;
/// Failed logins from one client address for one email before that pair
/// is refused for the rest of [`FAILURE_WINDOW`].
const MAX_FAILURES_PER_EMAIL: usize = 5;
/// Failed logins from one client address, whatever the emails.
const MAX_FAILURES_PER_CLIENT: usize = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Hashes computed at once. Each argon2 hash holds about 19 MiB and a core
/// for tens of milliseconds, so memory stays flat however many logins
/// arrive: the rest wait their turn, up to [`HASHING_QUEUE`] of them for
/// at most [`HASHING_WAIT`], and beyond that are told to retry (503).
pub static HASHING_SLOTS: LazyLock<usize> = LazyLock::new(|| {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
        .clamp(1, 8)
});
const HASHING_QUEUE: usize = 64;
const HASHING_WAIT: Duration = Duration::from_secs(5);

/// A pool of hashing threads with a bounded queue. The server's logins
/// have their own (in [`crate::AppState`]); setting passwords, which only
/// admins and the command line do, shares one per process.
///
/// The threads are its own, not tokio's blocking pool: the allocator keeps
/// each thread's freed argon2 memory for that thread's next hash, so a few
/// long-lived threads hold a few blocks, where a burst spread over the
/// blocking pool's many threads left hundreds of MiB held after it.
pub struct Hashing {
    slots: tokio::sync::Semaphore,
    queue: tokio::sync::Semaphore,
    jobs: std::sync::mpsc::SyncSender<HashJob>,
}

type HashJob = Box<dyn FnOnce() + Send>;

impl Default for Hashing {
    fn default() -> Self {
        let (jobs, next) = std::sync::mpsc::sync_channel::<HashJob>(*HASHING_SLOTS);
        let next = std::sync::Arc::new(Mutex::new(next));
        for _ in 0..*HASHING_SLOTS {
            let next = std::sync::Arc::clone(&next);
            let spawned = std::thread::Builder::new()
                .name("casedesk-hash".into())
                .spawn(move || {
                    loop {
                        // The lock is released before the job runs; the
                        // loop ends when the pool (its sender) is dropped.
                        let job = match next.lock() {
                            Ok(rx) => match rx.recv() {
                                Ok(job) => job,
                                Err(_) => return,
                            },
                            Err(_) => return,
                        };
                        job();
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start a password hashing thread: {e}");
            }
        }
        Hashing {
            slots: tokio::sync::Semaphore::new(*HASHING_SLOTS),
            queue: tokio::sync::Semaphore::new(HASHING_QUEUE),
            jobs,
        }
    }
}

static PASSWORD_SETTING: LazyLock<Hashing> = LazyLock::new(Hashing::default);

/// Runs one argon2 computation in a slot of `pool`, on its threads.
async fn in_hashing_slot<T: Send + 'static>(
    pool: &Hashing,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let busy = || {
        AppError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many sign-ins at once; try again in a moment",
        )
        .retry_after(1)
    };
    let _queued = pool.queue.try_acquire().map_err(|_| busy())?;
    let _slot = tokio::time::timeout(HASHING_WAIT, pool.slots.acquire())
        .await
        .map_err(|_| busy())?
        .map_err(AppError::internal)?;
    let (done, result) = tokio::sync::oneshot::channel();
    pool.jobs
        .try_send(Box::new(move || {
            let _ = done.send(work());
        }))
        .map_err(|_| busy())?;
    result.await.map_err(AppError::internal)
}

pub async fn hash_password(password: String) -> Result<String, AppError> {
    in_hashing_slot(&PASSWORD_SETTING, move || {
        let salt = SaltString::encode_b64(new_secret().as_bytes()[..16].as_ref())
            .map_err(AppError::internal)?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await?
}

async fn verify_password(pool: &Hashing, password: String, hash: String) -> Result<bool, AppError> {
    in_hashing_slot(pool, move || verify_in_place(password.as_bytes(), &hash)).await
}

thread_local! {
    /// The argon2 working memory of this hashing thread, kept for its next
    /// login: allocating ~19 MiB per login left the allocator holding
    /// several such blocks per thread after a burst.
    static ARGON2_MEMORY: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `password` matches the PHC string `hash`, computed in this
/// thread's reused working memory and compared in constant time.
fn verify_in_place(password: &[u8], hash: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        argon2::Algorithm::try_from(parsed.algorithm),
        argon2::Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = parsed
        .version
        .map_or(Ok(argon2::Version::default()), argon2::Version::try_from);
    let Ok(version) = version else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let hasher = Argon2::new(algorithm, version, params);
    let computed = ARGON2_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        memory.resize(blocks, argon2::Block::default());
        hasher.hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
    });
    computed.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
}

/// Emails are compared trimmed and lower-cased.
pub fn normalize_email(email: &str) -> Result<String, AppError> {
    // Counted as typed (lower-casing can lengthen a few letters), in
    // characters as the OpenAPI document's patterns count them.
    let typed = email.trim();
    let email = typed.to_lowercase();
    let valid = typed.chars().count() <= 254
        && email.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && !domain.is_empty() && !email.contains(char::is_whitespace)
        });
    if !valid {
        return Err(AppError::invalid_as(
            "email_invalid",
            "email must look like name@example.com",
        ));
    }
    Ok(email)
}

pub fn check_password_strength(password: &str) -> Result<(), AppError> {
    if password.chars().count() < 8 {
        return Err(AppError::invalid_as(
            "password_too_short",
            "password must be at least 8 characters",
        )
        .with(serde_json::json!({ "min": 8 })));
    }
    if password.chars().count() > 1024 {
        return Err(AppError::invalid_as(
            "password_too_long",
            "password must be at most 1024 characters",
        )
        .with(serde_json::json!({ "max": 1024 })));
    }
    Ok(())
}

/// Who a failed login counts against: the client address alone, and the
/// address with the email tried (tagged with the email, so that an admin
/// unlocking the agent forgets it from every address). Someone else's
/// failures, from another address, never lock a person out.
fn failure_keys(client: &str, email: &str) -> [(String, Option<String>, usize); 2] {
    [
        (format!("login-ip:{client}"), None, MAX_FAILURES_PER_CLIENT),
        (
            format!("login:{client}:{email}"),
            Some(failure_tag(email)),
            MAX_FAILURES_PER_EMAIL,
        ),
    ]
}

fn failure_tag(email: &str) -> String {
    format!("login:{email}")
}

/// Forgets the failed logins for `email` from every address (an admin
/// unlocking an agent, a new password).
pub async fn clear_failures(app: &App, email: &str) -> Result<(), AppError> {
    app.limits
        .forget(LimitEntries::Tag(&failure_tag(email)))
        .await
}

/// Logs in from `client` (the address key of [`crate::http::api::client_key`])
/// and returns a new bearer token.
pub async fn login(
    app: &App,
    client: &str,
    email: &str,
    password: String,
) -> Result<String, AppError> {
    let agent = check_password(app, client, email, password).await?;
    if !agent.active() {
        return Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "agent_disabled",
            "this agent is disabled; ask an admin",
        ));
    }
    let token = new_secret();
    let at = app.clock.now();
    let record = TokenRecord {
        token_hash: sha256_hex(&token),
        account_id: agent.account_id.clone(),
        agent_id: agent.id.clone(),
        created_at: at,
        expires_at: at + chrono::Duration::days(TOKEN_TTL_DAYS),
    };
    write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.insert_token(&record).await })
    })
    .await?;
    Ok(token)
}

/// The agent whose `email` and `password` these are, tried from `client`:
/// throttled, and failures counted, as logins are.
pub async fn check_password(
    app: &App,
    client: &str,
    email: &str,
    password: String,
) -> Result<AgentRecord, AppError> {
    let invalid = || {
        AppError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "invalid email or password",
        )
    };
    let Ok(email) = normalize_email(email) else {
        return Err(invalid());
    };
    for (key, _, max) in failure_keys(client, &email) {
        app.limits
            .check(&key, max, "too many failed logins; try again later")
            .await?;
    }
    let lookup = email.clone();
    let agent: Option<AgentRecord> = read(&*app.store, move |tx| {
        Box::pin(async move { tx.find_agent_by_email(&lookup).await })
    })
    .await?;
    // Verify against a fixed hash when the agent is unknown so that timing
    // does not tell which emails exist.
    let hash = agent
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| app.dummy_hash.clone());
    let ok = verify_password(&app.hashing, password, hash).await?;
    let Some(agent) = agent.filter(|_| ok) else {
        // The answer stays "invalid" whatever happens to the count.
        for (key, tag, _) in failure_keys(client, &email) {
            if let Err(e) = app
                .limits
                .record(&key, tag.as_deref(), FAILURE_WINDOW)
                .await
            {
                tracing::warn!("counting a failed login failed: {}", e.message);
            }
        }
        return Err(invalid());
    };
    // A right password is not refused because its address's failures
    // could not be forgotten.
    let [_, (pair, _, _)] = failure_keys(client, &email);
    if let Err(e) = app.limits.forget(LimitEntries::Key(&pair)).await {
        tracing::warn!("forgetting failed logins failed: {}", e.message);
    }
    Ok(agent)
}

pub async fn logout(app: &App, token_hash: String) -> Result<(), AppError> {
    write::<_, StoreError, _>(&*app.store, move |tx| {
        Box::pin(async move { tx.delete_token(&token_hash).await })
    })
    .await?;
    Ok(())
}

/// The authenticated agent of a request.
#[derive(Debug, Clone)]
pub struct Agent {
    pub record: AgentRecord,
    pub token_hash: String,
}

impl Agent {
    pub fn account_id(&self) -> &str {
        &self.record.account_id
    }

    pub fn actor(&self) -> crate::usecases::unit::AgentActor {
        crate::usecases::unit::AgentActor {
            account_id: self.record.account_id.clone(),
            agent_id: self.record.id.clone(),
        }
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.record.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::forbidden("only admins may do this"))
        }
    }
}

// ---------------------------------------------------------------- browser sessions

/// The HttpOnly cookie holding a browser's login token (the same tokens as
/// bearer logins, stored hashed).
pub const SESSION_COOKIE: &str = "casedesk_session";
/// The script-readable cookie holding the CSRF token of the session.
pub const CSRF_COOKIE: &str = "casedesk_csrf";
/// The header a cookie-authenticated state-changing request must echo the
/// CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The CSRF token of a session: an HMAC of a fixed label keyed with the
/// session token. Whoever cannot read the HttpOnly session cookie cannot
/// compute it, and the server keeps no extra state to check it.
pub fn csrf_token(session_token: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(session_token.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"casedesk csrf v1");
    hex::encode(mac.finalize().into_bytes())
}

/// A cookie of the request by name (every `Cookie` header is searched).
pub fn cookie<'a>(headers: &'a header::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Cookies are marked `Secure` when the request reached a TLS-terminating
/// proxy (`X-Forwarded-Proto: https`); plain-http setups (localhost, tests)
/// would otherwise never get their cookie back.
pub(crate) fn secure_attr(headers: &header::HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if https { "; Secure" } else { "" }
}

/// `Set-Cookie` values that start a browser session with `token`.
pub fn session_cookies(headers: &header::HeaderMap, token: &str) -> [header::HeaderValue; 2] {
    let secure = secure_attr(headers);
    let max_age = TOKEN_TTL_DAYS * 24 * 3600;
    let session = format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    );
    let csrf = format!(
        "{CSRF_COOKIE}={}; Path=/; Max-Age={max_age}; SameSite=Lax{secure}",
        csrf_token(token)
    );
    // Hex and fixed attributes only: always valid header values.
    [session, csrf].map(|c| header::HeaderValue::from_str(&c).expect("cookie is ASCII"))
}

/// `Set-Cookie` values that end a browser session.
pub fn clear_session_cookies(headers: &header::HeaderMap) -> [header::HeaderValue; 2] {
    let secure = secure_attr(headers);
    [
        format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"),
        format!("{CSRF_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax{secure}"),
    ]
    .map(|c| header::HeaderValue::from_str(&c).expect("cookie is ASCII"))
}

/// A state-changing request authenticated by the session cookie must carry
/// the session's CSRF token in [`CSRF_HEADER`]: another site can make the
/// browser send the cookie, but it can neither read the token nor set the
/// header on a cross-site request without CORS, which casedesk never allows.
fn check_csrf(parts: &Parts, session_token: &str) -> Result<(), AppError> {
    use subtle::ConstantTimeEq;
    let sent = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let expected = csrf_token(session_token);
    if bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "csrf",
            "missing or wrong X-CSRF-Token header for a cookie-authenticated request",
        ))
    }
}

pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The agent a login token signs in: `None` when the token is unknown or
/// expired, or the agent disabled or deleted.
pub async fn agent_of_token(
    app: &App,
    token_hash: String,
) -> Result<Option<AgentRecord>, AppError> {
    let clock = app.clock.clone();
    read::<_, AppError, _>(&*app.store, move |tx| {
        Box::pin(async move {
            let Some(token) = tx.find_token(&token_hash).await? else {
                return Ok(None);
            };
            if token.expires_at <= clock.now() {
                return Ok(None);
            }
            match tx.get_agent(&token.account_id, &token.agent_id).await {
                Ok(a) => Ok(Some(a).filter(AgentRecord::active)),
                Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    })
    .await
}

impl FromRequestParts<App> for Agent {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        // A bearer token wins over a cookie: API clients are not browsers
        // and need no CSRF token.
        let (token, via_cookie) = match bearer(parts) {
            Some(t) => (t, false),
            None => (
                cookie(&parts.headers, SESSION_COOKIE).ok_or_else(|| {
                    AppError::unauthorized("missing bearer token or session cookie")
                })?,
                true,
            ),
        };
        let token_hash = sha256_hex(token);
        let agent = agent_of_token(app, token_hash.clone())
            .await?
            .ok_or_else(|| AppError::unauthorized("invalid or expired token"))?;
        if via_cookie && !parts.method.is_safe() {
            check_csrf(parts, token)?;
        }
        Ok(Agent {
            record: agent,
            token_hash,
        })
    }
}

// ---------------------------------------------------------------- administration

/// Creates an account with its first admin, created `at`.
pub async fn create_account(
    store: &dyn Store,
    name: &str,
    admin_email: &str,
    admin_password: &str,
    at: Time,
) -> Result<(AccountRecord, AgentRecord), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid_as(
            "name_length",
            "account name must be 1 to 200 characters",
        )
        .with(serde_json::json!({ "max": 200 })));
    }
    let email = normalize_email(admin_email)?;
    check_password_strength(admin_password)?;
    let hash = hash_password(admin_password.to_owned()).await?;
    let account = AccountRecord {
        id: new_id(),
        name: name.to_owned(),
        settings: AutoFinishSettings::default(),
        time_zone: casedesk_domain::AccountTimeZone::default(),
        business_hours: None,
        assign_on_reply: true,
        created_at: at,
    };
    let agent = AgentRecord {
        id: new_id(),
        account_id: account.id.clone(),
        name: email.split('@').next().unwrap_or_default().to_owned(),
        email,
        role: Role::Admin,
        password_hash: hash,
        created_at: at,
        disabled_at: None,
        deleted_at: None,
    };
    let (a, g) = (account.clone(), agent.clone());
    write::<_, AppError, _>(store, move |tx| {
        Box::pin(async move {
            tx.insert_account(&a).await?;
            insert_agent_unique(tx, &g).await
        })
    })
    .await?;
    Ok((account, agent))
}

async fn insert_agent_unique(
    tx: &mut dyn casedesk_store::Tx,
    agent: &AgentRecord,
) -> Result<(), AppError> {
    if tx.find_agent_by_email(&agent.email).await?.is_some() {
        return Err(AppError::conflict(
            "email_taken",
            format!("an agent with email {} already exists", agent.email),
        ));
    }
    tx.insert_agent(agent).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            AppError::conflict("email_taken", "an agent with this email already exists")
        }
        other => other.into(),
    })
}

/// Adds an agent to an account, created `at`.
pub async fn create_agent(
    store: &dyn Store,
    account_id: &str,
    email: &str,
    name: Option<&str>,
    role: Role,
    password: &str,
    at: Time,
) -> Result<AgentRecord, AppError> {
    let email = normalize_email(email)?;
    check_password_strength(password)?;
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default())
        .to_owned();
    if name.chars().count() > 200 {
        return Err(
            AppError::invalid_as("name_length", "name must be at most 200 characters")
                .with(serde_json::json!({ "max": 200 })),
        );
    }
    let agent = AgentRecord {
        id: new_id(),
        account_id: account_id.to_owned(),
        email,
        name,
        role,
        password_hash: hash_password(password.to_owned()).await?,
        created_at: at,
        disabled_at: None,
        deleted_at: None,
    };
    let a = agent.clone();
    write::<_, AppError, _>(store, move |tx| {
        Box::pin(async move {
            tx.get_account(&a.account_id)
                .await
                .map_err(crate::usecases::unit::not_found("account"))?;
            insert_agent_unique(tx, &a).await
        })
    })
    .await?;
    Ok(agent)
}

/// Sets a new password for the agent with `email` and ends every session
/// and token they had: whoever held an old one is signed out. Returns how
/// many sessions ended.
pub async fn reset_password(
    store: &dyn Store,
    email: &str,
    password: &str,
) -> Result<u64, AppError> {
    let email = normalize_email(email)?;
    check_password_strength(password)?;
    let hash = hash_password(password.to_owned()).await?;
    write::<_, AppError, _>(store, move |tx| {
        Box::pin(async move {
            let agent = tx
                .find_agent_by_email(&email)
                .await?
                .filter(|a| a.deleted_at.is_none())
                .ok_or_else(|| AppError::not_found("agent"))?;
            tx.set_agent_password(&agent.id, &hash).await?;
            Ok(tx.delete_agent_tokens(&agent.id).await?)
        })
    })
    .await
}

/// On the first start with an empty database: one account and its admin,
/// created `at`. Returns the generated password when none was given, to
/// print once.
pub async fn bootstrap(
    store: &dyn Store,
    email: Option<&str>,
    password: Option<&str>,
    at: Time,
) -> Result<Option<(String, Option<String>)>, AppError> {
    let count = read::<_, StoreError, _>(store, |tx| {
        Box::pin(async move { tx.count_accounts().await })
    })
    .await?;
    if count > 0 {
        return Ok(None);
    }
    let email = email.unwrap_or("admin@example.com");
    let generated = password.is_none().then(|| new_secret()[..20].to_owned());
    let password = password
        .map(str::to_owned)
        .or(generated.clone())
        .unwrap_or_default();
    create_account(store, "casedesk", email, &password, at).await?;
    Ok(Some((normalize_email(email)?, generated)))
}

/// A hash to verify against when the email is unknown.
pub async fn dummy_hash() -> Result<String, AppError> {
    hash_password(new_secret()).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use axum::http::header::{COOKIE, HeaderValue};

    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name_in_every_header() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; casedesk_session_x=no"),
        );
        h.append(
            COOKIE,
            HeaderValue::from_static("b=2;casedesk_session= abc ; c=3"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "missing"), None);
        let mut empty = HeaderMap::new();
        empty.append(COOKIE, HeaderValue::from_static("casedesk_session="));
        assert_eq!(cookie(&empty, SESSION_COOKIE), None);
    }

    #[test]
    fn passwords_verify_in_reused_memory() {
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let hash = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .expect("hash")
            .to_string();
        assert!(verify_in_place(b"correct horse", &hash));
        assert!(!verify_in_place(b"correct hors", &hash));
        assert!(
            verify_in_place(b"correct horse", &hash),
            "twice, same memory"
        );
        assert!(!verify_in_place(b"correct horse", "not a PHC string"));
        let tampered = hash.replace("$argon2id$", "$argon2i$");
        assert!(!verify_in_place(b"correct horse", &tampered));
    }

    #[test]
    fn csrf_tokens_are_per_session_and_stable() {
        let a = csrf_token("session-a");
        assert_eq!(a, csrf_token("session-a"));
        assert_ne!(a, csrf_token("session-b"));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("session"));
    }

    #[test]
    fn session_cookies_have_the_right_attributes() {
        let plain = HeaderMap::new();
        let [session, csrf] = session_cookies(&plain, "tok");
        let session = session.to_str().unwrap_or_default();
        assert!(session.starts_with("casedesk_session=tok; Path=/;"));
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
        assert!(!session.contains("Secure"));
        let csrf = csrf.to_str().unwrap_or_default();
        assert!(csrf.starts_with(&format!("casedesk_csrf={};", csrf_token("tok"))));
        assert!(!csrf.contains("HttpOnly"));
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        for c in session_cookies(&proxied, "tok")
            .iter()
            .chain(clear_session_cookies(&proxied).iter())
        {
            assert!(c.to_str().unwrap_or_default().ends_with("; Secure"));
        }
    }
}

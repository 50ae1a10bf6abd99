//! A channel's mailbox over IMAP (async-imap over tokio-rustls): opened
//! with each failure told in plain words (the name, the connection, TLS,
//! the login, the folder), its new letters fetched by UID without marking
//! them read, and marked `\Seen` only once they are stored.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_imap::Client;
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use super::{Imap, Security};

/// How long connecting, the TLS handshake and each command may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Most letters fetched in one go (each may be megabytes).
pub const FETCH_BATCH: usize = 20;

/// A connection to the mail server, plain or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Stream for T {}

pub type Session = async_imap::Session<Box<dyn Stream>>;

/// What went wrong with a mailbox, in words an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapError {
    /// The host name has no address.
    Dns(String),
    /// Nothing answered at the address, or not in time.
    Connect(String),
    /// The TLS handshake (or STARTTLS) failed: a certificate, a protocol.
    Tls(String),
    /// The server refused the user name or password.
    Login(String),
    /// The folder does not exist or cannot be opened.
    Folder(String),
    /// The server said something unexpected, or the connection broke.
    Protocol(String),
}

impl fmt::Display for ImapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImapError::Dns(e) => write!(f, "the IMAP host name could not be resolved: {e}"),
            ImapError::Connect(e) => write!(f, "the IMAP server could not be reached: {e}"),
            ImapError::Tls(e) => write!(f, "the secure connection (TLS) failed: {e}"),
            ImapError::Login(e) => write!(f, "the IMAP server refused the user or password: {e}"),
            ImapError::Folder(e) => write!(f, "the folder could not be opened: {e}"),
            ImapError::Protocol(e) => write!(f, "the IMAP server failed: {e}"),
        }
    }
}

fn protocol(e: impl fmt::Display) -> ImapError {
    ImapError::Protocol(e.to_string())
}

async fn step<T, E: fmt::Display>(
    what: impl FnOnce(String) -> ImapError,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(what(e.to_string())),
        Err(_) => Err(what(format!(
            "no answer within {} s",
            STEP_TIMEOUT.as_secs()
        ))),
    }
}

fn tls_connector() -> TlsConnector {
    let roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("ring supports the default TLS versions"))
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn tls(host: &str, tcp: TcpStream) -> Result<Box<dyn Stream>, ImapError> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| ImapError::Tls(format!("{host}: {e}")))?;
    let stream = step(ImapError::Tls, tls_connector().connect(name, tcp)).await?;
    Ok(Box::new(stream))
}

/// Connects, logs in and opens the folder; with the folder's state.
pub async fn open(
    imap: &Imap,
    password: &str,
) -> Result<(Session, async_imap::types::Mailbox), ImapError> {
    let addresses: Vec<_> = step(
        ImapError::Dns,
        tokio::net::lookup_host((imap.host.as_str(), imap.port)),
    )
    .await?
    .collect();
    if addresses.is_empty() {
        return Err(ImapError::Dns(format!("{} has no address", imap.host)));
    }
    let tcp = step(ImapError::Connect, TcpStream::connect(&addresses[..])).await?;
    let stream: Box<dyn Stream> = match imap.security {
        Security::Tls => tls(&imap.host, tcp).await?,
        Security::None => Box::new(tcp),
        Security::Starttls => {
            let mut client = Client::new(tcp);
            step(ImapError::Connect, client.read_response()).await?;
            step(
                ImapError::Tls,
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            tls(&imap.host, client.into_inner()).await?
        }
    };
    let mut client = Client::new(stream);
    if imap.security != Security::Starttls {
        let greeting = step(ImapError::Connect, client.read_response()).await?;
        if greeting.is_none() {
            return Err(ImapError::Connect(
                "the server closed the connection".into(),
            ));
        }
    }
    let mut session =
        match tokio::time::timeout(STEP_TIMEOUT, client.login(&imap.user, password)).await {
            Ok(Ok(s)) => s,
            Ok(Err((e, _))) => return Err(ImapError::Login(e.to_string())),
            Err(_) => return Err(ImapError::Login("no answer in time".into())),
        };
    let mailbox = step(ImapError::Folder, session.select(&imap.folder)).await?;
    if mailbox.uid_validity.is_none() {
        return Err(ImapError::Folder(
            "the server keeps no UIDs for this folder (no UIDVALIDITY)".into(),
        ));
    }
    Ok((session, mailbox))
}

/// The UIDs from `from` on in the open folder, in order, at most `limit`.
pub async fn new_uids(
    session: &mut Session,
    from: u32,
    limit: usize,
) -> Result<Vec<u32>, ImapError> {
    // `n:*` also names the last letter when every UID is below n: filter.
    let found = step(protocol, session.uid_search(format!("UID {from}:*"))).await?;
    let mut uids: Vec<u32> = found.into_iter().filter(|u| *u >= from).collect();
    uids.sort_unstable();
    uids.truncate(limit);
    Ok(uids)
}

/// The raw letters of `uids`, without marking them read.
pub async fn fetch(session: &mut Session, uids: &[u32]) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let set = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let fetched: Vec<_> = step(protocol, async {
        session
            .uid_fetch(&set, "(UID BODY.PEEK[])")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    let mut letters: Vec<(u32, Vec<u8>)> = fetched
        .iter()
        .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
        .filter(|(uid, _)| uids.contains(uid))
        .collect();
    letters.sort_by_key(|(uid, _)| *uid);
    Ok(letters)
}

/// Marks letters read in the mailbox (once they are stored).
pub async fn mark_seen(session: &mut Session, uids: &[u32]) -> Result<(), ImapError> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    step(protocol, async {
        session
            .uid_store(&set, "+FLAGS.SILENT (\\Seen)")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await
    .map(drop)
}

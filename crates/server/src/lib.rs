//! The casedesk server, in rooms by role: [`http`] (the v1 API, the web
//! front ends, request checks, the listener), [`channels`] (adapters of
//! the outside world: the `api` webhook channel, the widget), [`usecases`]
//! (each a unit of work: inbound routing, agent actions, lifecycle,
//! deadlines, automation, templates, the Help Center, attachments) and
//! [`workers`] (the timer and outbox loops, mail). Shared ground: the
//! [`clock`], the one [`error`] type, the [`events`] bus, [`util`]; and
//! [`auth`]. This file builds the state they share and runs the server.
//!
//! Data flows one way: HTTP or channel → use case → domain decides → store
//! persists in one transaction → notices out (SSE) and work for the
//! workers (outbox, timers). No room imports one above it; see
//! docs/architecture.md. The server never reads the environment: the
//! binary passes a [`Config`].

#![forbid(unsafe_code)]

pub mod auth;
pub mod channels;
pub mod clock;
pub mod error;
pub mod events;
pub mod http;
pub mod import;
pub mod limits;
pub mod usecases;
pub mod util;
pub mod workers;

use std::future::Future;
use std::sync::Arc;

use casedesk_store::Store;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::error::AppError;
use crate::events::{Hub, Logged};
use crate::http::listen;

/// What the server needs besides its store and listener.
#[derive(Clone, Default)]
pub struct Config {
    /// First admin of a fresh database (SPEC: `CASEDESK_ADMIN_EMAIL`).
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    /// The address sites reach the server at (`https://help.example`), for
    /// widget snippets; unset, the address each request came to.
    pub public_url: Option<String>,
    /// Where mail goes (`smtps://user:pass@host:465`); unset, mail is
    /// written to the log instead.
    pub smtp_url: Option<String>,
    /// The sender of outgoing mail (`Support <help@shop.example>`).
    pub smtp_from: Option<String>,
    /// The header a reverse proxy puts the client's address in
    /// (`X-Forwarded-For`, `X-Real-IP`), for per-address limits; unset,
    /// the connection's peer address counts.
    pub client_ip_header: Option<String>,
    /// Where attachments are kept; unset, uploads are refused (503).
    pub attachments_dir: Option<std::path::PathBuf>,
    /// Largest attachment, bytes ([`usecases::attachments::DEFAULT_MAX_BYTES`] unset).
    pub attachment_max_bytes: Option<u64>,
    /// Connections held at once and the wait for a request's headers.
    pub limits: listen::Limits,
    /// Webhooks may go to loopback and private networks (a messenger bridge
    /// on the same host or LAN). Link-local and metadata addresses stay
    /// refused either way ([`webhook::reach`](channels::api::webhook::reach)).
    pub webhook_allow_private: bool,
    /// An HTTP proxy every webhook delivery goes through (an egress proxy
    /// with rules of its own); the address rule still refuses IP literals
    /// it forbids, but the proxy resolves host names.
    pub webhook_proxy: Option<String>,
    /// How often a delivery is tried before it fails for good; unset,
    /// [`Retry::default`](channels::api::webhook::Retry::default).
    pub webhook_retry: Option<channels::api::webhook::Retry>,
    /// Where "now" comes from: the system's clock, or a test's
    /// [`clock::ManualClock`].
    pub clock: clock::Clock,
    /// The Telegram Bot API server (`CASEDESK_TELEGRAM_API_URL`); unset,
    /// the official one.
    pub telegram_api_url: Option<String>,
    /// How long one long-polling `getUpdates` waits; unset,
    /// [`DEFAULT_POLL_WAIT`](channels::telegram::DEFAULT_POLL_WAIT).
    pub telegram_poll_wait: Option<std::time::Duration>,
    /// NATS (`nats://host:4222`), through which several servers on one
    /// database tell each other of changes for their live clients
    /// ([`events::nats`]); unset, one server alone.
    pub nats_url: Option<String>,
    /// How often a feed with live clients is read when nothing announced a
    /// change; unset, [`events::POLL`]. Tests that prove an announcement
    /// arrived set it beyond their patience.
    pub live_poll: Option<std::time::Duration>,
    /// How often an open event stream checks that its credential still
    /// holds; unset, [`CREDENTIAL_RECHECK`](http::api::stream::CREDENTIAL_RECHECK).
    /// A revocation on any server ends the streams at once; tests that
    /// prove it set this beyond their patience.
    pub credential_recheck: Option<std::time::Duration>,
    /// How long a server holds an import it works on before another (or
    /// itself, restarted after a crash) takes it over; unset,
    /// [`DEFAULT_IMPORT_LEASE`](usecases::import::DEFAULT_IMPORT_LEASE).
    pub import_lease: Option<std::time::Duration>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("admin_email", &self.admin_email)
            .field("public_url", &self.public_url)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "***"))
            .field("smtp_from", &self.smtp_from)
            .field("client_ip_header", &self.client_ip_header)
            .field("attachments_dir", &self.attachments_dir)
            .field("attachment_max_bytes", &self.attachment_max_bytes)
            .field("limits", &self.limits)
            .field("webhook_allow_private", &self.webhook_allow_private)
            .field("webhook_proxy", &self.webhook_proxy)
            .field("webhook_retry", &self.webhook_retry)
            .field("clock", &self.clock)
            .field("telegram_api_url", &self.telegram_api_url)
            .field("telegram_poll_wait", &self.telegram_poll_wait)
            .field("nats_url", &self.nats_url.as_ref().map(|_| "***"))
            .field("live_poll", &self.live_poll)
            .field("credential_recheck", &self.credential_recheck)
            .field("import_lease", &self.import_lease)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// Shared by every request and worker.
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// "Now" for every rule ([`Config::clock`]).
    pub clock: clock::Clock,
    /// One round at a time of each worker ([`AppState::run_due_work`]).
    pub(crate) rounds: workers::Rounds,
    /// Customer messages waiting to be routed in batches.
    pub ingest: usecases::inbound::Ingest,
    /// The live feeds this server reads for its event streams.
    pub live: Hub,
    /// Rung after a commit that may have moved a chat deadline or a rule
    /// timer.
    pub timers: workers::timers::TimerBell,
    /// Poked after a commit that queued an outbound delivery.
    pub outbox_changed: Notify,
    /// An upload was staged: the import worker looks again.
    pub imports_changed: Notify,
    /// [`Config::import_lease`].
    pub import_lease: chrono::Duration,
    /// The imports this process is receiving.
    pub uploads: usecases::import::Uploads,
    /// Poked after a messenger update was stored.
    pub updates_changed: Notify,
    /// Poked after a Telegram bot was connected.
    pub telegram_changed: Notify,
    /// Poked after an e-mail channel with an IMAP mailbox was connected.
    pub mailboxes_changed: Notify,
    /// The Telegram Bot API and this process's poll leases.
    pub telegram: channels::telegram::Telegram,
    /// The hashing slots of logins: whatever arrives, only so many argon2
    /// computations (and their memory) at once.
    pub hashing: auth::Hashing,
    /// Whose credentials were just revoked (`agent:{id}`, `customer:{id}`),
    /// so that their open event streams end at once (other servers'
    /// streams notice within seconds by checking their credential).
    pub revoked: tokio::sync::broadcast::Sender<String>,
    /// How often an open event stream checks its credential
    /// ([`Config::credential_recheck`]).
    pub credential_recheck: std::time::Duration,
    /// Failed logins, the widget's and Help Center's rate limits, open
    /// event streams: in memory, and in the database too when several
    /// servers share it ([`Config::nats_url`]).
    pub limits: Arc<limits::Limits>,
    /// [`Config::public_url`], checked.
    pub public_url: Option<String>,
    /// `http://` and the address the server listens on: the address of
    /// mailed links when no public URL is configured.
    pub listen_url: String,
    /// Webhook deliveries' client ([`client`](channels::api::webhook::client)).
    pub http: reqwest::Client,
    /// [`Config::webhook_allow_private`].
    pub webhook_allow_private: bool,
    pub webhook_retry: channels::api::webhook::Retry,
    /// Outgoing mail (Help Center sign-in links).
    pub mailer: workers::mail::Mailer,
    /// The attachments directory, when configured.
    pub files: Option<usecases::attachments::Files>,
    /// [`Config::client_ip_header`], checked.
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// Flips to `true` when the server starts shutting down.
    pub shutdown: watch::Receiver<bool>,
    dummy_hash: String,
}

pub type App = Arc<AppState>;

impl AppState {
    /// The credentials of `subject` (`agent:{id}`, `customer:{id}`) were
    /// revoked: their event streams end, here and on the other servers.
    pub(crate) fn revoke(&self, subject: String) {
        self.live.revoke(subject);
    }

    pub(crate) fn after_commit(&self, logged: Logged, timers_changed: bool) {
        self.live.announce(logged);
        if timers_changed {
            self.timers.ring();
        }
    }

    /// [`AppState::after_commit`] of a change that may have moved timers
    /// and queued webhook deliveries (its own or its rules').
    pub(crate) fn after_change_commit(&self, logged: Logged, queued: bool) {
        self.after_commit(logged, true);
        if queued {
            self.outbox_changed.notify_one();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("start-up failed: {0}")]
    Startup(String),
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Creates the first account when the database is empty, then serves on
/// `listener` until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    Server::new(listener, store, config)
        .await?
        .run(shutdown)
        .await
}

/// A server ready to serve: its first account made and its state built, so
/// that the caller can say where it listens, or keep its [`App`] (tests
/// run the workers' due work through it), before [`Server::run`].
pub struct Server {
    app: App,
    listener: TcpListener,
    limits: listen::Limits,
    stop: watch::Sender<bool>,
}

impl Server {
    /// Creates the first account when the database is empty and checks the
    /// configuration.
    pub async fn new(
        listener: TcpListener,
        store: Arc<dyn Store>,
        config: Config,
    ) -> Result<Server, ServeError> {
        let startup = |e: AppError| ServeError::Startup(e.message);
        if let Some((email, generated)) = auth::bootstrap(
            &*store,
            config.admin_email.as_deref(),
            config.admin_password.as_deref(),
            config.clock.now(),
        )
        .await
        .map_err(startup)?
        {
            match generated {
                Some(password) => println!(
                    "casedesk: created the first account; admin {email}, password {password} \
                     (shown once: change it with `casedesk admin reset-password`)"
                ),
                None => println!("casedesk: created the first account; admin {email}"),
            }
        }
        let mailer =
            workers::mail::Mailer::new(config.smtp_url.as_deref(), config.smtp_from.as_deref())
                .map_err(ServeError::Startup)?;
        if mailer.delivers() && config.public_url.is_none() {
            // The links in mail must not take the address from a request's Host
            // header: whoever asks for a link could point it at their own site.
            return Err(ServeError::Startup(
                "CASEDESK_SMTP_URL needs CASEDESK_PUBLIC_URL: the address in the links it mails"
                    .into(),
            ));
        }
        let files = config
            .attachments_dir
            .as_deref()
            .map(|dir| {
                let max = config
                    .attachment_max_bytes
                    .unwrap_or(usecases::attachments::DEFAULT_MAX_BYTES);
                usecases::attachments::Files::new(dir, max)
            })
            .transpose()
            .map_err(ServeError::Startup)?;
        let (stop, stop_rx) = watch::channel(false);
        let revoked = tokio::sync::broadcast::channel(64).0;
        let addr = listener.local_addr()?;
        // Several servers (NATS) share the limits through the database.
        let limits = Arc::new(limits::Limits::new(
            config.clock.clone(),
            config.nats_url.as_ref().map(|_| Arc::clone(&store)),
        ));
        let telegram = channels::telegram::Telegram::new(
            config.telegram_api_url.as_deref(),
            config.telegram_poll_wait,
        )
        .map_err(ServeError::Startup)?;
        let public_url = config
            .public_url
            .as_deref()
            .map(http::urls::parse_public_url)
            .transpose()
            .map_err(startup)?;
        let http = channels::api::webhook::client(
            config.webhook_allow_private,
            config.webhook_proxy.as_deref(),
        )
        .map_err(|e| ServeError::Startup(format!("webhook client: {e}")))?;
        let client_ip_header = config
            .client_ip_header
            .as_deref()
            .map(|h| {
                axum::http::HeaderName::try_from(h.trim())
                    .map_err(|_| ServeError::Startup(format!("`{h}` is not a header name")))
            })
            .transpose()?;
        let dummy_hash = auth::dummy_hash().await.map_err(startup)?;
        let parallel_writes = store.parallel_writes();
        let app: App = Arc::new_cyclic(|app| AppState {
            listen_url: format!("http://{addr}"),
            live: Hub::new(
                Arc::clone(&store),
                config.live_poll.unwrap_or(events::POLL),
                tokio::sync::broadcast::Sender::clone(&revoked),
                stop_rx.clone(),
            ),
            store,
            clock: config.clock,
            rounds: workers::Rounds::default(),
            ingest: usecases::inbound::Ingest::new(app.clone(), parallel_writes),
            timers: workers::timers::TimerBell::default(),
            outbox_changed: Notify::new(),
            imports_changed: Notify::new(),
            import_lease: chrono::Duration::from_std(
                config
                    .import_lease
                    .unwrap_or(usecases::import::DEFAULT_IMPORT_LEASE),
            )
            .unwrap_or(chrono::Duration::minutes(5)),
            uploads: usecases::import::Uploads::default(),
            updates_changed: Notify::new(),
            telegram_changed: Notify::new(),
            mailboxes_changed: Notify::new(),
            telegram,
            hashing: auth::Hashing::default(),
            revoked,
            credential_recheck: config
                .credential_recheck
                .unwrap_or(http::api::stream::CREDENTIAL_RECHECK),
            limits,
            public_url,
            http,
            webhook_allow_private: config.webhook_allow_private,
            webhook_retry: config.webhook_retry.unwrap_or_default(),
            mailer,
            files,
            client_ip_header,
            shutdown: stop_rx,
            dummy_hash,
        });
        if let Some(url) = config.nats_url.as_deref() {
            events::nats::connect(url, &app.live)
                .await
                .map_err(ServeError::Startup)?;
        }
        Ok(Server {
            app,
            listener,
            limits: config.limits,
            stop,
        })
    }

    /// The state requests and workers share.
    pub fn app(&self) -> App {
        Arc::clone(&self.app)
    }

    /// The address the server listens on, `http://` included.
    pub fn listen_url(&self) -> &str {
        &self.app.listen_url
    }

    /// Runs the workers and serves until `shutdown` resolves; in-flight
    /// requests finish first.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Server {
            app,
            listener,
            limits,
            stop,
        } = self;
        let addr = listener.local_addr()?;
        let workers = [
            tokio::spawn(workers::timers::deadline_loop(Arc::clone(&app))),
            tokio::spawn(workers::outbox::outbox_loop(Arc::clone(&app))),
            tokio::spawn(workers::sweep::tmp_loop(Arc::clone(&app))),
            tokio::spawn(workers::feed::prune_loop(Arc::clone(&app))),
            tokio::spawn(limits::upkeep_loop(Arc::clone(&app))),
            tokio::spawn(workers::updates::updates_loop(Arc::clone(&app))),
            tokio::spawn(workers::imports::imports_loop(Arc::clone(&app))),
            tokio::spawn(workers::polling::poll_loop(Arc::clone(&app))),
            tokio::spawn(workers::imap::imap_loop(Arc::clone(&app))),
        ];
        let store = Arc::clone(&app.store);
        tracing::info!(%addr, backend = store.backend(), "casedesk is listening");
        let stop_for_http = stop.clone();
        listen::serve(
            listener,
            http::router(Arc::clone(&app)),
            limits,
            async move {
                shutdown.await;
                tracing::info!("shutting down: draining in-flight requests");
                let _ = stop_for_http.send(true);
            },
        )
        .await;
        let _ = stop.send(true);
        for w in workers {
            let _ = w.await;
        }
        // Batches of messages a worker handed over (a Telegram update) end
        // before the store closes under them.
        app.ingest.finish().await;
        drop(app);
        store.close().await;
        Ok(())
    }
}

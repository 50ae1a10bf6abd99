//! The `casedesk` binary: reads flags and the environment once, picks the
//! storage backend from the database URL, and runs a subcommand.

#![forbid(unsafe_code)]

use casedesk::{backup, bench, open_store};
use casedesk_domain::Role;
use casedesk_server::clock::Clock;
use casedesk_server::{Config, auth};
use casedesk_store::Store;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "casedesk",
    version,
    about = "Self-hosted helpdesk that turns chats into cases"
)]
struct Cli {
    /// `sqlite://FILE` (created when missing) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        global = true,
        env = "CASEDESK_DATABASE_URL",
        default_value = "sqlite://casedesk.db"
    )]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on; port 0 lets the system pick a free port.
        /// Once ready, the server prints `casedesk: listening on
        /// http://ADDRESS` on standard output.
        #[arg(long, env = "CASEDESK_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Email of the first admin, used when the database is empty.
        #[arg(long, env = "CASEDESK_ADMIN_EMAIL")]
        admin_email: Option<String>,
        /// Password of the first admin; a random one is printed when unset.
        #[arg(long, env = "CASEDESK_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
        /// The address sites reach this server at, for widget snippets
        /// (e.g. https://help.example); default: the address of each request.
        #[arg(long, env = "CASEDESK_PUBLIC_URL")]
        public_url: Option<String>,
        /// SMTP server for the Help Center's sign-in mail, e.g.
        /// smtps://user:pass@mail.example:465 (needs --public-url); unset,
        /// the mail is written to the log.
        #[arg(long, env = "CASEDESK_SMTP_URL", hide_env_values = true)]
        smtp_url: Option<String>,
        /// Sender of outgoing mail, e.g. "Support <help@shop.example>".
        #[arg(long, env = "CASEDESK_SMTP_FROM")]
        smtp_from: Option<String>,
        /// Behind a reverse proxy: the header it puts the client's address
        /// in (X-Forwarded-For, X-Real-IP), for per-address limits.
        #[arg(long, env = "CASEDESK_CLIENT_IP_HEADER")]
        client_ip_header: Option<String>,
        /// Directory the attachments of messages are kept in (created when
        /// missing); back it up with the database.
        #[arg(
            long,
            env = "CASEDESK_ATTACHMENTS_DIR",
            default_value = "casedesk-files"
        )]
        attachments_dir: std::path::PathBuf,
        /// Largest attachment accepted, in MiB.
        #[arg(long, env = "CASEDESK_ATTACHMENT_MAX_MB", default_value_t = 10,
              value_parser = clap::value_parser!(u64).range(1..=1024))]
        attachment_max_mb: u64,
        /// Most client connections held at once (event streams included);
        /// keep it below the process's open-file limit (`ulimit -n`).
        #[arg(long, env = "CASEDESK_MAX_CONNECTIONS", default_value_t = 4096,
              value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        max_connections: u64,
        /// Seconds a client has to send a request's headers, on a new
        /// connection and between keep-alive requests.
        #[arg(long, env = "CASEDESK_HEADER_TIMEOUT_SECONDS", default_value_t = 10,
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        header_timeout_seconds: u64,
        /// Let webhooks go to loopback and private networks (127.0.0.0/8,
        /// 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, ::1,
        /// fc00::/7), e.g. a messenger bridge on the same host. Link-local
        /// and cloud metadata addresses stay refused.
        #[arg(long, env = "CASEDESK_WEBHOOK_ALLOW_PRIVATE",
              value_parser = clap::builder::BoolishValueParser::new())]
        webhook_allow_private: bool,
        /// Send webhook deliveries through this HTTP proxy (an egress proxy
        /// that enforces its own rules), e.g. http://proxy.internal:3128;
        /// proxies of the environment (HTTP_PROXY…) are never used.
        #[arg(long, env = "CASEDESK_WEBHOOK_PROXY")]
        webhook_proxy: Option<String>,
        /// The Telegram Bot API server: the official one, or a self-hosted
        /// one (telegram-bot-api), e.g. http://127.0.0.1:8081.
        #[arg(long, env = "CASEDESK_TELEGRAM_API_URL")]
        telegram_api_url: Option<String>,
        /// How long one long-polling request to Telegram waits for
        /// updates, in seconds (bots of a server without an https public
        /// URL are polled).
        #[arg(long, env = "CASEDESK_TELEGRAM_POLL_SECONDS", default_value_t = 25,
              value_parser = clap::value_parser!(u64).range(0..=50))]
        telegram_poll_seconds: u64,
        /// How long a server holds an import it works on, in seconds: after
        /// a crash, another server (or this one, restarted) takes it over
        /// from the next customer once this has passed (docs/import.md).
        #[arg(long, env = "CASEDESK_IMPORT_LEASE_SECONDS", default_value_t = 300,
              value_parser = clap::value_parser!(u64).range(1..=86_400))]
        import_lease_seconds: u64,
        /// NATS, through which several servers on one PostgreSQL database
        /// tell each other of changes for their live clients, e.g.
        /// nats://127.0.0.1:4222 (docs/scaling.md); unset, one server.
        #[arg(long, env = "CASEDESK_NATS_URL")]
        nats_url: Option<String>,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Copy a SQLite database and the attachments into a new directory,
    /// while the server keeps running (PostgreSQL: docs/operations.md).
    Backup {
        /// A new or empty directory; gets casedesk.db and casedesk-files/.
        #[arg(long)]
        to: std::path::PathBuf,
        /// The attachments directory the server uses.
        #[arg(
            long,
            env = "CASEDESK_ATTACHMENTS_DIR",
            default_value = "casedesk-files"
        )]
        attachments_dir: std::path::PathBuf,
        /// Database pages (4 KiB) copied at a time, with a short pause
        /// between steps; smaller steps share the disk more evenly.
        #[arg(long, default_value_t = 1024,
              value_parser = clap::value_parser!(i32).range(1..))]
        pages_per_step: i32,
    },
    /// Put a directory made by `casedesk backup` in place, with the server
    /// stopped; refuses to overwrite an existing database or attachments.
    Restore {
        /// The directory `casedesk backup --to` wrote.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Where the restored attachments go (missing or empty).
        #[arg(
            long,
            env = "CASEDESK_ATTACHMENTS_DIR",
            default_value = "casedesk-files"
        )]
        attachments_dir: std::path::PathBuf,
    },
    /// Accounts and agents.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Imports a messenger's history into a running server: Telegram
    /// Desktop's export or JSONL (docs/import.md), with progress.
    Import(casedesk::import::ImportArgs),
    /// Load benchmarks; they print their figures.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Judgements measured against labelled data; they print their figures.
    Eval {
        #[command(subcommand)]
        command: casedesk::eval::EvalCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account (a tenant) with its first admin.
    CreateAccount {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long, env = "CASEDESK_NEW_PASSWORD", hide_env_values = true)]
        admin_password: String,
    },
    /// Add an agent to an account.
    CreateAgent {
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "agent")]
        role: Role,
        #[arg(long, env = "CASEDESK_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Set a new password for an agent.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, env = "CASEDESK_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            listen,
            admin_email,
            admin_password,
            public_url,
            smtp_url,
            smtp_from,
            client_ip_header,
            attachments_dir,
            attachment_max_mb,
            max_connections,
            header_timeout_seconds,
            webhook_allow_private,
            webhook_proxy,
            telegram_api_url,
            telegram_poll_seconds,
            import_lease_seconds,
            nats_url,
        } => {
            let store = open_store(&cli.database_url)
                .await
                .map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let config = Config {
                admin_email,
                admin_password,
                public_url,
                smtp_url,
                smtp_from,
                client_ip_header,
                attachments_dir: Some(attachments_dir),
                attachment_max_bytes: Some(attachment_max_mb << 20),
                limits: casedesk_server::http::listen::Limits {
                    max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
                    header_read_timeout: std::time::Duration::from_secs(header_timeout_seconds),
                },
                webhook_allow_private,
                webhook_proxy,
                webhook_retry: None,
                clock: Clock::System,
                telegram_api_url,
                telegram_poll_wait: Some(std::time::Duration::from_secs(telegram_poll_seconds)),
                nats_url,
                live_poll: None,
                credential_recheck: None,
                import_lease: Some(std::time::Duration::from_secs(import_lease_seconds)),
            };
            let server = casedesk_server::Server::new(listener, store, config)
                .await
                .map_err(|e| e.to_string())?;
            // The address, for whoever started the server on port 0 (the
            // end-to-end tests): the kernel picked the port, and nothing else
            // can take it before the server has it.
            println!("casedesk: listening on {}", server.listen_url());
            server
                .run(shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let store = open_store(&cli.database_url)
                .await
                .map_err(|e| e.to_string())?;
            store.close().await;
            println!("casedesk: the {} database is up to date", store.backend());
            Ok(())
        }
        Command::Backup {
            to,
            attachments_dir,
            pages_per_step,
        } => {
            let url = cli.database_url;
            let options = casedesk_store_sqlite::BackupOptions {
                pages_per_step,
                ..Default::default()
            };
            let summary =
                blocking(move || backup::backup(&url, &attachments_dir, &to, options)).await?;
            print_summary("wrote", &summary)
        }
        Command::Restore {
            from,
            attachments_dir,
        } => {
            let url = cli.database_url;
            let summary = blocking(move || backup::restore(&from, &url, &attachments_dir)).await?;
            print_summary("restored", &summary)
        }
        Command::Admin { command } => {
            let store = open_store(&cli.database_url)
                .await
                .map_err(|e| e.to_string())?;
            let result = admin(&*store, command).await;
            store.close().await;
            result
        }
        Command::Import(args) => casedesk::import::run(args).await,
        Command::Bench { command } => bench::run(command).await,
        Command::Eval { command } => casedesk::eval::run(command),
    }
}

/// Runs file and database copying off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("the copy stopped: {e}"))?
}

fn print_summary(verb: &str, summary: &backup::Summary) -> Result<(), String> {
    backup::print_summary(&mut std::io::stdout().lock(), verb, summary)
        .map_err(|e| format!("cannot write the summary: {e}"))
}

async fn admin(store: &dyn Store, command: AdminCommand) -> Result<(), String> {
    let err = |e: casedesk_server::error::AppError| e.message;
    let now = Clock::System.now();
    match command {
        AdminCommand::CreateAccount {
            name,
            admin_email,
            admin_password,
        } => {
            let (account, agent) =
                auth::create_account(store, &name, &admin_email, &admin_password, now)
                    .await
                    .map_err(err)?;
            println!("account_id={} admin_id={}", account.id, agent.id);
        }
        AdminCommand::CreateAgent {
            account_id,
            email,
            name,
            role,
            password,
        } => {
            let agent = auth::create_agent(
                store,
                &account_id,
                &email,
                name.as_deref(),
                role,
                &password,
                now,
            )
            .await
            .map_err(err)?;
            println!("agent_id={}", agent.id);
        }
        AdminCommand::ResetPassword { email, password } => {
            let ended = auth::reset_password(store, &email, &password)
                .await
                .map_err(err)?;
            println!(
                "password changed for {email}; {ended} session(s) ended (a server that \
                 throttles this e-mail's failed logins forgets them when an admin unlocks \
                 the agent in Settings or sets the password through the API)"
            );
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CASEDESK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        // A log that cannot be written (a full disk, a closed pipe) loses
        // those lines and nothing else: by default the subscriber reports
        // its failure with `eprintln!`, which panics the thread that was
        // logging, such as SQLite's writer.
        .log_internal_errors(false)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("casedesk: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("casedesk: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

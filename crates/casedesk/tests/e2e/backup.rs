//! Backup and restore while the server keeps serving.
//!
//! SQLite: `casedesk backup` (the real binary) copies a live database while
//! a customer keeps writing and an agent keeps sending files; a new server
//! on the copy has every case as it was, the writer's messages as an
//! unbroken prefix (each once, in order, all those acknowledged before the
//! backup started), every file its rows name, and the admin's login; the
//! copy passes `PRAGMA integrity_check`; `casedesk restore` puts it in place
//! and refuses to overwrite.
//!
//! PostgreSQL: the documented procedure (docs/operations.md) — `pg_dump -Fc`
//! and a copy of the attachments, `pg_restore` into a new empty database,
//! `casedesk migrate` — run by the test; a server on the restored database
//! sees the same.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Database, TestApp, postgres_url, s};

const STREAMER: &str = "streamer";

fn png(seed: usize, len: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend((0..len).map(|i| ((i * 7 + seed) % 251) as u8));
    v
}

/// Runs the casedesk binary with `args` on `database_url`; a run that
/// does not end within a minute (a backup that keeps restarting) fails.
async fn casedesk(database_url: &str, files: &Path, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_casedesk"))
        .args(args)
        .env("CASEDESK_DATABASE_URL", database_url)
        .env("CASEDESK_ATTACHMENTS_DIR", files)
        .env("CASEDESK_LOG", "warn")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| panic!("casedesk {args:?} did not end within a minute"))
        .expect("the casedesk binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The files under `dir` (the server's `tmp` excepted) with their bytes.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for account in std::fs::read_dir(dir).expect("files dir").flatten() {
        if account.file_name() == "tmp" {
            continue;
        }
        for file in std::fs::read_dir(account.path())
            .expect("account dir")
            .flatten()
        {
            let name = format!(
                "{}/{}",
                account.file_name().display(),
                file.file_name().display()
            );
            found.push((name, std::fs::read(file.path()).expect("file")));
        }
    }
    found.sort();
    found
}

/// What was there before the backup: cases with their messages, in full.
async fn seed(app: &TestApp) -> Vec<u8> {
    let first = app.customer_says("ann", "a-1", "My order is late").await;
    let ann1 = s(&first["case_id"]);
    app.customer_says("ann", "a-2", "It was due Monday").await;
    app.reply(&ann1, "Sorry, we are on it").await;
    app.note(&ann1, "courier asked").await;
    let (st, _) = app.finish(&ann1, "closed").await;
    assert_eq!(st, StatusCode::OK);
    let again = app.customer_says("ann", "a-3", "Still nothing").await;
    assert_eq!(
        again["outcome"], "created",
        "a closed chat starts a new case"
    );
    let bob = app.customer_says("bob", "b-1", "Invoice please").await;
    let photo = png(1, 20_000);
    let (st, file) = app
        .upload(
            &format!(
                "cases/{}/attachments?filename=invoice.png&text=Here",
                s(&bob["case_id"])
            ),
            &app.token,
            photo.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{file}");
    photo
}

/// Every case (but the streamer's) with its messages, as the API shows them.
async fn cases_and_messages(app: &TestApp, streamer_case: &str) -> Vec<(Value, Vec<Value>)> {
    let mut all = Vec::new();
    for case in app.list("").await {
        let id = s(&case["id"]);
        if id != streamer_case {
            let full = app.case(&id).await;
            all.push((full, app.messages(&id).await));
        }
    }
    all.sort_by_key(|(c, _)| c["number"].as_i64());
    all
}

/// A customer writing and an agent sending files without pause, in the
/// background, counting what the server acknowledged.
struct Writer {
    acked: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    case_id: String,
}

/// Every fifth message is followed by a file from the agent.
const FILE_EVERY: usize = 5;

impl Writer {
    async fn start(app: &TestApp) -> Writer {
        let first = app.customer_says(STREAMER, "s-0", "stream 0").await;
        let case_id = s(&first["case_id"]);
        let acked = Arc::new(AtomicUsize::new(1));
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let (acked, stop, case_id) = (Arc::clone(&acked), Arc::clone(&stop), case_id.clone());
            let (http, base, channel, inbound, token) = (
                app.http.clone(),
                app.base.clone(),
                app.channel_id.clone(),
                app.inbound_token.clone(),
                app.token.clone(),
            );
            tokio::spawn(async move {
                let mut i = 1;
                while !stop.load(Ordering::SeqCst) {
                    let resp = http
                        .post(format!("{base}/api/v1/channels/{channel}/inbound"))
                        .bearer_auth(&inbound)
                        .json(&json!({"type": "message", "message_id": format!("s-{i}"),
                            "customer": {"id": STREAMER}, "text": format!("stream {i}")}))
                        .send()
                        .await
                        .expect("inbound");
                    assert_eq!(resp.status(), StatusCode::OK);
                    if i % FILE_EVERY == 0 {
                        let resp = http
                            .post(format!(
                                "{base}/api/v1/cases/{case_id}/attachments?filename=f{i}.png"
                            ))
                            .bearer_auth(&token)
                            .header("content-type", "application/octet-stream")
                            .body(png(i, 3000))
                            .send()
                            .await
                            .expect("upload");
                        assert_eq!(resp.status(), StatusCode::CREATED);
                    }
                    i += 1;
                    acked.store(i, Ordering::SeqCst);
                }
            })
        };
        Writer {
            acked,
            stop,
            task,
            case_id,
        }
    }

    fn acked(&self) -> usize {
        self.acked.load(Ordering::SeqCst)
    }

    async fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.acked() < n {
            assert!(Instant::now() < deadline, "the writer is stuck");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        let Writer { acked, task, .. } = self;
        task.await.expect("the writer ran");
        acked.load(Ordering::SeqCst)
    }
}

/// What a server on the restored data must show: the same cases and
/// messages, the writer's messages as an unbroken prefix holding at least
/// `at_least` of them, every file downloadable with its bytes.
async fn check_restored(
    restored: &TestApp,
    before: &[(Value, Vec<Value>)],
    streamer_case: &str,
    at_least: usize,
    at_most: usize,
    photo: &[u8],
) -> usize {
    assert_eq!(
        cases_and_messages(restored, streamer_case).await,
        before,
        "every case and message as it was"
    );
    let stream = restored.messages(streamer_case).await;
    let said: Vec<String> = stream
        .iter()
        .filter(|m| m["author"]["type"] == "customer")
        .map(|m| s(&m["text"]))
        .collect();
    let expected: Vec<String> = (0..said.len()).map(|i| format!("stream {i}")).collect();
    assert_eq!(said, expected, "each message once, in order, no gaps");
    assert!(
        (at_least..=at_most).contains(&said.len()),
        "{} messages restored; {at_least} were acknowledged before the backup, {at_most} in all",
        said.len()
    );
    // Every file a restored row names is there, byte for byte.
    let mut files = 0;
    for m in before.iter().flat_map(|(_, ms)| ms).chain(&stream) {
        for a in m["attachments"].as_array().into_iter().flatten() {
            let resp = restored
                .http
                .get(format!(
                    "{}/api/v1/attachments/{}",
                    restored.base,
                    s(&a["id"])
                ))
                .bearer_auth(&restored.token)
                .send()
                .await
                .expect("download");
            assert_eq!(resp.status(), StatusCode::OK, "file of {m}");
            let body = resp.bytes().await.expect("bytes").to_vec();
            let name = s(&a["filename"]);
            let want = match name.strip_prefix('f').and_then(|n| n.strip_suffix(".png")) {
                Some(i) => png(i.parse().expect("file number"), 3000),
                None => photo.to_vec(),
            };
            assert_eq!(body, want, "bytes of {name}");
            files += 1;
        }
    }
    assert!(files > (at_least - 1) / FILE_EVERY, "{files} files checked");
    // The restored server works on: login and a new case with the next number.
    restored.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let max = restored
        .list("")
        .await
        .iter()
        .filter_map(|c| c["number"].as_i64())
        .max()
        .expect("cases");
    let new = restored.customer_says("carol", "c-1", "Hello").await;
    assert_eq!(new["case_number"].as_i64(), Some(max + 1));
    said.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_backup_of_a_live_server() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let photo = seed(&app).await;
    let writer = Writer::start(&app).await;
    let streamer_case = writer.case_id.clone();
    writer.wait_for(20).await;

    let dir = tempfile::tempdir().expect("dir");
    let to = dir.path().join("backup");
    let at_least = writer.acked();
    let started = Instant::now();
    // Small steps, so the server writes between them.
    let out = casedesk(
        &app.db.url,
        app.db.files.path(),
        &[
            "backup",
            "--to",
            to.to_str().expect("path"),
            "--pages-per-step",
            "4",
        ],
    )
    .await;
    let took = started.elapsed();
    let during = writer.acked() - at_least;
    assert!(out.status.success(), "backup failed: {}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("casedesk.db: ") && report.contains(" files, "),
        "{report}"
    );
    writer.wait_for(writer.acked() + 5).await;
    let at_most = writer.stop().await;
    let before = cases_and_messages(&app, &streamer_case).await;
    eprintln!(
        "backup of a live SQLite server: {took:?}, {during} messages acknowledged meanwhile; {}",
        report.trim()
    );

    // The copy is one sound file.
    let db_file = to.join("casedesk.db");
    let check: String = rusqlite::Connection::open(&db_file)
        .expect("open the copy")
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    assert!(!to.join("casedesk.db-wal").exists());

    // A target that is not empty is refused.
    let again = casedesk(
        &app.db.url,
        app.db.files.path(),
        &["backup", "--to", to.to_str().expect("path")],
    )
    .await;
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("not empty"),
        "{}",
        text(&again.stderr)
    );

    // `casedesk restore` puts it in place, and never over an existing one.
    let restored_db = dir.path().join("restored").join("casedesk.db");
    let restored_url = format!("sqlite://{}", restored_db.display());
    let restored_files = dir.path().join("restored-files");
    let from = to.to_str().expect("path");
    let out = casedesk(&restored_url, &restored_files, &["restore", "--from", from]).await;
    assert!(
        out.status.success(),
        "restore failed: {}",
        text(&out.stderr)
    );
    let out = casedesk(
        &restored_url,
        &dir.path().join("other"),
        &["restore", "--from", from],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("never overwrites"),
        "{}",
        text(&out.stderr)
    );
    let channel = (app.channel_id.clone(), app.inbound_token.clone());
    app.stop().await;

    // A new server on the backup itself and its attachments.
    let url = format!("sqlite://{}", db_file.display());
    let on_backup = Database::existing(url, &to.join("casedesk-files"));
    let restored = TestApp::spawn_on(on_backup, &channel.0, &channel.1).await;
    let kept = check_restored(
        &restored,
        &before,
        &streamer_case,
        at_least,
        at_most,
        &photo,
    )
    .await;
    eprintln!("the backup kept {kept} of {at_most} streamed messages");
    restored.stop().await;

    // The restored copy holds what the backup held before the new server
    // wrote one more message to it.
    let count = |path: &Path| -> i64 {
        rusqlite::Connection::open(path)
            .expect("open")
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(count(&restored_db), count(&db_file) - 1);
    assert_eq!(
        files_under(&restored_files),
        files_under(&to.join("casedesk-files"))
    );
}

/// A PostgreSQL database the test creates, dropped with it.
struct ScratchDatabase {
    name: String,
    url: String,
}

impl ScratchDatabase {
    async fn create() -> ScratchDatabase {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("casedesk_restore_{}_{nanos}", std::process::id());
        let base = postgres_url();
        let (path, query) = base.split_once('?').unwrap_or((&base, ""));
        let (server, _db) = path.rsplit_once('/').expect("a database URL");
        let url = match query {
            "" => format!("{server}/{name}"),
            q => format!("{server}/{name}?{q}"),
        };
        run("psql", &[&base, "-qc", &format!("CREATE DATABASE {name}")]).await;
        ScratchDatabase { name, url }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .arg(postgres_url())
            .arg("-qc")
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Runs a client tool, which must succeed.
async fn run(program: &str, args: &[&str]) -> Output {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("{program} does not run ({e}); the PostgreSQL client tools are needed")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        text(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_dump_and_restore_as_documented() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let dir = tempfile::tempdir().expect("dir");
    let files = app.db.files.path();

    // `casedesk backup` is for SQLite and says what to do instead.
    let out = casedesk(&app.db.url, files, &["backup", "--to", "unused"]).await;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("pg_dump") && err.contains("docs/operations.md"),
        "{err}"
    );
    assert!(!Path::new("unused").exists());

    let photo = seed(&app).await;
    let writer = Writer::start(&app).await;
    let streamer_case = writer.case_id.clone();
    writer.wait_for(20).await;

    // 1. pg_dump -Fc while the server serves (of the test's own schema:
    //    the test database is shared), then the attachments.
    let at_least = writer.acked();
    let started = Instant::now();
    let schema = app.db.schema().expect("a test schema").to_owned();
    let dump = dir.path().join("casedesk.dump");
    let dump_arg = dump.to_str().expect("path");
    run(
        "pg_dump",
        &["-Fc", "-n", &schema, "-f", dump_arg, &postgres_url()],
    )
    .await;
    let copy = dir.path().join("casedesk-files");
    run(
        "cp",
        &[
            "-a",
            files.to_str().expect("path"),
            copy.to_str().expect("path"),
        ],
    )
    .await;
    let took = started.elapsed();
    let during = writer.acked() - at_least;
    writer.wait_for(writer.acked() + 5).await;
    let at_most = writer.stop().await;
    let before = cases_and_messages(&app, &streamer_case).await;
    let channel = (app.channel_id.clone(), app.inbound_token.clone());
    app.stop().await;
    eprintln!(
        "pg_dump of a live server and the file copy: {took:?}, {} bytes, {during} messages \
         acknowledged meanwhile",
        std::fs::metadata(&dump).map(|m| m.len()).unwrap_or(0)
    );

    // 2. pg_restore into a new, empty database; 3. casedesk migrate.
    let scratch = ScratchDatabase::create().await;
    run(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "-d",
            &scratch.url,
            dump_arg,
        ],
    )
    .await;
    let sep = if scratch.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}schema={schema}", scratch.url);
    let out = casedesk(&url, &copy, &["migrate"]).await;
    assert!(
        out.status.success(),
        "migrate failed: {}",
        text(&out.stderr)
    );

    let restored = TestApp::spawn_on(Database::existing(url, &copy), &channel.0, &channel.1).await;
    let kept = check_restored(
        &restored,
        &before,
        &streamer_case,
        at_least,
        at_most,
        &photo,
    )
    .await;
    eprintln!("the dump kept {kept} of {at_most} streamed messages");
    restored.stop().await;
    drop(scratch);
}

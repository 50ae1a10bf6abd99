//! `casedesk backup` and `casedesk restore` for a SQLite installation: the
//! database (copied by `casedesk-store-sqlite` with SQLite's online backup
//! API) and the attachments directory, laid out as
//!
//! ```text
//! DIR/casedesk.db         one self-contained SQLite file
//! DIR/casedesk-files/     the attachments, {account_id}/{attachment_id}
//! ```
//!
//! The files are copied *after* the database snapshot: attachments are only
//! ever added or removed, never rewritten, so every file a row of the
//! snapshot names is still there to copy (a file added later is harmless
//! extra). PostgreSQL is backed up with its own tools (docs/operations.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use casedesk_store_sqlite::{BackupOptions, BackupReport, Location};

/// The database file's name inside a backup directory.
pub const DATABASE_FILE: &str = "casedesk.db";
/// The attachments directory's name inside a backup directory.
pub const FILES_DIR: &str = "casedesk-files";
/// Where uploads are streamed before they are checked; never worth copying.
const UPLOADS_IN_PROGRESS: &str = "tmp";

const POSTGRES_REFUSAL: &str = "`casedesk backup` copies SQLite databases only; back up PostgreSQL \
     with `pg_dump -Fc` and a copy of the attachments directory, and restore with `pg_restore` \
     into an empty database followed by `casedesk migrate` (docs/operations.md, \"Backup and \
     restore\")";

/// What a backup or restore copied.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The database file written.
    pub database_path: PathBuf,
    /// The attachments directory written.
    pub files_path: PathBuf,
    pub database: BackupReport,
    pub files: FileCount,
    /// The attachments directory that was read, when it did not exist.
    pub missing_files_dir: Option<PathBuf>,
}

/// Files copied and their total size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileCount {
    pub files: u64,
    pub bytes: u64,
}

/// The SQLite file a database URL names, or why there is none to copy.
fn sqlite_file(database_url: &str) -> Result<PathBuf, String> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return Err(POSTGRES_REFUSAL.into());
    }
    match Location::from_url(database_url).map_err(|e| e.to_string())? {
        Location::File(path) => Ok(path),
        Location::Memory => Err("an in-memory database has nothing to back up".into()),
    }
}

/// Creates `dir` or accepts it when it is an empty directory.
fn empty_dir(dir: &Path, what: &str) -> Result<(), String> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(format!(
                    "{what} {} is not empty; choose a new or empty directory",
                    dir.display()
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display())),
        Err(e) => Err(format!("{what} {}: {e}", dir.display())),
    }
}

/// Backs up the SQLite database at `database_url` and the attachments in
/// `attachments_dir` into `to`, a new or empty directory, while a server
/// may keep running on them.
pub fn backup(
    database_url: &str,
    attachments_dir: &Path,
    to: &Path,
    options: BackupOptions,
) -> Result<Summary, String> {
    let source = sqlite_file(database_url)?;
    if !source.is_file() {
        return Err(format!("no SQLite database at {}", source.display()));
    }
    empty_dir(to, "the backup directory")?;
    let database_path = to.join(DATABASE_FILE);
    let database = casedesk_store_sqlite::backup(&source, &database_path, options)
        .map_err(|e| format!("database backup failed: {e}"))?;
    // After the snapshot, so every file it names is copied.
    copy_files(
        attachments_dir,
        &to.join(FILES_DIR),
        database_path,
        database,
    )
}

/// Restores a backup directory made by [`backup`]: the database to the
/// file `database_url` names, which must not exist yet, and the
/// attachments into `attachments_dir`, which must be missing or empty. The
/// server must not be running on them: it is started afterwards.
pub fn restore(from: &Path, database_url: &str, attachments_dir: &Path) -> Result<Summary, String> {
    let backup_file = from.join(DATABASE_FILE);
    if !backup_file.is_file() {
        return Err(format!(
            "{} has no {DATABASE_FILE}: not a casedesk backup directory",
            from.display()
        ));
    }
    let target = sqlite_file(database_url)?;
    for companion in ["", "-wal", "-shm"] {
        let mut name = target.clone().into_os_string();
        name.push(companion);
        let path = PathBuf::from(name);
        if path.exists() {
            return Err(format!(
                "{} exists; stop the server and move the old database (with its -wal and -shm \
                 files) aside first: a restore never overwrites one",
                path.display()
            ));
        }
    }
    empty_dir(attachments_dir, "the attachments directory")?;
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    // The same careful copy as a backup: checked, synced, renamed into place.
    let database = casedesk_store_sqlite::backup(&backup_file, &target, BackupOptions::default())
        .map_err(|e| format!("restoring the database failed: {e}"))?;
    copy_files(&from.join(FILES_DIR), attachments_dir, target, database)
}

fn copy_files(
    from: &Path,
    to: &Path,
    database_path: PathBuf,
    database: BackupReport,
) -> Result<Summary, String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let mut files = FileCount::default();
    let missing_files_dir = if from.is_dir() {
        copy_tree(from, to, true, &mut files)?;
        None
    } else {
        Some(from.to_owned())
    };
    Ok(Summary {
        database_path,
        files_path: to.to_owned(),
        database,
        files,
        missing_files_dir,
    })
}

/// Copies the files under `from` into `to`, syncing each. A file removed
/// while the copy runs is skipped: its row is gone from the database too.
fn copy_tree(from: &Path, to: &Path, top: bool, count: &mut FileCount) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let name = entry.file_name();
        if top && name == UPLOADS_IN_PROGRESS {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", src.display())),
        };
        if kind.is_dir() {
            std::fs::create_dir_all(&dst).map_err(|e| format!("{}: {e}", dst.display()))?;
            copy_tree(&src, &dst, false, count)?;
        } else if kind.is_file() {
            match std::fs::copy(&src, &dst) {
                Ok(bytes) => {
                    std::fs::File::open(&dst)
                        .and_then(|f| f.sync_all())
                        .map_err(|e| format!("{}: {e}", dst.display()))?;
                    count.files += 1;
                    count.bytes += bytes;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !src.exists() => {}
                Err(e) => return Err(format!("copying {}: {e}", src.display())),
            }
        }
    }
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// What `casedesk backup` or `restore` prints: where things went, sizes
/// and counts.
pub fn print_summary(out: &mut impl Write, verb: &str, s: &Summary) -> std::io::Result<()> {
    let d = &s.database;
    writeln!(
        out,
        "casedesk: {verb} {}: {} bytes ({}, {} pages, schema version {}) with {} cases, {} \
         messages, {} attachment rows, in {}",
        s.database_path.display(),
        d.bytes,
        mib(d.bytes),
        d.pages,
        d.schema_version,
        d.cases,
        d.messages,
        d.attachments,
        seconds(d.elapsed),
    )?;
    match &s.missing_files_dir {
        Some(missing) => writeln!(
            out,
            "casedesk: {verb} {}: empty, there was no attachments directory at {}",
            s.files_path.display(),
            missing.display()
        ),
        None => writeln!(
            out,
            "casedesk: {verb} {}: {} files, {} bytes ({})",
            s.files_path.display(),
            s.files.files,
            s.files.bytes,
            mib(s.files.bytes)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_postgres_memory_and_non_empty_targets() {
        let dir = tempfile::tempdir().expect("dir");
        let files = dir.path().join("files");
        let backup = |url: &str, to: &Path| backup(url, &files, to, BackupOptions::default());
        let err = backup("postgres://u@h/db", &dir.path().join("b")).unwrap_err();
        assert!(
            err.contains("pg_dump") && err.contains("docs/operations.md"),
            "{err}"
        );
        let err = backup("sqlite::memory:", &dir.path().join("b")).unwrap_err();
        assert!(err.contains("in-memory"), "{err}");

        std::fs::write(dir.path().join("casedesk.db"), b"").expect("write");
        let url = format!("sqlite://{}", dir.path().join("casedesk.db").display());
        let err = backup(&url, dir.path()).unwrap_err();
        assert!(err.contains("is not empty"), "{err}");
    }

    #[test]
    fn copies_attachment_trees_but_not_uploads_in_progress() {
        let dir = tempfile::tempdir().expect("dir");
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        for (path, body) in [("acc/f1", "one"), ("acc/f2", "three"), ("tmp/partial", "x")] {
            let p = from.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, body).expect("write");
        }
        let mut count = FileCount::default();
        copy_tree(&from, &to, true, &mut count).expect("copy");
        assert_eq!(count, FileCount { files: 2, bytes: 8 });
        assert_eq!(std::fs::read(to.join("acc/f2")).expect("f2"), b"three");
        assert!(!to.join("tmp").exists());
    }
}

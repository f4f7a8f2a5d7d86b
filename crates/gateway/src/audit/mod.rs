//! The audit log: every authenticated call request and its outcome, in SQLite.
//!
//! A request is on disk before the gateway answers it, so a request the client saw
//! acknowledged survives the process being killed. By default ([`Durability::ProcessCrash`])
//! it is appended to the [`spool`] file beside the database, which takes a few microseconds,
//! and one writer thread moves it into SQLite right after, many records per transaction;
//! a killed gateway's spool is put into SQLite on the next start. With
//! [`Durability::PowerLoss`] each request instead waits until its SQLite commit is flushed
//! to the disk (the writer still commits everything waiting in one transaction, so many
//! requests share one flush). Tokens and secrets never reach this module; the requested
//! text is stored with control characters escaped.

mod spool;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc as sync_mpsc};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use spool::Spool;

/// How many waiting writes one transaction takes at most.
const MAX_BATCH: usize = 512;

/// How long the writer lets spooled records gather before it commits them: they are safe in
/// the spool meanwhile, and one commit for many saves the CPU that the gateway and Asterisk
/// share.
const GATHER: Duration = Duration::from_millis(10);

/// How long the writer waits before trying a failed commit again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How long a read waits for the writer to store the gateway's own newest records.
const READ_WAIT: Duration = Duration::from_secs(2);

/// The longest requested text stored; longer input is cut (the audit records, it is no dump).
const MAX_REQUESTED_CHARS: usize = 256;

/// Why the audit log cannot be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// SQLite refused an operation (disk full, file not writable, corrupt database...).
    #[error("audit log {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's explanation.
        source: rusqlite::Error,
    },
    /// A write failed (disk full, duplicate call id...); nothing of it was stored.
    #[error("audit log {path}: {message}")]
    Write {
        /// The database file.
        path: PathBuf,
        /// SQLite's explanation.
        message: String,
    },
    /// The spool file beside the database cannot be opened, read or written.
    #[error("audit log spool {path}: {source}")]
    Spool {
        /// The spool file.
        path: PathBuf,
        /// The operating system's explanation.
        source: std::io::Error,
    },
    /// Another running gateway has this audit log open.
    #[error(
        "audit log spool {path} is locked: another gateway is using this audit log; \
         give each gateway its own [audit] path"
    )]
    InUse {
        /// The spool file.
        path: PathBuf,
    },
    /// The writer thread could not be started.
    #[error("cannot start the audit log writer: {0}")]
    Thread(std::io::Error),
    /// The writer thread is gone (the gateway is shutting down).
    #[error("the audit log writer has stopped")]
    Closed,
}

/// A call request as the gateway accepted or refused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The call id given to the client (unique).
    pub id: String,
    /// Milliseconds since the Unix epoch when the request arrived.
    pub received_ms: i64,
    /// The agent's configured name.
    pub agent: String,
    /// The extension that rings first.
    pub extension: String,
    /// The client's IP address.
    pub client_addr: String,
    /// What the client asked to dial, as sent (escaped, cut to 256 characters).
    pub requested: String,
    /// What was handed to Asterisk, or `None` when the request was refused before dialing.
    pub dialed: Option<String>,
    /// The client's `Idempotency-Key`, if any.
    pub idempotency_key: Option<String>,
    /// `None` when accepted, or why it was refused (policy, not a number, rate limit...).
    pub refusal: Option<String>,
}

/// A stored call: its request and, once known, its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The request as recorded before it was acknowledged.
    pub request: RequestRecord,
    /// The end reason (`answered`, `busy`, `no-answer`, `congestion`, `failed`), once ended.
    pub outcome: Option<String>,
    /// Asterisk's own text for a failure, if any.
    pub outcome_detail: Option<String>,
    /// Milliseconds since the Unix epoch when the outcome was recorded.
    pub ended_ms: Option<i64>,
}

/// The current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Replaces control characters with `\u{..}` escapes and cuts the text for storage.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .take(MAX_REQUESTED_CHARS)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_unicode().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// One change to the audit log, as queued for the writer and kept in the spool.
#[derive(Debug, Serialize, Deserialize)]
enum Write {
    Request(RequestRecord),
    Outcome {
        id: String,
        outcome: String,
        detail: Option<String>,
        ended_ms: i64,
    },
}

/// A write for the writer thread: `done` is the caller waiting for the commit, or `None` for
/// a record that is already safe in the spool.
struct Job {
    write: Write,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

/// The columns of a [`CallRecord`], in the order `row_to_call` reads them.
const COLUMNS: &str = "id, received_ms, agent, extension, client_addr, requested, dialed, \
                       idempotency_key, refusal, outcome, outcome_detail, ended_ms";

/// What a recorded request survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The gateway being killed or crashing: the record is in the spool (the operating
    /// system holds it) when the caller goes on; SQLite runs with `synchronous = NORMAL`.
    #[default]
    ProcessCrash,
    /// A power cut too (`synchronous = FULL`): the caller waits until its commit is on the disk.
    PowerLoss,
}

/// A handle to the audit log, cheap to clone; writes go through one background thread.
#[derive(Clone)]
pub struct AuditLog {
    path: PathBuf,
    durability: Durability,
    jobs: sync_mpsc::Sender<Job>,
    spool: Arc<Spool>,
    reader: Arc<Mutex<Connection>>,
}

impl AuditLog {
    /// Opens (creating when missing) the database and starts its writer thread, with
    /// [`Durability::ProcessCrash`].
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(path, Durability::default())
    }

    /// Opens the database with the chosen durability, first putting into it whatever a
    /// gateway that was killed left in the spool.
    pub fn open_with(path: &Path, durability: Durability) -> Result<AuditLog, AuditError> {
        let mut conn = open_connection(path)?;
        let synchronous = match durability {
            Durability::ProcessCrash => "NORMAL",
            Durability::PowerLoss => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(|source| AuditError::Sqlite {
                path: path.to_owned(),
                source,
            })?;
        let (spool, leftovers) = Spool::open(&Spool::path_for(path))?;
        if !leftovers.writes.is_empty() {
            let stored =
                replay(&mut conn, &leftovers.writes).map_err(|source| AuditError::Sqlite {
                    path: path.to_owned(),
                    source,
                })?;
            if stored > 0 {
                tracing::info!(
                    "audit log {}: {stored} requests the last run had only in the spool are now stored",
                    path.display()
                );
            }
        }
        if let Some(kept) = spool.reset(leftovers.unreadable)? {
            tracing::warn!(
                "audit log {}: {} unreadable lines in the spool (a write cut short when the \
                 gateway was stopped, or damage); the spool was kept as {}",
                path.display(),
                leftovers.unreadable,
                kept.display()
            );
        }
        let spool = Arc::new(spool);
        let (jobs, rx) = sync_mpsc::channel();
        let (thread_path, thread_spool) = (path.to_owned(), spool.clone());
        thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer(conn, &rx, &thread_spool, &thread_path))
            .map_err(AuditError::Thread)?;
        Ok(AuditLog {
            path: path.to_owned(),
            durability,
            jobs,
            spool,
            reader: Arc::new(Mutex::new(open_connection(path)?)),
        })
    }

    /// Records a request durably; returns once it survives what the durability promises.
    pub async fn record_request(&self, mut record: RequestRecord) -> Result<(), AuditError> {
        record.requested = sanitize(&record.requested);
        record.idempotency_key = record.idempotency_key.as_deref().map(sanitize);
        record.refusal = record.refusal.as_deref().map(sanitize);
        self.write(Write::Request(record)).await
    }

    /// Records how a call ended; returns once it survives what the durability promises.
    pub async fn record_outcome(
        &self,
        id: &str,
        outcome: &str,
        detail: Option<&str>,
    ) -> Result<(), AuditError> {
        self.write(Write::Outcome {
            id: id.to_owned(),
            outcome: outcome.to_owned(),
            detail: detail.map(sanitize),
            ended_ms: now_ms(),
        })
        .await
    }

    /// Waits (up to a few seconds) until SQLite holds everything recorded so far: the
    /// gateway calls it as it stops, so the database is complete for whoever reads it next.
    pub fn settle(&self) {
        self.spool.wait_caught_up(READ_WAIT);
    }

    /// Reads one call back, off the async runtime's threads (reads share one connection;
    /// WAL lets them run beside the writer).
    pub async fn find(&self, id: &str) -> Result<Option<CallRecord>, AuditError> {
        let (log, id) = (self.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || log.call(&id))
            .await
            .map_err(|_| AuditError::Closed)?
    }

    /// Reads one call back (blocking; async code uses [`AuditLog::find`]). Like every read,
    /// it sees everything this log recorded before it was called.
    pub fn call(&self, id: &str) -> Result<Option<CallRecord>, AuditError> {
        self.settle();
        let reader = self.reader.lock().expect("audit reader lock poisoned");
        reader
            .query_row(
                &format!("SELECT {COLUMNS} FROM calls WHERE id = ?1"),
                [id],
                row_to_call,
            )
            .optional()
            .map_err(|source| self.error(source))
    }

    /// All calls, oldest first (for exports, tests and the proof suite's reconciliation).
    pub fn calls(&self) -> Result<Vec<CallRecord>, AuditError> {
        self.settle();
        let reader = self.reader.lock().expect("audit reader lock poisoned");
        let mut stmt = reader
            .prepare(&format!(
                "SELECT {COLUMNS} FROM calls ORDER BY received_ms, rowid"
            ))
            .map_err(|source| self.error(source))?;
        let rows = stmt
            .query_map([], row_to_call)
            .map_err(|source| self.error(source))?;
        rows.collect::<Result<_, _>>()
            .map_err(|source| self.error(source))
    }

    /// The calls started since `since_ms` with an `Idempotency-Key`, oldest first, so a
    /// restarted gateway still honours the keys of its last window.
    pub fn keyed_since(&self, since_ms: i64) -> Result<Vec<CallRecord>, AuditError> {
        self.settle();
        let reader = self.reader.lock().expect("audit reader lock poisoned");
        let mut stmt = reader
            .prepare(&format!(
                "SELECT {COLUMNS} FROM calls
                 WHERE received_ms >= ?1 AND idempotency_key IS NOT NULL AND dialed IS NOT NULL
                 ORDER BY received_ms, rowid"
            ))
            .map_err(|source| self.error(source))?;
        let rows = stmt
            .query_map([since_ms], row_to_call)
            .map_err(|source| self.error(source))?;
        rows.collect::<Result<_, _>>()
            .map_err(|source| self.error(source))
    }

    async fn write(&self, write: Write) -> Result<(), AuditError> {
        match self.durability {
            Durability::ProcessCrash => self.spool.append(write, |write| {
                // Only fails once the writer thread is gone; the spool keeps the record.
                let _ = self.jobs.send(Job { write, done: None });
            }),
            Durability::PowerLoss => {
                let (done, result) = oneshot::channel();
                self.jobs
                    .send(Job {
                        write,
                        done: Some(done),
                    })
                    .map_err(|_| AuditError::Closed)?;
                result
                    .await
                    .map_err(|_| AuditError::Closed)?
                    .map_err(|message| AuditError::Write {
                        path: self.path.clone(),
                        message,
                    })
            }
        }
    }

    fn error(&self, source: rusqlite::Error) -> AuditError {
        AuditError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

fn open_connection(path: &Path) -> Result<Connection, AuditError> {
    let wrap = |source| AuditError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open(path).map_err(wrap)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(wrap)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE IF NOT EXISTS calls (
             id              TEXT PRIMARY KEY,
             received_ms     INTEGER NOT NULL,
             agent           TEXT NOT NULL,
             extension       TEXT NOT NULL,
             client_addr     TEXT NOT NULL,
             requested       TEXT NOT NULL,
             dialed          TEXT,
             idempotency_key TEXT,
             refusal         TEXT,
             outcome         TEXT,
             outcome_detail  TEXT,
             ended_ms        INTEGER
         );
         CREATE INDEX IF NOT EXISTS calls_by_agent ON calls (agent, received_ms);",
    )
    .map_err(wrap)?;
    Ok(conn)
}

fn row_to_call(row: &rusqlite::Row<'_>) -> rusqlite::Result<CallRecord> {
    Ok(CallRecord {
        request: RequestRecord {
            id: row.get(0)?,
            received_ms: row.get(1)?,
            agent: row.get(2)?,
            extension: row.get(3)?,
            client_addr: row.get(4)?,
            requested: row.get(5)?,
            dialed: row.get(6)?,
            idempotency_key: row.get(7)?,
            refusal: row.get(8)?,
        },
        outcome: row.get(9)?,
        outcome_detail: row.get(10)?,
        ended_ms: row.get(11)?,
    })
}

/// The writer thread: takes every waiting job, writes them in one transaction, answers each
/// waiting caller with its own result once the transaction is committed and tells the spool
/// what is now in SQLite. After the first spooled record it lets more gather for [`GATHER`]
/// before committing. A failed commit is tried again; meanwhile the spool refuses new
/// records, so requests are refused rather than queued behind a broken database.
fn writer(mut conn: Connection, rx: &sync_mpsc::Receiver<Job>, spool: &Spool, path: &Path) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut open = true;
    loop {
        if batch.is_empty() {
            match rx.recv() {
                Ok(job) => batch.push(job),
                Err(_) => return,
            }
            if batch[0].done.is_none() {
                thread::sleep(GATHER);
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(sync_mpsc::TryRecvError::Empty) => break,
                Err(sync_mpsc::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let spooled = batch.iter().filter(|job| job.done.is_none()).count() as u64;
        match write_batch(&mut conn, &batch) {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    if let Err(message) = &result {
                        tracing::error!("audit log {}: {message}", path.display());
                    }
                    if let Some(done) = job.done {
                        let _ = done.send(result);
                    }
                }
                spool.committed(spooled, None);
            }
            Err(e) => {
                let message = format!("commit failed: {e}");
                tracing::error!("audit log {}: {message}", path.display());
                // Callers waiting for this commit get the error; spooled records stay in
                // the batch (and in the spool) for the next try.
                for job in batch.extract_if(.., |job| job.done.is_some()) {
                    if let Some(done) = job.done {
                        let _ = done.send(Err(message.clone()));
                    }
                }
                spool.committed(0, Some(message));
                if !open {
                    return;
                }
                thread::sleep(RETRY_AFTER);
            }
        }
    }
}

/// Puts what a killed gateway left in the spool into the database, in one transaction, and
/// returns how many requests were missing from it (those that reached it before the kill are
/// skipped).
fn replay(conn: &mut Connection, writes: &[Write]) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    let mut stored = 0;
    for write in writes {
        match write_one(&tx, write, true) {
            Ok(()) if matches!(write, Write::Request(_)) => stored += tx.changes(),
            Ok(()) => {}
            Err(e) if concerns_only_this_record(&e) => {
                tracing::warn!("a record left in the audit spool could not be stored: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit()?;
    Ok(stored)
}

/// Writes a batch in one transaction. A statement failing for its own record (a duplicate
/// id, say) fails only its job: SQLite undoes just that statement and the others still
/// commit; any other failure fails the whole batch.
fn write_batch(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<Vec<Result<(), String>>> {
    let tx = conn.transaction()?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        match write_one(&tx, &job.write, false) {
            Ok(()) => results.push(Ok(())),
            Err(e) if concerns_only_this_record(&e) => results.push(Err(e.to_string())),
            // A locked, full or failing database: nothing of the batch is kept.
            Err(e) => return Err(e),
        }
    }
    tx.commit()?;
    Ok(results)
}

/// Whether a failed statement fails only its own record (a duplicate id, an outcome for an
/// unknown call) rather than the database as a whole.
fn concerns_only_this_record(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::QueryReturnedNoRows)
        || error.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
}

/// Writes one record; `replaying` skips a request whose id is already stored.
fn write_one(
    tx: &rusqlite::Transaction<'_>,
    write: &Write,
    replaying: bool,
) -> rusqlite::Result<()> {
    match write {
        Write::Request(r) => {
            tx.prepare_cached(if replaying {
                "INSERT OR IGNORE INTO calls (id, received_ms, agent, extension, client_addr,
                                              requested, dialed, idempotency_key, refusal)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            } else {
                "INSERT INTO calls (id, received_ms, agent, extension, client_addr, requested,
                                    dialed, idempotency_key, refusal)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            })?
            .execute(params![
                r.id,
                r.received_ms,
                r.agent,
                r.extension,
                r.client_addr,
                r.requested,
                r.dialed,
                r.idempotency_key,
                r.refusal
            ])?;
        }
        Write::Outcome {
            id,
            outcome,
            detail,
            ended_ms,
        } => {
            let updated = tx
                .prepare_cached(
                    "UPDATE calls SET outcome = ?2, outcome_detail = ?3, ended_ms = ?4 WHERE id = ?1",
                )?
                .execute(params![id, outcome, detail, ended_ms])?;
            if updated == 0 {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str, requested: &str) -> RequestRecord {
        RequestRecord {
            id: id.to_owned(),
            received_ms: now_ms(),
            agent: "ana".to_owned(),
            extension: "10".to_owned(),
            client_addr: "192.0.2.7".to_owned(),
            requested: requested.to_owned(),
            dialed: Some("0932009000".to_owned()),
            idempotency_key: None,
            refusal: None,
        }
    }

    #[tokio::test]
    async fn requests_and_outcomes_are_stored_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit.sqlite")).unwrap();
        log.record_request(request("c1", "+34 93 200 90 00"))
            .await
            .unwrap();
        let stored = log.call("c1").unwrap().unwrap();
        assert_eq!(
            stored.request,
            request("c1", "+34 93 200 90 00").with_time(stored.request.received_ms)
        );
        assert_eq!(stored.outcome, None);

        log.record_outcome("c1", "busy", Some("Busy here\r\n"))
            .await
            .unwrap();
        let stored = log.call("c1").unwrap().unwrap();
        assert_eq!(stored.outcome.as_deref(), Some("busy"));
        assert!(stored.ended_ms.unwrap() >= stored.request.received_ms);
        assert!(log.call("nope").unwrap().is_none());
    }

    #[tokio::test]
    async fn control_characters_are_escaped_and_long_input_cut() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit.sqlite")).unwrap();
        log.record_request(request("c1", "10\r\nAction: Originate\r\n"))
            .await
            .unwrap();
        log.record_request(request("c2", &"9".repeat(10_000)))
            .await
            .unwrap();
        let calls = log.calls().unwrap();
        assert_eq!(
            calls[0].request.requested,
            "10\\u{d}\\u{a}Action: Originate\\u{d}\\u{a}"
        );
        assert!(!calls[0].request.requested.contains(['\r', '\n']));
        assert_eq!(calls[1].request.requested.len(), MAX_REQUESTED_CHARS);
    }

    #[tokio::test]
    async fn a_failing_write_fails_alone_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        let log = AuditLog::open_with(&path, Durability::PowerLoss).unwrap();
        let (a, b, c) = tokio::join!(
            log.record_request(request("same", "1")),
            log.record_request(request("same", "2")),
            log.record_request(request("other", "3")),
        );
        assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1);
        let err = a.err().or(b.err()).unwrap().to_string();
        assert!(err.contains("UNIQUE constraint failed"), "{err}");
        c.unwrap();
        let err = log
            .record_outcome("missing", "answered", None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("audit log"), "{err}");
        assert_eq!(log.calls().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn records_read_back_at_once_after_being_spooled() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit.sqlite")).unwrap();
        for i in 0..200 {
            let id = format!("c{i}");
            log.record_request(request(&id, "12")).await.unwrap();
            log.record_outcome(&id, "busy", None).await.unwrap();
            let stored = log
                .call(&id)
                .unwrap()
                .expect("the record is readable at once");
            assert_eq!(stored.outcome.as_deref(), Some("busy"));
        }
    }

    /// What a gateway killed before its writer caught up leaves behind: whole lines, then a
    /// line cut short.
    fn killed_gateway_spool(path: &Path) {
        let mut text = Vec::new();
        for write in [
            Write::Request(request("kept1", "+34 93 200 90 00")),
            Write::Outcome {
                id: "kept1".to_owned(),
                outcome: "answered".to_owned(),
                detail: None,
                ended_ms: now_ms(),
            },
            Write::Request(request("kept2", "932009001")),
        ] {
            serde_json::to_writer(&mut text, &write).unwrap();
            text.push(b'\n');
        }
        let cut = serde_json::to_vec(&Write::Request(request("cut", "1"))).unwrap();
        text.extend_from_slice(&cut[..cut.len() / 2]);
        std::fs::write(Spool::path_for(path), text).unwrap();
    }

    #[tokio::test]
    async fn a_killed_gateways_spool_is_stored_on_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        {
            let earlier = AuditLog::open(&path).unwrap();
            earlier
                .record_request(request("kept1", "+34 93 200 90 00"))
                .await
                .unwrap();
            earlier.calls().unwrap();
        }
        killed_gateway_spool(&path);

        let log = open_once_free(&path);
        let calls = log.calls().unwrap();
        let ids: Vec<_> = calls.iter().map(|c| c.request.id.as_str()).collect();
        assert_eq!(
            ids,
            ["kept1", "kept2"],
            "stored once each, the cut line skipped"
        );
        assert_eq!(calls[0].outcome.as_deref(), Some("answered"));
        assert_eq!(
            std::fs::metadata(Spool::path_for(&path)).unwrap().len(),
            0,
            "the spool is emptied once its records are stored"
        );
        let kept: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("audit.sqlite.spool.damaged-"))
            .collect();
        assert_eq!(kept.len(), 1, "the spool with the cut line is kept aside");
        log.record_request(request("after", "1")).await.unwrap();
        assert_eq!(log.calls().unwrap().len(), 3);
    }

    #[test]
    fn a_replay_stores_only_the_requests_the_database_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_connection(&dir.path().join("audit.sqlite")).unwrap();
        let writes = [
            Write::Request(request("a", "1")),
            Write::Request(request("b", "2")),
            Write::Outcome {
                id: "a".to_owned(),
                outcome: "busy".to_owned(),
                detail: None,
                ended_ms: now_ms(),
            },
        ];
        assert_eq!(replay(&mut conn, &writes[..1]).unwrap(), 1);
        assert_eq!(
            replay(&mut conn, &writes).unwrap(),
            1,
            "a was stored already"
        );
        assert_eq!(replay(&mut conn, &writes).unwrap(), 0);
    }

    #[tokio::test]
    async fn two_gateways_cannot_share_one_audit_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        let first = AuditLog::open(&path).unwrap();
        let err = AuditLog::open(&path)
            .err()
            .expect("the second open is refused");
        assert!(
            err.to_string()
                .contains("another gateway is using this audit log"),
            "{err}"
        );
        drop(first);
        open_once_free(&path);
    }

    /// Opens the log once the writer thread of an earlier handle has seen it dropped and let
    /// go of the spool's lock (within its idle wait).
    fn open_once_free(path: &Path) -> AuditLog {
        for _ in 0..100 {
            match AuditLog::open(path) {
                Ok(log) => return log,
                Err(AuditError::InUse { .. }) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the audit log is still in use 1 s after its last handle was dropped");
    }

    #[tokio::test]
    async fn a_database_that_cannot_be_written_refuses_requests_until_it_can() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        let log = AuditLog::open(&path).unwrap();
        let blocker = Connection::open(&path).unwrap();
        blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();

        // Spooled and acknowledged while the writer waits for the lock, then refused once
        // its commit has failed, saying why.
        let mut accepted = vec!["early".to_owned()];
        log.record_request(request("early", "1")).await.unwrap();
        let err = loop {
            let id = format!("r{}", accepted.len());
            match log.record_request(request(&id, "2")).await {
                Ok(()) => accepted.push(id),
                Err(e) => break e,
            }
            assert!(
                accepted.len() < 200,
                "still accepted after 20 s of a locked database"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(
            err.to_string().contains("cannot be written") && err.to_string().contains("locked"),
            "{err}"
        );

        blocker.execute_batch("COMMIT").unwrap();
        let mut accepted_again = false;
        for _ in 0..100 {
            if log.record_request(request("later", "3")).await.is_ok() {
                accepted_again = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            accepted_again,
            "requests are accepted again once the database can be written"
        );
        let ids: Vec<_> = log
            .calls()
            .unwrap()
            .into_iter()
            .map(|c| c.request.id)
            .collect();
        accepted.push("later".to_owned());
        assert_eq!(
            ids, accepted,
            "every acknowledged request is stored, no refused one"
        );
    }

    #[tokio::test]
    async fn many_concurrent_requests_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit.sqlite")).unwrap();
        let writes = (0..500).map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.record_request(request(&format!("c{i}"), "12")).await })
        });
        for w in writes {
            w.await.unwrap().unwrap();
        }
        assert_eq!(log.calls().unwrap().len(), 500);
        let file = Connection::open(dir.path().join("audit.sqlite")).unwrap();
        let stored: i64 = file
            .query_row("SELECT count(*) FROM calls", [], |row| row.get(0))
            .unwrap();
        assert_eq!(
            stored, 500,
            "all in the database file, not only in the spool"
        );
    }

    #[test]
    fn unwritable_path_is_a_clear_error() {
        let err = AuditLog::open(Path::new("/nonexistent-dir/audit.sqlite"))
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("audit log /nonexistent-dir/audit.sqlite"),
            "{err}"
        );
    }

    impl RequestRecord {
        fn with_time(mut self, received_ms: i64) -> Self {
            self.received_ms = received_ms;
            self
        }
    }
}

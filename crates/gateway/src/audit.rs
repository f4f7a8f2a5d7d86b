//! The audit log: every authenticated call request and its outcome, in SQLite.
//!
//! A request is committed (SQLite WAL) before the gateway answers it, so a request the client
//! saw acknowledged survives the process being killed; with [`Durability::PowerLoss`] each
//! commit is also flushed to the disk, so it survives a power cut too. One writer
//! thread owns the database and commits whatever requests are waiting in one transaction
//! (group commit): under load many requests share one disk flush. Tokens and secrets never
//! reach this module; the requested text is stored with control characters escaped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

/// How many waiting writes one transaction takes at most.
const MAX_BATCH: usize = 512;

/// How many writes may wait for the writer thread before callers wait too (back-pressure).
const QUEUE_DEPTH: usize = 4096;

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
    /// The writer thread could not be started.
    #[error("cannot start the audit log writer: {0}")]
    Thread(std::io::Error),
    /// The writer thread is gone (the gateway is shutting down).
    #[error("the audit log writer has stopped")]
    Closed,
}

/// A call request as the gateway accepted or refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
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

enum Write {
    Request(RequestRecord),
    Outcome {
        id: String,
        outcome: String,
        detail: Option<String>,
        ended_ms: i64,
    },
}

struct Job {
    write: Write,
    done: oneshot::Sender<Result<(), String>>,
}

/// The columns of a [`CallRecord`], in the order `row_to_call` reads them.
const COLUMNS: &str = "id, received_ms, agent, extension, client_addr, requested, dialed, \
                       idempotency_key, refusal, outcome, outcome_detail, ended_ms";

/// What a committed record survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The gateway being killed or crashing (`synchronous = NORMAL`): the operating system
    /// holds every commit. No disk flush per request.
    #[default]
    ProcessCrash,
    /// A power cut too (`synchronous = FULL`): every commit waits for the disk.
    PowerLoss,
}

/// A handle to the audit log, cheap to clone; writes go through one background thread.
#[derive(Clone)]
pub struct AuditLog {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
    reader: Arc<Mutex<Connection>>,
}

impl AuditLog {
    /// Opens (creating when missing) the database and starts its writer thread, with
    /// [`Durability::ProcessCrash`].
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(path, Durability::default())
    }

    /// Opens the database with the chosen durability.
    pub fn open_with(path: &Path, durability: Durability) -> Result<AuditLog, AuditError> {
        let conn = open_connection(path)?;
        let synchronous = match durability {
            Durability::ProcessCrash => "NORMAL",
            Durability::PowerLoss => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(|source| AuditError::Sqlite {
                path: path.to_owned(),
                source,
            })?;
        let (jobs, rx) = mpsc::channel(QUEUE_DEPTH);
        let thread_path = path.to_owned();
        thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer(conn, rx, &thread_path))
            .map_err(AuditError::Thread)?;
        Ok(AuditLog {
            path: path.to_owned(),
            jobs,
            reader: Arc::new(Mutex::new(open_connection(path)?)),
        })
    }

    /// Records a request durably; returns once it is on disk.
    pub async fn record_request(&self, record: RequestRecord) -> Result<(), AuditError> {
        self.submit(Write::Request(record)).await
    }

    /// Records how a call ended; returns once it is on disk.
    pub async fn record_outcome(
        &self,
        id: &str,
        outcome: &str,
        detail: Option<&str>,
    ) -> Result<(), AuditError> {
        self.submit(Write::Outcome {
            id: id.to_owned(),
            outcome: outcome.to_owned(),
            detail: detail.map(sanitize),
            ended_ms: now_ms(),
        })
        .await
    }

    /// Reads one call back, off the async runtime's threads (reads share one connection;
    /// WAL lets them run beside the writer).
    pub async fn find(&self, id: &str) -> Result<Option<CallRecord>, AuditError> {
        let (log, id) = (self.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || log.call(&id))
            .await
            .map_err(|_| AuditError::Closed)?
    }

    /// Reads one call back (blocking; async code uses [`AuditLog::find`]).
    pub fn call(&self, id: &str) -> Result<Option<CallRecord>, AuditError> {
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

    async fn submit(&self, write: Write) -> Result<(), AuditError> {
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Job { write, done })
            .await
            .map_err(|_| AuditError::Closed)?;
        result
            .await
            .map_err(|_| AuditError::Closed)?
            .map_err(|message| AuditError::Write {
                path: self.path.clone(),
                message,
            })
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
/// with its own result once the transaction is committed.
fn writer(mut conn: Connection, mut rx: mpsc::Receiver<Job>, path: &Path) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.blocking_recv_many(&mut batch, MAX_BATCH) > 0 {
        let results = match write_batch(&mut conn, &batch) {
            Ok(results) => results,
            Err(e) => vec![Err(format!("commit failed: {e}")); batch.len()],
        };
        for (job, result) in batch.drain(..).zip(results) {
            if let Err(message) = &result {
                tracing::error!("audit log {}: {message}", path.display());
            }
            let _ = job.done.send(result);
        }
    }
}

/// Writes a batch in one transaction. A failing statement (a duplicate id, say) fails only
/// its own job: SQLite undoes just that statement and the others still commit.
fn write_batch(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<Vec<Result<(), String>>> {
    let tx = conn.transaction()?;
    let results = batch
        .iter()
        .map(|job| write_one(&tx, &job.write).map_err(|e| e.to_string()))
        .collect();
    tx.commit()?;
    Ok(results)
}

fn write_one(tx: &rusqlite::Transaction<'_>, write: &Write) -> rusqlite::Result<()> {
    match write {
        Write::Request(r) => {
            tx.prepare_cached(
                "INSERT INTO calls (id, received_ms, agent, extension, client_addr, requested,
                                    dialed, idempotency_key, refusal)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                r.id,
                r.received_ms,
                r.agent,
                r.extension,
                r.client_addr,
                sanitize(&r.requested),
                r.dialed,
                r.idempotency_key.as_deref().map(sanitize),
                r.refusal.as_deref().map(sanitize)
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
        let log = AuditLog::open(&dir.path().join("audit.sqlite")).unwrap();
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
        let reopened = AuditLog::open(&dir.path().join("audit.sqlite")).unwrap();
        assert_eq!(reopened.calls().unwrap().len(), 500);
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

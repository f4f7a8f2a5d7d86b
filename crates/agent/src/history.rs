//! The agent's own call history, in a local SQLite file.
//!
//! A call is recorded when it starts ([`History::record_start`]) and completed when it ends
//! ([`History::record_end`]). A call the app never saw end (it stopped, or is still ringing)
//! keeps no outcome and shows as such: it is not turned into a lost call.
//!
//! The schema is versioned with SQLite's `user_version` and migrated on open. A file that is
//! not an SQLite database is moved aside (never deleted) and an empty history started, with a
//! [`Recovered`] note the app can show.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OptionalExtension, ToSql, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

/// The longest text kept for a number, destination or outcome text, in bytes; longer text is
/// cut at a character boundary.
pub const MAX_FIELD_LEN: usize = 1024;

/// The schema versions, in order: entry `i` takes the database from `user_version` `i` to
/// `i + 1`.
const MIGRATIONS: &[&str] = &["CREATE TABLE calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at INTEGER NOT NULL,
        number TEXT NOT NULL,
        number_digits TEXT NOT NULL,
        destination TEXT NOT NULL,
        trigger TEXT NOT NULL,
        outcome TEXT,
        outcome_text TEXT,
        talk_secs INTEGER
    );
    CREATE INDEX calls_newest ON calls (started_at DESC, id DESC);"];

/// How long a handle waits for another handle's write before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The columns of an [`Entry`], in the order [`entry_from_row`] reads them.
const ENTRY_COLUMNS: &str =
    "id, started_at, number, destination, trigger, outcome, outcome_text, talk_secs";

/// The identifier of one call in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(pub i64);

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What made the app place a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The number on the clipboard, by its shortcut.
    Clipboard,
    /// The selected text, by its shortcut.
    Selection,
    /// The dial shortcut, with the number typed or picked afterwards.
    Hotkey,
    /// A `tel:`/`callto:`/`sip:` link.
    Link,
    /// A number typed into the app.
    Typed,
    /// Redial from the history.
    Redial,
    /// The tray menu.
    Tray,
}

impl Trigger {
    /// Every trigger, in declaration order.
    const ALL: [Trigger; 7] = [
        Trigger::Clipboard,
        Trigger::Selection,
        Trigger::Hotkey,
        Trigger::Link,
        Trigger::Typed,
        Trigger::Redial,
        Trigger::Tray,
    ];

    /// The trigger's name, as serialized and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Clipboard => "clipboard",
            Trigger::Selection => "selection",
            Trigger::Hotkey => "hotkey",
            Trigger::Link => "link",
            Trigger::Typed => "typed",
            Trigger::Redial => "redial",
            Trigger::Tray => "tray",
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The far end answered.
    Answered,
    /// The far end was busy.
    Busy,
    /// Nobody answered (or the agent's own phone was not picked up).
    NoAnswer,
    /// The network or trunk had no free line.
    Congestion,
    /// The PBX or gateway refused or failed the call.
    Failed {
        /// What the PBX or gateway said.
        text: String,
    },
    /// The agent cancelled the call before it was placed or answered.
    Cancelled,
    /// The app lost track of the call (e.g. the connection to the PBX dropped).
    Lost {
        /// What happened.
        text: String,
    },
}

impl Outcome {
    /// The outcome's kind, as serialized and stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Busy => "busy",
            Outcome::NoAnswer => "no_answer",
            Outcome::Congestion => "congestion",
            Outcome::Failed { .. } => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Lost { .. } => "lost",
        }
    }

    /// The outcome's text, for the kinds that have one.
    pub fn text(&self) -> Option<&str> {
        match self {
            Outcome::Failed { text } | Outcome::Lost { text } => Some(text),
            _ => None,
        }
    }

    /// Rebuilds an outcome from its stored kind and text.
    fn from_parts(kind: &str, text: Option<String>) -> Option<Outcome> {
        let text = text.unwrap_or_default();
        Some(match kind {
            "answered" => Outcome::Answered,
            "busy" => Outcome::Busy,
            "no_answer" => Outcome::NoAnswer,
            "congestion" => Outcome::Congestion,
            "failed" => Outcome::Failed { text },
            "cancelled" => Outcome::Cancelled,
            "lost" => Outcome::Lost { text },
            _ => return None,
        })
    }
}

/// One call in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The call's identifier.
    pub id: EntryId,
    /// When the call started, in seconds since the Unix epoch.
    pub started_at: i64,
    /// The number as the agent saw it, e.g. `+34 600 12 34 56`.
    pub number: String,
    /// What was dialed, e.g. `0600123456`.
    pub destination: String,
    /// What made the app place the call.
    pub trigger: Trigger,
    /// How the call ended; `None` while it is in progress or when the app stopped before it
    /// ended.
    pub outcome: Option<Outcome>,
    /// Seconds of conversation, when the call was answered and its end was seen.
    pub talk_secs: Option<u32>,
}

/// A note that the history file was damaged and moved aside, for the app to show once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Where the damaged file is now.
    pub moved_to: PathBuf,
    /// What SQLite said about it.
    pub reason: String,
}

impl fmt::Display for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the call history was damaged ({}) and has been moved to {}; a new, empty history \
             was started",
            self.reason,
            self.moved_to.display()
        )
    }
}

/// Why the call history could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The history's folder could not be created or its file not opened.
    #[error("cannot open the call history {path}: {source}; check that the folder is writable")]
    Open {
        /// The history file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A damaged history file could not be moved aside.
    #[error(
        "the call history {path} is damaged and could not be moved aside: {source}; move or \
         delete that file yourself"
    )]
    MoveAside {
        /// The damaged file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file was written by a newer clickdial with a schema this one does not know.
    #[error(
        "the call history {path} was written by a newer clickdial (schema {found}, this one \
         knows up to {supported}); update clickdial"
    )]
    TooNew {
        /// The history file.
        path: PathBuf,
        /// The file's schema version.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// No call has this identifier (it was deleted, or the history cleared).
    #[error("call {0} is not in the history (it may have been deleted)")]
    NotFound(EntryId),
    /// The call already has an outcome.
    #[error("call {0} already ended")]
    AlreadyEnded(EntryId),
    /// SQLite failed.
    #[error(
        "the call history database failed: {0}; restart clickdial, and if it persists move the history file away"
    )]
    Sqlite(#[from] rusqlite::Error),
}

/// The call history: one connection to its SQLite database.
///
/// Several handles (even in several processes) may use the same file at once.
#[derive(Debug)]
pub struct History {
    /// The database.
    db: Connection,
    /// Set when a damaged file was moved aside on open.
    recovered: Option<Recovered>,
}

/// Switches the database to write-ahead logging. Two handles switching a new file at once
/// can get "database is locked" at once, without SQLite waiting for the busy timeout, so
/// the switch is tried again until that timeout.
fn use_wal(db: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match db.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())) {
            Err(e)
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            result => return result,
        }
    }
}

impl History {
    /// Opens (creating when missing) the history at `path`; a file that is not an SQLite
    /// database is moved to `<name>.corrupt-<unix time>` and an empty history started, as
    /// [`History::recovered`] then tells.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let open_error = |source| HistoryError::Open {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(open_error)?;
        }
        create_private_file(path).map_err(open_error)?;
        match History::open_file(path) {
            Err(HistoryError::Sqlite(error)) if is_not_a_database(&error) => {
                let moved_to = move_aside(path)?;
                let mut history = History::open_file(path)?;
                history.recovered = Some(Recovered {
                    moved_to,
                    reason: error.to_string(),
                });
                Ok(history)
            }
            other => other,
        }
    }

    /// A history in memory, lost when dropped: for demo mode and tests.
    pub fn in_memory() -> History {
        let db = Connection::open_in_memory().expect("SQLite can always open a memory database");
        let mut history = History {
            db,
            recovered: None,
        };
        history
            .migrate(Path::new(":memory:"))
            .expect("the schema applies to an empty memory database");
        history
    }

    /// Set when the file was damaged and moved aside on open: what to tell the agent.
    pub fn recovered(&self) -> Option<&Recovered> {
        self.recovered.as_ref()
    }

    /// Records that a call to `destination` (dialed for the `number` the agent saw) started
    /// now, and returns its identifier.
    pub fn record_start(
        &self,
        number: &str,
        destination: &str,
        trigger: Trigger,
    ) -> Result<EntryId, HistoryError> {
        let number = cut(number);
        self.db.execute(
            "INSERT INTO calls (started_at, number, number_digits, destination, trigger)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now(), number, digits(number), cut(destination), trigger],
        )?;
        Ok(EntryId(self.db.last_insert_rowid()))
    }

    /// Records how call `id` ended, with its conversation time when it was answered.
    pub fn record_end(
        &self,
        id: EntryId,
        outcome: Outcome,
        talk_secs: Option<u32>,
    ) -> Result<(), HistoryError> {
        let changed = self.db.execute(
            "UPDATE calls SET outcome = ?2, outcome_text = ?3, talk_secs = ?4
             WHERE id = ?1 AND outcome IS NULL",
            params![id.0, outcome.kind(), outcome.text().map(cut), talk_secs],
        )?;
        if changed == 0 {
            return Err(match self.get(id)? {
                Some(_) => HistoryError::AlreadyEnded(id),
                None => HistoryError::NotFound(id),
            });
        }
        Ok(())
    }

    /// Up to `limit` calls matching `query`, newest first; an empty query matches every call.
    ///
    /// A call matches when the digits of its number or destination contain the query's
    /// digits (so `600-12` finds `+34 600 12 34 56`), or when its number, outcome or outcome
    /// text contains the query, ignoring ASCII case.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Entry>, HistoryError> {
        let query = query.trim();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut statement = self.db.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM calls
             WHERE ?1 = ''
                OR (?2 <> '' AND (number_digits LIKE ?3 ESCAPE '\\'
                                  OR destination LIKE ?3 ESCAPE '\\'))
                OR number LIKE ?4 ESCAPE '\\'
                OR outcome LIKE ?4 ESCAPE '\\'
                OR outcome_text LIKE ?4 ESCAPE '\\'
             ORDER BY started_at DESC, id DESC
             LIMIT ?5"
        ))?;
        let query_digits = digits(query);
        let rows = statement.query_map(
            params![
                query,
                query_digits,
                like_pattern(&query_digits),
                like_pattern(query),
                limit
            ],
            entry_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The call `id`, or `None` when it is not in the history.
    pub fn get(&self, id: EntryId) -> Result<Option<Entry>, HistoryError> {
        Ok(self
            .db
            .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM calls WHERE id = ?1"))?
            .query_row([id.0], entry_from_row)
            .optional()?)
    }

    /// Deletes the call `id`; returns whether it was there.
    pub fn delete(&self, id: EntryId) -> Result<bool, HistoryError> {
        Ok(self.db.execute("DELETE FROM calls WHERE id = ?1", [id.0])? > 0)
    }

    /// Deletes every call; returns how many there were.
    pub fn clear(&self) -> Result<usize, HistoryError> {
        Ok(self.db.execute("DELETE FROM calls", [])?)
    }

    /// Opens the database file and brings its schema up to date.
    fn open_file(path: &Path) -> Result<History, HistoryError> {
        let db = Connection::open(path)?;
        db.busy_timeout(BUSY_TIMEOUT)?;
        // Write-ahead logging lets other handles read while one writes.
        use_wal(&db)?;
        let mut history = History {
            db,
            recovered: None,
        };
        history.migrate(path)?;
        Ok(history)
    }

    /// Applies the migrations the database has not had yet, in one write transaction, so
    /// that handles opening the same new file at once migrate it once.
    fn migrate(&mut self, path: &Path) -> Result<(), HistoryError> {
        let transaction = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(HistoryError::TooNew {
                path: path.to_owned(),
                found: version,
                supported,
            });
        }
        for migration in &MIGRATIONS[usize::try_from(version).unwrap_or(0)..] {
            transaction.execute_batch(migration)?;
        }
        transaction.pragma_update(None, "user_version", supported)?;
        transaction.commit()?;
        Ok(())
    }
}

impl ToSql for Trigger {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Trigger {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Trigger> {
        let text = value.as_str()?;
        Trigger::ALL
            .into_iter()
            .find(|trigger| trigger.as_str() == text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown call trigger {text:?}").into()))
    }
}

/// Reads an [`Entry`] from a row of [`ENTRY_COLUMNS`].
fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let outcome = match row.get::<_, Option<String>>(5)? {
        None => None,
        Some(kind) => Some(Outcome::from_parts(&kind, row.get(6)?).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                5,
                rusqlite::types::Type::Text,
                format!("unknown call outcome {kind:?}").into(),
            )
        })?),
    };
    Ok(Entry {
        id: EntryId(row.get(0)?),
        started_at: row.get(1)?,
        number: row.get(2)?,
        destination: row.get(3)?,
        trigger: row.get(4)?,
        outcome,
        talk_secs: row.get(7)?,
    })
}

/// Whether SQLite refused the file as no database, or as a damaged one.
fn is_not_a_database(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

/// Moves a damaged `path` (and its `-wal` and `-shm` files) to `<name>.corrupt-<unix time>`;
/// returns the new path of the database file.
fn move_aside(path: &Path) -> Result<PathBuf, HistoryError> {
    let suffix = format!(".corrupt-{}", now());
    let with_suffix = |path: &Path, extra: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(extra);
        PathBuf::from(name)
    };
    let moved_to = with_suffix(path, &suffix);
    let move_error = |source| HistoryError::MoveAside {
        path: path.to_owned(),
        source,
    };
    fs::rename(path, &moved_to).map_err(move_error)?;
    for sidecar in ["-wal", "-shm"] {
        let from = with_suffix(path, sidecar);
        match fs::rename(&from, with_suffix(&moved_to, sidecar)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(move_error(error));
            }
            _ => {}
        }
    }
    create_private_file(path).map_err(|source| HistoryError::Open {
        path: path.to_owned(),
        source,
    })?;
    Ok(moved_to)
}

/// Creates `path` empty, readable by the user alone on Unix, unless it exists; SQLite gives
/// its `-wal` and `-shm` files the same permissions.
fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// The current time in seconds since the Unix epoch.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The ASCII digits of `text`, in order.
fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// `text` cut to at most [`MAX_FIELD_LEN`] bytes at a character boundary.
fn cut(text: &str) -> &str {
    let mut end = text.len().min(MAX_FIELD_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A LIKE pattern matching text that contains `text`, with `%`, `_` and `\` escaped.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_end_get() {
        let history = History::in_memory();
        let id = history
            .record_start("+34 600 12 34 56", "0600123456", Trigger::Selection)
            .unwrap();
        let entry = history.get(id).unwrap().unwrap();
        assert_eq!(entry.outcome, None);
        assert_eq!(entry.number, "+34 600 12 34 56");
        assert_eq!(entry.destination, "0600123456");
        assert_eq!(entry.trigger, Trigger::Selection);
        assert!((entry.started_at - now()).abs() <= 2);
        history.record_end(id, Outcome::Answered, Some(42)).unwrap();
        let entry = history.get(id).unwrap().unwrap();
        assert_eq!(entry.outcome, Some(Outcome::Answered));
        assert_eq!(entry.talk_secs, Some(42));
        assert!(matches!(
            history.record_end(id, Outcome::Busy, None),
            Err(HistoryError::AlreadyEnded(i)) if i == id
        ));
        assert!(matches!(
            history.record_end(EntryId(999), Outcome::Busy, None),
            Err(HistoryError::NotFound(EntryId(999)))
        ));
    }

    #[test]
    fn every_outcome_and_trigger_round_trips() {
        let history = History::in_memory();
        let outcomes = [
            Outcome::Answered,
            Outcome::Busy,
            Outcome::NoAnswer,
            Outcome::Congestion,
            Outcome::Failed {
                text: "Originate failed".to_owned(),
            },
            Outcome::Cancelled,
            Outcome::Lost {
                text: String::new(),
            },
        ];
        for (outcome, trigger) in outcomes.iter().zip(Trigger::ALL) {
            let id = history.record_start("1", "1", trigger).unwrap();
            history.record_end(id, outcome.clone(), None).unwrap();
            let entry = history.get(id).unwrap().unwrap();
            assert_eq!(entry.outcome.as_ref(), Some(outcome));
            assert_eq!(entry.trigger, trigger);
        }
    }

    #[test]
    fn search_by_digits_and_text() {
        let history = History::in_memory();
        let spain = history
            .record_start("+34 600-12-34-56", "0600123456", Trigger::Clipboard)
            .unwrap();
        let uk = history
            .record_start("+44 20 7946 0018", "000442079460018", Trigger::Link)
            .unwrap();
        history
            .record_end(
                uk,
                Outcome::Failed {
                    text: "Trunk DOWN 50%".to_owned(),
                },
                None,
            )
            .unwrap();
        let ids = |query: &str| -> Vec<EntryId> {
            history
                .search(query, 10)
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect()
        };
        assert_eq!(ids(""), [uk, spain]);
        assert_eq!(ids("  "), [uk, spain]);
        assert_eq!(ids("600 12"), [spain]);
        assert_eq!(ids("+34600123456"), [spain]);
        assert_eq!(ids("2079"), [uk]);
        assert_eq!(ids("trunk down"), [uk]);
        assert_eq!(ids("failed"), [uk]);
        assert_eq!(ids("50%"), [uk]);
        assert_eq!(ids("%"), [uk]);
        assert_eq!(ids("_"), Vec::<EntryId>::new());
        assert_eq!(ids("nothing"), Vec::<EntryId>::new());
        assert_eq!(history.search("", 1).unwrap().len(), 1);
        assert_eq!(history.search("", 0).unwrap().len(), 0);
        assert_eq!(history.search("", usize::MAX).unwrap().len(), 2);
    }

    #[test]
    fn delete_and_clear() {
        let history = History::in_memory();
        let a = history.record_start("1", "1", Trigger::Typed).unwrap();
        let b = history.record_start("2", "2", Trigger::Redial).unwrap();
        assert!(history.delete(a).unwrap());
        assert!(!history.delete(a).unwrap());
        assert_eq!(history.get(a).unwrap(), None);
        assert_eq!(history.clear().unwrap(), 1);
        assert_eq!(history.get(b).unwrap(), None);
        let c = history.record_start("3", "3", Trigger::Tray).unwrap();
        assert!(c > b, "identifiers are never reused");
    }

    #[test]
    fn hostile_text_is_kept_or_cut_safely() {
        let history = History::in_memory();
        let nul = history
            .record_start("6\0' OR 1=1; --", "\0", Trigger::Typed)
            .unwrap();
        let entry = history.get(nul).unwrap().unwrap();
        assert_eq!(entry.number, "6\0' OR 1=1; --");
        assert_eq!(entry.destination, "\0");
        let huge = "ñ".repeat(10 * MAX_FIELD_LEN);
        let id = history.record_start(&huge, &huge, Trigger::Typed).unwrap();
        history
            .record_end(id, Outcome::Lost { text: huge.clone() }, None)
            .unwrap();
        let entry = history.get(id).unwrap().unwrap();
        assert_eq!(entry.number.len(), MAX_FIELD_LEN);
        assert_eq!(entry.destination.len(), MAX_FIELD_LEN);
        assert_eq!(entry.outcome.unwrap().text().unwrap().len(), MAX_FIELD_LEN);
        let emoji = history
            .record_start("📞 +1 (555) 010-9999 ٣", "15550109999", Trigger::Link)
            .unwrap();
        assert_eq!(history.search("📞", 10).unwrap()[0].id, emoji);
        assert_eq!(history.search("555-010", 10).unwrap()[0].id, emoji);
    }

    #[test]
    fn cut_respects_characters() {
        assert_eq!(cut("abc"), "abc");
        let text = format!("{}é", "a".repeat(MAX_FIELD_LEN - 1));
        assert_eq!(cut(&text).len(), MAX_FIELD_LEN - 1);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(r"a%b_c\d"), r"%a\%b\_c\\d%");
        assert_eq!(like_pattern(""), "%%");
    }

    #[test]
    fn outcomes_serialize_with_a_kind_tag() {
        assert_eq!(
            serde_json::to_string(&Outcome::NoAnswer).unwrap(),
            r#"{"kind":"no_answer"}"#
        );
        assert_eq!(
            serde_json::to_string(&Outcome::Failed {
                text: "x".to_owned()
            })
            .unwrap(),
            r#"{"kind":"failed","text":"x"}"#
        );
        for outcome in [Outcome::Answered, Outcome::Cancelled, Outcome::Congestion] {
            assert_eq!(
                Outcome::from_parts(outcome.kind(), None),
                Some(outcome.clone())
            );
        }
        assert_eq!(Outcome::from_parts("exploded", None), None);
    }
}

//! The spool: audit records appended to a plain file before the client is answered, and
//! moved into SQLite by the writer thread afterwards.
//!
//! An append is one `write` into the operating system's page cache (a few microseconds), so
//! a record is safe from the gateway being killed the moment the call returns, without the
//! request waiting for a hand-off to the writer thread and its SQLite commit. The writer
//! reports what it committed; once SQLite holds everything appended the file is emptied
//! again. A gateway that was killed finds its unfinished records here on the next start and
//! puts them into SQLite before it serves. The file is locked while a gateway has it open,
//! so two gateways cannot share one audit log.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{AuditError, Write};

/// The file is emptied once the writer has caught up and it has grown past this size.
const EMPTY_AFTER_BYTES: u64 = 1 << 20;

/// The records appended to the spool and not yet known to be in SQLite.
pub(super) struct Spool {
    path: PathBuf,
    state: Mutex<State>,
    committed: Mutex<u64>,
    caught_up: Condvar,
}

struct State {
    file: File,
    len: u64,
    appended: u64,
    /// A failed append may have left part of a line that could not be taken back: the next
    /// record starts on a line of its own.
    torn: bool,
    /// Why the writer's last commit failed, while it keeps failing.
    failing: Option<String>,
}

/// What a previous gateway left in the spool.
pub(super) struct Leftovers {
    /// The records that were read back whole, in the order they were appended.
    pub writes: Vec<Write>,
    /// Lines that could not be read (a write cut short by a kill, a damaged file).
    pub unreadable: usize,
}

impl Spool {
    /// The spool kept beside the database at `db`.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push(".spool");
        PathBuf::from(name)
    }

    /// Opens (creating when missing) and locks the spool, and reads what an earlier gateway
    /// left in it. Nothing is removed until [`Spool::reset`] is called.
    pub fn open(path: &Path) -> Result<(Spool, Leftovers), AuditError> {
        let io_error = |source: io::Error| AuditError::Spool {
            path: path.to_owned(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io_error)?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => AuditError::InUse {
                path: path.to_owned(),
            },
            std::fs::TryLockError::Error(source) => io_error(source),
        })?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(io_error)?;
        let leftovers = parse(&text);
        let spool = Spool {
            path: path.to_owned(),
            state: Mutex::new(State {
                file,
                len: text.len() as u64,
                appended: 0,
                torn: false,
                failing: None,
            }),
            committed: Mutex::new(0),
            caught_up: Condvar::new(),
        };
        Ok((spool, leftovers))
    }

    /// Empties the spool once its leftovers are safely in SQLite; when some of it could not
    /// be read, a copy is kept beside it first and its name returned.
    pub fn reset(&self, unreadable: usize) -> Result<Option<PathBuf>, AuditError> {
        let mut state = self.state();
        let kept = if unreadable > 0 {
            let mut name = self.path.as_os_str().to_owned();
            name.push(format!(".damaged-{}", super::now_ms()));
            let kept = PathBuf::from(name);
            std::fs::copy(&self.path, &kept).map_err(|source| self.error(source))?;
            Some(kept)
        } else {
            None
        };
        state.file.set_len(0).map_err(|source| self.error(source))?;
        state.len = 0;
        Ok(kept)
    }

    /// Appends a record and, still in append order, hands it on with `then` (to the writer
    /// thread's queue). Refuses while the writer cannot commit to SQLite, so records cannot
    /// pile up behind a broken database.
    pub fn append(&self, write: Write, then: impl FnOnce(Write)) -> Result<(), AuditError> {
        // Serialized before taking the lock: other requests only wait for the write itself.
        let mut line = serde_json::to_vec(&write).expect("audit records serialize");
        line.push(b'\n');
        let mut state = self.state();
        if let Some(why) = &state.failing {
            return Err(AuditError::Write {
                path: self.path.clone(),
                message: format!("the database cannot be written: {why}"),
            });
        }
        if state.torn {
            line.insert(0, b'\n');
        }
        if let Err(source) = state.file.write_all(&line) {
            let len = state.len;
            if state.file.set_len(len).is_err() {
                state.torn = true;
            }
            return Err(self.error(source));
        }
        state.torn = false;
        state.len += line.len() as u64;
        state.appended += 1;
        then(write);
        Ok(())
    }

    /// The writer committed `count` more spooled records to SQLite (or it failed, with why).
    /// Empties the file when it holds nothing SQLite lacks and has grown large.
    pub fn committed(&self, count: u64, failing: Option<String>) {
        let committed = {
            let mut committed = self.committed.lock().expect("spool counter lock poisoned");
            *committed += count;
            *committed
        };
        self.caught_up.notify_all();
        let mut state = self.state();
        state.failing = failing;
        if state.appended == committed && state.len > EMPTY_AFTER_BYTES {
            match state.file.set_len(0) {
                Ok(()) => state.len = 0,
                Err(e) => tracing::warn!("cannot empty {}: {e}", self.path.display()),
            }
        }
    }

    /// Waits until SQLite holds every record appended before this call, so a read sees the
    /// gateway's own writes; gives up after `limit` or while the writer is failing.
    pub fn wait_caught_up(&self, limit: Duration) {
        let (target, failing) = {
            let state = self.state();
            (state.appended, state.failing.is_some())
        };
        if failing {
            return;
        }
        let deadline = Instant::now() + limit;
        let mut committed = self.committed.lock().expect("spool counter lock poisoned");
        while *committed < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!(
                    "audit log read before the writer caught up: the newest records may be missing"
                );
                return;
            }
            committed = self
                .caught_up
                .wait_timeout(committed, left)
                .expect("spool counter lock poisoned")
                .0;
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("spool lock poisoned")
    }

    fn error(&self, source: io::Error) -> AuditError {
        AuditError::Spool {
            path: self.path.clone(),
            source,
        }
    }
}

/// Reads the spool's lines; a line that is not a whole record (the tail of a write cut
/// short, damage) is counted and skipped.
fn parse(text: &[u8]) -> Leftovers {
    let mut leftovers = Leftovers {
        writes: Vec::new(),
        unreadable: 0,
    };
    for line in text.split_inclusive(|b| *b == b'\n') {
        match serde_json::from_slice(line) {
            Ok(write) if line.ends_with(b"\n") => leftovers.writes.push(write),
            _ if line.iter().all(u8::is_ascii_whitespace) => {}
            _ => leftovers.unreadable += 1,
        }
    }
    leftovers
}

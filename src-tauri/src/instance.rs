//! One clickdial per user: the first launch (the tray) listens on a local socket; later
//! launches (`clickdial tel:+34…`, `clickdial dial …`, a second start from the menu) hand their
//! request to it and exit, and the window processes (`clickdial --window …`) call its commands
//! and follow its events through it.
//!
//! The socket is a Unix socket in the session's runtime folder on Linux and macOS (it works with
//! or without a D-Bus session bus, so a second copy never starts — not even on a desktop without
//! one), and a named pipe on Windows. Whoever may listen is settled by an advisory lock on a file
//! beside it, held for the tray's lifetime and released by the system when it dies: two launches
//! after a crash cannot both take over the dead tray's socket.
//!
//! The protocol is one JSON line per request and one per answer; a [`Request::Subscribe`]
//! connection then receives one [`Event`] line per event until either side closes it.

use std::fs::{File, TryLockError};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use interprocess::local_socket::prelude::*;
use interprocess::local_socket::{ListenerOptions, Name};
use serde::{Deserialize, Serialize};

/// A connection to the running app (or, in the app, from a later launch or a window).
pub use interprocess::local_socket::Stream;

/// How long a later launch waits for the running app's answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// The longest request line accepted.
const MAX_REQUEST: u64 = 128 * 1024;

/// How long a launch waits for another that holds the lock to start listening.
const CLAIM_WITHIN: Duration = Duration::from_secs(3);

/// What a later launch asks the running app to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Request {
    /// Dial a number, a `tel:`/`callto:`/`sip:` link, or text holding a number.
    Dial {
        /// The text or link.
        text: String,
    },
    /// Dial what is on the clipboard.
    DialClipboard,
    /// Dial the selected text.
    DialSelection,
    /// Show the app (a second plain start): its settings, or the first-run window.
    Show,
    /// Run one of the web UI's commands (from a window process).
    Invoke {
        /// The command's name, e.g. `save_settings`.
        command: String,
        /// Its arguments, as the web UI sent them.
        #[serde(default)]
        args: serde_json::Value,
    },
    /// Receive the app's events (`call-progress`, `settings-changed`, …) on this connection.
    Subscribe,
}

/// An event pushed to subscribed window processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event's name, e.g. `call-progress`.
    pub event: String,
    /// Its payload.
    pub payload: serde_json::Value,
}

/// The running app's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the request was carried out.
    pub ok: bool,
    /// What happened, in the agent's language.
    pub message: String,
    /// A command's result, or its error (`{kind, message, problems?}`) when not `ok`.
    #[serde(default)]
    pub value: serde_json::Value,
}

impl Reply {
    /// A reply with a message and no value.
    pub fn said(ok: bool, message: impl Into<String>) -> Reply {
        Reply {
            ok,
            message: message.into(),
            value: serde_json::Value::Null,
        }
    }
}

/// Why the single-instance socket cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// No folder for the socket (no runtime, cache or home folder).
    #[error("no folder for clickdial's socket: set XDG_RUNTIME_DIR or HOME")]
    NoFolder,
    /// The socket's folder or file cannot be used.
    #[error("clickdial's socket {path}: {source}")]
    Socket {
        /// The socket or its folder.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The lock file beside the socket cannot be used.
    #[error("clickdial's lock file {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The running app did not answer properly.
    #[error("the running clickdial did not answer: {0}")]
    NoAnswer(String),
}

/// The outcome of trying to be the first.
#[derive(Debug)]
pub enum Claim {
    /// This process is the first: serve later launches on this listener.
    First(Listener),
    /// Another clickdial runs: hand it the request over this connection.
    Running(Stream),
}

/// The running app's end of the socket, with the lock that makes it the only one.
#[derive(Debug)]
pub struct Listener {
    /// Dropped first: on Unix this removes the socket file while the lock is still held.
    socket: interprocess::local_socket::Listener,
    _lock: File,
}

/// The socket's path (on Windows it names the pipe).
pub fn socket_path() -> Result<PathBuf, InstanceError> {
    crate::paths::runtime_dir()
        .map(|dir| dir.join("instance.sock"))
        .ok_or(InstanceError::NoFolder)
}

/// The socket's name at `path`: the file itself on Unix. Windows' named pipes live in one
/// machine-wide namespace, so the path (in the user's own folder) becomes the pipe's name:
/// one per user, and one per test.
fn name(path: &Path) -> std::io::Result<Name<'_>> {
    #[cfg(unix)]
    {
        path.to_fs_name::<interprocess::local_socket::GenericFilePath>()
    }
    #[cfg(windows)]
    {
        let pipe: String = path
            .to_string_lossy()
            .chars()
            .map(|c| {
                if matches!(c, '\\' | '/' | ':') {
                    '-'
                } else {
                    c
                }
            })
            .collect();
        pipe.to_ns_name::<interprocess::local_socket::GenericNamespaced>()
    }
}

/// Connects to the app listening at `path`.
pub fn connect(path: &Path) -> std::io::Result<Stream> {
    Stream::connect(name(path)?)
}

/// Whether a failed connection means that nobody listens (rather than a real failure).
fn nobody_listens(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
    )
}

/// Connects to the running app, or becomes the running app.
pub fn claim(path: &Path) -> Result<Claim, InstanceError> {
    let socket_error = |source| InstanceError::Socket {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(|source| InstanceError::Socket {
            path: dir.to_owned(),
            source,
        })?;
    }
    let lock_path = path.with_extension("lock");
    let lock_error = |source| InstanceError::Lock {
        path: lock_path.clone(),
        source,
    };
    let deadline = Instant::now() + CLAIM_WITHIN;
    loop {
        match connect(path) {
            Ok(stream) => return Ok(Claim::Running(stream)),
            Err(e) if nobody_listens(&e) => {}
            Err(e) => return Err(socket_error(e)),
        }
        // Nobody answers: the lock's holder is the running app, or is becoming it.
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(lock_error)?;
        match lock.try_lock() {
            Ok(()) => {
                // Only the lock's holder listens, so a socket file here is a dead tray's.
                let socket = ListenerOptions::new()
                    .name(name(path).map_err(socket_error)?)
                    .try_overwrite(true)
                    .create_sync()
                    .map_err(socket_error)?;
                return Ok(Claim::First(Listener {
                    socket,
                    _lock: lock,
                }));
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(lock_error(e)),
        }
        if Instant::now() > deadline {
            return Err(InstanceError::NoAnswer(
                "another clickdial is starting; try again".to_owned(),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A folder only this user can enter.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    // Windows: the folder is in the user's own profile, which only they (and the
    // administrators) can enter.
    builder.create(dir)
}

/// Sets a timeout where the platform has them: Unix sockets do, Windows' named pipes do not.
fn timeout(set: std::io::Result<()>) -> std::io::Result<()> {
    match set {
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => Ok(()),
        other => other,
    }
}

/// Sends `request` to the running app and waits for its answer.
pub fn forward(mut stream: Stream, request: &Request) -> Result<Reply, InstanceError> {
    let no_answer = |e: std::io::Error| InstanceError::NoAnswer(e.to_string());
    timeout(stream.set_recv_timeout(Some(ANSWER_WITHIN))).map_err(no_answer)?;
    let mut line = serde_json::to_string(request).expect("requests serialize");
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(no_answer)?;
    let mut answer = String::new();
    BufReader::new(stream.take(MAX_REQUEST))
        .read_line(&mut answer)
        .map_err(no_answer)?;
    serde_json::from_str(&answer)
        .map_err(|e| InstanceError::NoAnswer(format!("{e}: {:?}", answer.trim())))
}

/// Opens an event subscription: each item is one event from the running app; the iterator
/// ends when the app goes away.
pub fn subscribe(mut stream: Stream) -> Result<impl Iterator<Item = Event>, InstanceError> {
    let no_answer = |e: std::io::Error| InstanceError::NoAnswer(e.to_string());
    let mut line = serde_json::to_string(&Request::Subscribe).expect("requests serialize");
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(no_answer)?;
    Ok(BufReader::new(stream)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok()))
}

/// The window processes following the app's events.
#[derive(Debug, Default, Clone)]
pub struct Subscribers {
    streams: std::sync::Arc<std::sync::Mutex<Vec<Stream>>>,
}

impl Subscribers {
    /// Sends `event` to every subscriber; one that is gone is dropped.
    pub fn publish(&self, event: &str, payload: &impl Serialize) {
        let event = Event {
            event: event.to_owned(),
            payload: serde_json::to_value(payload).unwrap_or_default(),
        };
        let mut line = serde_json::to_string(&event).expect("events serialize");
        line.push('\n');
        let mut streams = self.streams.lock().expect("subscribers lock");
        streams.retain(|mut stream| stream.write_all(line.as_bytes()).is_ok());
    }

    fn add(&self, stream: Stream) {
        // A subscriber that stops reading must not stall the app (where sockets have timeouts).
        let _ = timeout(stream.set_send_timeout(Some(Duration::from_secs(2))));
        self.streams.lock().expect("subscribers lock").push(stream);
    }
}

/// Answers later launches and window processes until the process ends, one thread per
/// connection; `handle` runs once per request. Subscriptions join `subscribers`.
pub fn serve(
    listener: Listener,
    subscribers: Subscribers,
    handle: impl Fn(Request) -> Reply + Send + Sync + 'static,
) {
    let handle = std::sync::Arc::new(handle);
    std::thread::Builder::new()
        .name("instance".into())
        .spawn(move || {
            for stream in listener.socket.incoming() {
                let stream = match stream {
                    Ok(stream) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot accept a connection");
                        continue;
                    }
                };
                let handle = handle.clone();
                let subscribers = subscribers.clone();
                let spawned = std::thread::Builder::new()
                    .name("instance-request".into())
                    .spawn(move || {
                        if let Err(e) = answer(stream, &subscribers, &*handle) {
                            tracing::warn!(error = %e, "a request over the socket failed");
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "cannot start a request thread");
                }
            }
        })
        .expect("the instance thread starts");
}

/// Reads one request from `stream` and writes its answer (or subscribes the stream).
fn answer(
    stream: Stream,
    subscribers: &Subscribers,
    handle: &dyn Fn(Request) -> Reply,
) -> std::io::Result<()> {
    timeout(stream.set_recv_timeout(Some(Duration::from_secs(5))))?;
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_REQUEST)).read_line(&mut line)?;
    if line.is_empty() {
        return Ok(()); // Connected and left: a check that the app runs.
    }
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(Request::Subscribe) => {
            subscribers.add(stream);
            return Ok(());
        }
        Ok(request) => handle(request),
        Err(e) => Reply::said(
            false,
            format!("clickdial did not understand the request: {e}"),
        ),
    };
    let mut out = serde_json::to_string(&reply).expect("replies serialize");
    out.push('\n');
    (&stream).write_all(out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_launch_reaches_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/instance.sock");
        let Claim::First(listener) = claim(&path).unwrap() else {
            panic!("the first claim listens");
        };
        let subscribers = Subscribers::default();
        serve(listener, subscribers.clone(), |request| {
            Reply::said(true, format!("{request:?}"))
        });
        let Claim::Running(stream) = claim(&path).unwrap() else {
            panic!("the second claim connects");
        };
        let reply = forward(
            stream,
            &Request::Dial {
                text: "tel:+34932009000".into(),
            },
        )
        .unwrap();
        assert!(reply.ok);
        assert!(reply.message.contains("tel:+34932009000"), "{reply:?}");
        let Claim::Running(stream) = claim(&path).unwrap() else {
            panic!("a window process connects");
        };
        let mut events = subscribe(stream).unwrap();
        // The serving thread registers the subscription; wait for it, then publish.
        for _ in 0..200 {
            if !subscribers.streams.lock().unwrap().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        subscribers.publish(
            "call-progress",
            &serde_json::json!({ "state": "connected" }),
        );
        let received = events.next();
        let event = received.expect("the event arrives");
        assert_eq!(event.event, "call-progress");
        assert_eq!(event.payload["state"], "connected");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    /// A socket file that a crashed tray left behind, which nobody listens on.
    #[cfg(unix)]
    fn stale_socket(path: &Path) {
        drop(std::os::unix::net::UnixListener::bind(path).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn a_socket_left_by_a_crash_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("instance.sock");
        stale_socket(&path);
        assert!(matches!(claim(&path).unwrap(), Claim::First(_)));
    }

    #[cfg(unix)]
    #[test]
    fn launches_racing_after_a_crash_start_one_tray() {
        // Several launches at once find the dead tray's socket: each sees nobody listening,
        // and without the lock each removed the file and listened on a socket of its own.
        const LAUNCHES: usize = 6;
        for round in 0..30 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("instance.sock");
            stale_socket(&path);
            let start = std::sync::Arc::new(std::sync::Barrier::new(LAUNCHES));
            let launches: Vec<_> = (0..LAUNCHES)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        claim(&path).unwrap()
                    })
                })
                .collect();
            let claims: Vec<Claim> = launches.into_iter().map(|l| l.join().unwrap()).collect();
            let first = claims
                .iter()
                .filter(|claim| matches!(claim, Claim::First(_)))
                .count();
            assert_eq!(first, 1, "round {round}: {first} trays started");
        }
    }

    #[test]
    fn garbage_gets_an_answer_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("instance.sock");
        let Claim::First(listener) = claim(&path).unwrap() else {
            panic!("first");
        };
        serve(listener, Subscribers::default(), |_| {
            unreachable!("garbage is not a request")
        });
        let mut stream = connect(&path).unwrap();
        stream.write_all(b"{\"do\":\"format_disk\"}\n").unwrap();
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).unwrap();
        let reply: Reply = serde_json::from_str(&answer).unwrap();
        assert!(!reply.ok);
        assert!(reply.message.contains("did not understand"), "{reply:?}");
    }
}

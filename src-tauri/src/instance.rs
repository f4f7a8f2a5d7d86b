//! One clickdial per user: the first launch (the tray) listens on a local socket; later
//! launches (`clickdial tel:+34…`, `clickdial dial …`, a second start from the menu) hand their
//! request to it and exit, and the window processes (`clickdial --window …`) call its commands
//! and follow its events through it.
//!
//! A Unix socket in the session's runtime folder works with or without a D-Bus session bus,
//! so a second copy never starts — not even on a desktop without one.
//!
//! The protocol is one JSON line per request and one per answer; a [`Request::Subscribe`]
//! connection then receives one [`Event`] line per event until either side closes it.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long a later launch waits for the running app's answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// The longest request line accepted.
const MAX_REQUEST: u64 = 128 * 1024;

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
    /// The running app did not answer properly.
    #[error("the running clickdial did not answer: {0}")]
    NoAnswer(String),
}

/// The outcome of trying to be the first.
#[derive(Debug)]
pub enum Claim {
    /// This process is the first: serve later launches on this listener.
    First(UnixListener),
    /// Another clickdial runs: hand it the request over this connection.
    Running(UnixStream),
}

/// The socket's path.
pub fn socket_path() -> Result<PathBuf, InstanceError> {
    crate::paths::runtime_dir()
        .map(|dir| dir.join("instance.sock"))
        .ok_or(InstanceError::NoFolder)
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
    for _ in 0..5 {
        match UnixStream::connect(path) {
            Ok(stream) => return Ok(Claim::Running(stream)),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                // Nobody listens: a socket file left by a crash is removed.
                if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    let _ = std::fs::remove_file(path);
                }
                match UnixListener::bind(path) {
                    Ok(listener) => return Ok(Claim::First(listener)),
                    // Another launch won the race: connect to it.
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(e) => return Err(socket_error(e)),
                }
            }
            Err(e) => return Err(socket_error(e)),
        }
    }
    Err(InstanceError::NoAnswer(
        "another clickdial is starting; try again".to_owned(),
    ))
}

/// A folder only this user can enter.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Sends `request` to the running app and waits for its answer.
pub fn forward(mut stream: UnixStream, request: &Request) -> Result<Reply, InstanceError> {
    let no_answer = |e: std::io::Error| InstanceError::NoAnswer(e.to_string());
    stream
        .set_read_timeout(Some(ANSWER_WITHIN))
        .map_err(no_answer)?;
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
pub fn subscribe(mut stream: UnixStream) -> Result<impl Iterator<Item = Event>, InstanceError> {
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
    streams: std::sync::Arc<std::sync::Mutex<Vec<UnixStream>>>,
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

    fn add(&self, stream: UnixStream) {
        // A subscriber that stops reading must not stall the app.
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        self.streams.lock().expect("subscribers lock").push(stream);
    }
}

/// Answers later launches and window processes until the process ends, one thread per
/// connection; `handle` runs once per request. Subscriptions join `subscribers`.
pub fn serve(
    listener: UnixListener,
    subscribers: Subscribers,
    handle: impl Fn(Request) -> Reply + Send + Sync + 'static,
) {
    let handle = std::sync::Arc::new(handle);
    std::thread::Builder::new()
        .name("instance".into())
        .spawn(move || {
            for stream in listener.incoming() {
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
    stream: UnixStream,
    subscribers: &Subscribers,
    handle: &dyn Fn(Request) -> Reply,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
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
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_socket_left_by_a_crash_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("instance.sock");
        drop(UnixListener::bind(&path).unwrap()); // the file stays, nobody listens
        assert!(matches!(claim(&path).unwrap(), Claim::First(_)));
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
        let mut stream = UnixStream::connect(&path).unwrap();
        stream.write_all(b"{\"do\":\"format_disk\"}\n").unwrap();
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).unwrap();
        let reply: Reply = serde_json::from_str(&answer).unwrap();
        assert!(!reply.ok);
        assert!(reply.message.contains("did not understand"), "{reply:?}");
    }
}

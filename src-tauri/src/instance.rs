//! One clickdial per user: the first launch listens on a local socket, later launches
//! (`clickdial tel:+34…`, `clickdial dial …`, a second start from the menu) hand their request
//! to it and exit.
//!
//! A Unix socket in the session's runtime folder works with or without a D-Bus session bus,
//! so a second copy never starts — not even on a desktop without one.

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
}

/// The running app's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the request was carried out.
    pub ok: bool,
    /// What happened, in the agent's language.
    pub message: String,
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

/// Answers later launches on a thread of its own until the process ends; `handle` runs once
/// per request.
pub fn serve(listener: UnixListener, handle: impl Fn(Request) -> Reply + Send + 'static) {
    std::thread::Builder::new()
        .name("instance".into())
        .spawn(move || {
            for stream in listener.incoming() {
                match stream {
                    Ok(stream) => {
                        if let Err(e) = answer(stream, &handle) {
                            tracing::warn!(error = %e, "a later launch's request failed");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot accept a later launch"),
                }
            }
        })
        .expect("the instance thread starts");
}

/// Reads one request from `stream` and writes its answer.
fn answer(stream: UnixStream, handle: &impl Fn(Request) -> Reply) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_REQUEST)).read_line(&mut line)?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(request) => handle(request),
        Err(e) => Reply {
            ok: false,
            message: format!("clickdial did not understand the request: {e}"),
        },
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
        serve(listener, |request| Reply {
            ok: true,
            message: format!("{request:?}"),
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
        serve(listener, |_| unreachable!("garbage is not a request"));
        let mut stream = UnixStream::connect(&path).unwrap();
        stream.write_all(b"{\"do\":\"format_disk\"}\n").unwrap();
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).unwrap();
        let reply: Reply = serde_json::from_str(&answer).unwrap();
        assert!(!reply.ok);
        assert!(reply.message.contains("did not understand"), "{reply:?}");
    }
}

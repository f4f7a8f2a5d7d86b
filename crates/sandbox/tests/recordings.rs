//! The sandbox against the transcripts recorded from the real Asterisk 22 (`tests/data/`,
//! see its README): each recording's actions are replayed to a sandbox and what it writes
//! back must be the recording, message for message and header for header.
//!
//! Values that differ between any two runs (timestamps, challenges, generated unique ids,
//! Local channel numbers) are normalized. `OriginateResponse` is compared apart from the
//! other messages, because Asterisk itself writes it at different places in a call's
//! events from one run to the next.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use clickdial_ami::{AmiCodec, Frame, Limits, Message};
use clickdial_sandbox::{Behaviour, Config, Extension, Sandbox};
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

/// How much faster than Asterisk the sandbox runs here (a 120 s ring takes 1.2 s).
const SPEED: f64 = 100.0;

/// One recorded scenario.
struct Replay {
    /// The transcript in `tests/data/`.
    file: &'static str,
    /// Whether it was recorded with `extra-agents.extensions.conf`.
    extra_agents: bool,
    /// Whether it was recorded with `dialing.extensions.conf` and `dialing.manager.conf`.
    dialing: bool,
    /// The sandbox's speed: [`SPEED`], or 1 where the recording stops in the middle of a
    /// call.
    speed: f64,
    /// The actions sent, one `Name: value|Name: value` string each; `{key}` is the MD5 key
    /// for the last challenge and `clickdial-secret`.
    actions: &'static [&'static str],
    /// ActionIDs whose answers and events are known differences (see the crate docs).
    skip: &'static [&'static str],
    /// Whether only responses and `OriginateResponse` events are compared.
    responses_only: bool,
}

const LOGIN: &str = "Action: Login|ActionID: l1|Username: clickdial|Secret: clickdial-secret";

/// An Originate as the recorder sent it.
macro_rules! originate {
    ($agent:literal, $context:literal, $exten:literal, $timeout:literal, $async:literal) => {
        concat!(
            "Action: Originate|ActionID: o1|Channel: Local/",
            $agent,
            "@agents|Context: ",
            $context,
            "|Exten: ",
            $exten,
            "|Priority: 1|Timeout: ",
            $timeout,
            "|ChannelId: chan-1|Async: ",
            $async
        )
    };
}

/// A scenario of one login and one Originate.
const fn call(file: &'static str, actions: &'static [&'static str]) -> Replay {
    Replay {
        file,
        extra_agents: false,
        dialing: false,
        speed: SPEED,
        actions,
        skip: &[],
        responses_only: false,
    }
}

const REPLAYS: &[Replay] = &[
    call(
        "login_failed.ami",
        &["Action: Login|ActionID: l1|Username: clickdial|Secret: wrong"],
    ),
    call(
        "unknown_user.ami",
        &["Action: Login|ActionID: l1|Username: nobody|Secret: x"],
    ),
    call(
        "before_login.ami",
        &[
            "Action: Ping|ActionID: p0",
            "Action: Originate|ActionID: o0|Channel: Local/10@agents",
            "Action: Logoff|ActionID: lo",
        ],
    ),
    Replay {
        file: "md5.ami",
        extra_agents: false,
        dialing: false,
        speed: SPEED,
        actions: &[
            "Action: Challenge|ActionID: c1|AuthType: MD5",
            "Action: Login|ActionID: l2|AuthType: MD5|Username: clickdial|Key: {key}",
            "Action: Ping|ActionID: p1",
            "Action: Events|ActionID: e1|EventMask: off",
            "Action: Events|ActionID: e2|EventMask: on",
            "Action: Events|ActionID: e3|EventMask: call",
            "Action: CoreShowChannels|ActionID: cs",
            "Action: Status|ActionID: st",
            "Action: ExtensionStateList|ActionID: esl",
            "Action: ListCommands|ActionID: lc",
            "Action: Command|ActionID: cmd|Command: core show version",
            "Action: Bogus|ActionID: b1",
            "ActionID: na",
            "Action: Challenge|ActionID: c2|AuthType: plain",
            "Action: Logoff|ActionID: lo",
        ],
        skip: &["lc"],
        responses_only: false,
    },
    call(
        "md5_bad.ami",
        &[
            "Action: Challenge|ActionID: c1|AuthType: MD5",
            "Action: Login|ActionID: l2|AuthType: MD5|Username: clickdial|Key: 00000000000000000000000000000000",
        ],
    ),
    call(
        "events_off.ami",
        &[
            LOGIN,
            "Action: Events|ActionID: e1|EventMask: off",
            "Action: Originate|ActionID: o1|Channel: Local/20@agents|Context: extensiones-locales|Exten: 93200900|Priority: 1|ChannelId: chan-1|Async: true",
        ],
    ),
    Replay {
        speed: 1.0,
        ..call(
            "lists.ami",
            &[
                LOGIN,
                "Action: BridgeList|ActionID: bl",
                "Action: BridgeTechnologyList|ActionID: btl",
                "Action: Originate|ActionID: o1|Channel: Local/10@agents|Context: extensiones-locales|Exten: 93200900|Priority: 1|ChannelId: chan-1|Async: true",
                "Action: BridgeList|ActionID: bl2",
            ],
        )
    },
    call(
        "answer.ami",
        &[
            LOGIN,
            originate!("10", "extensiones-locales", "93200900", "3000", "true"),
        ],
    ),
    call(
        "answer_sync.ami",
        &[
            LOGIN,
            originate!("10", "extensiones-locales", "93200900", "3000", "false"),
        ],
    ),
    call(
        "answer_plus.ami",
        &[
            LOGIN,
            originate!("11", "extensiones-locales", "+34932009000", "3000", "true"),
        ],
    ),
    call(
        "agentbusy.ami",
        &[
            LOGIN,
            originate!("20", "extensiones-locales", "93200900", "3000", "true"),
        ],
    ),
    call(
        "agentbusy_sync.ami",
        &[
            LOGIN,
            originate!("20", "extensiones-locales", "93200900", "3000", "false"),
        ],
    ),
    call(
        "noanswer.ami",
        &[
            LOGIN,
            originate!("19", "extensiones-locales", "93200900", "3000", "true"),
        ],
    ),
    call(
        "noanswer_sync.ami",
        &[
            LOGIN,
            originate!("19", "extensiones-locales", "93200900", "3000", "false"),
        ],
    ),
    call(
        "defaulttimeout.ami",
        &[
            LOGIN,
            "Action: Originate|ActionID: o1|Channel: Local/19@agents|Context: extensiones-locales|Exten: 93200900|Priority: 1|ChannelId: chan-1|Async: true",
        ],
    ),
    call(
        "longring.ami",
        &[
            LOGIN,
            originate!("19", "extensiones-locales", "93200900", "130000", "true"),
        ],
    ),
    call(
        "destbusy.ami",
        &[
            LOGIN,
            originate!("10", "extensiones-locales", "90001", "3000", "true"),
        ],
    ),
    call(
        "congestion.ami",
        &[
            LOGIN,
            originate!("10", "extensiones-locales", "90011", "3000", "true"),
        ],
    ),
    call(
        "noexten.ami",
        &[
            LOGIN,
            originate!("10", "nonexistent", "93200900", "3000", "true"),
        ],
    ),
    call(
        "noexten_sync.ami",
        &[
            LOGIN,
            originate!("10", "nonexistent", "93200900", "3000", "false"),
        ],
    ),
    call(
        "badexten.ami",
        &[
            LOGIN,
            originate!("10", "extensiones-locales", "abc", "3000", "true"),
        ],
    ),
    call(
        "readonly.ami",
        &[
            "Action: Login|ActionID: l1|Username: readonly|Secret: readonly-secret",
            originate!("10", "extensiones-locales", "93200900", "3000", "true"),
        ],
    ),
    call(
        "agentmissing.ami",
        &[
            LOGIN,
            originate!("99", "extensiones-locales", "93200900", "3000", "true"),
        ],
    ),
    call(
        "nochanid.ami",
        &[
            LOGIN,
            "Action: Originate|ActionID: o1|Channel: Local/20@agents|Context: extensiones-locales|Exten: 93200900|Priority: 1|Async: true",
        ],
    ),
    Replay {
        file: "malformed.ami",
        extra_agents: false,
        dialing: false,
        speed: SPEED,
        actions: &[
            LOGIN,
            "Action: Originate|ActionID: m0|Async: true",
            "Action: Originate|ActionID: m1|Async: true|Channel: Local/10@agents",
            "Action: Originate|ActionID: m2|Async: true|Channel: Foo/bar|Context: extensiones-locales|Exten: 93200900|Priority: 1",
            "Action: Originate|ActionID: m3|Async: true|Channel: Local/10@agents|Exten: 93200900",
            "Action: Originate|ActionID: m4|Async: true|Channel: Local/10@agents|Context: extensiones-locales|Exten: 93200900|Priority: x",
            "Action: Originate|ActionID: m5|Async: true|Channel: Local/10@agents|Context: extensiones-locales|Exten: 93200900|Priority: 1|Timeout: abc",
            "Action: Originate|ActionID: m6|Async: true|Channel: Local/10@agents|Application: Wait|Data: 1",
        ],
        skip: &["m1", "m3"],
        responses_only: true,
    },
    Replay {
        extra_agents: true,
        ..call(
            "agentcongestion.ami",
            &[
                LOGIN,
                originate!("21", "extensiones-locales", "93200900", "30000", "true"),
            ],
        )
    },
    Replay {
        extra_agents: true,
        ..call(
            "agenthangsup.ami",
            &[
                LOGIN,
                originate!("22", "extensiones-locales", "93200900", "30000", "true"),
            ],
        )
    },
    Replay {
        extra_agents: true,
        ..call(
            "agentstopsringing.ami",
            &[
                LOGIN,
                originate!("23", "extensiones-locales", "93200900", "30000", "true"),
            ],
        )
    },
    dialing(
        "dial_answer.ami",
        &[
            LOGIN,
            originate!("10", "extensiones-locales", "93200900", "3000", "true"),
        ],
    ),
    dialing(
        "dial_busy.ami",
        &[
            LOGIN,
            originate!("10", "extensiones-locales", "90001", "3000", "true"),
        ],
    ),
    dialing(
        "dial_congestion.ami",
        &[
            LOGIN,
            originate!("10", "extensiones-locales", "90011", "3000", "true"),
        ],
    ),
    dialing(
        "dial_noanswer.ami",
        &[
            LOGIN,
            originate!("10", "extensiones-locales", "90021", "3000", "true"),
        ],
    ),
    Replay {
        speed: 1.0,
        ..dialing(
            "hangup_ringing.ami",
            &[
                OPERATOR,
                originate!("19", "extensiones-locales", "93200900", "30000", "true"),
                "Action: Hangup|ActionID: h1|Channel: Local/19@agents-00000000;1",
            ],
        )
    },
    Replay {
        speed: 1.0,
        ..dialing(
            "hangup_uniqueid.ami",
            &[
                OPERATOR,
                originate!("19", "extensiones-locales", "93200900", "30000", "true"),
                "Action: Hangup|ActionID: h1|Channel: chan-1",
            ],
        )
    },
    Replay {
        speed: 1.0,
        ..dialing(
            "hangup_regex.ami",
            &[
                OPERATOR,
                originate!("19", "extensiones-locales", "93200900", "30000", "true"),
                "Action: Hangup|ActionID: h1|Channel: /^Local/19@agents-.*;1$/|Cause: 21",
            ],
        )
    },
    Replay {
        speed: 1.0,
        ..dialing(
            "hangup_dialing.ami",
            &[
                OPERATOR,
                originate!("10", "extensiones-locales", "90021", "3000", "true"),
                "Action: Hangup|ActionID: h1|Channel: chan-1",
            ],
        )
    },
    Replay {
        skip: &["lc"],
        ..dialing(
            "hangup_errors.ami",
            &[
                OPERATOR,
                "Action: Hangup|ActionID: h1|Channel: Local/19@agents-00000000;1",
                "Action: Hangup|ActionID: h2",
                "Action: Hangup|ActionID: h3|Channel: /^nothing-matches$/",
                "Action: Hangup|ActionID: h4|Channel: chan-1",
                "Action: ListCommands|ActionID: lc",
            ],
        )
    },
    dialing(
        "hangup_denied.ami",
        &[LOGIN, "Action: Hangup|ActionID: h1|Channel: chan-1"],
    ),
];

/// The `operator` account of `dialing.manager.conf`, which may also hang up.
const OPERATOR: &str = "Action: Login|ActionID: l1|Username: operator|Secret: operator-secret";

/// A scenario recorded with `dialing.extensions.conf`.
const fn dialing(file: &'static str, actions: &'static [&'static str]) -> Replay {
    Replay {
        dialing: true,
        ..call(file, actions)
    }
}

/// The configuration a replay was recorded with.
fn config(replay: &Replay) -> Config {
    if replay.dialing {
        // `dialing.extensions.conf`: Config::dialing() with testsupport's holds.
        let mut config = Config::dialing().speed(replay.speed);
        for e in &mut config.extensions {
            match (e.context.as_str(), e.behaviour) {
                ("agents", Behaviour::Answer) => e.seconds = 20,
                ("destinations", Behaviour::Answer) => e.seconds = 2,
                _ => {}
            }
        }
        return config;
    }
    let mut config = Config::default().speed(replay.speed);
    if replay.extra_agents {
        for (pattern, behaviour, seconds) in [
            ("21", Behaviour::Congestion, 5),
            ("22", Behaviour::Answer, 2),
            ("23", Behaviour::Ring, 2),
        ] {
            config
                .extensions
                .push(Extension::new("agents", pattern, behaviour, seconds));
        }
    }
    config
}

/// Every message of a transcript, after its banner line.
fn parse(bytes: &[u8]) -> (String, Vec<Message>) {
    let mut codec = AmiCodec::new(Limits::default());
    let mut buf = BytesMut::from(bytes);
    let mut banner = String::new();
    let mut messages = Vec::new();
    while let Some(frame) = codec.decode(&mut buf).expect("a well-formed transcript") {
        match frame {
            Frame::Banner(b) => banner = b.to_string(),
            Frame::Message(m) => messages.push(m),
        }
    }
    (banner, messages)
}

/// A value with what changes between runs replaced.
fn normalize(name: &str, value: &str) -> String {
    if ["Timestamp", "Challenge", "BridgeUniqueid"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
    {
        return "*".into();
    }
    let generated_uniqueid = value.split_once('.').is_some_and(|(a, b)| {
        a.len() >= 9 && [a, b].iter().all(|p| p.bytes().all(|c| c.is_ascii_digit()))
    });
    if generated_uniqueid {
        return "<uniqueid>".into();
    }
    // `Local/10@agents-0000002a;1`: the pair's number depends on the calls before it.
    if let Some(dash) = value.rfind('-')
        && value.len() >= dash + 11
        && value.as_bytes()[dash + 9] == b';'
        && value[dash + 1..dash + 9]
            .bytes()
            .all(|c| c.is_ascii_hexdigit())
    {
        return format!("{}-N{}", &value[..dash], &value[dash + 9..]);
    }
    value.to_owned()
}

/// A message as comparable lines.
fn lines(message: &Message) -> Vec<String> {
    message
        .iter()
        .map(|(n, v)| format!("{n}: {}", normalize(n, v)))
        .collect()
}

/// What is compared: the responses in order, each channel's events in order (Asterisk
/// interleaves the events of a call's channels differently from run to run), and the
/// `OriginateResponse` events.
#[derive(Debug, PartialEq, Eq)]
struct Comparable {
    responses: Vec<Vec<String>>,
    channels: BTreeMap<String, Vec<Vec<String>>>,
    originate_responses: Vec<Vec<String>>,
}

/// The channel an event is about (`Channel`, `DestChannel` or `LocalOneChannel`).
fn subject(message: &Message) -> String {
    let channel = ["Channel", "DestChannel", "LocalOneChannel"]
        .iter()
        .find_map(|h| message.get(h))
        .unwrap_or("");
    normalize("Channel", channel)
}

fn comparable(replay: &Replay, messages: &[Message]) -> Comparable {
    let mut c = Comparable {
        responses: Vec::new(),
        channels: BTreeMap::new(),
        originate_responses: Vec::new(),
    };
    for m in messages {
        let skipped = m.action_id().is_some_and(|id| replay.skip.contains(&id));
        if m.event() == Some("OriginateResponse") {
            if !skipped {
                c.originate_responses.push(lines(m));
            }
        } else if m.response().is_some() {
            if !skipped {
                c.responses.push(lines(m));
            }
        } else if !replay.responses_only {
            c.channels.entry(subject(m)).or_default().push(lines(m));
        }
    }
    c
}

/// A raw AMI connection that keeps everything it reads.
struct Peer {
    stream: TcpStream,
    codec: AmiCodec,
    buf: BytesMut,
    banner: String,
    messages: Vec<Message>,
    closed: bool,
}

impl Peer {
    /// Reads until `quiet` passes without data, `expected` messages came (when given), the
    /// peer closes or `deadline`.
    async fn read(&mut self, quiet: Duration, expected: Option<usize>, deadline: Instant) {
        loop {
            while let Some(frame) = self.codec.decode(&mut self.buf).unwrap() {
                match frame {
                    Frame::Banner(b) => self.banner = b.to_string(),
                    Frame::Message(m) => self.messages.push(m),
                }
            }
            let enough = expected.is_some_and(|n| self.messages.len() >= n);
            if self.closed || enough || Instant::now() > deadline {
                return;
            }
            match tokio::time::timeout(quiet, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(0) | Err(_)) => self.closed = true,
                Ok(Ok(_)) => {}
                Err(_) => return,
            }
        }
    }
}

/// How long the replay waits for silence before sending the next action.
const QUIET: Duration = Duration::from_millis(250);

/// The longest silence within a recorded call at [`SPEED`] (a 120 s ring), with a margin.
const LONGEST_SILENCE: Duration = Duration::from_millis(1500);

/// Sends `actions` one at a time, like the recorder, and collects what the sandbox writes
/// until `expected` messages came, it closed, or five seconds passed.
async fn replay(sandbox: &Sandbox, actions: &[&str], expected: usize) -> Peer {
    let mut peer = Peer {
        stream: TcpStream::connect(sandbox.local_addr()).await.unwrap(),
        codec: AmiCodec::new(Limits::default()),
        buf: BytesMut::new(),
        banner: String::new(),
        messages: Vec::new(),
        closed: false,
    };
    let deadline = Instant::now() + Duration::from_secs(8);
    peer.read(QUIET, None, deadline).await;
    for action in actions {
        let key = peer
            .messages
            .iter()
            .rev()
            .find_map(|m| m.get("Challenge"))
            .map(|c| {
                Md5::digest(format!("{c}clickdial-secret"))
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            })
            .unwrap_or_default();
        let text = action.replace("{key}", &key).replace('|', "\r\n") + "\r\n\r\n";
        if peer.stream.write_all(text.as_bytes()).await.is_err() {
            break;
        }
        peer.read(QUIET, None, deadline).await;
    }
    peer.read(LONGEST_SILENCE, Some(expected), deadline).await;
    peer
}

#[tokio::test]
async fn the_sandbox_writes_what_asterisk_wrote() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut runs = tokio::task::JoinSet::new();
    for (i, r) in REPLAYS.iter().enumerate() {
        let recorded = std::fs::read(data.join(r.file)).unwrap();
        runs.spawn(async move {
            let sandbox = Sandbox::start(config(r)).await.unwrap();
            let expected = parse(&recorded).1.len();
            (i, replay(&sandbox, r.actions, expected).await, recorded)
        });
    }
    let mut results = runs.join_all().await;
    results.sort_by_key(|(i, _, _)| *i);
    let mut failures = Vec::new();
    for (i, peer, recorded) in results {
        let r = &REPLAYS[i];
        let (recorded_banner, recorded) = parse(&recorded);
        let want = comparable(r, &recorded);
        let have = comparable(r, &peer.messages);
        if recorded_banner != peer.banner || want != have {
            failures.push(format!(
                "{}:\n--- Asterisk ---\n{:#?}\n--- sandbox ---\n{:#?}",
                r.file, want, have
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test]
async fn a_failed_login_waits_a_second_at_speed_one_then_closes() {
    let sandbox = Sandbox::start(Config::default()).await.unwrap();
    let start = Instant::now();
    let peer = replay(
        &sandbox,
        &["Action: Login|ActionID: l1|Username: clickdial|Secret: wrong"],
        1,
    )
    .await;
    let mut peer = peer;
    peer.read(
        Duration::from_secs(3),
        None,
        Instant::now() + Duration::from_secs(3),
    )
    .await;
    assert!(peer.closed, "the connection is closed");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        peer.messages[0].get("Message"),
        Some("Authentication failed")
    );
}

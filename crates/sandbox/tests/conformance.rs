//! One scenario suite, two PBXs: every scenario of `../shared/pbx/README.md` runs through
//! `clickdial_ami::Client` against the sandbox (always) and against a real Asterisk 22 with
//! the default configuration (when `CLICKDIAL_PBX` is set), and what the client observes
//! must be the same: the action's result, the `CallProgress` steps with their end reason,
//! and the event names in order for each channel of the call.
//!
//! The `dial_*` and `hangup_*` scenarios run with `tests/data/dialing.extensions.conf` (the
//! destination reached with `Dial()`, as `clickdial_testsupport::DIALPLAN`) and
//! `dialing.manager.conf` (with the `operator` account, which may hang up) on Asterisk,
//! and the matching sandbox configuration.
//!
//! Both run in real time (speed 1), so the comparison includes which events arrive within
//! a scenario's window; an answered call holds 20 s, so its scenarios watch the first
//! seconds only (`tests/recordings.rs` checks the hangups against transcripts).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use clickdial_ami::{
    Action, CallEnd, CallProgress, Client, Config as ClientConfig, ConnectError, EndReason, Error,
    Event, EventStream, Leg, Originate, Value,
};
use clickdial_sandbox::{Behaviour, Config, Sandbox};
use clickdial_testsupport::Pbx;
use tokio::time::{Instant, timeout};

/// What the AMI client observed in one scenario.
#[derive(Debug, Default, PartialEq, Eq)]
struct Observed {
    /// The action's result: `ok`, or the error's kind and Asterisk's message.
    result: String,
    /// The call's progress, as far as it got within the window.
    progress: Vec<CallProgress>,
    /// Event names in order for each channel (`;1`, `;2`) and for `OriginateResponse`.
    events: BTreeMap<String, Vec<String>>,
}

impl Observed {
    /// The observation without what Asterisk itself decides by a race between its threads:
    /// whether a failed call's `OriginateResponse` comes before or after the agent channel's
    /// `Hangup` (which changes the failure's text and whether its cause, 0, is known), and
    /// where a channel's `HangupRequest` and `SoftHangupRequest`, raised by the other half
    /// of the Local channel, fall among the channel's own events (they are compared apart,
    /// sorted), and where the Originate's `DialBegin`/`DialState`/`DialEnd` about the `;1`
    /// half fall among that half's state changes (they are compared apart, in order).
    fn without_races(mut self) -> Observed {
        let mut apart = BTreeMap::new();
        for (channel, names) in &mut self.events {
            let mut requests: Vec<String> = names
                .iter()
                .filter(|n| n.ends_with("HangupRequest"))
                .cloned()
                .collect();
            requests.sort();
            let dials: Vec<String> = names
                .iter()
                .filter(|n| n.starts_with("Dial"))
                .cloned()
                .collect();
            names.retain(|n| !n.ends_with("HangupRequest") && !n.starts_with("Dial"));
            for (kind, list) in [("hangup requests", requests), ("dial", dials)] {
                if !list.is_empty() {
                    apart.insert(format!("{channel} {kind}"), list);
                }
            }
        }
        self.events.extend(apart);
        for step in &mut self.progress {
            if let CallProgress::Ended(CallEnd {
                reason: EndReason::Failed { text, cause },
                ..
            }) = step
            {
                let end = text.find([':', '(']).unwrap_or(text.len());
                *text = text[..end].trim_end().to_owned();
                *cause = cause.filter(|c| *c != 0);
            }
        }
        self
    }
}

fn v(text: &str) -> Value {
    Value::new(text).unwrap()
}

async fn connect(addr: SocketAddr, user: &str) -> Client {
    let config = ClientConfig::new(addr.to_string(), user, &format!("{user}-secret")).unwrap();
    Client::connect(config).await.expect("login")
}

/// An error as comparable text: its kind and Asterisk's message.
fn describe(error: &Error) -> String {
    match error {
        Error::PermissionDenied { action, .. } => format!("permission denied: {action}"),
        Error::Refused { message, .. } => format!("refused: {message}"),
        other => format!("other: {other}"),
    }
}

/// The channel key of an event of the call whose originated channel is `channel_id`, or
/// `None` if the event is not about the call.
fn key(event: &Event, channel_id: &str, action_id: Option<&str>) -> Option<String> {
    if event.name() == "OriginateResponse" {
        let ours = action_id.is_some_and(|id| event.action_id() == Some(id))
            || event.get("Uniqueid") == Some(channel_id);
        return ours.then(|| "OriginateResponse".to_owned());
    }
    let linked = ["Linkedid", "DestLinkedid", "LocalOneLinkedid"]
        .iter()
        .any(|h| event.get(h) == Some(channel_id));
    if !linked {
        return None;
    }
    let channel = ["Channel", "DestChannel", "LocalOneChannel"]
        .iter()
        .find_map(|h| event.get(h))
        .unwrap_or("");
    let half = channel.rsplit_once(';').map_or("?", |(_, half)| half);
    // The destination's Local pair, which `Dial()` creates, is told apart from the agent's.
    Some(if channel.contains("@destinations-") {
        format!("dest {half}")
    } else {
        half.to_owned()
    })
}

/// Collects the call's events received so far, after letting stragglers arrive.
async fn collect(
    events: &mut EventStream,
    channel_id: &str,
    action_id: Option<&str>,
) -> BTreeMap<String, Vec<String>> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut by_channel: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while let Ok(Some(event)) = events.try_recv() {
        if let Some(k) = key(&event, channel_id, action_id) {
            by_channel
                .entry(k)
                .or_default()
                .push(event.name().to_owned());
        }
    }
    by_channel
}

/// An async Originate of `Local/{agent}@agents` to `exten` in `context`, followed for
/// `window` or until it ends.
async fn call(
    addr: SocketAddr,
    user: &str,
    agent: &str,
    context: &str,
    exten: &str,
    ring_timeout: Option<Duration>,
    window: Duration,
) -> Observed {
    let client = connect(addr, user).await;
    let mut events = client.events();
    let mut originate =
        Originate::extension(v(&format!("Local/{agent}@agents")), v(context), v(exten), 1);
    if let Some(t) = ring_timeout {
        originate = originate.timeout(t);
    }
    let mut observed = Observed::default();
    let mut call = match client.originate(originate).await {
        Ok(call) => call,
        Err(e) => {
            observed.result = describe(&e);
            return observed;
        }
    };
    observed.result = "ok".into();
    let deadline = Instant::now() + window;
    while let Ok(Some(step)) = timeout(deadline - Instant::now(), call.next()).await {
        observed.progress.push(step);
    }
    let (channel_id, action_id) = (call.channel_id().to_owned(), call.action_id().to_owned());
    observed.events = collect(&mut events, &channel_id, Some(&action_id)).await;
    observed
}

/// An async Originate by `operator` of `Local/{agent}@agents` to `exten`, hung up with the
/// `Hangup` action (by its `Uniqueid`) after `hangup_after` if given, followed for `window`.
async fn dial_call(
    addr: SocketAddr,
    agent: &str,
    exten: &str,
    hangup_after: Option<Duration>,
    window: Duration,
) -> Observed {
    let client = connect(addr, "operator").await;
    let mut events = client.events();
    let originate = Originate::extension(
        v(&format!("Local/{agent}@agents")),
        v("extensiones-locales"),
        v(exten),
        1,
    )
    .timeout(Duration::from_secs(30));
    let mut observed = Observed::default();
    let mut call = match client.originate(originate).await {
        Ok(call) => call,
        Err(e) => {
            observed.result = describe(&e);
            return observed;
        }
    };
    let (channel_id, action_id) = (call.channel_id().to_owned(), call.action_id().to_owned());
    let deadline = Instant::now() + window;
    let mut results = vec!["ok".to_owned()];
    if let Some(after) = hangup_after {
        let hangup_at = Instant::now() + after;
        while let Ok(Some(step)) = timeout(hangup_at - Instant::now(), call.next()).await {
            observed.progress.push(step);
        }
        let hangup = Action::named("Hangup").with("Channel", v(&channel_id));
        results.push(match client.send(hangup).await {
            Ok(response) => format!("hangup: {}", response.get("Message").unwrap_or("")),
            Err(e) => describe(&e),
        });
    }
    observed.result = results.join("\n");
    while let Ok(Some(step)) = timeout(deadline - Instant::now(), call.next()).await {
        observed.progress.push(step);
    }
    observed.events = collect(&mut events, &channel_id, Some(&action_id)).await;
    observed
}

/// The sandbox configuration matching `dialing.extensions.conf`: [`Config::dialing`] with
/// `clickdial_testsupport::DIALPLAN`'s holds (agents 20 s, destinations 2 s).
fn recorded_dialing() -> Config {
    let mut config = Config::dialing();
    for e in &mut config.extensions {
        match (e.context.as_str(), e.behaviour) {
            ("agents", Behaviour::Answer) => e.seconds = 20,
            ("destinations", Behaviour::Answer) => e.seconds = 2,
            _ => {}
        }
    }
    config
}

/// A synchronous Originate: the response waits for the outcome.
async fn sync_call(addr: SocketAddr, agent: &str, ring_timeout: Duration) -> Observed {
    let client = connect(addr, "clickdial").await;
    let mut events = client.events();
    let originate = Originate::extension(
        v(&format!("Local/{agent}@agents")),
        v("extensiones-locales"),
        v("93200900"),
        1,
    )
    .timeout(ring_timeout)
    .channel_id(v("sync-call-1"))
    .asynchronous(false);
    let answer = client
        .send_timeout(Action::from(originate), Duration::from_secs(8))
        .await;
    Observed {
        result: match answer {
            Ok(response) => format!("ok: {}", response.get("Message").unwrap_or("")),
            Err(e) => describe(&e),
        },
        progress: Vec::new(),
        events: collect(&mut events, "sync-call-1", None).await,
    }
}

/// Logins, Ping, refused and unknown actions, a list action, and `Events: off`.
async fn session(addr: SocketAddr) -> Observed {
    let mut results = Vec::new();
    for (user, secret, auth) in [
        ("clickdial", "wrong", clickdial_ami::Auth::Md5),
        ("clickdial", "wrong", clickdial_ami::Auth::Plaintext),
        ("nobody", "x", clickdial_ami::Auth::Md5),
    ] {
        let config = ClientConfig::new(addr.to_string(), user, secret)
            .unwrap()
            .auth(auth);
        results.push(match Client::connect(config).await {
            Err(ConnectError::LoginRefused { message, .. }) => format!("login refused: {message}"),
            Err(other) => format!("other: {other}"),
            Ok(_) => "logged in".to_owned(),
        });
    }
    let client = connect(addr, "clickdial").await;
    results.push(format!("ping: {:?}", client.ping().await.is_ok()));
    for action in ["Bogus", "Status", "CoreShowChannels", "Command"] {
        let name = clickdial_ami::Name::new(action).unwrap();
        let answer = client.send(Action::new(name)).await;
        results.push(answer.map_or_else(|e| describe(&e), |_| "ok".into()));
    }
    let list = client
        .send_list(Action::named("BridgeTechnologyList"))
        .await
        .unwrap();
    let technologies: Vec<&str> = list
        .events
        .iter()
        .filter_map(|e| e.get("BridgeTechnology"))
        .collect();
    results.push(format!("bridge technologies: {technologies:?}"));
    let off = client
        .send(Action::named("Events").with("EventMask", v("off")))
        .await
        .unwrap();
    results.push(format!("events: {:?}", off.get("Events")));
    let mut events = client.events();
    let busy = Originate::extension(
        v("Local/20@agents"),
        v("extensiones-locales"),
        v("93200900"),
        1,
    )
    .channel_id(v("events-off-1"));
    client.send(Action::from(busy)).await.unwrap();
    Observed {
        result: results.join("\n"),
        progress: Vec::new(),
        events: collect(&mut events, "events-off-1", None).await,
    }
}

fn ended(leg: Leg, reason: EndReason) -> CallProgress {
    CallProgress::Ended(CallEnd { leg, reason })
}

/// The suite: each scenario runs against the sandbox and is checked, and with a real
/// Asterisk against both, whose observations must agree but for Asterisk's own races.
/// `dialing` scenarios use the `Dial()` dialplan and the `operator` account.
macro_rules! scenario {
    (dialing $name:ident, |$addr:ident| $run:expr, |$observed:ident| $check:block) => {
        mod $name {
            use super::*;

            async fn run($addr: SocketAddr) -> Observed {
                $run
            }

            fn check($observed: &Observed) $check

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_the_sandbox() {
                let sandbox = Sandbox::start(recorded_dialing()).await.unwrap();
                check(&run(sandbox.local_addr()).await);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
            async fn asterisk_and_sandbox_agree() {
                let pbx = tokio::task::spawn_blocking(|| {
                    Pbx::builder()
                        .conf("extensions.conf", include_str!("data/dialing.extensions.conf"))
                        .conf("manager.conf", include_str!("data/dialing.manager.conf"))
                        .start()
                })
                .await
                .unwrap()
                .expect("Asterisk starts");
                let sandbox = Sandbox::start(recorded_dialing()).await.unwrap();
                let (asterisk, simulated) =
                    tokio::join!(run(pbx.ami_addr()), run(sandbox.local_addr()));
                check(&simulated);
                let (asterisk, simulated) = (asterisk.without_races(), simulated.without_races());
                assert_eq!(asterisk, simulated, "Asterisk (left) and the sandbox (right) differ");
            }
        }
    };
    ($name:ident, |$addr:ident| $run:expr, |$observed:ident| $check:block) => {
        mod $name {
            use super::*;

            async fn run($addr: SocketAddr) -> Observed {
                $run
            }

            fn check($observed: &Observed) $check

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_the_sandbox() {
                let sandbox = Sandbox::start(Config::default()).await.unwrap();
                check(&run(sandbox.local_addr()).await);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
            async fn asterisk_and_sandbox_agree() {
                let pbx = tokio::task::spawn_blocking(Pbx::start)
                    .await
                    .unwrap()
                    .expect("Asterisk starts");
                let sandbox = Sandbox::start(Config::default()).await.unwrap();
                let (asterisk, simulated) =
                    tokio::join!(run(pbx.ami_addr()), run(sandbox.local_addr()));
                check(&simulated);
                let (asterisk, simulated) = (asterisk.without_races(), simulated.without_races());
                assert_eq!(asterisk, simulated, "Asterisk (left) and the sandbox (right) differ");
            }
        }
    };
}

scenario!(
    agent_and_destination_answer,
    |addr| call(
        addr,
        "clickdial",
        "10",
        "extensiones-locales",
        "93200900",
        None,
        Duration::from_secs(2)
    )
    .await,
    |o| {
        assert_eq!(o.result, "ok");
        assert_eq!(
            o.progress,
            [CallProgress::Queued, CallProgress::AgentAnswered]
        );
        assert_eq!(o.events["OriginateResponse"], ["OriginateResponse"]);
    }
);

scenario!(
    international_destination_answers,
    |addr| call(
        addr,
        "clickdial",
        "11",
        "extensiones-locales",
        "+34932009000",
        None,
        Duration::from_secs(2)
    )
    .await,
    |o| {
        assert_eq!(
            o.progress,
            [CallProgress::Queued, CallProgress::AgentAnswered]
        );
        assert_eq!(o.events["2"], ["Newchannel", "Newstate"]);
    }
);

scenario!(
    agent_busy,
    |addr| call(
        addr,
        "clickdial",
        "20",
        "extensiones-locales",
        "93200900",
        None,
        Duration::from_secs(3)
    )
    .await,
    |o| {
        assert_eq!(
            o.progress,
            [CallProgress::Queued, ended(Leg::Agent, EndReason::Busy)]
        );
        assert_eq!(
            o.events["2"],
            [
                "Newchannel",
                "Newstate",
                "HangupRequest",
                "SoftHangupRequest",
                "Hangup"
            ]
        );
    }
);

scenario!(
    agent_rings_until_the_timeout,
    |addr| call(
        addr,
        "clickdial",
        "19",
        "extensiones-locales",
        "93200900",
        Some(Duration::from_secs(2)),
        Duration::from_secs(5)
    )
    .await,
    |o| {
        assert_eq!(
            o.progress,
            [
                CallProgress::Queued,
                CallProgress::AgentRinging,
                ended(Leg::Agent, EndReason::NoAnswer)
            ]
        );
    }
);

scenario!(
    destination_busy,
    |addr| call(
        addr,
        "clickdial",
        "10",
        "extensiones-locales",
        "90001",
        None,
        Duration::from_secs(7)
    )
    .await,
    |o| {
        // The default dialplan plays Busy() on the answered channel itself, without Dial():
        // the client sees an answered agent whose call ends with cause 0.
        assert_eq!(
            o.progress,
            [
                CallProgress::Queued,
                CallProgress::AgentAnswered,
                ended(Leg::Agent, EndReason::Answered)
            ]
        );
        assert_eq!(o.events["1"].last().map(String::as_str), Some("Hangup"));
    }
);

scenario!(
    destination_congested,
    |addr| call(
        addr,
        "clickdial",
        "10",
        "extensiones-locales",
        "90011",
        None,
        Duration::from_secs(7)
    )
    .await,
    |o| {
        assert_eq!(o.progress.len(), 3, "{:?}", o.progress);
        assert!(matches!(o.progress[2], CallProgress::Ended(_)));
    }
);

scenario!(
    destination_does_not_exist,
    |addr| call(
        addr,
        "clickdial",
        "10",
        "nonexistent",
        "93200900",
        None,
        Duration::from_secs(1)
    )
    .await,
    |o| {
        assert_eq!(o.result, "refused: Extension does not exist.");
        assert!(o.events.is_empty() && o.progress.is_empty());
    }
);

scenario!(
    readonly_may_not_originate,
    |addr| call(
        addr,
        "readonly",
        "10",
        "extensiones-locales",
        "93200900",
        None,
        Duration::from_secs(1)
    )
    .await,
    |o| {
        assert_eq!(o.result, "permission denied: Originate");
    }
);

scenario!(
    agent_extension_does_not_exist,
    |addr| call(
        addr,
        "clickdial",
        "99",
        "extensiones-locales",
        "93200900",
        None,
        Duration::from_secs(3)
    )
    .await,
    |o| {
        assert!(
            matches!(
                &o.progress[..],
                [
                    CallProgress::Queued,
                    CallProgress::Ended(CallEnd {
                        leg: Leg::Agent,
                        reason: EndReason::Failed { .. }
                    })
                ]
            ),
            "{:?}",
            o.progress
        );
        assert_eq!(o.events["1"], ["Newchannel", "Hangup"]);
    }
);

scenario!(
    synchronous_originate_answered,
    |addr| sync_call(addr, "10", Duration::from_secs(3)).await,
    |o| {
        assert_eq!(o.result, "ok: Originate successfully queued");
        assert!(!o.events.contains_key("OriginateResponse"));
    }
);

scenario!(
    synchronous_originate_not_answered,
    |addr| sync_call(addr, "19", Duration::from_secs(2)).await,
    |o| {
        assert_eq!(o.result, "refused: Originate failed");
        assert_eq!(o.events["1"].last().map(String::as_str), Some("Hangup"));
    }
);

scenario!(session_actions, |addr| session(addr).await, |o| {
    let lines: Vec<&str> = o.result.lines().collect();
    assert_eq!(
        lines,
        [
            "login refused: Authentication failed",
            "login refused: Authentication failed",
            "login refused: Authentication failed",
            "ping: true",
            "refused: Invalid/unknown command: Bogus. Use Action: ListCommands to show available commands.",
            "permission denied: Status",
            "permission denied: CoreShowChannels",
            "permission denied: Command",
            "bridge technologies: [\"native_rtp\", \"holding_bridge\", \"simple_bridge\"]",
            "events: Some(\"Off\")",
        ]
    );
    assert!(
        o.events.is_empty(),
        "no events after Events: off: {:?}",
        o.events
    );
});

scenario!(
    dialing dial_destination_answers,
    |addr| dial_call(addr, "10", "93200900", None, Duration::from_secs(5)).await,
    |o| {
        assert_eq!(o.result, "ok");
        assert_eq!(
            o.progress,
            [
                CallProgress::Queued,
                CallProgress::AgentAnswered,
                CallProgress::DestinationRinging,
                CallProgress::Connected,
                ended(Leg::Destination, EndReason::Answered)
            ]
        );
        assert_eq!(o.events["dest 1"].last().map(String::as_str), Some("Hangup"));
    }
);

scenario!(
    dialing dial_destination_busy,
    |addr| dial_call(addr, "10", "90001", None, Duration::from_secs(3)).await,
    |o| {
        assert_eq!(
            o.progress,
            [
                CallProgress::Queued,
                CallProgress::AgentAnswered,
                CallProgress::DestinationRinging,
                ended(Leg::Destination, EndReason::Busy)
            ]
        );
    }
);

scenario!(
    dialing dial_destination_congested,
    |addr| dial_call(addr, "10", "90011", None, Duration::from_secs(3)).await,
    |o| {
        assert_eq!(
            o.progress,
            [
                CallProgress::Queued,
                CallProgress::AgentAnswered,
                CallProgress::DestinationRinging,
                ended(Leg::Destination, EndReason::Congestion)
            ]
        );
    }
);

scenario!(
    dialing dial_destination_does_not_answer,
    |addr| dial_call(addr, "10", "90021", None, Duration::from_secs(13)).await,
    |o| {
        assert_eq!(
            o.progress,
            [
                CallProgress::Queued,
                CallProgress::AgentAnswered,
                CallProgress::DestinationRinging,
                ended(Leg::Destination, EndReason::NoAnswer)
            ]
        );
    }
);

scenario!(
    dialing hangup_while_the_agent_rings,
    |addr| dial_call(
        addr,
        "19",
        "93200900",
        Some(Duration::from_secs(1)),
        Duration::from_secs(3)
    )
    .await,
    |o| {
        assert_eq!(o.result, "ok\nhangup: Channel Hungup");
        assert_eq!(o.progress[..2], [CallProgress::Queued, CallProgress::AgentRinging]);
        assert!(
            matches!(
                o.progress[2..],
                [CallProgress::Ended(CallEnd {
                    leg: Leg::Agent,
                    reason: EndReason::Failed { .. }
                })]
            ),
            "{:?}",
            o.progress
        );
    }
);

scenario!(
    dialing hangup_while_dialing,
    |addr| dial_call(
        addr,
        "10",
        "90021",
        Some(Duration::from_secs(1)),
        Duration::from_secs(3)
    )
    .await,
    |o| {
        assert_eq!(o.result, "ok\nhangup: Channel Hungup");
        assert_eq!(
            o.progress[..3],
            [
                CallProgress::Queued,
                CallProgress::AgentAnswered,
                CallProgress::DestinationRinging
            ]
        );
        assert!(matches!(o.progress[3..], [CallProgress::Ended(_)]), "{:?}", o.progress);
        assert_eq!(o.events["1"].last().map(String::as_str), Some("Hangup"));
    }
);

scenario!(
    dialing hangup_errors,
    |addr| {
        let mut results = Vec::new();
        for user in ["operator", "clickdial"] {
            let client = connect(addr, user).await;
            for channel in [Some("Local/19@agents-00000000;1"), Some("no-such-id"), None] {
                let mut hangup = Action::named("Hangup");
                if let Some(channel) = channel {
                    hangup = hangup.with("Channel", v(channel));
                }
                results.push(client.send(hangup).await.map_or_else(
                    |e| describe(&e),
                    |r| r.get("Message").unwrap_or("").to_owned(),
                ));
            }
        }
        Observed {
            result: results.join("\n"),
            ..Observed::default()
        }
    },
    |o| {
        let lines: Vec<&str> = o.result.lines().collect();
        assert_eq!(
            lines,
            [
                "refused: No such channel",
                "refused: No such channel",
                "refused: No channel specified",
                "permission denied: Hangup",
                "permission denied: Hangup",
                "permission denied: Hangup",
            ]
        );
    }
);

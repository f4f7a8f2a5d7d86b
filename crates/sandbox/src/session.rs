//! One AMI connection: the banner, the login (plaintext or MD5 challenge), then actions
//! answered one at a time and call events forwarded between them, as Asterisk's manager
//! does: while a synchronous Originate waits for its outcome, nothing else is answered and
//! events wait too.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use clickdial_ami::{AmiCodec, Frame, Limits, Message};
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::{broadcast, oneshot};
use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::codec::Decoder;

use crate::channels::message;
use crate::config::Account;
use crate::faults::{EventFlood, Faults, Interruption, Output, Point};
use crate::originate::{Call, Request};
use crate::pbx::{Pbx, Selector, random_u64};

/// How long a failed login waits before it is answered and the connection closed.
const FAILED_LOGIN_DELAY: Duration = Duration::from_secs(1);

/// The event classes Asterisk knows, for `EventMask`.
const CLASSES: &[&str] = &[
    "system",
    "call",
    "log",
    "verbose",
    "command",
    "agent",
    "user",
    "config",
    "dtmf",
    "reporting",
    "cdr",
    "dialplan",
    "originate",
    "agi",
    "cc",
    "aoc",
    "test",
    "security",
    "message",
    "all",
];

/// The actions the sandbox runs: name, synopsis and the write classes of which one is
/// needed (if any), as `ListCommands` shows them.
const ACTIONS: &[(&str, &str, Option<&str>)] = &[
    ("BridgeList", "Get a list of bridges in the system.", None),
    (
        "BridgeTechnologyList",
        "List available bridging technologies and their statuses.",
        None,
    ),
    ("Challenge", "Generate Challenge for MD5 Auth.", None),
    ("Events", "Control Event Flow.", None),
    ("Hangup", "Hangup channel.", Some("system,call")),
    ("ListCommands", "List available manager commands.", None),
    ("Login", "Login Manager.", None),
    ("Logoff", "Logoff Manager.", None),
    ("Originate", "Originate a call.", Some("originate")),
    ("Ping", "Keepalive command.", None),
];

/// Asterisk actions the sandbox does not run, with the write classes that allow them: an
/// account without any of them is told `Permission denied`, as by Asterisk.
const UNSIMULATED: &[(&str, &[&str])] = &[
    ("Command", &["command"]),
    ("CoreShowChannels", &["system", "reporting"]),
    ("CoreStatus", &["system", "reporting"]),
    ("ExtensionStateList", &["call", "reporting"]),
    ("Getvar", &["call", "reporting"]),
    ("Redirect", &["call"]),
    ("Setvar", &["call"]),
    ("Status", &["system", "call", "reporting"]),
];

/// The bridge technologies of the shared PBX, as `BridgeTechnologyList` lists them.
const BRIDGE_TECHNOLOGIES: &[(&str, &str, &str)] = &[
    ("native_rtp", "Native", "90"),
    ("holding_bridge", "Holding", "50"),
    ("simple_bridge", "1to1Mix", "50"),
];

/// Which events a session wants, set by `Events` or the login's `Events` header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EventMask {
    /// None.
    Off,
    /// Every class the account may read.
    On,
    /// These classes (of those the account may read).
    Classes(Vec<String>),
}

impl EventMask {
    /// Parses an `EventMask` or login `Events` value; `None` when it is empty.
    fn parse(text: &str) -> Option<EventMask> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let is = |words: &[&str]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
        if is(&["on", "yes", "true", "y", "t", "1"]) {
            return Some(EventMask::On);
        }
        let classes: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|c| CLASSES.iter().any(|k| k.eq_ignore_ascii_case(c)))
            .map(str::to_ascii_lowercase)
            .collect();
        Some(if classes.is_empty() {
            EventMask::Off
        } else {
            EventMask::Classes(classes)
        })
    }

    /// Whether events of `class` pass.
    fn allows(&self, class: &str) -> bool {
        match self {
            EventMask::Off => false,
            EventMask::On => true,
            EventMask::Classes(classes) => classes.iter().any(|c| c == class || c == "all"),
        }
    }
}

/// What the session does after an action.
enum Flow {
    /// Goes on.
    Continue,
    /// Closes the connection.
    Close,
    /// Holds the connection open without reading or writing.
    Stall,
}

/// A logged-in account and what it asked for.
struct Login {
    account: Account,
    mask: EventMask,
    events: broadcast::Receiver<Message>,
}

/// One connection's protocol state.
pub(crate) struct Session<R, W> {
    pbx: Arc<Pbx>,
    faults: Faults,
    reader: R,
    input: BytesMut,
    codec: AmiCodec,
    out: Output<W>,
    challenge: Option<String>,
    login: Option<Login>,
    flood: Option<(Interval, u64)>,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Session<R, W> {
    /// A session on a connection's two halves with the PBX's current faults.
    pub(crate) fn new(pbx: Arc<Pbx>, reader: R, writer: W) -> Session<R, W> {
        let faults = pbx.faults();
        Session {
            out: Output::new(writer, &faults),
            pbx,
            faults,
            reader,
            input: BytesMut::with_capacity(4096),
            codec: AmiCodec::without_banner(Limits::default()),
            challenge: None,
            login: None,
            flood: None,
        }
    }

    /// Serves the connection until it closes, the peer breaks the protocol or the sandbox
    /// stops.
    pub(crate) async fn run(mut self) {
        let shutdown = self.pbx.shutdown().clone();
        let flow = tokio::select! {
            flow = self.serve() => flow,
            () = shutdown.cancelled() => Flow::Close,
        };
        if let Flow::Stall = flow {
            // The peer sees an open connection that never says anything again.
            shutdown.cancelled().await;
        }
    }

    /// The connection's loop.
    async fn serve(&mut self) -> Flow {
        if let Some(flow) = self.interrupt(&Point::Connect) {
            return flow;
        }
        let banner = format!("{}\r\n", self.pbx.config().banner);
        if self.out.write_text(&banner).await.is_err() {
            return Flow::Close;
        }
        loop {
            let flow = tokio::select! {
                action = read_action(&mut self.reader, &mut self.input, &mut self.codec) => match action {
                    Some(action) => self.handle(action).await,
                    None => Flow::Close,
                },
                event = next_event(&mut self.login) => self.forward(event).await,
                () = flood_tick(&mut self.flood) => self.flood().await,
            };
            match flow {
                Flow::Continue => {}
                other => return other,
            }
        }
    }

    /// The flow configured at `point`, if it interrupts the connection.
    fn interrupt(&self, point: &Point) -> Option<Flow> {
        self.faults.interruption_at(point).map(|i| match i {
            Interruption::Drop => Flow::Close,
            Interruption::Stall => Flow::Stall,
        })
    }

    /// Writes a message; a failed write closes the connection.
    async fn write(&mut self, message: &Message) -> Flow {
        let text = format!("{}\r\n", message.as_str());
        match self.out.write_text(&text).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Close,
        }
    }

    /// Writes the response to an action, after the configured latency.
    async fn respond(&mut self, response: Message) -> Flow {
        if !self.faults.latency.is_zero() {
            tokio::time::sleep(self.faults.latency).await;
        }
        self.write(&response).await
    }

    /// Answers one action.
    async fn handle(&mut self, action: Message) -> Flow {
        let id = action.action_id().map(str::to_owned);
        let id = id.as_deref();
        let Some(name) = action.get("Action").map(str::to_owned) else {
            return self.respond(error(id, "Missing action in request")).await;
        };
        if name.eq_ignore_ascii_case("Login")
            && let Some(flow) = self.interrupt(&Point::Login)
        {
            return flow;
        }
        if let Some(flow) = self.interrupt(&Point::Action(name.clone())) {
            return flow;
        }
        let flow = self.dispatch(&name, id, &action).await;
        if let Flow::Continue = flow
            && let Some(flow) = self.interrupt(&Point::AfterResponse(name))
        {
            return flow;
        }
        flow
    }

    /// Runs the action called `name`.
    async fn dispatch(&mut self, name: &str, id: Option<&str>, action: &Message) -> Flow {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("Login") {
            return self.login(id, action).await;
        }
        if is("Challenge") {
            return self.challenge(id, action).await;
        }
        if is("Logoff") {
            let _ = self
                .respond(response(
                    "Goodbye",
                    id,
                    &[("Message", "Thanks for all the fish.")],
                ))
                .await;
            return Flow::Close;
        }
        let Some(login) = &self.login else {
            return self.respond(error(id, "Permission denied")).await;
        };
        let account = login.account.clone();
        if let Some((_, _, Some(classes))) = ACTIONS.iter().find(|(n, _, _)| is(n))
            && !may_write(&account, classes)
        {
            return self.respond(error(id, "Permission denied")).await;
        }
        if let Some((_, classes)) = UNSIMULATED.iter().find(|(n, _)| is(n))
            && !classes.iter().any(|c| account.can_write(c))
        {
            return self.respond(error(id, "Permission denied")).await;
        }
        if is("Ping") {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let stamp = format!("{}.{:06}", now.as_secs(), now.subsec_micros());
            self.respond(response(
                "Success",
                id,
                &[("Ping", "Pong"), ("Timestamp", &stamp)],
            ))
            .await
        } else if is("Events") {
            self.events(id, action).await
        } else if is("ListCommands") {
            let lines: Vec<(String, String)> = ACTIONS
                .iter()
                .filter(|(_, _, classes)| classes.is_none_or(|c| may_write(&account, c)))
                .map(|(n, synopsis, class)| {
                    let privilege = class.map_or("<none>".to_owned(), |c| format!("{c},all"));
                    ((*n).to_owned(), format!("{synopsis}  (Priv: {privilege})"))
                })
                .collect();
            let lines: Vec<(&str, &str)> = lines
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            self.respond(response("Success", id, &lines)).await
        } else if is("BridgeList") {
            self.list(id, "Bridge listing will follow", "BridgeListComplete", &[])
                .await
        } else if is("BridgeTechnologyList") {
            let items: Vec<Vec<(&str, &str)>> = BRIDGE_TECHNOLOGIES
                .iter()
                .map(|(tech, kind, priority)| {
                    vec![
                        ("Event", "BridgeTechnologyListItem"),
                        ("BridgeTechnology", *tech),
                        ("BridgeType", *kind),
                        ("BridgePriority", *priority),
                        ("BridgeSuspended", "No"),
                    ]
                })
                .collect();
            self.list(
                id,
                "Bridge technology listing will follow",
                "BridgeTechnologyListComplete",
                &items,
            )
            .await
        } else if is("Originate") {
            self.originate(id, action).await
        } else if is("Hangup") {
            self.hangup(id, action).await
        } else {
            let text = format!(
                "Invalid/unknown command: {name}. Use Action: ListCommands to show available \
                 commands."
            );
            self.respond(error(id, &text)).await
        }
    }

    /// `Login`: plaintext `Secret` or MD5 `Key` over the last challenge.
    async fn login(&mut self, id: Option<&str>, action: &Message) -> Flow {
        let username = action.get("Username").unwrap_or("");
        let account = self
            .pbx
            .config()
            .account(username)
            .filter(|_| !self.faults.refuse_logins)
            .filter(|account| {
                let md5 = action
                    .get("AuthType")
                    .is_some_and(|t| t.eq_ignore_ascii_case("MD5"));
                if md5 {
                    let (Some(challenge), Some(key)) = (&self.challenge, action.get("Key")) else {
                        return false;
                    };
                    let digest = Md5::digest(format!("{challenge}{}", account.secret));
                    let expected: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                    key.eq_ignore_ascii_case(&expected)
                } else {
                    action.get("Secret") == Some(account.secret.as_str())
                }
            })
            .cloned();
        let Some(account) = account else {
            tokio::time::sleep(self.pbx.config().scaled(FAILED_LOGIN_DELAY)).await;
            let _ = self.respond(error(id, "Authentication failed")).await;
            return Flow::Close;
        };
        let mask = action
            .get("Events")
            .and_then(EventMask::parse)
            .unwrap_or(EventMask::On);
        self.login = Some(Login {
            account,
            mask,
            events: self.pbx.subscribe(),
        });
        let flow = self
            .respond(response(
                "Success",
                id,
                &[("Message", "Authentication accepted")],
            ))
            .await;
        if let Flow::Continue = flow {
            if let Some(garbage) = self.faults.garbage_after_login.clone()
                && self.out.write_bytes(&garbage).await.is_err()
            {
                return Flow::Close;
            }
            if let Some(EventFlood { count, interval }) = self.faults.event_flood {
                let mut ticks = tokio::time::interval(interval.max(Duration::from_micros(1)));
                ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                self.flood = Some((ticks, count));
            }
        }
        flow
    }

    /// `Challenge` with `AuthType: MD5`.
    async fn challenge(&mut self, id: Option<&str>, action: &Message) -> Flow {
        let md5 = action
            .get("AuthType")
            .is_some_and(|t| t.eq_ignore_ascii_case("MD5"));
        if !md5 {
            return self.respond(error(id, "Must specify AuthType")).await;
        }
        let challenge = self
            .challenge
            .get_or_insert_with(|| (random_u64() % 1_000_000_000).to_string())
            .clone();
        self.respond(response("Success", id, &[("Challenge", &challenge)]))
            .await
    }

    /// `Events` with `EventMask`.
    async fn events(&mut self, id: Option<&str>, action: &Message) -> Flow {
        let Some(mask) = action.get("EventMask").and_then(EventMask::parse) else {
            return self.respond(error(id, "Invalid event mask")).await;
        };
        let state = if mask == EventMask::Off { "Off" } else { "On" };
        if let Some(login) = &mut self.login {
            login.mask = mask;
        }
        self.respond(response("Success", id, &[("Events", state)]))
            .await
    }

    /// A list action: the response, `items` (events whose headers follow `Event`), and the
    /// closing event `complete`.
    async fn list(
        &mut self,
        id: Option<&str>,
        message: &str,
        complete: &str,
        items: &[Vec<(&str, &str)>],
    ) -> Flow {
        let start = response(
            "Success",
            id,
            &[("EventList", "start"), ("Message", message)],
        );
        if let Flow::Close = self.respond(start).await {
            return Flow::Close;
        }
        for item in items {
            let mut headers = item.clone();
            if let Some(id) = id {
                headers.push(("ActionID", id));
            }
            if let Flow::Close = self.write(&Message::from_headers(headers)).await {
                return Flow::Close;
            }
        }
        let count = items.len().to_string();
        let mut headers = vec![("Event", complete)];
        if let Some(id) = id {
            headers.push(("ActionID", id));
        }
        headers.extend([("EventList", "Complete"), ("ListItems", &count)]);
        self.write(&Message::from_headers(headers)).await
    }

    /// `Originate`: refused, queued (async) or answered with its outcome (sync).
    async fn originate(&mut self, id: Option<&str>, action: &Message) -> Flow {
        let call = Request::parse(action).and_then(|request| Call::plan(&self.pbx, request));
        let call = match call {
            Ok(call) => call,
            Err(refusal) => return self.respond(error(id, refusal)).await,
        };
        let asynchronous = call.asynchronous();
        let pbx = self.pbx.clone();
        let shutdown = self.pbx.shutdown().clone();
        let (tx, rx) = oneshot::channel();
        let outcome = (!asynchronous).then_some(tx);
        tokio::spawn(async move {
            tokio::select! {
                () = call.run(&pbx, outcome) => {}
                () = shutdown.cancelled() => {}
            }
        });
        let queued = [("Message", "Originate successfully queued")];
        if asynchronous {
            return self.respond(response("Success", id, &queued)).await;
        }
        match rx.await {
            Ok(reason) if reason.is_success() => {
                self.respond(response("Success", id, &queued)).await
            }
            _ => self.respond(error(id, "Originate failed")).await,
        }
    }

    /// `Hangup`: the channel named by `Channel` (its name or `Uniqueid`), or every channel
    /// whose name matches `Channel: /regex/`, hung up with `Cause` (0 when absent or
    /// invalid, as Asterisk does).
    async fn hangup(&mut self, id: Option<&str>, action: &Message) -> Flow {
        let Some(channel) = action.get("Channel").filter(|c| !c.is_empty()) else {
            return self.respond(error(id, "No channel specified")).await;
        };
        let cause = action
            .get("Cause")
            .and_then(|c| c.trim().parse::<u32>().ok())
            .filter(|c| *c <= 127)
            .unwrap_or(0);
        let pattern = channel
            .strip_prefix('/')
            .and_then(|c| c.strip_suffix('/'))
            .filter(|_| channel.len() > 1);
        let Some(pattern) = pattern else {
            let hung = self
                .pbx
                .hang_up(&Selector::Exact(channel.to_owned()), cause);
            return if hung.is_empty() {
                self.respond(error(id, "No such channel")).await
            } else {
                self.respond(response("Success", id, &[("Message", "Channel Hungup")]))
                    .await
            };
        };
        let Ok(regex) = regex::Regex::new(pattern) else {
            return self
                .respond(error(id, &format!("Regex compile failed on: {pattern}")))
                .await;
        };
        let hung = self.pbx.hang_up(&Selector::Pattern(regex), cause);
        let items: Vec<Vec<(&str, &str)>> = hung
            .iter()
            .map(|name| vec![("Event", "ChannelHungup"), ("Channel", name.as_str())])
            .collect();
        self.list(
            id,
            "Channels hung up will follow",
            "ChannelsHungupListComplete",
            &items,
        )
        .await
    }

    /// Writes a published event if the session wants it.
    async fn forward(&mut self, event: Option<Message>) -> Flow {
        let Some(event) = event else {
            return Flow::Continue;
        };
        self.write(&event).await
    }

    /// Writes the next flood event.
    async fn flood(&mut self) -> Flow {
        let Some((_, left)) = &mut self.flood else {
            return Flow::Continue;
        };
        let n = *left;
        match n {
            0 => {}
            1 => self.flood = None,
            _ => *left -= 1,
        }
        let uniqueid = format!("flood-{}", random_u64());
        let event = message(&[
            ("Event".into(), "Newstate".into()),
            ("Privilege".into(), "call,all".into()),
            ("Channel".into(), format!("Local/flood@sandbox-{n:08x};1")),
            ("ChannelState".into(), "6".into()),
            ("ChannelStateDesc".into(), "Up".into()),
            ("Uniqueid".into(), uniqueid.clone()),
            ("Linkedid".into(), uniqueid),
        ]);
        self.write(&event).await
    }
}

/// Reads the next action; `None` when the peer closed or broke the framing. Cancel-safe.
async fn read_action<R: AsyncRead + Unpin>(
    reader: &mut R,
    input: &mut BytesMut,
    codec: &mut AmiCodec,
) -> Option<Message> {
    loop {
        match codec.decode(input) {
            Ok(Some(Frame::Message(message))) => return Some(message),
            Ok(Some(Frame::Banner(_))) => {}
            Ok(None) => match reader.read_buf(input).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            },
            Err(_) => return None,
        }
    }
}

/// The next event the logged-in session wants; pending before login. Cancel-safe.
async fn next_event(login: &mut Option<Login>) -> Option<Message> {
    let Some(login) = login else {
        return std::future::pending().await;
    };
    loop {
        match login.events.recv().await {
            Ok(event) => {
                let wanted = login.account.can_read("call") && login.mask.allows("call");
                if wanted {
                    return Some(event);
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => return None,
            Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// Ticks when the next flood event is due; pending without a flood. Cancel-safe.
async fn flood_tick(flood: &mut Option<(Interval, u64)>) {
    match flood {
        Some((ticks, _)) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Whether `account` may run an action needing any of the comma-separated `classes`.
fn may_write(account: &Account, classes: &str) -> bool {
    classes.split(',').any(|c| account.can_write(c))
}

/// A response: `Response: kind`, the `ActionID` if the action had one, then `headers`.
fn response(kind: &str, id: Option<&str>, headers: &[(&str, &str)]) -> Message {
    let mut all = vec![("Response", kind)];
    if let Some(id) = id {
        all.push(("ActionID", id));
    }
    all.extend_from_slice(headers);
    Message::from_headers(all)
}

/// An error response with Asterisk's `Message`.
fn error(id: Option<&str>, text: &str) -> Message {
    response("Error", id, &[("Message", text)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_masks_follow_asterisk() {
        assert_eq!(EventMask::parse("off"), Some(EventMask::Off));
        assert_eq!(EventMask::parse("on"), Some(EventMask::On));
        assert_eq!(EventMask::parse(""), None);
        assert_eq!(EventMask::parse("bogus"), Some(EventMask::Off));
        let call = EventMask::parse("call, system").unwrap();
        assert!(call.allows("call"));
        assert!(!EventMask::parse("system").unwrap().allows("call"));
    }

    #[test]
    fn responses_put_the_action_id_second() {
        let r = response("Success", Some("a1"), &[("Ping", "Pong")]);
        assert_eq!(
            r.as_str(),
            "Response: Success\r\nActionID: a1\r\nPing: Pong\r\n"
        );
        assert_eq!(
            error(None, "Permission denied").as_str(),
            "Response: Error\r\nMessage: Permission denied\r\n"
        );
    }
}

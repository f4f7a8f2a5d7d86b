//! The channels of an originated call and the AMI events that describe them, header for
//! header as Asterisk 22 writes them for a `read = call` account.
//!
//! An Originate to `Local/10@agents` makes a Local channel pair: the `;1` half is the
//! originated channel (its `Uniqueid` is the Originate's `ChannelId`), the `;2` half runs
//! the agent's extension. Once the agent answers, `;1` runs the Originate's target. A
//! target that runs `Dial(Local/<exten>@<context>)` adds a second Local pair, the
//! destination's (`;1` dialed by the agent's `;1`, `;2` running the destination's
//! extension), and a bridge joining the agent's `;1` and the destination's `;1` once it
//! answers.

use clickdial_ami::Message;

/// One channel of a call: a half of the agent's or of the destination's Local pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Half {
    /// `;1`: the originated channel.
    One,
    /// `;2`: the half that runs the agent's extension.
    Two,
    /// The destination's `;1`: the channel `Dial()` calls.
    DestOne,
    /// The destination's `;2`: the half that runs the destination's extension.
    DestTwo,
}

/// A channel state, as `ChannelState` and `ChannelStateDesc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// 0: not yet called.
    Down,
    /// 4: the half running the dialplan before an answer.
    Ring,
    /// 5: ringing.
    Ringing,
    /// 6: answered.
    Up,
    /// 7: busy (also what a congested Local half shows).
    Busy,
}

impl State {
    /// Asterisk's number and name for the state.
    fn code_and_name(self) -> (&'static str, &'static str) {
        match self {
            State::Down => ("0", "Down"),
            State::Ring => ("4", "Ring"),
            State::Ringing => ("5", "Ringing"),
            State::Up => ("6", "Up"),
            State::Busy => ("7", "Busy"),
        }
    }
}

/// The text Asterisk gives a hangup cause in `Cause-txt`.
fn cause_text(cause: u32) -> &'static str {
    match cause {
        1 => "Unallocated (unassigned) number",
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        27 => "Destination out of order",
        34 => "Circuit/channel congestion",
        38 => "Network out of order",
        41 => "Temporary failure",
        42 => "Switching equipment congestion",
        _ => "Unknown",
    }
}

/// One channel's snapshot fields.
#[derive(Debug, Clone)]
struct Channel {
    name: String,
    uniqueid: String,
    state: State,
    context: String,
    exten: String,
    priority: u32,
    caller_id: String,
    connected_line: String,
}

impl Channel {
    /// Half `n` of `Local/{exten}@{context}-{sequence}`, in the state a new half has.
    fn new(exten: &str, context: &str, sequence: u32, n: u32, uniqueid: String) -> Channel {
        Channel {
            name: format!("Local/{exten}@{context}-{sequence:08x};{n}"),
            uniqueid,
            state: if n == 1 { State::Down } else { State::Ring },
            context: context.to_owned(),
            exten: exten.to_owned(),
            priority: 1,
            caller_id: UNKNOWN.to_owned(),
            connected_line: UNKNOWN.to_owned(),
        }
    }
}

/// What Asterisk shows for an unset caller id or connected line.
const UNKNOWN: &str = "<unknown>";

/// The destination's Local pair, which the agent's `;1` dials.
#[derive(Debug, Clone)]
struct Destination {
    one: Channel,
    two: Channel,
    dial_string: String,
}

/// The bridge joining the agent's `;1` and the destination's `;1`.
#[derive(Debug, Clone)]
struct Bridge {
    uniqueid: String,
    channels: u32,
}

/// The channels of an originated call: the agent's Local pair, and the destination's once
/// the target dials one.
#[derive(Debug, Clone)]
pub(crate) struct LocalPair {
    one: Channel,
    two: Channel,
    linkedid: String,
    dial_string: String,
    target: (String, String),
    destination: Option<Destination>,
    bridge: Option<Bridge>,
}

impl LocalPair {
    /// The pair number `sequence` for `Local/{exten}@{context}`, with the halves' unique ids,
    /// whose `;1` half will run `target` (context and extension) once answered.
    pub(crate) fn new(
        sequence: u32,
        exten: &str,
        context: &str,
        uniqueids: (String, String),
        target: (String, String),
    ) -> LocalPair {
        LocalPair {
            linkedid: uniqueids.0.clone(),
            one: Channel::new(exten, context, sequence, 1, uniqueids.0),
            two: Channel::new(exten, context, sequence, 2, uniqueids.1),
            dial_string: format!("{exten}@{context}"),
            target,
            destination: None,
            bridge: None,
        }
    }

    /// Adds the destination's pair, number `sequence`, for `Dial(Local/{exten}@{context})`.
    pub(crate) fn with_destination(
        mut self,
        sequence: u32,
        exten: &str,
        context: &str,
        uniqueids: (String, String),
    ) -> LocalPair {
        self.destination = Some(Destination {
            one: Channel::new(exten, context, sequence, 1, uniqueids.0),
            two: Channel::new(exten, context, sequence, 2, uniqueids.1),
            dial_string: format!("{exten}@{context}"),
        });
        self
    }

    /// The originated channel's name, e.g. `Local/10@agents-00000000;1`.
    pub(crate) fn originated_name(&self) -> &str {
        &self.one.name
    }

    /// The originated channel's `Uniqueid`.
    pub(crate) fn originated_uniqueid(&self) -> &str {
        &self.one.uniqueid
    }

    /// The destination's pair; only planned calls with a `Dial()` target reach for it.
    fn destination(&self) -> &Destination {
        self.destination
            .as_ref()
            .expect("a call that dials was planned with a destination")
    }

    /// See [`LocalPair::destination`].
    fn destination_mut(&mut self) -> &mut Destination {
        self.destination
            .as_mut()
            .expect("a call that dials was planned with a destination")
    }

    fn channel(&self, half: Half) -> &Channel {
        match half {
            Half::One => &self.one,
            Half::Two => &self.two,
            Half::DestOne => &self.destination().one,
            Half::DestTwo => &self.destination().two,
        }
    }

    fn channel_mut(&mut self, half: Half) -> &mut Channel {
        match half {
            Half::One => &mut self.one,
            Half::Two => &mut self.two,
            Half::DestOne => &mut self.destination_mut().one,
            Half::DestTwo => &mut self.destination_mut().two,
        }
    }

    /// Clears a half's extension, as Asterisk shows the destination's `;1` once answered.
    pub(crate) fn clear_exten(&mut self, half: Half) {
        self.channel_mut(half).exten.clear();
    }

    /// `NewCallerid`: the destination's `;1` takes its extension as caller id.
    pub(crate) fn new_caller_id(&mut self, half: Half) -> Message {
        let c = self.channel_mut(half);
        c.caller_id = c.exten.clone();
        self.channel_event(
            "NewCallerid",
            half,
            &[(
                "CID-CallingPres",
                "0 (Presentation Allowed, Not Screened)".to_owned(),
            )],
        )
    }

    /// `NewConnectedLine`: the destination's `;2` takes its extension as connected line.
    pub(crate) fn new_connected_line(&mut self, half: Half) -> Message {
        let c = self.channel_mut(half);
        c.connected_line = c.exten.clone();
        self.channel_event("NewConnectedLine", half, &[])
    }

    /// Sets a half's state.
    pub(crate) fn set_state(&mut self, half: Half, state: State) {
        self.channel_mut(half).state = state;
    }

    /// Moves a half to another priority of its extension.
    pub(crate) fn set_priority(&mut self, half: Half, priority: u32) {
        self.channel_mut(half).priority = priority;
    }

    /// Sends the `;1` half into the Originate's target, at priority 1.
    pub(crate) fn enter_target(&mut self) {
        let (context, exten) = self.target.clone();
        self.one.context = context;
        self.one.exten = exten;
        self.one.priority = 1;
    }

    /// Appends the snapshot of `half` with every header name prefixed by `prefix`.
    fn snapshot(&self, half: Half, prefix: &str, headers: &mut Vec<(String, String)>) {
        let c = self.channel(half);
        let (state, desc) = c.state.code_and_name();
        let fields = [
            ("Channel", c.name.as_str()),
            ("ChannelState", state),
            ("ChannelStateDesc", desc),
            ("CallerIDNum", c.caller_id.as_str()),
            ("CallerIDName", UNKNOWN),
            ("ConnectedLineNum", c.connected_line.as_str()),
            ("ConnectedLineName", UNKNOWN),
            ("Language", "en"),
            ("AccountCode", ""),
            ("Context", c.context.as_str()),
            ("Exten", c.exten.as_str()),
            ("Priority", &c.priority.to_string()),
            ("Uniqueid", c.uniqueid.as_str()),
            ("Linkedid", self.linkedid.as_str()),
        ];
        headers.extend(
            fields
                .iter()
                .map(|(n, v)| (format!("{prefix}{n}"), (*v).to_owned())),
        );
    }

    /// A call-class event called `name` about `half`, with `extra` headers at the end.
    fn channel_event(&self, name: &str, half: Half, extra: &[(&str, String)]) -> Message {
        let mut headers = call_event(name);
        self.snapshot(half, "", &mut headers);
        headers.extend(extra.iter().map(|(n, v)| ((*n).to_owned(), v.clone())));
        message(&headers)
    }

    /// `Newchannel` for `half`.
    pub(crate) fn newchannel(&self, half: Half) -> Message {
        self.channel_event("Newchannel", half, &[])
    }

    /// `Newstate` for `half`.
    pub(crate) fn newstate(&self, half: Half) -> Message {
        self.channel_event("Newstate", half, &[])
    }

    /// `HangupRequest` or `SoftHangupRequest` (`name`) for `half` with `cause`.
    pub(crate) fn hangup_request(&self, name: &str, half: Half, cause: u32) -> Message {
        self.channel_event(name, half, &[("Cause", cause.to_string())])
    }

    /// `Hangup` for `half` with `cause` and its text.
    pub(crate) fn hangup(&self, half: Half, cause: u32) -> Message {
        self.channel_event(
            "Hangup",
            half,
            &[
                ("Cause", cause.to_string()),
                ("Cause-txt", cause_text(cause).to_owned()),
            ],
        )
    }

    /// `LocalBridge`: the two halves of the agent's pair (`one` is [`Half::One`]) or of the
    /// destination's ([`Half::DestOne`]), and the extension its `;2` runs.
    pub(crate) fn local_bridge(&self, one: Half) -> Message {
        let two = if one == Half::One {
            Half::Two
        } else {
            Half::DestTwo
        };
        let mut headers = call_event("LocalBridge");
        self.snapshot(one, "LocalOne", &mut headers);
        self.snapshot(two, "LocalTwo", &mut headers);
        let c = self.channel(two);
        headers.extend([
            ("Context".to_owned(), c.context.clone()),
            ("Exten".to_owned(), c.exten.clone()),
            ("LocalOptimization".to_owned(), "Yes".to_owned()),
        ]);
        message(&headers)
    }

    /// `DialBegin`, `DialState` or `DialEnd` (`name`) of the agent's `;1` dialing the
    /// destination's `;1`; `DialBegin` carries the dial string, the others `status`.
    pub(crate) fn dest_dial(&self, name: &str, status: Option<&str>) -> Message {
        let mut headers = call_event(name);
        self.snapshot(Half::One, "", &mut headers);
        self.snapshot(Half::DestOne, "Dest", &mut headers);
        match status {
            Some(status) => headers.push(("DialStatus".to_owned(), status.to_owned())),
            None => headers.push((
                "DialString".to_owned(),
                self.destination().dial_string.clone(),
            )),
        }
        message(&headers)
    }

    /// A bridge event (`BridgeCreate`, `BridgeEnter`, `BridgeLeave`, `BridgeDestroy`), with
    /// the snapshot of `half` for entering and leaving. The bridge is created with the
    /// unique id `uniqueid` (Asterisk's are UUIDs).
    pub(crate) fn bridge(&mut self, name: &str, half: Option<Half>, uniqueid: &str) -> Message {
        let bridge = self.bridge.get_or_insert_with(|| Bridge {
            uniqueid: uniqueid.to_owned(),
            channels: 0,
        });
        match name {
            "BridgeEnter" => bridge.channels += 1,
            "BridgeLeave" => bridge.channels = bridge.channels.saturating_sub(1),
            _ => {}
        }
        let count = bridge.channels.to_string();
        let mut headers = call_event(name);
        headers.extend(
            [
                ("BridgeUniqueid", bridge.uniqueid.as_str()),
                ("BridgeType", "basic"),
                ("BridgeTechnology", "simple_bridge"),
                ("BridgeCreator", UNKNOWN),
                ("BridgeName", UNKNOWN),
                ("BridgeNumChannels", count.as_str()),
                ("BridgeVideoSourceMode", "none"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned())),
        );
        if let Some(half) = half {
            self.snapshot(half, "", &mut headers);
        }
        message(&headers)
    }

    /// `DialBegin`, `DialState` or `DialEnd` (`name`) of the originate dialing the `;1` half;
    /// `DialBegin` carries the dial string, the others `status`.
    pub(crate) fn dial(&self, name: &str, status: Option<&str>) -> Message {
        let mut headers = call_event(name);
        self.snapshot(Half::One, "Dest", &mut headers);
        match status {
            Some(status) => headers.push(("DialStatus".to_owned(), status.to_owned())),
            None => headers.push(("DialString".to_owned(), self.dial_string.clone())),
        }
        message(&headers)
    }
}

/// The `Event` and `Privilege` lines every call-class event starts with.
fn call_event(name: &str) -> Vec<(String, String)> {
    vec![
        ("Event".to_owned(), name.to_owned()),
        ("Privilege".to_owned(), "call,all".to_owned()),
    ]
}

/// A message of owned headers.
pub(crate) fn message(headers: &[(String, String)]) -> Message {
    Message::from_headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// What an `OriginateResponse` reports.
#[derive(Debug, Clone)]
pub(crate) struct OriginateOutcome<'a> {
    /// The Originate's `ActionID`, if it had one.
    pub(crate) action_id: Option<&'a str>,
    /// Whether the channel was answered.
    pub(crate) success: bool,
    /// The originated channel's name, or the requested `Channel` if it never answered.
    pub(crate) channel: &'a str,
    /// The target's `(Context, Exten)` or `(Application, Data)` headers.
    pub(crate) target: [(&'a str, &'a str); 2],
    /// Asterisk's reason code.
    pub(crate) reason: u8,
    /// The originated channel's `Uniqueid`, or `<unknown>`.
    pub(crate) uniqueid: &'a str,
}

/// The `OriginateResponse` event of an async Originate.
pub(crate) fn originate_response(o: &OriginateOutcome<'_>) -> Message {
    let mut headers = call_event("OriginateResponse");
    if let Some(id) = o.action_id {
        headers.push(("ActionID".to_owned(), id.to_owned()));
    }
    let response = if o.success { "Success" } else { "Failure" };
    headers.push(("Response".to_owned(), response.to_owned()));
    headers.push(("Channel".to_owned(), o.channel.to_owned()));
    for (name, value) in o.target {
        headers.push((name.to_owned(), value.to_owned()));
    }
    headers.extend([
        ("Reason".to_owned(), o.reason.to_string()),
        ("Uniqueid".to_owned(), o.uniqueid.to_owned()),
        ("CallerIDNum".to_owned(), "<unknown>".to_owned()),
        ("CallerIDName".to_owned(), "<unknown>".to_owned()),
    ]);
    message(&headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_the_snapshot_asterisk_writes() {
        let mut pair = LocalPair::new(
            0,
            "10",
            "agents",
            ("chan-1".into(), "chan-1;2".into()),
            ("extensiones-locales".into(), "93200900".into()),
        );
        let m = pair.newchannel(Half::Two);
        assert_eq!(m.event(), Some("Newchannel"));
        assert_eq!(m.get("Channel"), Some("Local/10@agents-00000000;2"));
        assert_eq!(m.get("ChannelStateDesc"), Some("Ring"));
        assert_eq!(m.get("Linkedid"), Some("chan-1"));
        assert_eq!(m.get("AccountCode"), Some(""));
        pair.enter_target();
        pair.set_priority(Half::One, 3);
        pair.set_state(Half::One, State::Up);
        let h = pair.hangup(Half::One, 16);
        assert_eq!(h.get("Context"), Some("extensiones-locales"));
        assert_eq!(h.get("Priority"), Some("3"));
        assert_eq!(h.get("Cause-txt"), Some("Normal Clearing"));
        assert_eq!(
            pair.dial("DialBegin", None).get("DialString"),
            Some("10@agents")
        );
        assert_eq!(
            pair.local_bridge(Half::One).get("LocalTwoUniqueid"),
            Some("chan-1;2")
        );
    }
}

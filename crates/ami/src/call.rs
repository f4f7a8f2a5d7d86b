//! Call tracking: the events of one originated call (its `OriginateResponse`, and the
//! `Newstate`, `DialBegin`, `DialState`, `DialEnd` and `Hangup` of its channels) turned
//! into a typed progress stream that ends with a reason.
//!
//! The agent's leg is the originated channel; its outcome comes from the
//! `OriginateResponse` (`Reason` 4 answered, 5 busy, 3 no answer, 8 congestion, 0 or 1
//! failed). The destination's comes from the `DialEnd` of a `Dial()` the dialplan runs on
//! that channel; a dialplan that answers or plays busy itself, without `Dial()`, shows only
//! the final hangup cause.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::events::{Event, RoutedCall};
use crate::reconnect::State;

/// A step of an originated call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallProgress {
    /// Asterisk accepted the Originate and is calling the agent.
    Queued,
    /// The agent's phone rings.
    AgentRinging,
    /// The agent answered.
    AgentAnswered,
    /// The dialplan dials the destination.
    DestinationRinging,
    /// The destination answered: agent and destination talk.
    Connected,
    /// The call is over; nothing follows.
    Ended(CallEnd),
}

/// How a call ended, and on which leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEnd {
    /// The leg the reason belongs to.
    pub leg: Leg,
    /// Why the call ended.
    pub reason: EndReason,
}

/// The two legs of a click-to-dial call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The originated channel: the agent's phone.
    Agent,
    /// The number the dialplan dials once the agent answered.
    Destination,
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The leg was answered, and the call has since been hung up.
    Answered,
    /// The leg was busy.
    Busy,
    /// The leg rang and was not answered in time.
    NoAnswer,
    /// The network was congested or the leg unreachable.
    Congestion,
    /// Asterisk reported a failure: its text and, when known, the Q.850 hangup cause.
    Failed {
        /// Asterisk's explanation (a `Cause-txt`, a `DialStatus` or an originate reason).
        text: String,
        /// The hangup cause code, if one was reported.
        cause: Option<u32>,
    },
    /// Tracking stopped before the end was seen (connection lost, events missed); the call
    /// may still be going on.
    Lost(String),
}

/// The tracking state of one call, fed with its events.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    pub(crate) action_id: String,
    pub(crate) channel_id: String,
    agent_ringing: bool,
    agent_answered: bool,
    destination_ringing: bool,
    connected: bool,
    dial_status: Option<String>,
    cause: Option<(u32, String)>,
    pub(crate) reported: bool,
    ended: bool,
}

impl Tracker {
    /// Tracks the call originated with `action_id` whose channel is `channel_id`.
    pub(crate) fn new(action_id: &str, channel_id: &str) -> Tracker {
        Tracker {
            action_id: action_id.to_owned(),
            channel_id: channel_id.to_owned(),
            ..Tracker::default()
        }
    }

    /// Whether `event` is about the originated channel itself.
    fn own(&self, event: &Event) -> bool {
        event.get("Uniqueid") == Some(self.channel_id.as_str())
    }

    /// The progress `event` makes, in order.
    pub(crate) fn on_event(&mut self, event: &Event) -> Vec<CallProgress> {
        let mut steps = Vec::new();
        if self.ended {
            return steps;
        }
        match event.name() {
            "OriginateResponse" if event.action_id() == Some(self.action_id.as_str()) => {
                self.reported = true;
                if event
                    .get("Response")
                    .is_some_and(|r| r.eq_ignore_ascii_case("Success"))
                {
                    self.agent_answered(&mut steps);
                } else {
                    let reason = self.originate_failure(event.get("Reason").unwrap_or(""));
                    steps.push(self.end(Leg::Agent, reason));
                }
            }
            "Newstate" if self.own(event) => match event.get("ChannelState") {
                Some("5") if !self.agent_ringing && !self.agent_answered => {
                    self.agent_ringing = true;
                    steps.push(CallProgress::AgentRinging);
                }
                Some("6") => self.agent_answered(&mut steps),
                _ => {}
            },
            "DialBegin" | "DialState" if self.own(event) && !self.destination_ringing => {
                self.destination_ringing = true;
                steps.push(CallProgress::DestinationRinging);
            }
            "DialEnd" if self.own(event) => match event.get("DialStatus") {
                Some(status) if status.eq_ignore_ascii_case("ANSWER") => {
                    self.connected = true;
                    steps.push(CallProgress::Connected);
                }
                Some(status) => self.dial_status = Some(status.to_ascii_uppercase()),
                None => {}
            },
            "Hangup" if self.own(event) => {
                let cause = event.get("Cause").and_then(|c| c.parse().ok()).unwrap_or(0);
                let text = event.get("Cause-txt").unwrap_or("Unknown").to_owned();
                self.cause = Some((cause, text));
                if self.agent_answered {
                    let end = self.hangup_end();
                    steps.push(end);
                }
            }
            "Hangup" if !self.agent_answered && self.cause.is_none() => {
                // The agent's half of a Local channel tells why the agent did not answer.
                let cause = event.get("Cause").and_then(|c| c.parse().ok()).unwrap_or(0);
                if cause != 0 {
                    let text = event.get("Cause-txt").unwrap_or("Unknown").to_owned();
                    self.cause = Some((cause, text));
                }
            }
            _ => {}
        }
        steps
    }

    /// Records the agent's answer once.
    fn agent_answered(&mut self, steps: &mut Vec<CallProgress>) {
        if !self.agent_answered {
            self.agent_answered = true;
            steps.push(CallProgress::AgentAnswered);
        }
    }

    /// The end of a call whose agent had answered, at the originated channel's hangup.
    fn hangup_end(&mut self) -> CallProgress {
        if let Some(status) = self.dial_status.take() {
            let reason = match status.as_str() {
                "BUSY" => EndReason::Busy,
                "NOANSWER" => EndReason::NoAnswer,
                "CONGESTION" | "CHANUNAVAIL" => EndReason::Congestion,
                _ => EndReason::Failed {
                    text: status,
                    cause: self.cause.as_ref().map(|(c, _)| *c),
                },
            };
            return self.end(Leg::Destination, reason);
        }
        if self.connected {
            return self.end(Leg::Destination, EndReason::Answered);
        }
        let reason = match self.cause.clone() {
            Some((17, _)) => EndReason::Busy,
            Some((18 | 19, _)) => EndReason::NoAnswer,
            Some((34 | 38 | 42, _)) => EndReason::Congestion,
            Some((0 | 16, _)) | None => EndReason::Answered,
            Some((cause, text)) => EndReason::Failed {
                text,
                cause: Some(cause),
            },
        };
        self.end(Leg::Agent, reason)
    }

    /// The agent leg's reason for a failed Originate (`Reason` of `OriginateResponse`).
    fn originate_failure(&self, reason: &str) -> EndReason {
        match reason {
            "5" => EndReason::Busy,
            "3" => EndReason::NoAnswer,
            "8" => EndReason::Congestion,
            _ => {
                let what = match reason {
                    "1" => "the agent's channel hung up before answering",
                    _ => "Asterisk could not call the agent's channel",
                };
                let (text, cause) = match &self.cause {
                    Some((cause, text)) => (format!("{what}: {text}"), Some(*cause)),
                    None => (format!("{what} (originate reason {reason})"), None),
                };
                EndReason::Failed { text, cause }
            }
        }
    }

    /// Marks the call ended.
    pub(crate) fn end(&mut self, leg: Leg, reason: EndReason) -> CallProgress {
        self.ended = true;
        CallProgress::Ended(CallEnd { leg, reason })
    }
}

/// How long a call keeps its place in the originate window when none of its events
/// arrives (an event filter in manager.conf, a lost event): its place is then given up.
const SETUP_TIMEOUT: Duration = Duration::from_secs(2);

/// An originated call being tracked; see [`crate::Client::originate`].
///
/// Its events are fed to its tracker as the connection reads them; the call holds a place
/// in the client's originate window ([`crate::Config::originate_window`]) until the first
/// of them arrives, until it ends or is dropped, or, when none arrives, for a while (polled
/// with [`Call::next`]).
#[derive(Debug)]
pub struct Call {
    progress: RoutedCall,
    state: watch::Receiver<State>,
    queue: std::collections::VecDeque<CallProgress>,
    report_deadline: Instant,
    finished: bool,
    setup_deadline: Instant,
}

impl Call {
    /// Starts following a call whose tracker is fed through `progress` (routed before the
    /// Originate was sent); its `OriginateResponse` is expected within `report_within`.
    pub(crate) fn new(
        progress: RoutedCall,
        state: watch::Receiver<State>,
        report_within: Duration,
    ) -> Call {
        let now = Instant::now();
        Call {
            progress,
            state,
            queue: [CallProgress::Queued].into(),
            report_deadline: now + report_within,
            finished: false,
            setup_deadline: now + SETUP_TIMEOUT,
        }
    }

    /// The ActionID the Originate was sent with.
    pub fn action_id(&self) -> &str {
        self.progress.action_id()
    }

    /// The originated channel's `Uniqueid`.
    pub fn channel_id(&self) -> &str {
        self.progress.channel_id()
    }

    /// The next step; `None` after [`CallProgress::Ended`] was returned.
    pub async fn next(&mut self) -> Option<CallProgress> {
        loop {
            if let Some(step) = self.queue.pop_front() {
                if matches!(step, CallProgress::Ended(_)) {
                    self.finished = true;
                    self.progress.give_up_place();
                }
                return Some(step);
            }
            if self.finished {
                return None;
            }
            let lost = tokio::select! {
                Some(step) = self.progress.recv() => {
                    self.queue.push_back(step);
                    None
                }
                changed = self.state.changed() => match changed {
                    Ok(()) if matches!(*self.state.borrow(), State::Connected { .. }) => None,
                    _ => Some("the AMI connection was lost; the call may still be going on".to_owned()),
                },
                _ = tokio::time::sleep_until(self.setup_deadline), if self.progress.setting_up() => {
                    self.progress.give_up_place();
                    None
                },
                _ = tokio::time::sleep_until(self.report_deadline), if !self.progress.reported() => {
                    Some(
                        "no OriginateResponse arrived in time: the AMI account needs \
                         `read = call` in manager.conf to follow calls"
                            .to_owned(),
                    )
                },
            };
            if let Some(lost) = lost {
                let end = self.progress.end(Leg::Agent, EndReason::Lost(lost));
                self.queue.push_back(end);
            }
        }
    }

    /// Follows the call to its end and returns how it ended.
    pub async fn outcome(mut self) -> CallEnd {
        loop {
            match self.next().await {
                Some(CallProgress::Ended(end)) => return end,
                Some(_) => {}
                None => unreachable!("a call yields Ended before it finishes"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::routes_to;
    use crate::message::Message;

    fn event(headers: &[(&str, &str)]) -> Event {
        Event::new(Message::from_headers(headers.iter().copied()))
    }

    fn run(events: &[Event]) -> Vec<CallProgress> {
        let mut tracker = Tracker::new("a-1", "c-1");
        events
            .iter()
            .filter(|e| routes_to(e, &["a-1", "c-1"]))
            .flat_map(|e| tracker.on_event(e))
            .collect()
    }

    fn ended(leg: Leg, reason: EndReason) -> CallProgress {
        CallProgress::Ended(CallEnd { leg, reason })
    }

    #[test]
    fn calls_in_the_recorded_stream_end_as_asterisk_reported() {
        use bytes::BytesMut;
        use tokio_util::codec::Decoder;

        use crate::codec::{AmiCodec, Frame};

        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/originate-300.ami");
        let mut buf = BytesMut::from(&std::fs::read(path).unwrap()[..]);
        let mut codec = AmiCodec::default();
        let mut events = Vec::new();
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            if let Frame::Message(m) = frame
                && m.event().is_some()
            {
                events.push(Event::new(m));
            }
        }
        // The default dialplan: call i dials agent [10, 11, 12, 20, 19][i % 5]. Call 0 reused
        // the ChannelId of a call still up from an earlier recording, which Asterisk refuses.
        let refused = EndReason::Failed {
            text: "Asterisk could not call the agent's channel (originate reason 0)".into(),
            cause: None,
        };
        for (call, expected) in [
            (0, ended(Leg::Agent, refused)),
            (5, ended(Leg::Agent, EndReason::Answered)),
            (3, ended(Leg::Agent, EndReason::Busy)),
            (4, ended(Leg::Agent, EndReason::NoAnswer)),
            (13, ended(Leg::Agent, EndReason::Busy)),
            (24, ended(Leg::Agent, EndReason::NoAnswer)),
        ] {
            let (action_id, channel_id) = (format!("o{call}"), format!("call-{call}"));
            let mut tracker = Tracker::new(&action_id, &channel_id);
            let steps: Vec<_> = events
                .iter()
                .filter(|e| routes_to(e, &[&action_id, &channel_id]))
                .flat_map(|e| tracker.on_event(e))
                .collect();
            assert_eq!(steps.last(), Some(&expected), "call {call}: {steps:?}");
        }
    }

    #[test]
    fn an_answered_and_dialed_call() {
        let steps = run(&[
            event(&[
                ("Event", "Newstate"),
                ("Uniqueid", "c-1"),
                ("ChannelState", "5"),
            ]),
            event(&[
                ("Event", "OriginateResponse"),
                ("ActionID", "a-1"),
                ("Response", "Success"),
                ("Reason", "4"),
            ]),
            event(&[
                ("Event", "Newstate"),
                ("Uniqueid", "c-1"),
                ("ChannelState", "6"),
            ]),
            event(&[
                ("Event", "DialBegin"),
                ("Uniqueid", "c-1"),
                ("DestUniqueid", "d"),
            ]),
            event(&[
                ("Event", "DialState"),
                ("Uniqueid", "c-1"),
                ("DialStatus", "RINGING"),
            ]),
            event(&[
                ("Event", "DialEnd"),
                ("Uniqueid", "c-1"),
                ("DialStatus", "ANSWER"),
            ]),
            event(&[
                ("Event", "Hangup"),
                ("Uniqueid", "d"),
                ("Linkedid", "c-1"),
                ("Cause", "16"),
            ]),
            event(&[("Event", "Hangup"), ("Uniqueid", "c-1"), ("Cause", "16")]),
            event(&[("Event", "Hangup"), ("Uniqueid", "c-1"), ("Cause", "16")]),
        ]);
        assert_eq!(
            steps,
            [
                CallProgress::AgentRinging,
                CallProgress::AgentAnswered,
                CallProgress::DestinationRinging,
                CallProgress::Connected,
                ended(Leg::Destination, EndReason::Answered),
            ]
        );
    }

    #[test]
    fn an_agent_that_is_busy_or_fails() {
        let busy = run(&[
            event(&[
                ("Event", "Hangup"),
                ("Uniqueid", "c-1;2"),
                ("Linkedid", "c-1"),
                ("Cause", "17"),
                ("Cause-txt", "User busy"),
            ]),
            event(&[
                ("Event", "OriginateResponse"),
                ("ActionID", "a-1"),
                ("Response", "Failure"),
                ("Reason", "5"),
            ]),
            event(&[("Event", "Hangup"), ("Uniqueid", "c-1"), ("Cause", "0")]),
        ]);
        assert_eq!(busy, [ended(Leg::Agent, EndReason::Busy)]);
        let failed = run(&[
            event(&[
                ("Event", "Hangup"),
                ("Uniqueid", "c-1"),
                ("Cause", "3"),
                ("Cause-txt", "No route to destination"),
            ]),
            event(&[
                ("Event", "OriginateResponse"),
                ("ActionID", "a-1"),
                ("Response", "Failure"),
                ("Reason", "0"),
            ]),
        ]);
        assert_eq!(
            failed,
            [ended(
                Leg::Agent,
                EndReason::Failed {
                    text: "Asterisk could not call the agent's channel: No route to destination"
                        .into(),
                    cause: Some(3)
                }
            )]
        );
    }

    #[test]
    fn a_destination_that_is_busy_and_events_of_other_calls() {
        let steps = run(&[
            event(&[
                ("Event", "OriginateResponse"),
                ("ActionID", "a-2"),
                ("Response", "Failure"),
                ("Reason", "5"),
            ]),
            event(&[
                ("Event", "OriginateResponse"),
                ("ActionID", "a-1"),
                ("Response", "Success"),
                ("Reason", "4"),
            ]),
            event(&[("Event", "Hangup"), ("Uniqueid", "c-2"), ("Cause", "17")]),
            event(&[("Event", "DialBegin"), ("Uniqueid", "c-1")]),
            event(&[
                ("Event", "DialEnd"),
                ("Uniqueid", "c-1"),
                ("DialStatus", "BUSY"),
            ]),
            event(&[("Event", "Hangup"), ("Uniqueid", "c-1"), ("Cause", "17")]),
        ]);
        assert_eq!(
            steps,
            [
                CallProgress::AgentAnswered,
                CallProgress::DestinationRinging,
                ended(Leg::Destination, EndReason::Busy),
            ]
        );
    }

    #[test]
    fn without_dial_the_hangup_cause_decides() {
        for (cause, reason) in [
            ("16", EndReason::Answered),
            ("17", EndReason::Busy),
            ("19", EndReason::NoAnswer),
            ("34", EndReason::Congestion),
            (
                "21",
                EndReason::Failed {
                    text: "Call Rejected".into(),
                    cause: Some(21),
                },
            ),
        ] {
            let steps = run(&[
                event(&[
                    ("Event", "OriginateResponse"),
                    ("ActionID", "a-1"),
                    ("Response", "Success"),
                ]),
                event(&[
                    ("Event", "Hangup"),
                    ("Uniqueid", "c-1"),
                    ("Cause", cause),
                    ("Cause-txt", "Call Rejected"),
                ]),
            ]);
            assert_eq!(
                steps,
                [CallProgress::AgentAnswered, ended(Leg::Agent, reason)]
            );
        }
    }
}

//! The dialplan and what each behaviour does over time.
//!
//! An [`Extension`] is one line of `extensions.conf` reduced to what click-to-dial needs: a
//! context, a pattern and a [`Behaviour`] lasting some seconds. [`Dialplan::plan`] turns an
//! Originate (the agent's Local channel plus the target extension) into the timeline of
//! [`Step`]s Asterisk 22 goes through: every sequence here is copied from a transcript
//! recorded from the real Asterisk of `../shared/pbx` (see `tests/data/`).

use std::time::Duration;

use serde::Deserialize;

use crate::channels::{Half, State};

/// What an extension does when a channel enters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behaviour {
    /// `Answer()`, `Wait(seconds)`, `Hangup()`.
    Answer,
    /// `Ringing()`, `Wait(seconds)`: rings and is never answered.
    Ring,
    /// `Busy(seconds)`.
    Busy,
    /// `Congestion(seconds)`.
    Congestion,
    /// `Dial(Local/${EXTEN}@<dial>,seconds)`, then `Hangup()`: the destination is reached
    /// through the extension of the same number in the context named by the extension's
    /// [`Extension::dial`], whose behaviour (answer, ring, busy or congestion) decides
    /// how the `Dial()` ends; `seconds` is the `Dial()` timeout.
    Dial,
}

/// One extension: `exten => pattern,1,...` in `[context]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// The dialplan context, e.g. `agents`.
    pub context: String,
    /// An exact extension (`19`) or an Asterisk pattern (`_1[0-8]`, `_9000X`, `_X.`, `_+X.`).
    pub pattern: String,
    /// What the extension does.
    pub behaviour: Behaviour,
    /// How long it lasts: the hold after answering, the ringing, the busy/congestion tone,
    /// or the `Dial()` timeout.
    pub seconds: u64,
    /// For [`Behaviour::Dial`], the context of the `Local` channel it dials (e.g.
    /// `destinations`); absent for every other behaviour.
    #[serde(default)]
    pub dial: Option<String>,
}

impl Extension {
    /// `exten => pattern,1,...` in `[context]` doing `behaviour` for `seconds` (not
    /// [`Behaviour::Dial`]: see [`Extension::dialing`]).
    pub fn new(context: &str, pattern: &str, behaviour: Behaviour, seconds: u64) -> Extension {
        Extension {
            context: context.to_owned(),
            pattern: pattern.to_owned(),
            behaviour,
            seconds,
            dial: None,
        }
    }

    /// `exten => pattern,1,Dial(Local/${EXTEN}@destinations,timeout)` in `[context]`,
    /// followed by `Hangup()`.
    pub fn dialing(context: &str, pattern: &str, destinations: &str, timeout: u64) -> Extension {
        Extension {
            dial: Some(destinations.to_owned()),
            ..Extension::new(context, pattern, Behaviour::Dial, timeout)
        }
    }

    /// How long the behaviour lasts.
    fn duration(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }
}

/// Whether `exten` matches the extension pattern `pattern` (Asterisk's syntax: a leading `_`
/// makes it a pattern with `X` 0-9, `Z` 1-9, `N` 2-9, `[...]` sets and ranges, `.` one or
/// more characters and `!` zero or more; without `_` it is an exact extension).
pub fn matches(pattern: &str, exten: &str) -> bool {
    match pattern.strip_prefix('_') {
        None => pattern == exten,
        Some(pattern) => matches_from(pattern.as_bytes(), exten.as_bytes()),
    }
}

/// The recursive matcher behind [`matches`].
fn matches_from(pattern: &[u8], exten: &[u8]) -> bool {
    let Some((&p, rest)) = pattern.split_first() else {
        return exten.is_empty();
    };
    match p {
        b'.' => !exten.is_empty(),
        b'!' => true,
        b'[' => {
            let Some(close) = rest.iter().position(|&b| b == b']') else {
                return false;
            };
            let (set, after) = (&rest[..close], &rest[close + 1..]);
            exten
                .split_first()
                .is_some_and(|(&c, tail)| in_set(set, c) && matches_from(after, tail))
        }
        _ => exten.split_first().is_some_and(|(&c, tail)| {
            let ok = match p.to_ascii_uppercase() {
                b'X' => c.is_ascii_digit(),
                b'Z' => (b'1'..=b'9').contains(&c),
                b'N' => (b'2'..=b'9').contains(&c),
                _ => p == c,
            };
            ok && matches_from(rest, tail)
        }),
    }
}

/// Whether `c` is in a `[...]` set such as `0-8` or `13-5`.
fn in_set(set: &[u8], c: u8) -> bool {
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == b'-' {
            if (set[i]..=set[i + 2]).contains(&c) {
                return true;
            }
            i += 3;
        } else {
            if set[i] == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

/// Asterisk's `Reason` codes in `OriginateResponse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// 0: the channel could not be created or called.
    Failed = 0,
    /// 3: rang until the Originate's timeout.
    NoAnswer = 3,
    /// 4: answered.
    Answered = 4,
    /// 5: busy.
    Busy = 5,
    /// 8: congestion.
    Congestion = 8,
}

impl Reason {
    /// Whether the originated channel was answered.
    pub(crate) fn is_success(self) -> bool {
        self == Reason::Answered
    }
}

/// What a `Hangup` action on the originated channel does while the call waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnHangup {
    /// The agent's phone rings: the Originate fails (recorded).
    AgentRinging,
    /// The agent's `;1` dials the destination: the `Dial()` is cancelled (recorded).
    Dialing,
    /// The rest of the timeline runs at once, as if the wait had ended (not recorded).
    RunOn,
}

impl OnHangup {
    /// The steps that replace the rest of the timeline when the originated channel is hung
    /// up with `cause`; `None` for [`OnHangup::RunOn`].
    pub(crate) fn steps(self, cause: u32) -> Option<Vec<Step>> {
        use Half::{DestOne, DestTwo, One, Two};
        use Step::*;
        match self {
            OnHangup::AgentRinging => Some(vec![
                Dial("DialEnd", Some("NOANSWER")),
                HangupRequest(Two, cause),
                Hangup(One, cause),
                Outcome(Reason::Failed),
                SoftHangupRequest(Two, 16),
                Hangup(Two, cause),
            ]),
            OnHangup::Dialing => Some(vec![
                DestDial("DialEnd", Some("CANCEL")),
                HangupRequest(DestTwo, 16),
                Hangup(DestOne, 16),
                SoftHangupRequest(DestTwo, 16),
                Hangup(DestTwo, 16),
                SoftHangupRequest(One, 16),
                HangupRequest(Two, cause),
                Hangup(One, cause),
                SoftHangupRequest(Two, 16),
                Hangup(Two, cause),
            ]),
            OnHangup::RunOn => None,
        }
    }
}

/// One step of a call's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Let this much simulated time pass; a `Hangup` action meanwhile does what the
    /// [`OnHangup`] says.
    Wait(Duration, OnHangup),
    /// A `Newchannel` event for one half.
    Newchannel(Half),
    /// The `LocalBridge` event joining the halves of the pair whose `;1` is given.
    LocalBridge(Half),
    /// `DialBegin`, `DialState` or `DialEnd` with this `DialStatus`: the originate "dials"
    /// the `;1` half.
    Dial(&'static str, Option<&'static str>),
    /// `DialBegin`, `DialState` or `DialEnd` with this `DialStatus` of the agent's `;1`
    /// dialing the destination's `;1`.
    DestDial(&'static str, Option<&'static str>),
    /// `NewCallerid` for the half (the destination's `;1`).
    NewCallerid(Half),
    /// `NewConnectedLine` for the half (the destination's `;2`).
    NewConnectedLine(Half),
    /// The half's extension is cleared (no event).
    ClearExten(Half),
    /// A bridge event (`BridgeCreate`, `BridgeEnter`, `BridgeLeave`, `BridgeDestroy`) with
    /// the half entering or leaving.
    Bridge(&'static str, Option<Half>),
    /// The half changes state, with a `Newstate` event.
    Newstate(Half, State),
    /// The half moves to another priority (no event).
    Priority(Half, u32),
    /// The `;1` half enters the Originate's target (no event).
    EnterTarget,
    /// `HangupRequest` with this cause.
    HangupRequest(Half, u32),
    /// `SoftHangupRequest` with this cause.
    SoftHangupRequest(Half, u32),
    /// `Hangup` with this cause.
    Hangup(Half, u32),
    /// The Originate's outcome: the `OriginateResponse` event of an async Originate, the
    /// delayed response of a synchronous one.
    Outcome(Reason),
}

/// The configured extensions.
#[derive(Debug, Clone)]
pub(crate) struct Dialplan {
    extensions: Vec<Extension>,
}

impl Dialplan {
    /// A dialplan of these extensions.
    pub(crate) fn new(extensions: Vec<Extension>) -> Dialplan {
        Dialplan { extensions }
    }

    /// The extension `exten` reaches in `context`: an exact extension first, then the first
    /// matching pattern in configuration order.
    pub(crate) fn lookup(&self, context: &str, exten: &str) -> Option<&Extension> {
        let in_context = || self.extensions.iter().filter(|e| e.context == context);
        in_context()
            .find(|e| e.pattern == exten)
            .or_else(|| in_context().find(|e| matches(&e.pattern, exten)))
    }

    /// The timeline of an Originate whose agent channel runs `agent` (`None`: the Local
    /// channel's extension does not exist), ringing at most `timeout`, then whose `;1` half
    /// runs `target`; a [`Behaviour::Dial`] target reaches `destination` (`None`: its
    /// context has no such extension).
    pub(crate) fn plan(
        agent: Option<&Extension>,
        target: &Extension,
        destination: Option<&Extension>,
        timeout: Duration,
    ) -> Vec<Step> {
        use Half::{One, Two};
        use Step::*;
        let Some(agent) = agent else {
            // Asterisk writes the OriginateResponse before or after the `;1` Hangup from one
            // run to the next; after is the more frequent.
            return vec![
                Newchannel(One),
                Newchannel(Two),
                Hangup(Two, 0),
                Hangup(One, 0),
                Outcome(Reason::Failed),
            ];
        };
        let mut steps = vec![
            Newchannel(One),
            Newchannel(Two),
            LocalBridge(One),
            Dial("DialBegin", None),
        ];
        match agent.behaviour {
            Behaviour::Answer if target.behaviour == Behaviour::Dial => {
                steps.extend([
                    Newstate(Two, State::Up),
                    Newstate(One, State::Up),
                    Dial("DialEnd", Some("ANSWER")),
                    EnterTarget,
                    Outcome(Reason::Answered),
                ]);
                steps.extend(Dialplan::dial(agent, target, destination));
            }
            Behaviour::Answer => {
                steps.extend([
                    Newstate(Two, State::Up),
                    Priority(Two, 2),
                    Newstate(One, State::Up),
                    Dial("DialEnd", Some("ANSWER")),
                    EnterTarget,
                    Outcome(Reason::Answered),
                ]);
                let destination_waits =
                    matches!(target.behaviour, Behaviour::Answer | Behaviour::Ring);
                if destination_waits {
                    steps.push(Priority(One, 2));
                }
                if agent.duration() < target.duration() {
                    // The agent's Wait() ends first and its Hangup() ends the call.
                    steps.extend([
                        Wait(agent.duration(), OnHangup::RunOn),
                        Priority(Two, 3),
                        SoftHangupRequest(Two, 16),
                        HangupRequest(One, 16),
                        Hangup(Two, 16),
                        SoftHangupRequest(One, 16),
                        Hangup(One, 16),
                    ]);
                } else if destination_waits {
                    steps.extend([
                        Wait(target.duration(), OnHangup::RunOn),
                        Priority(One, 3),
                        SoftHangupRequest(One, 16),
                        HangupRequest(Two, 16),
                        SoftHangupRequest(Two, 16),
                        Hangup(Two, 16),
                        Hangup(One, 16),
                    ]);
                } else {
                    steps.extend([
                        Wait(target.duration(), OnHangup::RunOn),
                        SoftHangupRequest(One, 16),
                        HangupRequest(Two, 0),
                        SoftHangupRequest(Two, 16),
                        Hangup(Two, 0),
                        Hangup(One, 0),
                    ]);
                }
            }
            Behaviour::Ring => {
                steps.extend([
                    Newstate(One, State::Ringing),
                    Priority(Two, 2),
                    Dial("DialState", Some("RINGING")),
                ]);
                if timeout <= agent.duration() {
                    steps.extend([
                        Wait(timeout, OnHangup::AgentRinging),
                        HangupRequest(Two, 19),
                        Outcome(Reason::NoAnswer),
                        Hangup(One, 19),
                        SoftHangupRequest(Two, 16),
                        Hangup(Two, 19),
                    ]);
                } else {
                    // The agent's Wait() ends first and its channel falls off the dialplan.
                    steps.extend([
                        Wait(agent.duration(), OnHangup::AgentRinging),
                        SoftHangupRequest(Two, 16),
                        HangupRequest(One, 0),
                        Priority(Two, 3),
                        Hangup(Two, 0),
                        Dial("DialEnd", Some("NOANSWER")),
                        Hangup(One, 0),
                        Outcome(Reason::Failed),
                    ]);
                }
            }
            Behaviour::Busy => steps.extend([
                Newstate(Two, State::Busy),
                Dial("DialEnd", Some("BUSY")),
                HangupRequest(Two, 0),
                SoftHangupRequest(Two, 16),
                Hangup(Two, 17),
                Outcome(Reason::Busy),
                Hangup(One, 0),
            ]),
            // An agent's Local channel running `Dial()` is not simulated: it fails like a
            // congested agent.
            Behaviour::Congestion | Behaviour::Dial => steps.extend([
                Dial("DialEnd", Some("CONGESTION")),
                Newstate(Two, State::Busy),
                HangupRequest(Two, 0),
                Hangup(One, 0),
                SoftHangupRequest(Two, 16),
                Hangup(Two, 34),
                Outcome(Reason::Congestion),
            ]),
        }
        steps
    }

    /// The timeline of the answered agent's `;1` running `Dial()` (`target`) to
    /// `destination`, until every channel hung up; the agent's own hold ends it early.
    fn dial(agent: &Extension, target: &Extension, destination: Option<&Extension>) -> Vec<Step> {
        use Half::{DestOne, DestTwo, One, Two};
        use Step::*;
        /// The agent's `;1` leaves `Dial()` for `Hangup()`, which ends both agent halves.
        const AGENT_HANGS_UP: [Step; 6] = [
            Priority(One, 2),
            SoftHangupRequest(One, 16),
            HangupRequest(Two, 16),
            Hangup(One, 16),
            SoftHangupRequest(Two, 16),
            Hangup(Two, 16),
        ];
        let Some(destination) = destination else {
            // Asterisk cannot create the Local channel: `Dial()` ends without any event.
            return AGENT_HANGS_UP.to_vec();
        };
        let mut steps = vec![
            Newchannel(DestOne),
            Newchannel(DestTwo),
            NewCallerid(DestOne),
            NewConnectedLine(DestTwo),
            LocalBridge(DestOne),
            DestDial("DialBegin", None),
        ];
        match destination.behaviour {
            Behaviour::Answer => {
                steps.extend([
                    Newstate(DestTwo, State::Up),
                    Newstate(DestOne, State::Up),
                    ClearExten(DestOne),
                    DestDial("DialEnd", Some("ANSWER")),
                    Bridge("BridgeCreate", None),
                    Bridge("BridgeEnter", Some(DestOne)),
                    Bridge("BridgeEnter", Some(One)),
                    Priority(Two, 2),
                    Priority(DestTwo, 2),
                    // Were the agent's hold to end first, the call would end the same way
                    // (not recorded).
                    Wait(
                        destination.duration().min(agent.duration()),
                        OnHangup::RunOn,
                    ),
                    Priority(DestTwo, 3),
                    SoftHangupRequest(DestTwo, 16),
                    HangupRequest(DestOne, 16),
                    Hangup(DestTwo, 16),
                    Bridge("BridgeLeave", Some(DestOne)),
                    Hangup(DestOne, 16),
                    Bridge("BridgeLeave", Some(One)),
                    Bridge("BridgeDestroy", None),
                    SoftHangupRequest(One, 16),
                    HangupRequest(Two, 16),
                    Hangup(One, 16),
                    SoftHangupRequest(Two, 16),
                    Hangup(Two, 16),
                ]);
            }
            Behaviour::Ring => {
                steps.extend([
                    Newstate(DestOne, State::Ringing),
                    DestDial("DialState", Some("RINGING")),
                    Priority(Two, 2),
                    Priority(DestTwo, 2),
                ]);
                let rings = target.duration().min(destination.duration());
                if agent.duration() < rings {
                    // The agent hangs up while the destination rings (not recorded: as a
                    // `Hangup` action would).
                    steps.push(Wait(agent.duration(), OnHangup::Dialing));
                    steps.extend(OnHangup::Dialing.steps(16).unwrap_or_default());
                    return steps;
                }
                steps.extend([
                    Wait(rings, OnHangup::Dialing),
                    DestDial("DialEnd", Some("NOANSWER")),
                    HangupRequest(DestTwo, 0),
                    SoftHangupRequest(DestTwo, 16),
                    Hangup(DestOne, 0),
                    Hangup(DestTwo, 0),
                ]);
                steps.extend(AGENT_HANGS_UP);
            }
            Behaviour::Busy => steps.extend([
                DestDial("DialEnd", Some("BUSY")),
                HangupRequest(DestTwo, 0),
                Hangup(DestOne, 0),
                Priority(One, 2),
                SoftHangupRequest(One, 16),
                HangupRequest(Two, 16),
                SoftHangupRequest(Two, 16),
                Newstate(DestTwo, State::Busy),
                Hangup(Two, 16),
                SoftHangupRequest(DestTwo, 16),
                Hangup(DestTwo, 17),
                Hangup(One, 16),
            ]),
            // A destination that dials again is refused by `Config::validate`; were one
            // planned, it would end like a congested one.
            Behaviour::Congestion | Behaviour::Dial => {
                steps.extend([
                    Newstate(DestTwo, State::Busy),
                    DestDial("DialEnd", Some("CONGESTION")),
                    HangupRequest(DestTwo, 0),
                    Hangup(DestOne, 0),
                    SoftHangupRequest(DestTwo, 16),
                    Hangup(DestTwo, 34),
                ]);
                steps.extend(AGENT_HANGS_UP);
            }
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn asterisk_patterns() {
        for (pattern, exten, expected) in [
            ("_1[0-8]", "10", true),
            ("_1[0-8]", "18", true),
            ("_1[0-8]", "19", false),
            ("_1[0-8]", "1", false),
            ("_9000X", "90001", true),
            ("_9000X", "900012", false),
            ("_X.", "93200900", true),
            ("_X.", "9", false),
            ("_X.", "+34", false),
            ("_+X.", "+34932009000", true),
            ("_NXX", "200", true),
            ("_NXX", "100", false),
            ("_Z!", "1", true),
            ("_[13-5]", "4", true),
            ("_[13-5]", "2", false),
            ("_[0-", "0", false),
            ("19", "19", true),
            ("19", "_19", false),
        ] {
            assert_eq!(matches(pattern, exten), expected, "{pattern} ~ {exten}");
        }
    }

    #[test]
    fn the_default_dialplan_reaches_the_readme_behaviours() {
        let plan = Dialplan::new(Config::default().extensions);
        let behaviour = |ctx, exten| plan.lookup(ctx, exten).map(|e| e.behaviour);
        assert_eq!(behaviour("agents", "10"), Some(Behaviour::Answer));
        assert_eq!(behaviour("agents", "19"), Some(Behaviour::Ring));
        assert_eq!(behaviour("agents", "20"), Some(Behaviour::Busy));
        assert_eq!(behaviour("agents", "21"), None);
        assert_eq!(
            behaviour("extensiones-locales", "90003"),
            Some(Behaviour::Busy)
        );
        assert_eq!(
            behaviour("extensiones-locales", "90017"),
            Some(Behaviour::Congestion)
        );
        assert_eq!(
            behaviour("extensiones-locales", "+34932009000"),
            Some(Behaviour::Answer)
        );
        assert_eq!(behaviour("extensiones-locales", "abc"), None);
        assert_eq!(behaviour("nonexistent", "93200900"), None);
    }

    #[test]
    fn a_ringing_agent_rings_until_the_shorter_of_timeout_and_ring() {
        let ring = Extension::new("agents", "19", Behaviour::Ring, 120);
        let steps = Dialplan::plan(Some(&ring), &ring, None, Duration::from_secs(3));
        assert!(steps.contains(&Step::Wait(Duration::from_secs(3), OnHangup::AgentRinging)));
        assert!(steps.contains(&Step::Outcome(Reason::NoAnswer)));
    }
}

//! The Originate action: its headers checked as Asterisk checks them, then the call run
//! step by step on its own task, publishing events and reporting the outcome.

use std::collections::VecDeque;
use std::time::Duration;

use clickdial_ami::Message;
use tokio::sync::oneshot;

use crate::channels::{self, Half, LocalPair, OriginateOutcome};
use crate::dialplan::{Behaviour, Dialplan, Extension, Reason, Step};
use crate::pbx::{LiveChannel, Pbx};

/// Asterisk's default ring timeout for an Originate without `Timeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the originated channel goes once answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `Context`, `Exten` (priority 1).
    Extension { context: String, exten: String },
    /// `Application`, `Data`.
    Application { application: String, data: String },
}

/// A checked Originate.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    action_id: Option<String>,
    channel: String,
    target: Target,
    timeout: Duration,
    channel_id: Option<String>,
    other_channel_id: Option<String>,
    asynchronous: bool,
}

/// A non-empty header value.
fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message.get(name).filter(|v| !v.is_empty())
}

/// Whether an AMI boolean header is true (`true`, `yes`, `1`, `on`, `y`, `t`).
fn is_true(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        ["true", "yes", "1", "on", "y", "t"]
            .iter()
            .any(|t| v.eq_ignore_ascii_case(t))
    })
}

impl Request {
    /// Reads an Originate action; the error is the `Message` of Asterisk's refusal.
    pub(crate) fn parse(message: &Message) -> Result<Request, &'static str> {
        let channel = header(message, "Channel").ok_or("Channel not specified")?;
        if header(message, "Priority").is_some_and(|p| p.trim().parse::<i32>().is_err()) {
            return Err("Invalid priority");
        }
        let timeout = match header(message, "Timeout") {
            None => DEFAULT_TIMEOUT,
            Some(t) => {
                let ms: i64 = t.trim().parse().map_err(|_| "Invalid timeout")?;
                Duration::from_millis(ms.max(0) as u64)
            }
        };
        if !channel.contains('/') {
            return Err("Invalid channel");
        }
        let target = match (
            header(message, "Application"),
            header(message, "Context"),
            header(message, "Exten"),
        ) {
            (Some(application), _, _) => Target::Application {
                application: application.to_owned(),
                data: message.get("Data").unwrap_or("").to_owned(),
            },
            (None, Some(context), Some(exten)) => Target::Extension {
                context: context.to_owned(),
                exten: exten.to_owned(),
            },
            _ => return Err("Extension does not exist."),
        };
        if let Target::Extension { .. } = target
            && header(message, "Priority").is_some_and(|p| p.trim() != "1")
        {
            return Err("Extension does not exist.");
        }
        Ok(Request {
            action_id: message.action_id().map(str::to_owned),
            channel: channel.to_owned(),
            target,
            timeout,
            channel_id: header(message, "ChannelId").map(str::to_owned),
            other_channel_id: header(message, "OtherChannelId").map(str::to_owned),
            asynchronous: is_true(message.get("Async")),
        })
    }

    /// The `(Context, Exten)` or `(Application, Data)` headers of `OriginateResponse`.
    fn target_headers(&self) -> [(&str, &str); 2] {
        match &self.target {
            Target::Extension { context, exten } => [("Context", context), ("Exten", exten)],
            Target::Application { application, data } => {
                [("Application", application), ("Data", data)]
            }
        }
    }
}

/// An Originate accepted by the dialplan, ready to run.
#[derive(Debug)]
pub(crate) struct Call {
    request: Request,
    pair: Option<LocalPair>,
    steps: Vec<Step>,
}

impl Call {
    /// Checks the target against the dialplan and plans the call; the error is the
    /// `Message` of Asterisk's refusal.
    pub(crate) fn plan(pbx: &Pbx, request: Request) -> Result<Call, &'static str> {
        let target = match &request.target {
            Target::Extension { context, exten } => pbx
                .dialplan()
                .lookup(context, exten)
                .cloned()
                .ok_or("Extension does not exist.")?,
            Target::Application { application, data } => Extension::new(
                "",
                "",
                Behaviour::Answer,
                if application.eq_ignore_ascii_case("Wait") {
                    data.trim()
                        .parse::<f64>()
                        .map_or(0, |s| s.max(0.0).round() as u64)
                } else {
                    0
                },
            ),
        };
        let Some(local) = request.channel.strip_prefix("Local/") else {
            // Only Local channels exist here: any other technology fails to be called.
            return Ok(Call {
                request,
                pair: None,
                steps: vec![Step::Outcome(Reason::Failed)],
            });
        };
        let local = local.split('/').next().unwrap_or(local);
        let (exten, context) = local.split_once('@').unwrap_or((local, "default"));
        let agent = pbx.dialplan().lookup(context, exten);
        let dialed = match (&target.dial, &request.target) {
            (Some(dial_context), Target::Extension { exten, .. }) => Some((
                dial_context.clone(),
                exten.clone(),
                pbx.dialplan().lookup(dial_context, exten),
            )),
            _ => None,
        };
        let destination = dialed.as_ref().and_then(|(_, _, d)| *d);
        let steps = Dialplan::plan(agent, &target, destination, request.timeout);
        let uniqueids = match &request.channel_id {
            Some(id) => (
                id.clone(),
                request
                    .other_channel_id
                    .clone()
                    .unwrap_or_else(|| format!("{id};2")),
            ),
            None => (pbx.next_uniqueid(), pbx.next_uniqueid()),
        };
        let target_location = match &request.target {
            Target::Extension { context, exten } => (context.clone(), exten.clone()),
            Target::Application { .. } => (String::new(), String::new()),
        };
        let mut pair = LocalPair::new(pbx.next_pair(), exten, context, uniqueids, target_location);
        let dials = steps
            .iter()
            .any(|s| matches!(s, Step::Newchannel(Half::DestOne)));
        if let Some((dial_context, dial_exten, _)) = dialed.filter(|_| dials) {
            let uniqueids = (pbx.next_uniqueid(), pbx.next_uniqueid());
            pair = pair.with_destination(pbx.next_pair(), &dial_exten, &dial_context, uniqueids);
        }
        Ok(Call {
            request,
            pair: Some(pair),
            steps,
        })
    }

    /// Whether the Originate was sent with `Async: true`.
    pub(crate) fn asynchronous(&self) -> bool {
        self.request.asynchronous
    }

    /// Runs the call: waits scaled by the speed, publishes its events and sends the outcome
    /// to `outcome` (a synchronous Originate) or as `OriginateResponse` (an async one). The
    /// originated channel can be hung up (the `Hangup` action) from its `Newchannel` to its
    /// `Hangup`.
    pub(crate) async fn run(mut self, pbx: &Pbx, mut outcome: Option<oneshot::Sender<Reason>>) {
        let mut steps: VecDeque<Step> = std::mem::take(&mut self.steps).into();
        let mut live: Option<LiveChannel<'_>> = None;
        while let Some(step) = steps.pop_front() {
            if let Step::Wait(duration, on_hangup) = step {
                let sleep = tokio::time::sleep(pbx.config().scaled(duration));
                let hung_up = match &mut live {
                    Some(channel) => tokio::select! {
                        () = sleep => None,
                        cause = channel.hangup_requested() => Some(cause),
                    },
                    None => {
                        sleep.await;
                        None
                    }
                };
                if let Some(replacement) = hung_up.and_then(|cause| on_hangup.steps(cause)) {
                    steps = replacement.into();
                }
                continue;
            }
            if let Step::Outcome(reason) = step {
                match outcome.take() {
                    Some(tx) => {
                        let _ = tx.send(reason);
                    }
                    None if self.request.asynchronous => pbx.publish(self.response(reason)),
                    None => {}
                }
                continue;
            }
            let Some(pair) = &mut self.pair else {
                continue;
            };
            let event = match step {
                Step::Newchannel(half) => {
                    if half == Half::One {
                        live =
                            Some(pbx.register_channel(
                                pair.originated_name(),
                                pair.originated_uniqueid(),
                            ));
                    }
                    Some(pair.newchannel(half))
                }
                Step::LocalBridge(one) => Some(pair.local_bridge(one)),
                Step::Dial(name, status) => Some(pair.dial(name, status)),
                Step::DestDial(name, status) => Some(pair.dest_dial(name, status)),
                Step::NewCallerid(half) => Some(pair.new_caller_id(half)),
                Step::NewConnectedLine(half) => Some(pair.new_connected_line(half)),
                Step::ClearExten(half) => {
                    pair.clear_exten(half);
                    None
                }
                Step::Bridge(name, half) => Some(pair.bridge(name, half, &pbx.new_bridge_id())),
                Step::Newstate(half, state) => {
                    pair.set_state(half, state);
                    Some(pair.newstate(half))
                }
                Step::Priority(half, priority) => {
                    pair.set_priority(half, priority);
                    None
                }
                Step::EnterTarget => {
                    pair.enter_target();
                    None
                }
                Step::HangupRequest(half, cause) => {
                    Some(pair.hangup_request("HangupRequest", half, cause))
                }
                Step::SoftHangupRequest(half, cause) => {
                    Some(pair.hangup_request("SoftHangupRequest", half, cause))
                }
                Step::Hangup(half, cause) => {
                    if half == Half::One {
                        // Gone from Asterisk's channel list: a `Hangup` now finds nothing.
                        live = None;
                    }
                    Some(pair.hangup(half, cause))
                }
                Step::Wait(..) | Step::Outcome(_) => None,
            };
            if let Some(event) = event {
                pbx.publish(event);
            }
        }
    }

    /// The `OriginateResponse` for `reason`.
    fn response(&self, reason: Reason) -> Message {
        let success = reason == Reason::Answered;
        let answered = self.pair.as_ref().filter(|_| success);
        channels::originate_response(&OriginateOutcome {
            action_id: self.request.action_id.as_deref(),
            success,
            channel: answered.map_or(self.request.channel.as_str(), |p| p.originated_name()),
            target: self.request.target_headers(),
            reason: reason as u8,
            // A failed call names the ChannelId it was given, if its channel was created.
            uniqueid: match (answered, &self.pair) {
                (Some(pair), _) => pair.originated_uniqueid(),
                (None, Some(_)) => self.request.channel_id.as_deref().unwrap_or("<unknown>"),
                (None, None) => "<unknown>",
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The halves hung up, in order.
    fn halves(steps: &[Step]) -> Vec<Half> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Hangup(h, _) => Some(*h),
                _ => None,
            })
            .collect()
    }

    fn originate(headers: &[(&str, &str)]) -> Result<Request, &'static str> {
        let mut all = vec![("Action", "Originate")];
        all.extend_from_slice(headers);
        Request::parse(&Message::from_headers(all))
    }

    #[test]
    fn headers_are_checked_with_asterisks_messages() {
        assert_eq!(originate(&[]).unwrap_err(), "Channel not specified");
        let base = [
            ("Channel", "Local/10@agents"),
            ("Context", "extensiones-locales"),
            ("Exten", "93200900"),
        ];
        let with = |extra: (&'static str, &'static str)| {
            let mut h = base.to_vec();
            h.push(extra);
            originate(&h)
        };
        assert_eq!(with(("Priority", "x")).unwrap_err(), "Invalid priority");
        assert_eq!(with(("Timeout", "abc")).unwrap_err(), "Invalid timeout");
        assert_eq!(
            with(("Priority", "2")).unwrap_err(),
            "Extension does not exist."
        );
        let ok = with(("Async", "yes")).unwrap();
        assert!(ok.asynchronous);
        assert_eq!(ok.timeout, DEFAULT_TIMEOUT);
        assert_eq!(
            originate(&[("Channel", "nonsense")]).unwrap_err(),
            "Invalid channel"
        );
        let app = originate(&[
            ("Channel", "Local/10@agents"),
            ("Application", "Wait"),
            ("Data", "1"),
        ])
        .unwrap();
        assert_eq!(
            app.target_headers(),
            [("Application", "Wait"), ("Data", "1")]
        );
    }

    #[test]
    fn a_missing_agent_hangs_up_both_halves() {
        let steps = Dialplan::plan(
            None,
            &Extension::new("c", "1", Behaviour::Answer, 1),
            None,
            DEFAULT_TIMEOUT,
        );
        assert_eq!(halves(&steps), [Half::Two, Half::One]);
    }
}

//! The calls the gateway started: their fixed facts and live progress, shared by the
//! `GET /v1/calls/{id}` answer and any number of SSE subscribers.
//!
//! Progress lives in a `watch` channel per call: subscribers see the latest step without a
//! queue of their own, so ten thousand of them cost one slot each. Ended calls stay for
//! [`RETENTION`], then only the audit log knows them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clickdial_ami::{CallEnd, CallProgress, EndReason, Leg};
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use crate::audit::CallRecord;

/// How long an ended call stays in memory.
pub const RETENTION: Duration = Duration::from_secs(3600);

/// The most calls kept in memory; beyond it the oldest ended calls are dropped early.
const MAX_CALLS: usize = 100_000;

/// Where a call stands, as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CallState {
    /// Accepted, Asterisk is about to ring the agent.
    Queued,
    /// The agent's phone rings.
    AgentRinging,
    /// The agent answered.
    AgentAnswered,
    /// The destination is being dialed.
    DestinationRinging,
    /// Agent and destination are talking.
    Connected,
    /// Over; see `reason`.
    Ended,
}

/// Why a call ended, as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The call was answered and has since been hung up.
    Answered,
    /// The leg was busy.
    Busy,
    /// The leg was not answered in time.
    NoAnswer,
    /// The network was congested or the leg unreachable.
    Congestion,
    /// Asterisk reported a failure (see `detail`).
    Failed,
    /// The gateway lost track of the call (AMI connection lost); it may still be going on.
    Lost,
}

impl Reason {
    /// Every reason, in declaration order.
    const ALL: [Reason; 6] = [
        Reason::Answered,
        Reason::Busy,
        Reason::NoAnswer,
        Reason::Congestion,
        Reason::Failed,
        Reason::Lost,
    ];

    /// The reason with this API name (as the audit log stores it).
    pub fn named(name: &str) -> Option<Reason> {
        Reason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == name)
    }

    /// The reason's name in the API (`no-answer`, ...), for metrics and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Answered => "answered",
            Reason::Busy => "busy",
            Reason::NoAnswer => "no-answer",
            Reason::Congestion => "congestion",
            Reason::Failed => "failed",
            Reason::Lost => "lost",
        }
    }
}

/// Which leg a reason belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    /// The agent's own phone.
    Agent,
    /// The number being called.
    Destination,
}

/// One step of a call: its state and, once ended, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Progress {
    /// Where the call stands.
    pub state: CallState,
    /// Why it ended (only when `state` is `ended`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// Whose leg the reason belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<Party>,
    /// Asterisk's own words for a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Progress {
    /// The first step of every call.
    pub fn queued() -> Progress {
        Progress::at(CallState::Queued)
    }

    fn at(state: CallState) -> Progress {
        Progress {
            state,
            reason: None,
            party: None,
            detail: None,
        }
    }

    /// An ended call.
    pub fn ended(reason: Reason, party: Option<Party>, detail: Option<String>) -> Progress {
        Progress {
            state: CallState::Ended,
            reason: Some(reason),
            party,
            detail,
        }
    }

    /// Whether nothing follows this step.
    pub fn is_end(&self) -> bool {
        self.state == CallState::Ended
    }
}

impl From<&CallProgress> for Progress {
    fn from(step: &CallProgress) -> Progress {
        match step {
            CallProgress::Queued => Progress::queued(),
            CallProgress::AgentRinging => Progress::at(CallState::AgentRinging),
            CallProgress::AgentAnswered => Progress::at(CallState::AgentAnswered),
            CallProgress::DestinationRinging => Progress::at(CallState::DestinationRinging),
            CallProgress::Connected => Progress::at(CallState::Connected),
            CallProgress::Ended(CallEnd { leg, reason }) => {
                let party = Some(match leg {
                    Leg::Agent => Party::Agent,
                    Leg::Destination => Party::Destination,
                });
                let (reason, detail) = match reason {
                    EndReason::Answered => (Reason::Answered, None),
                    EndReason::Busy => (Reason::Busy, None),
                    EndReason::NoAnswer => (Reason::NoAnswer, None),
                    EndReason::Congestion => (Reason::Congestion, None),
                    EndReason::Failed { text, cause } => (
                        Reason::Failed,
                        Some(match cause {
                            Some(cause) => format!("{text} (cause {cause})"),
                            None => text.clone(),
                        }),
                    ),
                    EndReason::Lost(why) => (Reason::Lost, Some(why.clone())),
                };
                Progress::ended(reason, party, detail)
            }
        }
    }
}

/// A call as `POST /v1/calls` and `GET /v1/calls/{id}` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CallView {
    /// The call's id.
    pub id: String,
    /// The agent's extension, which rings first.
    pub from: String,
    /// The dial string handed to Asterisk.
    pub to: String,
    /// What the client asked to dial.
    pub requested: String,
    /// When the request arrived, in milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// The latest step.
    #[serde(flatten)]
    pub progress: Progress,
}

impl CallView {
    /// A call that left memory, rebuilt from its audit record.
    pub fn from_record(record: &CallRecord) -> CallView {
        let r = &record.request;
        let progress = match (&record.outcome, &r.refusal) {
            (_, Some(refusal)) => Progress::ended(Reason::Failed, None, Some(refusal.clone())),
            (Some(outcome), None) => {
                let reason = Reason::named(outcome).unwrap_or(Reason::Failed);
                Progress::ended(reason, None, record.outcome_detail.clone())
            }
            // The gateway stopped before the call's end was recorded.
            (None, None) => Progress::ended(
                Reason::Lost,
                None,
                Some("the gateway restarted before this call's outcome was known".to_owned()),
            ),
        };
        CallView {
            id: r.id.clone(),
            from: r.extension.clone(),
            to: r.dialed.clone().unwrap_or_default(),
            requested: r.requested.clone(),
            created_ms: r.received_ms,
            progress,
        }
    }
}

/// One step of a call as SSE subscribers get it: serialized once when it is published, so
/// ten thousand subscribers share one JSON text instead of serializing it each.
#[derive(Debug, Clone)]
pub struct Step {
    /// The step.
    pub progress: Progress,
    /// The step as JSON, the `data` of its SSE event.
    pub json: Arc<str>,
}

impl Step {
    /// Serializes `progress` once.
    pub fn new(progress: Progress) -> Step {
        let json = serde_json::to_string(&progress)
            .expect("progress serializes")
            .into();
        Step { progress, json }
    }
}

/// A live call: who owns it and every step so far.
///
/// The steps sit in one `watch` channel: subscribers are woken on each new step and read the
/// ones they have not sent yet, so none is skipped and none is copied per subscriber.
pub struct CallEntry {
    /// The owning agent's name (others get 404).
    pub agent: String,
    /// The facts fixed at creation, with the progress at creation.
    pub view: CallView,
    steps: watch::Sender<Vec<Step>>,
}

impl CallEntry {
    /// The call as it stands now.
    pub fn current(&self) -> CallView {
        let latest = self.steps.borrow().last().map(|step| step.progress.clone());
        CallView {
            progress: latest.unwrap_or_else(|| self.view.progress.clone()),
            ..self.view.clone()
        }
    }

    /// A receiver woken on every new step; read the steps with `borrow`.
    pub fn subscribe(&self) -> watch::Receiver<Vec<Step>> {
        self.steps.subscribe()
    }

    /// Appends a step and wakes every subscriber.
    pub fn publish(&self, step: Progress) {
        let step = Step::new(step);
        self.steps.send_modify(|steps| steps.push(step));
    }
}

/// Every call in memory, by id.
#[derive(Default)]
pub struct Calls {
    inner: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    by_id: HashMap<String, Arc<CallEntry>>,
    ended: VecDeque<(Instant, String)>,
}

impl Calls {
    /// Adds a new call in the `queued` state.
    pub fn insert(&self, agent: &str, view: CallView) -> Arc<CallEntry> {
        let (steps, _) = watch::channel(vec![Step::new(view.progress.clone())]);
        let entry = Arc::new(CallEntry {
            agent: agent.to_owned(),
            view,
            steps,
        });
        let mut table = self.inner.lock().expect("calls lock poisoned");
        let now = Instant::now();
        while let Some((at, id)) = table.ended.front() {
            if now.duration_since(*at) < RETENTION && table.by_id.len() < MAX_CALLS {
                break;
            }
            let id = id.clone();
            table.by_id.remove(&id);
            table.ended.pop_front();
        }
        table.by_id.insert(entry.view.id.clone(), entry.clone());
        entry
    }

    /// Marks a call as ended, starting its retention period.
    pub fn ended(&self, id: &str) {
        let mut table = self.inner.lock().expect("calls lock poisoned");
        table.ended.push_back((Instant::now(), id.to_owned()));
    }

    /// The call with this id, if still in memory.
    pub fn get(&self, id: &str) -> Option<Arc<CallEntry>> {
        self.inner
            .lock()
            .expect("calls lock poisoned")
            .by_id
            .get(id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str) -> CallView {
        CallView {
            id: id.into(),
            from: "10".into(),
            to: "0932009000".into(),
            requested: "+34 932 00 90 00".into(),
            created_ms: 1,
            progress: Progress::queued(),
        }
    }

    #[test]
    fn progress_maps_ami_steps_and_serializes_kebab_case() {
        let busy = Progress::from(&CallProgress::Ended(CallEnd {
            leg: Leg::Agent,
            reason: EndReason::NoAnswer,
        }));
        assert_eq!(
            serde_json::to_value(&busy).unwrap(),
            serde_json::json!({"state": "ended", "reason": "no-answer", "party": "agent"})
        );
        let failed = Progress::from(&CallProgress::Ended(CallEnd {
            leg: Leg::Destination,
            reason: EndReason::Failed {
                text: "Unallocated number".into(),
                cause: Some(1),
            },
        }));
        assert_eq!(
            failed.detail.as_deref(),
            Some("Unallocated number (cause 1)")
        );
        let ringing = Progress::from(&CallProgress::DestinationRinging);
        assert_eq!(
            serde_json::to_value(&ringing).unwrap(),
            serde_json::json!({"state": "destination-ringing"})
        );
    }

    #[test]
    fn subscribers_see_published_steps() {
        let calls = Calls::default();
        let entry = calls.insert("ana", view("c1"));
        let mut rx = entry.subscribe();
        entry.publish(Progress::from(&CallProgress::Connected));
        assert!(rx.has_changed().unwrap());
        let states: Vec<_> = rx
            .borrow_and_update()
            .iter()
            .map(|step| step.progress.state)
            .collect();
        assert_eq!(states, [CallState::Queued, CallState::Connected]);
        assert_eq!(
            &*rx.borrow().last().unwrap().json,
            r#"{"state":"connected"}"#
        );
        assert_eq!(
            calls.get("c1").unwrap().current().progress.state,
            CallState::Connected
        );
        let json = serde_json::to_value(calls.get("c1").unwrap().current()).unwrap();
        assert_eq!(json["state"], "connected");
        assert_eq!(json["to"], "0932009000");
        assert!(calls.get("c2").is_none());
    }
}

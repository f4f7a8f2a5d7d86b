//! What the UI, the tray and the notifications are told about the call in progress.

use clickdial_agent::Outcome;
use clickdial_connect::{CallEnd, CallProgress, EndReason, Leg};
use serde::Serialize;

use crate::i18n::{Catalogue, Lang};

/// The stage of the current call, as the `call-progress` event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The number is shown and can still be cancelled before it is dialed.
    Preview,
    /// Asterisk accepted the call and is about to ring the agent.
    Queued,
    /// The agent's phone rings.
    AgentRinging,
    /// The agent picked up; the destination is being dialed.
    AgentAnswered,
    /// The destination rings.
    DestinationRinging,
    /// Agent and destination talk.
    Connected,
    /// Over; `outcome` says how.
    Ended,
}

/// The call as the `call-progress` event and the `call_status` command describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallStatus {
    /// The app's id for this call.
    pub id: String,
    /// The number as the agent reads it, e.g. `932 00 90 00`.
    pub number: String,
    /// What is (or would be) dialed.
    pub destination: String,
    /// The stage.
    pub state: Stage,
    /// The stage in the agent's language, e.g. "Ringing your phone (10)…".
    pub text: String,
    /// Whether Hang up (or Cancel, in the preview) can stop the call now.
    pub can_hangup: bool,
    /// Whether nothing follows.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// How it ended: `answered`, `busy`, `no_answer`, `congestion`, `failed`, `cancelled`,
    /// `lost`.
    pub outcome: Option<&'static str>,
}

/// The stage a progress step leads to.
pub fn stage_of(step: &CallProgress) -> Stage {
    match step {
        CallProgress::Queued => Stage::Queued,
        CallProgress::AgentRinging => Stage::AgentRinging,
        CallProgress::AgentAnswered => Stage::AgentAnswered,
        CallProgress::DestinationRinging => Stage::DestinationRinging,
        CallProgress::Connected => Stage::Connected,
        CallProgress::Ended(_) => Stage::Ended,
    }
}

/// The text for a stage that is not the end.
pub fn stage_text(
    catalogue: &Catalogue,
    lang: Lang,
    stage: Stage,
    number: &str,
    extension: &str,
    preview_secs: u32,
) -> String {
    let vars = [
        ("number", number),
        ("extension", extension),
        ("secs", &preview_secs.to_string()),
    ];
    let key = match stage {
        Stage::Preview => "progress.preview",
        Stage::Queued => "progress.queued",
        Stage::AgentRinging => "progress.agent_ringing",
        Stage::AgentAnswered => "progress.agent_answered",
        Stage::DestinationRinging => "progress.destination_ringing",
        Stage::Connected => "progress.connected",
        Stage::Ended => "outcome.answered",
    };
    catalogue.text(lang, key, &vars)
}

/// The history outcome of a call's end.
pub fn outcome_of(end: &CallEnd) -> Outcome {
    match &end.reason {
        EndReason::Answered => Outcome::Answered,
        EndReason::Busy => Outcome::Busy,
        EndReason::NoAnswer => Outcome::NoAnswer,
        EndReason::Congestion => Outcome::Congestion,
        EndReason::Failed { text, .. } => Outcome::Failed { text: text.clone() },
        EndReason::Lost(text) => Outcome::Lost { text: text.clone() },
    }
}

/// The text for how a call ended; `leg` tells "your phone is busy" from "busy".
pub fn outcome_text(catalogue: &Catalogue, lang: Lang, outcome: &Outcome, leg: Leg) -> String {
    let agent = leg == Leg::Agent;
    let (key, text) = match outcome {
        Outcome::Answered => ("outcome.answered", ""),
        Outcome::Busy if agent => ("outcome.agent_busy", ""),
        Outcome::Busy => ("outcome.busy", ""),
        Outcome::NoAnswer if agent => ("outcome.agent_no_answer", ""),
        Outcome::NoAnswer => ("outcome.no_answer", ""),
        Outcome::Congestion => ("outcome.congestion", ""),
        Outcome::Failed { text } => ("outcome.failed", text.as_str()),
        Outcome::Cancelled => ("outcome.cancelled", ""),
        Outcome::Lost { text } => ("outcome.lost", text.as_str()),
    };
    catalogue.text(lang, key, &[("text", text)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issues_wording_is_what_agents_read() {
        let cat = Catalogue::builtin();
        let text = |stage| stage_text(&cat, Lang::En, stage, "932 00 90 00", "10", 3);
        assert_eq!(text(Stage::AgentRinging), "Ringing your phone (10)…");
        assert_eq!(text(Stage::DestinationRinging), "Calling 932 00 90 00…");
        assert_eq!(text(Stage::Connected), "Connected");
        assert_eq!(text(Stage::Preview), "Calling 932 00 90 00 in 3 s…");
        let end = |outcome: Outcome, leg| outcome_text(&cat, Lang::En, &outcome, leg);
        assert_eq!(end(Outcome::Busy, Leg::Destination), "Busy");
        assert_eq!(
            end(Outcome::NoAnswer, Leg::Agent),
            "No answer from your phone"
        );
        let failed = Outcome::Failed {
            text: "Unallocated (cause 1)".into(),
        };
        assert_eq!(end(failed, Leg::Agent), "Failed: Unallocated (cause 1)");
        assert_eq!(
            outcome_text(&cat, Lang::Es, &Outcome::NoAnswer, Leg::Agent),
            "Tu teléfono no contesta"
        );
    }
}

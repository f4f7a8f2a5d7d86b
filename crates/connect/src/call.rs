//! A call the desktop app started: its progress, and a way to hang it up.

use clickdial_ami::{Action, CallProgress, Client, Error, Value};
use tokio::sync::mpsc;

use crate::error::HangupError;

/// A started call. Progress steps arrive in order and end with [`CallProgress::Ended`].
#[derive(Debug)]
pub struct ActiveCall {
    id: String,
    dialed: String,
    steps: mpsc::UnboundedReceiver<CallProgress>,
    hangup: Hangup,
}

impl ActiveCall {
    /// A call fed by `steps`, hung up by `hangup`.
    pub(crate) fn new(
        id: String,
        dialed: String,
        steps: mpsc::UnboundedReceiver<CallProgress>,
        hangup: Hangup,
    ) -> ActiveCall {
        ActiveCall {
            id,
            dialed,
            steps,
            hangup,
        }
    }

    /// The call's id: the AMI channel id, or the gateway's call id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What was actually dialed (for the gateway, after its own dial rules).
    pub fn dialed(&self) -> &str {
        &self.dialed
    }

    /// A handle that hangs the call up.
    pub fn hangup_handle(&self) -> Hangup {
        self.hangup.clone()
    }

    /// The next step; `None` once [`CallProgress::Ended`] was returned.
    pub async fn next(&mut self) -> Option<CallProgress> {
        self.steps.recv().await
    }
}

/// Hangs up a call the desktop app started (its agent's leg, which ends the whole
/// click-to-dial call): over AMI by the channel's Uniqueid, or through the gateway.
#[derive(Debug, Clone)]
pub struct Hangup {
    via: Via,
}

/// The path a [`Hangup`] takes.
#[derive(Debug, Clone)]
enum Via {
    /// AMI's `Hangup` action on the channel Asterisk knows by this Uniqueid.
    Ami { client: Client, channel_id: String },
    /// The gateway's `DELETE /v1/calls/{id}`.
    Gateway {
        http: reqwest::Client,
        url: String,
        token: String,
    },
}

impl Hangup {
    /// Hangs up the channel Asterisk knows by `channel_id` (its Uniqueid).
    pub(crate) fn ami(client: Client, channel_id: String) -> Hangup {
        Hangup {
            via: Via::Ami { client, channel_id },
        }
    }

    /// Hangs up through the gateway: `DELETE` on the call's `url` with the agent's `token`.
    pub(crate) fn gateway(http: reqwest::Client, url: String, token: String) -> Hangup {
        Hangup {
            via: Via::Gateway { http, url, token },
        }
    }

    /// Asks Asterisk (directly or through the gateway) to hang up; the call's progress then
    /// ends as Asterisk reports it.
    pub async fn hangup(&self) -> Result<(), HangupError> {
        match &self.via {
            Via::Ami { client, channel_id } => ami_hangup(client, channel_id).await,
            Via::Gateway { http, url, token } => gateway_hangup(http, url, token).await,
        }
    }
}

async fn ami_hangup(client: &Client, channel_id: &str) -> Result<(), HangupError> {
    let channel = Value::new(channel_id).map_err(|e| HangupError::Failed(e.to_string()))?;
    let action = Action::named("Hangup").with("Channel", channel);
    match client.send(action).await {
        Ok(_) => Ok(()),
        Err(Error::Refused { message, .. }) if message.contains("No such channel") => {
            Err(HangupError::Gone)
        }
        Err(Error::PermissionDenied { .. }) => Err(HangupError::NotAllowed {
            hint: format!(
                "the AMI account '{}' needs `write = originate,call` in manager.conf",
                client.config().username()
            ),
        }),
        Err(e) => Err(HangupError::Failed(e.to_string())),
    }
}

async fn gateway_hangup(http: &reqwest::Client, url: &str, token: &str) -> Result<(), HangupError> {
    let response = http
        .delete(url)
        .bearer_auth(token)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| HangupError::Failed(format!("the gateway did not answer: {e}")))?;
    if response.status().is_success() {
        return Ok(());
    }
    let (status, code, message) = crate::gateway::error_message(response).await;
    Err(match (status, code.as_str()) {
        (409, _) | (404, _) => HangupError::Gone,
        (_, "pbx_not_allowed") => HangupError::NotAllowed { hint: message },
        _ => HangupError::Failed(format!("the gateway answered {status}: {message}")),
    })
}

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
    hangup: Option<Hangup>,
}

impl ActiveCall {
    /// A call fed by `steps`; `hangup` is `None` where the path offers no way to hang up.
    pub(crate) fn new(
        id: String,
        dialed: String,
        steps: mpsc::UnboundedReceiver<CallProgress>,
        hangup: Option<Hangup>,
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

    /// A handle that hangs the call up, if this path can (the gateway cannot).
    pub fn hangup_handle(&self) -> Option<Hangup> {
        self.hangup.clone()
    }

    /// The next step; `None` once [`CallProgress::Ended`] was returned.
    pub async fn next(&mut self) -> Option<CallProgress> {
        self.steps.recv().await
    }
}

/// Hangs up the agent's leg of an AMI call (which ends the whole click-to-dial call).
#[derive(Debug, Clone)]
pub struct Hangup {
    client: Client,
    channel_id: String,
}

impl Hangup {
    /// Hangs up the channel Asterisk knows by `channel_id` (its Uniqueid).
    pub(crate) fn new(client: Client, channel_id: String) -> Hangup {
        Hangup { client, channel_id }
    }

    /// Asks Asterisk to hang up; the call's progress then ends as Asterisk reports it.
    pub async fn hangup(&self) -> Result<(), HangupError> {
        let channel =
            Value::new(&self.channel_id).map_err(|e| HangupError::Failed(e.to_string()))?;
        let action = Action::named("Hangup").with("Channel", channel);
        match self.client.send(action).await {
            Ok(_) => Ok(()),
            Err(Error::Refused { message, .. }) if message.contains("No such channel") => {
                Err(HangupError::Gone)
            }
            Err(Error::PermissionDenied { .. }) => Err(HangupError::NotAllowed {
                hint: format!(
                    "the AMI account '{}' needs `write = originate,call` in manager.conf",
                    self.client.config().username()
                ),
            }),
            Err(e) => Err(HangupError::Failed(e.to_string())),
        }
    }
}

//! The direct path: one logged-in AMI connection, kept up in the background.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clickdial_ami::{
    Backoff, CallProgress, Client, Config, ConnectError, Error, Originate, State, TlsConfig, Value,
};
use tokio::sync::{mpsc, watch};

use crate::call::{ActiveCall, Hangup};
use crate::error::{DialError, ProbeError};
use crate::link::LinkState;
use crate::target::AmiTarget;

/// How long the agent's phone may ring before Asterisk gives up on it.
const RING_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits between connection attempts while Asterisk has not been reached yet.
const FIRST_CONNECT: Backoff = Backoff {
    initial: Duration::from_millis(500),
    max: Duration::from_secs(15),
};

/// The client settings for `target`: MD5 login, TLS verified against the system's roots.
pub(crate) fn client_config(target: &AmiTarget) -> Result<Config, ProbeError> {
    let config = Config::new(target.addr(), &target.username, &target.secret)
        .map_err(|e| ProbeError::Invalid(format!("user name or secret: {e}")))?
        .connect_timeout(Duration::from_secs(5));
    if !target.tls {
        return Ok(config);
    }
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(ProbeError::Tls {
            addr: target.addr(),
            detail: "this computer has no trusted certificates to check Asterisk's against"
                .to_owned(),
        });
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeError::Tls {
            addr: target.addr(),
            detail: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = TlsConfig::new(Arc::new(tls), target.host.trim_matches(['[', ']'])).map_err(|e| {
        ProbeError::Tls {
            addr: target.addr(),
            detail: e.to_string(),
        }
    })?;
    Ok(config.tls(tls))
}

/// Translates a failed login into what the agent can act on.
pub(crate) fn connect_error(target: &AmiTarget, error: ConnectError) -> ProbeError {
    let addr = target.addr();
    match error {
        ConnectError::Unreachable { source, .. }
            if source.kind() == std::io::ErrorKind::ConnectionRefused =>
        {
            ProbeError::Refused { addr }
        }
        ConnectError::Unreachable { source, .. } => ProbeError::Unreachable {
            addr,
            detail: source.to_string(),
        },
        ConnectError::Timeout { stage, after, .. } if stage.contains("banner") => {
            ProbeError::WrongService {
                addr,
                expected: "Asterisk's manager interface",
                detail: format!("it accepted the connection but sent no greeting within {after:?}"),
            }
        }
        ConnectError::Timeout { stage, .. } => ProbeError::Timeout {
            addr,
            stage: stage.to_owned(),
        },
        ConnectError::NotAmi { source, .. } => ProbeError::WrongService {
            addr,
            expected: "Asterisk's manager interface",
            detail: source.to_string(),
        },
        ConnectError::Closed { stage, .. } => ProbeError::WrongService {
            addr,
            expected: "Asterisk's manager interface",
            detail: format!("it closed the connection while {stage}"),
        },
        ConnectError::Tls { source, .. } => ProbeError::Tls {
            addr,
            detail: source.to_string(),
        },
        ConnectError::LoginRefused { user, message } => ProbeError::BadCredentials {
            user,
            detail: message,
        },
        ConnectError::Protocol { source, .. } => ProbeError::WrongService {
            addr,
            expected: "Asterisk's manager interface",
            detail: source.to_string(),
        },
    }
}

/// Checks that `client`'s account may originate, without placing a call: an Originate
/// with no channel is refused for the missing channel when allowed, and with
/// "Permission denied" when not.
pub(crate) async fn check_originate_right(client: &Client) -> Result<(), ProbeError> {
    let user = client.config().username().to_owned();
    match client.send(clickdial_ami::Action::named("Originate")).await {
        Err(Error::PermissionDenied { .. }) => Err(ProbeError::NotAllowed {
            user,
            hint: "give the account `write = originate` (and `read = call` to follow calls) in \
                   Asterisk's manager.conf"
                .to_owned(),
        }),
        Ok(_) | Err(Error::Refused { .. }) => Ok(()),
        Err(e) => Err(ProbeError::Unreachable {
            addr: client.config().addr().to_owned(),
            detail: e.to_string(),
        }),
    }
}

/// A kept-up AMI connection for dialing.
pub(crate) struct AmiLink {
    target: AmiTarget,
    client: Mutex<Option<Client>>,
    state: watch::Sender<LinkState>,
}

impl AmiLink {
    /// Starts connecting in the background; `state` follows the connection.
    pub(crate) fn open(target: AmiTarget) -> Arc<AmiLink> {
        let (state, _) = watch::channel(LinkState::Connecting);
        let link = Arc::new(AmiLink {
            target,
            client: Mutex::new(None),
            state,
        });
        let connecting = Arc::downgrade(&link);
        tokio::spawn(async move { AmiLink::connect_loop(connecting).await });
        link
    }

    /// The connection's state for the tray icon.
    pub(crate) fn state(&self) -> watch::Receiver<LinkState> {
        self.state.subscribe()
    }

    /// Connects (retrying with backoff until the link is dropped), then mirrors the
    /// client's own reconnecting state.
    async fn connect_loop(link: std::sync::Weak<AmiLink>) {
        let mut attempt = 0;
        let client = loop {
            let Some(strong) = link.upgrade() else { return };
            let config = match client_config(&strong.target) {
                Ok(config) => config,
                Err(e) => {
                    strong.state.send_replace(LinkState::Down {
                        reason: e.to_string(),
                    });
                    return;
                }
            };
            match Client::connect(config).await {
                Ok(client) => break client,
                Err(e) => {
                    let reason = connect_error(&strong.target, e).to_string();
                    tracing::debug!(%reason, "AMI connection attempt failed");
                    strong.state.send_replace(LinkState::Down { reason });
                }
            }
            drop(strong);
            tokio::time::sleep(FIRST_CONNECT.delay(attempt)).await;
            attempt = attempt.saturating_add(1);
        };
        let mut client_state = client.state();
        match link.upgrade() {
            Some(strong) => *strong.client.lock().expect("client lock") = Some(client),
            None => {
                let _ = client.logoff().await;
                return;
            }
        }
        loop {
            let state = match &*client_state.borrow_and_update() {
                State::Connected { .. } => LinkState::Up,
                State::Disconnected { reason, .. } => LinkState::Down {
                    reason: reason.clone(),
                },
                State::Connecting { .. } => LinkState::Connecting,
                State::Closed => LinkState::Down {
                    reason: "the AMI client is closed".to_owned(),
                },
            };
            match link.upgrade() {
                Some(strong) => strong.state.send_replace(state),
                None => return,
            };
            if client_state.changed().await.is_err() {
                return;
            }
        }
    }

    /// Originates: rings the agent's channel, then dials `destination` in the context.
    pub(crate) async fn dial(&self, destination: &str) -> Result<ActiveCall, DialError> {
        let client = self.client.lock().expect("client lock").clone();
        let Some(client) = client else {
            let reason = match &*self.state.borrow() {
                LinkState::Down { reason } => reason.clone(),
                _ => "still connecting to Asterisk".to_owned(),
            };
            return Err(DialError::NotConnected { reason });
        };
        let invalid = |e: clickdial_ami::InvalidHeader| DialError::Invalid(e.to_string());
        let originate = Originate::extension(
            Value::new(&self.target.channel).map_err(invalid)?,
            Value::new(&self.target.context).map_err(invalid)?,
            Value::new(destination).map_err(invalid)?,
            1,
        )
        .timeout(RING_TIMEOUT)
        .asynchronous(true);
        let mut call = client.originate(originate).await.map_err(|e| match e {
            Error::NotConnected { reason } => DialError::NotConnected { reason },
            Error::PermissionDenied { hint, .. } => DialError::NotAllowed { hint },
            Error::Refused { message, .. } => DialError::Refused { message },
            Error::Invalid(e) => DialError::Invalid(e.to_string()),
            other => DialError::Uncertain {
                reason: other.to_string(),
            },
        })?;
        let id = call.channel_id().to_owned();
        let hangup = Hangup::ami(client, id.clone());
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(step) = call.next().await {
                let end = matches!(step, CallProgress::Ended(_));
                if tx.send(step).is_err() || end {
                    return;
                }
            }
        });
        Ok(ActiveCall::new(id, destination.to_owned(), rx, hangup))
    }
}

impl Drop for AmiLink {
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().ok().and_then(Option::take)
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(async move {
                let _ = client.logoff().await;
            });
        }
    }
}

//! The gateway's one AMI connection: established in the background (the gateway starts and
//! answers 503 while Asterisk is down), kept up by the client's reconnect manager, and used
//! to originate every call.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clickdial_ami::{Action, Backoff, Call, Client, Originate, State, TlsConfig, Value};
use clickdial_dial::Destination;

use crate::config::{AmiConfig, EXTENSION_PLACEHOLDER};

/// The waits between first-connection attempts while Asterisk has never been reached.
const FIRST_CONNECT: Backoff = Backoff {
    initial: Duration::from_millis(250),
    max: Duration::from_secs(5),
};

/// Why a call could not be handed to Asterisk.
#[derive(Debug, thiserror::Error)]
pub enum OriginateError {
    /// Asterisk is not reachable or the gateway is not logged in; nothing was sent, so a
    /// retry cannot ring twice.
    #[error("Asterisk is not reachable: {0}")]
    NotSent(String),
    /// Asterisk refused or the connection failed after the Originate was sent.
    #[error(transparent)]
    Ami(#[from] clickdial_ami::Error),
    /// The configured channel or context cannot go into an AMI header.
    #[error("the configured [ami] channel or context is unusable: {0}")]
    BadConfig(String),
}

/// Why a call could not be hung up.
#[derive(Debug, thiserror::Error)]
pub enum HangupError {
    /// Asterisk is not reachable or the gateway is not logged in.
    #[error("Asterisk is not reachable: {0}")]
    NotSent(String),
    /// The call's channel is gone: the call ended meanwhile.
    #[error("the call is already over")]
    Gone,
    /// The gateway's AMI account lacks the `call` write class that Hangup needs.
    #[error(
        "the gateway's AMI account '{0}' may not hang up calls: add `call` to its `write =` line \
         in manager.conf (write = originate,call)"
    )]
    NotAllowed(String),
    /// Asterisk refused otherwise, or the connection failed.
    #[error(transparent)]
    Ami(clickdial_ami::Error),
}

/// Why `[ami]` cannot be turned into client settings.
#[derive(Debug, thiserror::Error)]
pub enum AmiSetupError {
    /// The secret file cannot be read.
    #[error("[ami] secret_file {path}: {source}")]
    SecretFile {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The username or secret holds a line break or NUL.
    #[error("[ami] username or secret: {0}")]
    Credentials(clickdial_ami::InvalidHeader),
    /// TLS is on but no certificate to verify Asterisk with was given.
    #[error("[ami] tls = true needs tls_ca, the PEM certificate Asterisk's TLS is verified with")]
    MissingCa,
    /// The CA certificate cannot be read or used.
    #[error("[ami] tls_ca {path}: {message}")]
    Ca {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

/// Why the gateway cannot start calls right now (answered as 503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotReady(pub String);

/// The AMI link and the settings each Originate uses.
pub struct Pbx {
    settings: AmiConfig,
    client: OnceLock<Client>,
    last_error: std::sync::Mutex<String>,
}

/// Builds the AMI client settings from `[ami]`, reading the secret file and the TLS CA
/// certificate.
pub fn client_config(settings: &AmiConfig) -> Result<clickdial_ami::Config, AmiSetupError> {
    let secret = match (&settings.secret, &settings.secret_file) {
        (Some(secret), _) => secret.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|source| AmiSetupError::SecretFile {
                path: file.clone(),
                source,
            })?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        (None, None) => String::new(),
    };
    let addr = format!("{}:{}", settings.host, settings.port);
    let config = clickdial_ami::Config::new(addr, &settings.username, &secret)
        .map_err(AmiSetupError::Credentials)?
        .originate_window(settings.originate_window);
    if !settings.tls {
        return Ok(config);
    }
    let ca = settings.tls_ca.as_ref().ok_or(AmiSetupError::MissingCa)?;
    let ca_error = |message: String| AmiSetupError::Ca {
        path: ca.clone(),
        message,
    };
    let pem = std::fs::read(ca).map_err(|e| ca_error(e.to_string()))?;
    let tls =
        TlsConfig::with_root_pem(&pem, &settings.host).map_err(|e| ca_error(e.to_string()))?;
    Ok(config.tls(tls))
}

impl Pbx {
    /// Starts connecting in the background and returns at once.
    pub fn start(settings: AmiConfig, client_config: clickdial_ami::Config) -> Arc<Pbx> {
        let pbx = Arc::new(Pbx {
            settings,
            client: OnceLock::new(),
            last_error: std::sync::Mutex::new("connecting to Asterisk".to_owned()),
        });
        let connecting = pbx.clone();
        tokio::spawn(async move { connecting.connect_loop(client_config).await });
        pbx
    }

    async fn connect_loop(self: Arc<Pbx>, config: clickdial_ami::Config) {
        for attempt in 0.. {
            match Client::connect(config.clone()).await {
                Ok(client) => {
                    tracing::info!(addr = config.addr(), "logged in to AMI");
                    let _ = self.client.set(client);
                    return;
                }
                Err(e) => {
                    let delay = FIRST_CONNECT.delay(attempt);
                    tracing::warn!(
                        addr = config.addr(),
                        "AMI connection failed: {e}; retrying in {delay:?}"
                    );
                    self.set_error(e.to_string());
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn set_error(&self, message: String) {
        *self.last_error.lock().expect("lock poisoned") = message;
    }

    /// `Ok` while logged in to AMI, otherwise why not (for `/readyz` and 503 answers).
    pub fn ready(&self) -> Result<(), NotReady> {
        let Some(client) = self.client.get() else {
            return Err(NotReady(
                self.last_error.lock().expect("lock poisoned").clone(),
            ));
        };
        match &*client.state().borrow() {
            State::Connected { .. } => Ok(()),
            State::Disconnected {
                reason, retry_in, ..
            } => Err(NotReady(format!(
                "the AMI connection is down ({reason}); retrying in {} ms",
                retry_in.as_millis()
            ))),
            State::Connecting { attempt } => {
                Err(NotReady(format!("reconnecting to AMI (attempt {attempt})")))
            }
            State::Closed => Err(NotReady("the AMI client is closed".to_owned())),
        }
    }

    /// Rings `extension`, then dials `to` in the configured context. `call_id` becomes the
    /// agent channel's `Uniqueid` (the CDR's `uniqueid`), so [`Pbx::hangup`] can name it and
    /// CDRs can be matched with the audit log; no channel variables are set (two cost Asterisk
    /// 4-10% more CPU per call in bursts). Waits at most `wait` for its turn in the originate
    /// window (`[ami] originate_window`).
    pub async fn originate(
        &self,
        extension: &str,
        to: &Destination,
        call_id: &str,
        wait: Duration,
    ) -> Result<Call, OriginateError> {
        self.ready().map_err(|e| OriginateError::NotSent(e.0))?;
        let client = self.client.get().expect("ready implies connected");
        let bad = |e: clickdial_ami::InvalidHeader| OriginateError::BadConfig(e.to_string());
        let channel = Value::new(
            self.settings
                .channel
                .replace(EXTENSION_PLACEHOLDER, extension),
        )
        .map_err(bad)?;
        let context = Value::new(self.settings.context.clone()).map_err(bad)?;
        let exten = Value::new(to.as_str()).map_err(bad)?;
        let uniqueid = Value::new(call_id).map_err(bad)?;
        let originate = Originate::extension(channel, context, exten, 1)
            .channel_id(uniqueid)
            .timeout(Duration::from_secs(self.settings.ring_timeout_secs));
        client
            .originate_within(originate, wait)
            .await
            .map_err(|e| match e {
                clickdial_ami::Error::NotConnected { reason } => OriginateError::NotSent(reason),
                other => OriginateError::Ami(other),
            })
    }

    /// Hangs up the agent's channel of call `call_id` (which ends the whole call); the call's
    /// progress then ends as Asterisk reports it.
    pub async fn hangup(&self, call_id: &str) -> Result<(), HangupError> {
        self.ready().map_err(|e| HangupError::NotSent(e.0))?;
        let client = self.client.get().expect("ready implies connected");
        let channel = Value::new(call_id).map_err(|e| HangupError::NotSent(e.to_string()))?;
        match client
            .send(Action::named("Hangup").with("Channel", channel))
            .await
        {
            Ok(_) => Ok(()),
            Err(clickdial_ami::Error::Refused { message, .. })
                if message.contains("No such channel") =>
            {
                Err(HangupError::Gone)
            }
            Err(clickdial_ami::Error::PermissionDenied { .. }) => {
                Err(HangupError::NotAllowed(self.settings.username.clone()))
            }
            Err(clickdial_ami::Error::NotConnected { reason }) => Err(HangupError::NotSent(reason)),
            Err(e) => Err(HangupError::Ami(e)),
        }
    }
}

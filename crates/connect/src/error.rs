//! What can go wrong, in terms the agent (or whoever set up the PBX) can act on.

/// Why a connection test failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The settings cannot be used as they are (a line break in a field, a malformed URL).
    #[error("the settings cannot be used: {0}")]
    Invalid(String),
    /// No route, unknown host, or the network is down.
    #[error("cannot reach {addr}: {detail}")]
    Unreachable {
        /// What was tried.
        addr: String,
        /// The operating system's or HTTP client's reason.
        detail: String,
    },
    /// The host answered but nothing listens on that port.
    #[error("{addr} refused the connection: nothing listens on that port")]
    Refused {
        /// What was tried.
        addr: String,
    },
    /// Something answers on that port, but not Asterisk's manager interface or the gateway.
    #[error("{addr} answers, but it is not {expected}: {detail}")]
    WrongService {
        /// What was tried.
        addr: String,
        /// "Asterisk's manager interface" or "a clickdial gateway".
        expected: &'static str,
        /// What it said instead.
        detail: String,
    },
    /// A step took too long.
    #[error("{addr} did not answer in time ({stage})")]
    Timeout {
        /// What was tried.
        addr: String,
        /// What was being waited for.
        stage: String,
    },
    /// The TLS handshake failed (untrusted certificate, wrong name, TLS off on the server).
    #[error("secure connection to {addr} failed: {detail}")]
    Tls {
        /// What was tried.
        addr: String,
        /// rustls's reason.
        detail: String,
    },
    /// The user name, secret or token was not accepted.
    #[error("the credentials for '{user}' were refused: {detail}")]
    BadCredentials {
        /// The AMI user name, or "token" for the gateway.
        user: String,
        /// The server's message.
        detail: String,
    },
    /// Logged in, but this account may not start calls (or this address may not use the
    /// gateway).
    #[error("'{user}' may not start calls: {hint}")]
    NotAllowed {
        /// The AMI user name, or "token" for the gateway.
        user: String,
        /// What to change.
        hint: String,
    },
    /// The gateway answered with an error of its own (for example, its Asterisk is down).
    #[error("the gateway answered {status}: {message}")]
    Gateway {
        /// The HTTP status.
        status: u16,
        /// The gateway's message.
        message: String,
    },
}

impl ProbeError {
    /// A stable, machine-readable name: `invalid`, `unreachable`, `refused`, `wrong_service`,
    /// `timeout`, `tls`, `bad_credentials`, `not_allowed` or `gateway_error`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeError::Invalid(_) => "invalid",
            ProbeError::Unreachable { .. } => "unreachable",
            ProbeError::Refused { .. } => "refused",
            ProbeError::WrongService { .. } => "wrong_service",
            ProbeError::Timeout { .. } => "timeout",
            ProbeError::Tls { .. } => "tls",
            ProbeError::BadCredentials { .. } => "bad_credentials",
            ProbeError::NotAllowed { .. } => "not_allowed",
            ProbeError::Gateway { .. } => "gateway_error",
        }
    }
}

/// Why a call could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// Not connected right now; nothing was sent, so trying again cannot ring twice.
    #[error("not connected: {reason}; nothing was dialed")]
    NotConnected {
        /// Why.
        reason: String,
    },
    /// Asterisk or the gateway refused the call.
    #[error("the call was refused: {message}")]
    Refused {
        /// Their message.
        message: String,
    },
    /// The account may not start calls.
    #[error("not allowed to start calls: {hint}")]
    NotAllowed {
        /// What to change.
        hint: String,
    },
    /// The connection broke after the request was sent: the phone may or may not ring, and
    /// the request was not repeated.
    #[error("the connection broke after the call was requested ({reason}); it was not repeated")]
    Uncertain {
        /// Why.
        reason: String,
    },
    /// The gateway limits how many calls an agent starts per minute.
    #[error("too many calls in a short time: try again in {retry_after_secs} s")]
    RateLimited {
        /// When to try again.
        retry_after_secs: u64,
    },
    /// The number or a setting holds characters that cannot be sent.
    #[error("cannot be sent: {0}")]
    Invalid(String),
}

/// Why hanging up did not work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HangupError {
    /// The call is already over.
    #[error("the call is already over")]
    Gone,
    /// The AMI account lacks the right to hang up channels.
    #[error("not allowed to hang up: {hint}")]
    NotAllowed {
        /// What to change.
        hint: String,
    },
    /// Anything else (connection lost, Asterisk's error).
    #[error("hanging up failed: {0}")]
    Failed(String),
}

//! The errors a user of the client sees, each saying what went wrong and what to do.

use std::io;
use std::time::Duration;

use crate::codec::CodecError;
use crate::value::InvalidHeader;

/// Why connecting and logging in to AMI failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The TCP connection could not be made (refused, no route, unknown host).
    #[error(
        "cannot reach AMI at {addr}: {source} (is Asterisk running, and manager.conf `enabled = yes` with this port?)"
    )]
    Unreachable {
        /// The address tried.
        addr: String,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// A step did not finish in time.
    #[error("AMI at {addr} did not finish {stage} within {after:?}")]
    Timeout {
        /// The address tried.
        addr: String,
        /// What was being waited for, e.g. "sending its banner".
        stage: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The peer does not speak AMI (wrong port, another service, TLS spoken to in plain text).
    #[error("{addr} is not an Asterisk Manager Interface: {source}")]
    NotAmi {
        /// The address tried.
        addr: String,
        /// What was wrong with its first line.
        #[source]
        source: CodecError,
    },
    /// The peer closed the connection during a step.
    #[error("AMI at {addr} closed the connection while {stage}")]
    Closed {
        /// The address tried.
        addr: String,
        /// The step, e.g. "logging in".
        stage: &'static str,
    },
    /// The TLS handshake failed.
    #[error("TLS handshake with AMI at {addr} failed: {source}")]
    Tls {
        /// The address tried.
        addr: String,
        /// rustls's reason.
        #[source]
        source: io::Error,
    },
    /// Asterisk refused the login.
    #[error(
        "AMI login refused for user '{user}': {message} (a wrong secret, an unknown user, or an \
         address not permitted by the account's permit/deny in manager.conf)"
    )]
    LoginRefused {
        /// The user name sent.
        user: String,
        /// Asterisk's message, e.g. "Authentication failed".
        message: String,
    },
    /// The peer broke the protocol or a [`crate::Limits`] bound.
    #[error("AMI at {addr} sent something unreadable: {source}")]
    Protocol {
        /// The address tried.
        addr: String,
        /// The codec's reason.
        #[source]
        source: CodecError,
    },
}

/// Why an action failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The client is between connections; nothing was sent.
    #[error("not connected to AMI ({reason}); nothing was sent")]
    NotConnected {
        /// Why the last connection ended or the current attempt failed.
        reason: String,
    },
    /// The connection was lost after the action was sent and before it was answered.
    #[error(
        "the AMI connection was lost before '{action}' was answered ({reason}); it may or may not \
         have been executed, and it was not re-sent"
    )]
    Disconnected {
        /// The action's name.
        action: String,
        /// Why the connection ended.
        reason: String,
    },
    /// No answer in time; a late answer is discarded.
    #[error("AMI did not answer '{action}' within {after:?}")]
    Timeout {
        /// The action's name.
        action: String,
        /// The limit.
        after: Duration,
    },
    /// The Originate waited its turn behind the calls Asterisk is setting up (see
    /// [`crate::Config::originate_window`]) and did not get it in time; nothing was sent.
    #[error(
        "Asterisk created none of the channels of the calls it was setting up (the window allows \
         {window}) within {after:?}; this Originate was not sent"
    )]
    Backlogged {
        /// The window: how many calls Asterisk may be setting up at once.
        window: usize,
        /// How long the Originate waited.
        after: Duration,
    },
    /// The account lacks the class the action needs.
    #[error("user '{user}' may not run '{action}' (Permission denied): {hint}")]
    PermissionDenied {
        /// The logged-in user.
        user: String,
        /// The action's name.
        action: String,
        /// How to grant it.
        hint: String,
    },
    /// Asterisk answered `Response: Error`.
    #[error("AMI refused '{action}': {message}")]
    Refused {
        /// The action's name.
        action: String,
        /// Asterisk's `Message`.
        message: String,
    },
    /// An event list grew past its bound.
    #[error("the event list answering '{action}' has more than {limit} events")]
    ListTooLong {
        /// The action's name.
        action: String,
        /// The bound.
        limit: usize,
    },
    /// The answer had an unexpected shape.
    #[error("unexpected AMI answer to '{action}': {detail}")]
    Unexpected {
        /// The action's name.
        action: String,
        /// What was odd.
        detail: String,
    },
    /// An argument would have injected AMI; nothing was sent.
    #[error(transparent)]
    Invalid(#[from] InvalidHeader),
    /// The client was logged off or all its handles were dropped.
    #[error("the AMI client is closed")]
    Closed,
}

impl Error {
    /// The error for an `Error` response, telling Permission denied apart.
    pub(crate) fn from_refusal(user: &str, action: &str, message: &str) -> Error {
        if message.eq_ignore_ascii_case("Permission denied") {
            let class = match action.to_ascii_lowercase().as_str() {
                "originate" => Some("originate"),
                "command" => Some("command"),
                "hangup" | "redirect" | "setvar" | "atxfer" | "blindtransfer" => Some("call"),
                "getvar" | "status" | "coreshowchannels" => Some("call or reporting"),
                _ => None,
            };
            let hint = match class {
                Some(class) => {
                    format!("add `write = {class}` to the user's section in manager.conf")
                }
                None => format!(
                    "add the write class this action needs to the user's section in manager.conf \
                     (`manager show command {action}` on the Asterisk CLI names it)"
                ),
            };
            Error::PermissionDenied {
                user: user.to_owned(),
                action: action.to_owned(),
                hint,
            }
        } else {
            Error::Refused {
                action: action.to_owned(),
                message: message.to_owned(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_denied_names_the_missing_class() {
        let e = Error::from_refusal("readonly", "Originate", "Permission denied");
        assert_eq!(
            e.to_string(),
            "user 'readonly' may not run 'Originate' (Permission denied): add `write = originate` \
             to the user's section in manager.conf"
        );
        let e = Error::from_refusal("u", "QueueAdd", "Permission denied");
        assert!(
            e.to_string().contains("manager show command QueueAdd"),
            "{e}"
        );
        let e = Error::from_refusal("u", "Originate", "Originate failed");
        assert!(matches!(e, Error::Refused { ref message, .. } if message == "Originate failed"));
    }
}

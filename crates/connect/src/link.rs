//! A kept-up connection to Asterisk or the gateway that calls are started on.

use std::sync::Arc;

use tokio::sync::watch;

use crate::ami::AmiLink;
use crate::call::ActiveCall;
use crate::error::DialError;
use crate::gateway::GatewayLink;
use crate::target::Target;

/// Whether calls can be started right now; the tray icon shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// The first attempt (or a reconnect) is under way.
    Connecting,
    /// Logged in to Asterisk, or the gateway answers ready.
    Up,
    /// Not reachable; retried in the background.
    Down {
        /// What went wrong last.
        reason: String,
    },
}

/// A connection for dialing, opened in the background and kept up until dropped.
#[derive(Clone)]
pub struct Link {
    inner: Inner,
}

/// The two paths.
#[derive(Clone)]
enum Inner {
    Ami(Arc<AmiLink>),
    Gateway(Arc<GatewayLink>),
}

impl Link {
    /// Starts connecting to `target` in the background; needs a tokio runtime.
    pub fn open(target: Target) -> Link {
        let inner = match target {
            Target::Ami(target) => Inner::Ami(AmiLink::open(target)),
            Target::Gateway(target) => Inner::Gateway(GatewayLink::open(target)),
        };
        Link { inner }
    }

    /// Follows the link's state.
    pub fn state(&self) -> watch::Receiver<LinkState> {
        match &self.inner {
            Inner::Ami(link) => link.state(),
            Inner::Gateway(link) => link.state(),
        }
    }

    /// Starts a call from the agent's phone to `number`. Over AMI `number` is dialed as it
    /// is (apply the dial rules first); the gateway applies its own rules to it.
    pub async fn dial(&self, number: &str) -> Result<ActiveCall, DialError> {
        match &self.inner {
            Inner::Ami(link) => link.dial(number).await,
            Inner::Gateway(link) => link.dial(number).await,
        }
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = match self.inner {
            Inner::Ami(_) => "ami",
            Inner::Gateway(_) => "gateway",
        };
        f.debug_struct("Link").field("path", &path).finish()
    }
}

//! "Test connection": does this target work, and if not, why in plain terms.

use clickdial_ami::Client;

use crate::ami::{check_originate_right, client_config, connect_error};
use crate::error::ProbeError;
use crate::gateway;
use crate::target::Target;

/// What a successful test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reachable {
    /// Logged in to Asterisk; the account may originate.
    Asterisk {
        /// The manager interface's banner, e.g. `Asterisk Call Manager/11.0.0`.
        banner: String,
    },
    /// The gateway is ready and accepts the token.
    Gateway,
}

/// Logs in (AMI) or asks the gateway, checks the right to start calls, and logs out again.
/// Places no call.
pub async fn probe(target: &Target) -> Result<Reachable, ProbeError> {
    match target {
        Target::Ami(target) => {
            let config = client_config(target)?;
            let client = Client::connect(config)
                .await
                .map_err(|e| connect_error(target, e))?;
            let banner = client.banner().to_string();
            let allowed = check_originate_right(&client).await;
            let _ = client.logoff().await;
            allowed.map(|()| Reachable::Asterisk { banner })
        }
        Target::Gateway(target) => {
            if !(target.url.starts_with("http://") || target.url.starts_with("https://")) {
                return Err(ProbeError::Invalid(format!(
                    "the gateway URL '{}' must start with https:// (or http:// on this computer)",
                    target.url
                )));
            }
            gateway::probe(target).await.map(|()| Reachable::Gateway)
        }
    }
}

//! Where the desktop app sends its calls, and as whom.

use std::fmt;

/// Direct AMI or the gateway, with the credentials to use.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// Straight to Asterisk's manager interface.
    Ami(AmiTarget),
    /// Through the clickdial gateway, which knows the agent by token.
    Gateway(GatewayTarget),
}

/// An AMI account and how the agent's phone is reached.
#[derive(Clone, PartialEq, Eq)]
pub struct AmiTarget {
    /// Asterisk's host name or address.
    pub host: String,
    /// The manager port, 5038 (5039 with TLS by convention).
    pub port: u16,
    /// The manager.conf account.
    pub username: String,
    /// Its secret.
    pub secret: String,
    /// Speak TLS, verifying Asterisk's certificate against the system's trusted roots.
    pub tls: bool,
    /// The agent's own channel, e.g. `PJSIP/10` (the template already filled in).
    pub channel: String,
    /// The dialplan context the destination is dialed in.
    pub context: String,
}

/// The gateway's address and the agent's token.
#[derive(Clone, PartialEq, Eq)]
pub struct GatewayTarget {
    /// The gateway's base URL, e.g. `https://pbx-gw.example.com:8443`.
    pub url: String,
    /// The agent's bearer token.
    pub token: String,
}

impl AmiTarget {
    /// `host:port`, with brackets around an IPv6 address.
    pub fn addr(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl GatewayTarget {
    /// The URL of `path` (which starts with `/`) on the gateway.
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url.trim_end_matches('/'))
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Ami(t) => t.fmt(f),
            Target::Gateway(t) => t.fmt(f),
        }
    }
}

impl fmt::Debug for AmiTarget {
    /// Everything but the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmiTarget")
            .field("addr", &self.addr())
            .field("username", &self.username)
            .field("tls", &self.tls)
            .field("channel", &self.channel)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for GatewayTarget {
    /// The URL, never the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayTarget")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ami(host: &str) -> AmiTarget {
        AmiTarget {
            host: host.into(),
            port: 5038,
            username: "u".into(),
            secret: "s3cret".into(),
            tls: false,
            channel: "PJSIP/10".into(),
            context: "from-internal".into(),
        }
    }

    #[test]
    fn addresses_bracket_ipv6() {
        assert_eq!(ami("pbx.local").addr(), "pbx.local:5038");
        assert_eq!(ami("::1").addr(), "[::1]:5038");
        assert_eq!(ami("[::1]").addr(), "[::1]:5038");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let shown = format!("{:?}", Target::Ami(ami("h")));
        assert!(!shown.contains("s3cret"), "{shown}");
        let gateway = Target::Gateway(GatewayTarget {
            url: "https://gw/".into(),
            token: "tok-abc".into(),
        });
        let shown = format!("{gateway:?}");
        assert!(!shown.contains("tok-abc"), "{shown}");
    }

    #[test]
    fn endpoints_join_without_double_slashes() {
        let gateway = GatewayTarget {
            url: "https://gw:8443/".into(),
            token: String::new(),
        };
        assert_eq!(gateway.endpoint("/readyz"), "https://gw:8443/readyz");
    }
}

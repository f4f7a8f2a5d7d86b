//! How to reach and log in to an Asterisk, and the client's timing and bounds.

use std::fmt;
use std::time::Duration;

use crate::codec::Limits;
use crate::tls::TlsConfig;
use crate::value::{InvalidHeader, Value};

/// The shortest keepalive interval and first reconnect delay accepted.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// How the secret is proven at login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Auth {
    /// `Action: Challenge` then `Key: md5(challenge + secret)`: the secret never crosses the
    /// wire.
    #[default]
    Md5,
    /// `Secret:` in the clear; use only over TLS or loopback.
    Plaintext,
}

/// The reconnect delays: doubling from `initial` up to `max`, each with random jitter
/// (between half and all of the delay) so that many clients don't reconnect in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay after a connection is lost.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Backoff {
    /// The (jittered) delay before retry `attempt`, counted from 0; for callers that retry
    /// something themselves, such as a first connection.
    pub fn delay(&self, attempt: u32) -> Duration {
        crate::reconnect::delay(self, attempt, crate::ids::random_u64())
    }
}

impl Default for Backoff {
    /// From 250 ms up to 30 s.
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
        }
    }
}

/// Everything [`crate::Client::connect`] needs; its `Debug` output hides the secret.
#[derive(Clone)]
pub struct Config {
    pub(crate) addr: String,
    pub(crate) username: Value,
    pub(crate) secret: Value,
    pub(crate) auth: Auth,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) connect_timeout: Duration,
    pub(crate) action_timeout: Duration,
    pub(crate) keepalive: Duration,
    pub(crate) event_capacity: usize,
    pub(crate) max_list_events: usize,
    pub(crate) originate_window: usize,
    pub(crate) limits: Limits,
    pub(crate) backoff: Backoff,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("username", &self.username)
            .field("secret", &"<hidden>")
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("action_timeout", &self.action_timeout)
            .field("keepalive", &self.keepalive)
            .field("event_capacity", &self.event_capacity)
            .field("max_list_events", &self.max_list_events)
            .field("originate_window", &self.originate_window)
            .field("limits", &self.limits)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl Config {
    /// AMI at `addr` (`host:port`) as `username` with `secret`; fails if either holds
    /// CR, LF or NUL.
    pub fn new(
        addr: impl Into<String>,
        username: &str,
        secret: &str,
    ) -> Result<Config, InvalidHeader> {
        Ok(Config {
            addr: addr.into(),
            username: Value::new(username)?,
            secret: Value::new(secret)?,
            auth: Auth::default(),
            tls: None,
            connect_timeout: Duration::from_secs(10),
            action_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(20),
            event_capacity: 1024,
            max_list_events: 100_000,
            originate_window: 16,
            limits: Limits::default(),
            backoff: Backoff::default(),
        })
    }

    /// Chooses MD5 challenge (the default) or plaintext login.
    pub fn auth(mut self, auth: Auth) -> Config {
        self.auth = auth;
        self
    }

    /// Speaks TLS (Asterisk's `tlsbindaddr`, usually port 5039).
    pub fn tls(mut self, tls: TlsConfig) -> Config {
        self.tls = Some(tls);
        self
    }

    /// Bounds each of connecting, the TLS handshake, the banner and the login (10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Config {
        self.connect_timeout = timeout;
        self
    }

    /// Bounds the wait for each action's answer (10 s).
    pub fn action_timeout(mut self, timeout: Duration) -> Config {
        self.action_timeout = timeout;
        self
    }

    /// Sends a Ping this often (20 s, at least 10 ms); a connection that stays silent for
    /// a whole interval after a Ping is dropped.
    pub fn keepalive(mut self, interval: Duration) -> Config {
        self.keepalive = interval.max(MIN_INTERVAL);
        self
    }

    /// How many events are buffered for subscribers (1024); a subscriber further behind is
    /// told it lagged.
    pub fn event_capacity(mut self, capacity: usize) -> Config {
        self.event_capacity = capacity.max(1);
        self
    }

    /// The most events one event list may collect (100 000).
    pub fn max_list_events(mut self, limit: usize) -> Config {
        self.max_list_events = limit;
        self
    }

    /// How many Originates Asterisk may be setting up at once (16, at least 1): sent, and the
    /// agent's channel not created yet. Asterisk starts a thread for each Originate, and a
    /// burst of hundreds makes every call cost it several times the CPU; further calls wait
    /// in the client, in order, until one of these channels exists.
    pub fn originate_window(mut self, calls: usize) -> Config {
        self.originate_window = calls.max(1);
        self
    }

    /// Bounds on incoming lines and messages.
    pub fn limits(mut self, limits: Limits) -> Config {
        self.limits = limits;
        self
    }

    /// Reconnect delays; the first is at least 10 ms and the cap at least the first, so a
    /// PBX that is down is not hammered.
    pub fn backoff(mut self, backoff: Backoff) -> Config {
        let initial = backoff.initial.max(MIN_INTERVAL);
        self.backoff = Backoff {
            initial,
            max: backoff.max.max(initial),
        };
        self
    }

    /// The address connected to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The user logged in as.
    pub fn username(&self) -> &str {
        self.username.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_secret_and_credentials_are_checked() {
        let config = Config::new("127.0.0.1:5038", "clickdial", "s3cr3t").unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("clickdial"), "{debug}");
        assert!(Config::new("h:1", "user\r\nAction: Command", "x").is_err());
        assert!(Config::new("h:1", "user", "x\n").is_err());
    }

    #[test]
    fn zero_intervals_are_raised_to_the_minimum() {
        let config = Config::new("h:1", "u", "s")
            .unwrap()
            .keepalive(Duration::ZERO)
            .event_capacity(0)
            .backoff(Backoff {
                initial: Duration::ZERO,
                max: Duration::ZERO,
            });
        assert_eq!(config.keepalive, MIN_INTERVAL);
        assert_eq!(config.event_capacity, 1);
        assert_eq!(
            config.backoff,
            Backoff {
                initial: MIN_INTERVAL,
                max: MIN_INTERVAL
            }
        );
    }
}

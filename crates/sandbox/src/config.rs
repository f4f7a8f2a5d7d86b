//! What a sandbox serves: its banner, its AMI accounts with their read and write classes,
//! its dialplan, its speed and its faults. [`Config::default`] mirrors the real Asterisk of
//! `../shared/pbx` (`conf/manager.conf` and `conf/extensions.conf`), so a test can switch
//! between the two; [`Config::from_toml`] reads the same settings from a file.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::dialplan::{Behaviour, Extension};
use crate::faults::Faults;

/// The slowest and fastest the sandbox may run, relative to real time.
pub(crate) const MIN_SPEED: f64 = 0.01;
/// See [`MIN_SPEED`].
pub(crate) const MAX_SPEED: f64 = 10_000.0;

/// The longest the sandbox ever waits for one simulated step.
pub(crate) const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3600);

/// The banner Asterisk 22 sends (its AMI version, not its own).
pub const ASTERISK_22_BANNER: &str = "Asterisk Call Manager/11.0.0";

/// Everything [`crate::Sandbox::start`] needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The first line sent on every connection, without its line ending.
    pub banner: String,
    /// The AMI accounts that may log in.
    pub accounts: Vec<Account>,
    /// The dialplan: which extension of which context behaves how.
    pub extensions: Vec<Extension>,
    /// How much faster than real time calls unfold (2.0 halves every ring, hold and
    /// delay, including an Originate's `Timeout` and the failed-login delay).
    pub speed: f64,
    /// Faults injected into every new connection (see [`crate::Sandbox::set_faults`]).
    #[serde(skip)]
    pub faults: Faults,
}

/// An AMI account, as a `manager.conf` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The login name.
    pub username: String,
    /// The secret, for plaintext and MD5 logins.
    pub secret: String,
    /// The event classes the account receives (`call`, `system`, ..., or `all`).
    #[serde(default)]
    pub read: Vec<String>,
    /// The action classes the account may run (`originate`, `call`, ..., or `all`).
    #[serde(default)]
    pub write: Vec<String>,
}

impl Account {
    /// An account with the given classes.
    pub fn new(username: &str, secret: &str, read: &[&str], write: &[&str]) -> Account {
        let owned = |classes: &[&str]| classes.iter().map(|c| (*c).to_owned()).collect();
        Account {
            username: username.to_owned(),
            secret: secret.to_owned(),
            read: owned(read),
            write: owned(write),
        }
    }

    /// Whether the account receives events of `class`.
    pub fn can_read(&self, class: &str) -> bool {
        has_class(&self.read, class)
    }

    /// Whether the account may run actions of `class`.
    pub fn can_write(&self, class: &str) -> bool {
        has_class(&self.write, class)
    }
}

/// Whether `classes` holds `class` or `all` (case-insensitive, as Asterisk compares them).
fn has_class(classes: &[String], class: &str) -> bool {
    classes
        .iter()
        .any(|c| c.eq_ignore_ascii_case(class) || c.eq_ignore_ascii_case("all"))
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the sandbox configuration {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid TOML for a [`Config`].
    #[error("invalid sandbox configuration: {0}")]
    Parse(#[from] toml::de::Error),
    /// A setting is out of range.
    #[error("invalid sandbox configuration: {0}")]
    Invalid(String),
}

impl Default for Config {
    /// The accounts and dialplan of `../shared/pbx/conf`, at real-time speed, without faults.
    fn default() -> Config {
        let ext = Extension::new;
        Config {
            banner: ASTERISK_22_BANNER.to_owned(),
            accounts: vec![
                Account::new("clickdial", "clickdial-secret", &["call"], &["originate"]),
                Account::new("readonly", "readonly-secret", &["call"], &[]),
            ],
            extensions: vec![
                ext("agents", "_1[0-8]", Behaviour::Answer, 20),
                ext("agents", "19", Behaviour::Ring, 120),
                ext("agents", "20", Behaviour::Busy, 5),
                ext("extensiones-locales", "_9000X", Behaviour::Busy, 5),
                ext("extensiones-locales", "_9001X", Behaviour::Congestion, 5),
                ext("extensiones-locales", "_X.", Behaviour::Answer, 20),
                ext("extensiones-locales", "_+X.", Behaviour::Answer, 20),
            ],
            speed: 1.0,
            faults: Faults::default(),
        }
    }
}

impl Config {
    /// A dialplan shaped like production click-to-dial, mirroring
    /// `clickdial_testsupport::DIALPLAN`: the destination is reached with
    /// `Dial(Local/${EXTEN}@destinations,10)`, so a call shows `DialBegin`, `DialState`,
    /// `DialEnd` and a bridge, and `clickdial_ami`'s call tracker reports
    /// `DestinationRinging`, `Connected` and the destination's busy, congestion or no
    /// answer. Meant for demos: ringing, then connected, then the end.
    ///
    /// Agents (`Local/<ext>@agents`): `10`–`18` answer and hold 60 s (longer than any call to
    /// a destination, so the destination always ends the call), `19` rings for 120 s, `20`
    /// is busy. Destinations (any digits, or `+` digits, in `extensiones-locales`, dialed
    /// for at most 10 s in `destinations`): `9000X` busy, `9001X` congested, `9002X` ring
    /// until the `Dial()` gives up (not in `DIALPLAN`), any other answer and hang up after
    /// 20 s (`DIALPLAN`: 2 s). The accounts are [`Config::default`]'s plus `operator`
    /// (secret `operator-secret`, read `call`, write `originate` and `call`), which may
    /// also hang calls up.
    pub fn dialing() -> Config {
        let ext = Extension::new;
        let dial = |pattern| Extension::dialing("extensiones-locales", pattern, "destinations", 10);
        let mut config = Config::default();
        config.accounts.push(Account::new(
            "operator",
            "operator-secret",
            &["call"],
            &["originate", "call"],
        ));
        config.extensions = vec![
            ext("agents", "_1[0-8]", Behaviour::Answer, 60),
            ext("agents", "19", Behaviour::Ring, 120),
            ext("agents", "20", Behaviour::Busy, 5),
            dial("_X."),
            dial("_+X."),
            ext("destinations", "_9000X", Behaviour::Busy, 5),
            ext("destinations", "_9001X", Behaviour::Congestion, 5),
            ext("destinations", "_9002X", Behaviour::Ring, 120),
            ext("destinations", "_X.", Behaviour::Answer, 20),
            ext("destinations", "_+X.", Behaviour::Answer, 20),
        ];
        config
    }

    /// Reads a configuration from TOML; missing keys keep their defaults.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml(&text)
    }

    /// The same configuration running `speed` times faster than real time.
    pub fn speed(mut self, speed: f64) -> Config {
        self.speed = speed;
        self
    }

    /// The same configuration with these faults on every connection.
    pub fn faults(mut self, faults: Faults) -> Config {
        self.faults = faults;
        self
    }

    /// Checks what the types cannot.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(MIN_SPEED..=MAX_SPEED).contains(&self.speed) {
            return Err(ConfigError::Invalid(format!(
                "speed must be between {MIN_SPEED} and {MAX_SPEED}, not {}",
                self.speed
            )));
        }
        if self.banner.contains(['\r', '\n']) {
            return Err(ConfigError::Invalid(
                "the banner is one line: it cannot hold CR or LF".into(),
            ));
        }
        for e in &self.extensions {
            let at = || format!("extension {} in {}", e.pattern, e.context);
            match (e.behaviour, &e.dial) {
                (Behaviour::Dial, None) => {
                    return Err(ConfigError::Invalid(format!(
                        "{}: behaviour \"dial\" needs `dial`, the context it dials",
                        at()
                    )));
                }
                (Behaviour::Dial, Some(context)) => {
                    if let Some(nested) = self
                        .extensions
                        .iter()
                        .find(|d| d.context == *context && d.behaviour == Behaviour::Dial)
                    {
                        return Err(ConfigError::Invalid(format!(
                            "{}: the context it dials, {context}, dials again (extension {})",
                            at(),
                            nested.pattern
                        )));
                    }
                }
                (_, Some(_)) => {
                    return Err(ConfigError::Invalid(format!(
                        "{}: only behaviour \"dial\" takes `dial`",
                        at()
                    )));
                }
                (_, None) => {}
            }
        }
        Ok(())
    }

    /// Turns a duration of the simulated PBX into real time at the configured speed, at
    /// most [`LONGEST_WAIT`] (a `Wait(1e30)` or a huge `Timeout` must not overflow).
    pub(crate) fn scaled(&self, duration: Duration) -> Duration {
        Duration::try_from_secs_f64(duration.as_secs_f64() / self.speed)
            .map_or(LONGEST_WAIT, |d| d.min(LONGEST_WAIT))
    }

    /// The account called `username`, if any.
    pub(crate) fn account(&self, username: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.username == username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_bounded_and_scaling_never_overflows() {
        for speed in [0.0, -1.0, 1e-19, 1e9, f64::NAN, f64::INFINITY] {
            assert!(
                Config::default().speed(speed).validate().is_err(),
                "{speed}"
            );
        }
        let slow = Config::default().speed(MIN_SPEED);
        assert_eq!(slow.scaled(Duration::MAX), LONGEST_WAIT);
        assert_eq!(slow.scaled(Duration::from_secs(u64::MAX)), LONGEST_WAIT);
        let fast = Config::default().speed(4.0);
        assert_eq!(fast.scaled(Duration::from_secs(20)), Duration::from_secs(5));
    }

    #[test]
    fn the_default_mirrors_the_shared_pbx() {
        let config = Config::default();
        let clickdial = config.account("clickdial").unwrap();
        assert!(clickdial.can_read("call") && clickdial.can_write("originate"));
        assert!(!clickdial.can_write("system"));
        let readonly = config.account("readonly").unwrap();
        assert!(readonly.can_read("Call") && !readonly.can_write("originate"));
        assert_eq!(config.banner, ASTERISK_22_BANNER);
        assert!(config.account("admin").is_none());
    }

    #[test]
    fn the_dialing_preset_validates_and_adds_an_operator() {
        let config = Config::dialing();
        config.validate().unwrap();
        assert!(config.account("operator").unwrap().can_write("call"));
        assert!(!config.account("clickdial").unwrap().can_write("call"));
        assert_eq!(Config::default().extensions.len(), 7);
    }

    #[test]
    fn toml_overrides_defaults_and_bad_values_are_refused() {
        let config = Config::from_toml(
            "speed = 4.0\n[[accounts]]\nusername = \"admin\"\nsecret = \"s\"\nread = [\"all\"]\nwrite = [\"all\"]\n",
        )
        .unwrap();
        assert_eq!(config.speed, 4.0);
        assert_eq!(config.accounts.len(), 1);
        assert!(config.accounts[0].can_write("originate"));
        assert_eq!(config.extensions, Config::default().extensions);
        assert_eq!(
            config.scaled(Duration::from_secs(20)),
            Duration::from_secs(5)
        );
        let dialing = Config::from_toml(
            "[[extensions]]\ncontext = \"out\"\npattern = \"_X.\"\nbehaviour = \"dial\"\nseconds = 10\ndial = \"destinations\"\n",
        )
        .unwrap();
        assert_eq!(
            dialing.extensions,
            [Extension::dialing("out", "_X.", "destinations", 10)]
        );
        for bad in [
            "[[extensions]]\ncontext = \"c\"\npattern = \"1\"\nbehaviour = \"dial\"\nseconds = 1\n",
            "[[extensions]]\ncontext = \"c\"\npattern = \"1\"\nbehaviour = \"busy\"\nseconds = 1\ndial = \"d\"\n",
            "[[extensions]]\ncontext = \"c\"\npattern = \"1\"\nbehaviour = \"dial\"\nseconds = 1\ndial = \"c\"\n",
            "speed = 0.0",
            "speed = -1.0",
            "banner = \"a\\nb\"",
            "colour = 1",
        ] {
            assert!(Config::from_toml(bad).is_err(), "{bad}");
        }
    }
}

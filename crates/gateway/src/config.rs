//! The gateway's TOML configuration: reading, validating and explaining it.
//!
//! Every problem in a file is collected and reported at once, each naming the key to fix, so
//! `clickdial-gateway check-config` is a complete review rather than a first-error-only loop.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clickdial_dial::{DialRules, Policy};
use ipnet::IpNet;
use serde::Deserialize;

use crate::token::TokenHash;

/// The placeholder in `[ami] channel` that becomes the agent's extension.
pub const EXTENSION_PLACEHOLDER: &str = "{extension}";

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file (or the AMI secret file) could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file that failed.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has keys of the wrong type or unknown keys.
    #[error("{path}: {message}")]
    Syntax {
        /// The configuration file.
        path: PathBuf,
        /// The parser's explanation, with line and column.
        message: String,
    },
    /// The file parses but its values are unusable; every problem is listed.
    #[error("{path} has {} problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The configuration file.
        path: PathBuf,
        /// One line per problem, each naming its key.
        problems: Vec<String>,
    },
}

/// The whole gateway configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The HTTP(S) listener.
    pub http: HttpConfig,
    /// The Asterisk Manager Interface connection.
    pub ami: AmiConfig,
    /// How numbers are turned into dial strings (home country, prefixes, extensions).
    pub dial: DialRules,
    /// Which destinations agents may call.
    #[serde(default)]
    pub policy: Policy,
    /// The agents allowed to dial, each bound to its own extension.
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    /// Where requests and outcomes are recorded.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Rate, size and time limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The whitepaper's `/remote/call.php` URL for existing CRM links.
    #[serde(default)]
    pub legacy: LegacyConfig,
}

/// `[http]`: where the gateway listens and who may reach it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port to listen on, e.g. `"0.0.0.0:8443"`.
    pub listen: SocketAddr,
    /// PEM certificate chain; with `tls_key`, the gateway speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Client networks allowed to connect (CIDR); empty allows every address.
    #[serde(default)]
    pub allow: Vec<IpNet>,
    /// How many threads serve HTTP and AMI. One (the default) runs everything on a single
    /// thread, which costs the least CPU per call; more help only with thousands of event
    /// streams or TLS handshakes at once on a machine with cores to spare.
    #[serde(default = "default_threads")]
    pub threads: usize,
}

/// `[ami]`: the Asterisk the gateway originates through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmiConfig {
    /// Asterisk's host name or address.
    pub host: String,
    /// AMI port: 5038, or 5039 with TLS.
    #[serde(default = "default_ami_port")]
    pub port: u16,
    /// Whether AMI is spoken over TLS.
    #[serde(default)]
    pub tls: bool,
    /// With `tls`: the PEM certificate (Asterisk's own, or its CA's) to verify Asterisk with.
    pub tls_ca: Option<PathBuf>,
    /// The manager.conf account (least privilege: `read = call`, `write = originate`).
    pub username: String,
    /// The account's secret, inline.
    pub secret: Option<String>,
    /// A file holding the account's secret (first line), instead of `secret`.
    pub secret_file: Option<PathBuf>,
    /// The agent's channel, a template holding `{extension}`: `PJSIP/{extension}`.
    pub channel: String,
    /// The dialplan context the destination number is dialed in.
    pub context: String,
    /// Seconds the agent's phone may ring before the call is given up.
    #[serde(default = "default_ring_secs")]
    pub ring_timeout_secs: u64,
    /// How many calls Asterisk may be setting up at once (sent, the agent's channel not yet
    /// created); a burst beyond it waits in the gateway, in order, instead of starting
    /// hundreds of Asterisk threads at once.
    #[serde(default = "default_originate_window")]
    pub originate_window: usize,
}

/// `[[agents]]`: one agent, its extension and the hash of its token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// A unique name for logs and the audit (also the basic-auth user name on the legacy URL).
    pub name: String,
    /// The extension whose phone rings first; only this agent's token can ring it.
    pub extension: String,
    /// `sha256:…` as printed by `clickdial-gateway hash-token`.
    #[serde(deserialize_with = "deserialize_token_hash")]
    pub token_hash: TokenHash,
}

/// `[audit]`: the SQLite audit log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// The database file, created when missing.
    #[serde(default = "default_audit_path")]
    pub path: PathBuf,
    /// Wait for every record's commit to be flushed to the disk before answering, so it
    /// survives a power cut and not only the gateway being killed (costs a disk flush per
    /// batch of concurrent requests).
    #[serde(default)]
    pub fsync: bool,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            path: default_audit_path(),
            fsync: false,
        }
    }
}

/// `[limits]`: protection against floods, big bodies and slow peers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Calls one agent may start per minute.
    #[serde(default = "default_calls_per_minute")]
    pub calls_per_minute: u32,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Seconds a request may take before it is answered with a timeout.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Seconds a repeated `Idempotency-Key` returns the first call instead of a new one.
    #[serde(default = "default_idempotency_secs")]
    pub idempotency_window_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            calls_per_minute: default_calls_per_minute(),
            max_body_bytes: default_max_body_bytes(),
            request_timeout_secs: default_request_timeout_secs(),
            idempotency_window_secs: default_idempotency_secs(),
        }
    }
}

impl LimitsConfig {
    /// [`LimitsConfig::request_timeout_secs`] as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

/// `[legacy]`: the old `call.php?src=&dst=` URL, authenticated.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyConfig {
    /// Serve `GET /remote/call.php` (off by default).
    #[serde(default)]
    pub enabled: bool,
}

fn default_ami_port() -> u16 {
    5038
}
fn default_ring_secs() -> u64 {
    30
}
fn default_threads() -> usize {
    1
}
fn default_originate_window() -> usize {
    16
}
fn default_audit_path() -> PathBuf {
    PathBuf::from("clickdial-audit.sqlite")
}
fn default_calls_per_minute() -> u32 {
    20
}
fn default_max_body_bytes() -> usize {
    4096
}
fn default_request_timeout_secs() -> u64 {
    10
}
fn default_idempotency_secs() -> u64 {
    600
}

fn deserialize_token_hash<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TokenHash, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

impl Config {
    /// Reads, parses and validates a configuration file. A relative `[audit] path` or
    /// `secret_file` is taken relative to the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.audit.path = base.join(&config.audit.path);
        for file in [&mut config.ami.secret_file, &mut config.ami.tls_ca]
            .into_iter()
            .flatten()
        {
            *file = base.join(&*file);
        }
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_owned(),
                problems,
            })
        }
    }

    /// Parses TOML text without validating values; the error names line and column.
    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Every problem with the values, one line each naming its key; empty when usable.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let http = &self.http;
        if http.tls_cert.is_some() != http.tls_key.is_some() {
            problems.push("[http] tls_cert and tls_key must be given together".to_owned());
        }
        let ami = &self.ami;
        if ami.tls && ami.tls_ca.is_none() {
            problems.push(
                "[ami] tls = true needs tls_ca, the PEM certificate to verify Asterisk with"
                    .to_owned(),
            );
        }
        if ami.host.trim().is_empty() {
            problems.push("[ami] host is empty".to_owned());
        }
        if ami.username.is_empty() || !is_plain(&ami.username) {
            problems.push(
                "[ami] username must be a manager.conf account name (letters, digits, - _ .)"
                    .to_owned(),
            );
        }
        match (&ami.secret, &ami.secret_file) {
            (Some(_), Some(_)) => {
                problems.push("[ami] give either secret or secret_file, not both".to_owned())
            }
            (None, None) => problems.push("[ami] secret or secret_file is required".to_owned()),
            (Some(secret), None) if secret.contains(['\r', '\n', '\0']) => {
                problems.push("[ami] secret may not contain line breaks or NUL".to_owned())
            }
            _ => {}
        }
        if !ami.channel.contains(EXTENSION_PLACEHOLDER) {
            problems.push(format!(
                "[ami] channel {:?} must contain {EXTENSION_PLACEHOLDER}, e.g. \"PJSIP/{EXTENSION_PLACEHOLDER}\"",
                ami.channel
            ));
        } else if ami
            .channel
            .replace(EXTENSION_PLACEHOLDER, "")
            .contains(['{', '}'])
        {
            problems.push(format!(
                "[ami] channel {:?}: {EXTENSION_PLACEHOLDER} is the only placeholder",
                ami.channel
            ));
        }
        if ami.channel.contains(['\r', '\n', '\0']) || ami.context.contains(['\r', '\n', '\0']) {
            problems
                .push("[ami] channel and context may not contain line breaks or NUL".to_owned());
        }
        if ami.context.is_empty() || !is_plain(&ami.context) {
            problems.push(format!(
                "[ami] context {:?} must be a dialplan context name (letters, digits, - _ .)",
                ami.context
            ));
        }
        if !(1..=600).contains(&ami.ring_timeout_secs) {
            problems.push("[ami] ring_timeout_secs must be between 1 and 600".to_owned());
        }
        if !(1..=64).contains(&self.http.threads) {
            problems.push("[http] threads must be between 1 and 64".to_owned());
        }
        if !(1..=1000).contains(&ami.originate_window) {
            problems.push("[ami] originate_window must be between 1 and 1000".to_owned());
        }

        let mut names = HashSet::new();
        let mut extensions = HashSet::new();
        let mut tokens = HashSet::new();
        for (i, agent) in self.agents.iter().enumerate() {
            let at = format!("[[agents]] #{} ({:?})", i + 1, agent.name);
            if agent.name.is_empty() || !is_plain(&agent.name) {
                problems.push(format!("{at}: name must be letters, digits, - _ ."));
            }
            if !is_extension(&agent.extension) {
                problems.push(format!(
                    "{at}: extension {:?} must be 1-32 of letters, digits, - _ . + * #",
                    agent.extension
                ));
            }
            if !names.insert(agent.name.as_str()) {
                problems.push(format!("{at}: the name is used by an earlier agent"));
            }
            if !extensions.insert(agent.extension.as_str()) {
                problems.push(format!(
                    "{at}: extension {} already belongs to an earlier agent; each phone has one agent",
                    agent.extension
                ));
            }
            if !tokens.insert(&agent.token_hash) {
                problems.push(format!(
                    "{at}: token_hash is the same as an earlier agent's; give every agent its own token"
                ));
            }
        }

        let limits = &self.limits;
        if limits.calls_per_minute == 0 {
            problems.push("[limits] calls_per_minute must be at least 1".to_owned());
        }
        if !(64..=1 << 20).contains(&limits.max_body_bytes) {
            problems.push("[limits] max_body_bytes must be between 64 and 1048576".to_owned());
        }
        if !(1..=300).contains(&limits.request_timeout_secs) {
            problems.push("[limits] request_timeout_secs must be between 1 and 300".to_owned());
        }
        if !(limits.request_timeout_secs..=86_400).contains(&limits.idempotency_window_secs) {
            problems.push(format!(
                "[limits] idempotency_window_secs must be between request_timeout_secs ({}) and 86400, \
                 or a retry could race the request it repeats",
                limits.request_timeout_secs
            ));
        }
        problems
    }

    /// Advice about a usable configuration that is probably not what the operator wants.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let exposed = !self.http.listen.ip().is_loopback();
        if exposed && self.http.tls_cert.is_none() {
            warnings.push(format!(
                "[http] listens on {} without TLS: tokens cross the network in the clear; set tls_cert and tls_key",
                self.http.listen
            ));
        }
        if exposed && self.http.allow.is_empty() {
            warnings.push("[http] allow is empty: every address may try tokens; list your CRM and agent networks".to_owned());
        }
        if self.agents.is_empty() {
            warnings.push("no [[agents]]: every call request will be refused (401)".to_owned());
        }
        if self.ami.secret.is_some() {
            warnings.push("[ami] secret is inline: keep this file readable only by the gateway's user, or use secret_file".to_owned());
        }
        warnings
    }

    /// A plain-language summary of what this configuration does, for `check-config`.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let scheme = if self.http.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let _ = writeln!(
            out,
            "Listens on {scheme}://{} ({} serving HTTP and AMI)",
            self.http.listen,
            match self.http.threads {
                1 => "one thread".to_owned(),
                n => format!("{n} threads"),
            }
        );
        if self.http.allow.is_empty() {
            let _ = writeln!(out, "Accepts clients from any address");
        } else {
            let nets: Vec<String> = self.http.allow.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "Accepts clients only from {}", nets.join(", "));
        }
        let ami = &self.ami;
        let _ = writeln!(
            out,
            "Originates through AMI{} at {}:{} as '{}': rings {} for up to {} s, then dials the number in context '{}'; at most {} calls being set up in Asterisk at once",
            if ami.tls { " over TLS" } else { "" },
            ami.host,
            ami.port,
            ami.username,
            ami.channel,
            ami.ring_timeout_secs,
            ami.context,
            ami.originate_window
        );
        let dial = &self.dial;
        let outside = match dial.outside_prefix.as_str() {
            "" => "no outside-line prefix".to_owned(),
            p => format!("outside-line prefix {p}"),
        };
        let _ = writeln!(
            out,
            "Numbers: home country {}, {outside}, internal extensions up to {} digits{}",
            dial.country,
            dial.internal_max_len,
            if dial.e164 {
                ", external numbers dialed as +E.164"
            } else {
                ""
            }
        );
        let policy = &self.policy;
        let _ = writeln!(
            out,
            "Policy: international calls {}, {} allow and {} deny pattern(s), dial strings up to {} characters",
            if policy.international {
                "allowed"
            } else {
                "refused"
            },
            policy.allow.len(),
            policy.deny.len(),
            policy.max_len
        );
        let _ = writeln!(out, "{} agent(s):", self.agents.len());
        for agent in &self.agents {
            let channel = ami.channel.replace(EXTENSION_PLACEHOLDER, &agent.extension);
            let _ = writeln!(out, "  {} rings {channel}", agent.name);
        }
        let _ = writeln!(
            out,
            "Limits: {} calls/minute per agent, bodies up to {} bytes, requests time out after {} s, \
             repeated Idempotency-Keys honoured for {} s",
            self.limits.calls_per_minute,
            self.limits.max_body_bytes,
            self.limits.request_timeout_secs,
            self.limits.idempotency_window_secs
        );
        let _ = writeln!(
            out,
            "Audit log: {} ({})",
            self.audit.path.display(),
            if self.audit.fsync {
                "each request flushed to disk: survives a power cut"
            } else {
                "each request in the spool beside it before the answer, in SQLite right \
                 after: survives the gateway being killed"
            }
        );
        let _ = writeln!(
            out,
            "Legacy /remote/call.php: {}",
            if self.legacy.enabled {
                "enabled (authenticated)"
            } else {
                "disabled"
            }
        );
        out
    }
}

/// Names that go into AMI headers or dialplan: ASCII letters, digits, `-`, `_`, `.`.
fn is_plain(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// An extension or endpoint name: 1–32 characters a PJSIP endpoint or dialplan extension uses.
fn is_extension(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+*#".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH_A: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const HASH_B: &str = "sha256:cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed";

    fn minimal() -> String {
        format!(
            r#"
[http]
listen = "127.0.0.1:8080"

[ami]
host = "127.0.0.1"
username = "clickdial"
secret = "clickdial-secret"
channel = "Local/{{extension}}@agents"
context = "extensiones-locales"

[dial]
country = "ES"

[[agents]]
name = "ana"
extension = "10"
token_hash = "{HASH_A}"
"#
        )
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let config = Config::parse(&minimal()).unwrap();
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!(config.ami.port, 5038);
        assert_eq!(config.ami.ring_timeout_secs, 30);
        assert_eq!(config.ami.originate_window, 16);
        assert_eq!(config.http.threads, 1);
        assert_eq!(config.limits.calls_per_minute, 20);
        assert!(!config.legacy.enabled);
        assert_eq!(config.agents[0].token_hash, HASH_A.parse().unwrap());
        let explained = config.explain();
        assert!(
            explained.contains("ana rings Local/10@agents"),
            "{explained}"
        );
        assert!(
            explained.contains("Legacy /remote/call.php: disabled"),
            "{explained}"
        );
        assert!(explained.contains("(one thread serving"), "{explained}");
    }

    #[test]
    fn syntax_errors_name_the_place() {
        let err = Config::parse("[http]\nlisten = 8080\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        let err = Config::parse(&(minimal() + "\n[ami2]\nx = 1\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ami2"), "{err}");
        let err = Config::parse(&minimal().replace(HASH_A, "sha256:abc"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("64 hex digits"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = minimal()
            .replace("listen = ", "threads = 0\nlisten = ")
            .replace("Local/{extension}@agents", "Local/{ext}@agents")
            .replace("extensiones-locales", "bad context")
            .replace("secret = \"clickdial-secret\"", "")
            + &format!(
                "\n[[agents]]\nname = \"ana\"\nextension = \"10\"\ntoken_hash = \"{HASH_A}\"\n"
            )
            + &format!(
                "\n[[agents]]\nname = \"bob\"\nextension = \"10\\r\\nAction: Originate\"\ntoken_hash = \"{HASH_B}\"\n"
            );
        let problems = Config::parse(&text).unwrap().problems();
        let all = problems.join("\n");
        for expected in [
            "[ami] channel \"Local/{ext}@agents\" must contain {extension}",
            "[ami] context \"bad context\"",
            "[ami] secret or secret_file is required",
            "[http] threads must be between 1 and 64",
            "the name is used by an earlier agent",
            "extension 10 already belongs to an earlier agent",
            "token_hash is the same as an earlier agent's",
            "#3 (\"bob\"): extension \"10\\r\\nAction: Originate\" must be",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
    }

    #[test]
    fn load_resolves_relative_paths_and_reports_io_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, minimal()).unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.audit.path, dir.path().join("clickdial-audit.sqlite"));

        let err = Config::load(&dir.path().join("missing.toml")).unwrap_err();
        assert!(err.to_string().starts_with("cannot read "), "{err}");

        std::fs::write(&path, minimal().replace("\"10\"", "\"\"")).unwrap();
        let err = Config::load(&path).unwrap_err();
        assert!(err.to_string().contains("1 problem(s)"), "{err}");
    }

    #[test]
    fn exposed_plain_http_without_allowlist_is_warned_about() {
        let config = Config::parse(&minimal().replace("127.0.0.1:8080", "0.0.0.0:8080")).unwrap();
        let warnings = config.warnings().join("\n");
        assert!(warnings.contains("without TLS"), "{warnings}");
        assert!(warnings.contains("allow is empty"), "{warnings}");
    }
}

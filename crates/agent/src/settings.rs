//! The app's settings: one TOML file in the platform config directory, chosen by the caller.
//!
//! Every field has a default, so a file written by an older version (or by hand, with only
//! a few keys) still loads. A file that cannot be read is an error naming the file, line and
//! column: it is never silently replaced. [`Settings::problems`] lists what the settings
//! window must ask the agent to fix before a call can be placed.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clickdial_dial::{Country, DialRules};
use serde::{Deserialize, Serialize};

use crate::hotkey::is_valid_hotkey;

/// The largest settings file read, in bytes; a bigger one is refused as not ours.
pub const MAX_SETTINGS_LEN: u64 = 1024 * 1024;

/// The longest preview before dialing, in seconds.
pub const MAX_PREVIEW_SECS: u32 = 30;

/// The placeholder in [`Connection::Ami`]'s channel template replaced by the extension.
pub const EXTENSION_PLACEHOLDER: &str = "{extension}";

/// The longest extension, context or channel template accepted, in bytes (Asterisk's
/// `AST_MAX_EXTENSION` and `AST_MAX_CONTEXT` are 80 including the terminator).
const MAX_NAME_LEN: usize = 79;

/// The desktop app's settings, as stored in its TOML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The language of the app's texts.
    pub language: Language,
    /// The agent's own extension, e.g. `10`: the phone that rings first.
    pub extension: String,
    /// How calls are placed: straight through the PBX's AMI, or through a clickdial gateway.
    pub connection: Connection,
    /// How a number becomes the digits this site's Asterisk dials.
    pub dial: DialRules,
    /// The global shortcut that dials the selected text, e.g. `Ctrl+Alt+D`.
    pub hotkey: String,
    /// Whether the global shortcuts are switched off for now (from the tray menu).
    pub hotkey_paused: bool,
    /// The global shortcut that dials the number on the clipboard, e.g. `Ctrl+Alt+C`.
    pub clipboard_hotkey: String,
    /// How the selection shortcut (and the tray's "Dial selection") reads the selected text.
    pub selection: SelectionMethod,
    /// Whether the app starts with the desktop session.
    pub autostart: bool,
    /// Whether call progress is shown as desktop notifications.
    pub notifications: bool,
    /// Seconds the number is shown, cancellable, before it is dialed; 0 dials at once.
    pub preview_secs: u32,
}

/// The language of the app's texts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// The desktop session's language when the app has it, else English.
    #[default]
    Auto,
    /// English.
    En,
    /// Spanish.
    Es,
}

/// How the selected text is read when the agent asks to dial the selection.
///
/// Only X11 has a selection other programs can read ([`SelectionMethod::Primary`]); on Windows
/// and macOS the app always copies, whatever the file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectionMethod {
    /// X11's PRIMARY selection: what is highlighted, read without touching the clipboard.
    Primary,
    /// Copy and restore: the app presses the copy shortcut (Ctrl+C, Cmd+C on macOS) in the
    /// program in front, reads the clipboard, then puts the clipboard's previous content back.
    /// For programs that do not publish the X11 selection.
    Copy,
}

impl Default for SelectionMethod {
    /// [`SelectionMethod::Primary`] where X11 has it (Linux and the BSDs), else
    /// [`SelectionMethod::Copy`].
    fn default() -> SelectionMethod {
        if cfg!(any(target_os = "windows", target_os = "macos")) {
            SelectionMethod::Copy
        } else {
            SelectionMethod::Primary
        }
    }
}

/// How the app places calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Connection {
    /// Straight to Asterisk's manager interface; the secret is kept in the OS keyring.
    Ami {
        /// The PBX's host name or address.
        #[serde(default)]
        host: String,
        /// The AMI port (5038, or usually 5039 with TLS).
        #[serde(default = "default_port")]
        port: u16,
        /// The AMI user from manager.conf.
        #[serde(default)]
        username: String,
        /// Whether the connection is TLS.
        #[serde(default)]
        tls: bool,
        /// The agent's channel, with `{extension}` where the extension goes.
        #[serde(default = "default_channel")]
        channel: String,
        /// The dialplan context the number is dialed in.
        #[serde(default = "default_context")]
        context: String,
    },
    /// Through a clickdial gateway; its token is kept in the OS keyring.
    Gateway {
        /// The gateway's base URL, e.g. `https://pbx.example.com:8443`.
        #[serde(default)]
        url: String,
    },
}

/// Something in the settings the agent must fix, for the settings window to show by the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Problem {
    /// The setting's path in the file, e.g. `extension` or `connection.host`.
    pub field: &'static str,
    /// What is wrong with it.
    pub kind: ProblemKind,
}

/// What is wrong with one setting; serialized in snake_case for the UI to translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// No extension is set.
    ExtensionMissing,
    /// The extension has characters other than letters, digits and `_ - . + * #`, or is too
    /// long.
    ExtensionInvalid,
    /// No PBX host is set.
    HostMissing,
    /// The host has spaces, control characters or other characters no host name has.
    HostInvalid,
    /// The port is 0.
    PortInvalid,
    /// No AMI user is set.
    UsernameMissing,
    /// The AMI user has control characters, or is too long.
    UsernameInvalid,
    /// The channel template has no `{extension}`.
    ChannelTemplateMissingExtension,
    /// The channel template is not `Technology/resource` or has spaces or control characters.
    ChannelTemplateInvalid,
    /// The context is empty, too long, or has characters other than letters, digits and
    /// `_ - . +`.
    ContextInvalid,
    /// No gateway URL is set.
    UrlMissing,
    /// The gateway URL is not an `http(s)://host[:port][/path]` URL.
    UrlInvalid,
    /// The gateway URL is plain `http` to another machine: the token would travel in clear.
    UrlNotHttps,
    /// The shortcut is not modifiers (Ctrl, Alt, Shift, Super) and a key joined by `+`.
    HotkeyInvalid,
    /// Both shortcuts are the same key.
    HotkeyDuplicate,
    /// The preview is longer than 30 seconds.
    PreviewTooLong,
}

/// Why the settings file could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file exists but could not be read.
    #[error("cannot read the settings file {path}: {source}; check that it is readable")]
    Read {
        /// The settings file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is bigger than any settings file clickdial writes.
    #[error(
        "the settings file {path} is {len} bytes, more than the {MAX_SETTINGS_LEN} a settings \
         file can be; move it away to start with fresh settings"
    )]
    TooLarge {
        /// The settings file.
        path: PathBuf,
        /// Its size in bytes.
        len: u64,
    },
    /// The file is not valid TOML or has a value of the wrong kind.
    #[error(
        "the settings file {path} is broken at line {line}, column {column}: {message}; fix \
         that line or move the file away to start with fresh settings"
    )]
    Parse {
        /// The settings file.
        path: PathBuf,
        /// The line of the mistake, from 1.
        line: usize,
        /// The column of the mistake, from 1, in characters.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// The settings could not be written.
    #[error("cannot save the settings to {path}: {source}; check that the folder is writable")]
    Write {
        /// The settings file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The settings could not be turned into TOML.
    #[error("cannot save the settings: {0}")]
    Serialize(#[from] toml::ser::Error),
}

impl Default for Settings {
    /// First-run settings: AMI mode with nothing filled in, the dial rules of
    /// [`default_country`].
    fn default() -> Settings {
        Settings {
            language: Language::Auto,
            extension: String::new(),
            connection: Connection::default(),
            dial: DialRules::new(default_country()),
            hotkey: "Ctrl+Alt+D".to_owned(),
            hotkey_paused: false,
            clipboard_hotkey: "Ctrl+Alt+C".to_owned(),
            selection: SelectionMethod::default(),
            autostart: false,
            notifications: true,
            preview_secs: 3,
        }
    }
}

impl Default for Connection {
    /// AMI on port 5038 with the default channel and context, no host or user yet.
    fn default() -> Connection {
        Connection::Ami {
            host: String::new(),
            port: default_port(),
            username: String::new(),
            tls: false,
            channel: default_channel(),
            context: default_context(),
        }
    }
}

/// The serde default of the AMI port.
fn default_port() -> u16 {
    5038
}

/// The serde default of the AMI channel template.
fn default_channel() -> String {
    format!("PJSIP/{EXTENSION_PLACEHOLDER}")
}

/// The serde default of the AMI context.
fn default_context() -> String {
    "from-internal".to_owned()
}

/// The home country for first-run dial rules: the region of the session's locale
/// (`LC_ALL`, `LC_MESSAGES`, `LANG`, e.g. `es_ES.UTF-8` → ES), else US.
pub fn default_country() -> Country {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|value| !value.is_empty())
        .and_then(|locale| country_of_locale(&locale))
        .unwrap_or_else(|| Country::new("US").expect("US is a country"))
}

/// The country of a POSIX locale name like `es_ES.UTF-8` or `pt_BR@euro`.
fn country_of_locale(locale: &str) -> Option<Country> {
    let region = locale.split(['.', '@']).next()?.split_once('_')?.1;
    Country::new(region).ok()
}

impl Settings {
    /// Reads the settings at `path`; `Ok(None)` when there is no file yet (the first run).
    pub fn load(path: &Path) -> Result<Option<Settings>, SettingsError> {
        let read_error = |source| SettingsError::Read {
            path: path.to_owned(),
            source,
        };
        let file = match fs::File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(read_error(error)),
        };
        let len = file.metadata().map_err(read_error)?.len();
        if len > MAX_SETTINGS_LEN {
            return Err(SettingsError::TooLarge {
                path: path.to_owned(),
                len,
            });
        }
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::Read::take(file, MAX_SETTINGS_LEN + 1), &mut bytes)
            .map_err(read_error)?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                let at = error.utf8_error().valid_up_to();
                let (line, column) = line_column(&String::from_utf8_lossy(error.as_bytes()), at);
                return Err(SettingsError::Parse {
                    path: path.to_owned(),
                    line,
                    column,
                    message: "the file is not UTF-8 text".to_owned(),
                });
            }
        };
        Settings::from_toml(&text)
            .map(Some)
            .map_err(|error| parse_error(path, &text, &error))
    }

    /// Parses settings from TOML text, without any file.
    pub fn from_toml(text: &str) -> Result<Settings, toml::de::Error> {
        toml::from_str(text)
    }

    /// The settings as TOML text, as [`Settings::save`] writes them.
    pub fn to_toml(&self) -> Result<String, SettingsError> {
        Ok(toml::to_string(self)?)
    }

    /// Writes the settings to `path` atomically (a temporary file in the same folder, then a
    /// rename), readable by the user alone, creating the folder when missing.
    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        let text = self.to_toml()?;
        let write_error = |source| SettingsError::Write {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        create_private_dir(dir).map_err(write_error)?;
        let mut file = tempfile::Builder::new()
            .prefix(".settings-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(write_error)?;
        restrict_to_owner(file.as_file()).map_err(write_error)?;
        file.write_all(text.as_bytes()).map_err(write_error)?;
        file.as_file().sync_all().map_err(write_error)?;
        file.persist(path)
            .map_err(|error| write_error(error.error))?;
        Ok(())
    }

    /// Everything the agent must fix before a call can be placed; empty when all is well.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut report = |field, kind| problems.push(Problem { field, kind });
        if self.extension.is_empty() {
            report("extension", ProblemKind::ExtensionMissing);
        } else if !is_valid_extension(&self.extension) {
            report("extension", ProblemKind::ExtensionInvalid);
        }
        match &self.connection {
            Connection::Ami {
                host,
                port,
                username,
                tls: _,
                channel,
                context,
            } => {
                if host.is_empty() {
                    report("connection.host", ProblemKind::HostMissing);
                } else if !is_valid_host(host) {
                    report("connection.host", ProblemKind::HostInvalid);
                }
                if *port == 0 {
                    report("connection.port", ProblemKind::PortInvalid);
                }
                if username.is_empty() {
                    report("connection.username", ProblemKind::UsernameMissing);
                } else if !is_valid_username(username) {
                    report("connection.username", ProblemKind::UsernameInvalid);
                }
                if !is_valid_channel(channel) {
                    report("connection.channel", ProblemKind::ChannelTemplateInvalid);
                } else if !channel.contains(EXTENSION_PLACEHOLDER) {
                    report(
                        "connection.channel",
                        ProblemKind::ChannelTemplateMissingExtension,
                    );
                }
                if !is_valid_context(context) {
                    report("connection.context", ProblemKind::ContextInvalid);
                }
            }
            Connection::Gateway { url } => {
                if let Some(kind) = url_problem(url) {
                    report("connection.url", kind);
                }
            }
        }
        if !is_valid_hotkey(&self.hotkey) {
            report("hotkey", ProblemKind::HotkeyInvalid);
        }
        if !is_valid_hotkey(&self.clipboard_hotkey) {
            report("clipboard_hotkey", ProblemKind::HotkeyInvalid);
        } else if crate::hotkey::same_hotkey(&self.hotkey, &self.clipboard_hotkey) {
            report("clipboard_hotkey", ProblemKind::HotkeyDuplicate);
        }
        if self.preview_secs > MAX_PREVIEW_SECS {
            report("preview_secs", ProblemKind::PreviewTooLong);
        }
        problems
    }

    /// The agent's channel in AMI mode, e.g. `PJSIP/10`; `None` in gateway mode or while the
    /// extension or the channel template has a problem.
    pub fn channel_for(&self) -> Option<String> {
        let Connection::Ami { channel, .. } = &self.connection else {
            return None;
        };
        if !is_valid_extension(&self.extension)
            || !is_valid_channel(channel)
            || !channel.contains(EXTENSION_PLACEHOLDER)
        {
            return None;
        }
        Some(channel.replace(EXTENSION_PLACEHOLDER, &self.extension))
    }
}

impl Problem {
    /// The problem in English, for logs and the command line.
    pub fn message(&self) -> &'static str {
        match self.kind {
            ProblemKind::ExtensionMissing => "enter your extension, e.g. 10",
            ProblemKind::ExtensionInvalid => {
                "the extension may only hold letters, digits and _ - . + * # (at most 79)"
            }
            ProblemKind::HostMissing => "enter the PBX's host name or address",
            ProblemKind::HostInvalid => "the host is not a valid host name or address",
            ProblemKind::PortInvalid => "the port must be between 1 and 65535",
            ProblemKind::UsernameMissing => "enter the AMI user from manager.conf",
            ProblemKind::UsernameInvalid => {
                "the AMI user may not hold control characters (at most 79 bytes)"
            }
            ProblemKind::ChannelTemplateMissingExtension => {
                "the channel must contain {extension}, e.g. PJSIP/{extension}"
            }
            ProblemKind::ChannelTemplateInvalid => {
                "the channel must look like PJSIP/{extension}, without spaces"
            }
            ProblemKind::ContextInvalid => {
                "the context may only hold letters, digits and _ - . + (at most 79)"
            }
            ProblemKind::UrlMissing => "enter the gateway's URL, e.g. https://pbx.example.com",
            ProblemKind::UrlInvalid => "the gateway URL must look like https://host[:port][/path]",
            ProblemKind::UrlNotHttps => {
                "use https for the gateway: plain http is only allowed to this computer"
            }
            ProblemKind::HotkeyInvalid => {
                "a shortcut is modifiers (Ctrl, Alt, Shift, Super) and a key, e.g. Ctrl+Alt+D"
            }
            ProblemKind::HotkeyDuplicate => "the two shortcuts must differ",
            ProblemKind::PreviewTooLong => "the preview can last at most 30 seconds",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

/// Turns a TOML error into [`SettingsError::Parse`] with the line and column of its span.
fn parse_error(path: &Path, text: &str, error: &toml::de::Error) -> SettingsError {
    let (line, column) = line_column(text, error.span().map_or(0, |span| span.start));
    SettingsError::Parse {
        path: path.to_owned(),
        line,
        column,
        message: error.message().trim().to_owned(),
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Creates `dir` and its parents when missing; on Unix a new folder is the user's alone.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes `file` readable and writable by its owner alone (mode 0600) on Unix.
fn restrict_to_owner(file: &fs::File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

/// Whether `text` holds no CR, LF or NUL, which would inject AMI headers.
fn is_header_safe(text: &str) -> bool {
    clickdial_ami::Value::new(text).is_ok()
}

/// Whether `extension` is a usable extension: 1 to 79 letters, digits or `_ - . + * #`.
fn is_valid_extension(extension: &str) -> bool {
    !extension.is_empty()
        && extension.len() <= MAX_NAME_LEN
        && extension
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.+*#".contains(&b))
}

/// Whether `host` looks like a host name, IPv4 or IPv6 address (optionally in brackets).
fn is_valid_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    !bare.is_empty()
        && bare.len() <= 253
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:%".contains(&b))
}

/// Whether the AMI user can go into a `Username:` header: no control characters.
fn is_valid_username(username: &str) -> bool {
    username.len() <= MAX_NAME_LEN
        && is_header_safe(username)
        && !username.chars().any(char::is_control)
}

/// Whether `channel` looks like `Technology/resource` without spaces or control characters.
fn is_valid_channel(channel: &str) -> bool {
    let Some((tech, resource)) = channel.split_once('/') else {
        return false;
    };
    channel.len() <= MAX_NAME_LEN
        && is_header_safe(channel)
        && !tech.is_empty()
        && tech.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !resource.is_empty()
        && !channel.chars().any(|c| c.is_whitespace() || c.is_control())
        && channel
            .replace(EXTENSION_PLACEHOLDER, "")
            .find(['{', '}'])
            .is_none()
}

/// Whether `context` is a dialplan context name: 1 to 79 letters, digits or `_ - . +`.
fn is_valid_context(context: &str) -> bool {
    !context.is_empty()
        && context.len() <= MAX_NAME_LEN
        && context
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.+".contains(&b))
}

/// What is wrong with a gateway URL, if anything.
///
/// `https://` is required, except that `http://` is allowed to this computer (`localhost`,
/// `127.0.0.0/8`, `[::1]`), where nothing travels over the network.
fn url_problem(url: &str) -> Option<ProblemKind> {
    if url.is_empty() {
        return Some(ProblemKind::UrlMissing);
    }
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(ProblemKind::UrlInvalid);
    }
    let (https, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
        (true, rest)
    } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
        (false, rest)
    } else {
        return Some(ProblemKind::UrlInvalid);
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Some(ProblemKind::UrlInvalid);
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => {
            let Some((host, after)) = v6.split_once(']') else {
                return Some(ProblemKind::UrlInvalid);
            };
            if !after.is_empty() && !is_port_suffix(after) {
                return Some(ProblemKind::UrlInvalid);
            }
            host
        }
        None => match authority.split_once(':') {
            Some((host, port)) if is_port_suffix(&format!(":{port}")) => host,
            Some(_) => return Some(ProblemKind::UrlInvalid),
            None => authority,
        },
    };
    if host.is_empty() || !is_valid_host(host) {
        return Some(ProblemKind::UrlInvalid);
    }
    (!https && !is_loopback(host)).then_some(ProblemKind::UrlNotHttps)
}

/// Whether `text` is `:` and a port from 1 to 65535.
fn is_port_suffix(text: &str) -> bool {
    text.strip_prefix(':')
        .is_some_and(|port| port.parse::<u16>().is_ok_and(|port| port != 0))
}

/// Whether `host` names this computer: `localhost`, an address in 127.0.0.0/8, or `::1`.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `text` without `prefix`, compared ignoring ASCII case.
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ami() -> Settings {
        Settings {
            extension: "10".to_owned(),
            connection: Connection::Ami {
                host: "pbx.example.com".to_owned(),
                port: 5038,
                username: "clickdial".to_owned(),
                tls: false,
                channel: default_channel(),
                context: default_context(),
            },
            dial: DialRules::new(Country::new("ES").unwrap()),
            ..Settings::default()
        }
    }

    fn gateway(url: &str) -> Settings {
        Settings {
            connection: Connection::Gateway {
                url: url.to_owned(),
            },
            ..ami()
        }
    }

    fn kinds(settings: &Settings) -> Vec<(&'static str, ProblemKind)> {
        settings
            .problems()
            .into_iter()
            .map(|p| (p.field, p.kind))
            .collect()
    }

    #[test]
    fn complete_settings_have_no_problems() {
        assert_eq!(kinds(&ami()), []);
        assert_eq!(kinds(&gateway("https://pbx.example.com:8443/cd")), []);
    }

    #[test]
    fn first_run_settings_ask_for_extension_host_and_user() {
        assert_eq!(
            kinds(&Settings::default()),
            [
                ("extension", ProblemKind::ExtensionMissing),
                ("connection.host", ProblemKind::HostMissing),
                ("connection.username", ProblemKind::UsernameMissing),
            ]
        );
    }

    #[test]
    fn channel_for_substitutes_the_extension() {
        assert_eq!(ami().channel_for().as_deref(), Some("PJSIP/10"));
        let mut settings = ami();
        if let Connection::Ami { channel, .. } = &mut settings.connection {
            *channel = "Local/{extension}@from-internal/n".to_owned();
        }
        assert_eq!(
            settings.channel_for().as_deref(),
            Some("Local/10@from-internal/n")
        );
        assert_eq!(gateway("https://x").channel_for(), None);
        let no_extension = Settings {
            extension: String::new(),
            ..ami()
        };
        assert_eq!(no_extension.channel_for(), None);
    }

    #[test]
    fn header_injection_is_a_problem_everywhere() {
        let mut settings = ami();
        settings.extension = "10\r\nAction: Logoff".to_owned();
        settings.connection = Connection::Ami {
            host: "pbx\n".to_owned(),
            port: 0,
            username: "u\0".to_owned(),
            tls: true,
            channel: "PJSIP/{extension}\r\nX: y".to_owned(),
            context: "from internal".to_owned(),
        };
        assert_eq!(
            kinds(&settings),
            [
                ("extension", ProblemKind::ExtensionInvalid),
                ("connection.host", ProblemKind::HostInvalid),
                ("connection.port", ProblemKind::PortInvalid),
                ("connection.username", ProblemKind::UsernameInvalid),
                ("connection.channel", ProblemKind::ChannelTemplateInvalid),
                ("connection.context", ProblemKind::ContextInvalid),
            ]
        );
        assert_eq!(settings.channel_for(), None);
    }

    #[test]
    fn channel_templates() {
        for (template, problem) in [
            ("PJSIP/{extension}", None),
            ("SIP/{extension}", None),
            ("Local/{extension}@agents", None),
            (
                "PJSIP/10",
                Some(ProblemKind::ChannelTemplateMissingExtension),
            ),
            ("{extension}", Some(ProblemKind::ChannelTemplateInvalid)),
            ("/{extension}", Some(ProblemKind::ChannelTemplateInvalid)),
            ("PJSIP/{ext}", Some(ProblemKind::ChannelTemplateInvalid)),
            (
                "PJSIP/ {extension}",
                Some(ProblemKind::ChannelTemplateInvalid),
            ),
            ("", Some(ProblemKind::ChannelTemplateInvalid)),
        ] {
            let mut settings = ami();
            if let Connection::Ami { channel, .. } = &mut settings.connection {
                *channel = template.to_owned();
            }
            let found: Vec<_> = settings.problems().into_iter().map(|p| p.kind).collect();
            assert_eq!(found, problem.into_iter().collect::<Vec<_>>(), "{template}");
        }
    }

    #[test]
    fn gateway_urls() {
        for (url, problem) in [
            ("https://pbx.example.com", None),
            ("HTTPS://pbx.example.com/", None),
            ("https://10.0.0.5:8443/clickdial", None),
            ("https://[2001:db8::1]:8443", None),
            ("http://localhost:8080", None),
            ("http://127.0.0.1:8080/x", None),
            ("http://[::1]:8080", None),
            ("http://pbx.example.com", Some(ProblemKind::UrlNotHttps)),
            ("http://10.0.0.5", Some(ProblemKind::UrlNotHttps)),
            ("", Some(ProblemKind::UrlMissing)),
            ("pbx.example.com", Some(ProblemKind::UrlInvalid)),
            ("ftp://pbx.example.com", Some(ProblemKind::UrlInvalid)),
            ("https://", Some(ProblemKind::UrlInvalid)),
            ("https://pbx:0", Some(ProblemKind::UrlInvalid)),
            ("https://pbx:99999", Some(ProblemKind::UrlInvalid)),
            ("https://user:pw@pbx", Some(ProblemKind::UrlInvalid)),
            ("https://pbx example", Some(ProblemKind::UrlInvalid)),
            ("https://pbx\r\n", Some(ProblemKind::UrlInvalid)),
            ("https://[::1", Some(ProblemKind::UrlInvalid)),
            ("https://pbx/ñ", None),
            ("https://pbx.ñ", Some(ProblemKind::UrlInvalid)),
        ] {
            assert_eq!(url_problem(url), problem, "{url:?}");
        }
    }

    #[test]
    fn preview_and_hotkeys() {
        let mut settings = ami();
        settings.preview_secs = MAX_PREVIEW_SECS;
        assert_eq!(kinds(&settings), []);
        settings.preview_secs = MAX_PREVIEW_SECS + 1;
        settings.hotkey = "Ctrl+".to_owned();
        assert_eq!(
            kinds(&settings),
            [
                ("hotkey", ProblemKind::HotkeyInvalid),
                ("preview_secs", ProblemKind::PreviewTooLong),
            ]
        );
        settings.preview_secs = 0;
        settings.hotkey = "ctrl+alt+c".to_owned();
        assert_eq!(
            kinds(&settings),
            [("clipboard_hotkey", ProblemKind::HotkeyDuplicate)]
        );
    }

    #[test]
    fn selection_method_round_trips_and_defaults() {
        let mut settings = ami();
        settings.selection = SelectionMethod::Copy;
        let text = settings.to_toml().unwrap();
        assert!(text.contains("selection = \"copy\""), "{text}");
        assert_eq!(Settings::from_toml(&text).unwrap(), settings);
        settings.selection = SelectionMethod::Primary;
        let text = settings.to_toml().unwrap();
        assert!(text.contains("selection = \"primary\""), "{text}");
        assert_eq!(Settings::from_toml(&text).unwrap(), settings);
        // A file written before the setting existed loads with the platform's default.
        let old = "extension = \"10\"\nhotkey = \"Ctrl+Alt+D\"\n\n[connection]\nmode = \"ami\"\n";
        let loaded = Settings::from_toml(old).unwrap();
        assert_eq!(loaded.selection, SelectionMethod::default());
        assert_eq!(loaded.extension, "10");
        #[cfg(target_os = "linux")]
        assert_eq!(SelectionMethod::default(), SelectionMethod::Primary);
        #[cfg(any(target_os = "windows", target_os = "macos"))]
        assert_eq!(SelectionMethod::default(), SelectionMethod::Copy);
        // An unknown method is an error naming the choices, not a silent default.
        let wrong = Settings::from_toml("selection = \"middle\"\n").unwrap_err();
        assert!(wrong.to_string().contains("primary"), "{wrong}");
    }

    #[test]
    fn problem_kinds_serialize_in_snake_case() {
        let problem = Problem {
            field: "connection.channel",
            kind: ProblemKind::ChannelTemplateMissingExtension,
        };
        assert_eq!(
            serde_json::to_string(&problem).unwrap(),
            r#"{"field":"connection.channel","kind":"channel_template_missing_extension"}"#
        );
        assert_eq!(
            problem.to_string(),
            "connection.channel: the channel must contain {extension}, e.g. PJSIP/{extension}"
        );
    }

    #[test]
    fn locale_countries() {
        assert_eq!(country_of_locale("es_ES.UTF-8"), Country::new("ES").ok());
        assert_eq!(country_of_locale("pt_BR@euro"), Country::new("BR").ok());
        assert_eq!(country_of_locale("C.UTF-8"), None);
        assert_eq!(country_of_locale("POSIX"), None);
        assert_eq!(country_of_locale("en_ZZ"), None);
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_column("", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ñx", 2), (1, 2));
        assert_eq!(line_column("ñx", 1), (1, 1));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}

//! "Check this computer" in settings: is clickdial the handler of tel:/callto: links, do its
//! hotkeys work, is the keyring reachable, is the PBX (or gateway) reachable — each with a
//! plain-language finding and, where the app can, a fix.

use std::sync::Arc;

use clickdial_connect::LinkState;
use serde::Serialize;

use crate::core::Core;
use crate::host::Host;

/// The link schemes clickdial handles.
pub const SCHEMES: [&str; 3] = ["tel", "callto", "sip"];

/// The schemes whose handler "Check this computer" insists on.
const CHECKED: [&str; 2] = ["tel", "callto"];

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `handler`, `hotkey`, `keyring` or `connection`.
    pub id: &'static str,
    /// Whether all is well.
    pub ok: bool,
    /// The finding and what to do, in the agent's language.
    pub message: String,
    /// What the settings window can do about it: `register_handler`, `edit_hotkey`,
    /// `test_connection`.
    pub fix: Option<&'static str>,
}

/// All findings.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// One per check, in a fixed order.
    pub checks: Vec<Check>,
}

/// Runs every check.
pub fn run(host: &dyn Host, core: &Arc<Core>) -> Report {
    Report {
        checks: vec![
            handler(core),
            hotkey(host, core),
            keyring(core),
            connection(core),
        ],
    }
}

/// Who opens a scheme's links, as far as the system tells.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(
    target_os = "macos",
    expect(dead_code, reason = "macOS does not tell which app opens links")
)]
enum Opener {
    /// clickdial.
    Clickdial,
    /// Another application, as the system names it (empty: none).
    Other(String),
    /// The system does not tell apps (macOS, here).
    #[cfg(target_os = "macos")]
    Untold,
}

/// What registering clickdial for the links achieved.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(
    target_os = "macos",
    expect(dead_code, reason = "macOS registers the links from the bundle")
)]
enum Registered {
    /// clickdial opens them now.
    Default,
    /// clickdial is offered; the agent picks it in the system settings that were opened.
    #[cfg(windows)]
    AgentChooses,
}

#[cfg(target_os = "linux")]
use xdg as platform;

#[cfg(windows)]
use registry as platform;

#[cfg(target_os = "macos")]
use launch_services as platform;

fn handler(core: &Core) -> Check {
    let mut others = Vec::new();
    for scheme in CHECKED {
        match platform::opener(scheme) {
            Ok(Opener::Clickdial) => {}
            Ok(Opener::Other(app)) if app.is_empty() => others.push(format!("{scheme}: —")),
            Ok(Opener::Other(app)) => others.push(format!("{scheme}: {app}")),
            #[cfg(target_os = "macos")]
            Ok(Opener::Untold) => {
                return Check {
                    id: "handler",
                    ok: true,
                    message: core.text("check.handler_unchecked", &[]),
                    fix: None,
                };
            }
            Err(e) => others.push(e),
        }
    }
    let ok = others.is_empty();
    Check {
        id: "handler",
        ok,
        message: if ok {
            core.text("check.handler_ok", &[])
        } else {
            core.text("check.handler_other", &[("detail", &others.join(", "))])
        },
        fix: (!ok).then_some("register_handler"),
    }
}

fn hotkey(host: &dyn Host, core: &Core) -> Check {
    let settings = core.settings();
    let (ok, message, fix) = if core.info().wayland {
        (false, core.text("check.hotkey_wayland", &[]), None)
    } else if settings.hotkey_paused {
        (
            false,
            core.text("check.hotkey_paused", &[("hotkey", &settings.hotkey)]),
            None,
        )
    } else if host.hotkey_registered(&settings.hotkey) {
        (
            true,
            core.text("check.hotkey_ok", &[("hotkey", &settings.hotkey)]),
            None,
        )
    } else {
        let message = core.text("check.hotkey_taken", &[("hotkey", &settings.hotkey)]);
        (false, message, Some("edit_hotkey"))
    };
    Check {
        id: "hotkey",
        ok,
        message,
        fix,
    }
}

fn keyring(core: &Core) -> Check {
    let (ok, message) = match core.has_secret() {
        Ok(_) if core.is_demo() => (true, core.text("check.keyring_demo", &[])),
        Ok(true) => (true, core.text("check.keyring_ok", &[])),
        Ok(false) => (false, core.text("check.keyring_empty", &[])),
        Err(e) => (false, e.message),
    };
    Check {
        id: "keyring",
        ok,
        message,
        fix: None,
    }
}

fn connection(core: &Core) -> Check {
    let (ok, message) = match core.link_state() {
        LinkState::Up => (true, core.text("check.connection_ok", &[])),
        LinkState::Connecting => (false, core.text("state.connecting", &[])),
        LinkState::Down { reason } => (
            false,
            core.text("state.disconnected", &[("reason", &reason)]),
        ),
    };
    Check {
        id: "connection",
        ok,
        message,
        fix: (!ok).then_some("test_connection"),
    }
}

/// Makes clickdial the desktop's application for tel:, callto: and sip: links (on Windows:
/// registers it and opens the settings where the agent picks it).
pub fn register_handler(core: &Core) -> (bool, String) {
    match platform::register() {
        Ok(Registered::Default) => (true, core.text("check.handler_registered", &[])),
        #[cfg(windows)]
        Ok(Registered::AgentChooses) => (true, core.text("check.handler_choose", &[])),
        Err(detail) => (
            false,
            core.text("check.handler_failed", &[("detail", &detail)]),
        ),
    }
}

/// `program` as a desktop entry's `Exec` wants it: quoted (with `"`, `` ` ``, `$` and `\`
/// escaped) when it holds a reserved character, as is otherwise.
pub fn desktop_exec_quote(program: &str) -> String {
    let reserved = |c: char| " \t\n\"'\\><~|&;$*?#()`".contains(c);
    if !program.contains(reserved) {
        return program.to_owned();
    }
    let escaped: String = program
        .chars()
        .flat_map(|c| match c {
            '"' | '`' | '$' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

/// Linux: the desktop's MIME defaults, through `xdg-mime`.
#[cfg(target_os = "linux")]
mod xdg {
    use super::{Opener, Registered, SCHEMES};

    /// Who opens `scheme` links: the desktop's default application for them.
    pub fn opener(scheme: &str) -> Result<Opener, String> {
        let output = std::process::Command::new("xdg-mime")
            .args(["query", "default", &format!("x-scheme-handler/{scheme}")])
            .output()
            .map_err(|e| format!("xdg-mime: {e}"))?;
        let app = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        Ok(if app.starts_with("clickdial") {
            Opener::Clickdial
        } else {
            Opener::Other(app)
        })
    }

    /// A `clickdial-handler.desktop` for this very binary (or its AppImage) in the user's
    /// applications folder, made the default for each scheme with `xdg-mime`.
    pub fn register() -> Result<Registered, String> {
        let exe = match std::env::var_os("APPIMAGE") {
            Some(image) => std::path::PathBuf::from(image),
            None => std::env::current_exe().map_err(|e| e.to_string())?,
        };
        let program = super::desktop_exec_quote(&exe.to_string_lossy());
        let mime: String = SCHEMES
            .iter()
            .map(|s| format!("x-scheme-handler/{s};"))
            .collect();
        let entry = format!(
            "[Desktop Entry]\nType=Application\nName=clickdial\nExec={program} %u\nTerminal=false\n\
             NoDisplay=true\nMimeType={mime}\n"
        );
        let folder = dirs::data_dir()
            .ok_or("no data folder (HOME is not set)")?
            .join("applications");
        std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        let file = folder.join("clickdial-handler.desktop");
        std::fs::write(&file, entry).map_err(|e| format!("{}: {e}", file.display()))?;
        for scheme in SCHEMES {
            let status = std::process::Command::new("xdg-mime")
                .args(["default", "clickdial-handler.desktop"])
                .arg(format!("x-scheme-handler/{scheme}"))
                .status()
                .map_err(|e| format!("xdg-mime: {e}"))?;
            if !status.success() {
                return Err(format!("xdg-mime default … {scheme}: {status}"));
            }
        }
        Ok(Registered::Default)
    }
}

/// Windows: the current user's classes. Windows 10 and later let only the user choose the
/// default application for a scheme, so clickdial registers itself as a candidate (a ProgId,
/// the schemes' own keys, and Capabilities listed in RegisteredApplications so that it shows
/// in the Default apps settings) and opens those settings.
#[cfg(windows)]
mod registry {
    use windows_registry::{CLASSES_ROOT, CURRENT_USER};

    use super::{CHECKED, Opener, Registered, SCHEMES};

    /// The ProgId clickdial's links open with.
    const PROG_ID: &str = "clickdial.link";

    /// Where clickdial's Capabilities are, under the current user's key.
    const CAPABILITIES: &str = r"Software\clickdial\Capabilities";

    /// The command that opens a link with this very program.
    fn command() -> Result<String, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        Ok(format!("\"{}\" \"%1\"", exe.display()))
    }

    /// Who opens `scheme` links: the user's choice, or else the classes' command.
    pub fn opener(scheme: &str) -> Result<Opener, String> {
        let choice = CURRENT_USER
            .open(format!(
                r"Software\Microsoft\Windows\Shell\Associations\UrlAssociations\{scheme}\UserChoice"
            ))
            .and_then(|key| key.get_string("ProgId"));
        if let Ok(prog_id) = choice {
            return Ok(if prog_id.eq_ignore_ascii_case(PROG_ID) {
                Opener::Clickdial
            } else {
                Opener::Other(prog_id)
            });
        }
        let opens = CLASSES_ROOT
            .open(format!(r"{scheme}\shell\open\command"))
            .and_then(|key| key.get_string(""));
        Ok(match opens {
            Ok(line) if line.eq_ignore_ascii_case(&command()?) => Opener::Clickdial,
            Ok(line) => Opener::Other(line),
            Err(_) => Opener::Other(String::new()),
        })
    }

    /// Registers clickdial for the schemes and opens the Default apps settings unless the
    /// user already chose it.
    pub fn register() -> Result<Registered, String> {
        let command = command()?;
        write(&command).map_err(|e| e.to_string())?;
        if CHECKED
            .iter()
            .all(|scheme| opener(scheme) == Ok(Opener::Clickdial))
        {
            return Ok(Registered::Default);
        }
        std::process::Command::new("explorer")
            .arg("ms-settings:defaultapps?registeredAppUser=clickdial")
            .spawn()
            .map_err(|e| format!("ms-settings:defaultapps: {e}"))?;
        Ok(Registered::AgentChooses)
    }

    /// The keys: the ProgId, each scheme, the Capabilities and their registration.
    fn write(command: &str) -> windows_registry::Result<()> {
        let classes = CURRENT_USER.create(r"Software\Classes")?;
        let prog_id = classes.create(PROG_ID)?;
        prog_id.set_string("", "clickdial link")?;
        prog_id
            .create(r"shell\open\command")?
            .set_string("", command)?;
        let capabilities = CURRENT_USER.create(CAPABILITIES)?;
        capabilities.set_string("ApplicationName", "clickdial")?;
        capabilities.set_string(
            "ApplicationDescription",
            "Click-to-dial for call centers that run Asterisk",
        )?;
        let associations = capabilities.create("URLAssociations")?;
        for scheme in SCHEMES {
            let key = classes.create(scheme)?;
            key.set_string("", format!("URL:{scheme}"))?;
            key.set_string("URL Protocol", "")?;
            key.create(r"shell\open\command")?.set_string("", command)?;
            associations.set_string(scheme, PROG_ID)?;
        }
        CURRENT_USER
            .create(r"Software\RegisteredApplications")?
            .set_string("clickdial", CAPABILITIES)
    }
}

/// macOS: the app bundle's Info.plist declares the schemes (`src-tauri/Info.plist`), and
/// Launch Services registers them when the app is installed. Asking it which application is the
/// default (`LSCopyDefaultHandlerForURLScheme`) is a Core Services call this crate does not
/// make.
#[cfg(target_os = "macos")]
mod launch_services {
    use super::{Opener, Registered};

    /// Who opens `scheme` links: not told.
    pub fn opener(_scheme: &str) -> Result<Opener, String> {
        Ok(Opener::Untold)
    }

    /// Nothing to do beyond what the bundle declares.
    pub fn register() -> Result<Registered, String> {
        Err("macOS registers clickdial for the links from its app bundle".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_lines_quote_only_what_needs_it() {
        assert_eq!(
            desktop_exec_quote("/usr/bin/clickdial"),
            "/usr/bin/clickdial"
        );
        assert_eq!(
            desktop_exec_quote("/home/ana/My Apps/clickdial"),
            "\"/home/ana/My Apps/clickdial\""
        );
        assert_eq!(desktop_exec_quote("/opt/$x/a\"b"), "\"/opt/\\$x/a\\\"b\"");
    }
}

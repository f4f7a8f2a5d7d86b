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

/// The desktop's default application for `scheme` links, if it says.
fn default_handler(scheme: &str) -> Result<String, String> {
    let output = std::process::Command::new("xdg-mime")
        .args(["query", "default", &format!("x-scheme-handler/{scheme}")])
        .output()
        .map_err(|e| format!("xdg-mime: {e}"))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn handler(core: &Core) -> Check {
    let mut others = Vec::new();
    for scheme in ["tel", "callto"] {
        match default_handler(scheme) {
            Ok(app) if app.starts_with("clickdial") => {}
            Ok(app) if app.is_empty() => others.push(format!("{scheme}: —")),
            Ok(app) => others.push(format!("{scheme}: {app}")),
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

/// Makes clickdial the desktop's application for tel:, callto: and sip: links.
pub fn register_handler(core: &Core) -> (bool, String) {
    match register() {
        Ok(()) => (true, core.text("check.handler_registered", &[])),
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

/// A `clickdial-handler.desktop` for this very binary (or its AppImage) in the user's
/// applications folder, made the default for each scheme with `xdg-mime`.
fn register() -> Result<(), String> {
    let exe = match std::env::var_os("APPIMAGE") {
        Some(image) => std::path::PathBuf::from(image),
        None => std::env::current_exe().map_err(|e| e.to_string())?,
    };
    let program = desktop_exec_quote(&exe.to_string_lossy());
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
    Ok(())
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

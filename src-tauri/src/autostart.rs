//! Starting with the desktop session: an XDG autostart entry (`~/.config/autostart`) that
//! starts clickdial in the tray, without opening any window.

use std::path::PathBuf;

/// The autostart entry's path.
fn entry() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("autostart/clickdial.desktop"))
}

/// Turns starting at login on or off.
pub fn set(enabled: bool) -> Result<(), String> {
    let path = entry().ok_or("no config folder (HOME is not set)")?;
    if !enabled {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("{}: {e}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let exe = match std::env::var_os("APPIMAGE") {
        Some(image) => PathBuf::from(image),
        None => std::env::current_exe().map_err(|e| e.to_string())?,
    };
    let text = format!(
        "[Desktop Entry]\nType=Application\nName=clickdial\nExec={} --background\n\
         Terminal=false\nX-GNOME-Autostart-enabled=true\n",
        crate::checks::desktop_exec_quote(&exe.to_string_lossy())
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

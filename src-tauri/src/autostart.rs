//! Starting with the desktop session, in the tray and without opening any window: an XDG
//! autostart entry (`~/.config/autostart`) on Linux; elsewhere what auto-launch writes (the
//! current user's `Run` key on Windows, a LaunchAgent on macOS).

#[cfg(target_os = "linux")]
use std::path::PathBuf;

/// The autostart entry's path.
#[cfg(target_os = "linux")]
fn entry() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("autostart/clickdial.desktop"))
}

/// Turns starting at login on or off.
#[cfg(target_os = "linux")]
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

/// Turns starting at login on or off.
#[cfg(not(target_os = "linux"))]
pub fn set(enabled: bool) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let exe = exe.to_string_lossy();
    let mut builder = auto_launch::AutoLaunchBuilder::new();
    builder
        .set_app_name("clickdial")
        .set_args(&["--background"]);
    // The Run key's value is a command line: a path with spaces (`C:\Program Files\…`) is
    // quoted. A LaunchAgent lists the program and its arguments apart.
    #[cfg(windows)]
    builder
        .set_app_path(&format!("\"{exe}\""))
        .set_windows_enable_mode(auto_launch::WindowsEnableMode::CurrentUser);
    #[cfg(not(windows))]
    builder
        .set_app_path(&exe)
        .set_macos_launch_mode(auto_launch::MacOSLaunchMode::LaunchAgent);
    let launch = builder.build().map_err(|e| e.to_string())?;
    let result = match (enabled, launch.is_enabled()) {
        (true, _) => launch.enable(),
        (false, Ok(false)) => Ok(()),
        (false, _) => launch.disable(),
    };
    result.map_err(|e| e.to_string())
}

//! Where the app keeps its files, known before Tauri starts (the command line needs them).

use std::path::PathBuf;

/// The app's identifier in `tauri.conf.json`; the folders are named after it.
pub const IDENTIFIER: &str = "org.clickdial.app";

/// `$var` when set, else `base()/org.clickdial.app`.
fn folder(var: &str, base: fn() -> Option<PathBuf>) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => base().map(|dir| dir.join(IDENTIFIER)),
    }
}

/// The settings folder: `CLICKDIAL_CONFIG_DIR`, or e.g. `~/.config/org.clickdial.app`.
pub fn config_dir() -> Option<PathBuf> {
    folder("CLICKDIAL_CONFIG_DIR", dirs::config_dir)
}

/// The history's folder: `CLICKDIAL_DATA_DIR`, or e.g. `~/.local/share/org.clickdial.app`.
pub fn data_dir() -> Option<PathBuf> {
    folder("CLICKDIAL_DATA_DIR", dirs::data_dir)
}

/// The settings file.
pub fn settings_file() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join("settings.toml"))
}

/// Where the running app's socket lives: `CLICKDIAL_RUNTIME_DIR`, or the session's runtime
/// folder (`$XDG_RUNTIME_DIR/org.clickdial.app`), or the cache folder when there is none.
pub fn runtime_dir() -> Option<PathBuf> {
    folder("CLICKDIAL_RUNTIME_DIR", || {
        dirs::runtime_dir().or_else(dirs::cache_dir)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identifier_is_the_one_tauri_uses() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        assert_eq!(conf["identifier"], IDENTIFIER);
    }
}

//! What the commands need from the process that runs them: the tray process acts on the
//! desktop (hotkeys, autostart, windows); the commands' tests use a stand-in.

use std::sync::Arc;

use clickdial_agent::Settings;

use crate::core::Core;

/// The desktop side of the commands.
pub trait Host: Send + Sync {
    /// Applies what saved settings change outside the app (hotkeys, autostart); `before`
    /// are the previous settings.
    fn apply_os_settings(&self, core: &Arc<Core>, before: &Settings);
    /// Whether `hotkey` is registered by this app now.
    fn hotkey_registered(&self, hotkey: &str) -> bool;
    /// Sends `event` with `payload` to the open windows.
    fn publish(&self, event: &str, payload: serde_json::Value);
}

/// A host with no desktop: nothing to register, no windows (the commands' tests).
#[derive(Debug, Default)]
pub struct Headless;

impl Host for Headless {
    fn apply_os_settings(&self, _core: &Arc<Core>, _before: &Settings) {}

    fn hotkey_registered(&self, _hotkey: &str) -> bool {
        false
    }

    fn publish(&self, _event: &str, _payload: serde_json::Value) {}
}

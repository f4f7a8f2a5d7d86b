//! The global hotkeys: one dials the selection, one the clipboard. They are X11-only on
//! Linux; on Wayland none is registered and settings say so.

use std::sync::Arc;

use clickdial_agent::Trigger;
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutState};

use crate::core::Core;
use crate::selection;

/// The global-shortcut plugin, routing presses to the dial triggers.
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|app, shortcut, event| {
            if event.state() != ShortcutState::Pressed {
                return;
            }
            let core = crate::core(app);
            let settings = core.settings();
            let is = |text: &str| text.parse::<Shortcut>().is_ok_and(|s| s == *shortcut);
            // Reading the selection is an X11 round trip: not on the event loop.
            if is(&settings.hotkey) {
                std::thread::spawn(move || {
                    crate::dial_from(&core, Trigger::Hotkey, selection::selection());
                });
            } else if is(&settings.clipboard_hotkey) {
                std::thread::spawn(move || {
                    crate::dial_from(&core, Trigger::Clipboard, selection::clipboard());
                });
            }
        })
        .build()
}

/// Registers the hotkeys the settings name (none while paused, before setup, or on
/// Wayland); a hotkey another program holds is reported, not fatal.
pub fn apply<R: Runtime>(app: &AppHandle<R>, core: &Arc<Core>) {
    if app
        .try_state::<tauri_plugin_global_shortcut::GlobalShortcut<R>>()
        .is_none()
    {
        return; // Built without the plugin (tests of the commands).
    }
    let shortcuts = app.global_shortcut();
    if let Err(e) = shortcuts.unregister_all() {
        tracing::warn!(error = %e, "cannot release the hotkeys");
    }
    let settings = core.settings();
    if settings.hotkey_paused || core.is_first_run() || core.info().wayland {
        return;
    }
    for hotkey in [&settings.hotkey, &settings.clipboard_hotkey] {
        let registered = hotkey
            .parse::<Shortcut>()
            .map_err(|e| e.to_string())
            .and_then(|shortcut| shortcuts.register(shortcut).map_err(|e| e.to_string()));
        if let Err(detail) = registered {
            core.report(&core.text("error.hotkey", &[("hotkey", hotkey), ("detail", &detail)]));
        }
    }
}

/// Whether `hotkey` is registered by this app now.
pub fn is_registered<R: Runtime>(app: &AppHandle<R>, hotkey: &str) -> bool {
    app.try_state::<tauri_plugin_global_shortcut::GlobalShortcut<R>>()
        .is_some()
        && hotkey
            .parse::<Shortcut>()
            .is_ok_and(|shortcut| app.global_shortcut().is_registered(shortcut))
}

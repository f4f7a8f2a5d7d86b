//! The global hotkeys: one dials the selection, one the clipboard. X11 only on Linux: on
//! Wayland none is registered and settings say so. The manager lives on the main thread.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use clickdial_agent::Trigger;
use global_hotkey::hotkey::HotKey;
use global_hotkey::{GlobalHotKeyEvent, GlobalHotKeyManager, HotKeyState};

use crate::core::Core;
use crate::selection;

thread_local! {
    /// The manager and what it holds, owned by the main thread.
    static MANAGER: RefCell<Option<(GlobalHotKeyManager, Vec<HotKey>)>> = const { RefCell::new(None) };
}

/// Which hotkeys are registered now, by their text (e.g. `Ctrl+Alt+D`).
#[derive(Debug, Default, Clone)]
pub struct Registered {
    by_text: Arc<Mutex<HashMap<String, bool>>>,
}

impl Registered {
    /// Whether `hotkey` is registered by this app.
    pub fn is_registered(&self, hotkey: &str) -> bool {
        self.by_text
            .lock()
            .expect("hotkeys lock")
            .get(hotkey)
            .copied()
            .unwrap_or(false)
    }
}

/// Routes hotkey presses to the dial triggers (presses arrive on the hotkey thread).
pub fn listen(core: &Arc<Core>) {
    let core = core.clone();
    GlobalHotKeyEvent::set_event_handler(Some(move |event: GlobalHotKeyEvent| {
        if event.state != HotKeyState::Pressed {
            return;
        }
        let settings = core.settings();
        let is = |text: &str| text.parse::<HotKey>().is_ok_and(|k| k.id() == event.id);
        let core = core.clone();
        // Reading the selection is an X11 round trip: on a thread of its own.
        if is(&settings.hotkey) {
            tracing::debug!(method = ?settings.selection, "the selection hotkey was pressed");
            std::thread::spawn(move || {
                let text = selection::read_selection(settings.selection);
                crate::desktop::dial_from(&core, Trigger::Hotkey, text);
            });
        } else if is(&settings.clipboard_hotkey) {
            std::thread::spawn(move || {
                crate::desktop::dial_from(&core, Trigger::Clipboard, selection::clipboard());
            });
        }
    }));
}

/// Registers the hotkeys the settings name (none while paused, before setup, or on
/// Wayland); a hotkey another program holds is reported, not fatal. Any thread.
pub fn apply(core: &Arc<Core>, registered: &Registered) {
    let core = core.clone();
    let registered = registered.clone();
    crate::mainloop::invoke(move || apply_here(&core, &registered));
}

/// [`apply`] on the main thread.
fn apply_here(core: &Arc<Core>, registered: &Registered) {
    MANAGER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            match GlobalHotKeyManager::new() {
                Ok(manager) => *cell = Some((manager, Vec::new())),
                Err(e) => {
                    tracing::warn!(error = %e, "no global hotkeys");
                    return;
                }
            }
        }
        let Some((manager, held)) = cell.as_mut() else {
            return;
        };
        if let Err(e) = manager.unregister_all(held) {
            tracing::warn!(error = %e, "cannot release the hotkeys");
        }
        held.clear();
        let mut by_text = registered.by_text.lock().expect("hotkeys lock");
        by_text.clear();
        let settings = core.settings();
        if settings.hotkey_paused || core.is_first_run() || core.info().wayland {
            return;
        }
        for text in [&settings.hotkey, &settings.clipboard_hotkey] {
            let result = text
                .parse::<HotKey>()
                .map_err(|e| e.to_string())
                .and_then(|key| {
                    manager
                        .register(key)
                        .map(|()| key)
                        .map_err(|e| e.to_string())
                });
            match result {
                Ok(key) => {
                    held.push(key);
                    by_text.insert(text.clone(), true);
                }
                Err(detail) => {
                    by_text.insert(text.clone(), false);
                    let message =
                        core.text("error.hotkey", &[("hotkey", text), ("detail", &detail)]);
                    let core = core.clone();
                    // Not under the lock: reporting updates the tray.
                    std::thread::spawn(move || core.report(&message));
                }
            }
        }
    });
}

//! clickdial's desktop tray app: the agent selects a number anywhere, presses a hotkey (or
//! picks "Dial clipboard" from the tray), and Asterisk rings their phone, then the number.
//!
//! The app is thin glue: [`core::Core`] holds the state and the dialing logic over
//! `clickdial-agent` (settings, keyring, history), `clickdial-connect` (AMI or gateway) and
//! `clickdial-dial` (numbers); this crate adds the tray, the windows of the web UI in `ui/`,
//! the notifications and the hotkeys.

pub mod commands;
pub mod core;
pub mod hotkeys;
pub mod i18n;
pub mod notify;
pub mod selection;
pub mod status;
pub mod surface;
pub mod tray;
pub mod windows;

use std::path::PathBuf;
use std::sync::Arc;

use clickdial_agent::{History, KeyringStore, Settings, Trigger};
use tauri::{AppHandle, Manager, Runtime};

use crate::core::{Core, Storage};
use crate::windows::View;

/// The keyring service the app's secrets are stored under.
pub const KEYRING_SERVICE: &str = "clickdial";

/// How this run starts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Start straight into demo mode, in the tray, with no window.
    pub demo: bool,
}

/// The app's core from Tauri's managed state.
pub fn core<R: Runtime>(app: &AppHandle<R>) -> Arc<Core> {
    app.state::<Arc<Core>>().inner().clone()
}

/// Where the settings file and the history live: `CLICKDIAL_CONFIG_DIR` and
/// `CLICKDIAL_DATA_DIR` when set (tests, portable installs), else the platform's folders.
fn folders<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<(PathBuf, PathBuf)> {
    let config = match std::env::var_os("CLICKDIAL_CONFIG_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => app.path().app_config_dir()?,
    };
    let data = match std::env::var_os("CLICKDIAL_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => app.path().app_data_dir()?,
    };
    Ok((config, data))
}

/// Opens the real storage; what cannot be opened is reported and replaced by memory, so the
/// app still starts and nothing on disk is overwritten.
fn open_storage<R: Runtime>(
    app: &AppHandle<R>,
) -> tauri::Result<(Storage, Option<Settings>, Vec<String>)> {
    let (config_dir, data_dir) = folders(app)?;
    let settings_path = config_dir.join("settings.toml");
    let mut notes = Vec::new();
    let catalogue = i18n::Catalogue::builtin();
    let lang = i18n::Lang::resolve(clickdial_agent::Language::Auto);
    let (settings, settings_path) = match Settings::load(&settings_path) {
        Ok(settings) => (settings, Some(settings_path)),
        Err(e) => {
            notes.push(catalogue.text(
                lang,
                "error.settings_broken",
                &[("detail", &e.to_string())],
            ));
            // Keep the broken file as it is: this run's settings stay in memory.
            (None, None)
        }
    };
    let history = match History::open(&data_dir.join("history.db")) {
        Ok(history) => {
            if let Some(recovered) = history.recovered() {
                let path = recovered.moved_to.display().to_string();
                notes.push(catalogue.text(lang, "error.history_recovered", &[("path", &path)]));
            }
            history
        }
        Err(e) => {
            notes.push(catalogue.text(lang, "error.history", &[("detail", &e.to_string())]));
            History::in_memory()
        }
    };
    let storage = Storage {
        settings_path,
        secrets: Arc::new(KeyringStore::new(KEYRING_SERVICE)),
        history,
    };
    Ok((storage, settings, notes))
}

/// Applies what the settings change outside the app: hotkeys and (except in demo mode)
/// autostart. `before` is the previous settings.
pub fn apply_os_settings<R: Runtime>(app: &AppHandle<R>, core: &Arc<Core>, before: &Settings) {
    hotkeys::apply(app, core);
    let settings = core.settings();
    let has_plugin = app
        .try_state::<tauri_plugin_autostart::AutoLaunchManager>()
        .is_some();
    if core.is_demo() || settings.autostart == before.autostart || !has_plugin {
        return;
    }
    use tauri_plugin_autostart::ManagerExt;
    let autolaunch = app.autolaunch();
    let result = if settings.autostart {
        autolaunch.enable()
    } else {
        autolaunch.disable()
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot change autostart");
    }
}

/// Runs what a tray menu entry says.
fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let core = core(app);
    let open = |view| {
        if let Err(e) = windows::open(app, view) {
            tracing::warn!(error = %e, "cannot open a window");
        }
    };
    match id {
        "dial_clipboard" => dial_from(&core, Trigger::Tray, selection::clipboard()),
        "dial_selection" => dial_from(&core, Trigger::Selection, selection::selection()),
        "dial_number" => open(View::Dial),
        "history" => open(View::History),
        "settings" if core.is_first_run() => open(View::Setup),
        "settings" => open(View::Settings),
        "hangup" => {
            tauri::async_runtime::spawn(async move {
                if let Err(e) = core.hangup().await {
                    core.report(&e.message);
                }
            });
        }
        "toggle_hotkey" => {
            let before = core.settings();
            let mut settings = before.clone();
            settings.hotkey_paused = !settings.hotkey_paused;
            match core.save_settings(settings, None) {
                Ok(()) => apply_os_settings(app, &core, &before),
                Err(e) => core.report(&e.message),
            }
        }
        "quit" => app.exit(0),
        other => {
            if let Some(entry) = other.strip_prefix("recent:").and_then(|n| n.parse().ok()) {
                let _guard = tauri::async_runtime::handle().inner().enter();
                if let Err(e) = core.redial(entry) {
                    core.report(&e.message);
                }
            }
        }
    }
}

/// Dials the text a trigger read, or says why there is none.
pub fn dial_from(core: &Arc<Core>, trigger: Trigger, text: Result<String, selection::ReadError>) {
    let text = match text {
        Ok(text) => text,
        Err(selection::ReadError::Empty) => {
            let key = match trigger {
                Trigger::Selection | Trigger::Hotkey => "error.empty_selection",
                _ => "error.empty_clipboard",
            };
            core.report(&core.text(key, &[]));
            return;
        }
        Err(selection::ReadError::Failed(detail)) => {
            core.report(&core.text("error.clipboard", &[("detail", &detail)]));
            return;
        }
    };
    let _guard = tauri::async_runtime::handle().inner().enter();
    if let Err(e) = core.trigger(&text, trigger) {
        core.report(&e.message);
    }
}

/// Starts the app and runs until the agent quits.
pub fn run(options: Options) -> anyhow::Result<()> {
    let builder = tauri::Builder::default()
        .plugin(hotkeys::plugin())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .setup(move |app| {
            let handle = app.handle().clone();
            let (storage, settings, notes) = open_storage(&handle)?;
            let core = Core::new(storage, settings, false);
            app.manage(core.clone());
            core.set_surface(surface::DesktopSurface::new(handle.clone(), &core));
            tray::create(&handle, &core, on_menu)?;
            if options.demo {
                let started = tauri::async_runtime::block_on(core.start_demo());
                started.map_err(|e| anyhow::anyhow!(e.message))?;
            } else {
                let _guard = tauri::async_runtime::handle().inner().enter();
                core.reconnect();
                if core.is_first_run() {
                    windows::open(&handle, View::Setup)?;
                }
            }
            hotkeys::apply(&handle, &core);
            for note in notes {
                core.report(&note);
            }
            Ok(())
        });
    commands::register(builder)
        .build(tauri::generate_context!())?
        .run(|_app, event| {
            // Closing the last window keeps the app in the tray.
            if let tauri::RunEvent::ExitRequested {
                api, code: None, ..
            } = event
            {
                api.prevent_exit();
            }
        });
    Ok(())
}

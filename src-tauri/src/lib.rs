//! clickdial's desktop tray app: the agent selects a number anywhere, presses a hotkey (or
//! picks "Dial clipboard" from the tray), and Asterisk rings their phone, then the number.
//!
//! The app is thin glue: [`core::Core`] holds the state and the dialing logic over
//! `clickdial-agent` (settings, keyring, history), `clickdial-connect` (AMI or gateway) and
//! `clickdial-dial` (numbers); this crate adds the tray, the windows of the web UI in `ui/`,
//! the notifications and the hotkeys.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod core;
pub mod hotkeys;
pub mod i18n;
pub mod instance;
pub mod notify;
pub mod paths;
pub mod selection;
pub mod status;
pub mod surface;
pub mod tray;
pub mod window;
pub mod windows;

use std::sync::Arc;

use anyhow::Context as _;

use clickdial_agent::{History, KeyringStore, Settings, Trigger};
use tauri::{AppHandle, Manager, Runtime};

use crate::core::{Core, Storage};
use crate::instance::{Reply, Request};
use crate::windows::View;

/// The keyring service the app's secrets are stored under.
pub const KEYRING_SERVICE: &str = "clickdial";

/// How this run starts.
#[derive(Debug, Default)]
pub struct Options {
    /// Start straight into demo mode, in the tray, with no window.
    pub demo: bool,
    /// Open no window at start, not even the first-run one.
    pub background: bool,
    /// What to do once started (a link or `clickdial dial …` that started the app).
    pub startup: Option<Request>,
    /// The single-instance socket to answer later launches on.
    pub listener: Option<std::os::unix::net::UnixListener>,
}

/// Sends `event` to the window processes (and any window of this process).
pub fn publish<R: Runtime>(app: &AppHandle<R>, event: &str, payload: &impl serde::Serialize) {
    use tauri::Emitter;
    if let Some(subscribers) = app.try_state::<instance::Subscribers>() {
        subscribers.publish(event, payload);
    }
    if let Err(e) = app.emit(event, payload) {
        tracing::warn!(error = %e, event, "cannot emit");
    }
}

/// The app's core from Tauri's managed state.
pub fn core<R: Runtime>(app: &AppHandle<R>) -> Arc<Core> {
    app.state::<Arc<Core>>().inner().clone()
}

/// Opens the real storage; what cannot be opened is reported and replaced by memory, so the
/// app still starts and nothing on disk is overwritten.
fn open_storage() -> anyhow::Result<(Storage, Option<Settings>, Vec<String>, bool)> {
    let config_dir = paths::config_dir().context("no settings folder: set HOME")?;
    let data_dir = paths::data_dir().context("no data folder: set HOME")?;
    let settings_path = config_dir.join("settings.toml");
    let mut notes = Vec::new();
    let catalogue = i18n::Catalogue::builtin();
    let lang = i18n::Lang::resolve(clickdial_agent::Language::Auto);
    let mut damaged = false;
    let settings = match Settings::load(&settings_path) {
        Ok(settings) => settings,
        Err(e) => {
            notes.push(catalogue.text(
                lang,
                "error.settings_broken",
                &[("detail", &e.to_string())],
            ));
            // The damaged file stays as it is until the agent saves: then it is moved aside.
            damaged = true;
            None
        }
    };
    let settings_path = Some(settings_path);
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
    Ok((storage, settings, notes, damaged))
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
        // Reading the selection is an X11 round trip: not on the event loop.
        "dial_clipboard" => {
            std::thread::spawn(move || dial_from(&core, Trigger::Tray, selection::clipboard()));
        }
        "dial_selection" => {
            std::thread::spawn(move || {
                dial_from(&core, Trigger::Selection, selection::selection())
            });
        }
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

/// How long a start by a link waits for the PBX before dialing anyway.
const STARTUP_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// Carries out what a later launch (or the start itself) asked for.
pub fn handle_request<R: Runtime>(app: &AppHandle<R>, request: Request) -> Reply {
    let core = core(app);
    let (trigger, text) = match request {
        Request::Invoke { command, args } => {
            let result =
                tauri::async_runtime::block_on(commands::dispatch(app, &core, &command, args));
            let (ok, value) = match result {
                Ok(value) => (true, value),
                Err(value) => (false, value),
            };
            return Reply {
                ok,
                message: String::new(),
                value,
            };
        }
        Request::Subscribe => {
            return Reply::said(false, "subscriptions are served by the socket");
        }
        Request::Show => {
            let view = if core.is_first_run() {
                View::Setup
            } else {
                View::Settings
            };
            return match windows::open(app, view) {
                Ok(()) => Reply::said(true, core.text("cli.shown", &[])),
                Err(e) => Reply::said(false, e.to_string()),
            };
        }
        Request::Dial { text } => (Trigger::Link, Ok(text)),
        Request::DialClipboard => (Trigger::Clipboard, selection::clipboard()),
        Request::DialSelection => (Trigger::Selection, selection::selection()),
    };
    let text = match text {
        Ok(text) => text,
        Err(e) => return Reply::said(false, read_error(&core, trigger, e)),
    };
    let _guard = tauri::async_runtime::handle().inner().enter();
    match core.trigger(&text, trigger) {
        Ok(Some(_)) => {
            let status = core.call_status();
            let message = status
                .map(|status| format!("{} — {}", status.number, status.text))
                .unwrap_or_default();
            Reply::said(true, message)
        }
        Ok(None) => Reply::said(true, core.text("cli.pick", &[])),
        Err(e) => Reply::said(false, e.message),
    }
}

/// The agent's words for text that could not be read.
fn read_error(core: &Core, trigger: Trigger, error: selection::ReadError) -> String {
    match error {
        selection::ReadError::Empty => {
            let key = match trigger {
                Trigger::Selection | Trigger::Hotkey => "error.empty_selection",
                _ => "error.empty_clipboard",
            };
            core.text(key, &[])
        }
        selection::ReadError::Failed(detail) => {
            core.text("error.clipboard", &[("detail", &detail)])
        }
    }
}

/// Dials the text a trigger read, or says why there is none.
pub fn dial_from(core: &Arc<Core>, trigger: Trigger, text: Result<String, selection::ReadError>) {
    let text = match text {
        Ok(text) => text,
        Err(e) => {
            core.report(&read_error(core, trigger, e));
            return;
        }
    };
    let _guard = tauri::async_runtime::handle().inner().enter();
    if let Err(e) = core.trigger(&text, trigger) {
        core.report(&e.message);
    }
}

/// Starts the app and runs until the agent quits.
pub fn run(mut options: Options) -> anyhow::Result<()> {
    let builder = tauri::Builder::default()
        .plugin(hotkeys::plugin())
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .setup(move |app| {
            let handle = app.handle().clone();
            // Demo mode opens nothing on disk: not even the history file.
            let (storage, settings, notes, damaged) = if options.demo {
                let storage = Storage {
                    settings_path: None,
                    secrets: Arc::new(clickdial_agent::MemoryStore::new()),
                    history: History::in_memory(),
                };
                (storage, None, Vec::new(), false)
            } else {
                open_storage()?
            };
            let core = Core::new(storage, settings, false);
            if damaged {
                core.set_settings_damaged();
            }
            app.manage(core.clone());
            app.manage(windows::Children::default());
            let subscribers = instance::Subscribers::default();
            app.manage(subscribers.clone());
            core.set_surface(surface::DesktopSurface::new(handle.clone(), &core));
            tray::create(&handle, &core, on_menu)?;
            if options.demo {
                let started = tauri::async_runtime::block_on(core.start_demo());
                started.map_err(|e| anyhow::anyhow!(e.message))?;
            } else {
                let _guard = tauri::async_runtime::handle().inner().enter();
                core.reconnect();
                if core.is_first_run() && !options.background {
                    windows::open(&handle, View::Setup)?;
                }
            }
            hotkeys::apply(&handle, &core);
            for note in notes {
                core.report(&note);
            }
            {
                // macOS hands links to the running app as events; Linux and Windows start
                // `clickdial <link>`, which reaches this app through the instance socket.
                use tauri_plugin_deep_link::DeepLinkExt;
                let app = handle.clone();
                handle.deep_link().on_open_url(move |event| {
                    for url in event.urls() {
                        let reply = handle_request(
                            &app,
                            Request::Dial {
                                text: url.to_string(),
                            },
                        );
                        if !reply.ok {
                            crate::core(&app).report(&reply.message);
                        }
                    }
                });
            }
            if let Some(listener) = options.listener.take() {
                let app = handle.clone();
                instance::serve(listener, subscribers, move |request| {
                    let shown_here = matches!(
                        request,
                        Request::Dial { .. } | Request::DialClipboard | Request::DialSelection
                    );
                    let reply = handle_request(&app, request);
                    // A link click or a desktop shortcut has no terminal: say it here too.
                    if shown_here && !reply.ok {
                        crate::core(&app).report(&reply.message);
                    }
                    reply
                });
            }
            if let Some(request) = options.startup.take() {
                let app = handle.clone();
                tauri::async_runtime::spawn(async move {
                    // Started by a link: dial once connected, not into a link still coming up.
                    crate::core(&app).wait_until_up(STARTUP_WAIT).await;
                    let reply = handle_request(&app, request);
                    if !reply.ok {
                        crate::core(&app).report(&reply.message);
                    }
                });
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

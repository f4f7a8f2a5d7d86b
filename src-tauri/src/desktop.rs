//! The tray process: `clickdial` as it runs all day. The [`mainloop`] on the main thread holds
//! the tray icon, its menu and the hotkeys; a tokio runtime runs the [`Core`]; the instance
//! socket serves later launches and the window processes. No WebKit is loaded here: every
//! window is a `clickdial-window` process of its own.

use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clickdial_agent::{History, KeyringStore, MemoryStore, Settings, Trigger};
use clickdial_connect::LinkState;
use serde_json::Value;

use crate::core::{Core, Storage, Surface};
use crate::host::Host;
use crate::instance::{self, Reply, Request, Subscribers};
use crate::notify::{self, Notifier};
use crate::status::{CallStatus, Stage};
use crate::tray::{self, Look};
use crate::windows::{Children, View};
use crate::{autostart, hotkeys, i18n, mainloop, paths, selection};

/// The keyring service the app's secrets are stored under.
pub const KEYRING_SERVICE: &str = "clickdial";

/// How long the tray shows the error picture after a failed call.
const ERROR_LOOK: Duration = Duration::from_secs(15);

/// How long a start by a link waits for the PBX before dialing anyway.
const STARTUP_WAIT: Duration = Duration::from_secs(15);

/// How this run starts.
#[derive(Debug, Default)]
pub struct Options {
    /// Start straight into demo mode, in the tray, with no window.
    pub demo: bool,
    /// Open no window at start, not even the first-run one.
    pub background: bool,
    /// What to do once started (a link or `clickdial dial …` that started the app).
    pub startup: Option<Request>,
    /// The single-instance socket to answer later launches and windows on.
    pub listener: Option<instance::Listener>,
}

/// The tray process's side of the [`Core`]: what the agent sees, and the desktop's services.
pub struct Desktop {
    core: Weak<Core>,
    runtime: tokio::runtime::Handle,
    subscribers: Subscribers,
    children: Children,
    hotkeys: hotkeys::Registered,
    failed_at: Mutex<Option<Instant>>,
    /// The call the call window was last raised for.
    raised_for: Mutex<Option<String>>,
    /// The call notifications last failed for: not tried again during it, tried again for the
    /// next one (the notification service may have come back).
    notify_failed_for: Mutex<Option<String>>,
    notifications: mpsc::Sender<CallStatus>,
    me: Weak<Desktop>,
}

/// Opens the real storage; what cannot be opened is reported and replaced by memory, so the
/// app still starts and nothing on disk is overwritten. The flag says the settings file is
/// damaged (kept aside on the first save).
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
            let detail = e.to_string();
            notes.push(catalogue.text(lang, "error.settings_broken", &[("detail", &detail)]));
            damaged = true;
            None
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
        settings_path: Some(settings_path),
        secrets: Arc::new(KeyringStore::new(KEYRING_SERVICE)),
        history,
    };
    Ok((storage, settings, notes, damaged))
}

/// Starts the tray process and runs until the agent quits.
pub fn run(mut options: Options) -> anyhow::Result<()> {
    mainloop::init()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let _entered = runtime.enter();
    // Demo mode opens nothing on disk: not even the history file.
    let (storage, settings, notes, damaged) = if options.demo {
        let storage = Storage {
            settings_path: None,
            secrets: Arc::new(MemoryStore::new()),
            history: History::in_memory(),
        };
        (storage, None, Vec::new(), false)
    } else {
        open_storage()?
    };
    let core = Core::new(storage, settings, false);
    core.set_runtime(runtime.handle().clone());
    if damaged {
        core.set_settings_damaged();
    }
    let desktop = Desktop::new(&core, runtime.handle().clone());
    core.set_surface(desktop.clone());
    let opened = {
        let desktop = desktop.clone();
        // macOS hands links to the running app as open-URL events: the same path as a link
        // on the command line (at a cold start the event comes right after launch).
        move |link: String| dial_when_up(&desktop, Request::Dial { text: link })
    };
    // Everything from the tray icon on starts with the loop running (on macOS an icon made
    // before it does not show).
    let start = || -> anyhow::Result<()> {
        tray::create(&core).context("cannot create the tray icon")?;
        on_menu_events(&desktop);
        hotkeys::listen(&core);
        if options.demo {
            runtime
                .block_on(core.start_demo())
                .map_err(|e| anyhow::anyhow!(e.message))?;
        } else {
            core.reconnect();
            if core.is_first_run() && !options.background {
                desktop.open(View::Setup);
            }
        }
        hotkeys::apply(&core, &desktop.hotkeys);
        for note in notes {
            core.report(&note);
        }
        if let Some(listener) = options.listener.take() {
            let desktop = desktop.clone();
            instance::serve(listener, desktop.subscribers.clone(), move |request| {
                let shown_here = matches!(
                    request,
                    Request::Dial { .. } | Request::DialClipboard | Request::DialSelection
                );
                let reply = desktop.handle_request(request);
                // A link click or a desktop shortcut has no terminal: say it here too.
                if shown_here && !reply.ok {
                    desktop.report(&reply.message);
                }
                reply
            });
        }
        if let Some(request) = options.startup.take() {
            dial_when_up(&desktop, request);
        }
        Ok(())
    };
    mainloop::run(start, opened)
}

/// Carries out `request` from a link or `clickdial dial …` that started the app, once the
/// connection is up (not into a link still coming up); a failure is reported in the tray.
fn dial_when_up(desktop: &Arc<Desktop>, request: Request) {
    let desktop = desktop.clone();
    desktop.runtime.clone().spawn(async move {
        if let Some(core) = desktop.core.upgrade() {
            core.wait_until_up(STARTUP_WAIT).await;
        }
        let reply = tokio::task::spawn_blocking({
            let desktop = desktop.clone();
            move || desktop.handle_request(request)
        })
        .await;
        if let Ok(reply) = reply
            && !reply.ok
        {
            desktop.report(&reply.message);
        }
    });
}

/// Routes tray menu clicks (delivered on the main thread) to [`Desktop::on_menu`].
fn on_menu_events(desktop: &Arc<Desktop>) {
    let desktop = Arc::downgrade(desktop);
    tray_icon::menu::MenuEvent::set_event_handler(Some(
        move |event: tray_icon::menu::MenuEvent| {
            if let Some(desktop) = desktop.upgrade() {
                desktop.on_menu(event.id().as_ref());
            }
        },
    ));
}

/// Dials the text a trigger read, or says why there is none. Any thread but the main one.
pub fn dial_from(core: &Arc<Core>, trigger: Trigger, text: Result<String, selection::ReadError>) {
    let text = match text {
        Ok(text) => text,
        Err(e) => {
            core.report(&read_error(core, trigger, e));
            return;
        }
    };
    if let Err(e) = core.trigger(&text, trigger) {
        core.report(&e.message);
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
        selection::ReadError::Copy(selection::copy::CopyError::KeysHeld(_)) => {
            core.text("error.copy_keys_held", &[])
        }
        selection::ReadError::Copy(error) => {
            core.text("error.copy", &[("detail", &error.to_string())])
        }
    }
}

impl Desktop {
    /// The desktop side of `core`, with a notification thread of its own (notifications are
    /// D-Bus calls that may block).
    fn new(core: &Arc<Core>, runtime: tokio::runtime::Handle) -> Arc<Desktop> {
        let (notifications, queue) = mpsc::channel::<CallStatus>();
        let desktop = Arc::new_cyclic(|me| Desktop {
            core: Arc::downgrade(core),
            runtime,
            subscribers: Subscribers::default(),
            children: Children::default(),
            hotkeys: hotkeys::Registered::default(),
            failed_at: Mutex::new(None),
            raised_for: Mutex::new(None),
            notify_failed_for: Mutex::new(None),
            notifications,
            me: me.clone(),
        });
        let weak = Arc::downgrade(&desktop);
        std::thread::Builder::new()
            .name("notifications".into())
            .spawn(move || {
                let notifier = Notifier::default();
                while let Ok(status) = queue.recv() {
                    let Some(desktop) = weak.upgrade() else {
                        return;
                    };
                    desktop.notify(&notifier, &status);
                }
            })
            .expect("the notification thread starts");
        desktop
    }

    /// Tells the agent something outside a call.
    fn report(&self, message: &str) {
        if let Some(core) = self.core.upgrade() {
            core.report(message);
        }
    }

    /// Opens (or raises) the window of `view`.
    fn open(&self, view: View) {
        if let Err(e) = self.children.open(view, &self.subscribers) {
            tracing::warn!(error = %e, view = view.name(), "cannot open a window");
        }
    }

    /// Runs what a tray menu entry says (on the main thread: anything slow goes elsewhere).
    fn on_menu(&self, id: &str) {
        let Some(core) = self.core.upgrade() else {
            return;
        };
        let _entered = self.runtime.enter();
        match id {
            // Reading the selection is an X11 round trip: not on the main thread.
            "dial_clipboard" => {
                std::thread::spawn(move || {
                    dial_from(&core, Trigger::Tray, selection::clipboard());
                });
            }
            "dial_selection" => {
                std::thread::spawn(move || {
                    let text = selection::read_selection(core.settings().selection);
                    dial_from(&core, Trigger::Selection, text);
                });
            }
            "dial_number" => self.open(View::Dial),
            "history" => self.open(View::History),
            "settings" if core.is_first_run() => self.open(View::Setup),
            "settings" => self.open(View::Settings),
            "hangup" => {
                self.runtime.spawn(async move {
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
                    Ok(()) => self.apply_os_settings(&core, &before),
                    Err(e) => core.report(&e.message),
                }
            }
            "quit" => mainloop::quit(),
            other => {
                if let Some(entry) = other.strip_prefix("recent:").and_then(|n| n.parse().ok())
                    && let Err(e) = core.redial(entry)
                {
                    core.report(&e.message);
                }
            }
        }
    }

    /// Carries out what a later launch, a window process or the start itself asked for.
    /// Called on the instance socket's threads.
    pub fn handle_request(&self, request: Request) -> Reply {
        let Some(core) = self.core.upgrade() else {
            return Reply::said(false, "clickdial is quitting");
        };
        let _entered = self.runtime.enter();
        let (trigger, text) = match request {
            Request::Invoke { command, args } => {
                let result = self
                    .runtime
                    .block_on(crate::commands::dispatch(self, &core, &command, args));
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
                return match self.children.open(view, &self.subscribers) {
                    Ok(()) => Reply::said(true, core.text("cli.shown", &[])),
                    Err(e) => Reply::said(false, e.to_string()),
                };
            }
            Request::Dial { text } => (Trigger::Link, Ok(text)),
            Request::DialClipboard => (Trigger::Clipboard, selection::clipboard()),
            Request::DialSelection => (
                Trigger::Selection,
                selection::read_selection(core.settings().selection),
            ),
        };
        let text = match text {
            Ok(text) => text,
            Err(e) => return Reply::said(false, read_error(&core, trigger, e)),
        };
        match core.trigger(&text, trigger) {
            Ok(Some(_)) => {
                let message = core
                    .call_status()
                    .map(|status| format!("{} — {}", status.number, status.text))
                    .unwrap_or_default();
                Reply::said(true, message)
            }
            Ok(None) => Reply::said(true, core.text("cli.pick", &[])),
            Err(e) => Reply::said(false, e.message),
        }
    }

    /// Shows `status` as a notification, or in the call window when that fails.
    fn notify(&self, notifier: &Notifier, status: &CallStatus) {
        let Some(core) = self.core.upgrade() else {
            return;
        };
        if !core.settings().notifications {
            return;
        }
        let label_key = if status.state == Stage::Preview {
            "notify.cancel"
        } else {
            "notify.hangup"
        };
        let hangup_core = self.core.clone();
        let call = status.id.clone();
        let runtime = self.runtime.clone();
        let on_action = Arc::new(move || {
            // A button of an old notification must not end a later call.
            let current = |core: &Core| core.call_status().is_some_and(|s| s.id == call);
            if let Some(core) = hangup_core.upgrade().filter(|core| current(core)) {
                runtime.spawn(async move {
                    if let Err(e) = core.hangup().await {
                        core.report(&e.message);
                    }
                });
            }
        });
        let title = core.text("app.name", &[]);
        let label = core.text(label_key, &[]);
        // Notifications without a Hang up button tell only the end: the call window follows
        // the call until then.
        if notify::INTERACTIVE || status.is_final {
            let mut failed_for = self.notify_failed_for.lock().expect("notify lock");
            let shown = failed_for.as_deref() != Some(status.id.as_str())
                && notifier
                    .show(status, &title, &label, on_action)
                    .map_err(
                        |e| tracing::warn!(error = %e, "no notifications; using the call window"),
                    )
                    .is_ok();
            core.set_notifications_available(shown);
            if shown {
                *failed_for = None;
                return;
            }
            *failed_for = Some(status.id.clone());
        }
        // The call window shows the state and closes itself after the end; it is raised once
        // per call, not on every step (the agent may be typing elsewhere).
        let mut raised = self.raised_for.lock().expect("raised lock");
        if raised.as_deref() != Some(status.id.as_str()) {
            *raised = Some(status.id.clone());
            self.open(View::Call);
        }
    }

    /// Sets the tray picture and tooltip from the core's state.
    fn refresh_look(&self) {
        let Some(core) = self.core.upgrade() else {
            return;
        };
        let call = core.call_status();
        let failed = self
            .failed_at
            .lock()
            .expect("failed lock")
            .is_some_and(|at| at.elapsed() < ERROR_LOOK);
        let link = core.link_state();
        let look = Look::of(&link, call.as_ref(), failed);
        let tooltip = match (&call, look) {
            (Some(call), Look::Dialing | Look::Connected | Look::Error) => {
                format!("{} — {}", call.number, call.text)
            }
            (_, Look::Disconnected) => match &link {
                LinkState::Connecting => core.text("state.connecting", &[]),
                LinkState::Down { .. } if core.is_first_run() => {
                    core.text("state.not_configured", &[])
                }
                LinkState::Down { reason } => {
                    core.text("state.disconnected", &[("reason", reason)])
                }
                LinkState::Up => core.text("state.idle", &[]),
            },
            _ => core.text("state.idle", &[]),
        };
        tray::show(look, tooltip);
    }
}

impl Surface for Desktop {
    fn call_changed(&self, status: &CallStatus) {
        if status.is_final && tray::is_failure(status.outcome) {
            *self.failed_at.lock().expect("failed lock") = Some(Instant::now());
            let me = self.me.clone();
            self.runtime.spawn(async move {
                tokio::time::sleep(ERROR_LOOK + Duration::from_millis(100)).await;
                if let Some(desktop) = me.upgrade() {
                    desktop.refresh_look();
                }
            });
        }
        self.subscribers.publish("call-progress", status);
        self.refresh_look();
        if let Some(core) = self.core.upgrade() {
            tray::refresh_menu(&core);
        }
        let _ = self.notifications.send(status.clone());
    }

    fn pick(&self) {
        // A fresh window: an open one still shows the previous text.
        self.children.close(View::Pick);
        self.open(View::Pick);
    }

    fn link_changed(&self, _state: &LinkState) {
        self.refresh_look();
    }

    fn menu_changed(&self) {
        if let Some(core) = self.core.upgrade() {
            tray::refresh_menu(&core);
        }
        self.refresh_look();
        self.subscribers.publish("settings-changed", &());
    }
}

impl Host for Desktop {
    fn apply_os_settings(&self, core: &Arc<Core>, before: &Settings) {
        hotkeys::apply(core, &self.hotkeys);
        let settings = core.settings();
        if core.is_demo() || settings.autostart == before.autostart {
            return;
        }
        if let Err(e) = autostart::set(settings.autostart) {
            tracing::warn!(error = %e, "cannot change autostart");
        }
    }

    fn hotkey_registered(&self, hotkey: &str) -> bool {
        self.hotkeys.is_registered(hotkey)
    }

    fn publish(&self, event: &str, payload: Value) {
        self.subscribers.publish(event, &payload);
    }
}

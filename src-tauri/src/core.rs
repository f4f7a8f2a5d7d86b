//! The app without its windows: settings, secrets, history, the link to the PBX and the call
//! in progress. Tauri commands, the tray and the hotkeys are thin calls into [`Core`]; what it
//! has to show goes out through a [`Surface`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clickdial_agent::{
    Connection, Entry, EntryId, History, MemoryStore, Outcome, Problem, SecretError, SecretName,
    SecretStore, SelectionMethod, Settings, Trigger,
};
use clickdial_connect::{
    AmiTarget, CallProgress, DialError, GatewayTarget, Hangup, HangupError, Leg, Link, LinkState,
    ProbeError, Reachable, Target,
};
use clickdial_dial::{Policy, prepare, read_input};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::i18n::{Catalogue, Lang};
use crate::status::{CallStatus, Stage, outcome_of, outcome_text, stage_of, stage_text};

/// Where the app shows things; the Tauri shell implements it, tests record it.
pub trait Surface: Send + Sync + 'static {
    /// The current call changed (also called once with its final state).
    fn call_changed(&self, status: &CallStatus);
    /// The agent must choose (or type) the number: `pending_pick` has the candidates.
    fn pick(&self);
    /// The link to the PBX or gateway changed state.
    fn link_changed(&self, state: &LinkState);
    /// The history or the settings changed (the tray's menu shows both).
    fn menu_changed(&self);
}

/// An error for the UI: a stable kind, a message in the agent's language, and the settings
/// problems when saving failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    /// A stable name, e.g. `invalid`, `busy`, `not_connected`.
    pub kind: &'static str,
    /// What happened and what to do, in the agent's language.
    pub message: String,
    /// The settings that need fixing, when saving refused them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<ProblemView>>,
}

/// One settings problem with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemView {
    /// The setting, e.g. `connection.host`.
    pub field: String,
    /// What is wrong, e.g. `host_missing`.
    pub kind: String,
    /// What to do, in the agent's language.
    pub message: String,
}

/// A number found in the agent's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateView {
    /// As people write it, e.g. `932 00 90 00`.
    pub display: String,
    /// What would be dialed.
    pub destination: String,
}

/// The numbers found in a text (what the pick dialog shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pick {
    /// The text the agent triggered on.
    pub text: String,
    /// The numbers in it; empty when none was found.
    pub candidates: Vec<CandidateView>,
}

/// The answer to "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    /// Whether it works.
    pub ok: bool,
    /// `ok`, or [`ProbeError::kind`].
    pub kind: &'static str,
    /// What was found, in the agent's language.
    pub message: String,
}

/// Facts the UI starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppInfo {
    /// The app's version.
    pub version: &'static str,
    /// Whether this run dials into the built-in demo PBX.
    pub demo: bool,
    /// Whether no settings were saved yet.
    pub first_run: bool,
    /// The language texts are shown in.
    pub language: Lang,
    /// Whether the desktop is a Wayland session (no global hotkeys there).
    pub wayland: bool,
    /// Whether desktop notifications work.
    pub notifications_available: bool,
    /// Whether the selection can be read as X11's PRIMARY (so settings offer a choice of
    /// how); elsewhere it is always copied.
    pub primary_selection: bool,
}

/// What a run keeps its state in: the real files and keyring, or demo stand-ins.
pub struct Storage {
    /// The settings file; `None` keeps settings in memory (demo mode).
    pub settings_path: Option<PathBuf>,
    /// Where secrets live.
    pub secrets: Arc<dyn SecretStore>,
    /// The call history.
    pub history: History,
}

/// The call being set up or talked on.
struct Current {
    status: CallStatus,
    cancel: Option<oneshot::Sender<()>>,
    hangup: Option<Hangup>,
}

/// The app's state; shared by commands, the tray and background tasks.
pub struct Core {
    catalogue: Catalogue,
    settings: Mutex<Settings>,
    first_run: AtomicBool,
    settings_damaged: AtomicBool,
    demo: AtomicBool,
    notifications_available: AtomicBool,
    settings_path: Mutex<Option<PathBuf>>,
    secrets: Mutex<Arc<dyn SecretStore>>,
    history: Mutex<History>,
    link: Mutex<Option<Link>>,
    link_state: Mutex<LinkState>,
    call: Mutex<Option<Current>>,
    /// The pick dialog's numbers, and the trigger that found them (the call a pick starts
    /// is recorded under it).
    pending_pick: Mutex<Option<(Pick, Trigger)>>,
    demo_pbx: Mutex<Option<clickdial_sandbox::Sandbox>>,
    surface: Mutex<Option<Arc<dyn Surface>>>,
    runtime: Mutex<Option<tokio::runtime::Handle>>,
}

/// How soon a link that could not get its secret tries again.
const KEYRING_RETRY: Duration = Duration::from_secs(30);

/// A fresh id for a call.
fn call_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    format!("call-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

impl Core {
    /// A core over `storage`, with `settings` as loaded (`None` = first run).
    pub fn new(storage: Storage, settings: Option<Settings>, demo: bool) -> Arc<Core> {
        Arc::new(Core {
            catalogue: Catalogue::builtin(),
            first_run: AtomicBool::new(settings.is_none()),
            settings_damaged: AtomicBool::new(false),
            settings: Mutex::new(settings.unwrap_or_default()),
            demo: AtomicBool::new(demo),
            notifications_available: AtomicBool::new(true),
            settings_path: Mutex::new(storage.settings_path),
            secrets: Mutex::new(storage.secrets),
            history: Mutex::new(storage.history),
            link: Mutex::new(None),
            link_state: Mutex::new(LinkState::Down {
                reason: "not set up".to_owned(),
            }),
            call: Mutex::new(None),
            pending_pick: Mutex::new(None),
            demo_pbx: Mutex::new(None),
            surface: Mutex::new(None),
            runtime: Mutex::new(None),
        })
    }

    /// Marks the settings file as damaged: the first save moves it aside instead of
    /// overwriting it.
    pub fn set_settings_damaged(&self) {
        self.settings_damaged.store(true, Ordering::Relaxed);
    }

    /// The runtime background work runs on when the caller is not inside one (the tray's main
    /// thread, hotkey threads).
    pub fn set_runtime(&self, runtime: tokio::runtime::Handle) {
        *self.runtime.lock().expect("runtime lock") = Some(runtime);
    }

    /// Spawns `task` on the current runtime, or on the one set with [`Core::set_runtime`].
    fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current()
            .ok()
            .or_else(|| self.runtime.lock().expect("runtime lock").clone())
            .expect("the core runs inside a tokio runtime or has one set");
        runtime.spawn(task);
    }

    /// Connects the core to what shows its state.
    pub fn set_surface(&self, surface: Arc<dyn Surface>) {
        *self.surface.lock().expect("surface lock") = Some(surface);
    }

    fn surface(&self) -> Option<Arc<dyn Surface>> {
        self.surface.lock().expect("surface lock").clone()
    }

    /// The catalogue of texts.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The language texts are shown in now.
    pub fn lang(&self) -> Lang {
        Lang::resolve(self.settings().language)
    }

    /// `key` in the agent's language.
    pub fn text(&self, key: &str, vars: &[(&str, &str)]) -> String {
        self.catalogue.text(self.lang(), key, vars)
    }

    /// A copy of the settings.
    pub fn settings(&self) -> Settings {
        self.settings.lock().expect("settings lock").clone()
    }

    /// Whether this run uses the demo PBX.
    pub fn is_demo(&self) -> bool {
        self.demo.load(Ordering::Relaxed)
    }

    /// Whether no settings were saved yet.
    pub fn is_first_run(&self) -> bool {
        self.first_run.load(Ordering::Relaxed)
    }

    /// Records whether desktop notifications work.
    pub fn set_notifications_available(&self, available: bool) {
        self.notifications_available
            .store(available, Ordering::Relaxed);
    }

    /// What the UI starts from.
    pub fn info(&self) -> AppInfo {
        AppInfo {
            version: env!("CARGO_PKG_VERSION"),
            demo: self.is_demo(),
            first_run: self.is_first_run(),
            language: self.lang(),
            wayland: std::env::var_os("WAYLAND_DISPLAY").is_some()
                || std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t == "wayland"),
            notifications_available: self.notifications_available.load(Ordering::Relaxed),
            primary_selection: crate::selection::effective(SelectionMethod::Primary)
                == SelectionMethod::Primary,
        }
    }

    /// The secret the current connection mode uses.
    fn secret_name(settings: &Settings) -> SecretName {
        match settings.connection {
            Connection::Ami { .. } => SecretName::AmiSecret,
            Connection::Gateway { .. } => SecretName::GatewayToken,
        }
    }

    fn secrets(&self) -> Arc<dyn SecretStore> {
        self.secrets.lock().expect("secrets lock").clone()
    }

    fn keyring_error(&self, error: &SecretError) -> UserError {
        UserError {
            kind: "keyring",
            message: self.text("error.keyring", &[("detail", &error.to_string())]),
            problems: None,
        }
    }

    /// Whether a secret is stored for the current connection mode.
    pub fn has_secret(&self) -> Result<bool, UserError> {
        let name = Core::secret_name(&self.settings());
        self.secrets()
            .get(name)
            .map(|secret| secret.is_some())
            .map_err(|e| self.keyring_error(&e))
    }

    /// The settings problems with their texts.
    fn problem_views(&self, problems: &[Problem]) -> Vec<ProblemView> {
        problems
            .iter()
            .map(|p| {
                let kind = serde_json::to_value(p.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                ProblemView {
                    field: p.field.to_owned(),
                    message: self.text(&format!("problem.{kind}"), &[]),
                    kind,
                }
            })
            .collect()
    }

    fn invalid(&self, problems: &[Problem]) -> UserError {
        UserError {
            kind: "invalid",
            message: self.text("error.settings_invalid", &[]),
            problems: Some(self.problem_views(problems)),
        }
    }

    /// Saves `settings` (and `secret` when given) and reconnects with them.
    pub fn save_settings(
        self: &Arc<Self>,
        settings: Settings,
        secret: Option<String>,
    ) -> Result<(), UserError> {
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(self.invalid(&problems));
        }
        if let Some(secret) = secret.as_deref().filter(|s| !s.is_empty()) {
            self.secrets()
                .set(Core::secret_name(&settings), secret)
                .map_err(|e| self.keyring_error(&e))?;
        }
        let path = self.settings_path.lock().expect("path lock").clone();
        if let Some(path) = path {
            if self.settings_damaged.swap(false, Ordering::Relaxed) {
                // The damaged file is kept beside the new one, never overwritten.
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let aside = path.with_extension(format!("toml.damaged-{stamp}"));
                if let Err(e) = std::fs::rename(&path, &aside) {
                    self.settings_damaged.store(true, Ordering::Relaxed);
                    return Err(UserError {
                        kind: "settings_file",
                        message: self.text("error.settings_file", &[("detail", &e.to_string())]),
                        problems: None,
                    });
                }
            }
            settings.save(&path).map_err(|e| UserError {
                kind: "settings_file",
                message: self.text("error.settings_file", &[("detail", &e.to_string())]),
                problems: None,
            })?;
        }
        let before = self.settings();
        let was_first_run = self.first_run.swap(false, Ordering::Relaxed);
        let relink = was_first_run
            || secret.is_some_and(|s| !s.is_empty())
            || before.connection != settings.connection
            || before.extension != settings.extension;
        *self.settings.lock().expect("settings lock") = settings;
        if relink {
            self.reconnect();
        }
        if let Some(surface) = self.surface() {
            surface.menu_changed();
        }
        Ok(())
    }

    /// Where and as whom `settings` (with `secret`, or the stored one) connect.
    fn target(&self, settings: &Settings, secret: Option<String>) -> Result<Target, UserError> {
        let secret = match secret.filter(|s| !s.is_empty()) {
            Some(secret) => Some(secret),
            // The stored secret belongs to the saved server: it is never sent anywhere else.
            None if !Core::same_server(&self.settings().connection, &settings.connection) => None,
            None => self
                .secrets()
                .get(Core::secret_name(settings))
                .map_err(|e| self.keyring_error(&e))?,
        };
        let Some(secret) = secret else {
            return Err(UserError {
                kind: "no_secret",
                message: self.text("probe.no_secret", &[]),
                problems: None,
            });
        };
        Ok(match &settings.connection {
            Connection::Ami {
                host,
                port,
                username,
                tls,
                context,
                ..
            } => Target::Ami(AmiTarget {
                host: host.clone(),
                port: *port,
                username: username.clone(),
                secret,
                tls: *tls,
                channel: settings.channel_for().unwrap_or_default(),
                context: context.clone(),
            }),
            Connection::Gateway { url } => Target::Gateway(GatewayTarget {
                url: url.clone(),
                token: secret,
            }),
        })
    }

    /// Whether two connections reach the same account (so a stored secret may be reused).
    fn same_server(a: &Connection, b: &Connection) -> bool {
        match (a, b) {
            (
                Connection::Ami {
                    host: h1,
                    port: p1,
                    username: u1,
                    tls: t1,
                    ..
                },
                Connection::Ami {
                    host: h2,
                    port: p2,
                    username: u2,
                    tls: t2,
                    ..
                },
            ) => h1 == h2 && p1 == p2 && u1 == u2 && t1 == t2,
            (Connection::Gateway { url: a }, Connection::Gateway { url: b }) => a == b,
            _ => false,
        }
    }

    /// Logs in with `settings` (and `secret`, or the stored one) and says what it found.
    pub async fn test_connection(
        &self,
        settings: &Settings,
        secret: Option<String>,
    ) -> ProbeReport {
        let problems = settings.problems();
        if let Some(problem) = self.problem_views(&problems).into_iter().next() {
            return ProbeReport {
                ok: false,
                kind: "invalid",
                message: self.text("probe.invalid", &[("detail", &problem.message)]),
            };
        }
        let target = match self.target(settings, secret) {
            Ok(target) => target,
            Err(e) => {
                return ProbeReport {
                    ok: false,
                    kind: "invalid",
                    message: e.message,
                };
            }
        };
        match clickdial_connect::probe(&target).await {
            Ok(Reachable::Asterisk { .. }) => ProbeReport {
                ok: true,
                kind: "ok",
                message: self.text("probe.ok_ami", &[]),
            },
            Ok(Reachable::Gateway) => ProbeReport {
                ok: true,
                kind: "ok",
                message: self.text("probe.ok_gateway", &[]),
            },
            Err(e) => ProbeReport {
                ok: false,
                kind: e.kind(),
                message: self.probe_text(&e),
            },
        }
    }

    /// A failed connection test in the agent's words.
    fn probe_text(&self, error: &ProbeError) -> String {
        match error {
            ProbeError::Invalid(detail) => self.text("probe.invalid", &[("detail", detail)]),
            ProbeError::Unreachable { addr, detail } => {
                self.text("probe.unreachable", &[("addr", addr), ("detail", detail)])
            }
            ProbeError::Refused { addr } => self.text("probe.refused", &[("addr", addr)]),
            ProbeError::WrongService {
                addr,
                expected,
                detail,
            } => {
                let expected = if expected.contains("gateway") {
                    self.text("probe.expected_gateway", &[])
                } else {
                    self.text("probe.expected_ami", &[])
                };
                self.text(
                    "probe.wrong_service",
                    &[("addr", addr), ("expected", &expected), ("detail", detail)],
                )
            }
            ProbeError::Timeout { addr, stage } => {
                self.text("probe.timeout", &[("addr", addr), ("stage", stage)])
            }
            ProbeError::Tls { addr, detail } => {
                self.text("probe.tls", &[("addr", addr), ("detail", detail)])
            }
            ProbeError::BadCredentials { user, detail } if user == "token" => {
                self.text("probe.bad_token", &[("detail", detail)])
            }
            ProbeError::BadCredentials { detail, .. } => {
                self.text("probe.bad_credentials", &[("detail", detail)])
            }
            ProbeError::NotAllowed { hint, .. } => {
                self.text("probe.not_allowed", &[("detail", hint)])
            }
            ProbeError::Gateway { status, message } => self.text(
                "probe.gateway_error",
                &[("status", &status.to_string()), ("detail", message)],
            ),
        }
    }

    /// Opens the link the settings describe (closing the old one); needs a tokio runtime.
    pub fn reconnect(self: &Arc<Self>) {
        let settings = self.settings();
        let target = if self.is_first_run() {
            None
        } else {
            match self.target(&settings, None) {
                Ok(target) => Some(target),
                Err(e) => {
                    // A locked keyring (autostart before login finished) or a missing secret:
                    // said in the tray, and tried again in a while.
                    *self.link.lock().expect("link lock") = None;
                    self.set_link_state(LinkState::Down { reason: e.message });
                    let core = Arc::downgrade(self);
                    self.spawn(async move {
                        tokio::time::sleep(KEYRING_RETRY).await;
                        if let Some(core) = core.upgrade()
                            && core.link.lock().expect("link lock").is_none()
                        {
                            core.reconnect();
                        }
                    });
                    return;
                }
            }
        };
        let link = target.map(Link::open);
        if let Some(link) = &link {
            let mut state = link.state();
            let core = Arc::downgrade(self);
            self.spawn(async move {
                loop {
                    let now = state.borrow_and_update().clone();
                    let Some(core) = core.upgrade() else { return };
                    core.set_link_state(now);
                    drop(core);
                    if state.changed().await.is_err() {
                        return;
                    }
                }
            });
        } else {
            self.set_link_state(LinkState::Down {
                reason: self.text("state.not_configured", &[]),
            });
        }
        *self.link.lock().expect("link lock") = link;
    }

    fn set_link_state(&self, state: LinkState) {
        *self.link_state.lock().expect("link state lock") = state.clone();
        if let Some(surface) = self.surface() {
            surface.link_changed(&state);
        }
    }

    /// Waits until the link is up (or `limit` passes, or there is no link).
    pub async fn wait_until_up(&self, limit: Duration) {
        let Some(link) = self.link.lock().expect("link lock").clone() else {
            return;
        };
        let mut state = link.state();
        let _ = tokio::time::timeout(limit, state.wait_for(|s| *s == LinkState::Up)).await;
    }

    /// The link's state now.
    pub fn link_state(&self) -> LinkState {
        self.link_state.lock().expect("link state lock").clone()
    }

    /// Switches this run to the built-in demo PBX: settings, secret and history live in
    /// memory only; the real files and keyring are not touched.
    pub async fn start_demo(self: &Arc<Self>) -> Result<(), UserError> {
        // Whatever extension the agent typed rings (and answers) in the demo.
        let mut demo = clickdial_sandbox::Config::dialing();
        demo.extensions.push(clickdial_sandbox::Extension::new(
            "agents",
            "_X.",
            clickdial_sandbox::Behaviour::Answer,
            60,
        ));
        let sandbox = clickdial_sandbox::Sandbox::start(demo)
            .await
            .map_err(|e| UserError {
                kind: "demo",
                message: self.text("error.demo", &[("detail", &e.to_string())]),
                problems: None,
            })?;
        let addr = sandbox.local_addr();
        let secrets = Arc::new(MemoryStore::new());
        secrets
            .set(SecretName::AmiSecret, "clickdial-secret")
            .expect("the memory store always works");
        let mut settings = self.settings();
        settings.extension = "10".to_owned();
        settings.connection = Connection::Ami {
            host: addr.ip().to_string(),
            port: addr.port(),
            username: "clickdial".to_owned(),
            tls: false,
            channel: "Local/{extension}@agents".to_owned(),
            context: "extensiones-locales".to_owned(),
        };
        settings.dial.internal_max_len = settings.dial.internal_max_len.max(5);
        *self.demo_pbx.lock().expect("demo lock") = Some(sandbox);
        *self.settings_path.lock().expect("path lock") = None;
        *self.secrets.lock().expect("secrets lock") = secrets;
        *self.history.lock().expect("history lock") = History::in_memory();
        *self.settings.lock().expect("settings lock") = settings;
        self.first_run.store(false, Ordering::Relaxed);
        self.demo.store(true, Ordering::Relaxed);
        self.reconnect();
        if let Some(surface) = self.surface() {
            surface.menu_changed();
        }
        Ok(())
    }

    /// The numbers in `text`, shown as people write them, with what would be dialed.
    pub fn candidates(&self, text: &str) -> Pick {
        let settings = self.settings();
        let home = settings.dial.country;
        let candidates = read_input(text, home)
            .map(|found| {
                found
                    .as_slice()
                    .iter()
                    .map(|c| {
                        let display = c.number.for_people(home);
                        let destination = settings
                            .dial
                            .render(&c.number)
                            .map(|dial| dial.destination.as_str().to_owned())
                            .unwrap_or_default();
                        CandidateView {
                            display,
                            destination,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Pick {
            text: text.to_owned(),
            candidates,
        }
    }

    /// What the pick dialog should show.
    pub fn pending_pick(&self) -> Option<Pick> {
        self.pending_pick
            .lock()
            .expect("pick lock")
            .as_ref()
            .map(|(pick, _)| pick.clone())
    }

    /// The trigger a number picked in the pick dialog is recorded under: the one that
    /// opened the dialog (the agent typed it when none is pending).
    pub fn picked_trigger(&self) -> Trigger {
        self.pending_pick
            .lock()
            .expect("pick lock")
            .as_ref()
            .map_or(Trigger::Typed, |(_, trigger)| *trigger)
    }

    /// Starts from text the agent pointed at: one number is dialed; none or several open
    /// the pick dialog. Returns the call's id when one was started.
    pub fn trigger(
        self: &Arc<Self>,
        text: &str,
        trigger: Trigger,
    ) -> Result<Option<String>, UserError> {
        let home = self.settings().dial.country;
        let best = read_input(text, home)
            .ok()
            .and_then(|c| c.best().ok().map(|b| b.number.for_people(home)));
        match best {
            Some(number) => self.dial(&number, trigger).map(Some),
            None => {
                *self.pending_pick.lock().expect("pick lock") =
                    Some((self.candidates(text), trigger));
                if let Some(surface) = self.surface() {
                    surface.pick();
                }
                Ok(None)
            }
        }
    }

    /// Dials `text` (one number, a link, or text holding one number); needs a tokio runtime.
    pub fn dial(self: &Arc<Self>, text: &str, trigger: Trigger) -> Result<String, UserError> {
        let settings = self.settings();
        if self.is_first_run() {
            return Err(UserError {
                kind: "not_configured",
                message: self.text("error.not_configured", &[]),
                problems: None,
            });
        }
        let home = settings.dial.country;
        let best = read_input(text, home).ok().and_then(|c| {
            c.best()
                .ok()
                .map(|b| (b.number.for_people(home), b.number.key()))
        });
        let Some((display, key)) = best else {
            return Err(UserError {
                kind: "no_number",
                message: self.text("error.no_number", &[("text", text)]),
                problems: None,
            });
        };
        // Over AMI the app applies the dial rules; the gateway applies its own.
        let destination = match &settings.connection {
            Connection::Ami { .. } => prepare(text, &settings.dial, &Policy::default())
                .map_err(|e| UserError {
                    kind: "not_dialable",
                    message: self.text("error.not_dialable", &[("reason", &e.to_string())]),
                    problems: None,
                })?
                .destination
                .as_str()
                .to_owned(),
            // E.164 (or the short code): unambiguous whatever country the gateway is set to.
            Connection::Gateway { .. } if key.starts_with('+') => format!("tel:{key}"),
            Connection::Gateway { .. } => key,
        };
        let link = self.link.lock().expect("link lock").clone();
        let Some(link) = link else {
            return Err(UserError {
                kind: "not_connected",
                message: self.text("error.not_configured", &[]),
                problems: None,
            });
        };
        let id = call_id();
        let preview = settings.preview_secs;
        let (cancel, cancelled) = oneshot::channel();
        {
            let mut call = self.call.lock().expect("call lock");
            if call.as_ref().is_some_and(|c| !c.status.is_final) {
                return Err(UserError {
                    kind: "busy",
                    message: self.text("error.busy_with_call", &[]),
                    problems: None,
                });
            }
            let stage = if preview > 0 {
                Stage::Preview
            } else {
                Stage::Queued
            };
            let status = CallStatus {
                id: id.clone(),
                number: display.clone(),
                destination: destination.clone(),
                state: stage,
                text: stage_text(
                    &self.catalogue,
                    self.lang(),
                    stage,
                    &display,
                    &settings.extension,
                    preview,
                ),
                can_hangup: preview > 0,
                is_final: false,
                outcome: None,
            };
            *call = Some(Current {
                status,
                cancel: Some(cancel),
                hangup: None,
            });
        }
        *self.pending_pick.lock().expect("pick lock") = None;
        self.publish();
        let core = self.clone();
        self.spawn(async move {
            core.run_call(link, display, destination, trigger, preview, cancelled)
                .await;
        });
        Ok(id)
    }

    /// Redials a history entry.
    pub fn redial(self: &Arc<Self>, id: i64) -> Result<String, UserError> {
        let entry = self
            .history
            .lock()
            .expect("history lock")
            .get(EntryId(id))
            .map_err(|e| self.history_error(&e))?;
        let Some(entry) = entry else {
            return Err(UserError {
                kind: "not_found",
                message: self.text("error.no_entry", &[]),
                problems: None,
            });
        };
        self.dial(&entry.number, Trigger::Redial)
    }

    fn history_error(&self, error: &dyn std::fmt::Display) -> UserError {
        UserError {
            kind: "history",
            message: self.text("error.history", &[("detail", &error.to_string())]),
            problems: None,
        }
    }

    /// Calls in the history matching `query`, newest first.
    pub fn history(&self, query: &str, limit: usize) -> Result<Vec<Entry>, UserError> {
        self.history
            .lock()
            .expect("history lock")
            .search(query, limit)
            .map_err(|e| self.history_error(&e))
    }

    /// Empties the history.
    pub fn clear_history(&self) -> Result<(), UserError> {
        self.history
            .lock()
            .expect("history lock")
            .clear()
            .map_err(|e| self.history_error(&e))?;
        if let Some(surface) = self.surface() {
            surface.menu_changed();
        }
        Ok(())
    }

    /// The current (or last) call.
    pub fn call_status(&self) -> Option<CallStatus> {
        self.call
            .lock()
            .expect("call lock")
            .as_ref()
            .map(|c| c.status.clone())
    }

    /// Cancels the preview, or hangs up the call being set up.
    pub async fn hangup(&self) -> Result<(), UserError> {
        let (cancel, hangup) = {
            let mut call = self.call.lock().expect("call lock");
            match call.as_mut() {
                Some(current) if !current.status.is_final => {
                    (current.cancel.take(), current.hangup.clone())
                }
                _ => {
                    return Err(UserError {
                        kind: "gone",
                        message: self.text("error.hangup_gone", &[]),
                        problems: None,
                    });
                }
            }
        };
        if let Some(cancel) = cancel {
            // Taken under the call lock: the preview cannot turn into a call any more
            // (run_call checks for the sender under the same lock).
            let _ = cancel.send(());
            return Ok(());
        }
        let Some(hangup) = hangup else {
            return Err(UserError {
                kind: "unsupported",
                message: self.text("error.hangup_unavailable", &[]),
                problems: None,
            });
        };
        hangup.hangup().await.map_err(|e| {
            let (kind, message) = match &e {
                HangupError::Gone => ("gone", self.text("error.hangup_gone", &[])),
                HangupError::NotAllowed { hint } => (
                    "not_allowed",
                    self.text("error.hangup_not_allowed", &[("detail", hint)]),
                ),
                HangupError::Failed(detail) => {
                    ("failed", self.text("error.hangup", &[("detail", detail)]))
                }
            };
            UserError {
                kind,
                message,
                problems: None,
            }
        })
    }

    /// Tells the surface about the current call.
    fn publish(&self) {
        let status = self.call_status();
        if let (Some(status), Some(surface)) = (status, self.surface()) {
            surface.call_changed(&status);
        }
    }

    /// Updates the current call's status with `change` and publishes it.
    fn update(&self, change: impl FnOnce(&mut Current)) {
        if let Some(current) = self.call.lock().expect("call lock").as_mut() {
            change(current);
        }
        self.publish();
    }

    /// Follows one call from its preview to its end, into the history.
    async fn run_call(
        self: Arc<Self>,
        link: Link,
        display: String,
        destination: String,
        trigger: Trigger,
        preview: u32,
        cancelled: oneshot::Receiver<()>,
    ) {
        let extension = self.settings().extension;
        let entry = self.history.lock().expect("history lock").record_start(
            &display,
            &destination,
            trigger,
        );
        let entry = match entry {
            Ok(entry) => Some(entry),
            Err(e) => {
                tracing::warn!(error = %e, "the call is not in the history");
                None
            }
        };
        if preview > 0 {
            let wait = tokio::time::sleep(Duration::from_secs(preview.into()));
            tokio::select! {
                () = wait => {}
                Ok(()) = cancelled => {
                    self.finish(entry, Outcome::Cancelled, Leg::Agent, None);
                    return;
                }
            }
            // Whoever takes the cancel sender first decides: Cancel pressed just as the
            // preview ended still cancels.
            let cancelled_late = self
                .call
                .lock()
                .expect("call lock")
                .as_mut()
                .is_some_and(|c| c.cancel.take().is_none());
            if cancelled_late {
                self.finish(entry, Outcome::Cancelled, Leg::Agent, None);
                return;
            }
        }
        let text = |stage| stage_text(&self.catalogue, self.lang(), stage, &display, &extension, 0);
        self.update(|c| {
            c.cancel = None;
            c.status.state = Stage::Queued;
            c.status.text = text(Stage::Queued);
            c.status.can_hangup = false;
        });
        let mut call = match link.dial(&destination).await {
            Ok(call) => call,
            Err(e) => {
                let text = self.dial_error_text(&e);
                self.finish(entry, Outcome::Failed { text }, Leg::Agent, None);
                return;
            }
        };
        let hangup = call.hangup_handle();
        self.update(|c| c.hangup = Some(hangup));
        let mut connected_at: Option<Instant> = None;
        while let Some(step) = call.next().await {
            match step {
                CallProgress::Ended(end) => {
                    let talk = connected_at.map(|at| at.elapsed().as_secs() as u32);
                    self.finish(entry, outcome_of(&end), end.leg, talk);
                    return;
                }
                step => {
                    let stage = stage_of(&step);
                    if stage == Stage::Connected {
                        connected_at = Some(Instant::now());
                    }
                    self.update(|c| {
                        c.status.state = stage;
                        c.status.text = text(stage);
                        c.status.can_hangup = stage != Stage::Connected;
                    });
                }
            }
        }
    }

    /// A failed dial in the agent's words.
    fn dial_error_text(&self, error: &DialError) -> String {
        match error {
            DialError::NotConnected { reason } => {
                self.text("error.not_connected", &[("detail", reason)])
            }
            DialError::NotAllowed { hint } => self.text("error.not_allowed", &[("detail", hint)]),
            DialError::Uncertain { reason } => self.text("error.uncertain", &[("detail", reason)]),
            DialError::RateLimited { retry_after_secs } => self.text(
                "error.rate_limited",
                &[("secs", &retry_after_secs.to_string())],
            ),
            DialError::Refused { message } => self.text("error.dial", &[("detail", message)]),
            DialError::Invalid(detail) => self.text("error.dial", &[("detail", detail)]),
        }
    }

    /// Ends the current call with `outcome`: history, status, surface.
    fn finish(&self, entry: Option<EntryId>, outcome: Outcome, leg: Leg, talk: Option<u32>) {
        if let Some(entry) = entry
            && let Err(e) =
                self.history
                    .lock()
                    .expect("history lock")
                    .record_end(entry, outcome.clone(), talk)
        {
            tracing::warn!(error = %e, "the call's outcome is not in the history");
        }
        let text = outcome_text(&self.catalogue, self.lang(), &outcome, leg);
        self.update(|c| {
            c.cancel = None;
            c.hangup = None;
            c.status.state = Stage::Ended;
            c.status.text = text;
            c.status.can_hangup = false;
            c.status.is_final = true;
            c.status.outcome = Some(outcome.kind());
        });
        if let Some(surface) = self.surface() {
            surface.menu_changed();
        }
    }

    /// The newest `count` history entries, for the tray's Recent calls.
    pub fn recent(&self, count: usize) -> Vec<Entry> {
        self.history("", count).unwrap_or_default()
    }

    /// Tells the agent something outside a call (an empty clipboard, a hotkey that cannot
    /// be set up) the way call progress is shown; a call being set up is left alone.
    pub fn report(&self, message: &str) {
        {
            let mut call = self.call.lock().expect("call lock");
            if call.as_ref().is_some_and(|c| !c.status.is_final) {
                tracing::warn!(message, "not shown during a call");
                return;
            }
            *call = Some(Current {
                status: CallStatus {
                    id: call_id(),
                    number: String::new(),
                    destination: String::new(),
                    state: Stage::Ended,
                    text: message.to_owned(),
                    can_hangup: false,
                    is_final: true,
                    outcome: Some("failed"),
                },
                cancel: None,
                hangup: None,
            });
        }
        self.publish();
    }
}

//! How the core's news reaches the agent in the desktop: the `call-progress` event for open
//! windows, the tray picture and menu, and desktop notifications — or, when no notification
//! service answers, the app's own call window.

use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::{Duration, Instant};

use clickdial_connect::LinkState;
use tauri::{AppHandle, Manager, Runtime};

use crate::core::{Core, Surface};
use crate::notify::Notifier;
use crate::status::CallStatus;
use crate::tray::{self, Look};
use crate::windows::{self, View};

/// How long the tray shows the error picture after a failed call.
const ERROR_LOOK: Duration = Duration::from_secs(15);

/// The Tauri side of [`Surface`].
pub struct DesktopSurface<R: Runtime> {
    app: AppHandle<R>,
    core: Weak<Core>,
    failed_at: Mutex<Option<Instant>>,
    /// The call the call window was last raised for.
    raised_for: Mutex<Option<String>>,
    notifications: mpsc::Sender<CallStatus>,
    me: Weak<DesktopSurface<R>>,
}

impl<R: Runtime> DesktopSurface<R> {
    /// A surface for `app`, with a notification thread of its own (notifications are D-Bus
    /// calls that may block).
    pub fn new(app: AppHandle<R>, core: &Arc<Core>) -> Arc<DesktopSurface<R>> {
        let (notifications, queue) = mpsc::channel::<CallStatus>();
        let surface = Arc::new_cyclic(|me| DesktopSurface {
            app,
            core: Arc::downgrade(core),
            failed_at: Mutex::new(None),
            raised_for: Mutex::new(None),
            notifications,
            me: me.clone(),
        });
        let weak = Arc::downgrade(&surface);
        std::thread::Builder::new()
            .name("notifications".into())
            .spawn(move || {
                let notifier = Notifier::default();
                while let Ok(status) = queue.recv() {
                    let Some(surface) = weak.upgrade() else {
                        return;
                    };
                    surface.notify(&notifier, &status);
                }
            })
            .expect("the notification thread starts");
        surface
    }

    /// Shows `status` as a notification, or in the call window when that fails.
    fn notify(&self, notifier: &Notifier, status: &CallStatus) {
        let Some(core) = self.core.upgrade() else {
            return;
        };
        if !core.settings().notifications {
            return;
        }
        let label_key = if status.state == crate::status::Stage::Preview {
            "notify.cancel"
        } else {
            "notify.hangup"
        };
        let hangup_core = self.core.clone();
        let call = status.id.clone();
        let on_action = Arc::new(move || {
            // A button of an old notification must not end a later call.
            let current = |core: &Core| core.call_status().is_some_and(|s| s.id == call);
            if let Some(core) = hangup_core.upgrade().filter(|core| current(core)) {
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = core.hangup().await {
                        core.report(&e.message);
                    }
                });
            }
        });
        let shown = core.info().notifications_available
            && notifier
                .show(status, &core.text("app.name", &[]), &core.text(label_key, &[]), on_action)
                .map_err(|e| tracing::warn!(error = %e, "no desktop notifications; using the call window"))
                .is_ok();
        if !shown {
            // The call window shows the state and closes itself after the end; it is raised
            // once per call, not on every step (the agent may be typing elsewhere).
            core.set_notifications_available(false);
            let mut raised = self.raised_for.lock().expect("raised lock");
            if raised.as_deref() != Some(status.id.as_str()) {
                *raised = Some(status.id.clone());
                self.open(View::Call);
            }
        }
    }

    fn open(&self, view: View) {
        if let Err(e) = windows::open(&self.app, view) {
            tracing::warn!(error = %e, view = view.name(), "cannot open a window");
        }
    }

    /// Sets the tray picture from the core's state.
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
        if let Err(e) = tray::show(&self.app, look, &tooltip) {
            tracing::warn!(error = %e, "cannot update the tray icon");
        }
    }
}

impl<R: Runtime> Surface for DesktopSurface<R> {
    fn call_changed(&self, status: &CallStatus) {
        if status.is_final && tray::is_failure(status.outcome) {
            *self.failed_at.lock().expect("failed lock") = Some(Instant::now());
            let me = self.me.clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(ERROR_LOOK + Duration::from_millis(100)).await;
                if let Some(surface) = me.upgrade() {
                    surface.refresh_look();
                }
            });
        }
        crate::publish(&self.app, "call-progress", status);
        self.refresh_look();
        if let Some(core) = self.core.upgrade()
            && let Err(e) = tray::refresh_menu(&self.app, &core)
        {
            tracing::warn!(error = %e, "cannot update the tray menu");
        }
        let _ = self.notifications.send(status.clone());
    }

    fn pick(&self) {
        // A fresh window: an open one still shows the previous text.
        if let Some(children) = self.app.try_state::<windows::Children>() {
            children.close(View::Pick);
        }
        self.open(View::Pick);
    }

    fn link_changed(&self, _state: &LinkState) {
        self.refresh_look();
    }

    fn menu_changed(&self) {
        if let Some(core) = self.core.upgrade()
            && let Err(e) = tray::refresh_menu(&self.app, &core)
        {
            tracing::warn!(error = %e, "cannot update the tray menu");
        }
        self.refresh_look();
        crate::publish(&self.app, "settings-changed", &());
    }
}

//! The app's windows. Each view of the web UI opens in a window process of its own
//! (`clickdial-window <view>`, a Tauri program beside `clickdial`), so closing it ends that
//! process and WebKit's web and network processes with it, and the tray process never loads
//! WebKit at all. (Inside one process Tauri keeps WebKit's network process for the app's
//! lifetime on Linux.)

use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

use tauri::{Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

use crate::instance::Subscribers;

/// A view of the web UI (`ui/`), each in a window of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// The first-run flow.
    Setup,
    /// The settings.
    Settings,
    /// The call history.
    History,
    /// "Which number?": the candidates of the last trigger.
    Pick,
    /// The call's progress, when there is no notification service.
    Call,
    /// A box to type a number into.
    Dial,
}

/// Every view.
pub const VIEWS: [View; 6] = [
    View::Setup,
    View::Settings,
    View::History,
    View::Pick,
    View::Call,
    View::Dial,
];

impl View {
    /// The window label and hash route.
    pub fn name(self) -> &'static str {
        match self {
            View::Setup => "setup",
            View::Settings => "settings",
            View::History => "history",
            View::Pick => "pick",
            View::Call => "call",
            View::Dial => "dial",
        }
    }

    /// The view named `name`.
    pub fn named(name: &str) -> Option<View> {
        VIEWS.into_iter().find(|view| view.name() == name)
    }

    /// The window's inner size in logical pixels.
    fn size(self) -> (f64, f64) {
        match self {
            View::Setup | View::Settings | View::History => (520.0, 640.0),
            View::Pick | View::Call | View::Dial => (420.0, 300.0),
        }
    }
}

/// The window processes the tray started, by view.
#[derive(Debug, Default, Clone)]
pub struct Children {
    running: Arc<Mutex<HashMap<View, Child>>>,
}

impl Children {
    /// Whether the window process of `view` still runs (reaping it when it ended).
    fn is_running(&self, view: View) -> bool {
        let mut running = self.running.lock().expect("children lock");
        match running.get_mut(&view).map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                running.remove(&view);
                false
            }
            None => false,
        }
    }

    /// Ends the window process of `view`, if it runs.
    pub fn close(&self, view: View) {
        if let Some(mut child) = self.running.lock().expect("children lock").remove(&view) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The window program, installed beside `clickdial`.
pub fn window_program() -> std::io::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.with_file_name(format!("clickdial-window{}", std::env::consts::EXE_SUFFIX)))
}

impl Children {
    /// Shows `view`: raises its window process if it runs, else starts one.
    pub fn open(&self, view: View, subscribers: &Subscribers) -> std::io::Result<()> {
        if self.is_running(view) {
            subscribers.publish("focus-window", &view.name());
            return Ok(());
        }
        let child = Command::new(window_program()?).arg(view.name()).spawn()?;
        let mut running = self.running.lock().expect("children lock");
        let first = running.is_empty();
        running.insert(view, child);
        if first {
            reap_later(self.clone());
        }
        Ok(())
    }
}

/// Collects ended window processes so none lingers as a zombie; ends with the last one.
fn reap_later(children: Children) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(2));
            let mut running = children.running.lock().expect("children lock");
            running.retain(|_, child| matches!(child.try_wait(), Ok(None)));
            if running.is_empty() {
                return;
            }
        }
    });
}

/// Creates the window of `view` in this (window) process.
pub fn build<R: Runtime, M: Manager<R>>(manager: &M, view: View) -> tauri::Result<()> {
    let (width, height) = view.size();
    let url = WebviewUrl::App(format!("index.html#/{}", view.name()).into());
    let small = matches!(view, View::Pick | View::Call | View::Dial);
    WebviewWindowBuilder::new(manager, view.name(), url)
        .title("clickdial")
        .inner_size(width, height)
        .min_inner_size(width.min(360.0), height.min(260.0))
        .resizable(!small)
        .always_on_top(small)
        .center()
        .focused(true)
        .build()?;
    Ok(())
}

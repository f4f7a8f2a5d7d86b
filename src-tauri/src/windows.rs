//! The app's windows: one per view of the web UI, created when needed and destroyed when
//! closed, so an idle agent's desktop carries no web process.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// A view of the web UI (`ui/`), each in a window of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// The window's inner size in logical pixels.
    fn size(self) -> (f64, f64) {
        match self {
            View::Setup | View::Settings | View::History => (520.0, 640.0),
            View::Pick | View::Call | View::Dial => (420.0, 300.0),
        }
    }
}

/// Shows `view`, creating its window if it is not open; focuses it either way.
pub fn open<R: Runtime>(app: &AppHandle<R>, view: View) -> tauri::Result<()> {
    if let Some(window) = app.get_webview_window(view.name()) {
        window.show()?;
        window.unminimize()?;
        return window.set_focus();
    }
    let (width, height) = view.size();
    let url = WebviewUrl::App(format!("index.html#/{}", view.name()).into());
    let small = matches!(view, View::Pick | View::Call | View::Dial);
    WebviewWindowBuilder::new(app, view.name(), url)
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

/// Destroys the window `label` (and with the last one, WebKit's processes).
pub fn close<R: Runtime>(app: &AppHandle<R>, label: &str) -> tauri::Result<()> {
    match app.get_webview_window(label) {
        Some(window) => window.destroy(),
        None => Ok(()),
    }
}

//! The commands the web UI calls (`ui/src/api.ts` wraps each one): thin calls into
//! [`Core`], plus the window and OS-level effects of saving settings.

use std::collections::HashMap;
use std::sync::Arc;

use clickdial_agent::{Entry, Language, Settings, Trigger};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Runtime, State, WebviewWindow};

use crate::core::{AppInfo, Core, Pick, ProbeReport, ProblemView, UserError};
use crate::i18n::Lang;
use crate::status::CallStatus;
use crate::windows::{self, View};

/// The settings with whether a secret is stored for them.
#[derive(Debug, Serialize)]
pub struct SettingsView {
    /// The settings.
    pub settings: Settings,
    /// Whether the keyring holds the secret (AMI) or token (gateway) for the mode.
    pub has_secret: bool,
}

/// A started call's id.
#[derive(Debug, Serialize)]
pub struct Started {
    /// The call's id, as in `call-progress`.
    pub id: String,
}

/// How the UI started a dial.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiTrigger {
    /// Typed into a dial box.
    Typed,
    /// Chosen in the pick dialog.
    Pick,
    /// Redial from the history.
    Redial,
}

type Shared<'a> = State<'a, Arc<Core>>;

/// Facts the UI starts from.
#[tauri::command]
pub fn app_info(core: Shared<'_>) -> AppInfo {
    core.info()
}

/// Every text in the agent's language, or in `language` (a choice not saved yet).
#[tauri::command]
pub fn catalogue(core: Shared<'_>, language: Option<Language>) -> HashMap<String, String> {
    let lang = language.map_or_else(|| core.lang(), Lang::resolve);
    core.catalogue().all(lang)
}

/// The settings and whether their secret is stored.
#[tauri::command]
pub fn get_settings(core: Shared<'_>) -> Result<SettingsView, UserError> {
    Ok(SettingsView {
        settings: core.settings(),
        has_secret: core.has_secret()?,
    })
}

/// Reads settings as the UI sends them; a value of the wrong shape (an unknown country code,
/// a port above 65535) is a problem on its field, like the checks of [`Settings::problems`].
fn read_settings(core: &Core, settings: serde_json::Value) -> Result<Settings, UserError> {
    serde_path_to_error::deserialize(settings).map_err(|e| {
        let field = e.path().to_string();
        let detail = e.inner().to_string();
        UserError {
            kind: "invalid",
            message: core.text("error.settings_invalid", &[]),
            problems: Some(vec![ProblemView {
                field,
                kind: "invalid_value".to_owned(),
                message: core.text("problem.invalid_value", &[("detail", &detail)]),
            }]),
        }
    })
}

/// Saves the settings (and the secret when given), then applies hotkeys, autostart and
/// language.
#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    core: Shared<'_>,
    settings: serde_json::Value,
    secret: Option<String>,
) -> Result<(), UserError> {
    let settings = read_settings(&core, settings)?;
    let before = core.settings();
    core.save_settings(settings, secret)?;
    crate::apply_os_settings(&app, &core, &before);
    if before.language != core.settings().language {
        let _ = app.emit("language-changed", ());
    }
    Ok(())
}

/// Logs in with the given settings and says what it found; saves nothing.
#[tauri::command]
pub async fn test_connection(
    core: Shared<'_>,
    settings: serde_json::Value,
    secret: Option<String>,
) -> Result<ProbeReport, UserError> {
    let settings = read_settings(&core, settings)?;
    Ok(core.test_connection(&settings, secret).await)
}

/// Switches this run to the demo PBX.
#[tauri::command]
pub async fn start_demo(core: Shared<'_>) -> Result<(), UserError> {
    core.start_demo().await
}

/// Ends the first-run flow.
#[tauri::command]
pub fn finish_setup<R: Runtime>(app: AppHandle<R>) -> Result<(), UserError> {
    windows::close(&app, View::Setup.name()).map_err(window_error)
}

/// The numbers in `text`.
#[tauri::command]
pub fn candidates(core: Shared<'_>, text: String) -> Pick {
    core.candidates(&text)
}

/// What the pick dialog should show.
#[tauri::command]
pub fn pending_pick(core: Shared<'_>) -> Option<Pick> {
    core.pending_pick()
}

/// Dials one number.
#[tauri::command]
pub async fn dial(
    core: Shared<'_>,
    text: String,
    trigger: UiTrigger,
) -> Result<Started, UserError> {
    let trigger = match trigger {
        UiTrigger::Typed | UiTrigger::Pick => Trigger::Typed,
        UiTrigger::Redial => Trigger::Redial,
    };
    core.dial(&text, trigger).map(|id| Started { id })
}

/// Cancels the preview or hangs up the call being set up.
#[tauri::command]
pub async fn hangup(core: Shared<'_>) -> Result<(), UserError> {
    core.hangup().await
}

/// The current (or last) call.
#[tauri::command]
pub fn call_status(core: Shared<'_>) -> Option<CallStatus> {
    core.call_status()
}

/// History entries matching `query`, newest first.
#[tauri::command]
pub fn history(core: Shared<'_>, query: String, limit: usize) -> Result<Vec<Entry>, UserError> {
    core.history(&query, limit.min(1000))
}

/// Dials a history entry again.
#[tauri::command]
pub async fn redial(core: Shared<'_>, id: i64) -> Result<Started, UserError> {
    core.redial(id).map(|id| Started { id })
}

/// Empties the history.
#[tauri::command]
pub fn clear_history(core: Shared<'_>) -> Result<(), UserError> {
    core.clear_history()
}

/// "Check this computer": links, hotkey, keyring, connection.
#[tauri::command]
pub fn self_check<R: Runtime>(app: AppHandle<R>, core: Shared<'_>) -> crate::checks::Report {
    crate::checks::run(&app, &core)
}

/// The answer to "make clickdial the handler of tel: links".
#[derive(Debug, Serialize)]
pub struct Registered {
    /// Whether it worked.
    pub ok: bool,
    /// What happened, in the agent's language.
    pub message: String,
}

/// Makes clickdial the desktop's application for tel:, callto: and sip: links.
#[tauri::command]
pub fn register_handler<R: Runtime>(app: AppHandle<R>, core: Shared<'_>) -> Registered {
    let (ok, message) = crate::checks::register_handler(&app, &core);
    Registered { ok, message }
}

/// Closes (destroys) the window that asks.
#[tauri::command]
pub fn close_window<R: Runtime>(window: WebviewWindow<R>) -> Result<(), UserError> {
    window.destroy().map_err(window_error)
}

fn window_error(error: tauri::Error) -> UserError {
    UserError {
        kind: "window",
        message: error.to_string(),
        problems: None,
    }
}

/// Adds every command to `builder`.
pub fn register<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        app_info,
        catalogue,
        get_settings,
        save_settings,
        test_connection,
        start_demo,
        finish_setup,
        candidates,
        pending_pick,
        dial,
        hangup,
        call_status,
        history,
        redial,
        clear_history,
        self_check,
        register_handler,
        close_window,
    ])
}

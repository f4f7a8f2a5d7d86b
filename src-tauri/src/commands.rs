//! The commands the web UI calls (`ui/src/api.ts` wraps each one): thin calls into
//! [`Core`], plus the OS-level effects of saving settings.
//!
//! Commands run in the tray process, which owns the [`Core`]. A window process forwards each
//! invoke over the instance socket (see [`crate::window`]); [`register`] serves them in a
//! Tauri process of their own (the mock-runtime tests). Either way [`dispatch`] does the
//! work, with the same JSON in and out.

use std::sync::Arc;

use clickdial_agent::{Language, Settings, Trigger};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tauri::{Manager, Runtime};

use crate::core::{Core, ProblemView, UserError};
use crate::host::{Headless, Host};
use crate::i18n::Lang;

/// The settings with whether a secret is stored for them.
#[derive(Debug, Serialize)]
struct SettingsView {
    settings: Settings,
    has_secret: bool,
}

/// How the UI started a dial.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum UiTrigger {
    Typed,
    Pick,
    Redial,
}

#[derive(Deserialize)]
struct CatalogueArgs {
    #[serde(default)]
    language: Option<Language>,
}

#[derive(Deserialize)]
struct SettingsArgs {
    settings: Value,
    #[serde(default)]
    secret: Option<String>,
}

#[derive(Deserialize)]
struct TextArgs {
    text: String,
}

#[derive(Deserialize)]
struct DialArgs {
    text: String,
    trigger: UiTrigger,
}

#[derive(Deserialize)]
struct HistoryArgs {
    #[serde(default)]
    query: String,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    200
}

#[derive(Deserialize)]
struct IdArgs {
    id: i64,
}

/// A malformed invoke (a UI bug, not an agent's): its kind is `bad_request`.
fn bad_request(command: &str, detail: impl std::fmt::Display) -> UserError {
    UserError {
        kind: "bad_request",
        message: format!("{command}: {detail}"),
        problems: None,
    }
}

fn args<T: DeserializeOwned>(command: &str, args: Value) -> Result<T, UserError> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args).map_err(|e| bad_request(command, e))
}

fn to_value(value: impl Serialize) -> Result<Value, UserError> {
    Ok(serde_json::to_value(value).expect("command results serialize"))
}

/// Reads settings as the UI sends them; a value of the wrong shape (an unknown country code,
/// a port above 65535) is a problem on its field, like the checks of [`Settings::problems`].
fn read_settings(core: &Core, settings: Value) -> Result<Settings, UserError> {
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

/// Runs `command` with its JSON `args` in the tray process: the JSON result, or the
/// [`UserError`] as JSON. `close_window` and `finish_setup` belong to the window that sends
/// them and are answered there.
pub async fn dispatch(
    host: &dyn Host,
    core: &Arc<Core>,
    command: &str,
    raw: Value,
) -> Result<Value, Value> {
    run(host, core, command, raw)
        .await
        .map_err(|e| serde_json::to_value(e).expect("errors serialize"))
}

async fn run(
    host: &dyn Host,
    core: &Arc<Core>,
    command: &str,
    raw: Value,
) -> Result<Value, UserError> {
    match command {
        "app_info" => to_value(core.info()),
        "catalogue" => {
            let CatalogueArgs { language } = args(command, raw)?;
            let lang = language.map_or_else(|| core.lang(), Lang::resolve);
            to_value(core.catalogue().all(lang))
        }
        "get_settings" => to_value(SettingsView {
            settings: core.settings(),
            has_secret: core.has_secret()?,
        }),
        "save_settings" => {
            let SettingsArgs { settings, secret } = args(command, raw)?;
            let settings = read_settings(core, settings)?;
            let before = core.settings();
            core.save_settings(settings, secret)?;
            host.apply_os_settings(core, &before);
            if before.language != core.settings().language {
                host.publish("language-changed", Value::Null);
            }
            Ok(Value::Null)
        }
        "test_connection" => {
            let SettingsArgs { settings, secret } = args(command, raw)?;
            let settings = read_settings(core, settings)?;
            to_value(core.test_connection(&settings, secret).await)
        }
        "start_demo" => {
            let before = core.settings();
            core.start_demo().await?;
            host.apply_os_settings(core, &before);
            Ok(Value::Null)
        }
        "candidates" => {
            let TextArgs { text } = args(command, raw)?;
            to_value(core.candidates(&text))
        }
        "pending_pick" => to_value(core.pending_pick()),
        "dial" => {
            let DialArgs { text, trigger } = args(command, raw)?;
            let trigger = match trigger {
                UiTrigger::Typed => Trigger::Typed,
                UiTrigger::Pick => core.picked_trigger(),
                UiTrigger::Redial => Trigger::Redial,
            };
            core.dial(&text, trigger).map(|id| json!({ "id": id }))
        }
        "hangup" => core.hangup().await.map(|()| Value::Null),
        "call_status" => to_value(core.call_status()),
        "history" => {
            let HistoryArgs { query, limit } = args(command, raw)?;
            to_value(core.history(&query, limit.min(1000))?)
        }
        "redial" => {
            let IdArgs { id } = args(command, raw)?;
            core.redial(id).map(|id| json!({ "id": id }))
        }
        "clear_history" => core.clear_history().map(|()| Value::Null),
        "self_check" => to_value(crate::checks::run(host, core)),
        "register_handler" => {
            let (ok, message) = crate::checks::register_handler(core);
            Ok(json!({ "ok": ok, "message": message }))
        }
        "finish_setup" | "close_window" => Ok(Value::Null),
        other => Err(bad_request(other, "no such command")),
    }
}

/// Serves the commands in a Tauri process holding the [`Core`] as managed state, with no
/// desktop around it (the mock-runtime tests).
pub fn register<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(|invoke| {
        let app = invoke.message.webview().app_handle().clone();
        let command = invoke.message.command().to_owned();
        let raw = match invoke.message.payload() {
            tauri::ipc::InvokeBody::Json(value) => value.clone(),
            tauri::ipc::InvokeBody::Raw(_) => Value::Null,
        };
        invoke.resolver.respond_async(async move {
            let core = app.state::<Arc<Core>>().inner().clone();
            dispatch(&Headless, &core, &command, raw)
                .await
                .map_err(tauri::ipc::InvokeError)
        });
        true
    })
}

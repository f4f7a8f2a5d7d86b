//! A window process: `clickdial-window <view>` shows one view of the web UI and forwards its
//! commands to the tray process (`clickdial`) over the instance socket; its events come back
//! the same way. When the window closes, the process ends, and WebKit's processes with it.

use std::time::{Duration, Instant};

use serde_json::Value;
use tauri::{Emitter, Manager};

use crate::instance::{self, Request};
use crate::windows::{self, View};

/// How long a window process waits for a tray it started to listen.
const TRAY_START: Duration = Duration::from_secs(15);

/// Connects to the tray, starting it (`clickdial --background`, beside this program) when
/// none runs.
fn connect() -> anyhow::Result<instance::Stream> {
    let path = instance::socket_path()?;
    if let Ok(stream) = instance::connect(&path) {
        return Ok(stream);
    }
    let tray = format!("clickdial{}", std::env::consts::EXE_SUFFIX);
    std::process::Command::new(std::env::current_exe()?.with_file_name(tray))
        .arg("--background")
        .spawn()?;
    let start = Instant::now();
    loop {
        if let Ok(stream) = instance::connect(&path) {
            return Ok(stream);
        }
        if start.elapsed() > TRAY_START {
            anyhow::bail!("the clickdial tray did not start within {TRAY_START:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs one command in the tray: its JSON result or JSON error.
fn forward_command(command: String, args: Value) -> Result<Value, Value> {
    let error = |message: String| serde_json::json!({ "kind": "tray", "message": message });
    let stream = connect().map_err(|e| error(e.to_string()))?;
    let reply = instance::forward(stream, &Request::Invoke { command, args })
        .map_err(|e| error(e.to_string()))?;
    if reply.ok {
        Ok(reply.value)
    } else {
        Err(reply.value)
    }
}

/// Shows `view` until its window is closed.
pub fn run(view: View) -> anyhow::Result<()> {
    // Start the tray first, so the window never shows without it.
    drop(connect()?);
    let builder = tauri::Builder::default()
        .invoke_handler(move |invoke| {
            let command = invoke.message.command().to_owned();
            let window = invoke.message.webview().window();
            if command == "close_window" || command == "finish_setup" {
                let closed = window.destroy();
                invoke.resolver.respond(
                    closed
                        .map(|()| Value::Null)
                        .map_err(|e| tauri::ipc::InvokeError::from(e.to_string())),
                );
                return true;
            }
            let args = match invoke.message.payload() {
                tauri::ipc::InvokeBody::Json(value) => value.clone(),
                tauri::ipc::InvokeBody::Raw(_) => Value::Null,
            };
            invoke.resolver.respond_async(async move {
                tauri::async_runtime::spawn_blocking(move || forward_command(command, args))
                    .await
                    .map_err(|e| tauri::ipc::InvokeError::from(e.to_string()))?
                    .map_err(tauri::ipc::InvokeError)
            });
            true
        })
        .setup(move |app| {
            windows::build(app, view)?;
            let handle = app.handle().clone();
            let events = instance::subscribe(connect()?)?;
            std::thread::spawn(move || {
                for event in events {
                    if event.event == "focus-window" {
                        if event.payload == view.name()
                            && let Some(window) = handle.get_webview_window(view.name())
                        {
                            let _ = window.show();
                            let _ = window.set_focus();
                        }
                        continue;
                    }
                    let _ = handle.emit(&event.event, event.payload);
                }
                // The tray quit: so does its window.
                handle.exit(0);
            });
            Ok(())
        });
    builder.run(tauri::generate_context!())?;
    Ok(())
}

//! The tray app (`clickdial`) inside a test [`Desktop`]: started connected to an Asterisk,
//! and asked things over its instance socket the way a window process does.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use serde_json::{Value, json};

use super::{Desktop, Session, wait_for};

/// The tray program under test.
pub const APP: &str = env!("CARGO_BIN_EXE_clickdial");

/// Writes settings for agent 10 on the Asterisk at `ami_port` (no preview; `extra` lines
/// added at the top level), puts its AMI secret in the keyring the way the app stores it,
/// starts the app with `args` and waits until its icon shows and it is logged in.
pub async fn start_app(desktop: &mut Desktop, ami_port: u16, extra: &str, args: &str) {
    std::fs::create_dir_all(desktop.config_dir()).unwrap();
    std::fs::write(
        desktop.config_dir().join("settings.toml"),
        format!(
            "extension = \"10\"\npreview_secs = 0\n{extra}\n[connection]\nmode = \"ami\"\n\
             host = \"127.0.0.1\"\nport = {ami_port}\nusername = \"clickdial\"\nchannel = \
             \"Local/{{extension}}@agents\"\ncontext = \"extensiones-locales\"\n\n[dial]\n\
             country = \"ES\"\n"
        ),
    )
    .unwrap();
    desktop.start_session(Session {
        command: vec![
            "sh".into(),
            "-c".into(),
            format!(
                "printf %s clickdial-secret | secret-tool store --label=clickdial service \
                 clickdial username ami-secret target default && exec \"$0\" {args}"
            ),
            APP.into(),
        ],
    });
    wait_for(
        "the app's icon in trayer",
        Duration::from_secs(60),
        || async { desktop.tray_icon_point() },
    )
    .await;
    wait_for(
        "the app logged in to Asterisk",
        Duration::from_secs(30),
        || async {
            let checks = ask_app(desktop, json!({ "do": "invoke", "command": "self_check" }));
            let connection = checks["value"]["checks"]
                .as_array()?
                .iter()
                .find(|c| c["id"] == "connection")?
                .clone();
            (connection["ok"] == true).then_some(())
        },
    )
    .await;
}

/// Sends one request to the running app over its instance socket, as a window process does.
pub fn ask_app(desktop: &Desktop, request: Value) -> Value {
    let socket = desktop
        .runtime_dir()
        .join("org.clickdial.app/instance.sock");
    let mut stream = std::os::unix::net::UnixStream::connect(&socket)
        .unwrap_or_else(|e| panic!("{}: {e}", socket.display()));
    writeln!(stream, "{request}").unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

/// Waits (up to `within`) until the app's current call has ended (one call at a time).
pub async fn call_ended(desktop: &Desktop, within: Duration) {
    wait_for("the call to end", within, || async {
        let status = ask_app(desktop, json!({ "do": "invoke", "command": "call_status" }));
        (status["value"].is_null() || status["value"]["final"] == true).then_some(())
    })
    .await;
}

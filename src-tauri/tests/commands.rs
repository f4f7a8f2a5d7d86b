//! The commands the web UI calls, through Tauri's mock runtime: no window, no WebKit, the
//! same JSON in and out as `ui/src/api.ts` sends and expects.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clickdial_agent::{History, MemoryStore};
use clickdial_app::core::{Core, Storage};
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

/// A mock app over a fresh core whose settings file lives in `dir`.
struct Harness {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    core: Arc<Core>,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage {
            settings_path: Some(dir.path().join("settings.toml")),
            secrets: Arc::new(MemoryStore::new()),
            history: History::in_memory(),
        };
        let core = Core::new(storage, None, false);
        let app = clickdial_app::commands::register(mock_builder())
            .manage(core.clone())
            .build(mock_context(noop_assets()))
            .unwrap();
        let window = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        Harness {
            _app: app,
            window,
            core,
            dir,
        }
    }

    /// Invokes `cmd` with `args`: the command's JSON answer, or its JSON error.
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.window, request).map(|body| body.deserialize().unwrap())
    }

    /// Saves the current settings with Spain's dial rules (the default follows the locale).
    fn in_spain(&self) {
        let mut settings = self.ok("get_settings", json!({}))["settings"].clone();
        settings["dial"]["country"] = json!("ES");
        self.ok(
            "save_settings",
            json!({ "settings": settings, "secret": null }),
        );
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    /// Polls `call_status` until `done` holds, for at most `limit`.
    fn wait_status(&self, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let status = self.ok("call_status", json!({}));
            if done(&status) {
                return status;
            }
            assert!(start.elapsed() < limit, "call status stuck at {status}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Settings as the setup window sends them for a direct AMI connection.
fn ami_settings(port: u16, extension: &str) -> Value {
    json!({
        "language": "en",
        "extension": extension,
        "connection": {
            "mode": "ami", "host": "127.0.0.1", "port": port, "username": "clickdial", "tls": false,
            "channel": "Local/{extension}@agents", "context": "extensiones-locales"
        },
        "dial": { "country": "ES", "internal_max_len": 5 },
        "hotkey": "Ctrl+Alt+D", "hotkey_paused": false, "clipboard_hotkey": "Ctrl+Alt+C",
        "autostart": false, "notifications": true, "preview_secs": 0
    })
}

#[test]
fn first_run_saves_settings_and_names_each_problem() {
    let h = Harness::new();
    let info = h.ok("app_info", json!({}));
    assert_eq!(info["first_run"], true);
    assert_eq!(info["demo"], false);
    let es = h.ok("catalogue", json!({ "language": "es" }));
    assert_eq!(es["tray.hangup"], "Colgar");
    let en = h.ok("catalogue", json!({ "language": "en" }));
    assert_eq!(en["tray.hangup"], "Hang up");
    assert_eq!(h.ok("get_settings", json!({}))["has_secret"], false);

    let mut broken = ami_settings(5038, "");
    broken["connection"]["host"] = json!("");
    broken["language"] = json!("es");
    let err = h
        .call(
            "save_settings",
            json!({ "settings": broken, "secret": "s" }),
        )
        .unwrap_err();
    assert_eq!(err["kind"], "invalid", "{err}");
    let problems = err["problems"].as_array().unwrap();
    let fields: Vec<&str> = problems
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"extension"), "{err}");
    assert!(fields.contains(&"connection.host"), "{err}");
    assert!(
        problems
            .iter()
            .all(|p| !p["message"].as_str().unwrap().is_empty())
    );
    assert!(
        !h.dir.path().join("settings.toml").exists(),
        "nothing saved"
    );

    h.ok(
        "save_settings",
        json!({ "settings": ami_settings(5038, "10"), "secret": "clickdial-secret" }),
    );
    let file = std::fs::read_to_string(h.dir.path().join("settings.toml")).unwrap();
    assert!(file.contains("extension = \"10\""), "{file}");
    assert!(
        !file.contains("clickdial-secret"),
        "the secret stays out of the file: {file}"
    );
    let saved = h.ok("get_settings", json!({}));
    assert_eq!(saved["has_secret"], true);
    assert_eq!(saved["settings"]["connection"]["host"], "127.0.0.1");
    assert_eq!(h.ok("app_info", json!({}))["first_run"], false);
    // Keeping the stored secret: `null` does not erase it.
    h.ok(
        "save_settings",
        json!({ "settings": ami_settings(5038, "11"), "secret": null }),
    );
    assert_eq!(h.ok("get_settings", json!({}))["has_secret"], true);
}

#[test]
fn the_stored_secret_never_goes_to_another_server() {
    let h = Harness::new();
    h.ok(
        "save_settings",
        json!({ "settings": ami_settings(5038, "10"), "secret": "s3cret" }),
    );
    let mut elsewhere = ami_settings(5038, "10");
    elsewhere["connection"]["host"] = json!("203.0.113.9");
    let report = h.ok(
        "test_connection",
        json!({ "settings": elsewhere, "secret": null }),
    );
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["kind"], "invalid", "{report}");
    assert_eq!(report["message"], "Enter the secret (or token) first.");
}

#[test]
fn a_damaged_settings_file_is_kept_aside_when_new_settings_are_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    std::fs::write(&path, "extension = [broken\n").unwrap();
    let storage = Storage {
        settings_path: Some(path.clone()),
        secrets: Arc::new(MemoryStore::new()),
        history: History::in_memory(),
    };
    let core = Core::new(storage, None, false);
    core.set_settings_damaged();
    let settings: clickdial_agent::Settings =
        serde_json::from_value(ami_settings(5038, "10")).unwrap();
    let _rt = tauri::async_runtime::handle().inner().enter();
    core.save_settings(settings, Some("s".into())).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let aside = names
        .iter()
        .find(|n| n.starts_with("settings.toml.damaged-"))
        .unwrap_or_else(|| panic!("no damaged copy kept: {names:?}"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join(aside)).unwrap(),
        "extension = [broken\n"
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("extension = \"10\"")
    );
}

#[test]
fn candidates_show_every_number_and_what_would_be_dialed() {
    let h = Harness::new();
    h.ok(
        "save_settings",
        json!({ "settings": ami_settings(5038, "10"), "secret": "s" }),
    );
    let pick = h.ok(
        "candidates",
        json!({ "text": "Call 93 200 90 00 or the mobile +34 600 12 34 56" }),
    );
    let candidates = pick["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 2, "{pick}");
    assert_eq!(candidates[0]["display"], "932 00 90 00");
    assert_eq!(candidates[0]["destination"], "932009000");
    assert_eq!(candidates[1]["display"], "600 12 34 56");
    let none = h.ok("candidates", json!({ "text": "no number here" }));
    assert_eq!(none["candidates"], json!([]));
    assert_eq!(h.ok("pending_pick", json!({})), Value::Null);
}

#[test]
fn nothing_dials_before_setup() {
    let h = Harness::new();
    let err = h
        .call("dial", json!({ "text": "932009000", "trigger": "typed" }))
        .unwrap_err();
    assert_eq!(err["kind"], "not_configured", "{err}");
    let err = h.call("hangup", json!({})).unwrap_err();
    assert_eq!(err["kind"], "gone", "{err}");
}

#[test]
fn demo_mode_dials_keeps_history_and_touches_no_file() {
    let h = Harness::new();
    h.ok("start_demo", json!({}));
    h.in_spain();
    let info = h.ok("app_info", json!({}));
    assert_eq!(info["demo"], true);
    assert_eq!(info["first_run"], false);

    // Two numbers in the text: the agent picks, nothing is dialed by guess.
    let _rt = tauri::async_runtime::handle().inner().enter();
    let started = h.core.trigger(
        "93 200 90 00 / 600 12 34 56",
        clickdial_agent::Trigger::Tray,
    );
    assert_eq!(started, Ok(None));
    let pending = h.ok("pending_pick", json!({}));
    assert_eq!(
        pending["candidates"].as_array().unwrap().len(),
        2,
        "{pending}"
    );

    let id = h.ok("dial", json!({ "text": "932 00 90 00", "trigger": "pick" }))["id"].clone();
    let connected = h.wait_status(Duration::from_secs(10), |s| s["state"] == "connected");
    assert_eq!(connected["id"], id);
    assert_eq!(connected["text"], "Connected");
    assert_eq!(connected["destination"], "932009000");
    // One call at a time.
    let err = h
        .call("dial", json!({ "text": "600123456", "trigger": "typed" }))
        .unwrap_err();
    assert_eq!(err["kind"], "busy", "{err}");
    let history = h.ok("history", json!({ "query": "", "limit": 10 }));
    assert_eq!(history[0]["number"], "932 00 90 00");
    assert_eq!(
        history[0]["trigger"], "tray",
        "recorded under what opened the pick"
    );
    assert_eq!(history[0]["outcome"], Value::Null, "still in progress");

    let settings_file = h.dir.path().join("settings.toml");
    let mut settings = h.ok("get_settings", json!({}))["settings"].clone();
    settings["extension"] = json!("12");
    h.ok(
        "save_settings",
        json!({ "settings": settings, "secret": null }),
    );
    assert!(
        !settings_file.exists(),
        "demo mode never writes the settings file"
    );
}

#[test]
fn demo_busy_outcome_redial_and_preview_cancel() {
    let h = Harness::new();
    h.ok("start_demo", json!({}));
    h.in_spain();
    h.ok("dial", json!({ "text": "90001", "trigger": "typed" }));
    let busy = h.wait_status(Duration::from_secs(15), |s| s["final"] == true);
    assert_eq!(busy["outcome"], "busy", "{busy}");
    assert_eq!(busy["text"], "Busy");
    let history = h.ok("history", json!({ "query": "90001", "limit": 10 }));
    assert_eq!(history[0]["outcome"]["kind"], "busy", "{history}");

    let entry = history[0]["id"].as_i64().unwrap();
    h.ok("redial", json!({ "id": entry }));
    h.wait_status(Duration::from_secs(15), |s| s["final"] == true);
    let both = h.ok("history", json!({ "query": "90001", "limit": 10 }));
    assert_eq!(both.as_array().unwrap().len(), 2);
    assert_eq!(both[0]["trigger"], "redial");

    let mut settings = h.ok("get_settings", json!({}))["settings"].clone();
    settings["preview_secs"] = json!(5);
    h.ok(
        "save_settings",
        json!({ "settings": settings, "secret": null }),
    );
    h.ok("dial", json!({ "text": "932009000", "trigger": "typed" }));
    let preview = h.ok("call_status", json!({}));
    assert_eq!(preview["state"], "preview");
    assert_eq!(preview["can_hangup"], true);
    assert_eq!(preview["text"], "Calling 932 00 90 00 in 5 s…");
    h.ok("hangup", json!({}));
    let cancelled = h.wait_status(Duration::from_secs(3), |s| s["final"] == true);
    assert_eq!(cancelled["outcome"], "cancelled");
    let history = h.ok("history", json!({ "query": "932009000", "limit": 10 }));
    assert_eq!(history[0]["outcome"]["kind"], "cancelled");

    h.ok("clear_history", json!({}));
    assert_eq!(
        h.ok("history", json!({ "query": "", "limit": 10 })),
        json!([])
    );
    let err = h.call("redial", json!({ "id": entry })).unwrap_err();
    assert_eq!(err["kind"], "not_found", "{err}");
}

#[test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
fn test_connection_and_a_call_through_asterisk() {
    let pbx = clickdial_testsupport::Pbx::builder()
        .conf("extensions.conf", clickdial_testsupport::DIALPLAN)
        .start()
        .expect("needs a real Asterisk");
    let h = Harness::new();
    let settings = ami_settings(pbx.ami_port(), "10");
    let ok = h.ok(
        "test_connection",
        json!({ "settings": settings, "secret": "clickdial-secret" }),
    );
    assert_eq!(ok["ok"], true, "{ok}");
    let bad = h.ok(
        "test_connection",
        json!({ "settings": settings, "secret": "wrong" }),
    );
    assert_eq!(bad["kind"], "bad_credentials", "{bad}");
    let mut readonly = settings.clone();
    readonly["connection"]["username"] = json!("readonly");
    let denied = h.ok(
        "test_connection",
        json!({ "settings": readonly, "secret": "readonly-secret" }),
    );
    assert_eq!(denied["kind"], "not_allowed", "{denied}");
    assert!(
        denied["message"]
            .as_str()
            .unwrap()
            .contains("write = originate"),
        "{denied}"
    );
    let mut closed = settings.clone();
    closed["connection"]["port"] = json!(1);
    let refused = h.ok(
        "test_connection",
        json!({ "settings": closed, "secret": "clickdial-secret" }),
    );
    assert_eq!(refused["kind"], "refused", "{refused}");

    h.ok(
        "save_settings",
        json!({ "settings": settings, "secret": "clickdial-secret" }),
    );
    // Saving opens the link in the background: dial once the check says it is up.
    let start = Instant::now();
    loop {
        let checks = h.ok("self_check", json!({}));
        let connection = &checks["checks"][3];
        assert_eq!(connection["id"], "connection");
        if connection["ok"] == true {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not connected after 10 s: {connection}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    h.ok(
        "dial",
        json!({ "text": "Tel. 93 200 90 00", "trigger": "typed" }),
    );
    let end = h.wait_status(Duration::from_secs(20), |s| s["final"] == true);
    assert_eq!(end["outcome"], "answered", "{end}");
    let history = h.ok("history", json!({ "query": "932", "limit": 1 }));
    assert_eq!(history[0]["outcome"]["kind"], "answered", "{history}");
    assert!(history[0]["talk_secs"].as_u64().is_some(), "{history}");
}

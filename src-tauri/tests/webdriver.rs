//! End-to-end tests of the desktop app as an agent meets it: a real X display (Xvfb), a tray
//! host (trayer), a notification daemon (dunst), an unlocked Secret Service keyring
//! (gnome-keyring) in a D-Bus session of its own, the app's UI driven through WebDriver
//! (tauri-driver + WebKitWebDriver), and a real Asterisk 22 that gets the calls.
//!
//! Screenshots (WebDriver's of each view, scrot's of the whole screen with the tray menu) go
//! to `$CARGO_TARGET_DIR/e2e-screenshots/` and their paths are printed (`--nocapture`).
//!
//! Linux only: the desktop it drives is an X11 one.

#![cfg(target_os = "linux")]

mod e2e;

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::ami_watch::AmiWatch;
use e2e::app::{APP, ask_app, call_ended, start_app};
use e2e::{Desktop, Session, check_png, screenshot_dir, wait_for};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The window program the tray starts (and WebDriver drives).
const WINDOW: &str = env!("CARGO_BIN_EXE_clickdial-window");

/// The destination every test call dials, as the agent types it, reads it and Asterisk gets it.
const TYPED: &str = "Tel. 93 200 90 00";
const SHOWN: &str = "932 00 90 00";
const DIALED: &str = "932009000";

// ---- WebDriver helpers -----------------------------------------------------------------------

fn css_testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// The element with `data-testid=id`, waited for (views render asynchronously).
async fn el(c: &Client, id: &str) -> Element {
    let selector = css_testid(id);
    wait_for(
        &format!("element {selector}"),
        Duration::from_secs(20),
        || async { c.find(Locator::Css(&selector)).await.ok() },
    )
    .await
}

/// Whether an element with `data-testid=id` is on the page now.
async fn present(c: &Client, id: &str) -> bool {
    c.find(Locator::Css(&css_testid(id))).await.is_ok()
}

async fn click(c: &Client, id: &str) {
    // A redraw can replace the element between finding and clicking it: retry then.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let element = el(c, id).await;
        match element.click().await {
            Ok(()) => return,
            Err(e) if Instant::now() < deadline => {
                eprintln!("click on {id} failed ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot click {id}: {e}"),
        }
    }
}

/// Replaces the text of input `id` with `text` (typed, so the view's input handlers run).
async fn type_into(c: &Client, id: &str, text: &str) {
    let input = el(c, id).await;
    input
        .clear()
        .await
        .unwrap_or_else(|e| panic!("clear {id}: {e}"));
    input
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {id}: {e}"));
    let value = value_of(c, id).await;
    assert_eq!(value, text, "{id} holds {value:?} after typing {text:?}");
}

async fn value_of(c: &Client, id: &str) -> String {
    el(c, id)
        .await
        .prop("value")
        .await
        .unwrap_or_else(|e| panic!("value of {id}: {e}"))
        .unwrap_or_default()
}

async fn attr(c: &Client, id: &str, name: &str) -> Option<String> {
    el(c, id).await.attr(name).await.ok().flatten()
}

async fn text_of(c: &Client, id: &str) -> String {
    el(c, id).await.text().await.unwrap_or_default()
}

async fn body_text(c: &Client) -> String {
    c.execute("return document.body.innerText", vec![])
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Saves a full-screen scrot as `name`.png. Used for the window the app opens from the tray
/// after the session started: WebKitWebDriver's screenshots of it sometimes never answer,
/// and every later command then queues behind that one.
fn screen(desktop: &Desktop, name: &str) {
    let path = screenshot_dir().join(format!("{name}.png"));
    desktop.scrot(&path);
    check_png(&path);
}

/// One `history-row` as the page shows it.
#[derive(Debug, Clone, serde::Deserialize)]
struct HistoryRow {
    number: String,
    kind: String,
    outcome: String,
}

async fn history_rows(c: &Client) -> Vec<HistoryRow> {
    let script = r#"return [...document.querySelectorAll('[data-testid="history-row"]')].map((r) => {
        const f = (id) => r.querySelector(`[data-testid="${id}"]`);
        return {
            number: f('history-number')?.textContent ?? '',
            kind: f('history-outcome')?.getAttribute('data-kind') ?? '',
            outcome: f('history-outcome')?.textContent ?? '',
        };
    });"#;
    c.execute(script, vec![])
        .await
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Waits until `setup-test-result` shows a finished test and returns its kind and text.
async fn test_result(c: &Client, prefix: &str) -> (String, String) {
    let id = format!("{prefix}-test-result");
    wait_for(
        "the connection test's result",
        Duration::from_secs(30),
        || async {
            let e = c.find(Locator::Css(&css_testid(&id))).await.ok()?;
            let kind = e.attr("data-kind").await.ok().flatten()?;
            if kind == "running" {
                return None;
            }
            Some((kind, e.text().await.unwrap_or_default()))
        },
    )
    .await
}

/// Saves a WebDriver screenshot of the current window as `name`.png. WebKitWebDriver never
/// answers a screenshot of a window the app opened after the session started (see the
/// report): after 20 s the whole screen is taken with scrot instead, and that is said.
async fn screenshot(c: &Client, desktop: &Desktop, name: &str) {
    let path = screenshot_dir().join(format!("{name}.png"));
    match tokio::time::timeout(Duration::from_secs(20), c.screenshot()).await {
        Ok(Ok(png)) => {
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()))
        }
        Ok(Err(e)) => panic!("screenshot {name}: {e}"),
        Err(_) => {
            println!("WebDriver screenshot of {name} timed out; taking the screen with scrot");
            desktop.scrot(&path);
        }
    }
    check_png(&path);
}

// ---- Asterisk's side ------------------------------------------------------------------------

/// Waits until Asterisk has rung the agent and dialed [`DIALED`] `calls` times.
async fn wait_for_call(watch: &AmiWatch, calls: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if watch.agent_calls() >= calls && watch.destination_dials(DIALED) >= calls {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "{what}: Asterisk did not ring Local/10@agents and dial {DIALED} (call #{calls}) \
         within 15 s; what it saw:\n{}",
        watch.summary()
    );
}

// ---- the app under WebDriver ----------------------------------------------------------------

/// A desktop whose session runs tauri-driver, and a WebDriver session of one window process.
struct Driven {
    desktop: Desktop,
    port: u16,
    client: Option<Client>,
}

impl Driven {
    /// Starts the desktop and a WebDriver session of `clickdial-window <view>` (which starts
    /// the tray, `clickdial --background`, when none runs).
    async fn start(view: &str) -> Driven {
        e2e::require_tools(&[("WebKitWebDriver", "webkit2gtk-driver")]);
        let tauri_driver = e2e::which("tauri-driver").expect(
            "tauri-driver is missing: `cargo install tauri-driver --locked` (./dev test does)",
        );
        let mut desktop = Desktop::start();
        let port = e2e::free_port();
        let native_port = e2e::free_port();
        desktop.start_session(Session {
            command: vec![
                tauri_driver.to_string_lossy().into_owned(),
                "--port".into(),
                port.to_string(),
                "--native-port".into(),
                native_port.to_string(),
                "--native-driver".into(),
                "/usr/bin/WebKitWebDriver".into(),
            ],
        });
        // tauri-driver listens at once; WebKitWebDriver (which it starts) a moment later.
        for (p, who) in [(port, "tauri-driver"), (native_port, "WebKitWebDriver")] {
            assert!(
                e2e::wait_for_port(p, Duration::from_secs(30)),
                "{who} does not listen on {p}:\n{}",
                desktop.logs()
            );
        }
        let mut driven = Driven {
            desktop,
            port,
            client: None,
        };
        driven.open(view).await;
        driven
    }

    /// A new WebDriver session of the window process of `view` (ending the previous one).
    async fn open(&mut self, view: &str) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), client.close()).await;
        }
        let (desktop, port) = (&self.desktop, self.port);
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert(
            "tauri:options".into(),
            json!({ "application": WINDOW, "args": [view] }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let started = Instant::now();
        let client = tokio::time::timeout(
            Duration::from_secs(90),
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await
        .unwrap_or_else(|_| panic!("no WebDriver session after 90 s:\n{}", desktop.logs()))
        .unwrap_or_else(|e| panic!("no WebDriver session: {e}\n{}", desktop.logs()));
        println!("WebDriver session of {view} after {:?}", started.elapsed());
        self.client = Some(client);
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    async fn end(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), client.close()).await;
        }
    }
}

// ---- the tests ------------------------------------------------------------------------------

/// First run against a real Asterisk: the setup window, a wrong and then the right AMI
/// secret, the keyring round trip, a test call that reaches Asterisk with the right digits,
/// Finish, the tray menu, the history with a redial, and the settings in two languages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn first_run_against_asterisk() {
    let _one = e2e::one_at_a_time().await;
    // A stuck WebDriver command must fail the test, not hang CI.
    tokio::time::timeout(Duration::from_secs(300), first_run())
        .await
        .expect("first_run_against_asterisk did not finish within 5 minutes");
}

async fn first_run() {
    let started = Instant::now();
    let pbx = clickdial_testsupport::Pbx::builder()
        .conf("extensions.conf", clickdial_testsupport::DIALPLAN)
        .start()
        .expect("Asterisk starts");
    let ami_port = pbx.ami_port();
    let watch = AmiWatch::start(ami_port).await;
    let mut driven = Driven::start("setup").await;
    let c = driven.c();
    let desktop = &driven.desktop;

    // Step 1: the first-run window.
    let step = attr(c, "setup-step", "data-step").await;
    assert_eq!(step.as_deref(), Some("1"), "the setup starts at step 1");
    let title = text_of(c, "setup-title").await;
    assert_eq!(
        title, "Set up clickdial",
        "English texts (LC_MESSAGES=en_ES)"
    );
    type_into(c, "setup-extension", "10").await;
    screenshot(c, desktop, "setup-1-extension").await;
    click(c, "setup-next-1").await;

    // Step 2: directly to Asterisk.
    el(c, "setup-step-2").await;
    click(c, "setup-choice-ami").await;
    el(c, "setup-ami-fields").await;
    assert_eq!(
        attr(c, "setup-choice-ami", "aria-checked").await.as_deref(),
        Some("true")
    );
    type_into(c, "setup-connection-host", "127.0.0.1").await;
    type_into(c, "setup-connection-port", &ami_port.to_string()).await;
    type_into(c, "setup-connection-username", "clickdial").await;
    click(c, "setup-advanced").await;
    type_into(c, "setup-connection-channel", "Local/{extension}@agents").await;
    type_into(c, "setup-connection-context", "extensiones-locales").await;

    // A wrong secret first: Asterisk refuses it, and the app says so.
    type_into(c, "setup-connection-secret", "not-the-secret").await;
    click(c, "setup-test").await;
    let (kind, text) = test_result(c, "setup").await;
    assert_eq!(kind, "bad_credentials", "wrong secret: {text}");
    screenshot(c, desktop, "setup-2-bad-credentials").await;

    type_into(c, "setup-connection-secret", "clickdial-secret").await;
    click(c, "setup-test").await;
    let (kind, text) = test_result(c, "setup").await;
    assert_eq!(kind, "ok", "right secret: {text}");
    // The advanced fold stays open across the redraw, with what was typed.
    assert_eq!(
        value_of(c, "setup-connection-channel").await,
        "Local/{extension}@agents"
    );
    screenshot(c, desktop, "setup-2-connection-ok").await;
    click(c, "setup-next-2").await;

    // Step 3: saved. The file has the connection and not the secret; the keyring has it.
    el(c, "setup-step-3").await;
    let settings_file = desktop.config_dir().join("settings.toml");
    let settings = std::fs::read_to_string(&settings_file)
        .unwrap_or_else(|e| panic!("{} after Next: {e}", settings_file.display()));
    for wanted in [
        "127.0.0.1".to_owned(),
        ami_port.to_string(),
        "\"10\"".to_owned(),
        "extensiones-locales".to_owned(),
    ] {
        assert!(
            settings.contains(&wanted),
            "settings.toml lacks {wanted}:\n{settings}"
        );
    }
    assert!(
        !settings.contains("clickdial-secret") && !settings.contains("not-the-secret"),
        "the secret is in settings.toml:\n{settings}"
    );
    let stored = desktop.run_ok(
        "secret-tool",
        &["lookup", "service", "clickdial", "username", "ami-secret"],
    );
    assert_eq!(
        stored.trim_end_matches('\n'),
        "clickdial-secret",
        "the keyring's AMI secret (items: {})",
        desktop.keyring_items()
    );
    assert!(
        present(c, "setup-hotkey").await,
        "the hotkey is shown on X11"
    );

    // The test call: progress follows, and Asterisk gets the agent and the right digits.
    type_into(c, "setup-testcall-input", TYPED).await;
    let preview = wait_for("the dial preview", Duration::from_secs(10), || async {
        let p = text_of(c, "setup-testcall-preview").await;
        p.contains(DIALED).then_some(p)
    })
    .await;
    println!("preview: {preview}");
    screenshot(c, desktop, "setup-3-done").await;
    click(c, "setup-testcall-submit").await;
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let status = text_of(c, "setup-testcall-status").await;
        if !status.is_empty() && seen.last() != Some(&status) {
            println!("test call: {status}");
            seen.push(status.clone());
        }
        if status == "Call ended" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the test call did not end within 45 s; statuses: {seen:?}\nAsterisk saw:\n{}",
            watch.summary()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen.iter().any(|s| s == "Connected"),
        "the status never said Connected: {seen:?}"
    );
    // (The agent's phone and the destination answer at once in this dialplan, so the
    // "Ringing your phone (10)…" and "Calling …" steps may pass between two polls.)
    let tone = attr(c, "setup-testcall-status", "class")
        .await
        .unwrap_or_default();
    assert!(
        tone.contains("ok"),
        "an answered call ends in the ok tone: {tone}"
    );
    wait_for_call(&watch, 1, "the test call").await;

    // Finish ends the setup window's process (and WebKit's with it); the tray stays.
    // The click ends the process it happens in: WebKitWebDriver may answer it with an error.
    if let Err(e) = el(c, "setup-finish").await.click().await {
        println!("Finish answered {e:?} (its window is gone)");
    }
    wait_for(
        "no app window on screen",
        Duration::from_secs(20),
        || async { desktop.app_windows().is_empty().then_some(()) },
    )
    .await;
    // WebKit's web and network processes (command names cut at 15 characters).
    let web_processes =
        || desktop.count_processes("WebKitWebProces") + desktop.count_processes("WebKitNetworkPr");
    wait_for(
        "WebKit's processes to end with the window",
        Duration::from_secs(20),
        || async { (web_processes() == 0).then_some(()) },
    )
    .await;

    // The tray menu (configured now: every entry enabled); Call history… opens its window.
    desktop.open_tray_menu().await;
    let menu_shot = screenshot_dir().join("tray-menu.png");
    desktop.scrot(&menu_shot);
    check_png(&menu_shot);
    // Enabled entries: Dial clipboard, Dial selection, Dial a number…, Recent calls ▸,
    // Call history… (the title, the separators and Hang up are skipped by the keys).
    desktop
        .keys(&["Down", "Down", "Down", "Down", "Down", "Return"])
        .await;
    wait_for(
        "the history window from the tray",
        Duration::from_secs(30),
        || async { (!desktop.app_windows().is_empty()).then_some(()) },
    )
    .await;
    screen(desktop, "history-from-tray");

    // The same view under WebDriver: a window process of its own, talking to the tray.
    driven.open("history").await;
    let c = driven.c();
    let desktop = &driven.desktop;

    // History: the test call, answered; redial it.
    let rows = wait_for(
        "the test call in the history",
        Duration::from_secs(20),
        || async {
            let rows = history_rows(c).await;
            rows.iter().any(|r| !r.number.is_empty()).then_some(rows)
        },
    )
    .await;
    assert_eq!(rows.len(), 1, "one call so far: {rows:?}");
    let row = &rows[0];
    assert_eq!(
        row.number, SHOWN,
        "the history shows the number as people write it"
    );
    assert_eq!(row.kind, "answered", "{row:?}");
    assert!(!row.outcome.is_empty(), "the outcome has a text: {row:?}");
    println!("history row: {row:?}");
    screen(desktop, "history");
    click(c, "history-redial").await;
    wait_for_call(&watch, 2, "the redial").await;
    let rows = wait_for(
        "the redial's end in the history",
        Duration::from_secs(45),
        || async {
            let rows = history_rows(c).await;
            (rows.len() >= 2 && rows.iter().all(|r| r.kind != "in_progress")).then_some(rows)
        },
    )
    .await;
    assert!(
        rows.iter()
            .all(|r| r.number == SHOWN && r.kind == "answered"),
        "both calls answered: {rows:?}"
    );
    screen(desktop, "history-after-redial");

    // Settings, in the same webview: what was saved, the secret only as "saved".
    c.execute("location.hash = '#/settings'", vec![])
        .await
        .expect("navigate to #/settings");
    el(c, "settings-form").await;
    assert_eq!(value_of(c, "settings-extension").await, "10");
    assert_eq!(value_of(c, "settings-connection-host").await, "127.0.0.1");
    assert_eq!(
        value_of(c, "settings-connection-port").await,
        ami_port.to_string()
    );
    assert_eq!(
        value_of(c, "settings-connection-username").await,
        "clickdial"
    );
    assert_eq!(
        value_of(c, "settings-connection-context").await,
        "extensiones-locales"
    );
    assert_eq!(value_of(c, "settings-connection-secret").await, "");
    el(c, "settings-secret-saved").await;
    let english = body_text(c).await;
    let save_en = text_of(c, "settings-save").await;
    screen(desktop, "settings-en");

    // Español, not saved: every text changes at once.
    let language = el(c, "settings-language").await;
    language
        .select_by_value("es")
        .await
        .expect("choose Español");
    let save_es = wait_for("Spanish texts", Duration::from_secs(10), || async {
        let t = text_of(c, "settings-save").await;
        (!t.is_empty() && t != save_en).then_some(t)
    })
    .await;
    let spanish = body_text(c).await;
    assert_ne!(english, spanish);
    println!("Save button: {save_en:?} → {save_es:?}");
    screen(desktop, "settings-es");
    let saved_again = std::fs::read_to_string(&settings_file).expect("settings.toml");
    assert_eq!(
        settings, saved_again,
        "switching the language saved nothing"
    );

    println!("first_run_against_asterisk took {:?}", started.elapsed());
    driven.end().await;
    drop(watch);
    drop(pbx);
}

/// `--demo` runs with the built-in sandbox PBX, in the tray only: "Dial clipboard" from the
/// tray menu dials the number in the clipboard and the notifications follow the call;
/// nothing is written to the settings folder or the keyring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_dials_from_the_tray_without_a_window() {
    let _one = e2e::one_at_a_time().await;
    let started = Instant::now();
    let mut desktop = Desktop::start();
    desktop.start_session(Session {
        command: vec![APP.to_owned(), "--demo".to_owned()],
    });

    // The icon shows up in trayer; no window opens.
    wait_for(
        "the app's icon in trayer",
        Duration::from_secs(60),
        || async { desktop.tray_icon_point() },
    )
    .await;
    // Give a window that would open (wrongly) the time it takes to map.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        desktop.session_alive(),
        "the app exited:\n{}",
        desktop.logs()
    );
    let windows = desktop.windows_named_clickdial();
    assert!(
        windows.is_empty(),
        "demo mode opened windows {windows:?}; it should live in the tray only"
    );

    // The clipboard holds a sentence with the number; the tray dials it.
    desktop.set_clipboard("Call +34 93 200 90 00 please");
    desktop.open_tray_menu().await;
    let menu_shot = screenshot_dir().join("tray-menu-demo.png");
    desktop.scrot(&menu_shot);
    check_png(&menu_shot);
    // The title is disabled and the separator is skipped: the first Down is Dial clipboard.
    desktop.keys(&["Down", "Return"]).await;

    let wanted = |(summary, body): &(String, String)| {
        summary.contains(SHOWN) && (body == "Connected" || body == &format!("Calling {SHOWN}…"))
    };
    let mut shown = Vec::new();
    let found = {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            for n in desktop.notifications() {
                if !shown.contains(&n) {
                    println!("notification: {} | {}", n.0, n.1);
                    shown.push(n);
                }
            }
            if let Some(n) = shown.iter().find(|n| wanted(n)) {
                break Some(n.clone());
            }
            if Instant::now() > deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    assert!(
        found.is_some(),
        "no \"Connected\" notification for {SHOWN} within 15 s; dunst showed {shown:?}"
    );

    // Demo mode keeps its settings and secret in memory.
    let written: Vec<_> = std::fs::read_dir(desktop.config_dir())
        .expect("the config dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        written.is_empty(),
        "demo mode wrote {written:?} to CLICKDIAL_CONFIG_DIR"
    );
    let keyring = desktop.keyring_items();
    assert!(
        keyring.trim().is_empty(),
        "demo mode stored secrets in the keyring:\n{keyring}"
    );
    assert!(
        desktop.session_alive(),
        "the app exited:\n{}",
        desktop.logs()
    );
    println!(
        "demo_mode_dials_from_the_tray_without_a_window took {:?}",
        started.elapsed()
    );
    print_data_dir(&desktop.data_dir());
}

/// Says what demo mode left in the data folder (for the report; not an assertion).
fn print_data_dir(dir: &Path) {
    let files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    println!("CLICKDIAL_DATA_DIR after demo mode: {files:?}");
}

/// Where agents start calls, against a real Asterisk: the hotkey on the X11 selection in
/// another window, the clipboard hotkey, a second launch with a `tel:` link (also with no
/// session bus), and `xdg-open tel:…` after the app registered itself as the handler. Each
/// reaches Asterisk with the right digits through the one running app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn triggers_reach_asterisk() {
    let _one = e2e::one_at_a_time().await;
    tokio::time::timeout(Duration::from_secs(300), triggers())
        .await
        .expect("triggers_reach_asterisk did not finish within 5 minutes");
}

async fn triggers() {
    let started = Instant::now();
    let pbx = clickdial_testsupport::Pbx::builder()
        .conf("extensions.conf", clickdial_testsupport::DIALPLAN)
        .start()
        .expect("Asterisk starts");
    let watch = AmiWatch::start(pbx.ami_port()).await;
    let mut desktop = Desktop::start();
    // The app is not running, so a link click starts it, and it dials once connected.
    start_app(&mut desktop, pbx.ami_port(), "", "tel:+34932009004").await;

    call_ended(&desktop, Duration::from_secs(30)).await;

    // 1. The hotkey dials the X11 selection of another program (xclip owns PRIMARY).
    let mut owner = desktop.command("xclip");
    owner.args(["-selection", "primary", "-loops", "1"]);
    owner.stdin(std::process::Stdio::piped());
    let mut owner = owner.spawn().expect("xclip starts");
    use std::io::Write as _;
    owner
        .stdin
        .take()
        .unwrap()
        .write_all(b"Cliente: Garcia, tel. 93 200 90 01 (tardes)")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    desktop.run_ok("xdotool", &["key", "ctrl+alt+d"]);
    wait_for(
        "the hotkey's call to 932009001",
        Duration::from_secs(20),
        || async { (watch.destination_dials("932009001") > 0).then_some(()) },
    )
    .await;
    let _ = owner.kill();
    let _ = owner.wait();
    call_ended(&desktop, Duration::from_secs(30)).await;

    // 2. The clipboard hotkey.
    desktop.set_clipboard("Móvil: 600 12 34 56");
    desktop.run_ok("xdotool", &["key", "ctrl+alt+c"]);
    wait_for(
        "the clipboard hotkey's call",
        Duration::from_secs(20),
        || async { (watch.destination_dials("600123456") > 0).then_some(()) },
    )
    .await;
    call_ended(&desktop, Duration::from_secs(30)).await;

    // 3. A second launch with a link hands it over and exits at once, even with no session bus.
    let mut second = desktop.command(APP);
    second
        .arg("tel:+34-93-200-90-02")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let second_started = Instant::now();
    let out = second.output().expect("a second clickdial runs");
    assert!(
        out.status.success(),
        "the second launch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "second launch answered in {:?}: {}",
        second_started.elapsed(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    wait_for(
        "the link's call to 932009002",
        Duration::from_secs(20),
        || async { (watch.destination_dials("932009002") > 0).then_some(()) },
    )
    .await;
    call_ended(&desktop, Duration::from_secs(30)).await;

    // 4. The settings' fix registers the handler; then the desktop opens tel: links with it.
    let registered = ask_app(
        &desktop,
        json!({ "do": "invoke", "command": "register_handler" }),
    );
    assert_eq!(registered["value"]["ok"], true, "{registered}");
    let handler = desktop.run_ok("xdg-mime", &["query", "default", "x-scheme-handler/tel"]);
    assert!(
        handler.trim().starts_with("clickdial"),
        "tel: opens {handler:?}"
    );
    let checks = ask_app(&desktop, json!({ "do": "invoke", "command": "self_check" }));
    assert_eq!(checks["value"]["checks"][0]["ok"], true, "{checks}");
    desktop.run_ok("xdg-open", &["tel:+34932009003"]);
    wait_for(
        "xdg-open's call to 932009003",
        Duration::from_secs(20),
        || async { (watch.destination_dials("932009003") > 0).then_some(()) },
    )
    .await;
    call_ended(&desktop, Duration::from_secs(30)).await;

    // Autostart, switched in settings: an XDG autostart entry that starts the tray quietly.
    let got = ask_app(
        &desktop,
        json!({ "do": "invoke", "command": "get_settings" }),
    );
    let mut settings = got["value"]["settings"].clone();
    let entry = desktop.home().join(".config/autostart/clickdial.desktop");
    assert!(!entry.exists(), "autostart is off by default");
    for on in [true, false] {
        settings["autostart"] = json!(on);
        let args = json!({ "settings": settings, "secret": null });
        let saved = ask_app(
            &desktop,
            json!({ "do": "invoke", "command": "save_settings", "args": args }),
        );
        assert_eq!(saved["ok"], true, "{saved}");
        if on {
            let text = std::fs::read_to_string(&entry).expect("the autostart entry");
            assert!(text.contains(&format!("Exec={APP} --background")), "{text}");
        } else {
            assert!(!entry.exists(), "switching autostart off removes the entry");
        }
    }

    // One app did all of it: a single tray process (no second copy started).
    assert_eq!(
        desktop.count_processes("clickdial"),
        1,
        "{}",
        desktop.logs()
    );
    // The link that started the app, two hotkeys, a second launch and xdg-open.
    assert_eq!(watch.agent_calls(), 5, "{}", watch.summary());
    println!("triggers_reach_asterisk took {:?}", started.elapsed());
    drop(watch);
    drop(pbx);
}

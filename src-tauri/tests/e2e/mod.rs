//! A throwaway desktop for the end-to-end tests: an X display (Xvfb), a D-Bus session with an
//! unlocked keyring (gnome-keyring), a notification daemon (dunst) and a tray host (trayer),
//! and a command that runs inside it (`tauri-driver`, or the app itself). Everything started
//! here carries a marker in its environment and is killed when the [`Desktop`] is dropped,
//! also when the test panics; the logs are printed then.

#![allow(dead_code)]

pub mod ami_watch;
pub mod app;

use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The desktop tools the tests need, with the Debian package that has each.
const TOOLS: &[(&str, &str)] = &[
    ("Xvfb", "xvfb"),
    ("dbus-run-session", "dbus"),
    ("gnome-keyring-daemon", "gnome-keyring"),
    ("secret-tool", "libsecret-tools"),
    ("dunst", "dunst"),
    ("dunstctl", "dunst"),
    ("trayer", "trayer"),
    ("xdotool", "xdotool"),
    ("xclip", "xclip"),
    ("scrot", "scrot"),
];

/// One desktop at a time: two WebKit apps on a 2-core machine only make each other time out.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// Fails with a clear message when a desktop tool is missing.
pub fn require_tools(extra: &[(&str, &str)]) {
    let missing: Vec<String> = TOOLS
        .iter()
        .chain(extra)
        .filter(|(tool, _)| which(tool).is_none())
        .map(|(tool, package)| format!("{tool} (Debian package {package})"))
        .collect();
    assert!(
        missing.is_empty(),
        "the desktop end-to-end tests need {}; `./dev test` installs them",
        missing.join(", ")
    );
}

/// The full path of `tool` on PATH (or in ~/.cargo/bin, where `cargo install` puts it).
pub fn which(tool: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(tool)).find(|p| p.is_file())
}

/// A free TCP port on loopback (free now; taken by whoever binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Polls `check` every 200 ms until it gives a value; panics with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Where screenshots go: `$CARGO_TARGET_DIR/e2e-screenshots`, else the target directory the
/// app binary was built in.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            // target/<profile>/clickdial
            Path::new(env!("CARGO_BIN_EXE_clickdial"))
                .parent()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("e2e-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

/// Checks that a screenshot file is a PNG of some substance, and prints its path.
pub fn check_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    assert!(
        bytes.len() > 5 * 1024,
        "{} is only {} bytes: an empty screen?",
        path.display(),
        bytes.len()
    );
    println!("screenshot: {} ({} KB)", path.display(), bytes.len() / 1024);
}

/// What runs inside the desktop's D-Bus session after the keyring, dunst and trayer.
pub struct Session {
    /// The program and its arguments.
    pub command: Vec<String>,
}

/// The running desktop.
pub struct Desktop {
    /// `:N`.
    pub display: String,
    marker: String,
    dir: TempDir,
    xvfb: Child,
    session: Option<Child>,
    bus: Arc<Mutex<Option<String>>>,
}

impl Desktop {
    /// Starts Xvfb on a free display; the session comes with [`Desktop::start_session`].
    pub fn start() -> Desktop {
        require_tools(&[]);
        static RUN: AtomicU32 = AtomicU32::new(0);
        let marker = format!(
            "{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        );
        let dir = tempfile::Builder::new()
            .prefix("clickdial-e2e.")
            .tempdir()
            .expect("a temp dir");
        for sub in ["home", "config", "data", "runtime"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a desktop dir");
        }
        set_mode_700(&dir.path().join("runtime"));
        let (display, xvfb) = start_xvfb(&marker, dir.path());
        Desktop {
            display,
            marker,
            dir,
            xvfb,
            session: None,
            bus: Arc::new(Mutex::new(None)),
        }
    }

    /// The desktop user's home folder (`HOME`).
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The session's runtime folder (`XDG_RUNTIME_DIR`), where the app's socket lives.
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("runtime")
    }

    /// `CLICKDIAL_CONFIG_DIR` of the app.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// `CLICKDIAL_DATA_DIR` of the app.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The file the session's output (the app's stderr among it) goes to.
    pub fn session_log(&self) -> PathBuf {
        self.dir.path().join("session.log")
    }

    fn env(&self, command: &mut Command) {
        let home = self.dir.path().join("home");
        command
            .env("DISPLAY", &self.display)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("CLICKDIAL_CONFIG_DIR", self.config_dir())
            .env("CLICKDIAL_DATA_DIR", self.data_dir())
            .env("CLICKDIAL_E2E_RUN", &self.marker)
            .env("GDK_GL", "disable")
            .env("GDK_BACKEND", "x11")
            .env("NO_AT_BRIDGE", "1")
            .env(
                "CLICKDIAL_LOG",
                "warn,clickdial_app=debug,clickdial_connect=debug",
            )
            // English texts (sys-locale reads LANGUAGE, LC_ALL, LC_MESSAGES, LANG) and Spain's
            // dial rules (the first-run country comes from LC_ALL, LC_MESSAGES, LANG): the
            // setup never asks for the country.
            .env("LANG", "C.UTF-8")
            .env("LC_MESSAGES", "en_ES.UTF-8")
            .env_remove("LANGUAGE")
            .env_remove("LC_ALL")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("XDG_SESSION_TYPE")
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
    }

    /// Starts the D-Bus session (keyring unlocked, dunst, trayer) running `session`.
    pub fn start_session(&mut self, session: Session) {
        let bus_file = self.dir.path().join("bus");
        let script = r#"printf %s "$DBUS_SESSION_BUS_ADDRESS" > "$CLICKDIAL_E2E_BUS.tmp"
mv "$CLICKDIAL_E2E_BUS.tmp" "$CLICKDIAL_E2E_BUS"
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
dunst >"$CLICKDIAL_E2E_DIR/dunst.log" 2>&1 &
trayer --edge top --align right --widthtype request --height 32 >"$CLICKDIAL_E2E_DIR/trayer.log" 2>&1 &
exec "$@""#;
        let log = std::fs::File::create(self.session_log()).expect("create the session log");
        let mut command = Command::new("dbus-run-session");
        command
            .args(["--", "sh", "-c", script, "sh"])
            .args(&session.command)
            .env("CLICKDIAL_E2E_BUS", &bus_file)
            .env("CLICKDIAL_E2E_DIR", self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .process_group(0);
        self.env(&mut command);
        let child = command.spawn().expect("start dbus-run-session");
        self.session = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(bus) = std::fs::read_to_string(&bus_file)
                && !bus.is_empty()
            {
                *self.bus.lock().expect("bus lock") = Some(bus);
                break;
            }
            if let Some(status) = self
                .session
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "the D-Bus session ended at once ({status}):\n{}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no D-Bus session after 20 s:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The session bus address.
    pub fn bus(&self) -> String {
        self.bus
            .lock()
            .expect("bus lock")
            .clone()
            .expect("the session is started")
    }

    /// Whether the session's main command (tauri-driver or the app) still runs.
    pub fn session_alive(&mut self) -> bool {
        self.session
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// A command that runs in the desktop (display and session bus).
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        self.env(&mut command);
        if let Some(bus) = self.bus.lock().expect("bus lock").clone() {
            command.env("DBUS_SESSION_BUS_ADDRESS", bus);
        }
        command.stdin(Stdio::null());
        command
    }

    /// Runs `program args` in the desktop and returns its output; panics if it cannot start.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    }

    /// Runs `program args` and returns its stdout; panics when it fails.
    pub fn run_ok(&self, program: &str, args: &[&str]) -> String {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Puts `text` on the CLIPBOARD selection (xclip stays in the background serving it).
    pub fn set_clipboard(&self, text: &str) {
        use std::io::Write;
        let mut child = self
            .command("xclip")
            .args(["-selection", "clipboard"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start xclip");
        child
            .stdin
            .take()
            .expect("xclip stdin")
            .write_all(text.as_bytes())
            .expect("write to xclip");
        // xclip forks a server for the selection and its first process exits.
        let _ = child.wait();
    }

    /// Visible windows of the app's window processes (WM_CLASS instance `clickdial-window`).
    pub fn app_windows(&self) -> Vec<String> {
        let out = self.run(
            "xdotool",
            &[
                "search",
                "--onlyvisible",
                "--classname",
                "^clickdial-window$",
            ],
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// How many of this desktop's processes have `name` in their command name (e.g. the
    /// `WebKitWebProcess` and `WebKitNetworkProcess` of a window).
    pub fn count_processes(&self, name: &str) -> usize {
        let needle = format!("CLICKDIAL_E2E_RUN={}", self.marker);
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return 0;
        };
        entries
            .flatten()
            .filter(|entry| {
                let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                comm.contains(name)
                    && std::fs::read(entry.path().join("environ")).is_ok_and(|environ| {
                        environ
                            .split(|b| *b == 0)
                            .any(|var| var == needle.as_bytes())
                    })
            })
            .count()
    }

    /// Visible windows of the tray process (class `clickdial`): its icon and, when open, its
    /// menu.
    pub fn tray_process_windows(&self) -> Vec<String> {
        let out = self.run(
            "xdotool",
            &["search", "--onlyvisible", "--classname", "^clickdial$"],
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// Visible windows titled `clickdial` that are not the tray icon.
    pub fn windows_named_clickdial(&self) -> Vec<String> {
        let tray_icons = self.tray_icon_windows();
        let out = self.run(
            "xdotool",
            &["search", "--onlyvisible", "--name", "^clickdial$"],
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter(|w| !tray_icons.iter().any(|t| t == w))
            .map(str::to_owned)
            .collect()
    }

    fn tray_icon_windows(&self) -> Vec<String> {
        let out = self.run(
            "xdotool",
            &["search", "--onlyvisible", "--classname", "^tray-icon"],
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// Where the app's icon sits in trayer, once it is embedded there.
    pub fn tray_icon_point(&self) -> Option<(i32, i32)> {
        // The icon is the app's plug window inside trayer's panel; clicking the panel's left
        // part hits it too, but the plug's own geometry is exact.
        for window in self.tray_icon_windows() {
            if let Some((x, y, w, h)) = self.geometry(&window)
                && w >= 8
                && h >= 8
            {
                return Some((x + w / 2, y + h / 2));
            }
        }
        let out = self.run("xdotool", &["search", "--onlyvisible", "--class", "trayer"]);
        for window in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Some((x, y, w, h)) = self.geometry(window)
                && w >= 20
                && h >= 20
            {
                return Some((x + 16.min(w / 2), y + h / 2));
            }
        }
        None
    }

    fn geometry(&self, window: &str) -> Option<(i32, i32, i32, i32)> {
        let out = self.run("xdotool", &["getwindowgeometry", "--shell", window]);
        let text = String::from_utf8_lossy(&out.stdout);
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('=')?.parse::<i32>().ok())
        };
        Some((get("X")?, get("Y")?, get("WIDTH")?, get("HEIGHT")?))
    }

    /// Clicks the app's tray icon and waits for its menu (a popup window of the app's class).
    pub async fn open_tray_menu(&self) {
        let (x, y) = wait_for(
            "the app's icon in trayer",
            Duration::from_secs(30),
            || async { self.tray_icon_point() },
        )
        .await;
        let before = self.tray_process_windows();
        for attempt in 0..3 {
            self.run_ok(
                "xdotool",
                &["mousemove", &x.to_string(), &y.to_string(), "click", "1"],
            );
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                let now = self.tray_process_windows();
                if now.iter().any(|w| !before.contains(w)) {
                    // Let GTK finish mapping and grabbing before keys arrive.
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            eprintln!("the tray menu did not open (attempt {attempt}); clicking again");
            self.run("xdotool", &["key", "Escape"]);
        }
        panic!("the tray menu did not open after three clicks at ({x}, {y})");
    }

    /// Presses `keys` one after another (xdotool names), with a short pause for GTK.
    pub async fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.run_ok("xdotool", &["key", key]);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// A full-screen screenshot with scrot.
    pub fn scrot(&self, path: &Path) {
        let _ = std::fs::remove_file(path);
        self.run_ok("scrot", &["--overwrite", &path.to_string_lossy()]);
    }

    /// The notifications dunst has shown, as (summary, body): the displayed ones are closed
    /// first so that they reach its history.
    pub fn notifications(&self) -> Vec<(String, String)> {
        self.run("dunstctl", &["close-all"]);
        let out = self.run("dunstctl", &["history"]);
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
            return Vec::new();
        };
        let field =
            |n: &serde_json::Value, k: &str| n[k]["data"].as_str().unwrap_or_default().to_owned();
        json["data"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|group| group.as_array().into_iter().flatten())
            .map(|n| (field(n, "summary"), field(n, "body")))
            .collect()
    }

    /// The keyring's items for service `clickdial` (attributes and secrets, as secret-tool
    /// prints them).
    pub fn keyring_items(&self) -> String {
        let out = self.run("secret-tool", &["search", "--all", "service", "clickdial"]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// What the session printed: tauri-driver's and the app's stderr, dunst, trayer.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["session.log", "dunst.log", "trayer.log", "xvfb.log"] {
            let path = self.dir.path().join(name);
            if let Ok(text) = std::fs::read_to_string(&path) {
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(200)..];
                out.push_str(&format!("--- {name} (last {} lines) ---\n", tail.len()));
                for line in tail {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }

    fn kill_everything(&mut self) {
        // Every process of this desktop carries the marker; daemons that detached from the
        // session's process group (gnome-keyring-daemon, xclip) too.
        let needle = format!("CLICKDIAL_E2E_RUN={}", self.marker);
        if let Some(session) = &self.session {
            kill(&format!("-{}", session.id()));
        }
        for _ in 0..3 {
            let mut found = false;
            if let Ok(entries) = std::fs::read_dir("/proc") {
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let Some(pid) = name
                        .to_str()
                        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                    else {
                        continue;
                    };
                    if pid == std::process::id().to_string() {
                        continue;
                    }
                    let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                        continue;
                    };
                    if pid != self.xvfb.id().to_string()
                        && environ
                            .split(|b| *b == 0)
                            .any(|var| var == needle.as_bytes())
                    {
                        kill(pid);
                        found = true;
                    }
                }
            }
            if !found {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Some(session) = &mut self.session {
            let _ = session.wait();
        }
        // SIGTERM lets Xvfb remove its socket and lock file; SIGKILL only if it hangs.
        kill_term(self.xvfb.id());
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.xvfb.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "=== the desktop's logs ({}) ===\n{}",
                self.display,
                self.logs()
            );
        }
        self.kill_everything();
    }
}

fn kill(target: &str) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn kill_term(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn set_mode_700(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
}

/// Whether the X server on `display` answers a client (its socket can exist a while before).
fn display_answers(display: &str) -> bool {
    Command::new("xdotool")
        .arg("getdisplaygeometry")
        .env("DISPLAY", display)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Starts Xvfb on the first free display from :90 up and waits until it answers clients.
fn start_xvfb(marker: &str, dir: &Path) -> (String, Child) {
    for n in 90..190 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let display = format!(":{n}");
        let log = std::fs::File::create(dir.join("xvfb.log")).expect("create the Xvfb log");
        let mut child = Command::new("Xvfb")
            .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .env("CLICKDIAL_E2E_RUN", marker)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start Xvfb");
        let deadline = Instant::now() + Duration::from_secs(15);
        let socket = format!("/tmp/.X11-unix/X{n}");
        let mut listening = false;
        loop {
            if let Some(status) = child.try_wait().ok().flatten() {
                // Someone took this display in between: try the next one.
                assert!(
                    !listening,
                    "Xvfb on {display} exited ({status}) after creating its socket: {}",
                    std::fs::read_to_string(dir.join("xvfb.log")).unwrap_or_default()
                );
                break;
            }
            listening = listening || Path::new(&socket).exists();
            if listening && display_answers(&display) {
                return (display, child);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                assert!(
                    !listening,
                    "Xvfb on {display} created its socket but answered no client within 15 s: {}",
                    std::fs::read_to_string(dir.join("xvfb.log")).unwrap_or_default()
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("no free X display between :90 and :189 for Xvfb");
}

/// Waits until something listens on `port` on loopback.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

//! The selection hotkey's copy-and-restore method as an agent meets it, against a real
//! Asterisk: the tray app (`clickdial`) under Xvfb with dunst and trayer, a Tk program whose
//! entry keeps its selection to itself (`-exportselection 0`: nothing on X11's PRIMARY, the
//! case the method is for) and copies on Ctrl+C, hotkeys pressed with xdotool, and Asterisk's
//! side watched over a second AMI login.
//!
//! Each case checks what the agent would: the right number rang exactly once (or nothing rang
//! and the agent was told why), and the clipboard holds what it held before.
// X11, Xvfb and the tools above: Linux only.
#![cfg(target_os = "linux")]

mod e2e;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e::ami_watch::AmiWatch;
use e2e::app::{ask_app, call_ended, start_app};
use e2e::{Desktop, check_png, screenshot_dir, wait_for};
use serde_json::json;

/// What the agent had on the clipboard before pressing the hotkey.
const PREVIOUS: &str = "previous clipboard";

/// What another program holds on PRIMARY all along: dialed only when settings say `primary`.
const PRIMARY: &str = "Primary: 93 200 90 07";

/// A Tk window with one entry that keeps its selection to itself and copies on Ctrl+C; the
/// test tells it what to show over its stdin and hears back on its stdout.
struct Target {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

/// The Tk program: `show TEXT SELECTED` fills the entry, selects it all (or nothing) and takes
/// the keyboard focus; every Ctrl+C that reaches the entry is reported as `copied`.
const TARGET_TCL: &str = r#"
wm title . "copy-target"
wm geometry . +40+120
entry .e -exportselection 0 -width 40 -font {Helvetica 16}
pack .e -padx 20 -pady 20
proc show {text selected} {
    .e delete 0 end
    .e insert 0 $text
    if {$selected} { .e selection range 0 end } else { .e selection clear; .e icursor end }
    focus -force .e
    update
    puts "shown [focus]"
    flush stdout
}
bind .e <<Copy>> {+puts copied; flush stdout}
bindtags .e [list .e Entry keylog . all]
bind keylog <KeyPress> {puts "key %K state %s"; flush stdout}
fconfigure stdin -blocking 0
fileevent stdin readable {
    if {[gets stdin line] >= 0} { eval $line } elseif {[eof stdin]} { exit }
}
puts ready
flush stdout
"#;

impl Target {
    fn start(desktop: &Desktop) -> Target {
        let script = desktop.home().join("copy-target.tcl");
        std::fs::write(&script, TARGET_TCL).expect("write the Tk script");
        let mut child = desktop
            .command("wish")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("wish starts");
        let stdin = child.stdin.take().expect("wish's stdin");
        let stdout = child.stdout.take().expect("wish's stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("copy-target: {line}");
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        let mut target = Target {
            child,
            stdin,
            lines,
        };
        target.expect("ready", Duration::from_secs(20));
        target
    }

    /// Waits for a line starting with `prefix` from the Tk program.
    fn expect(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(e) => panic!("the Tk program did not say {prefix:?} within {timeout:?}: {e}"),
            }
        }
    }

    /// The lines the Tk program said since the last look.
    fn said(&mut self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Asserts that the program got exactly one Ctrl+C since the last look.
    fn assert_one_copy(&mut self, case: &str) {
        let got = self.expect("copied", Duration::from_secs(3));
        let more: Vec<String> = self.said();
        assert_eq!(got, "copied");
        assert!(
            !more.iter().any(|l| l == "copied"),
            "{case}: the program got more than one Ctrl+C: {more:?}"
        );
    }

    /// Shows `text` in the entry, all selected or not, with the keyboard focus on it.
    fn show(&mut self, desktop: &Desktop, text: &str, selected: bool) {
        let _ = self.said();
        writeln!(self.stdin, "show {{{text}}} {}", u8::from(selected)).expect("tell wish");
        self.stdin.flush().expect("tell wish");
        self.expect("shown", Duration::from_secs(10));
        let focused = desktop.run_ok("xdotool", &["getwindowfocus", "getwindowname"]);
        assert_eq!(
            focused.trim(),
            "copy-target",
            "the Tk window has the keyboard focus"
        );
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text on a selection (`clipboard` or `primary`), as another program reads it.
fn read_selection(desktop: &Desktop, which: &str) -> String {
    let out = desktop.run("xclip", &["-o", "-selection", which]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts that the clipboard holds `PREVIOUS` again (the app's restore is immediate, so a
/// short wait covers only the reading).
async fn assert_clipboard_restored(desktop: &Desktop, case: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let now = read_selection(desktop, "clipboard");
        if now == PREVIOUS {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{case}: the clipboard holds {now:?}, not the agent's {PREVIOUS:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for Asterisk to dial `digits` once (and the agent's phone once more than `before`),
/// for the call to end, and checks that nothing else was dialed.
async fn assert_dialed_once(watch: &AmiWatch, desktop: &Desktop, digits: &str, before: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while watch.destination_dials(digits) == 0 {
        assert!(
            Instant::now() < deadline,
            "Asterisk did not dial {digits} within 20 s; the agent was told {:?}; Asterisk saw:\n{}",
            desktop.notifications(),
            watch.summary()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    call_ended(desktop, Duration::from_secs(40)).await;
    assert_eq!(watch.destination_dials(digits), 1, "{}", watch.summary());
    assert_eq!(watch.agent_calls(), before + 1, "{}", watch.summary());
}

/// Saves the app's settings with `selection` set to `method`, the way the settings window does.
fn set_method(desktop: &Desktop, method: &str) {
    let got = ask_app(
        desktop,
        json!({ "do": "invoke", "command": "get_settings" }),
    );
    let mut settings = got["value"]["settings"].clone();
    settings["selection"] = json!(method);
    let args = json!({ "settings": settings, "secret": null });
    let saved = ask_app(
        desktop,
        json!({ "do": "invoke", "command": "save_settings", "args": args }),
    );
    assert_eq!(saved["ok"], true, "{saved}");
}

/// The copy method end to end: a plain hotkey press, a hotkey held a moment (the copy waits
/// for the keys to be released), the tray's Dial selection, nothing selected (no call, the
/// agent is told), the `primary` setting for contrast, and a GTK program; the clipboard is
/// put back each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn copy_selection_reaches_asterisk_and_restores_the_clipboard() {
    let _one = e2e::one_at_a_time().await;
    e2e::require_tools(&[("wish", "tk"), ("zenity", "zenity")]);
    tokio::time::timeout(Duration::from_secs(300), copy_cases())
        .await
        .expect("the copy-selection test did not finish within 5 minutes");
}

async fn copy_cases() {
    let started = Instant::now();
    let pbx = clickdial_testsupport::Pbx::builder()
        .conf("extensions.conf", clickdial_testsupport::DIALPLAN)
        .start()
        .expect("Asterisk starts");
    let watch = AmiWatch::start(pbx.ami_port()).await;
    let mut desktop = Desktop::start();
    start_app(&mut desktop, pbx.ami_port(), "selection = \"copy\"", "").await;
    let got = ask_app(
        &desktop,
        json!({ "do": "invoke", "command": "get_settings" }),
    );
    assert_eq!(got["value"]["settings"]["selection"], "copy", "{got}");

    // Another program holds PRIMARY with a different number all along: the copy method must
    // not read it. The agent's clipboard holds text of its own.
    let mut primary_owner = desktop.command("xclip");
    primary_owner
        .args(["-selection", "primary", "-loops", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut primary_owner = primary_owner.spawn().expect("xclip starts");
    primary_owner
        .stdin
        .take()
        .unwrap()
        .write_all(PRIMARY.as_bytes())
        .unwrap();
    let _ = primary_owner.wait();
    desktop.set_clipboard(PREVIOUS);
    assert_eq!(read_selection(&desktop, "clipboard"), PREVIOUS);
    assert_eq!(read_selection(&desktop, "primary"), PRIMARY);

    let mut target = Target::start(&desktop);

    // 1. The hotkey, pressed and released as xdotool does: the selected text is dialed.
    target.show(&desktop, "Call +34 932 009 005 please", true);
    desktop.run_ok("xdotool", &["key", "ctrl+alt+d"]);
    assert_dialed_once(&watch, &desktop, "932009005", 0).await;
    assert_clipboard_restored(&desktop, "after the hotkey").await;
    target.assert_one_copy("the hotkey");
    assert_eq!(
        read_selection(&desktop, "primary"),
        PRIMARY,
        "PRIMARY untouched"
    );
    println!("1. hotkey: dialed 932009005, clipboard restored");

    // 2. The hotkey held for a moment, as people press it, and let go of Ctrl and Alt first:
    //    the Ctrl+C waits for Ctrl and Alt to come up (sent at once it would be Ctrl+Alt+C,
    //    the app's own clipboard hotkey), then for D (until D is up, X11 gives every key to
    //    the hotkey's owner).
    target.show(&desktop, "Tel. 93 200 90 06", true);
    desktop.run_ok("xdotool", &["keydown", "ctrl+alt+d"]);
    tokio::time::sleep(Duration::from_millis(250)).await;
    desktop.run_ok("xdotool", &["keyup", "alt", "ctrl"]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    desktop.run_ok("xdotool", &["keyup", "d"]);
    assert_dialed_once(&watch, &desktop, "932009006", 1).await;
    assert_clipboard_restored(&desktop, "after the held hotkey").await;
    println!("2. held hotkey: dialed 932009006, clipboard restored");

    // 3. The tray menu's Dial selection goes the same way.
    target.show(&desktop, "Móvil 600 12 34 57", true);
    desktop.open_tray_menu().await;
    // Enabled entries: Dial clipboard, Dial selection, …
    desktop.keys(&["Down", "Down", "Return"]).await;
    assert_dialed_once(&watch, &desktop, "600123457", 2).await;
    assert_clipboard_restored(&desktop, "after the tray's Dial selection").await;
    println!("3. tray Dial selection: dialed 600123457, clipboard restored");

    // 4. Nothing selected: Ctrl+C copies nothing; no call, the agent is told, the clipboard
    //    is as it was.
    target.show(&desktop, "Call 93 200 90 08", false);
    let _ = desktop.notifications();
    desktop.run_ok("xdotool", &["key", "ctrl+alt+d"]);
    let told = wait_for(
        "the notification that nothing is selected",
        Duration::from_secs(15),
        || async {
            desktop
                .notifications()
                .into_iter()
                .find(|(_, body)| body.contains("No text is selected"))
        },
    )
    .await;
    println!("4. nothing selected: told {told:?}");
    target.assert_one_copy("nothing selected");
    assert_clipboard_restored(&desktop, "after nothing was selected").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        watch.destination_dials("932009008"),
        0,
        "{}",
        watch.summary()
    );
    assert_eq!(watch.agent_calls(), 3, "no call: {}", watch.summary());

    // 5. For contrast, settings say `primary`: the same selection is not copied; PRIMARY's
    //    number is dialed and the clipboard is never touched.
    set_method(&desktop, "primary");
    // Saving registers the hotkeys again (on the tray's GTK thread): give it a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        read_selection(&desktop, "primary"),
        PRIMARY,
        "PRIMARY still there"
    );
    target.show(&desktop, "Call +34 932 009 005 please", true);
    desktop.run_ok("xdotool", &["key", "ctrl+alt+d"]);
    assert_dialed_once(&watch, &desktop, "932009007", 3).await;
    assert_eq!(
        watch.destination_dials("932009005"),
        1,
        "{}",
        watch.summary()
    );
    assert!(
        !target.said().iter().any(|l| l == "copied"),
        "no Ctrl+C with the primary method"
    );
    assert_clipboard_restored(&desktop, "with the primary method").await;
    println!("5. primary: dialed 932009007 from PRIMARY");

    // 6. Back to copying, a GTK program: zenity's entry selects its text when it gets the
    //    focus and copies on Ctrl+C (it also takes PRIMARY, which the copy does not read).
    set_method(&desktop, "copy");
    drop(target);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut zenity = desktop
        .command("zenity")
        .args([
            "--entry",
            "--title",
            "copy-gtk",
            "--text",
            "Number",
            "--entry-text",
            "Llamar al 93 200 90 09, gracias",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("zenity starts");
    let window = desktop
        .run_ok("xdotool", &["search", "--sync", "--name", "^copy-gtk$"])
        .split_whitespace()
        .last()
        .expect("zenity's window")
        .to_owned();
    wait_for(
        "zenity's window to have the focus",
        Duration::from_secs(15),
        || async {
            desktop.run("xdotool", &["windowfocus", "--sync", &window]);
            let focused = desktop.run_ok("xdotool", &["getwindowfocus", "getwindowname"]);
            (focused.trim() == "copy-gtk").then_some(())
        },
    )
    .await;
    // GTK owns PRIMARY once its entry's text is selected.
    wait_for(
        "zenity's entry text selected (on PRIMARY)",
        Duration::from_secs(15),
        || async { (read_selection(&desktop, "primary").contains("93 200 90 09")).then_some(()) },
    )
    .await;
    desktop.run_ok("xdotool", &["key", "ctrl+alt+d"]);
    assert_dialed_once(&watch, &desktop, "932009009", 4).await;
    assert_clipboard_restored(&desktop, "after copying from GTK").await;
    let _ = zenity.kill();
    let _ = zenity.wait();
    println!("6. GTK (zenity): dialed 932009009, clipboard restored");

    // The settings window with the choice, for the record.
    let shown = ask_app(&desktop, json!({ "do": "show" }));
    assert_eq!(shown["ok"], true, "{shown}");
    let window = wait_for("the settings window", Duration::from_secs(60), || async {
        desktop.app_windows().into_iter().next()
    })
    .await;
    // Let WebKit draw, then scroll the hotkey section into view.
    tokio::time::sleep(Duration::from_secs(4)).await;
    desktop.run_ok("xdotool", &["mousemove", "--window", &window, "200", "300"]);
    for _ in 0..12 {
        desktop.run_ok("xdotool", &["click", "5"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let shot = screenshot_dir().join("settings-selection-method.png");
    desktop.scrot(&shot);
    check_png(&shot);

    println!("copy_selection took {:?}", started.elapsed());
    drop(watch);
    drop(pbx);
}

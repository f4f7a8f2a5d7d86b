//! Copy and restore: reading the selected text of a program that does not publish it (every
//! program on Windows and macOS, and X11 programs that keep their selection to themselves) by
//! pressing its copy shortcut, reading the clipboard, and putting the clipboard's previous
//! content back.
//!
//! The steps of [`copy_selection`], each bounded in time:
//!
//! 1. Wait (at most [`RELEASE_TIMEOUT`]) until the agent has let go of the shortcut: it is
//!    still held when it fires, and a Ctrl+C pressed while Alt is down arrives as Ctrl+Alt+C
//!    (on X11 the app's own clipboard shortcut would even catch it). On X11 every key must be
//!    up, the shortcut's letter too: until it is released the X server hands all keys to the
//!    shortcut's owner. Elsewhere the modifiers (Windows: `GetAsyncKeyState`; macOS:
//!    `CGEventSourceFlagsState`). Keys still held after that are an error; nothing is touched.
//! 2. Remember the clipboard's content ([`Saved`]).
//! 3. Put a marker of ours on the clipboard (kept out of clipboard histories where the
//!    platform has a way to say so). Anything else found there later was copied by the
//!    program, even a selection equal to the previous content. A marker rather than an empty
//!    clipboard: clipboard managers (Klipper, GPaste, …) refill an emptied clipboard with
//!    their last entry at once, which would read as a copy of it. The platforms' change
//!    counters (Windows' `GetClipboardSequenceNumber`, macOS' `changeCount`) would need
//!    `unsafe` bindings this workspace forbids, and the marker works the same everywhere.
//! 4. Press the copy shortcut (Ctrl+C; Cmd+C on macOS) with enigo.
//! 5. Read the clipboard every [`POLL_INTERVAL`] until it holds something other than the
//!    marker, for at most [`COPY_TIMEOUT`]. Nothing new: nothing was selected, or the
//!    program ignores Ctrl+C.
//! 6. Always put the previous content back, also after an error or a timeout.
//!
//! What can be put back: plain text, HTML (with its plain-text alternative) and images
//! (bitmaps; on X11 as PNG). Not: files copied in a file manager, rich text (RTF), program
//! private formats (a spreadsheet's cells, a drawing's shapes), or several of these at once
//! (HTML or text wins over an image). A clipboard holding only those is emptied by a copy.
//!
//! On X11 a clipboard's content lives in the program that owns it: the restored content is
//! served by the clipboard this module keeps open for the life of the process (the tray
//! process runs all day); arboard stops serving, and the content is gone, when its last
//! `Clipboard` is dropped. Copies are one at a time: a second shortcut press waits.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use arboard::{Clipboard, ImageData};

use super::ReadError;

/// The longest wait for the agent to let go of the shortcut's modifier keys.
pub const RELEASE_TIMEOUT: Duration = Duration::from_millis(600);

/// The longest wait for the program to put the selection on the clipboard.
pub const COPY_TIMEOUT: Duration = Duration::from_millis(500);

/// How often the keyboard and the clipboard are looked at while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Why the selection could not be copied.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A key of the shortcut was still held after [`RELEASE_TIMEOUT`].
    #[error("the shortcut's keys were still held down after {0:?}")]
    KeysHeld(Duration),
    /// The keyboard's state could not be read.
    #[error("cannot read the keyboard's state: {0}")]
    KeyState(String),
    /// The copy shortcut could not be pressed.
    #[error("cannot press the copy shortcut: {0}")]
    Keyboard(String),
    /// The clipboard could not be opened, or its content could not be read to put it back
    /// (then nothing was pressed, so nothing is lost).
    #[error("cannot use the clipboard: {0}")]
    Clipboard(String),
}

/// The clipboard kept open for the process (see the module's documentation); its lock also
/// makes copies wait for each other.
static CLIPBOARD: Mutex<Option<Clipboard>> = Mutex::new(None);

/// Copies the selected text of the program in front and puts the clipboard back as it was.
/// Blocks for up to [`RELEASE_TIMEOUT`] + [`COPY_TIMEOUT`] (plus the clipboard's answers):
/// not on a UI thread. [`ReadError::Empty`] when nothing (or nothing textual) was copied.
pub fn copy_selection() -> Result<String, ReadError> {
    let mut kept = CLIPBOARD.lock().unwrap_or_else(PoisonError::into_inner);
    let clipboard = open(&mut kept).map_err(ReadError::Copy)?;
    let started = Instant::now();
    let keyboard = keys::KeyState::new().map_err(ReadError::Copy)?;
    wait_for_release(RELEASE_TIMEOUT, || keyboard.held()).map_err(ReadError::Copy)?;
    tracing::debug!(after = ?started.elapsed(), "copy: the shortcut's keys are up");
    let saved = Saved::take(clipboard).map_err(ReadError::Copy)?;
    let marker = marker();
    let copied = mark(clipboard, &marker)
        .and_then(|()| keys::press_copy())
        .map(|()| wait_for_copy(|| clipboard.get_text(), &marker, COPY_TIMEOUT));
    if let Err(e) = saved.restore(clipboard) {
        tracing::warn!(error = %e, "cannot put the clipboard's previous content back");
    }
    tracing::debug!(
        after = ?started.elapsed(),
        copied = ?copied.as_ref().map(|text| text.as_ref().map(String::len)),
        "copy: done, the clipboard is put back"
    );
    match copied {
        Ok(Some(text)) => super::non_empty(text),
        Ok(None) => Err(ReadError::Empty),
        Err(e) => Err(ReadError::Copy(e)),
    }
}

/// The kept clipboard, opened on first use.
fn open<'a>(
    kept: &'a mut MutexGuard<'_, Option<Clipboard>>,
) -> Result<&'a mut Clipboard, CopyError> {
    if kept.is_none() {
        **kept = Some(Clipboard::new().map_err(|e| CopyError::Clipboard(e.to_string()))?);
    }
    Ok(kept.as_mut().expect("the clipboard was just opened"))
}

/// Polls `held` until it says no key is held; [`CopyError::KeysHeld`] after `timeout`.
fn wait_for_release(
    timeout: Duration,
    mut held: impl FnMut() -> Result<bool, CopyError>,
) -> Result<(), CopyError> {
    let deadline = Instant::now() + timeout;
    loop {
        if !held()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(CopyError::KeysHeld(timeout));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// A text no program copies: the process id and the time, invisible to the eye.
fn marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "\u{2060}clickdial-copy-{}-{nanos}\u{2060}",
        std::process::id()
    )
}

/// Puts `marker` on the clipboard, out of clipboard histories where the platform says how.
fn mark(clipboard: &mut Clipboard, marker: &str) -> Result<(), CopyError> {
    let set = clipboard.set();
    #[cfg(all(unix, not(target_os = "macos")))]
    let set = arboard::SetExtLinux::exclude_from_history(set);
    #[cfg(target_os = "windows")]
    let set = arboard::SetExtWindows::exclude_from_monitoring(set);
    #[cfg(target_os = "macos")]
    let set = arboard::SetExtApple::exclude_from_history(set);
    set.text(marker)
        .map_err(|e| CopyError::Clipboard(e.to_string()))
}

/// Reads the clipboard's text with `read` until it is other than `marker`; `None` when none
/// came within `timeout`.
fn wait_for_copy(
    mut read: impl FnMut() -> Result<String, arboard::Error>,
    marker: &str,
    timeout: Duration,
) -> Option<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(text) = copied(read(), marker) {
            return Some(text);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// What one read of the clipboard says: the copied text, or `None` to keep waiting (still the
/// marker; no text, which is what a program that is taking the clipboard over offers for a
/// moment; or a clipboard busy with the program's write).
fn copied(read: Result<String, arboard::Error>, marker: &str) -> Option<String> {
    match read {
        Ok(text) if text != marker => Some(text),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(error = %e, "the copy is not on the clipboard yet");
            None
        }
    }
}

/// The clipboard's content before the copy, as far as it can be put back.
#[derive(Debug, Default)]
struct Saved {
    text: Option<String>,
    html: Option<String>,
    image: Option<ImageData<'static>>,
}

/// How the clipboard is put back.
#[derive(Debug)]
enum Restore {
    /// HTML, with the plain text programs without HTML paste.
    Html { html: String, text: Option<String> },
    /// Plain text.
    Text(String),
    /// A bitmap.
    Image(ImageData<'static>),
    /// The clipboard had nothing that can be put back: it is emptied (the marker must go).
    Clear,
}

impl Saved {
    /// Reads what the clipboard holds now. Text that is there but cannot be read is fatal:
    /// nothing is copied over it. HTML and images are best effort: owners often answer
    /// those requests badly (xclip serves its text whatever type is asked for), and what
    /// cannot be read could not be put back either.
    fn take(clipboard: &mut Clipboard) -> Result<Saved, CopyError> {
        let text = optional(clipboard.get_text())?;
        let html = clipboard
            .get()
            .html()
            .map_err(|e| tracing::debug!(error = %e, "no HTML on the clipboard"))
            .ok();
        let image = clipboard
            .get_image()
            .map_err(|e| tracing::debug!(error = %e, "no image on the clipboard"))
            .ok();
        Ok(Saved { text, html, image })
    }

    /// How to put this content back.
    fn plan(self) -> Restore {
        match self {
            Saved {
                html: Some(html),
                text,
                ..
            } => Restore::Html { html, text },
            Saved {
                text: Some(text), ..
            } => Restore::Text(text),
            Saved {
                image: Some(image), ..
            } => Restore::Image(image),
            Saved { .. } => Restore::Clear,
        }
    }

    /// Puts the content back on the clipboard.
    fn restore(self, clipboard: &mut Clipboard) -> Result<(), arboard::Error> {
        match self.plan() {
            Restore::Html { html, text } => clipboard.set_html(html, text),
            Restore::Text(text) => clipboard.set_text(text),
            Restore::Image(image) => clipboard.set_image(image),
            Restore::Clear => clipboard.clear(),
        }
    }
}

/// A read's content, `None` when there is none of that kind (or none that is valid text).
fn optional<T>(read: Result<T, arboard::Error>) -> Result<Option<T>, CopyError> {
    match read {
        Ok(value) => Ok(Some(value)),
        Err(arboard::Error::ContentNotAvailable | arboard::Error::ConversionFailure) => Ok(None),
        Err(e) => Err(CopyError::Clipboard(format!(
            "its content cannot be read to put it back afterwards: {e}"
        ))),
    }
}

/// The keyboard: whether the shortcut is still held, and pressing the copy shortcut.
mod keys {
    use enigo::{Direction, Enigo, Key, Keyboard as _, Settings};

    use super::CopyError;

    /// Where the keyboard's state is read from.
    pub struct KeyState {
        /// The connection to the X server.
        #[cfg(all(unix, not(target_os = "macos")))]
        x11: x11rb::rust_connection::RustConnection,
    }

    impl KeyState {
        /// Connects to what knows the keyboard's state (on X11 the display of `DISPLAY`).
        #[cfg(all(unix, not(target_os = "macos")))]
        pub fn new() -> Result<KeyState, CopyError> {
            let (x11, _) = x11rb::connect(None).map_err(key_state)?;
            Ok(KeyState { x11 })
        }

        /// Connects to what knows the keyboard's state.
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        pub fn new() -> Result<KeyState, CopyError> {
            Ok(KeyState {})
        }

        /// Whether any key is held down now (X11's `QueryKeymap`). Not only the modifiers:
        /// X11 hands every key to the hotkey's owner until the hotkey's own key is released
        /// (its passive grab), so a Ctrl+C sent before that reaches no program.
        #[cfg(all(unix, not(target_os = "macos")))]
        pub fn held(&self) -> Result<bool, CopyError> {
            use x11rb::protocol::xproto::ConnectionExt as _;

            let keys = self
                .x11
                .query_keymap()
                .map_err(key_state)?
                .reply()
                .map_err(key_state)?;
            Ok(any_down(&keys.keys))
        }

        /// Whether a modifier key (Shift, Ctrl, Alt, Windows) is held down now
        /// (`GetAsyncKeyState`).
        #[cfg(target_os = "windows")]
        pub fn held(&self) -> Result<bool, CopyError> {
            use winsafe::co::VK;
            Ok([VK::SHIFT, VK::CONTROL, VK::MENU, VK::LWIN, VK::RWIN]
                .into_iter()
                .any(winsafe::GetAsyncKeyState))
        }

        /// Whether a modifier key (Shift, Control, Option, Command) is held down now, as the
        /// keyboard hardware reports it (`CGEventSourceFlagsState`).
        #[cfg(target_os = "macos")]
        pub fn held(&self) -> Result<bool, CopyError> {
            use objc2_core_graphics::{CGEventFlags, CGEventSource, CGEventSourceStateID};
            let flags = CGEventSource::flags_state(CGEventSourceStateID::HIDSystemState);
            let modifiers = CGEventFlags::MaskShift.0
                | CGEventFlags::MaskControl.0
                | CGEventFlags::MaskAlternate.0
                | CGEventFlags::MaskCommand.0;
            Ok(flags.0 & modifiers != 0)
        }
    }

    /// An X11 error as a [`CopyError::KeyState`].
    #[cfg(all(unix, not(target_os = "macos")))]
    fn key_state(error: impl std::fmt::Display) -> CopyError {
        CopyError::KeyState(error.to_string())
    }

    /// Whether X11's 256-bit key map `keys` has a key down (keycodes start at 8).
    #[cfg(all(unix, not(target_os = "macos")))]
    pub fn any_down(keys: &[u8; 32]) -> bool {
        keys[1..].iter().any(|&byte| byte != 0)
    }

    /// The modifier of the copy shortcut.
    const MODIFIER: Key = if cfg!(target_os = "macos") {
        Key::Meta
    } else {
        Key::Control
    };

    /// The letter of the copy shortcut: Windows' virtual key C (what programs match Ctrl+C
    /// on, whatever the layout), elsewhere the key that types `c`.
    #[cfg(target_os = "windows")]
    const LETTER: Key = Key::C;
    #[cfg(not(target_os = "windows"))]
    const LETTER: Key = Key::Unicode('c');

    /// Presses the copy shortcut in the program in front; the modifier is released also when
    /// the letter fails.
    pub fn press_copy() -> Result<(), CopyError> {
        let fail = |e: &dyn std::fmt::Display| CopyError::Keyboard(e.to_string());
        let mut enigo = Enigo::new(&Settings::default()).map_err(|e| fail(&e))?;
        enigo
            .key(MODIFIER, Direction::Press)
            .map_err(|e| fail(&e))?;
        let letter = enigo.key(LETTER, Direction::Click);
        let release = enigo.key(MODIFIER, Direction::Release);
        letter.and(release).map_err(|e| fail(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageData<'static> {
        ImageData {
            width: 1,
            height: 1,
            bytes: vec![1, 2, 3, 4].into(),
        }
    }

    /// A plan in words (images have no `PartialEq`).
    fn plan(saved: Saved) -> String {
        match saved.plan() {
            Restore::Html { html, text } => format!("html {html} + text {text:?}"),
            Restore::Text(text) => format!("text {text:?}"),
            Restore::Image(image) => format!("image {}x{}", image.width, image.height),
            Restore::Clear => "clear".to_owned(),
        }
    }

    #[test]
    fn the_richest_content_that_can_be_put_back_wins() {
        let all = Saved {
            text: Some("plain".into()),
            html: Some("<b>rich</b>".into()),
            image: Some(image()),
        };
        assert_eq!(plan(all), r#"html <b>rich</b> + text Some("plain")"#);
        let text_and_image = Saved {
            text: Some("plain".into()),
            image: Some(image()),
            ..Saved::default()
        };
        assert_eq!(plan(text_and_image), r#"text "plain""#);
        let only_image = Saved {
            image: Some(image()),
            ..Saved::default()
        };
        assert_eq!(plan(only_image), "image 1x1");
        let html_alone = Saved {
            html: Some("<i>x</i>".into()),
            ..Saved::default()
        };
        assert_eq!(plan(html_alone), "html <i>x</i> + text None");
    }

    #[test]
    fn an_empty_clipboard_is_emptied_again_so_the_marker_goes() {
        assert_eq!(plan(Saved::default()), "clear");
        // Empty text is still content: it is put back as it was.
        let empty_text = Saved {
            text: Some(String::new()),
            ..Saved::default()
        };
        assert_eq!(plan(empty_text), r#"text """#);
    }

    #[test]
    fn missing_content_is_not_an_error_but_a_broken_clipboard_is() {
        assert_eq!(optional(Ok(5)).unwrap(), Some(5));
        assert_eq!(
            optional::<String>(Err(arboard::Error::ContentNotAvailable)).unwrap(),
            None
        );
        assert_eq!(
            optional::<String>(Err(arboard::Error::ConversionFailure)).unwrap(),
            None
        );
        let broken = optional::<String>(Err(arboard::Error::ClipboardOccupied)).unwrap_err();
        assert!(matches!(broken, CopyError::Clipboard(_)), "{broken:?}");
    }

    #[test]
    fn only_text_other_than_the_marker_is_a_copy() {
        let marker = marker();
        assert_eq!(copied(Ok(marker.clone()), &marker), None);
        assert_eq!(
            copied(Err(arboard::Error::ContentNotAvailable), &marker),
            None
        );
        assert_eq!(
            copied(Err(arboard::Error::ClipboardOccupied), &marker),
            None
        );
        // The selection may well equal what the clipboard held before: still a copy.
        assert_eq!(
            copied(Ok("previous".into()), &marker),
            Some("previous".into())
        );
        assert_ne!(marker, super::marker(), "each copy has a marker of its own");
    }

    #[test]
    fn the_wait_for_released_keys_ends_when_they_are_released() {
        let mut polls = 0;
        let started = Instant::now();
        wait_for_release(Duration::from_secs(5), || {
            polls += 1;
            Ok(polls < 4)
        })
        .unwrap();
        assert_eq!(polls, 4);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn the_wait_for_released_keys_is_bounded() {
        let started = Instant::now();
        let held = wait_for_release(Duration::from_millis(100), || Ok(true)).unwrap_err();
        assert!(matches!(held, CopyError::KeysHeld(_)), "{held:?}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_millis(400),
            "{waited:?}"
        );
        let broken = wait_for_release(Duration::from_secs(5), || {
            Err(CopyError::KeyState("no display".into()))
        })
        .unwrap_err();
        assert!(matches!(broken, CopyError::KeyState(_)), "{broken:?}");
    }

    #[test]
    fn the_wait_for_the_copy_takes_what_arrives_or_gives_up_in_time() {
        let marker = marker();
        let mut reads = 0;
        let arrived = wait_for_copy(
            || {
                reads += 1;
                match reads {
                    1 => Ok(marker.clone()),
                    2 => Err(arboard::Error::ContentNotAvailable),
                    _ => Ok("Call 93 200 90 05".into()),
                }
            },
            &marker,
            Duration::from_secs(5),
        );
        assert_eq!(arrived.as_deref(), Some("Call 93 200 90 05"));
        assert_eq!(reads, 3);

        let started = Instant::now();
        let nothing = wait_for_copy(|| Ok(marker.clone()), &marker, Duration::from_millis(100));
        assert_eq!(nothing, None);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_millis(400),
            "{waited:?}"
        );
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn x11_key_maps_say_whether_any_key_is_down() {
        let mut keys = [0u8; 32];
        assert!(!keys::any_down(&keys));
        // Control_L is keycode 37 on PC keyboards: byte 4, bit 5.
        keys[4] = 1 << 5;
        assert!(keys::any_down(&keys));
        // The letter D (keycode 40) alone still holds X11's grab of the shortcut.
        keys[4] = 0;
        keys[5] = 1;
        assert!(keys::any_down(&keys));
        // The highest keycode, 255.
        keys[5] = 0;
        keys[31] = 1 << 7;
        assert!(keys::any_down(&keys));
        // Keycodes 0-7 do not exist.
        keys[31] = 0;
        keys[0] = 0xff;
        assert!(!keys::any_down(&keys));
    }
}

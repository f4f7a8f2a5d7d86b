//! The tray icon: its picture follows the app's state, its menu holds every action. It lives
//! on the main thread of the tray process; [`show`] and [`refresh_menu`] may be called from
//! any thread.

use std::cell::RefCell;
use std::sync::Arc;

use clickdial_connect::LinkState;
use tray_icon::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::core::Core;
use crate::status::{CallStatus, Stage};

/// How many calls the Recent calls submenu lists.
const RECENT: usize = 8;

thread_local! {
    /// The icon, owned by the main thread.
    static TRAY: RefCell<Option<TrayIcon>> = const { RefCell::new(None) };
}

/// What the tray picture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Ready to dial.
    Idle,
    /// A call is being set up.
    Dialing,
    /// A call is connected.
    Connected,
    /// The last call failed.
    Error,
    /// Not connected to the PBX or gateway.
    Disconnected,
}

impl Look {
    /// The picture's PNG file.
    fn png(self) -> &'static [u8] {
        match self {
            Look::Idle => include_bytes!("../../icons/tray-idle.png"),
            Look::Dialing => include_bytes!("../../icons/tray-dialing.png"),
            Look::Connected => include_bytes!("../../icons/tray-connected.png"),
            Look::Error => include_bytes!("../../icons/tray-error.png"),
            Look::Disconnected => include_bytes!("../../icons/tray-disconnected.png"),
        }
    }

    /// The picture for this look.
    fn icon(self) -> Icon {
        let (rgba, width, height) = decode(self.png());
        Icon::from_rgba(rgba, width, height).expect("the tray icons are RGBA")
    }

    /// The look for a link state and the current call; `recent_failure` is whether the last
    /// call ended badly a moment ago.
    pub fn of(link: &LinkState, call: Option<&CallStatus>, recent_failure: bool) -> Look {
        match call {
            Some(call) if !call.is_final && call.state == Stage::Connected => Look::Connected,
            Some(call) if !call.is_final => Look::Dialing,
            _ if recent_failure => Look::Error,
            _ if !matches!(link, LinkState::Up) => Look::Disconnected,
            _ => Look::Idle,
        }
    }
}

/// An RGBA PNG's pixels, width and height.
fn decode(png: &[u8]) -> (Vec<u8>, u32, u32) {
    let mut reader = png::Decoder::new(png)
        .read_info()
        .expect("the tray icons are PNG files");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut pixels)
        .expect("the tray icons decode");
    assert_eq!(
        frame.color_type,
        png::ColorType::Rgba,
        "the tray icons are RGBA"
    );
    pixels.truncate(frame.buffer_size());
    (pixels, frame.width, frame.height)
}

/// Whether an ended call's outcome is one the agent should notice.
pub fn is_failure(outcome: Option<&str>) -> bool {
    !matches!(outcome, None | Some("answered") | Some("cancelled"))
}

/// Creates the tray icon with its menu; call on the main thread.
pub fn create(core: &Arc<Core>) -> Result<(), tray_icon::Error> {
    let tray = TrayIconBuilder::new()
        .with_id("clickdial")
        .with_icon(Look::Disconnected.icon())
        .with_tooltip(core.text("app.name", &[]))
        .with_menu(Box::new(menu(core)))
        .with_menu_on_left_click(true)
        .build()?;
    TRAY.with(|cell| *cell.borrow_mut() = Some(tray));
    Ok(())
}

/// Runs `f` with the icon on the main thread.
fn on_tray(f: impl FnOnce(&TrayIcon) + Send + 'static) {
    crate::mainloop::invoke(move || {
        TRAY.with(|cell| {
            if let Some(tray) = cell.borrow().as_ref() {
                f(tray);
            }
        });
    });
}

/// Sets the picture and tooltip.
pub fn show(look: Look, tooltip: String) {
    on_tray(move |tray| {
        if let Err(e) = tray.set_icon(Some(look.icon())) {
            tracing::warn!(error = %e, "cannot change the tray icon");
        }
        let _ = tray.set_tooltip(Some(tooltip));
    });
}

/// Rebuilds the menu (after a call, a settings change or a pause).
pub fn refresh_menu(core: &Arc<Core>) {
    let core = core.clone();
    on_tray(move |tray| tray.set_menu(Some(Box::new(menu(&core)))));
}

/// The menu in the agent's language; ids are what [`crate::desktop`] acts on.
fn menu(core: &Arc<Core>) -> Menu {
    let t = |key: &str| core.text(key, &[]);
    let item = |id: &str, key: &str, enabled: bool| MenuItem::with_id(id, t(key), enabled, None);
    let settings = core.settings();
    let configured = !core.is_first_run();
    let in_call = core
        .call_status()
        .is_some_and(|c| !c.is_final && c.can_hangup);

    let recent: Vec<MenuItem> = core
        .recent(RECENT)
        .into_iter()
        .map(|entry| {
            let outcome = match &entry.outcome {
                Some(outcome) => core.text(&format!("outcome.{}", outcome.kind()), &[("text", "")]),
                None => "…".to_owned(),
            };
            let label = core.text(
                "tray.recent_entry",
                &[
                    ("number", &entry.number),
                    ("outcome", outcome.trim_end_matches([':', ' '])),
                ],
            );
            MenuItem::with_id(format!("recent:{}", entry.id.0), label, configured, None)
        })
        .collect();
    let empty = item("recent:none", "tray.recent_empty", false);
    let recent_items: Vec<&dyn IsMenuItem> = if recent.is_empty() {
        vec![&empty]
    } else {
        recent.iter().map(|i| i as &dyn IsMenuItem).collect()
    };
    let recent_menu = Submenu::with_items(t("tray.recent"), true, &recent_items)
        .expect("a submenu takes menu items");
    let hotkey_key = if settings.hotkey_paused {
        "tray.resume_hotkey"
    } else {
        "tray.pause_hotkey"
    };
    let toggle = MenuItem::with_id(
        "toggle_hotkey",
        core.text(hotkey_key, &[("hotkey", &settings.hotkey)]),
        configured,
        None,
    );
    let title = if core.is_demo() {
        t("tray.demo_title")
    } else {
        t("app.name")
    };
    let header = MenuItem::with_id("title", title, false, None);
    Menu::with_items(&[
        &header,
        &PredefinedMenuItem::separator(),
        &item("dial_clipboard", "tray.dial_clipboard", configured),
        &item("dial_selection", "tray.dial_selection", configured),
        &item("dial_number", "tray.dial_number", configured),
        &item("hangup", "tray.hangup", in_call),
        &recent_menu,
        &item("history", "tray.history", true),
        &PredefinedMenuItem::separator(),
        &toggle,
        &item("settings", "tray.settings", true),
        &PredefinedMenuItem::separator(),
        &item("quit", "tray.quit", true),
    ])
    .expect("a menu takes menu items")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: Stage, is_final: bool) -> CallStatus {
        CallStatus {
            id: "c".into(),
            number: "1".into(),
            destination: "1".into(),
            state,
            text: String::new(),
            can_hangup: false,
            is_final,
            outcome: None,
        }
    }

    #[test]
    fn the_picture_follows_link_and_call() {
        let up = LinkState::Up;
        let down = LinkState::Down { reason: "x".into() };
        assert_eq!(Look::of(&up, None, false), Look::Idle);
        assert_eq!(Look::of(&down, None, false), Look::Disconnected);
        assert_eq!(
            Look::of(&up, Some(&status(Stage::AgentRinging, false)), false),
            Look::Dialing
        );
        assert_eq!(
            Look::of(&up, Some(&status(Stage::Connected, false)), false),
            Look::Connected
        );
        assert_eq!(
            Look::of(&up, Some(&status(Stage::Ended, true)), true),
            Look::Error
        );
        assert_eq!(
            Look::of(&down, Some(&status(Stage::Ended, true)), false),
            Look::Disconnected
        );
        assert!(is_failure(Some("busy")));
        assert!(!is_failure(Some("answered")));
        assert!(!is_failure(Some("cancelled")));
    }

    #[test]
    fn every_picture_decodes() {
        for look in [
            Look::Idle,
            Look::Dialing,
            Look::Connected,
            Look::Error,
            Look::Disconnected,
        ] {
            let (rgba, width, height) = decode(look.png());
            assert_eq!((width, height), (64, 64));
            assert_eq!(rgba.len(), 64 * 64 * 4);
        }
    }
}

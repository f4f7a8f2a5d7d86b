//! The tray icon: its picture follows the app's state, its menu holds every action.

use std::sync::Arc;

use clickdial_connect::LinkState;
use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Runtime};

use crate::core::Core;
use crate::status::{CallStatus, Stage};

/// The tray icon's id.
const TRAY: &str = "main";

/// How many calls the Recent calls submenu lists.
const RECENT: usize = 8;

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
    /// The picture for this look.
    fn image(self) -> Image<'static> {
        let bytes: &'static [u8] = match self {
            Look::Idle => include_bytes!("../../icons/tray-idle.png"),
            Look::Dialing => include_bytes!("../../icons/tray-dialing.png"),
            Look::Connected => include_bytes!("../../icons/tray-connected.png"),
            Look::Error => include_bytes!("../../icons/tray-error.png"),
            Look::Disconnected => include_bytes!("../../icons/tray-disconnected.png"),
        };
        Image::from_bytes(bytes).expect("the tray icons are valid PNG files")
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

/// Whether an ended call's outcome is one the agent should notice.
pub fn is_failure(outcome: Option<&str>) -> bool {
    !matches!(outcome, None | Some("answered") | Some("cancelled"))
}

/// Creates the tray icon with its menu; menu clicks go to `on_menu`.
pub fn create<R: Runtime>(
    app: &AppHandle<R>,
    core: &Arc<Core>,
    on_menu: impl Fn(&AppHandle<R>, &str) + Send + Sync + 'static,
) -> tauri::Result<()> {
    let menu = menu(app, core)?;
    TrayIconBuilder::with_id(TRAY)
        .icon(Look::Disconnected.image())
        .tooltip(core.text("app.name", &[]))
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(move |app, event| on_menu(app, event.id().as_ref()))
        .build(app)?;
    Ok(())
}

/// Sets the picture and tooltip.
pub fn show<R: Runtime>(app: &AppHandle<R>, look: Look, tooltip: &str) -> tauri::Result<()> {
    if let Some(tray) = app.tray_by_id(TRAY) {
        tray.set_icon(Some(look.image()))?;
        tray.set_tooltip(Some(tooltip))?;
    }
    Ok(())
}

/// Rebuilds the menu (after a call, a settings change or a pause).
pub fn refresh_menu<R: Runtime>(app: &AppHandle<R>, core: &Arc<Core>) -> tauri::Result<()> {
    if let Some(tray) = app.tray_by_id(TRAY) {
        tray.set_menu(Some(menu(app, core)?))?;
    }
    Ok(())
}

/// The menu in the agent's language.
fn menu<R: Runtime>(app: &AppHandle<R>, core: &Arc<Core>) -> tauri::Result<Menu<R>> {
    let t = |key: &str| core.text(key, &[]);
    let item = |id: &str, key: &str, enabled: bool| {
        MenuItem::with_id(app, id, t(key), enabled, None::<&str>)
    };
    let settings = core.settings();
    let configured = !core.is_first_run();
    let in_call = core
        .call_status()
        .is_some_and(|c| !c.is_final && c.can_hangup);

    let recent: Vec<MenuItem<R>> = core
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
            MenuItem::with_id(
                app,
                format!("recent:{}", entry.id.0),
                label,
                configured,
                None::<&str>,
            )
        })
        .collect::<tauri::Result<_>>()?;
    let recent_menu = if recent.is_empty() {
        let empty = item("recent:none", "tray.recent_empty", false)?;
        Submenu::with_items(app, t("tray.recent"), true, &[&empty])?
    } else {
        let items: Vec<&dyn IsMenuItem<R>> =
            recent.iter().map(|i| i as &dyn IsMenuItem<R>).collect();
        Submenu::with_items(app, t("tray.recent"), true, &items)?
    };
    let hotkey_key = if settings.hotkey_paused {
        "tray.resume_hotkey"
    } else {
        "tray.pause_hotkey"
    };
    let toggle = MenuItem::with_id(
        app,
        "toggle_hotkey",
        core.text(hotkey_key, &[("hotkey", &settings.hotkey)]),
        configured,
        None::<&str>,
    )?;
    let title = if core.is_demo() {
        t("tray.demo_title")
    } else {
        t("app.name")
    };
    let header = MenuItem::with_id(app, "title", title, false, None::<&str>)?;
    Menu::with_items(
        app,
        &[
            &header,
            &PredefinedMenuItem::separator(app)?,
            &item("dial_clipboard", "tray.dial_clipboard", configured)?,
            &item("dial_selection", "tray.dial_selection", configured)?,
            &item("dial_number", "tray.dial_number", configured)?,
            &item("hangup", "tray.hangup", in_call)?,
            &recent_menu,
            &item("history", "tray.history", true)?,
            &PredefinedMenuItem::separator(app)?,
            &toggle,
            &item("settings", "tray.settings", true)?,
            &PredefinedMenuItem::separator(app)?,
            &item("quit", "tray.quit", true)?,
        ],
    )
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
    fn every_picture_loads() {
        for look in [
            Look::Idle,
            Look::Dialing,
            Look::Connected,
            Look::Error,
            Look::Disconnected,
        ] {
            assert_eq!(look.image().width(), 64);
        }
    }
}

//! clickdial's desktop tray app: the agent selects a number anywhere, presses a hotkey (or
//! picks "Dial clipboard" from the tray), and Asterisk rings their phone, then the number.
//!
//! Two programs: `clickdial`, the tray process ([`desktop`]: tray icon, hotkeys,
//! notifications, the single-instance socket, the [`core::Core`] with the dialing logic over
//! `clickdial-agent`, `clickdial-connect` and `clickdial-dial`), which loads no WebKit; and
//! `clickdial-window`, one Tauri process per open window ([`window`]), showing the web UI of
//! `ui/` and forwarding its [`commands`] to the tray.

pub mod autostart;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod core;
pub mod desktop;
pub mod gl;
pub mod host;
pub mod hotkeys;
pub mod i18n;
pub mod instance;
pub mod mainloop;
pub mod notify;
pub mod paths;
pub mod selection;
pub mod status;
pub mod tray;
pub mod window;
pub mod windows;

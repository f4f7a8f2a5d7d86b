//! `clickdial-window <view>`: one window of the clickdial tray app (setup, settings, history,
//! pick, call, dial), started by the tray process; it ends when its window closes.

// Windows: a windowed program, with no console window beside its window.
#![cfg_attr(windows, windows_subsystem = "windows")]

use std::process::ExitCode;

use clickdial_app::windows::{VIEWS, View};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLICKDIAL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(view) = View::named(&name) else {
        let views: Vec<&str> = VIEWS.iter().map(|v| v.name()).collect();
        eprintln!("usage: clickdial-window <{}>", views.join("|"));
        return ExitCode::from(2);
    };
    #[cfg(target_os = "linux")]
    clickdial_app::gl::without_gl();
    match clickdial_app::window::run(view) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clickdial-window: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! `clickdial`: the agent's tray dialer (the tray process), and its command line.

// Windows: a windowed program, so link clicks and the autostart open no console window; the
// command line prints to the terminal it was started from (clickdial_console).
#![cfg_attr(windows, windows_subsystem = "windows")]

use std::process::ExitCode;

use clap::Parser;
use clickdial_app::cli::{Cli, Command};
use clickdial_app::instance::{self, Claim, Request};

fn main() -> ExitCode {
    clickdial_console::attach_parent();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLICKDIAL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(Command::Dial(dial)) = &cli.command
        && dial.dry_run
    {
        return dry_run(dial);
    }
    #[cfg(target_os = "linux")]
    clickdial_app::gl::without_gl();
    let request = cli.request();
    let listener = match instance::socket_path().and_then(|path| instance::claim(&path)) {
        Ok(Claim::Running(stream)) => {
            return match instance::forward(stream, &request.unwrap_or(Request::Show)) {
                Ok(reply) if reply.ok => {
                    println!("{}", reply.message);
                    ExitCode::SUCCESS
                }
                Ok(reply) => {
                    eprintln!("clickdial: {}", reply.message);
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("clickdial: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Ok(Claim::First(listener)) => Some(listener),
        // Windows reach the tray only through the socket: without it, refuse to start
        // rather than run a tray nothing can talk to.
        Err(e) => {
            eprintln!("clickdial: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The tray outlives the terminal it may have been started from.
    clickdial_console::detach();
    let options = clickdial_app::desktop::Options {
        demo: cli.demo,
        background: cli.background,
        startup: request,
        listener,
    };
    match clickdial_app::desktop::run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clickdial: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `clickdial dial --dry-run`: what would be dialed under the saved settings.
fn dry_run(dial: &clickdial_app::cli::DialArgs) -> ExitCode {
    let text = if dial.clipboard {
        clickdial_app::selection::clipboard().map_err(|e| e.to_string())
    } else if dial.selection {
        clickdial_app::selection::selection().map_err(|e| e.to_string())
    } else {
        Ok(dial.text.clone().unwrap_or_default())
    };
    let settings = clickdial_app::paths::settings_file()
        .map(|path| clickdial_agent::Settings::load(&path))
        .transpose();
    let result = match (text, settings) {
        (Err(e), _) => Err(format!("nothing to read: {e}")),
        (_, Err(e)) => Err(e.to_string()),
        (Ok(text), Ok(settings)) => clickdial_app::cli::dry_run(&text, settings.flatten().as_ref()),
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("clickdial: {why}");
            ExitCode::FAILURE
        }
    }
}

//! `clickdial`: the agent's tray dialer.

use clap::Parser;

/// clickdial: dial any phone number on your screen through your company's Asterisk.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Start in demo mode: a built-in PBX, nothing configured or stored, tray only.
    #[arg(long)]
    demo: bool,
}

fn main() -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    without_gl();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLICKDIAL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    clickdial_app::run(clickdial_app::Options { demo: args.demo })
}

/// Restarts the process with `GDK_GL=disable` unless it is set: the tray process never draws
/// with OpenGL, and GTK initialising it loads the GL driver (with Mesa's software renderer,
/// 50 MB of LLVM) into a process that idles all day. WebKit's own processes render as usual.
#[cfg(target_os = "linux")]
fn without_gl() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("GDK_GL").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GDK_GL", "disable")
        .exec();
    eprintln!("clickdial: cannot restart without OpenGL ({error}); going on with it");
}

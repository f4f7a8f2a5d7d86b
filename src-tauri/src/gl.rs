//! Keeping OpenGL out of processes that never draw with it.

/// Restarts the process with `GDK_GL=disable` unless it is set: the tray process never draws
/// with OpenGL, and GTK initialising it loads the GL driver (with Mesa's software renderer,
/// 50 MB of LLVM) into a process that idles all day. WebKit's own processes render as usual.
#[cfg(target_os = "linux")]
pub fn without_gl() {
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

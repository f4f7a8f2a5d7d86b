//! Windows: `clickdial` is a windowed program (`windows_subsystem = "windows"`), so a link
//! click or the autostart opens no console window; but then it has no console either, and its
//! command line (`clickdial --version`, `clickdial dial --dry-run …`) would print nowhere.
//! [`attach_parent`] gives it the console of the terminal it was started from; [`detach`]
//! lets go of it before the program stays running as the tray, so closing that terminal does
//! not end the tray.
//!
//! Elsewhere both do nothing: programs there always have their terminal.

/// Prints to the console of the process that started this one, if it has one. Call before
/// anything is printed; output already redirected to a file or pipe stays there.
pub fn attach_parent() {
    #[cfg(windows)]
    #[allow(unsafe_code)]
    // SAFETY: AttachConsole takes a process id and touches no memory of ours; it fails
    // harmlessly when the parent has no console or this process has one already.
    unsafe {
        windows_sys::Win32::System::Console::AttachConsole(
            windows_sys::Win32::System::Console::ATTACH_PARENT_PROCESS,
        );
    }
}

/// Lets go of the console [`attach_parent`] attached, if any.
pub fn detach() {
    #[cfg(windows)]
    #[allow(unsafe_code)]
    // SAFETY: FreeConsole takes no arguments; without a console it fails harmlessly.
    unsafe {
        windows_sys::Win32::System::Console::FreeConsole();
    }
}

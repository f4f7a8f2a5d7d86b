//! Reading the text the agent points at: the clipboard, or the selection (X11's PRIMARY on
//! Linux, or a copy of it the [`copy`] module makes and undoes).

pub mod copy;

use clickdial_agent::SelectionMethod;

/// Why no text could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// There is nothing (or nothing textual) to read.
    #[error("empty")]
    Empty,
    /// The clipboard service failed.
    #[error("{0}")]
    Failed(String),
    /// Copying the selection failed.
    #[error("{0}")]
    Copy(#[from] copy::CopyError),
}

/// The method that is used for `method`: X11's PRIMARY exists only on X11 (Linux and the
/// BSDs); elsewhere the selection is always copied.
pub fn effective(method: SelectionMethod) -> SelectionMethod {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        SelectionMethod::Copy
    } else {
        method
    }
}

/// The selected text, read the way `method` says (see [`effective`]).
pub fn read_selection(method: SelectionMethod) -> Result<String, ReadError> {
    match effective(method) {
        SelectionMethod::Primary => selection(),
        SelectionMethod::Copy => copy::copy_selection(),
    }
}

fn read(error: arboard::Error) -> ReadError {
    match error {
        arboard::Error::ContentNotAvailable => ReadError::Empty,
        other => ReadError::Failed(other.to_string()),
    }
}

/// The clipboard's text.
pub fn clipboard() -> Result<String, ReadError> {
    let text = arboard::Clipboard::new()
        .map_err(read)?
        .get_text()
        .map_err(read)?;
    non_empty(text)
}

/// The selected text: X11's PRIMARY selection on Linux; elsewhere the clipboard.
pub fn selection() -> Result<String, ReadError> {
    #[cfg(target_os = "linux")]
    {
        use arboard::{GetExtLinux, LinuxClipboardKind};
        let text = arboard::Clipboard::new()
            .map_err(read)?
            .get()
            .clipboard(LinuxClipboardKind::Primary)
            .text()
            .map_err(read)?;
        non_empty(text)
    }
    #[cfg(not(target_os = "linux"))]
    {
        clipboard()
    }
}

fn non_empty(text: String) -> Result<String, ReadError> {
    if text.trim().is_empty() {
        Err(ReadError::Empty)
    } else {
        Ok(text)
    }
}

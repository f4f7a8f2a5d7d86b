//! Reading the text the agent points at: the clipboard, or the selection (X11's PRIMARY on
//! Linux).

/// Why no text could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// There is nothing (or nothing textual) to read.
    #[error("empty")]
    Empty,
    /// The clipboard service failed.
    #[error("{0}")]
    Failed(String),
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

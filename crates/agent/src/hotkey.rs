//! The shape of a global shortcut as tauri-plugin-global-shortcut reads it: modifiers and a
//! key joined by `+`, e.g. `Ctrl+Alt+D`, case-insensitive.
//!
//! Only the shape is checked here; whether the desktop lets the app have the key is found out
//! when it is registered.

/// Whether `hotkey` is modifiers (each at most once) and one key, e.g. `Ctrl+Alt+D`.
///
/// A key alone is accepted only for the function keys F1 to F24, which no text field needs.
pub fn is_valid_hotkey(hotkey: &str) -> bool {
    parse(hotkey).is_some()
}

/// Whether two valid shortcuts name the same keys (ignoring case, spelling of modifiers and
/// their order).
pub fn same_hotkey(a: &str, b: &str) -> bool {
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// A parsed shortcut: the modifiers as bits, and the key in upper case without `Key`/`Digit`.
#[derive(Debug, PartialEq, Eq)]
struct Hotkey {
    /// Bit set of [`modifier`] values.
    modifiers: u8,
    /// The key, normalized.
    key: String,
}

/// Parses a shortcut; `None` when it is not modifiers and one key.
fn parse(hotkey: &str) -> Option<Hotkey> {
    if hotkey.len() > 100 || hotkey.chars().any(char::is_control) {
        return None;
    }
    let mut tokens: Vec<&str> = hotkey.split('+').map(str::trim).collect();
    let key = normalize_key(tokens.pop()?)?;
    let mut modifiers = 0;
    for token in tokens {
        let bit = modifier(token)?;
        if modifiers & bit != 0 {
            return None;
        }
        modifiers |= bit;
    }
    let function_key = key.len() > 1 && key.starts_with('F') && key[1..].parse::<u8>().is_ok();
    (modifiers != 0 || function_key).then_some(Hotkey { modifiers, key })
}

/// The bit of a modifier name, as global-hotkey spells them.
fn modifier(token: &str) -> Option<u8> {
    match token.to_ascii_uppercase().as_str() {
        "CTRL" | "CONTROL" => Some(1),
        "ALT" | "OPTION" => Some(2),
        "SHIFT" => Some(4),
        "SUPER" | "META" | "CMD" | "COMMAND" => Some(8),
        "CMDORCTRL" | "CMDORCONTROL" | "COMMANDORCTRL" | "COMMANDORCONTROL" => Some(16),
        _ => None,
    }
}

/// The key in a normal form (`KeyD` and `d` → `D`, `Digit1` → `1`), or `None` for no key.
fn normalize_key(token: &str) -> Option<String> {
    let upper = token.to_ascii_uppercase();
    let bare = upper
        .strip_prefix("KEY")
        .filter(|rest| rest.len() == 1)
        .or_else(|| upper.strip_prefix("DIGIT").filter(|rest| rest.len() == 1))
        .unwrap_or(&upper);
    let single = bare.len() == 1 && bare.bytes().all(|b| b.is_ascii_alphanumeric());
    let function = bare
        .strip_prefix('F')
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (1..=24).contains(&n))
        && !bare[1..].starts_with('0');
    let named = matches!(
        bare,
        "SPACE"
            | "ENTER"
            | "TAB"
            | "ESC"
            | "ESCAPE"
            | "BACKSPACE"
            | "DELETE"
            | "INSERT"
            | "HOME"
            | "END"
            | "PAGEUP"
            | "PAGEDOWN"
            | "UP"
            | "DOWN"
            | "LEFT"
            | "RIGHT"
            | "ARROWUP"
            | "ARROWDOWN"
            | "ARROWLEFT"
            | "ARROWRIGHT"
            | "PRINTSCREEN"
            | "PAUSE"
            | "BACKQUOTE"
            | "MINUS"
            | "EQUAL"
            | "BRACKETLEFT"
            | "BRACKETRIGHT"
            | "BACKSLASH"
            | "SEMICOLON"
            | "QUOTE"
            | "COMMA"
            | "PERIOD"
            | "SLASH"
            | "NUMPAD0"
            | "NUMPAD1"
            | "NUMPAD2"
            | "NUMPAD3"
            | "NUMPAD4"
            | "NUMPAD5"
            | "NUMPAD6"
            | "NUMPAD7"
            | "NUMPAD8"
            | "NUMPAD9"
    );
    (single || function || named).then(|| bare.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_shortcuts() {
        for hotkey in [
            "Ctrl+Alt+D",
            "ctrl+alt+d",
            "Control+Shift+KeyD",
            "Super+1",
            "Alt+Digit1",
            "CmdOrCtrl+Shift+Space",
            "Ctrl+F5",
            "F9",
            "Shift+ArrowUp",
            " Ctrl + Alt + D ",
        ] {
            assert!(is_valid_hotkey(hotkey), "{hotkey:?}");
        }
    }

    #[test]
    fn invalid_shortcuts() {
        for hotkey in [
            "",
            "D",
            "Ctrl+",
            "+D",
            "Ctrl+Alt",
            "Ctrl+Ctrl+D",
            "Control+Ctrl+D",
            "Ctrl+DD",
            "Hyper+D",
            "Ctrl+F25",
            "Ctrl+F0",
            "F05",
            "Ctrl+Ñ",
            "Ctrl+Alt+D\n",
            "Ctrl+\0",
            "Ctrl+D+Alt",
        ] {
            assert!(!is_valid_hotkey(hotkey), "{hotkey:?}");
        }
        assert!(!is_valid_hotkey(&"Ctrl+".repeat(100_000)));
    }

    #[test]
    fn same_keys_in_other_spellings() {
        assert!(same_hotkey("Ctrl+Alt+D", "alt+control+KeyD"));
        assert!(!same_hotkey("Ctrl+Alt+D", "Ctrl+Alt+C"));
        assert!(!same_hotkey("Ctrl+", "Ctrl+"));
    }
}

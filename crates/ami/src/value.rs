//! Header names and values for outgoing actions, checked at construction so that no input
//! can inject AMI headers or actions.
//!
//! Asterisk does not unescape anything: a CR or LF inside a value ends the header and starts
//! another, and two of them start a new action. Every field the client writes goes through
//! [`Value`] (and [`Name`]), which cannot hold those bytes.

use std::borrow::Cow;
use std::fmt;

/// Why a header name or value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidHeader {
    /// The value holds a CR, LF or NUL byte, which would let it inject AMI headers.
    #[error(
        "AMI header value {value:?} contains {byte} at byte {index}: CR, LF and NUL would inject \
         AMI headers, so they are refused"
    )]
    Value {
        /// The refused value, truncated to 64 characters.
        value: String,
        /// The offending byte, spelled out (`CR`, `LF` or `NUL`).
        byte: &'static str,
        /// Its byte offset in the value.
        index: usize,
    },
    /// The name is empty or holds something other than visible ASCII without `:`.
    #[error(
        "AMI header name {0:?} is invalid: a name is one or more visible ASCII characters \
         without ':'"
    )]
    Name(String),
    /// An Originate variable that Asterisk would split or mangle.
    #[error("Originate variable {name:?} cannot be sent: {reason}")]
    Variable {
        /// The variable's name, truncated to 64 characters.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A header value that holds no CR, LF or NUL byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Value(Cow<'static, str>);

impl Value {
    /// Checks `text` and wraps it; fails if it holds CR, LF or NUL.
    pub fn new(text: impl Into<String>) -> Result<Value, InvalidHeader> {
        let text = text.into();
        check_value(&text)?;
        Ok(Value(Cow::Owned(text)))
    }

    /// Wraps a literal, failing to compile when used in a `const` with CR, LF or NUL
    /// (and panicking otherwise), e.g. `Value::from_static("true")`.
    pub const fn from_static(text: &'static str) -> Value {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            assert!(
                !matches!(bytes[i], b'\r' | b'\n' | 0),
                "AMI header values cannot hold CR, LF or NUL"
            );
            i += 1;
        }
        Value(Cow::Borrowed(text))
    }

    /// The checked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Finds the first CR, LF or NUL in `text`.
fn check_value(text: &str) -> Result<(), InvalidHeader> {
    match text.bytes().position(|b| matches!(b, b'\r' | b'\n' | 0)) {
        None => Ok(()),
        Some(index) => Err(InvalidHeader::Value {
            value: text.chars().take(64).collect(),
            byte: match text.as_bytes()[index] {
                b'\r' => "CR",
                b'\n' => "LF",
                _ => "NUL",
            },
            index,
        }),
    }
}

impl TryFrom<&str> for Value {
    type Error = InvalidHeader;

    fn try_from(text: &str) -> Result<Value, InvalidHeader> {
        Value::new(text)
    }
}

impl TryFrom<String> for Value {
    type Error = InvalidHeader;

    fn try_from(text: String) -> Result<Value, InvalidHeader> {
        Value::new(text)
    }
}

/// Numbers are always safe values.
macro_rules! value_from_number {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value(Cow::Owned(n.to_string()))
            }
        }
    )*};
}
value_from_number!(u8, u16, u32, u64, usize, i32, i64);

impl From<bool> for Value {
    /// AMI booleans are spelled `true` and `false`.
    fn from(b: bool) -> Value {
        Value::from_static(if b { "true" } else { "false" })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A header name: one or more visible ASCII characters, none of them `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(Cow<'static, str>);

impl Name {
    /// Checks `text` and wraps it as a header name.
    pub fn new(text: impl Into<String>) -> Result<Name, InvalidHeader> {
        let text = text.into();
        if is_name(text.as_bytes()) {
            Ok(Name(Cow::Owned(text)))
        } else {
            Err(InvalidHeader::Name(text.chars().take(64).collect()))
        }
    }

    /// Wraps a literal name, failing to compile when used in a `const` with an invalid
    /// name (and panicking otherwise), e.g. `Name::from_static("Channel")`.
    pub const fn from_static(text: &'static str) -> Name {
        assert!(
            is_name(text.as_bytes()),
            "AMI header names are visible ASCII without ':'"
        );
        Name(Cow::Borrowed(text))
    }

    /// The checked name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `bytes` is a valid header name.
const fn is_name(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_graphic() || bytes[i] == b':' {
            return false;
        }
        i += 1;
    }
    true
}

impl TryFrom<&str> for Name {
    type Error = InvalidHeader;

    fn try_from(text: &str) -> Result<Name, InvalidHeader> {
        Name::new(text)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_refuse_line_breaks_and_nul_wherever_they_are() {
        for (text, byte, index) in [
            ("100\r\nAction: Originate", "CR", 3),
            ("\n", "LF", 0),
            ("abc\0", "NUL", 3),
            ("x\ny\r", "LF", 1),
        ] {
            match Value::new(text) {
                Err(InvalidHeader::Value {
                    byte: b, index: i, ..
                }) => assert_eq!((b, i), (byte, index), "{text:?}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        let err = Value::try_from("10\r\n\r\nAction: Command").unwrap_err();
        assert!(err.to_string().contains("would inject AMI"), "{err}");
    }

    #[test]
    fn values_keep_everything_else() {
        for text in ["", "Local/10@agents", "\"Agent, 10\" <10>", "a: b", "ñ €\t"] {
            assert_eq!(Value::new(text).unwrap().as_str(), text);
        }
        assert_eq!(Value::from(42u32).as_str(), "42");
        assert_eq!(Value::from(-1i64).as_str(), "-1");
        assert_eq!(Value::from(true).to_string(), "true");
        assert_eq!(Value::from_static("false").as_str(), "false");
    }

    #[test]
    #[should_panic(expected = "cannot hold CR, LF or NUL")]
    fn static_values_are_checked_too() {
        let _ = Value::from_static("a\r\nb");
    }

    #[test]
    fn names_are_visible_ascii_without_colons() {
        assert_eq!(Name::new("Variable").unwrap().as_str(), "Variable");
        assert_eq!(Name::from_static("X-Custom_1").to_string(), "X-Custom_1");
        for bad in ["", "Action:", "Two words", "Tab\t", "Line\n", "Ñame"] {
            assert_eq!(
                Name::new(bad),
                Err(InvalidHeader::Name(bad.to_owned())),
                "{bad:?}"
            );
        }
    }
}

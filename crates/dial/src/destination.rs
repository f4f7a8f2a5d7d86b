//! The dial string handed to Asterisk: a [`Destination`] that can only hold what an `Exten` may.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest dial string accepted; Asterisk's own limit for an extension is 80 bytes.
pub const MAX_DESTINATION_LEN: usize = 80;

/// A dial string that is safe to put in an AMI `Exten:` header.
///
/// It holds ASCII digits, `*` and `#`, and at most one `+`, only in first place. Nothing
/// else (no space, no letter, never CR, LF or NUL) can get in: the only way to build one is
/// [`Destination::new`], which checks every character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Destination {
    digits: String,
}

/// Why a string is not a valid [`Destination`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// The string is empty: there is nothing to dial.
    #[error("the dial string is empty")]
    Empty,
    /// The string is longer than [`MAX_DESTINATION_LEN`].
    #[error("the dial string is {len} characters long; at most {MAX_DESTINATION_LEN} are allowed")]
    TooLong {
        /// The length of the refused string, in characters.
        len: usize,
    },
    /// A character other than a digit, `*`, `#` or a leading `+`.
    #[error(
        "the dial string may only hold digits, '*', '#' and a leading '+', not {found:?} at position {position}"
    )]
    BadCharacter {
        /// The offending character.
        found: char,
        /// Its position, counting characters from 0.
        position: usize,
    },
    /// The string holds nothing but `+`, `*` and `#`.
    #[error("the dial string {0:?} has no digit")]
    NoDigit(String),
}

impl Destination {
    /// Checks `digits` and wraps it; see [`Destination`] for what is allowed.
    pub fn new(digits: &str) -> Result<Destination, DestinationError> {
        if digits.is_empty() {
            return Err(DestinationError::Empty);
        }
        let len = digits.chars().count();
        if len > MAX_DESTINATION_LEN {
            return Err(DestinationError::TooLong { len });
        }
        for (position, found) in digits.chars().enumerate() {
            let allowed = found.is_ascii_digit()
                || found == '*'
                || found == '#'
                || (found == '+' && position == 0);
            if !allowed {
                return Err(DestinationError::BadCharacter { found, position });
            }
        }
        if !digits.bytes().any(|b| b.is_ascii_digit()) {
            return Err(DestinationError::NoDigit(digits.to_owned()));
        }
        Ok(Destination {
            digits: digits.to_owned(),
        })
    }

    /// The dial string, e.g. `"0932009000"`.
    pub fn as_str(&self) -> &str {
        &self.digits
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

impl TryFrom<String> for Destination {
    type Error = DestinationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Destination::new(&value)
    }
}

impl From<Destination> for String {
    fn from(value: Destination) -> Self {
        value.digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_digits_star_hash_and_a_leading_plus() {
        for ok in ["0932009000", "+34932009000", "*97", "#1", "12", "0"] {
            assert_eq!(Destination::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_everything_else_with_the_reason() {
        assert_eq!(Destination::new(""), Err(DestinationError::Empty));
        assert_eq!(
            Destination::new("12\r\nAction: Logoff"),
            Err(DestinationError::BadCharacter {
                found: '\r',
                position: 2
            })
        );
        assert_eq!(
            Destination::new("34+1"),
            Err(DestinationError::BadCharacter {
                found: '+',
                position: 2
            })
        );
        assert_eq!(
            Destination::new("٣٤"),
            Err(DestinationError::BadCharacter {
                found: '٣',
                position: 0
            })
        );
        assert_eq!(
            Destination::new("+*#"),
            Err(DestinationError::NoDigit("+*#".into()))
        );
        assert_eq!(
            Destination::new(&"1".repeat(81)),
            Err(DestinationError::TooLong { len: 81 })
        );
        assert!(Destination::new(&"1".repeat(80)).is_ok());
    }

    #[test]
    fn deserializing_checks_too() {
        let ok: Destination = serde_json::from_str("\"*97\"").unwrap();
        assert_eq!(ok.to_string(), "*97");
        assert!(serde_json::from_str::<Destination>("\"12\\n\"").is_err());
    }
}

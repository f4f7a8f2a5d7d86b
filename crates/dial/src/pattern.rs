//! Asterisk-style number patterns (`_6XXX`, `+1900!`, `*9X`), for internal extensions and policy.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest pattern accepted, in characters.
const MAX_PATTERN_LEN: usize = 64;

/// A pattern in the syntax of Asterisk's dialplan, matched against a whole number.
///
/// `X` is any digit, `Z` 1–9, `N` 2–9, `[1-35]` one digit from a set; digits, `+`, `*` and
/// `#` stand for themselves. A final `.` matches one or more further characters, a final `!`
/// zero or more. The leading `_` Asterisk requires is optional. Letters are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pattern {
    source: String,
    elements: Vec<Element>,
    tail: Tail,
}

/// One position of a pattern: the set of characters it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Element {
    /// Exactly this character.
    Literal(char),
    /// One ASCII digit within the inclusive ranges.
    Digits(Vec<(u8, u8)>),
}

/// What a pattern accepts after its last element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Nothing: the number ends with the last element.
    End,
    /// `.`: one or more further characters.
    OneOrMore,
    /// `!`: zero or more further characters.
    ZeroOrMore,
}

/// Why a string is not a valid [`Pattern`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern is empty (or only `_`).
    #[error("the number pattern is empty")]
    Empty,
    /// The pattern is longer than 64 characters.
    #[error("the number pattern {0:?} is longer than 64 characters")]
    TooLong(String),
    /// A character that has no meaning in a pattern.
    #[error(
        "the number pattern {pattern:?} has {found:?}, which is not a digit, '+', '*', '#', X, Z, N, [..], '.' or '!'"
    )]
    BadCharacter {
        /// The whole pattern.
        pattern: String,
        /// The character that is not allowed.
        found: char,
    },
    /// A `[` without its `]`, or a set with something other than digits and ranges in it.
    #[error("the number pattern {0:?} has a malformed [..] set")]
    BadSet(String),
    /// A `.` or `!` that is not the last character.
    #[error("the number pattern {0:?} has '.' or '!' before its end; they may only end a pattern")]
    WildcardNotLast(String),
}

impl Pattern {
    /// Parses a pattern; see [`Pattern`] for the syntax.
    pub fn new(source: &str) -> Result<Pattern, PatternError> {
        if source.chars().count() > MAX_PATTERN_LEN {
            return Err(PatternError::TooLong(source.to_owned()));
        }
        let body = source.strip_prefix('_').unwrap_or(source);
        if body.is_empty() {
            return Err(PatternError::Empty);
        }
        let mut elements = Vec::new();
        let mut tail = Tail::End;
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if tail != Tail::End {
                return Err(PatternError::WildcardNotLast(source.to_owned()));
            }
            match c.to_ascii_uppercase() {
                '0'..='9' | '+' | '*' | '#' => elements.push(Element::Literal(c)),
                'X' => elements.push(Element::Digits(vec![(b'0', b'9')])),
                'Z' => elements.push(Element::Digits(vec![(b'1', b'9')])),
                'N' => elements.push(Element::Digits(vec![(b'2', b'9')])),
                '[' => {
                    let mut set = String::new();
                    let closed = chars.by_ref().any(|c| {
                        set.push(c);
                        c == ']'
                    });
                    set.pop();
                    if !closed {
                        return Err(PatternError::BadSet(source.to_owned()));
                    }
                    elements.push(Element::Digits(parse_set(&set, source)?));
                }
                '.' => tail = Tail::OneOrMore,
                '!' => tail = Tail::ZeroOrMore,
                _ => {
                    return Err(PatternError::BadCharacter {
                        pattern: source.to_owned(),
                        found: c,
                    });
                }
            }
        }
        if elements.is_empty() && tail == Tail::End {
            return Err(PatternError::Empty);
        }
        Ok(Pattern {
            source: source.to_owned(),
            elements,
            tail,
        })
    }

    /// Whether the whole of `number` matches the pattern.
    pub fn matches(&self, number: &str) -> bool {
        let mut chars = number.chars();
        for element in &self.elements {
            let Some(c) = chars.next() else {
                return false;
            };
            let ok = match element {
                Element::Literal(l) => c == *l,
                Element::Digits(ranges) => {
                    c.is_ascii_digit()
                        && ranges
                            .iter()
                            .any(|&(lo, hi)| (lo..=hi).contains(&(c as u8)))
                }
            };
            if !ok {
                return false;
            }
        }
        let rest = chars.count();
        match self.tail {
            Tail::End => rest == 0,
            Tail::OneOrMore => rest > 0,
            Tail::ZeroOrMore => true,
        }
    }

    /// The pattern as it was written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Parses the inside of `[...]`: digits and ranges like `1-5`, e.g. `"1-35"` for 1, 2, 3, 5.
fn parse_set(set: &str, pattern: &str) -> Result<Vec<(u8, u8)>, PatternError> {
    let bad = || PatternError::BadSet(pattern.to_owned());
    let bytes = set.as_bytes();
    if bytes.is_empty() {
        return Err(bad());
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let lo = bytes[i];
        if !lo.is_ascii_digit() {
            return Err(bad());
        }
        if bytes.get(i + 1) == Some(&b'-') {
            let hi = *bytes.get(i + 2).ok_or_else(bad)?;
            if !hi.is_ascii_digit() || hi < lo {
                return Err(bad());
            }
            ranges.push((lo, hi));
            i += 3;
        } else {
            ranges.push((lo, lo));
            i += 1;
        }
    }
    Ok(ranges)
}

impl FromStr for Pattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::new(s)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl TryFrom<String> for Pattern {
    type Error = PatternError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Pattern::new(&value)
    }
}

impl From<Pattern> for String {
    fn from(value: Pattern) -> Self {
        value.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::new(s).unwrap()
    }

    #[test]
    fn matches_like_asterisk() {
        assert!(p("_6XXX").matches("6123"));
        assert!(!p("_6XXX").matches("612"));
        assert!(!p("_6XXX").matches("61234"));
        assert!(!p("_6XXX").matches("7123"));
        assert!(p("NXX").matches("212") && !p("NXX").matches("112"));
        assert!(p("Z").matches("1") && !p("z").matches("0"));
        assert!(p("[1-35]0").matches("30") && p("[1-35]0").matches("50"));
        assert!(!p("[1-35]0").matches("40"));
        assert!(p("*9X").matches("*97"));
        assert!(p("+1900!").matches("+1900") && p("+1900!").matches("+19005550123"));
        assert!(p("+1900.").matches("+19005550123") && !p("+1900.").matches("+1900"));
        assert!(p("!").matches("") && p("!").matches("+44"));
    }

    #[test]
    fn refuses_malformed_patterns() {
        assert_eq!(Pattern::new("_"), Err(PatternError::Empty));
        assert!(matches!(
            Pattern::new("6a"),
            Err(PatternError::BadCharacter { found: 'a', .. })
        ));
        assert!(matches!(Pattern::new("[1-"), Err(PatternError::BadSet(_))));
        assert!(matches!(
            Pattern::new("[5-1]"),
            Err(PatternError::BadSet(_))
        ));
        assert!(matches!(Pattern::new("[]"), Err(PatternError::BadSet(_))));
        assert!(matches!(Pattern::new("[12"), Err(PatternError::BadSet(_))));
        assert!(matches!(
            Pattern::new("[1][2"),
            Err(PatternError::BadSet(_))
        ));
        assert!(matches!(
            Pattern::new("1.2"),
            Err(PatternError::WildcardNotLast(_))
        ));
        assert!(matches!(
            Pattern::new(&"X".repeat(65)),
            Err(PatternError::TooLong(_))
        ));
    }
}

//! An incoming AMI message: ordered `Name: value` headers, names compared case-insensitively,
//! repeated headers kept.

use std::fmt;

/// Where one header's name and value lie in a message's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// Start of the name, or [`RAW_OUTPUT`] for a line of old-style command output.
    pub(crate) name_start: u32,
    /// End of the name.
    pub(crate) name_end: u32,
    /// Start of the value.
    pub(crate) value_start: u32,
    /// End of the value.
    pub(crate) value_end: u32,
}

/// Marks a [`Span`] whose line is raw `Response: Follows` output: its name reads `Output`,
/// as in the newer form of the Command response.
pub(crate) const RAW_OUTPUT: u32 = u32::MAX;

impl Span {
    /// Splits the line `text[start..end]` at its first colon; a line without one is kept
    /// whole as the value of a header with an empty name.
    pub(crate) fn of_line(text: &[u8], start: usize, end: usize) -> Span {
        // Names are short: a plain loop beats a vectorized search's setup here.
        match text[start..end].iter().position(|&b| b == b':') {
            Some(colon) => {
                let mut value_start = start + colon + 1;
                while value_start < end && matches!(text[value_start], b' ' | b'\t') {
                    value_start += 1;
                }
                Span {
                    name_start: start as u32,
                    name_end: (start + colon) as u32,
                    value_start: value_start as u32,
                    value_end: end as u32,
                }
            }
            None => Span {
                name_start: start as u32,
                name_end: start as u32,
                value_start: start as u32,
                value_end: end as u32,
            },
        }
    }

    /// A raw output line `text[start..end]`.
    pub(crate) fn raw_output(start: usize, end: usize) -> Span {
        Span {
            name_start: RAW_OUTPUT,
            name_end: RAW_OUTPUT,
            value_start: start as u32,
            value_end: end as u32,
        }
    }
}

/// One AMI message (a response or an event) as received.
///
/// Text that is not valid UTF-8 (Asterisk passes caller names through as they came) is
/// shown with U+FFFD replacement characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    text: Box<str>,
    spans: Vec<Span>,
}

impl Message {
    /// Builds a message from its text and the spans the codec found in it.
    pub(crate) fn from_parts(text: Box<str>, spans: Vec<Span>) -> Message {
        Message { text, spans }
    }

    /// Builds a message from headers, as a peer would have sent them (for tests and
    /// simulators); names and values are taken as given.
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Message {
        let mut text = String::new();
        let mut spans = Vec::new();
        for (name, value) in headers {
            let name_start = text.len();
            text.push_str(name);
            let name_end = text.len();
            text.push_str(": ");
            let value_start = text.len();
            text.push_str(value);
            spans.push(Span {
                name_start: name_start as u32,
                name_end: name_end as u32,
                value_start: value_start as u32,
                value_end: text.len() as u32,
            });
            text.push_str("\r\n");
        }
        Message {
            text: text.into_boxed_str(),
            spans,
        }
    }

    /// The first value of the header `name` (case-insensitive), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The first value of each header in `names` (case-insensitive), found in one pass over
    /// the message: cheaper than a [`Message::get`] per name when most are missing.
    pub fn get_each<const N: usize>(&self, names: &[&str; N]) -> [Option<&str>; N] {
        let mut found = [None; N];
        for (name, value) in self.iter() {
            for (wanted, slot) in names.iter().zip(found.iter_mut()) {
                if slot.is_none() && name.eq_ignore_ascii_case(wanted) {
                    *slot = Some(value);
                }
            }
        }
        found
    }

    /// Every value of the header `name` (case-insensitive), in the order received.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All headers as `(name, value)` pairs in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans.iter().map(|s| {
            let name = if s.name_start == RAW_OUTPUT {
                "Output"
            } else {
                &self.text[s.name_start as usize..s.name_end as usize]
            };
            (
                name,
                &self.text[s.value_start as usize..s.value_end as usize],
            )
        })
    }

    /// How many header lines the message has.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the message has no headers at all.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The `Event` header's value if this is an event.
    pub fn event(&self) -> Option<&str> {
        self.first_named("Event")
    }

    /// The `Response` header's value (`Success`, `Error`, `Follows`, `Goodbye`) if this is a
    /// response.
    pub fn response(&self) -> Option<&str> {
        self.first_named("Response")
    }

    /// The `ActionID` this message answers or belongs to.
    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }

    /// The value of the first header if it is called `name`: responses and events name
    /// their kind in the first line.
    fn first_named(&self, name: &str) -> Option<&str> {
        self.iter()
            .next()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The message's text as received (after UTF-8 repair), header lines included.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_ordered_repeated_and_case_insensitive() {
        let m = Message::from_headers([
            ("Event", "VarSet"),
            ("Variable", "A=1"),
            ("ActionID", "x-1"),
            ("variable", "B=2"),
        ]);
        assert_eq!(m.event(), Some("VarSet"));
        assert_eq!(m.response(), None);
        assert_eq!(m.action_id(), Some("x-1"));
        assert_eq!(m.get("VARIABLE"), Some("A=1"));
        assert_eq!(m.get_all("Variable").collect::<Vec<_>>(), ["A=1", "B=2"]);
        assert_eq!(m.get("Missing"), None);
        assert_eq!(
            m.get_each(&["actionid", "Missing", "Variable"]),
            [Some("x-1"), None, Some("A=1")]
        );
        assert_eq!(m.len(), 4);
        assert_eq!(format!("{m:?}").matches("Variable").count(), 1);
    }

    #[test]
    fn the_kind_comes_from_the_first_header_only() {
        let m = Message::from_headers([("Response", "Success"), ("Event", "Late")]);
        assert_eq!(m.response(), Some("Success"));
        assert_eq!(m.event(), None);
        assert!(Message::from_headers([]).is_empty());
    }

    #[test]
    fn lines_split_at_the_first_colon_and_skip_leading_blanks() {
        let text = b"Name:  a: b\tNoColon";
        let s = Span::of_line(text, 0, 11);
        assert_eq!((s.name_start, s.name_end, s.value_start), (0, 4, 7));
        let raw = Span::of_line(text, 12, 19);
        assert_eq!(
            (raw.name_start, raw.name_end, raw.value_start),
            (12, 12, 12)
        );
    }
}

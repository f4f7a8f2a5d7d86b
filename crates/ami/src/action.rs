//! An outgoing AMI action: a name and ordered headers, every one of them checked.

use bytes::{BufMut, BytesMut};

use crate::value::{Name, Value};

/// An action to send, e.g. `Action::named("Ping")`.
///
/// The client gives every action a unique `ActionID` when it sends it; an `ActionID` header
/// set here is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    name: Name,
    headers: Vec<(Name, Value)>,
}

impl Action {
    /// An action called `name`.
    pub fn new(name: Name) -> Action {
        Action {
            name,
            headers: Vec::new(),
        }
    }

    /// An action called by a literal name; panics if the literal is not a valid name.
    pub fn named(name: &'static str) -> Action {
        Action::new(Name::from_static(name))
    }

    /// Appends a header; repeating a name (e.g. `Variable`) sends it repeatedly, in order.
    pub fn header(mut self, name: Name, value: impl Into<Value>) -> Action {
        self.headers.push((name, value.into()));
        self
    }

    /// Appends a header with a literal name; panics if the literal is not a valid name.
    pub fn with(self, name: &'static str, value: impl Into<Value>) -> Action {
        self.header(Name::from_static(name), value)
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The first value set for `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Writes the action with `action_id` as its `ActionID`, ended by the blank line.
    pub(crate) fn encode(&self, action_id: &str, dst: &mut BytesMut) {
        put_header(dst, "Action", self.name.as_str());
        put_header(dst, "ActionID", action_id);
        for (name, value) in &self.headers {
            if !name.as_str().eq_ignore_ascii_case("ActionID") {
                put_header(dst, name.as_str(), value.as_str());
            }
        }
        dst.put_slice(b"\r\n");
    }
}

/// Writes one `Name: value` line.
fn put_header(dst: &mut BytesMut, name: &str, value: &str) {
    dst.reserve(name.len() + value.len() + 4);
    dst.put_slice(name.as_bytes());
    dst.put_slice(b": ");
    dst.put_slice(value.as_bytes());
    dst.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_in_order_with_the_clients_action_id() {
        let action = Action::named("Originate")
            .with("Channel", Value::new("Local/10@agents").unwrap())
            .with("Variable", Value::new("A=1").unwrap())
            .with("ActionID", Value::new("mine").unwrap())
            .with("Variable", Value::new("B=2").unwrap())
            .with("Timeout", 30_000u32);
        assert_eq!(action.name(), "Originate");
        assert_eq!(action.get("channel"), Some("Local/10@agents"));
        let mut out = BytesMut::new();
        action.encode("c-1", &mut out);
        assert_eq!(
            &out[..],
            b"Action: Originate\r\nActionID: c-1\r\nChannel: Local/10@agents\r\n\
              Variable: A=1\r\nVariable: B=2\r\nTimeout: 30000\r\n\r\n"
        );
    }
}

//! The Originate action with every field, built from checked values.
//!
//! Asterisk splits each `Variable:` header at commas (honouring `\,`) and strips quotes and
//! backslashes, so variables are checked and escaped here: one variable per header, its
//! commas escaped, names limited to what a variable or function name can be.

use std::time::Duration;

use crate::action::Action;
use crate::value::{InvalidHeader, Value};

/// Where the originated channel goes once answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A dialplan location.
    Extension {
        context: Value,
        exten: Value,
        priority: Value,
    },
    /// An application run on the channel.
    Application { application: Value, data: Value },
}

/// An Originate: call `channel` (e.g. the agent's phone) and, once answered, connect it to
/// a dialplan extension or an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Originate {
    channel: Value,
    target: Target,
    timeout: Option<Duration>,
    caller_id: Option<Value>,
    variables: Vec<Value>,
    account: Option<Value>,
    codecs: Option<Value>,
    early_media: Option<bool>,
    channel_id: Option<Value>,
    other_channel_id: Option<Value>,
    asynchronous: bool,
}

impl Originate {
    /// Calls `channel`, then continues at `exten`, priority `priority`, in `context`.
    pub fn extension(channel: Value, context: Value, exten: Value, priority: u32) -> Originate {
        Originate::with_target(
            channel,
            Target::Extension {
                context,
                exten,
                priority: priority.into(),
            },
        )
    }

    /// Calls `channel`, then runs `application` with `data` on it.
    pub fn application(channel: Value, application: Value, data: Value) -> Originate {
        Originate::with_target(channel, Target::Application { application, data })
    }

    /// The defaults: no options and `Async: true`.
    fn with_target(channel: Value, target: Target) -> Originate {
        Originate {
            channel,
            target,
            timeout: None,
            caller_id: None,
            variables: Vec::new(),
            account: None,
            codecs: None,
            early_media: None,
            channel_id: None,
            other_channel_id: None,
            asynchronous: true,
        }
    }

    /// How long `channel` may ring before the attempt is given up (Asterisk's default:
    /// 30 s); sent in milliseconds.
    pub fn timeout(mut self, timeout: Duration) -> Originate {
        self.timeout = Some(timeout);
        self
    }

    /// The caller ID shown, e.g. `"Click to dial" <932009000>`.
    pub fn caller_id(mut self, caller_id: Value) -> Originate {
        self.caller_id = Some(caller_id);
        self
    }

    /// Sets a channel variable (or function, e.g. `CDR(userfield)`); the value's commas
    /// are escaped, and names or values Asterisk would mangle are refused.
    pub fn variable(mut self, name: &str, value: &str) -> Result<Originate, InvalidHeader> {
        let refuse = |reason| InvalidHeader::Variable {
            name: name.chars().take(64).collect(),
            reason,
        };
        let name_ok = !name.is_empty()
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'(' | b')' | b'-' | b'.')
            });
        if !name_ok {
            return Err(refuse(
                "a name is ASCII letters, digits, '_', '-', '.' and parentheses",
            ));
        }
        if value.contains(['"', '\\']) {
            return Err(refuse(
                "Asterisk strips quotes and backslashes from Originate variables",
            ));
        }
        let escaped = format!("{name}={}", value.replace(',', "\\,"));
        self.variables.push(Value::new(escaped)?);
        Ok(self)
    }

    /// The account code (CDR `accountcode`).
    pub fn account(mut self, account: Value) -> Originate {
        self.account = Some(account);
        self
    }

    /// The codecs offered, in order of preference, e.g. `ulaw`, `alaw`.
    pub fn codecs<'a>(mut self, codecs: impl IntoIterator<Item = &'a Value>) -> Originate {
        let list: Vec<&str> = codecs.into_iter().map(Value::as_str).collect();
        self.codecs = Some(Value::new(list.join(",")).expect("joined values stay valid"));
        self
    }

    /// Whether early media (before answer) counts as answered and connects the call.
    pub fn early_media(mut self, early_media: bool) -> Originate {
        self.early_media = Some(early_media);
        self
    }

    /// The originated channel's `Uniqueid`; [`crate::Client::originate`] sets a unique one
    /// when none is given, to follow the call's events.
    pub fn channel_id(mut self, id: Value) -> Originate {
        self.channel_id = Some(id);
        self
    }

    /// The `Uniqueid` of the other half of a Local channel.
    pub fn other_channel_id(mut self, id: Value) -> Originate {
        self.other_channel_id = Some(id);
        self
    }

    /// `Async: true` (the default) answers at once and reports the outcome in an
    /// `OriginateResponse` event; `false` makes the response wait for the outcome.
    pub fn asynchronous(mut self, asynchronous: bool) -> Originate {
        self.asynchronous = asynchronous;
        self
    }

    /// The `ChannelId` set, if any.
    pub fn get_channel_id(&self) -> Option<&str> {
        self.channel_id.as_ref().map(Value::as_str)
    }

    /// The ring timeout set, if any.
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Whether `Async: true` is sent.
    pub fn is_asynchronous(&self) -> bool {
        self.asynchronous
    }
}

impl From<Originate> for Action {
    fn from(o: Originate) -> Action {
        let mut action = Action::named("Originate").with("Channel", o.channel);
        action = match o.target {
            Target::Extension {
                context,
                exten,
                priority,
            } => action
                .with("Context", context)
                .with("Exten", exten)
                .with("Priority", priority),
            Target::Application { application, data } => {
                action.with("Application", application).with("Data", data)
            }
        };
        if let Some(timeout) = o.timeout {
            action = action.with("Timeout", timeout.as_millis() as u64);
        }
        let optional = [
            ("CallerID", o.caller_id),
            ("Account", o.account),
            ("Codecs", o.codecs),
            ("EarlyMedia", o.early_media.map(Value::from)),
            ("ChannelId", o.channel_id),
            ("OtherChannelId", o.other_channel_id),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                action = action.with(name, value);
            }
        }
        for variable in o.variables {
            action = action.with("Variable", variable);
        }
        action.with("Async", o.asynchronous)
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;

    fn v(text: &str) -> Value {
        Value::new(text).unwrap()
    }

    #[test]
    fn every_field_is_sent_in_a_fixed_order() {
        let o = Originate::extension(
            v("Local/10@agents"),
            v("extensiones-locales"),
            v("93200900"),
            1,
        )
        .timeout(Duration::from_secs(25))
        .caller_id(v("\"Click, dial\" <10>"))
        .variable("CALL", "a,b")
        .unwrap()
        .variable("CDR(userfield)", "x")
        .unwrap()
        .account(v("sales"))
        .codecs(&[v("ulaw"), v("alaw")])
        .early_media(false)
        .channel_id(v("c-1"))
        .other_channel_id(v("c-1b"));
        assert_eq!(o.get_channel_id(), Some("c-1"));
        assert_eq!(o.get_timeout(), Some(Duration::from_secs(25)));
        assert!(o.is_asynchronous());
        let mut out = BytesMut::new();
        Action::from(o).encode("id", &mut out);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "Action: Originate\r\nActionID: id\r\nChannel: Local/10@agents\r\n\
             Context: extensiones-locales\r\nExten: 93200900\r\nPriority: 1\r\nTimeout: 25000\r\n\
             CallerID: \"Click, dial\" <10>\r\nAccount: sales\r\nCodecs: ulaw,alaw\r\n\
             EarlyMedia: false\r\nChannelId: c-1\r\nOtherChannelId: c-1b\r\n\
             Variable: CALL=a\\,b\r\nVariable: CDR(userfield)=x\r\nAsync: true\r\n\r\n"
        );
    }

    #[test]
    fn applications_and_synchronous_originates() {
        let action = Action::from(
            Originate::application(v("Local/10@agents"), v("Wait"), v("5")).asynchronous(false),
        );
        assert_eq!(action.get("Application"), Some("Wait"));
        assert_eq!(action.get("Data"), Some("5"));
        assert_eq!(action.get("Async"), Some("false"));
        assert_eq!(action.get("Exten"), None);
    }

    #[test]
    fn variables_asterisk_would_mangle_are_refused() {
        let o = || Originate::application(v("Local/10@agents"), v("Wait"), v("1"));
        for (name, value) in [
            ("A=B", "1"),
            ("", "1"),
            ("A B", "1"),
            ("A", "say \"hi\""),
            ("A", "back\\slash"),
            ("A", "line\r\nAction: Command"),
        ] {
            assert!(
                o().variable(name, value).is_err(),
                "{name:?}={value:?} is refused"
            );
        }
        let err = o().variable("A", "\"q\"").unwrap_err();
        assert!(err.to_string().contains("strips quotes"), "{err}");
    }
}

//! The destination policy: which numbers agents may call, and why a number is refused.

use serde::{Deserialize, Serialize};

use crate::number::{Country, Number, NumberKind};
use crate::pattern::Pattern;
use crate::rules::Dial;

/// The longest dial string the default policy lets through.
pub const DEFAULT_MAX_LEN: usize = 24;

/// What a site allows agents to call; read from the gateway's config or the app's settings.
///
/// Patterns (see [`Pattern`]) are matched against the E.164 form of external numbers
/// (`+19005550123`) and against the code itself for internal extensions. Deny beats allow.
///
/// ```toml
/// deny = ["+1900!", "+4487!"]
/// allow_kinds = ["fixed_line", "mobile", "fixed_line_or_mobile", "toll_free"]
/// international = false
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// When not empty, external numbers must match one of these; internal extensions need not.
    pub allow: Vec<Pattern>,
    /// Numbers matching any of these are refused, internal extensions included.
    pub deny: Vec<Pattern>,
    /// The kinds of external numbers agents may call. By default every kind but premium-rate,
    /// personal, pager and unknown-range numbers.
    pub allow_kinds: Vec<NumberKind>,
    /// Whether numbers with another country calling code than the home country's may be
    /// called (a Canadian number is not international from the US: both are +1).
    pub international: bool,
    /// The longest dial string allowed, in characters.
    pub max_len: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allow: Vec::new(),
            deny: Vec::new(),
            allow_kinds: vec![
                NumberKind::FixedLine,
                NumberKind::Mobile,
                NumberKind::FixedLineOrMobile,
                NumberKind::TollFree,
                NumberKind::SharedCost,
                NumberKind::Voip,
                NumberKind::Uan,
                NumberKind::Voicemail,
            ],
            international: true,
            max_len: DEFAULT_MAX_LEN,
        }
    }
}

/// Why the policy refuses a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The number matches a deny pattern.
    #[error("{number} matches the denied pattern {pattern:?}")]
    Denied {
        /// The number, written for people.
        number: String,
        /// The pattern it matched.
        pattern: String,
    },
    /// An allow list is set and the number matches none of it.
    #[error("{number} matches none of the allowed patterns ({allowed})")]
    NotAllowed {
        /// The number, written for people.
        number: String,
        /// The allowed patterns, comma-separated.
        allowed: String,
    },
    /// The number's kind is not among the allowed kinds.
    #[error("{number} is a {kind} number; {kind} numbers are blocked by policy")]
    Kind {
        /// The number, written for people.
        number: String,
        /// Its kind.
        kind: NumberKind,
    },
    /// The number lies in no known range of its numbering plan, and unknown-range numbers
    /// are not among the allowed kinds.
    #[error(
        "{number} is not in any known range of its country's numbering plan; such numbers are blocked by policy"
    )]
    UnknownRange {
        /// The number, written for people.
        number: String,
    },
    /// The number is in another country and international calls are blocked.
    #[error("{number} is outside {home}; international calls are blocked by policy")]
    International {
        /// The number, written for people.
        number: String,
        /// The home country.
        home: Country,
    },
    /// The dial string is longer than the policy allows.
    #[error("the dial string {dial} has {len} characters; the policy allows at most {max}")]
    TooLong {
        /// The dial string.
        dial: String,
        /// Its length.
        len: usize,
        /// The policy's maximum.
        max: usize,
    },
}

impl Policy {
    /// Checks `number`, rendered as `dial` by the rules of `home`, against the policy.
    pub fn check(&self, number: &Number, dial: &Dial, home: Country) -> Result<(), Refusal> {
        let matched = match number {
            Number::Phone(phone) => phone.e164(),
            Number::Short(code) => code.as_str().to_owned(),
        };
        // Formatted only for a refusal: formatting costs more than every check here together.
        let shown = || match number {
            Number::Phone(phone) => phone.international(),
            Number::Short(code) => code.as_str().to_owned(),
        };
        if let Some(pattern) = self.deny.iter().find(|p| p.matches(&matched)) {
            return Err(Refusal::Denied {
                number: shown(),
                pattern: pattern.to_string(),
            });
        }
        if let Number::Phone(phone) = number {
            if !self.allow.is_empty() && !self.allow.iter().any(|p| p.matches(&matched)) {
                let allowed: Vec<&str> = self.allow.iter().map(Pattern::as_str).collect();
                return Err(Refusal::NotAllowed {
                    number: shown(),
                    allowed: allowed.join(", "),
                });
            }
            if !self.international && phone.country_code() != home.calling_code() {
                return Err(Refusal::International {
                    number: shown(),
                    home,
                });
            }
            let kind = phone.kind();
            if kind == NumberKind::Unknown && !self.allow_kinds.contains(&kind) {
                return Err(Refusal::UnknownRange { number: shown() });
            }
            if !self.allow_kinds.contains(&kind) {
                return Err(Refusal::Kind {
                    number: shown(),
                    kind,
                });
            }
        }
        let len = dial.destination.as_str().len();
        if len > self.max_len {
            return Err(Refusal::TooLong {
                dial: dial.destination.to_string(),
                len,
                max: self.max_len,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::{Phone, ShortCode};
    use crate::rules::{DialPrefix, DialRules};

    fn rules() -> DialRules {
        DialRules {
            outside_prefix: DialPrefix::new("0").unwrap(),
            ..DialRules::new(Country::new("ES").unwrap())
        }
    }

    fn check(policy: &Policy, text: &str) -> Result<(), Refusal> {
        let rules = rules();
        let number = match ShortCode::new(text) {
            Some(code) if text.len() <= 4 => Number::Short(code),
            _ => Number::Phone(Phone::parse(text, rules.country).unwrap()),
        };
        let dial = rules.render(&number).unwrap();
        policy.check(&number, &dial, rules.country)
    }

    #[test]
    fn premium_numbers_are_blocked_by_default_and_say_so() {
        let policy = Policy::default();
        assert_eq!(
            check(&policy, "+1 900 555 0123").unwrap_err().to_string(),
            "+1 900-555-0123 is a premium-rate number; premium-rate numbers are blocked by policy"
        );
        assert!(check(&policy, "+34 803 123 456").is_err());
        assert_eq!(check(&policy, "+34 93 200 90 00"), Ok(()));
        assert_eq!(check(&policy, "12"), Ok(()));
    }

    #[test]
    fn allowing_a_kind_lets_it_through() {
        let mut policy = Policy::default();
        policy.allow_kinds.push(NumberKind::PremiumRate);
        assert_eq!(check(&policy, "+1 900 555 0123"), Ok(()));
    }

    #[test]
    fn deny_beats_allow_and_applies_to_extensions() {
        let policy = Policy {
            allow: vec![Pattern::new("+34!").unwrap()],
            deny: vec![
                Pattern::new("+3493200900X").unwrap(),
                Pattern::new("99").unwrap(),
            ],
            ..Policy::default()
        };
        assert!(matches!(
            check(&policy, "+34 93 200 90 00"),
            Err(Refusal::Denied { .. })
        ));
        assert!(matches!(check(&policy, "99"), Err(Refusal::Denied { .. })));
        assert_eq!(check(&policy, "12"), Ok(()));
        assert_eq!(
            check(&policy, "+44 20 7946 0018").unwrap_err().to_string(),
            "+44 20 7946 0018 matches none of the allowed patterns (+34!)"
        );
        assert_eq!(check(&policy, "+34 612 34 56 78"), Ok(()));
    }

    #[test]
    fn international_calls_can_be_blocked() {
        let policy = Policy {
            international: false,
            ..Policy::default()
        };
        assert_eq!(
            check(&policy, "+44 20 7946 0018").unwrap_err().to_string(),
            "+44 20 7946 0018 is outside ES; international calls are blocked by policy"
        );
        assert_eq!(check(&policy, "+34 93 200 90 00"), Ok(()));
    }

    #[test]
    fn long_dial_strings_are_refused() {
        let policy = Policy {
            max_len: 10,
            ..Policy::default()
        };
        assert_eq!(check(&policy, "+34 93 200 90 00"), Ok(()));
        assert!(matches!(
            check(&policy, "+44 20 7946 0018"),
            Err(Refusal::TooLong {
                len: 15,
                max: 10,
                ..
            })
        ));
    }
}

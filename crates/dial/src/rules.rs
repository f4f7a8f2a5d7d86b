//! Dial rules: how a [`Number`] becomes the exact digits this site's Asterisk dials.
//!
//! The default rendering, for home country ES with outside-line prefix `0`:
//! a number of the home country in national format with its trunk prefix where the country
//! writes one (`+34 93 200 90 00` → `0` `932009000`), a foreign number behind the home
//! country's international call prefix (`+44 20 7946 0018` → `0` `00` `44` `2079460018`),
//! internal extensions as they are (`12` → `12`). Rewrite rules, tried longest prefix first,
//! replace the default for the numbers they match.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::destination::{Destination, DestinationError};
use crate::number::{Country, Number, Phone, ShortCode, digits_only};
use crate::pattern::Pattern;

/// The longest [`DialPrefix`], in characters.
const MAX_PREFIX_LEN: usize = 20;

/// The internal extension length used when the rules do not say: up to 4 digits.
pub const DEFAULT_INTERNAL_MAX_LEN: usize = 4;

/// A site's dial rules, as read from the gateway's `[dial]` table or the app's settings.
///
/// In TOML:
///
/// ```toml
/// country = "ES"
/// outside_prefix = "0"
/// internal_max_len = 4
/// internal_patterns = ["_6XXX", "*9X"]
/// rewrite = [{ prefix = "+3493", replace = "93" }]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialRules {
    /// The home country: numbers written without a country code are read as its numbers, and
    /// its numbers are dialed in national format.
    pub country: Country,
    /// Digits that seize an outside line (often `0` or `9`), put in front of every external
    /// number; empty when the PBX needs none.
    #[serde(default)]
    pub outside_prefix: DialPrefix,
    /// The international call prefix (`00`, `011`, `0011`); when absent, the home country's
    /// own from libphonenumber's metadata.
    #[serde(default)]
    pub international_prefix: Option<DialPrefix>,
    /// The national trunk prefix put in front of the national significant number of home
    /// numbers; when absent, the home country's national format decides (`0` for GB and DE,
    /// none for ES, `1` for the US).
    #[serde(default)]
    pub trunk_prefix: Option<DialPrefix>,
    /// Codes of up to this many digits are internal extensions, dialed as they are; 0 for none.
    #[serde(default = "default_internal_max_len")]
    pub internal_max_len: usize,
    /// Codes matching one of these patterns are internal extensions too (e.g. `_6XXX`, `*9X`).
    #[serde(default)]
    pub internal_patterns: Vec<Pattern>,
    /// Rewrites of external numbers by E.164 prefix, applied before the default rendering;
    /// the longest matching prefix wins, and among equal lengths the first written.
    #[serde(default)]
    pub rewrite: Vec<RewriteRule>,
    /// Dial external numbers as `+` and E.164 digits (for trunks that route E.164 themselves);
    /// the outside-line, international and trunk prefixes then do not apply, rewrites still do.
    #[serde(default)]
    pub e164: bool,
}

/// The serde default of [`DialRules::internal_max_len`].
fn default_internal_max_len() -> usize {
    DEFAULT_INTERNAL_MAX_LEN
}

/// One rewrite: external numbers whose E.164 form starts with `prefix` are dialed as
/// `replace` followed by the rest of their digits (plus the outside-line prefix).
///
/// `{ prefix = "+5511", replace = "" }` dials São Paulo numbers by their local eight or nine
/// digits; `{ prefix = "+55", replace = "021" }` dials other Brazilian numbers through
/// carrier 21.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewriteRule {
    /// The E.164 prefix this rule applies to: `+` and 1 to 15 digits.
    pub prefix: NumberPrefix,
    /// What replaces the prefix; may be empty.
    pub replace: DialPrefix,
}

/// Digits (and `*`, `#`) put in front of a number, at most 20 of them; may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DialPrefix {
    digits: String,
}

/// The start of an E.164 number: `+` and 1 to 15 digits, e.g. `+44` or `+1900`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NumberPrefix {
    e164: String,
}

/// Why a string is not a valid prefix in the dial rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// A dial prefix with something other than digits, `*` and `#`, or too long.
    #[error("dial prefix {0:?} must be at most 20 digits, '*' or '#'")]
    Dial(String),
    /// A number prefix that is not `+` and 1 to 15 digits.
    #[error("number prefix {0:?} must be '+' and 1 to 15 digits, like \"+44\" or \"+1900\"")]
    Number(String),
}

/// Why a number cannot be dialed under the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A short code that is neither a phone number of the home country nor an internal
    /// extension under the rules.
    #[error(
        "{code:?} is not a phone number of {country} and not an internal extension (internal: {internal})"
    )]
    NotDialable {
        /// The code that was found.
        code: String,
        /// The home country.
        country: Country,
        /// What the rules take as internal, in words.
        internal: String,
    },
    /// The home country has several international call prefixes (a carrier choice), so the
    /// rules must name one.
    #[error(
        "{country} has no single international call prefix; set international_prefix in the dial rules"
    )]
    NoInternationalPrefix {
        /// The home country.
        country: Country,
    },
    /// The rendered dial string is not a valid destination (e.g. too long).
    #[error("the dial string for {number} is unusable: {source}")]
    Destination {
        /// The number being rendered.
        number: String,
        /// What is wrong with the dial string.
        source: DestinationError,
    },
}

/// A number rendered for Asterisk: what to dial and what to send once the call is answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dial {
    /// The dial string for the `Exten` of the call.
    pub destination: Destination,
    /// The extension behind the number, to send as DTMF once the far end answers.
    pub extension: Option<Destination>,
    /// Whether the destination is an internal extension (dialed as it is, no outside line).
    pub internal: bool,
}

impl DialRules {
    /// Rules for `country` with no outside-line prefix and otherwise the defaults.
    pub fn new(country: Country) -> DialRules {
        DialRules {
            country,
            outside_prefix: DialPrefix::default(),
            international_prefix: None,
            trunk_prefix: None,
            internal_max_len: DEFAULT_INTERNAL_MAX_LEN,
            internal_patterns: Vec::new(),
            rewrite: Vec::new(),
            e164: false,
        }
    }

    /// Renders `number` into the dial string for this site.
    pub fn render(&self, number: &Number) -> Result<Dial, RenderError> {
        match number {
            Number::Short(code) => self.render_short(code),
            Number::Phone(phone) => self.render_phone(phone),
        }
    }

    /// Whether `code` is an internal extension under these rules.
    pub fn is_internal(&self, code: &str) -> bool {
        let by_length =
            code.len() <= self.internal_max_len && code.bytes().all(|b| b.is_ascii_digit());
        by_length || self.internal_patterns.iter().any(|p| p.matches(code))
    }

    /// Dials an internal extension as it is, or refuses a short code that is none.
    fn render_short(&self, code: &ShortCode) -> Result<Dial, RenderError> {
        if !self.is_internal(code.as_str()) {
            return Err(RenderError::NotDialable {
                code: code.as_str().to_owned(),
                country: self.country,
                internal: self.describe_internal(),
            });
        }
        Ok(Dial {
            destination: checked(code.as_str(), code.as_str())?,
            extension: None,
            internal: true,
        })
    }

    /// Renders an external number: a rewrite rule, E.164, national or international form.
    fn render_phone(&self, phone: &Phone) -> Result<Dial, RenderError> {
        let e164 = phone.e164();
        let body = if let Some(rule) = self.rewrite_for(&e164) {
            format!("{}{}", rule.replace, &e164[rule.prefix.as_str().len()..])
        } else if self.e164 {
            e164.clone()
        } else if phone.country_code() == self.country.calling_code() {
            match &self.trunk_prefix {
                Some(trunk) => format!("{trunk}{}", phone.national_number()),
                None => digits_only(&phone.formatted_from(self.country)),
            }
        } else {
            let prefix = match &self.international_prefix {
                Some(prefix) => prefix.as_str().to_owned(),
                None => self.metadata_international_prefix(phone)?,
            };
            format!(
                "{prefix}{}{}",
                phone.country_code(),
                phone.national_number()
            )
        };
        let full = if self.e164 && body.starts_with('+') {
            body
        } else {
            format!("{}{body}", self.outside_prefix)
        };
        let extension = phone
            .extension()
            .map(|ext| checked(ext, &e164))
            .transpose()?;
        Ok(Dial {
            destination: checked(&full, &e164)?,
            extension,
            internal: false,
        })
    }

    /// The rewrite rule with the longest prefix matching `e164`, the first written among equals.
    fn rewrite_for(&self, e164: &str) -> Option<&RewriteRule> {
        self.rewrite
            .iter()
            .filter(|rule| e164.starts_with(rule.prefix.as_str()))
            .rev()
            .max_by_key(|rule| rule.prefix.as_str().len())
    }

    /// The home country's international call prefix from libphonenumber's metadata, read off
    /// the way it formats `phone` for dialing from home.
    fn metadata_international_prefix(&self, phone: &Phone) -> Result<String, RenderError> {
        let formatted = phone.formatted_from(self.country);
        let prefix = formatted.split(' ').next().unwrap_or_default();
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RenderError::NoInternationalPrefix {
                country: self.country,
            });
        }
        Ok(prefix.to_owned())
    }

    /// What counts as internal, in words for error messages.
    fn describe_internal(&self) -> String {
        let mut parts = Vec::new();
        if self.internal_max_len > 0 {
            parts.push(format!("up to {} digits", self.internal_max_len));
        }
        parts.extend(self.internal_patterns.iter().map(|p| p.to_string()));
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// Wraps a rendered string as a [`Destination`], naming `number` if it is refused.
fn checked(digits: &str, number: &str) -> Result<Destination, RenderError> {
    Destination::new(digits).map_err(|source| RenderError::Destination {
        number: number.to_owned(),
        source,
    })
}

impl DialPrefix {
    /// Checks a prefix: at most 20 of ASCII digits, `*` and `#`; empty is allowed.
    pub fn new(digits: &str) -> Result<DialPrefix, PrefixError> {
        let ok = digits.len() <= MAX_PREFIX_LEN
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
        if !ok {
            return Err(PrefixError::Dial(digits.chars().take(32).collect()));
        }
        Ok(DialPrefix {
            digits: digits.to_owned(),
        })
    }

    /// The prefix, e.g. `"0"`; empty for none.
    pub fn as_str(&self) -> &str {
        &self.digits
    }
}

impl fmt::Display for DialPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

impl TryFrom<String> for DialPrefix {
    type Error = PrefixError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        DialPrefix::new(&value)
    }
}

impl From<DialPrefix> for String {
    fn from(value: DialPrefix) -> Self {
        value.digits
    }
}

impl NumberPrefix {
    /// Checks a prefix: `+` followed by 1 to 15 ASCII digits.
    pub fn new(e164: &str) -> Result<NumberPrefix, PrefixError> {
        let ok = e164.strip_prefix('+').is_some_and(|digits| {
            (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        });
        if !ok {
            return Err(PrefixError::Number(e164.chars().take(32).collect()));
        }
        Ok(NumberPrefix {
            e164: e164.to_owned(),
        })
    }

    /// The prefix, e.g. `"+44"`.
    pub fn as_str(&self) -> &str {
        &self.e164
    }
}

impl fmt::Display for NumberPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl TryFrom<String> for NumberPrefix {
    type Error = PrefixError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        NumberPrefix::new(&value)
    }
}

impl From<NumberPrefix> for String {
    fn from(value: NumberPrefix) -> Self {
        value.e164
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es_rules() -> DialRules {
        DialRules {
            outside_prefix: DialPrefix::new("0").unwrap(),
            ..DialRules::new(Country::new("ES").unwrap())
        }
    }

    fn phone(text: &str, rules: &DialRules) -> Number {
        Number::Phone(Phone::parse(text, rules.country).unwrap())
    }

    fn dial(rules: &DialRules, number: &Number) -> String {
        rules.render(number).unwrap().destination.to_string()
    }

    #[test]
    fn the_issue_examples() {
        let rules = es_rules();
        assert_eq!(
            dial(&rules, &phone("+34 93 200 90 00", &rules)),
            "0932009000"
        );
        assert_eq!(
            dial(&rules, &phone("+44 20 7946 0018", &rules)),
            "000442079460018"
        );
        let short = Number::Short(ShortCode::new("12").unwrap());
        let rendered = rules.render(&short).unwrap();
        assert_eq!(rendered.destination.as_str(), "12");
        assert!(rendered.internal);
    }

    #[test]
    fn overrides_of_international_and_trunk_prefix() {
        let rules = DialRules {
            international_prefix: Some(DialPrefix::new("011").unwrap()),
            trunk_prefix: Some(DialPrefix::new("").unwrap()),
            ..es_rules()
        };
        assert_eq!(
            dial(&rules, &phone("+44 20 7946 0018", &rules)),
            "0011442079460018"
        );
        assert_eq!(dial(&rules, &phone("932009000", &rules)), "0932009000");
    }

    #[test]
    fn longest_rewrite_prefix_wins_then_first_written() {
        let rule = |prefix: &str, replace: &str| RewriteRule {
            prefix: NumberPrefix::new(prefix).unwrap(),
            replace: DialPrefix::new(replace).unwrap(),
        };
        let rules = DialRules {
            rewrite: vec![
                rule("+44", "1"),
                rule("+4420", "2"),
                rule("+4420", "3"),
                rule("+34", ""),
            ],
            ..es_rules()
        };
        assert_eq!(
            dial(&rules, &phone("+44 20 7946 0018", &rules)),
            "0279460018"
        );
        assert_eq!(
            dial(&rules, &phone("+44 161 496 0000", &rules)),
            "011614960000"
        );
        assert_eq!(
            dial(&rules, &phone("+34 93 200 90 00", &rules)),
            "0932009000"
        );
    }

    #[test]
    fn e164_mode_dials_plus_and_digits() {
        let rules = DialRules {
            e164: true,
            ..es_rules()
        };
        assert_eq!(
            dial(&rules, &phone("+44 20 7946 0018", &rules)),
            "+442079460018"
        );
    }

    #[test]
    fn extensions_go_to_dtmf_not_into_the_dial_string() {
        let rules = es_rules();
        let rendered = rules
            .render(&phone("+34 93 200 90 00 ext. 12", &rules))
            .unwrap();
        assert_eq!(rendered.destination.as_str(), "0932009000");
        assert_eq!(rendered.extension.unwrap().as_str(), "12");
    }

    #[test]
    fn short_codes_that_are_not_internal_are_refused_with_the_rule() {
        let rules = DialRules {
            internal_max_len: 3,
            internal_patterns: vec![Pattern::new("_6XXX").unwrap()],
            ..es_rules()
        };
        assert!(rules.is_internal("123") && rules.is_internal("6001"));
        let err = rules
            .render(&Number::Short(ShortCode::new("7001").unwrap()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"7001\" is not a phone number of ES and not an internal extension (internal: up to 3 digits, _6XXX)"
        );
    }

    #[test]
    fn a_country_without_a_single_international_prefix_needs_one_in_the_rules() {
        let rules = DialRules::new(Country::new("BR").unwrap());
        let err = rules
            .render(&phone("+34 93 200 90 00", &rules))
            .unwrap_err();
        assert!(
            matches!(err, RenderError::NoInternationalPrefix { .. }),
            "{err}"
        );
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(DialPrefix::new("0").is_ok() && DialPrefix::new("").is_ok());
        assert!(DialPrefix::new("0 ").is_err() && DialPrefix::new("+").is_err());
        assert!(NumberPrefix::new("+1900").is_ok());
        assert!(NumberPrefix::new("44").is_err() && NumberPrefix::new("+").is_err());
    }
}

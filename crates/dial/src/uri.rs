//! Phone links: `tel:` (RFC 3966), `callto:` in its wild forms, and `sip:`/`sips:` whose user
//! part is a number.
//!
//! Parsing is strict about what is dialed and lenient about how it is written: visual
//! separators (`-`, `.`, `(`, `)`) and percent-encoded spaces are dropped, a local number
//! without `phone-context` is read as a number of the home country (CRMs write `tel:0932…`),
//! unknown parameters are ignored as RFC 3966 asks, and so is `isub` (an ISDN subaddress cannot
//! be dialed through an `Exten`). Anything that is not a number is an error naming the part.

use crate::number::{Country, MAX_SHORT_LEN, Number, Phone, ShortCode};

/// The longest link accepted, in bytes.
pub const MAX_URI_LEN: usize = 2048;

/// The most digits an international number has (E.164).
const MAX_E164_DIGITS: usize = 15;

/// Why a link does not name a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The link is longer than [`MAX_URI_LEN`] bytes.
    #[error("the link is {len} bytes long; at most {MAX_URI_LEN} are accepted")]
    TooLong {
        /// The length of the link, in bytes.
        len: usize,
    },
    /// The text does not start with a scheme such as `tel:`.
    #[error("{0:?} is not a link: it has no scheme such as tel:")]
    NoScheme(String),
    /// A scheme other than `tel`, `callto`, `sip` and `sips`.
    #[error("{0}: links cannot be dialed; use tel:, callto:, sip: or sips:")]
    UnsupportedScheme(String),
    /// Nothing after the scheme.
    #[error("`{0}:` link has no number after the scheme")]
    Empty(String),
    /// A `%` not followed by two hex digits, or bytes that do not decode to UTF-8.
    #[error("`{0}:` link has a malformed %-escape")]
    BadEscape(String),
    /// The part that should be the number holds something else.
    #[error("`{scheme}:` link names {found:?}, which is not a phone number")]
    NotANumber {
        /// The scheme of the link.
        scheme: String,
        /// What was there instead (cut to 64 characters).
        found: String,
    },
    /// A `sip:`/`sips:` link without a user part (`sip:pbx.example.com`).
    #[error("`{0}:` link has no user part before '@', so no number to call")]
    NoUser(String),
    /// An international number with too many or too few digits, or one libphonenumber rejects.
    #[error("`{scheme}:` link has {number:?}, which is not a possible phone number")]
    BadNumber {
        /// The scheme of the link.
        scheme: String,
        /// The number as it was read.
        number: String,
    },
    /// An `ext=` parameter that is not all digits.
    #[error("`{scheme}:` link has extension {ext:?}; an extension must be digits")]
    BadExtension {
        /// The scheme of the link.
        scheme: String,
        /// The extension as written.
        ext: String,
    },
    /// A `phone-context` that is neither a global number prefix nor a domain name.
    #[error("`{scheme}:` link has phone-context {context:?}, neither +digits nor a domain name")]
    BadContext {
        /// The scheme of the link.
        scheme: String,
        /// The context as written.
        context: String,
    },
    /// An extension given on a short code, which has no outside call to send it into.
    #[error("`{0}:` link gives an extension on a short code")]
    ExtensionOnShortCode(String),
    /// A `callto:` link that wraps another link, which wraps another.
    #[error("callto: link nests links more than once")]
    Nested,
}

/// Whether `input` starts like a link this module reads: `tel:`, `callto:`, `sip:`, `sips:`.
pub fn is_phone_link(input: &str) -> bool {
    scheme_of(input.trim())
        .is_some_and(|(scheme, _)| matches!(scheme.as_str(), "tel" | "callto" | "sip" | "sips"))
}

/// Reads the number a `tel:`, `callto:`, `sip:` or `sips:` link names; local numbers are
/// numbers of `home`.
pub fn parse_uri(uri: &str, home: Country) -> Result<Number, UriError> {
    if uri.len() > MAX_URI_LEN {
        return Err(UriError::TooLong { len: uri.len() });
    }
    parse_nested(uri.trim(), home, true)
}

/// Parses a link; `callto:` may wrap one more link when `may_nest` is set.
fn parse_nested(uri: &str, home: Country, may_nest: bool) -> Result<Number, UriError> {
    let (scheme, rest) =
        scheme_of(uri).ok_or_else(|| UriError::NoScheme(uri.chars().take(64).collect()))?;
    match scheme.as_str() {
        "tel" => subscriber(strip_slashes(rest), home, &scheme),
        "sip" | "sips" => sip_user(rest, home, &scheme),
        "callto" => {
            let target = strip_slashes(rest);
            let target = target.split('?').next().unwrap_or_default();
            let target = target.strip_suffix('/').unwrap_or(target);
            if scheme_of(target).is_some() {
                if !may_nest {
                    return Err(UriError::Nested);
                }
                return parse_nested(target, home, false);
            }
            subscriber(target, home, &scheme)
        }
        _ => Err(UriError::UnsupportedScheme(scheme)),
    }
}

/// Splits `scheme:rest`, the scheme lowercased; none if the text does not start with one.
pub(crate) fn scheme_of(uri: &str) -> Option<(String, &str)> {
    let (scheme, rest) = uri.split_once(':')?;
    let well_formed = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    well_formed.then(|| (scheme.to_ascii_lowercase(), rest))
}

/// Drops the `//` some links put after the scheme (`callto://…`, `tel://…`).
fn strip_slashes(rest: &str) -> &str {
    rest.strip_prefix("//").unwrap_or(rest)
}

/// Reads the user part of `sip:user[:password]@host…` as a telephone subscriber.
fn sip_user(rest: &str, home: Country, scheme: &str) -> Result<Number, UriError> {
    let Some((userinfo, _host)) = rest.split_once('@') else {
        return Err(UriError::NoUser(scheme.to_owned()));
    };
    let user = userinfo.split(':').next().unwrap_or_default();
    if user.is_empty() {
        return Err(UriError::NoUser(scheme.to_owned()));
    }
    subscriber(user, home, scheme)
}

/// Reads an RFC 3966 telephone-subscriber: a number, then `;name=value` parameters.
fn subscriber(text: &str, home: Country, scheme: &str) -> Result<Number, UriError> {
    let decoded = percent_decode(text).ok_or_else(|| UriError::BadEscape(scheme.to_owned()))?;
    let mut parts = decoded.split(';');
    let number = parts.next().unwrap_or_default();
    if number.trim().is_empty() {
        return Err(UriError::Empty(scheme.to_owned()));
    }
    let mut ext = None;
    let mut context = None;
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "ext" => ext = Some(extension(value, scheme)?),
            "phone-context" => context = Some(value.trim()),
            _ => {}
        }
    }
    let not_a_number = || UriError::NotANumber {
        scheme: scheme.to_owned(),
        found: number.chars().take(64).collect(),
    };
    let digits = strip_separators(number);
    if let Some(global) = digits.strip_prefix('+') {
        if !global.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_number());
        }
        return global_number(global, ext, home, scheme);
    }
    if !digits
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
    {
        return Err(not_a_number());
    }
    match context {
        Some(context) if context.starts_with('+') => {
            let prefix = strip_separators(&context[1..]);
            if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad_context(scheme, context));
            }
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(not_a_number());
            }
            global_number(&format!("{prefix}{digits}"), ext, home, scheme)
        }
        Some(context) if !is_domain(context) => Err(bad_context(scheme, context)),
        _ => local_number(&digits, ext, home, scheme),
    }
}

/// Builds the error for a malformed `phone-context`.
fn bad_context(scheme: &str, context: &str) -> UriError {
    UriError::BadContext {
        scheme: scheme.to_owned(),
        context: context.chars().take(64).collect(),
    }
}

/// An international number from its digits after `+`.
fn global_number(
    digits: &str,
    ext: Option<String>,
    home: Country,
    scheme: &str,
) -> Result<Number, UriError> {
    let bad = || UriError::BadNumber {
        scheme: scheme.to_owned(),
        number: format!("+{}", digits.chars().take(64).collect::<String>()),
    };
    if digits.is_empty() || digits.len() > MAX_E164_DIGITS {
        return Err(bad());
    }
    let phone = Phone::parse(&format!("+{digits}"), home).ok_or_else(bad)?;
    Ok(Number::Phone(match ext {
        Some(ext) => phone.with_extension(ext),
        None => phone,
    }))
}

/// A local number: a valid number of `home`, else a short code for the dial rules to judge.
fn local_number(
    digits: &str,
    ext: Option<String>,
    home: Country,
    scheme: &str,
) -> Result<Number, UriError> {
    let phone = digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| Phone::parse(digits, home))
        .flatten()
        .filter(Phone::is_valid);
    if let Some(phone) = phone {
        return Ok(Number::Phone(match ext {
            Some(ext) => phone.with_extension(ext),
            None => phone,
        }));
    }
    if ext.is_some() {
        return Err(UriError::ExtensionOnShortCode(scheme.to_owned()));
    }
    if digits.len() > MAX_SHORT_LEN {
        return Err(UriError::BadNumber {
            scheme: scheme.to_owned(),
            number: digits.chars().take(64).collect(),
        });
    }
    ShortCode::new(digits)
        .map(Number::Short)
        .ok_or_else(|| UriError::NotANumber {
            scheme: scheme.to_owned(),
            found: digits.to_owned(),
        })
}

/// Checks an `ext=` value: digits after dropping visual separators.
fn extension(value: &str, scheme: &str) -> Result<String, UriError> {
    let digits = strip_separators(value);
    if digits.is_empty()
        || digits.len() > MAX_SHORT_LEN
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(UriError::BadExtension {
            scheme: scheme.to_owned(),
            ext: value.chars().take(64).collect(),
        });
    }
    Ok(digits)
}

/// Drops RFC 3966 visual separators (`-`, `.`, `(`, `)`) and spaces.
fn strip_separators(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
        .collect()
}

/// Whether `text` is a domain name as RFC 3966 allows in `phone-context`.
fn is_domain(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Decodes `%XX` escapes; none if one is malformed or the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es() -> Country {
        Country::new("ES").unwrap()
    }

    fn key(uri: &str) -> String {
        parse_uri(uri, es()).unwrap().key()
    }

    #[test]
    fn callto_wild_forms() {
        assert_eq!(key("callto:+4930123456"), "+4930123456");
        assert_eq!(key("callto://+4930123456"), "+4930123456");
        assert_eq!(key("callto://+4930123456/"), "+4930123456");
        assert_eq!(key("callto:+49%2030%20123456?call"), "+4930123456");
        assert_eq!(key("callto:sip:+4930123456@pbx.example.com"), "+4930123456");
        assert_eq!(key("CALLTO://tel:+4930123456"), "+4930123456");
        assert_eq!(key("callto:932009000"), "+34932009000");
        assert_eq!(
            parse_uri("callto:echo123", es()).unwrap_err().to_string(),
            "`callto:` link names \"echo123\", which is not a phone number"
        );
        assert_eq!(
            parse_uri("callto:callto:callto:+1", es()),
            Err(UriError::Nested)
        );
    }

    #[test]
    fn sip_user_parts() {
        assert_eq!(
            key("sip:+34932009000@pbx.example.com;user=phone"),
            "+34932009000"
        );
        assert_eq!(
            key("sips:+1-212-555-0100:secret@gw.example.com"),
            "+12125550100"
        );
        assert_eq!(key("sip:2001@pbx.example.com"), "2001");
        assert_eq!(
            parse_uri("sip:alice@example.com", es())
                .unwrap_err()
                .to_string(),
            "`sip:` link names \"alice\", which is not a phone number"
        );
        assert_eq!(
            parse_uri("sip:pbx.example.com", es()),
            Err(UriError::NoUser("sip".into()))
        );
    }

    #[test]
    fn other_schemes_and_non_links_are_errors() {
        assert_eq!(
            parse_uri("mailto:ana@example.com", es())
                .unwrap_err()
                .to_string(),
            "mailto: links cannot be dialed; use tel:, callto:, sip: or sips:"
        );
        assert!(matches!(
            parse_uri("+34 93", es()),
            Err(UriError::NoScheme(_))
        ));
        assert_eq!(
            parse_uri("tel:", es()).unwrap_err().to_string(),
            "`tel:` link has no number after the scheme"
        );
        assert_eq!(
            parse_uri("tel:%4", es()),
            Err(UriError::BadEscape("tel".into()))
        );
        assert_eq!(
            parse_uri("tel:%ff", es()),
            Err(UriError::BadEscape("tel".into()))
        );
        assert!(matches!(
            parse_uri("tel:+1234567890123456", es()),
            Err(UriError::BadNumber { .. })
        ));
        assert!(matches!(
            parse_uri("tel:+34932009000;ext=12a", es()),
            Err(UriError::BadExtension { .. })
        ));
        assert!(matches!(
            parse_uri("tel:1234;phone-context=exa mple", es()),
            Err(UriError::BadContext { .. })
        ));
        assert_eq!(
            parse_uri("tel:12;ext=3", es()),
            Err(UriError::ExtensionOnShortCode("tel".into()))
        );
    }

    #[test]
    fn recognises_phone_links() {
        assert!(is_phone_link(" TEL:+34932009000"));
        assert!(is_phone_link("sips:1@x"));
        assert!(!is_phone_link("Tel.: +34 93"));
        assert!(!is_phone_link("https://example.com"));
    }
}

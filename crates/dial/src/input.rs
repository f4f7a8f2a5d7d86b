//! The whole path of an input: text or link → candidates → the best number → dial string →
//! policy check.

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat, PhoneNumberType};

use crate::extract::{Candidates, ExtractError, extract};
use crate::number::Country;
use crate::policy::{Policy, Refusal};
use crate::rules::{Dial, DialRules, RenderError};
use crate::uri::{UriError, is_phone_link, parse_uri, scheme_of};

/// Why an input cannot be dialed, from any step of the way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// The text holds no number, several equally good ones, or is too long.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// The link is malformed or names no number.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// The number cannot be dialed under the dial rules.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The policy refuses the number.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// Reads an input as a link when it is a single `tel:`, `callto:`, `sip:` or `sips:` token,
/// otherwise as free text; national numbers are numbers of `home`.
///
/// `"Tel: 93 200 90 00"` has a space, so it is text with a label, not a `tel:` link. A single
/// token with another scheme (`mailto:…`, `https://…`) in which no number is found is refused
/// as a link that cannot be dialed.
pub fn read_input(input: &str, home: Country) -> Result<Candidates, DialError> {
    let trimmed = input.trim();
    let one_token = !trimmed.contains(char::is_whitespace);
    if one_token && is_phone_link(trimmed) {
        let number = parse_uri(trimmed, home)?;
        return Ok(Candidates::single(number, trimmed));
    }
    let candidates = extract(input, home)?;
    if let (true, [], Some((scheme, _))) = (one_token, candidates.as_slice(), scheme_of(trimmed)) {
        return Err(UriError::UnsupportedScheme(scheme).into());
    }
    Ok(candidates)
}

/// Reads `input`, picks its best number, renders it under `rules` and checks it against
/// `policy`: the dial string to hand to Asterisk, or why there is none.
pub fn prepare(input: &str, rules: &DialRules, policy: &Policy) -> Result<Dial, DialError> {
    let candidates = read_input(input, rules.country)?;
    let number = &candidates.best()?.number;
    let dial = rules.render(number)?;
    policy.check(number, &dial, rules.country)?;
    Ok(dial)
}

/// Prepares example numbers of the home country once, written as people and links write
/// them, so libphonenumber compiles the patterns it needs for them now: it compiles each
/// pattern on first use, which made the first call after start ~30 ms slower than the next
/// ones. A server calls this before it serves. Returns how many examples were read as a
/// number (dialable or refused by `policy`); 0 means nothing was warmed.
pub fn warm_up(rules: &DialRules, policy: &Policy) -> usize {
    let region = rules.country.region();
    let mut read = 0;
    for kind in [PhoneNumberType::FixedLine, PhoneNumberType::Mobile] {
        let Ok(example) = PHONE_NUMBER_UTIL.get_example_number_for_type_and_region(region, kind)
        else {
            continue;
        };
        let national = example.format_as(PhoneNumberFormat::National);
        let international = example.format_as(PhoneNumberFormat::International);
        let e164 = example.format_as(PhoneNumberFormat::E164);
        for input in [
            national.to_string(),
            format!("Tel. {international}"),
            format!("tel:{e164}"),
        ] {
            if matches!(
                prepare(&input, rules, policy),
                Ok(_) | Err(DialError::Refused(_))
            ) {
                read += 1;
            }
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_reads_every_example_of_the_home_country() {
        for code in ["ES", "US", "GB", "DE", "FR", "AR"] {
            let rules = DialRules::new(Country::new(code).unwrap());
            assert_eq!(warm_up(&rules, &Policy::default()), 6, "{code}");
        }
    }

    fn es() -> Country {
        Country::new("ES").unwrap()
    }

    #[test]
    fn links_and_text_are_told_apart() {
        let key = |input: &str| {
            read_input(input, es())
                .unwrap()
                .best()
                .unwrap()
                .number
                .key()
        };
        assert_eq!(key("tel:+34932009000"), "+34932009000");
        assert_eq!(key("Tel: 93 200 90 00"), "+34932009000");
        assert_eq!(key("Phone:+34932009000"), "+34932009000");
    }

    #[test]
    fn other_links_are_refused_by_scheme() {
        assert_eq!(
            read_input("mailto:ana@example.com", es())
                .unwrap_err()
                .to_string(),
            "mailto: links cannot be dialed; use tel:, callto:, sip: or sips:"
        );
        assert!(matches!(
            read_input("see mailto:ana@example.com", es()),
            Ok(c) if c.as_slice().is_empty()
        ));
    }
}

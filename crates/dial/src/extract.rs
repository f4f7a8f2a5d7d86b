//! Finding phone numbers in free text (a selection, the clipboard), ranked best first.
//!
//! The text is cleaned first: non-breaking and other Unicode spaces become spaces, Unicode
//! dashes become `-`, invisible format characters (right-to-left marks, zero-width spaces, BOM)
//! are dropped, other control characters become hard breaks that no number spans, a `(0)`
//! after a country code is removed, and a line break inside a number is joined when only the
//! joined text is a valid number. Then libphonenumber's matcher finds the numbers. Decimal
//! digits of other scripts (Arabic-Indic `٣٤`, fullwidth `３４`, Devanagari…) are read as the
//! digits they are; letters that merely look like digits (`O`, `l`) are not.

use rlibphonenumber::PHONE_NUMBER_UTIL;
use rlibphonenumber::phonenumber_matcher::{Leniency, PHONE_MATCHER_FACTORY};
use serde::Serialize;

use crate::number::{Country, Number, Phone, ShortCode};

/// The longest text searched, in bytes; a selection longer than this is refused.
pub const MAX_TEXT_LEN: usize = 64 * 1024;

/// How many candidate spans the matcher may try before it gives up on a text.
const MAX_TRIES: u64 = 10_000;

/// A number found in text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The number.
    pub number: Number,
    /// The text it was found in, after cleaning (e.g. `"+34 93 200 90 00 ext. 12"`).
    pub text: String,
    /// Whether the text labels it a fax number; fax numbers rank below the others.
    pub fax: bool,
}

/// The numbers found in a text, best first, each number once.
///
/// Numbers the text labels as fax rank below the others; otherwise they keep the order of
/// the text. When more than one number shares the top rank, none is best.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Candidates {
    ranked: Vec<Candidate>,
}

/// Why a text does not give one number to dial.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The text is longer than [`MAX_TEXT_LEN`] bytes.
    #[error("the text is {len} bytes long; at most {MAX_TEXT_LEN} are searched for a number")]
    TooLong {
        /// The length of the text, in bytes.
        len: usize,
    },
    /// The text holds no phone number and no short code.
    #[error("no phone number found in the text")]
    NoNumber,
    /// The text has so many number-like parts that the matcher gave up on it.
    #[error("the text has too many number-like parts to search; select just the number")]
    TooComplex,
    /// The text holds several numbers and none is better than the others.
    #[error("the text holds {} equally good numbers ({}); choose one", .0.len(), .0.join(", "))]
    Ambiguous(Vec<String>),
}

impl Candidates {
    /// The one best number, or why there is none: no number at all, or several equally good.
    pub fn best(&self) -> Result<&Candidate, ExtractError> {
        let first = self.ranked.first().ok_or(ExtractError::NoNumber)?;
        let tied: Vec<String> = self
            .ranked
            .iter()
            .take_while(|c| c.fax == first.fax)
            .map(|c| c.number.key())
            .collect();
        if tied.len() > 1 {
            return Err(ExtractError::Ambiguous(tied));
        }
        Ok(first)
    }

    /// All candidates, best first.
    pub fn as_slice(&self) -> &[Candidate] {
        &self.ranked
    }

    /// Wraps a single number (from a link) as the only candidate.
    pub(crate) fn single(number: Number, text: &str) -> Candidates {
        Candidates {
            ranked: vec![Candidate {
                number,
                text: text.to_owned(),
                fax: false,
            }],
        }
    }
}

/// Finds the phone numbers in `text`, reading national numbers as numbers of `home`.
///
/// A text that is nothing but a short code (`"12"`, `"Ext. 2001"`, `"*97"`) yields it as a
/// [`Number::Short`]; the dial rules decide whether it is an internal extension. When no
/// valid number is found, numbers that are merely possible (right length, unknown range) are
/// offered instead.
pub fn extract(text: &str, home: Country) -> Result<Candidates, ExtractError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(ExtractError::TooLong { len: text.len() });
    }
    let cleaned = clean(text, home);
    let mut found = find(&cleaned, home, Leniency::Valid)?;
    if found.is_empty() {
        if let Some(code) = short_code(&cleaned) {
            return Ok(Candidates::single(Number::Short(code), cleaned.trim()));
        }
        found = find(&cleaned, home, Leniency::Possible)?;
    }
    let mut ranked: Vec<Candidate> = Vec::new();
    for candidate in found {
        if !ranked
            .iter()
            .any(|c| c.number.key() == candidate.number.key())
        {
            ranked.push(candidate);
        }
    }
    ranked.sort_by_key(|c| c.fax);
    Ok(Candidates { ranked })
}

/// Runs libphonenumber's matcher over cleaned text.
///
/// rlibphonenumber 2.2's matcher can count its tries below zero on texts with thousands of
/// number-like parts and panic on the overflow (in builds with overflow checks); that panic
/// is caught here and reported as [`ExtractError::TooComplex`].
fn find(cleaned: &str, home: Country, leniency: Leniency) -> Result<Vec<Candidate>, ExtractError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match_all(cleaned, home, leniency)
    }))
    .map_err(|_| ExtractError::TooComplex)
}

fn match_all(cleaned: &str, home: Country, leniency: Leniency) -> Vec<Candidate> {
    let mut previous_end = 0;
    PHONE_MATCHER_FACTORY
        .matcher_builder(cleaned)
        .leniency(leniency)
        .preferred_region(home.region())
        .max_tries(MAX_TRIES)
        .build()
        .map(|m| {
            let before = &cleaned[previous_end.min(m.start)..m.start];
            let label = before.rsplit('\n').next().unwrap_or_default();
            previous_end = m.end();
            Candidate {
                number: Number::Phone(Phone::from_parsed(m.number)),
                text: m.raw_string.to_owned(),
                fax: label.to_lowercase().contains("fax"),
            }
        })
        .collect()
}

/// Words that may stand before a bare short code: `"Ext. 2001"`, `"Tel: 12"`, `"Interno 12"`.
const SHORT_CODE_LABELS: [&str; 15] = [
    "anexo",
    "durchwahl",
    "dw",
    "ext",
    "extension",
    "int",
    "interno",
    "nebenstelle",
    "phone",
    "poste",
    "tel",
    "telf",
    "tlf",
    "toestel",
    "x",
];

/// Reads a text that is only a short code, after an optional label from
/// [`SHORT_CODE_LABELS`]: `"12"`, `"Ext. 2001"`, `"*97"`, `"١٢"`. Other words (`"Room 12"`)
/// make it no short code.
fn short_code(cleaned: &str) -> Option<ShortCode> {
    let trimmed = cleaned.trim();
    let word_end = trimmed
        .find(|c: char| !c.is_alphabetic())
        .unwrap_or(trimmed.len());
    let word = trimmed[..word_end].to_lowercase();
    if !word.is_empty() && !SHORT_CODE_LABELS.contains(&word.as_str()) {
        return None;
    }
    let body = trimmed[word_end..]
        .trim_start_matches(['.', ':'])
        .trim_start();
    let mut code = String::new();
    for c in body.chars() {
        match c {
            '*' | '#' => code.push(c),
            ' ' | '-' => {}
            _ => {
                let digit = PHONE_NUMBER_UTIL.normalize_digits_only(c.encode_utf8(&mut [0; 4]));
                if digit.len() != 1 {
                    return None;
                }
                code.push_str(&digit);
            }
        }
    }
    ShortCode::new(&code)
}

/// Cleans text for the matcher; see the module documentation for what is done.
fn clean(text: &str, home: Country) -> String {
    let mut mapped = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                mapped.push('\n');
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => mapped.push('\n'),
            '\t' => mapped.push(' '),
            '\u{AD}'
            | '\u{61C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}' => {}
            c if c.is_control() => mapped.push_str("\n\n"),
            '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}' => mapped.push(' '),
            '\u{2010}'..='\u{2015}'
            | '\u{2043}'
            | '\u{2212}'
            | '\u{FE58}'
            | '\u{FE63}'
            | '\u{FF0D}' => mapped.push('-'),
            '\u{FF08}' => mapped.push('('),
            '\u{FF09}' => mapped.push(')'),
            '\u{FF0B}' => mapped.push('+'),
            c => mapped.push(c),
        }
    }
    join_broken_lines(&drop_trunk_zero(&mapped), home)
}

/// Removes `(0)` written after a country code: `+44 (0)20…` → `+44 20…`.
fn drop_trunk_zero(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("(0)") {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        if !follows_country_code(&out) {
            out.push_str("(0)");
        }
        rest = &tail[3..];
    }
    out.push_str(rest);
    out
}

/// Whether `text` ends with `+` and one to three digits, then optional spaces.
fn follows_country_code(text: &str) -> bool {
    let trimmed = text.trim_end_matches(' ');
    let digits = trimmed.len() - trimmed.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    (1..=3).contains(&digits) && trimmed[..trimmed.len() - digits].ends_with('+')
}

/// Joins two lines with a space where a number was broken across them: where the end of one
/// line and the start of the next make a valid number together but not both on their own.
fn join_broken_lines(text: &str, home: Country) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::with_capacity(text.len());
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        let Some(next) = lines.get(i + 1) else {
            break;
        };
        let tail = number_tail(line);
        let head = number_head(next);
        let join = !tail.is_empty()
            && !head.is_empty()
            && is_valid(&format!("{tail} {head}"), home)
            && (!is_valid(tail, home) || !is_valid(head, home));
        out.push(if join { ' ' } else { '\n' });
    }
    out
}

/// Whether `c` may appear inside a written phone number.
fn is_number_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, ' ' | '+' | '(' | ')' | '-' | '.' | '/')
}

/// The number-like end of a line, if it ends in a digit.
fn number_tail(line: &str) -> &str {
    let line = line.trim_end();
    if !line.ends_with(|c: char| c.is_ascii_digit()) {
        return "";
    }
    let start = line.trim_end_matches(is_number_char).len();
    line[start..].trim()
}

/// The number-like start of a line, if it starts with a digit.
fn number_head(line: &str) -> &str {
    let line = line.trim_start();
    if !line.starts_with(|c: char| c.is_ascii_digit()) {
        return "";
    }
    let end = line.len() - line.trim_start_matches(is_number_char).len();
    line[..end].trim()
}

/// Whether `text` is a valid number when read in `home`.
fn is_valid(text: &str, home: Country) -> bool {
    Phone::parse(text, home).is_some_and(|p| p.is_valid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es() -> Country {
        Country::new("ES").unwrap()
    }

    fn keys(text: &str, home: Country) -> Vec<String> {
        extract(text, home)
            .unwrap()
            .as_slice()
            .iter()
            .map(|c| c.number.key())
            .collect()
    }

    #[test]
    fn cleaning_maps_spaces_and_dashes_and_drops_marks() {
        assert_eq!(
            clean("+34\u{A0}93\u{2013}200\u{200F}90\u{202F}00", es()),
            "+34 93-20090 00"
        );
        assert_eq!(clean("a\u{0}b", es()), "a\n\nb");
        assert_eq!(clean("a\r\nb\rc", es()), "a\nb\nc");
    }

    #[test]
    fn trunk_zero_is_dropped_only_after_a_country_code() {
        assert_eq!(drop_trunk_zero("+44 (0)20 7946"), "+44 20 7946");
        assert_eq!(drop_trunk_zero("+49(0)30"), "+4930");
        assert_eq!(drop_trunk_zero("call (0)20"), "call (0)20");
        assert_eq!(drop_trunk_zero("12345 (0)20"), "12345 (0)20");
    }

    #[test]
    fn labels_trunk_zero_and_extension() {
        assert_eq!(
            keys("Tel.: +34 (0)93 200 90 00 ext. 12", es()),
            ["+34932009000;ext=12"]
        );
    }

    #[test]
    fn extensions_in_their_usual_spellings() {
        let us = Country::new("US").unwrap();
        for text in [
            "(201) 555-0123 x 3",
            "(201) 555-0123 x3",
            "(201) 555-0123 ext 3",
            "(201) 555-0123 ext. 3",
            "(201) 555-0123 #3",
            "+1-201-555-0123;ext=3",
        ] {
            assert_eq!(keys(text, us), ["+12015550123;ext=3"], "{text}");
        }
    }

    #[test]
    fn a_number_broken_over_two_lines_is_joined() {
        assert_eq!(
            keys(
                "Kind regards,\nAna\nTel. +34 93 200\n90 00\nBarcelona",
                es()
            ),
            ["+34932009000"]
        );
    }

    #[test]
    fn two_numbers_on_two_lines_stay_two() {
        let found = extract("Tel 93 200 90 00\n612 34 56 78", es()).unwrap();
        assert_eq!(found.as_slice().len(), 2);
        assert!(matches!(found.best(), Err(ExtractError::Ambiguous(v)) if v.len() == 2));
    }

    #[test]
    fn fax_numbers_rank_last() {
        let found = extract("Fax: 93 200 90 01, Tel: 93 200 90 00", es()).unwrap();
        assert_eq!(found.best().unwrap().number.key(), "+34932009000");
        assert_eq!(found.as_slice().len(), 2);
    }

    #[test]
    fn the_same_number_twice_is_one_candidate() {
        let found = extract("+34 93 200 90 00 (or 932 009 000)", es()).unwrap();
        assert_eq!(found.best().unwrap().number.key(), "+34932009000");
    }

    #[test]
    fn no_number_is_its_own_answer() {
        let found = extract("see you at 10:30 on the 3rd", es()).unwrap();
        assert_eq!(found.best(), Err(ExtractError::NoNumber));
    }

    #[test]
    fn bare_short_codes_with_or_without_a_label() {
        for (text, code) in [
            ("12", "12"),
            (" Ext. 2001 ", "2001"),
            ("*97", "*97"),
            ("١٢", "12"),
        ] {
            let found = extract(text, es()).unwrap();
            let best = found.best().unwrap();
            assert_eq!(
                best.number,
                Number::Short(ShortCode::new(code).unwrap()),
                "{text}"
            );
        }
    }

    #[test]
    fn other_words_before_digits_make_no_short_code() {
        for text in ["Room 12", "12 apples", "ext. 12 and 13"] {
            assert_eq!(
                extract(text, es()).unwrap().best(),
                Err(ExtractError::NoNumber),
                "{text}"
            );
        }
    }

    #[test]
    fn too_long_a_text_is_refused() {
        let text = "1".repeat(MAX_TEXT_LEN + 1);
        assert_eq!(
            extract(&text, es()),
            Err(ExtractError::TooLong {
                len: MAX_TEXT_LEN + 1
            })
        );
    }
}

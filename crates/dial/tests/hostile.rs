//! Hostile inputs: whatever comes in, what goes out is a safe dial string or a clear error.

use std::time::{Duration, Instant};

use clickdial_dial::{
    Country, Destination, DialError, DialPrefix, DialRules, ExtractError, Policy, parse_uri,
    prepare, read_input,
};
use proptest::prelude::*;

fn rules() -> DialRules {
    DialRules {
        outside_prefix: DialPrefix::new("0").unwrap(),
        ..DialRules::new(Country::new("ES").unwrap())
    }
}

/// Whether `dial` holds only digits, `*`, `#` and a leading `+`.
fn is_safe(dial: &str) -> bool {
    !dial.is_empty()
        && dial
            .char_indices()
            .all(|(i, c)| c.is_ascii_digit() || c == '*' || c == '#' || (c == '+' && i == 0))
}

/// Runs `input` through the whole path; the dial string if any, checked to be safe.
fn dial(input: &str) -> Result<String, DialError> {
    let dial = prepare(input, &rules(), &Policy::default())?;
    let text = dial.destination.to_string();
    assert!(is_safe(&text), "unsafe dial string {text:?} from {input:?}");
    Ok(text)
}

#[test]
fn crlf_after_a_number_cannot_inject_ami() {
    assert_eq!(
        dial("+34 93 200 90 00\r\nAction: Originate\r\nChannel: DAHDI/1").unwrap(),
        "0932009000"
    );
    assert_eq!(dial("12\r\n").unwrap(), "12");
    assert!(matches!(
        dial("12\r\n\r\nAction: Logoff"),
        Err(DialError::Extract(ExtractError::NoNumber))
    ));
}

#[test]
fn links_with_escaped_line_breaks_are_refused() {
    for uri in [
        "tel:+34932009000%0D%0AAction:%20Logoff",
        "sip:+34932009000%0d%0a@pbx.example.com",
        "callto:+34932009000%00",
    ] {
        let error = parse_uri(uri, rules().country).unwrap_err();
        assert!(
            error.to_string().contains("not a phone number"),
            "{uri}: {error}"
        );
    }
}

#[test]
fn control_characters_break_a_number_instead_of_joining_it() {
    for c in ['\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{9b}'] {
        let input = format!("+34 93 200{c}90 00");
        assert_ne!(
            dial(&input).ok().as_deref(),
            Some("0932009000"),
            "{input:?}"
        );
    }
}

#[test]
fn right_to_left_and_invisible_marks_are_ignored() {
    assert_eq!(
        dial("\u{200F}+34 93 200 90 00\u{200E}").unwrap(),
        "0932009000"
    );
    assert_eq!(
        dial("\u{FEFF}Tel:\u{2066}+34\u{200B} 93 200 90 00\u{2069}").unwrap(),
        "0932009000"
    );
    let arabic = "هاتف: \u{200F}+34 93 200 90 00";
    assert_eq!(dial(arabic).unwrap(), "0932009000");
}

#[test]
fn digits_of_other_scripts_are_read_as_digits() {
    assert_eq!(dial("+٣٤ ٩٣ ٢٠٠ ٩٠ ٠٠").unwrap(), "0932009000");
    assert_eq!(dial("＋３４ ９３ ２００ ９０ ００").unwrap(), "0932009000");
    assert_eq!(dial("+३४ ९३ २०० ९० ००").unwrap(), "0932009000");
}

#[test]
fn letters_that_look_like_digits_are_not_digits() {
    assert_ne!(dial("+34 93 2OO 9O OO").ok().as_deref(), Some("0932009000"));
    assert_ne!(dial("+34 93 2l0 90 00").ok().as_deref(), Some("0932109000"));
}

#[test]
fn ten_kilobytes_of_text_with_one_number_is_quick() {
    let filler = "Lorem ipsum dolor sit amet, 2024-05-17, ref. 4471, room 12b. ".repeat(170);
    let input = format!("{filler}\nTel. +34 93 200 90 00\n{filler}");
    assert!(input.len() > 20_000);
    let start = Instant::now();
    assert_eq!(dial(&input).unwrap(), "0932009000");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn ten_kilobytes_of_digits_ends_in_a_clear_answer() {
    let start = Instant::now();
    for input in ["9".repeat(10_240), "+1 ".repeat(3_400), "(0)".repeat(3_400)] {
        let result = dial(&input);
        if let Ok(text) = result {
            assert!(is_safe(&text));
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn oversized_input_is_refused() {
    let input = "a".repeat(100_000);
    assert!(matches!(
        read_input(&input, rules().country),
        Err(DialError::Extract(ExtractError::TooLong { .. }))
    ));
    let uri = format!("tel:+{}", "1".repeat(5_000));
    assert!(parse_uri(&uri, rules().country).is_err());
}

proptest! {
    #[test]
    fn destinations_only_ever_hold_safe_characters(text in any::<String>()) {
        if let Ok(destination) = Destination::new(&text) {
            prop_assert!(is_safe(destination.as_str()));
        }
    }

    #[test]
    fn destinations_from_near_miss_strings_only_hold_safe_characters(
        text in "[+*#0-9\r\n\0 a-z٣]{0,24}"
    ) {
        if let Ok(destination) = Destination::new(&text) {
            prop_assert!(is_safe(destination.as_str()));
            prop_assert_eq!(destination.as_str(), text.as_str());
        }
    }

    #[test]
    fn any_text_dials_safely_or_not_at_all(text in "(\\PC|[\r\n\0\u{200f}]){0,64}") {
        if let Ok(dial) = prepare(&text, &rules(), &Policy::default()) {
            prop_assert!(is_safe(dial.destination.as_str()));
        }
    }

    #[test]
    fn any_link_dials_safely_or_not_at_all(
        scheme in "(tel|callto|sip|sips|callto://|callto:sip)",
        rest in "[-+0-9 ()%;=@.:a-zA-Z\r\n]{0,40}",
    ) {
        let uri = format!("{scheme}:{rest}");
        if let Ok(dial) = prepare(&uri, &rules(), &Policy::default()) {
            prop_assert!(is_safe(dial.destination.as_str()));
        }
    }
}

/// Thousands of number-like fragments once made rlibphonenumber's matcher count its tries
/// below zero and panic; the text is refused or searched, never a crash.
#[test]
fn thousands_of_number_like_fragments_do_not_crash() {
    let home = clickdial_dial::Country::new("ES").unwrap();
    for text in [
        "93 200\n".repeat(5000),
        "+34 9".repeat(7000),
        "(0) 1-2 ".repeat(4000),
    ] {
        match clickdial_dial::extract(&text, home) {
            Ok(candidates) => assert!(candidates.as_slice().len() < 10_000),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

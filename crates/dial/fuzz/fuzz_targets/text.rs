//! Fuzzes free-text extraction through to the dial string: any text must give a safe dial
//! string or an error; never a panic.

#![no_main]

use clickdial_dial::{Country, DialPrefix, DialRules, Policy, prepare};
use libfuzzer_sys::fuzz_target;

/// The home countries the first input byte chooses between.
const COUNTRIES: [&str; 4] = ["ES", "US", "GB", "IN"];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let country = COUNTRIES[usize::from(choice) % COUNTRIES.len()];
    let rules = DialRules {
        outside_prefix: DialPrefix::new("0").expect("0 is a prefix"),
        ..DialRules::new(Country::new(country).expect("a known country"))
    };
    if let Ok(dial) = prepare(text, &rules, &Policy::default()) {
        let text = dial.destination.as_str();
        assert!(
            text.char_indices()
                .all(|(i, c)| c.is_ascii_digit() || c == '*' || c == '#' || (c == '+' && i == 0)),
            "unsafe dial string {text:?}"
        );
    }
});

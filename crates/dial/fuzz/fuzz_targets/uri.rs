//! Fuzzes the link parser: any bytes after `tel:`, `callto:`, `sip:`, `sips:` must give a
//! number whose dial string is safe, or an error; never a panic.

#![no_main]

use clickdial_dial::{Country, DialRules, parse_uri};
use libfuzzer_sys::fuzz_target;

/// The schemes the first input byte chooses between.
const SCHEMES: [&str; 6] = ["tel:", "callto:", "callto://", "sip:", "sips:", ""];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        return;
    };
    let uri = format!("{}{rest}", SCHEMES[usize::from(choice) % SCHEMES.len()]);
    let rules = DialRules::new(Country::new("ES").expect("ES is a country"));
    if let Ok(number) = parse_uri(&uri, rules.country) {
        if let Ok(dial) = rules.render(&number) {
            let text = dial.destination.as_str();
            assert!(
                text.char_indices().all(|(i, c)| c.is_ascii_digit()
                    || c == '*'
                    || c == '#'
                    || (c == '+' && i == 0)),
                "unsafe dial string {text:?} from {uri:?}"
            );
        }
    }
});

//! The examples of RFC 3966 (section 6) and the other forms a `tel:` link may take.

use clickdial_dial::{Country, DialRules, Number, Policy, UriError, parse_uri, prepare};

fn us() -> Country {
    Country::new("US").unwrap()
}

#[test]
fn global_number_with_visual_separators() {
    let number = parse_uri("tel:+1-201-555-0123", us()).unwrap();
    assert_eq!(number.key(), "+12015550123");
}

#[test]
fn local_number_in_a_domain_context_is_a_short_code() {
    let number = parse_uri("tel:7042;phone-context=example.com", us()).unwrap();
    assert!(matches!(&number, Number::Short(code) if code.as_str() == "7042"));
}

#[test]
fn local_number_with_a_global_context_joins_the_prefix() {
    // RFC 3966's own example: +1 914 555 and 863-1234 make 13 digits after +1, three more
    // than a North American number has. It parses, but lies in no known range, so the
    // default policy refuses to dial it.
    let uri = "tel:863-1234;phone-context=+1-914-555";
    let Number::Phone(phone) = parse_uri(uri, us()).unwrap() else {
        panic!("a global context makes a phone number");
    };
    assert_eq!(phone.e164(), "+19145558631234");
    assert!(!phone.is_valid());
    let refusal = prepare(uri, &DialRules::new(us()), &Policy::default()).unwrap_err();
    assert!(
        refusal.to_string().contains("not in any known range"),
        "{refusal}"
    );
    // The same form with a complete area code and exchange is read as the joined number.
    let number = parse_uri("tel:0123;phone-context=+1-201-555", us()).unwrap();
    assert_eq!(number.key(), "+12015550123");
}

#[test]
fn extension_and_subaddress() {
    let number = parse_uri("tel:+1-201-555-0123;ext=1234", us()).unwrap();
    assert_eq!(number.key(), "+12015550123;ext=1234");
    let number = parse_uri("tel:+1-201-555-0123;isub=1411", us()).unwrap();
    assert_eq!(number.key(), "+12015550123");
    let number = parse_uri(
        "tel:+1-201-555-0123;EXT=12;tgrp=TG-1;trunk-context=x.example",
        us(),
    );
    assert_eq!(number.unwrap().key(), "+12015550123;ext=12");
}

#[test]
fn percent_encoding_and_parentheses() {
    let number = parse_uri("tel:+1%20(201)%20555-0123", us()).unwrap();
    assert_eq!(number.key(), "+12015550123");
    let number = parse_uri("tel:%2B1.201.555.0123", us()).unwrap();
    assert_eq!(number.key(), "+12015550123");
}

#[test]
fn local_number_without_context_is_read_in_the_home_country() {
    let number = parse_uri("tel:(201)555-0123", us()).unwrap();
    assert_eq!(number.key(), "+12015550123");
}

#[test]
fn star_and_hash_make_a_short_code() {
    let number = parse_uri("tel:*69;phone-context=example.com", us()).unwrap();
    assert!(matches!(&number, Number::Short(code) if code.as_str() == "*69"));
}

#[test]
fn letters_are_not_digits() {
    assert!(matches!(
        parse_uri("tel:+1-800-FLOWERS", us()),
        Err(UriError::NotANumber { .. })
    ));
    assert!(matches!(
        parse_uri("tel:ABCD;phone-context=example.com", us()),
        Err(UriError::NotANumber { .. })
    ));
}

//! Real-world number formats of ten countries, dialed under each country's typical rules.
//!
//! Each expectation was worked out by hand from the country's dialing plan, not copied from
//! the output: outside-line prefix, then the national form with its trunk prefix (or the
//! international call prefix and country code), then the number.

use clickdial_dial::{Country, DialPrefix, DialRules, Policy, prepare};

/// Rules for `country` with outside-line prefix `outside`, the rest by default.
fn rules(country: &str, outside: &str) -> DialRules {
    DialRules {
        outside_prefix: DialPrefix::new(outside).unwrap(),
        ..DialRules::new(Country::new(country).unwrap())
    }
}

/// Asserts that every `(input, dial string)` pair renders as expected under `rules`.
fn assert_dials(rules: &DialRules, table: &[(&str, &str)]) {
    for (input, expected) in table {
        let dial = prepare(input, rules, &Policy::default())
            .unwrap_or_else(|e| panic!("{} {input:?}: {e}", rules.country));
        assert_eq!(
            dial.destination.as_str(),
            *expected,
            "{} {input:?}",
            rules.country
        );
    }
}

#[test]
fn spain_outside_line_0_no_trunk_prefix() {
    assert_dials(
        &rules("ES", "0"),
        &[
            ("Tel.: 932 00 90 00", "0932009000"),
            ("Móvil: 612 34 56 78", "0612345678"),
            ("+34 93 200 90 00", "0932009000"),
            ("+44 (0)20 7946 0018", "000442079460018"),
            ("12", "12"),
        ],
    );
}

#[test]
fn united_states_outside_line_9_then_1_for_long_distance() {
    assert_dials(
        &rules("US", "9"),
        &[
            ("(201) 555-0123", "912015550123"),
            ("201.555.0123", "912015550123"),
            ("+1 416-555-0199", "914165550199"),
            ("+44 20 7946 0018", "9011442079460018"),
        ],
    );
}

#[test]
fn united_kingdom_outside_line_9_trunk_0() {
    assert_dials(
        &rules("GB", "9"),
        &[
            ("020 7946 0018", "902079460018"),
            ("+44 (0)20 7946 0018", "902079460018"),
            ("07400 123456", "907400123456"),
            ("+34 93 200 90 00", "90034932009000"),
        ],
    );
}

#[test]
fn germany_outside_line_0_trunk_0() {
    assert_dials(
        &rules("DE", "0"),
        &[
            ("Tel. (030) 12345678", "003012345678"),
            ("+49 (0)30 12345678", "003012345678"),
            ("Handy: 0151 23456789", "0015123456789"),
            ("+34 93 200 90 00", "00034932009000"),
        ],
    );
}

#[test]
fn france_outside_line_0_trunk_0() {
    assert_dials(
        &rules("FR", "0"),
        &[
            ("Tél. : 01 42 68 53 00", "00142685300"),
            ("06.12.34.56.78", "00612345678"),
            ("+33 (0)1 42 68 53 00", "00142685300"),
            ("+34 93 200 90 00", "00034932009000"),
        ],
    );
}

#[test]
fn mexico_outside_line_9_ten_digits_since_2019() {
    assert_dials(
        &rules("MX", "9"),
        &[
            ("55 1234 5678", "95512345678"),
            ("+52 55 1234 5678", "95512345678"),
            ("+34 93 200 90 00", "90034932009000"),
        ],
    );
}

#[test]
fn brazil_needs_a_carrier_so_rewrites_name_it() {
    let rules: DialRules = toml::from_str(
        r#"
        country = "BR"
        outside_prefix = "0"
        international_prefix = "0021"
        rewrite = [
            { prefix = "+5511", replace = "" },
            { prefix = "+55", replace = "021" },
        ]
        "#,
    )
    .unwrap();
    assert_dials(
        &rules,
        &[
            ("(11) 96123-4567", "0961234567"),
            ("(21) 2222-3333", "00212122223333"),
            ("+55 21 2222-3333", "00212122223333"),
            ("+34 93 200 90 00", "0002134932009000"),
        ],
    );
}

#[test]
fn india_outside_line_0_trunk_0_for_mobiles_too() {
    assert_dials(
        &rules("IN", "0"),
        &[
            ("98765 43210", "009876543210"),
            ("+91 98765 43210", "009876543210"),
            ("011 2345 6789", "001123456789"),
            ("+34 93 200 90 00", "00034932009000"),
        ],
    );
}

#[test]
fn australia_outside_line_0_international_0011() {
    assert_dials(
        &rules("AU", "0"),
        &[
            ("(02) 9876 5432", "00298765432"),
            ("0412 345 678", "00412345678"),
            ("+61 2 9876 5432", "00298765432"),
            ("+34 93 200 90 00", "0001134932009000"),
        ],
    );
}

#[test]
fn netherlands_outside_line_0_trunk_0() {
    assert_dials(
        &rules("NL", "0"),
        &[
            ("020 123 4567", "00201234567"),
            ("06-12345678", "00612345678"),
            ("+31 (0)20 123 4567", "00201234567"),
            ("+34 93 200 90 00", "00034932009000"),
        ],
    );
}

#[test]
fn all_ten_countries_from_spain() {
    assert_dials(
        &rules("ES", "0"),
        &[
            ("+1 201-555-0123", "00012015550123"),
            ("+44 20 7946 0018", "000442079460018"),
            ("+49 30 12345678", "000493012345678"),
            ("+33 1 42 68 53 00", "00033142685300"),
            ("+52 55 1234 5678", "000525512345678"),
            ("+55 11 96123-4567", "0005511961234567"),
            ("+91 98765 43210", "000919876543210"),
            ("+61 2 9876 5432", "00061298765432"),
            ("+31 20 123 4567", "00031201234567"),
        ],
    );
}

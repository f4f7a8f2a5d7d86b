//! Dial rules and policy as the gateway reads them from TOML and the app from its settings.

use clickdial_dial::{Country, DialRules, NumberKind, Policy};

#[test]
fn minimal_rules_take_the_defaults() {
    let rules: DialRules = toml::from_str(r#"country = "ES""#).unwrap();
    assert_eq!(rules, DialRules::new(Country::new("ES").unwrap()));
}

#[test]
fn full_rules_round_trip() {
    let text = r#"
        country = "GB"
        outside_prefix = "9"
        international_prefix = "00"
        trunk_prefix = "0"
        internal_max_len = 3
        internal_patterns = ["_6XXX", "*9X"]
        rewrite = [{ prefix = "+44161", replace = "161" }]
        e164 = false
    "#;
    let rules: DialRules = toml::from_str(text).unwrap();
    assert!(rules.is_internal("6001") && rules.is_internal("*97") && rules.is_internal("123"));
    let again: DialRules = toml::from_str(&toml::to_string(&rules).unwrap()).unwrap();
    assert_eq!(again, rules);
    let json: DialRules = serde_json::from_str(&serde_json::to_string(&rules).unwrap()).unwrap();
    assert_eq!(json, rules);
}

#[test]
fn bad_rules_are_refused_with_the_reason() {
    let error = |text: &str| toml::from_str::<DialRules>(text).unwrap_err().to_string();
    assert!(error(r#"country = "XX""#).contains("not a country code"));
    assert!(error("country = \"ES\"\noutside_prefix = \"0\\r\\n\"").contains("dial prefix"));
    assert!(
        error("country = \"ES\"\nrewrite = [{ prefix = \"44\", replace = \"\" }]")
            .contains("number prefix")
    );
    assert!(error("country = \"ES\"\ninternal_patterns = [\"6a\"]").contains("number pattern"));
    assert!(error("country = \"ES\"\noutside = \"0\"").contains("unknown field"));
}

#[test]
fn policy_defaults_and_overrides() {
    let policy: Policy = toml::from_str("").unwrap();
    assert_eq!(policy, Policy::default());
    assert!(!policy.allow_kinds.contains(&NumberKind::PremiumRate));
    let policy: Policy = toml::from_str(
        r#"
        deny = ["+1900!"]
        allow_kinds = ["fixed_line", "premium_rate"]
        international = false
        max_len = 16
        "#,
    )
    .unwrap();
    assert_eq!(
        policy.allow_kinds,
        [NumberKind::FixedLine, NumberKind::PremiumRate]
    );
    assert!(!policy.international);
    assert!(toml::from_str::<Policy>(r#"allow_kinds = ["cheap"]"#).is_err());
}

//! What the gateway's test suites share: the agents' tokens and a configuration for a real
//! Asterisk started by `clickdial-testsupport`.

use clickdial_gateway::token::TokenHash;

/// Ana's phone (10) answers at once.
pub const ANA: &str = "tok-ana-000000000000000000000000";
/// Bob's phone (20) is busy.
pub const BOB: &str = "tok-bob-000000000000000000000000";
/// Carl's phone (19) rings and is never answered.
pub const CARL: &str = "tok-carl-00000000000000000000000";

/// The configuration every test starts from, plus `extra` TOML appended (other tables).
pub fn config_text(ami_port: u16, http: &str, extra: &str) -> String {
    format!(
        r#"
{http}

[ami]
host = "127.0.0.1"
port = {ami_port}
username = "clickdial"
secret = "clickdial-secret"
channel = "Local/{{extension}}@agents"
context = "extensiones-locales"
ring_timeout_secs = 5

[dial]
country = "ES"
# The test dialplan's destinations 9000X (busy) and 9001X (congested) are five digits.
internal_max_len = 5

[[agents]]
name = "ana"
extension = "10"
token_hash = "{}"

[[agents]]
name = "bob"
extension = "20"
token_hash = "{}"

[[agents]]
name = "carl"
extension = "19"
token_hash = "{}"

{extra}
"#,
        TokenHash::of(ANA),
        TokenHash::of(BOB),
        TokenHash::of(CARL),
    )
}

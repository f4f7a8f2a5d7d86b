//! The `clickdial-gateway` binary as an operator uses it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn gateway(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clickdial-gateway"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn hash_token_prints_the_config_value_and_refuses_weak_tokens() {
    let out = gateway(&["hash-token"], "abcdefghijklmnopqrstuvwxyz0123\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let hash = text(&out.stdout);
    assert!(
        hash.starts_with("sha256:") && hash.trim().len() == 71,
        "{hash}"
    );

    let out = gateway(&["hash-token"], "short\n");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("at least 24"),
        "{}",
        text(&out.stderr)
    );

    let out = gateway(&["hash-token"], "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no token on stdin"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn generated_token_hashes_to_the_printed_hash() {
    let out = gateway(&["hash-token", "--generate"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let token = stdout
        .lines()
        .next()
        .unwrap()
        .strip_prefix("token      = ")
        .unwrap();
    let printed = stdout.lines().nth(1).unwrap();
    let again = text(&gateway(&["hash-token"], &format!("{token}\n")).stdout);
    assert_eq!(printed, format!("token_hash = \"{}\"", again.trim()));
}

#[test]
fn check_config_explains_a_good_file_and_lists_every_problem_of_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    let good = r#"
[http]
listen = "0.0.0.0:8443"

[ami]
host = "pbx.example.net"
username = "clickdial"
secret_file = "ami-secret"
channel = "PJSIP/{extension}"
context = "from-internal"

[dial]
country = "ES"
outside_prefix = "0"

[[agents]]
name = "ana"
extension = "201"
token_hash = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
"#;
    std::fs::write(&path, good).unwrap();
    let out = gateway(&["check-config", "--config", path.to_str().unwrap()], "");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("ana rings PJSIP/201"), "{stdout}");
    assert!(
        stdout.contains("warning: [http] listens on 0.0.0.0:8443 without TLS"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("The configuration is valid.\n"),
        "{stdout}"
    );

    let bad = good
        .replace("PJSIP/{extension}", "PJSIP/201")
        .replace("\"201\"", "\"\"");
    std::fs::write(&path, bad).unwrap();
    let out = gateway(&["check-config", "--config", path.to_str().unwrap()], "");
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
    assert!(stderr.contains("must contain {extension}"), "{stderr}");
}

#[test]
fn the_shipped_example_configuration_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/gateway.toml");
    let out = gateway(&["check-config", "--config", example], "");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("Listens on https://0.0.0.0:8443"),
        "{stdout}"
    );
    assert!(stdout.contains("ana rings PJSIP/201"), "{stdout}");
    assert!(
        stdout.contains("Numbers: home country ES, outside-line prefix 0"),
        "{stdout}"
    );
    assert!(stdout.contains("3 deny pattern(s)"), "{stdout}");
}

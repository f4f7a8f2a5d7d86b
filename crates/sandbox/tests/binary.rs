//! The `clickdial-sandbox` binary: it says where it listens, and serves its `--config`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running binary, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args` and returns it with the address it printed.
fn start(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clickdial-sandbox"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("clickdial-sandbox: AMI listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (running, addr)
}

/// Logs in with a plaintext secret and returns everything read until the response.
fn login(addr: &str, user: &str, secret: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let mut buf = [0; 1024];
    while !text.contains("Message: ") || !text.ends_with("\r\n\r\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {text:?}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text
}

#[test]
fn prints_its_address_and_serves_the_default_accounts() {
    let (_running, addr) = start(&["--listen", "127.0.0.1:0", "--speed", "10"]);
    let text = login(&addr, "clickdial", "clickdial-secret");
    assert!(
        text.starts_with("Asterisk Call Manager/11.0.0\r\n"),
        "{text}"
    );
    assert!(text.contains("Authentication accepted"), "{text}");
}

#[test]
fn serves_the_accounts_of_its_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox.toml");
    std::fs::write(
        &path,
        "speed = 5.0\n[[accounts]]\nusername = \"demo\"\nsecret = \"demo-secret\"\nread = [\"call\"]\nwrite = [\"originate\"]\n",
    )
    .unwrap();
    let (_running, addr) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--config",
        path.to_str().unwrap(),
    ]);
    assert!(login(&addr, "demo", "demo-secret").contains("Authentication accepted"));
}

#[test]
fn a_bad_config_file_is_an_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_clickdial-sandbox"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--config",
            "/nonexistent/sandbox.toml",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read the sandbox configuration"),
        "{stderr}"
    );
}

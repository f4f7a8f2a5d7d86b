//! The `clickdial-gateway serve` binary in a child process, with everything it prints.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A gateway process and what it printed so far.
pub struct Process {
    /// The running `clickdial-gateway serve`.
    pub child: Child,
    /// Its base URL, `http://127.0.0.1:port`.
    pub base: String,
    log: mpsc::Receiver<String>,
}

impl Process {
    /// Starts `clickdial-gateway serve` with `RUST_LOG=log_filter` and waits for its
    /// "listening on" line.
    pub fn start(config: &Path, log_filter: &str) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clickdial-gateway"))
            .args(["serve", "--config"])
            .arg(config)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", log_filter)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut seen = Vec::new();
        let base = loop {
            let line = log
                .recv_timeout(Duration::from_secs(15))
                .unwrap_or_else(|_| panic!("no 'listening on' line; output so far: {seen:#?}"));
            if let Some(at) = line.find("listening on ") {
                break line[at + "listening on ".len()..].trim().to_owned();
            }
            seen.push(line);
        };
        Process { child, base, log }
    }

    /// Everything the process printed after its "listening on" line; call it once the
    /// process has exited (it reads until both pipes are closed).
    pub fn output(&self) -> String {
        self.log.iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

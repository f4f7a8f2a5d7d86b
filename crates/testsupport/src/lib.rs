//! Real Asterisk 22 instances for clickdial's tests.
//!
//! Every suite that talks to a PBX starts its own Asterisk through [`Pbx::start`] or
//! [`Pbx::builder`]: a free loopback port, an optional configuration overlay, and the
//! instance's logs printed when the test fails. Asterisk comes from the scripts in
//! `../shared/pbx` (see its README); the [`PBX_ENV`] environment variable names that
//! directory.
//!
//! Tests that need Asterisk are marked
//! `#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]`, so a plain
//! `cargo test` on a machine without one reports them as ignored with that reason, and
//! README's test command runs them with `--include-ignored` whenever Asterisk is there.
//! Asked to run without [`PBX_ENV`], [`Pbx::start`] fails with [`PbxError::NotConfigured`]
//! instead of passing silently.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use std::{fs, io, thread};

use tempfile::TempDir;

/// The environment variable naming the directory that holds Asterisk's `start` and `stop`
/// scripts (`../shared/pbx` beside a checkout).
pub const PBX_ENV: &str = "CLICKDIAL_PBX";

/// An `extensions.conf` shaped like a production click-to-dial dialplan, for
/// `Pbx::builder().conf("extensions.conf", DIALPLAN)`: destinations are reached with `Dial()`,
/// so Asterisk reports their outcome in `DialEnd` as it would for a real trunk.
///
/// Agents (`Local/<ext>@agents`): 10–18 answer and hold 20 s, 19 rings forever, 20 is busy.
/// Destinations (context `extensiones-locales`): `9000X` busy, `9001X` congested, any other
/// digits (or `+` digits) answer and hang up after 2 s.
pub const DIALPLAN: &str = "\
[general]
static = yes
writeprotect = yes

[agents]
exten => _1[0-8],1,Answer()
 same => n,Wait(20)
 same => n,Hangup()
exten => 19,1,Ringing()
 same => n,Wait(120)
exten => 20,1,Busy(5)

[extensiones-locales]
exten => _X.,1,Dial(Local/${EXTEN}@destinations,10)
 same => n,Hangup()
exten => _+X.,1,Dial(Local/${EXTEN}@destinations,10)
 same => n,Hangup()

[destinations]
exten => _9000X,1,Busy(5)
exten => _9001X,1,Congestion(5)
exten => _X.,1,Answer()
 same => n,Wait(2)
 same => n,Hangup()
exten => _+X.,1,Answer()
 same => n,Wait(2)
 same => n,Hangup()
";

/// A `manager.conf` for `Pbx::builder().conf("manager.conf", ..)`: AMI on loopback plus
/// one account per `(name, read, write)`, each with the secret `<name>-secret` and allowed
/// only from 127.0.0.1. `general_extra` lines (e.g. TLS settings) go into `[general]`.
pub fn manager_conf(general_extra: &str, accounts: &[(&str, &str, &str)]) -> String {
    let mut conf =
        format!("[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n{general_extra}\n");
    for (name, read, write) in accounts {
        let _ = write!(
            conf,
            "\n[{name}]\nsecret = {name}-secret\ndeny = 0.0.0.0/0.0.0.0\n\
             permit = 127.0.0.1/255.255.255.255\nread = {read}\nwrite = {write}\n"
        );
    }
    conf
}

/// How many times a start is retried when the chosen free port was taken in between.
const START_ATTEMPTS: usize = 4;

/// How many lines of each log [`Pbx::diagnostics`] shows.
const LOG_TAIL_LINES: usize = 80;

/// Why an Asterisk instance could not be found, started or restarted.
#[derive(Debug, thiserror::Error)]
pub enum PbxError {
    /// [`PBX_ENV`] is unset, so this machine has no Asterisk for tests.
    #[error(
        "{PBX_ENV} is not set: point it at the directory holding Asterisk's start/stop scripts \
         (../shared/pbx beside the checkout), or run README's test command, which does"
    )]
    NotConfigured,
    /// [`PBX_ENV`] names a directory without an executable `start` script.
    #[error("{PBX_ENV}={0} has no executable `start` script")]
    MissingScripts(PathBuf),
    /// Creating the instance's directories or files failed.
    #[error("preparing the Asterisk instance: {0}")]
    Io(#[from] io::Error),
    /// The `start` script failed; its own explanation and Asterisk's console follow.
    #[error("Asterisk did not start ({status}):\n{stderr}\n--- console ---\n{console}")]
    StartFailed {
        /// The script's exit status.
        status: String,
        /// What the script printed on stderr.
        stderr: String,
        /// The tail of Asterisk's console log.
        console: String,
    },
    /// The `start` script succeeded but printed something this crate cannot read.
    #[error("unexpected output from the start script: {0:?}")]
    BadScriptOutput(String),
}

/// Finds the Asterisk scripts directory from [`PBX_ENV`].
pub fn pbx_scripts() -> Result<PathBuf, PbxError> {
    let dir = std::env::var_os(PBX_ENV)
        .filter(|v| !v.is_empty())
        .ok_or(PbxError::NotConfigured)?;
    let dir = PathBuf::from(dir);
    if dir.join("start").is_file() && dir.join("stop").is_file() {
        Ok(dir)
    } else {
        Err(PbxError::MissingScripts(dir))
    }
}

/// Configures an Asterisk instance before starting it.
#[derive(Debug, Default)]
pub struct PbxBuilder {
    overlay: Vec<(String, String)>,
}

impl PbxBuilder {
    /// Adds a configuration file (e.g. `"manager.conf"`) that replaces the default of that
    /// name in `../shared/pbx/conf`. AMI and HTTP ports are filled in afterwards, so a
    /// `manager.conf` may carry any `port =` line.
    pub fn conf(mut self, file_name: &str, contents: &str) -> Self {
        self.overlay
            .push((file_name.to_owned(), contents.to_owned()));
        self
    }

    /// Starts Asterisk on free loopback ports and waits until AMI answers.
    pub fn start(self) -> Result<Pbx, PbxError> {
        let scripts = pbx_scripts()?;
        let overlay = if self.overlay.is_empty() {
            None
        } else {
            let dir = tempfile::Builder::new()
                .prefix("clickdial-pbx-conf.")
                .tempdir()?;
            for (name, contents) in &self.overlay {
                fs::write(dir.path().join(name), contents)?;
            }
            Some(dir)
        };
        let dir = tempfile::Builder::new()
            .prefix("clickdial-pbx.")
            .tempdir()?;
        let mut pbx = Pbx {
            scripts,
            dir: Some(dir),
            overlay,
            pid: 0,
            ami_port: 0,
            http_port: 0,
        };
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            pbx.ami_port = free_port()?;
            pbx.http_port = free_port()?;
            match pbx.run_start_script() {
                Ok(()) => return Ok(pbx),
                Err(e @ PbxError::StartFailed { .. })
                    if e.to_string().contains("already listens") =>
                {
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.expect("at least one start attempt was made"))
    }
}

/// A running Asterisk 22 on loopback, stopped when dropped.
///
/// If the test panics while a `Pbx` is alive, its console and message logs are printed to
/// stderr (which the test harness shows with the failure) and its directory is kept.
#[derive(Debug)]
pub struct Pbx {
    scripts: PathBuf,
    dir: Option<TempDir>,
    overlay: Option<TempDir>,
    pid: u32,
    ami_port: u16,
    http_port: u16,
}

impl Pbx {
    /// Starts an Asterisk with the default configuration of `../shared/pbx`.
    pub fn start() -> Result<Pbx, PbxError> {
        PbxBuilder::default().start()
    }

    /// Returns a builder for an instance with its own configuration files.
    pub fn builder() -> PbxBuilder {
        PbxBuilder::default()
    }

    /// The AMI address (`127.0.0.1:port`).
    pub fn ami_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.ami_port))
    }

    /// The AMI TCP port.
    pub fn ami_port(&self) -> u16 {
        self.ami_port
    }

    /// The port of Asterisk's HTTP server (AJAM).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The instance's directory: `etc/`, `log/`, `console.log`, `pid`.
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("the directory lives as long as the Pbx")
            .path()
    }

    /// The process id of the running Asterisk.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the Asterisk process is still alive (a zombie counts as dead).
    pub fn is_running(&self) -> bool {
        process_alive(self.pid)
    }

    /// Stops Asterisk gracefully (SIGTERM, then SIGKILL after five seconds).
    pub fn stop(&mut self) {
        let _ = Command::new(self.scripts.join("stop"))
            .arg(self.dir())
            .status();
        self.wait_until_gone();
    }

    /// Kills Asterisk with SIGKILL, as a crash or an operator's `kill -9` would.
    pub fn kill(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
        self.wait_until_gone();
    }

    /// Starts Asterisk again in the same directory on the same ports, after [`Pbx::stop`]
    /// or [`Pbx::kill`]; clients that reconnect find it where it was.
    pub fn restart(&mut self) -> Result<(), PbxError> {
        if self.is_running() {
            self.stop();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.run_start_script() {
                Err(e @ PbxError::StartFailed { .. })
                    if e.to_string().contains("already listens") && Instant::now() < deadline =>
                {
                    thread::sleep(Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }

    /// Asterisk's console output and its `log/messages` file, the last lines of each.
    pub fn diagnostics(&self) -> String {
        let mut out = String::new();
        for name in ["console.log", "log/messages", "log/full"] {
            let path = self.dir().join(name);
            if let Ok(text) = fs::read_to_string(&path) {
                let _ = writeln!(
                    out,
                    "--- {} (last {LOG_TAIL_LINES} lines) ---",
                    path.display()
                );
                out.push_str(&tail(&text, LOG_TAIL_LINES));
                out.push('\n');
            }
        }
        out
    }

    /// Waits (at most five seconds) until the process is dead and AMI's port refuses
    /// connections: a killed process's main thread turns zombie before its other threads
    /// have let go of the listening socket.
    fn wait_until_gone(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while (self.is_running() || TcpStream::connect(self.ami_addr()).is_ok())
            && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn run_start_script(&mut self) -> Result<(), PbxError> {
        let mut cmd = Command::new(self.scripts.join("start"));
        cmd.arg("--dir")
            .arg(self.dir())
            .args(["--ami-port", &self.ami_port.to_string()])
            .args(["--http-port", &self.http_port.to_string()]);
        if let Some(overlay) = &self.overlay {
            cmd.arg("--conf").arg(overlay.path());
        }
        let output = cmd.output()?;
        if !output.status.success() {
            return Err(PbxError::StartFailed {
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                console: fs::read_to_string(self.dir().join("console.log"))
                    .map(|t| tail(&t, LOG_TAIL_LINES))
                    .unwrap_or_default(),
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let pid = stdout
            .lines()
            .find_map(|l| l.strip_prefix("PBX_PID="))
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| PbxError::BadScriptOutput(stdout.clone().into_owned()))?;
        self.pid = pid;
        Ok(())
    }
}

impl Drop for Pbx {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "Asterisk (pid {}, AMI port {}) of the failed test; its directory is kept at {}\n{}",
                self.pid,
                self.ami_port,
                self.dir().display(),
                self.diagnostics()
            );
            if let Some(dir) = self.dir.take() {
                let _ = dir.keep();
            }
            let _ = Command::new("kill")
                .args(["-9", &self.pid.to_string()])
                .status();
        } else if self.is_running() {
            // The instance is thrown away, so there is nothing to shut down gracefully.
            self.kill();
        }
    }
}

/// Asks the kernel for a loopback port nobody listens on.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Whether `pid` names a live process; zombies, which nobody may have reaped yet, are dead.
fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_conf_has_one_section_per_account() {
        let conf = manager_conf(
            "tlsenable = yes",
            &[("clickdial", "call", "originate"), ("readonly", "call", "")],
        );
        assert!(
            conf.starts_with("[general]\nenabled = yes\nport = 5038\n"),
            "{conf}"
        );
        assert!(conf.contains("tlsenable = yes\n"), "{conf}");
        assert!(
            conf.contains("[clickdial]\nsecret = clickdial-secret\n"),
            "{conf}"
        );
        assert!(
            conf.contains("[readonly]\nsecret = readonly-secret\n"),
            "{conf}"
        );
        assert!(conf.ends_with("read = call\nwrite = \n"), "{conf}");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn own_process_is_alive_and_a_free_port_is_not() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(u32::MAX));
    }

    #[test]
    fn free_ports_can_be_bound() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }

    #[test]
    #[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
    fn starts_stops_and_restarts_asterisk_with_an_overlay() {
        let mut pbx = Pbx::builder()
            .conf("extensions.conf", "[agents]\nexten => 10,1,Hangup()\n")
            .start()
            .expect("Asterisk starts");
        assert!(pbx.is_running());
        let overlaid = fs::read_to_string(pbx.dir().join("etc/extensions.conf")).unwrap();
        assert!(overlaid.contains("exten => 10,1,Hangup()"), "{overlaid}");
        std::net::TcpStream::connect(pbx.ami_addr()).expect("AMI listens");

        let first_pid = pbx.pid();
        pbx.kill();
        assert!(!pbx.is_running());
        assert!(std::net::TcpStream::connect(pbx.ami_addr()).is_err());

        pbx.restart().expect("Asterisk restarts on the same ports");
        assert_ne!(pbx.pid(), first_pid);
        std::net::TcpStream::connect(pbx.ami_addr()).expect("AMI listens again");

        let dir = pbx.dir().to_owned();
        drop(pbx);
        assert!(!dir.exists(), "a passing test leaves no files behind");
    }
}

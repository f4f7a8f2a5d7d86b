//! How fast a click becomes a ringing phone: the gateway against the other ways to make
//! Asterisk originate, all against one real Asterisk 22 in one run.
//!
//!     CLICKDIAL_PBX=../shared/pbx cargo bench -p clickdial-gateway --bench dial [-- CALLS]
//!
//! Latency (sequential requests, each path its own agent extension) is measured twice: until
//! the HTTP/AMI answer, and until the agent's channel appears in Asterisk (its `Newchannel`
//! event on a separate AMI connection: the moment the agent's phone starts ringing).
//! - gateway: `POST /v1/calls` with a bearer token on a kept-alive connection, through the
//!   release binary `clickdial-gateway serve` (auth, number rules, policy, audit, AMI);
//! - AJAM with session: Asterisk's own HTTP manager, `/rawman?action=originate` with a
//!   logged-in session cookie on a kept-alive connection (the PBX's own floor);
//! - AJAM login per click: what browser extensions do, login + originate on a new connection;
//! - whitepaper: the classic `call.php` design, a new AMI connection per click, each header
//!   written separately, login, a synchronous Originate and Logoff;
//! - AJAM through a relay: the AJAM-with-session requests through a TCP relay that only
//!   copies bytes: what one more program between the client and Asterisk costs on this
//!   machine, before that program does anything (the gateway is such a program).
//!
//! Throughput: the gateway with 16 concurrent clients (kept-alive connections sending
//! pre-formatted requests) against raw AMI on one logged-in connection. The goal's baseline
//! is bare Originates pipelined (all at once); beside it, bare Originates with 16 unanswered
//! at most, bare Originates with 16 at most whose agent channel does not exist yet (paced as
//! the gateway paces its own, `[ami] originate_window`), and the gateway's own Originate
//! (a channel id chosen by the sender, so the call can be followed from its first event; the
//! ring timeout) pipelined and paced as the gateway: the same work for Asterisk as the
//! gateway's, without the gateway. Three rounds each in turns, medians compared.
//! A round counts until its last call ended (Asterisk placed every call and finished with
//! it; the gateway followed and recorded every one), seen on an AMI account that is sent only
//! `Hangup` events; until the last answer (Originates accepted, queued in Asterisk) is printed
//! too. The CPU time the gateway, Asterisk and the load generators spent per call is printed
//! beside it: on a small machine they share the cores, so the gateway's CPU is taken from
//! Asterisk.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/process.rs"]
mod process;
#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clickdial_ami::{Client, Config};
use clickdial_testsupport::Pbx;
use reqwest::cookie::CookieStore;
use reqwest::header::HeaderValue;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

use common::{ANA, config_text};
use process::Process;

/// A dialplan with short calls, so hundreds of them do not pile up: agents answer and hang
/// up after a second; destinations answer and hang up at once.
const DIALPLAN: &str = "\
[agents]
exten => _1X,1,Answer()
 same => n,Wait(1)
 same => n,Hangup()

[extensiones-locales]
exten => _X.,1,Answer()
 same => n,Hangup()
";

/// The token of agent ana (extension 10) in the shared test configuration.
const TOKEN: &str = ANA;

/// One measured path: per-request latencies to the answer and to the agent's channel.
struct Sample {
    name: &'static str,
    answer: Vec<Duration>,
    channel: Vec<Duration>,
}

fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Subscribes now and, in the background, notes when the `Newchannel` of agent
/// `extension`'s originated channel arrives.
fn channel_appears(watcher: &Client, extension: &str) -> tokio::task::JoinHandle<Instant> {
    let prefix = format!("Local/{extension}@agents-");
    let mut events = watcher.events().named(["Newchannel"]);
    tokio::spawn(async move {
        loop {
            let event = events.recv().await.expect("the watcher keeps receiving");
            if event
                .get("Channel")
                .is_some_and(|c| c.starts_with(&prefix) && c.ends_with(";1"))
            {
                return Instant::now();
            }
        }
    })
}

impl Sample {
    fn new(name: &'static str) -> Sample {
        Sample {
            name,
            answer: vec![],
            channel: vec![],
        }
    }

    /// Times one click until it returns and until agent `extension`'s channel appears in
    /// Asterisk.
    async fn time(&mut self, watcher: &Client, extension: &str, click: impl Future<Output = ()>) {
        let ringing = channel_appears(watcher, extension);
        let started = Instant::now();
        click.await;
        self.answer.push(started.elapsed());
        self.channel.push(ringing.await.unwrap() - started);
    }
}

/// Runs `click` `calls` times, one after another, timing each until it returns and until
/// agent `extension`'s channel appears in Asterisk.
async fn measure<F, Fut>(
    watcher: &Client,
    name: &'static str,
    extension: &str,
    calls: usize,
    mut click: F,
) -> Sample
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut sample = Sample::new(name);
    for i in 0..calls {
        sample.time(watcher, extension, click(i)).await;
    }
    sample
}

/// Sends `POST /v1/calls` for each number, one after the other on one kept-alive connection,
/// and checks each answer is 202. The requests are formatted before the first is sent and the
/// answers only scanned for their status and length: a load generator as lean as the raw AMI
/// side's, so the figure is the gateway's and not an HTTP client library's.
async fn post_calls(addr: &str, numbers: impl Iterator<Item = String>) {
    let requests: Vec<String> = numbers
        .map(|number| {
            let body = format!("{{\"to\":\"{number}\"}}");
            format!(
                "POST /v1/calls HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        })
        .collect();
    let mut reader = AsyncBufReader::new(TcpStream::connect(addr).await.unwrap());
    let mut line = String::new();
    for request in requests {
        reader
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .unwrap();
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        assert!(line.starts_with("HTTP/1.1 202"), "{line}");
        let mut length = 0;
        loop {
            line.clear();
            reader.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.unwrap();
    }
}

/// Asks Asterisk's HTTP manager for `query` (after `/rawman?`) and checks it succeeded.
async fn ajam(client: &reqwest::Client, http: &str, query: &str) {
    let url = format!("{http}/rawman?{query}");
    let text = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("Success"), "{url}: {text}");
}

/// Logs an AJAM session in (its cookie stays in `client`).
async fn ajam_login(client: &reqwest::Client, http: &str) {
    ajam(
        client,
        http,
        "action=login&username=clickdial&secret=clickdial-secret",
    )
    .await;
}

/// Logs an AJAM session off, given its cookie or (without one) the one in `client`.
/// Asterisk keeps every event for a session until it is read or the session times out (a
/// minute later), so sessions left behind would weigh on whatever is measured after them.
async fn ajam_logoff(client: &reqwest::Client, http: &str, cookie: Option<&HeaderValue>) {
    let url = format!("{http}/rawman?action=logoff");
    let mut request = client.get(&url);
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    let text = request.send().await.unwrap().text().await.unwrap();
    assert!(text.contains("Goodbye"), "{url}: {text}");
}

/// Originates agent `extension` → `number` through AJAM with the session in `client`.
async fn ajam_originate(client: &reqwest::Client, http: &str, extension: &str, number: &str) {
    let query = format!(
        "action=originate&channel=Local/{extension}@agents&context=extensiones-locales\
         &exten={number}&priority=1&async=true"
    );
    ajam(client, http, &query).await;
}

/// Reads one AMI message (up to its blank line) from `reader`.
async fn read_message(reader: &mut AsyncBufReader<TcpStream>) -> String {
    let mut message = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap() == 0 {
            return message;
        }
        if line == "\r\n" || line == "\n" {
            if !message.is_empty() {
                return message;
            }
            continue;
        }
        message.push_str(&line);
    }
}

/// Reads AMI messages until one carries `ActionID: id`.
async fn read_response(reader: &mut AsyncBufReader<TcpStream>, id: &str) -> String {
    let needle = format!("ActionID: {id}\r\n");
    loop {
        let message = read_message(reader).await;
        if message.contains(&needle) || message.is_empty() {
            return message;
        }
    }
}

/// The whitepaper's call.php: connect, write every header on its own, login, synchronous
/// Originate, Logoff.
async fn whitepaper_click(addr: &str, extension: &str, number: &str) -> String {
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut reader = AsyncBufReader::new(stream);
    let mut banner = String::new();
    reader.read_line(&mut banner).await.unwrap();
    let actions: [&[&str]; 3] = [
        &[
            "Action: Login",
            "ActionID: 1",
            "Username: clickdial",
            "Secret: clickdial-secret",
        ],
        &[
            "Action: Originate",
            "ActionID: 2",
            &format!("Channel: Local/{extension}@agents"),
            "Context: extensiones-locales",
            &format!("Exten: {number}"),
            "Priority: 1",
            "Timeout: 30000",
        ],
        &["Action: Logoff", "ActionID: 3"],
    ];
    let mut answer = String::new();
    for (i, lines) in actions.iter().enumerate() {
        for line in lines.iter() {
            reader
                .get_mut()
                .write_all(format!("{line}\r\n").as_bytes())
                .await
                .unwrap();
        }
        reader.get_mut().write_all(b"\r\n").await.unwrap();
        let response = read_response(&mut reader, &(i + 1).to_string()).await;
        if i == 1 {
            answer = response;
        }
    }
    answer
}

/// Starts a TCP relay to `target` on a free loopback port: two threads per connection that
/// copy bytes and nothing else.
fn start_relay(target: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let (Ok(client), Ok(server)) = (client, std::net::TcpStream::connect(target)) else {
                continue;
            };
            for stream in [&client, &server] {
                stream.set_nodelay(true).unwrap();
            }
            let (client_out, server_out) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut &client, &mut &server_out));
            std::thread::spawn(move || std::io::copy(&mut &server, &mut &client_out));
        }
    });
    addr
}

/// How many times the throughput of the gateway and of raw AMI are measured, in turns.
const THROUGHPUT_ROUNDS: usize = 3;

/// One throughput round: calls per second until the last answer (the Originates accepted:
/// queued in Asterisk) and until the last call ended (placed and over: Asterisk's work for
/// them done), and the CPU the gateway, Asterisk and this load generator spent per call (µs)
/// until the end.
struct Run {
    accepted: f64,
    completed: f64,
    cpu_completed: [f64; 3],
}

/// A moment of a round (its start, last answer or end): the time and the CPU times of the
/// gateway, Asterisk and this process (`pids`, no gateway in raw AMI rounds) then.
struct Snapshot {
    at: Instant,
    cpu: [Duration; 3],
}

impl Snapshot {
    fn now(pids: &[Option<u32>; 3]) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            cpu: cpu_times(pids),
        }
    }
}

impl Run {
    /// The round of `calls` calls between `started`, its last answer `answered` and its
    /// last call's end `ended`.
    fn new(calls: usize, started: &Snapshot, answered: &Snapshot, ended: &Snapshot) -> Run {
        let rate = |end: &Snapshot| calls as f64 / (end.at - started.at).as_secs_f64();
        Run {
            accepted: rate(answered),
            completed: rate(ended),
            cpu_completed: [0, 1, 2].map(|k| per_call(ended.cpu[k] - started.cpu[k], calls)),
        }
    }

    /// The round with the median of `rate`.
    fn median(runs: &[Run], rate: fn(&Run) -> f64) -> &Run {
        let mut sorted: Vec<&Run> = runs.iter().collect();
        sorted.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
        sorted[sorted.len() / 2]
    }
}

/// The AMI accounts of the benchmark: the gateway's and raw AMI's least-privilege account,
/// and `hangups`, which is sent only `Hangup` events: it sees every call of a throughput
/// round end, whoever started it, for two small event writes per call (in the gateway's
/// rounds and in raw AMI's alike).
fn manager_conf() -> String {
    clickdial_testsupport::manager_conf(
        "webenabled = yes\ndisplayconnects = no",
        &[("clickdial", "call", "originate"), ("hangups", "call", "")],
    ) + "eventfilter(action(include),name(Hangup)) =\n"
}

/// Counts the `Hangup` events Asterisk reports, on the `hangups` account.
struct Hangups {
    seen: watch::Receiver<usize>,
}

impl Hangups {
    /// Logs in and counts in the background from now on.
    async fn watch(addr: &str) -> Hangups {
        let mut reader = raw_ami_login(addr, "hangups").await;
        let (tx, seen) = watch::channel(0);
        tokio::spawn(async move {
            let mut hangups = Marks::new(b"Event: Hangup\r\n", b"");
            let mut chunk = Vec::with_capacity(1 << 16);
            while read_chunk(&mut reader, &mut chunk).await {
                let found = hangups.count(&chunk);
                tx.send_modify(|n| *n += found);
            }
        });
        Hangups { seen }
    }

    /// How many have been seen so far.
    fn count(&self) -> usize {
        *self.seen.borrow()
    }

    /// Waits until `total` have been seen.
    async fn wait_for(&mut self, total: usize) {
        let waited = tokio::time::timeout(
            Duration::from_secs(120),
            self.seen.wait_for(|n| *n >= total),
        )
        .await
        .is_ok();
        assert!(
            waited,
            "{total} hangups not seen within 120 s, only {}",
            self.count()
        );
    }
}

/// Waits until the gateway at `base` has seen `calls` calls end (its `call_endings` metric):
/// its work for them, outcomes in the audit log included, is done.
async fn wait_gateway_ended(client: &reqwest::Client, base: &str, calls: usize) {
    let started = Instant::now();
    loop {
        let ended: f64 = support::metrics(client, base)
            .await
            .lines()
            .filter(|l| l.starts_with("clickdial_gateway_call_endings_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if ended as usize >= calls {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the gateway saw {ended} of {calls} calls end within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Counts a marker in what a connection sends, read in whole chunks (also where a chunk
/// boundary splits one).
struct Marks {
    mark: &'static [u8],
    carried: Vec<u8>,
}

impl Marks {
    /// Counts `mark`, as if `before` had been read just before the stream.
    fn new(mark: &'static [u8], before: &[u8]) -> Marks {
        Marks {
            mark,
            carried: before.to_vec(),
        }
    }

    /// How many marks `chunk`, the next bytes of the stream, completes. Only the few bytes
    /// around the seam with the last chunk are copied: this runs on the load generator, which
    /// shares the cores with Asterisk.
    fn count(&mut self, chunk: &[u8]) -> usize {
        let mark = self.mark;
        let keep = mark.len() - 1;
        let matches = |bytes: &[u8]| bytes.windows(mark.len()).filter(|w| *w == mark).count();
        // The carried bytes are shorter than a mark, so a mark found here crosses the seam.
        let mut seam = std::mem::take(&mut self.carried);
        seam.extend_from_slice(&chunk[..chunk.len().min(keep)]);
        let found = matches(&seam) + matches(chunk);
        self.carried = if chunk.len() >= keep {
            chunk[chunk.len() - keep..].to_vec()
        } else {
            seam[seam.len().saturating_sub(keep)..].to_vec()
        };
        found
    }
}

/// Reads what has arrived into `chunk` (replacing what it held); `false` once the
/// connection is closed.
async fn read_chunk(reader: &mut AsyncBufReader<TcpStream>, chunk: &mut Vec<u8>) -> bool {
    chunk.clear();
    reader.read_buf(chunk).await.unwrap_or(0) > 0
}

/// A raw AMI connection to `addr`, logged in as `user` (secret `<user>-secret`).
async fn raw_ami_login(addr: &str, user: &str) -> AsyncBufReader<TcpStream> {
    let mut reader = AsyncBufReader::new(TcpStream::connect(addr).await.unwrap());
    let mut banner = String::new();
    reader.read_line(&mut banner).await.unwrap();
    let login = format!(
        "Action: Login\r\nActionID: login\r\nUsername: {user}\r\nSecret: {user}-secret\r\n\r\n"
    );
    reader.get_mut().write_all(login.as_bytes()).await.unwrap();
    read_response(&mut reader, "login").await;
    reader
}

/// What raw AMI sends: the bare Originate, or the gateway's own (a channel id chosen by the
/// sender, so that it can follow the call from its first event, the ring timeout and the
/// two channel variables), which costs Asterisk more.
#[derive(Clone, Copy)]
enum Originates {
    Bare,
    AsTheGateway,
}

/// How a raw AMI client paces its Originates.
#[derive(Clone, Copy)]
enum Pace {
    /// All at once.
    Pipelined,
    /// At most this many unanswered.
    Answered(usize),
    /// At most this many whose agent channel Asterisk has not created yet (its
    /// `Newchannel`), as the gateway paces them.
    Created(usize),
}

/// Originates `calls` calls on a logged-in raw AMI connection, paced as `pace` says.
async fn raw_originates(
    reader: &mut AsyncBufReader<TcpStream>,
    calls: usize,
    pace: Pace,
    kind: Originates,
) {
    let round = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let actions: Vec<String> = (0..calls)
        .map(|i| {
            let tracking = match kind {
                Originates::Bare => String::new(),
                Originates::AsTheGateway => {
                    let id = format!("{round:016x}{i:016x}");
                    format!("ChannelId: {id}\r\nTimeout: 5000\r\n")
                }
            };
            format!(
                "Action: Originate\r\nActionID: o{i}\r\nChannel: Local/14@agents\r\nContext: extensiones-locales\r\nExten: 9322{i:05}\r\nPriority: 1\r\n{tracking}Async: true\r\n\r\n"
            )
        })
        .collect();
    let window = match pace {
        Pace::Pipelined => calls,
        Pace::Answered(window) | Pace::Created(window) => window,
    };
    let mut sent = window.min(calls);
    reader
        .get_mut()
        .write_all(actions[..sent].concat().as_bytes())
        .await
        .unwrap();
    // The answers (and agent channels) are counted in whole chunks as they arrive: the client
    // keeps up with everything Asterisk writes to it. An answer is a message that begins with
    // `Response:` (an `OriginateResponse` event has a `Response:` line too, not first); the
    // first follows the login's blank line. Each call's Local channel has two halves, each
    // with its `Newchannel`.
    let mut answers = Marks::new(b"\r\n\r\nResponse: ", b"\r\n\r\n");
    let mut channels = Marks::new(b"Event: Newchannel\r\n", b"");
    let (mut answered, mut created) = (0, 0);
    let mut chunk = Vec::with_capacity(1 << 16);
    while answered < calls {
        assert!(
            read_chunk(reader, &mut chunk).await,
            "Asterisk closed the raw AMI connection"
        );
        answered += answers.count(&chunk);
        let done = match pace {
            Pace::Pipelined => continue,
            Pace::Answered(_) => answered,
            Pace::Created(_) => {
                created += channels.count(&chunk);
                created / 2
            }
        };
        let more = (done + window).saturating_sub(sent).min(calls - sent);
        if more > 0 {
            let next = actions[sent..sent + more].concat();
            reader.get_mut().write_all(next.as_bytes()).await.unwrap();
            sent += more;
        }
    }
}

/// The CPU time process `pid` has used so far, all its threads (also ended ones) together.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // Linux reports it in USER_HZ, 100 per second on every common architecture.
    Duration::from_millis(ticks * 10)
}

/// The CPU times of each process present in `pids` (zero where none is).
fn cpu_times(pids: &[Option<u32>; 3]) -> [Duration; 3] {
    pids.map(|pid| pid.map_or(Duration::ZERO, cpu_time))
}

/// Microseconds of CPU per call.
fn per_call(cpu: Duration, calls: usize) -> f64 {
    cpu.as_secs_f64() * 1e6 / calls as f64
}

/// Starts the release gateway binary (logging little, so logs don't weigh on the figures)
/// for the Asterisk on `ami_port`, with agent ana on extension 10.
fn start_gateway(dir: &std::path::Path, ami_port: u16) -> Process {
    let config = dir.join("gateway.toml");
    let limits = "[limits]\ncalls_per_minute = 4000000\nrequest_timeout_secs = 30\n\
                  idempotency_window_secs = 30\n[audit]\npath = \"audit.sqlite\"\n";
    std::fs::write(
        &config,
        config_text(ami_port, "[http]\nlisten = \"127.0.0.1:0\"", limits),
    )
    .unwrap();
    Process::start(&config, "warn,clickdial_gateway=info")
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let asterisk = match Pbx::builder()
        .conf("extensions.conf", DIALPLAN)
        .conf("manager.conf", &manager_conf())
        .start()
    {
        Ok(pbx) => pbx,
        Err(e) => {
            eprintln!("this benchmark needs a real Asterisk: {e}");
            std::process::exit(2);
        }
    };
    let addr = asterisk.ami_addr().to_string();
    let http = format!("http://127.0.0.1:{}", asterisk.http_port());
    let watcher = Client::connect(Config::new(&addr, "clickdial", "clickdial-secret").unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(dir.path(), asterisk.ami_port());
    let base = gateway.base.clone();
    let client = reqwest::Client::new();
    support::wait_ready(&client, &base).await;
    println!(
        "clickdial gateway benchmark: {calls} sequential calls per path, Asterisk 22 on loopback\n"
    );

    // The gateway (kept-alive HTTP), AJAM with a logged-in session on a kept-alive
    // connection, and the same AJAM session through a relay, taking turns in blocks of
    // ten calls: whatever else this machine does then, and the calls still up in Asterisk,
    // weigh on the three alike.
    let session = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    ajam_login(&session, &http).await;
    let relay = start_relay(
        format!("127.0.0.1:{}", asterisk.http_port())
            .parse()
            .unwrap(),
    );
    let relayed_http = format!("http://{relay}");
    let mut via_gateway = Sample::new("gateway POST /v1/calls");
    let mut ajam_session = Sample::new("AJAM originate, session");
    let mut ajam_relayed = Sample::new("AJAM session, via a relay");
    for block in (0..calls).collect::<Vec<_>>().chunks(10) {
        for &i in block {
            let call = async {
                let response = client
                    .post(format!("{base}/v1/calls"))
                    .bearer_auth(TOKEN)
                    .json(&serde_json::json!({ "to": format!("93200{i:04}") }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 202, "{:?}", response.text().await);
            };
            via_gateway.time(&watcher, "10", call).await;
        }
        for &i in block {
            let number = format!("93201{i:04}");
            let call = ajam_originate(&session, &http, "11", &number);
            ajam_session.time(&watcher, "11", call).await;
        }
        for &i in block {
            let number = format!("93205{i:04}");
            let call = ajam_originate(&session, &relayed_http, "15", &number);
            ajam_relayed.time(&watcher, "15", call).await;
        }
    }

    ajam_logoff(&session, &http, None).await;

    // AJAM login per click, a new connection each time; each session is logged off after
    // the measurement (its connection closes with its client, as before).
    let sessions = std::sync::Mutex::new(Vec::new());
    let ajam_per_click = measure(&watcher, "AJAM login per click", "12", calls, |i| {
        let (http, sessions) = (http.clone(), &sessions);
        async move {
            let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
            let fresh = reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .build()
                .unwrap();
            ajam_login(&fresh, &http).await;
            ajam_originate(&fresh, &http, "12", &format!("93202{i:04}")).await;
            sessions.lock().unwrap().push(jar);
        }
    })
    .await;
    let url = http.parse().unwrap();
    for jar in sessions.into_inner().unwrap() {
        let cookie = jar.cookies(&url).expect("AJAM set a session cookie");
        ajam_logoff(&client, &http, Some(&cookie)).await;
    }

    // The whitepaper's design.
    let whitepaper = measure(
        &watcher,
        "whitepaper call.php design",
        "13",
        calls.min(100),
        |i| {
            let addr = addr.clone();
            async move {
                let answer = whitepaper_click(&addr, "13", &format!("93203{i:04}")).await;
                assert!(answer.contains("Success"), "{answer}");
            }
        },
    )
    .await;
    let samples = [
        via_gateway,
        ajam_session,
        ajam_per_click,
        whitepaper,
        ajam_relayed,
    ];

    println!(
        "{:<30} {:>10} {:>10} {:>14} {:>14}",
        "latency (ms)", "p50", "p99", "ring p50", "ring p99"
    );
    for s in &samples {
        println!(
            "{:<30} {:>10} {:>10} {:>14} {:>14}",
            s.name,
            ms(percentile(&s.answer, 0.5)),
            ms(percentile(&s.answer, 0.99)),
            ms(percentile(&s.channel, 0.5)),
            ms(percentile(&s.channel, 0.99))
        );
    }
    let p50: HashMap<&str, f64> = samples
        .iter()
        .map(|s| (s.name, percentile(&s.answer, 0.5).as_secs_f64()))
        .collect();
    let gateway_p50 = p50["gateway POST /v1/calls"];
    println!();
    for (name, goal, better_when_below) in [
        ("AJAM originate, session", 1.3, true),
        ("AJAM login per click", 1.0, true),
        ("whitepaper call.php design", 1.0 / 20.0, true),
    ] {
        let ratio = gateway_p50 / p50[name];
        let met = if better_when_below {
            ratio <= goal
        } else {
            ratio >= goal
        };
        println!(
            "gateway p50 / {name}: {ratio:.2}x (goal <= {goal:.2}x) {}",
            if met { "met" } else { "NOT met" }
        );
    }
    let relayed = p50["AJAM session, via a relay"] / p50["AJAM originate, session"];
    println!(
        "AJAM via a relay / AJAM originate, session: {relayed:.2}x (one more hop, no work done)"
    );
    let first = samples[0].answer[0];
    println!(
        "gateway first click after start / gateway p50: {:.2}x ({} against {} ms)",
        first.as_secs_f64() / gateway_p50,
        ms(first),
        ms(percentile(&samples[0].answer, 0.5))
    );

    // Throughput: the gateway with 16 concurrent clients against each raw AMI client (its own
    // connection), in alternating rounds (whatever else this machine does comes and
    // goes); the medians are compared. Each round is timed twice: until its last answer (the
    // Originates accepted, i.e. queued in Asterisk) and until its last call ended (Asterisk
    // placed every call and its work for them is done; for the gateway also its own: every
    // call followed to its end and recorded). Each side has Asterisk to itself: the watcher
    // logs off, the gateway runs only during its own rounds (a gateway left running would
    // spend CPU on the raw calls' events, and Asterisk would write them to it), and a round
    // starts once the last one's calls ended.
    watcher.logoff().await.unwrap();
    support::stop_and_report(gateway, "the latency runs");
    let mut hangups = Hangups::watch(&addr).await;
    let per_client = calls * 10 / 16;
    let calls_made = per_client * 16;
    // Each call has two channels (the two halves of the agent's Local channel).
    let hangups_per_round = 2 * calls_made;
    // The raw AMI clients the gateway is compared with; the first is the goal's baseline.
    let mut baselines = [
        Baseline::new("raw pipelined AMI", Pace::Pipelined, Originates::Bare),
        Baseline::new("raw AMI 16 in flight", Pace::Answered(16), Originates::Bare),
        Baseline::new("raw AMI 16 setting up", Pace::Created(16), Originates::Bare),
        Baseline::new(
            "raw AMI, gateway's action",
            Pace::Pipelined,
            Originates::AsTheGateway,
        ),
        Baseline::new(
            "raw AMI, gateway's action, 16 setting up",
            Pace::Created(16),
            Originates::AsTheGateway,
        ),
    ];
    let mut gateway_runs = Vec::new();
    for round in 1..=THROUGHPUT_ROUNDS {
        let gateway = start_gateway(dir.path(), asterisk.ami_port());
        support::wait_ready(&client, &gateway.base).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let http_addr = gateway.base.trim_start_matches("http://").to_owned();
        let pids = [
            Some(gateway.child.id()),
            Some(asterisk.pid()),
            Some(std::process::id()),
        ];
        let hung_up = hangups.count();
        let started = Snapshot::now(&pids);
        let clients: Vec<_> = (0..16)
            .map(|c| {
                let http_addr = http_addr.clone();
                tokio::spawn(async move {
                    let numbers = (0..per_client).map(move |i| format!("93{c:02}{i:05}"));
                    post_calls(&http_addr, numbers).await;
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        let answered = Snapshot::now(&pids);
        hangups.wait_for(hung_up + hangups_per_round).await;
        wait_gateway_ended(&client, &gateway.base, calls_made).await;
        let ended = Snapshot::now(&pids);
        gateway_runs.push(Run::new(calls_made, &started, &answered, &ended));
        support::stop_and_report(gateway, &format!("throughput round {round}"));

        // Each raw client in turn, on a fresh login; the connection is read to the end of
        // the round (a connection left unread is dropped by Asterisk once its events back up).
        for baseline in &mut baselines {
            tokio::time::sleep(Duration::from_secs(3)).await;
            let mut ami = raw_ami_login(&addr, "clickdial").await;
            let pids = [None, Some(asterisk.pid()), Some(std::process::id())];
            let hung_up = hangups.count();
            let started = Snapshot::now(&pids);
            raw_originates(&mut ami, calls_made, baseline.pace, baseline.kind).await;
            let answered = Snapshot::now(&pids);
            let reading = tokio::spawn(async move {
                let mut chunk = vec![0; 1 << 16];
                while ami.read(&mut chunk).await.unwrap_or(0) > 0 {}
            });
            hangups.wait_for(hung_up + hangups_per_round).await;
            let ended = Snapshot::now(&pids);
            reading.abort();
            baseline
                .runs
                .push(Run::new(calls_made, &started, &answered, &ended));
        }
    }
    let rates = |runs: &[Run], rate: fn(&Run) -> f64| {
        runs.iter()
            .map(|r| format!("{:.0}", rate(r)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let completed = |r: &Run| r.completed;
    let accepted = |r: &Run| r.accepted;
    println!(
        "\nthroughput rounds (calls/s, {calls_made} calls each; completed: until the last call \
         ended, accepted: until the last answer):"
    );
    println!(
        "  {:<40} completed {}; accepted {}",
        "gateway",
        rates(&gateway_runs, completed),
        rates(&gateway_runs, accepted)
    );
    for b in &baselines {
        println!(
            "  {:<40} completed {}; accepted {}",
            b.name,
            rates(&b.runs, completed),
            rates(&b.runs, accepted)
        );
    }
    let gateway = Run::median(&gateway_runs, completed);
    let gateway_accepted = Run::median(&gateway_runs, accepted).accepted;
    println!(
        "CPU per call until the calls ended (us, median round), gateway: gateway {:.0} + \
         Asterisk {:.0} + clients {:.0} ({} cores here)",
        gateway.cpu_completed[0],
        gateway.cpu_completed[1],
        gateway.cpu_completed[2],
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (i, b) in baselines.iter().enumerate() {
        let run = Run::median(&b.runs, completed);
        let ratio = gateway.completed / run.completed;
        let goal = if i == 0 {
            let met = if ratio >= 0.9 { "met" } else { "NOT met" };
            format!(" (goal >= 0.90x) {met}")
        } else {
            String::new()
        };
        println!(
            "throughput (calls placed and ended/s, medians) against {}: gateway {:.0}, raw {:.0}: \
             {ratio:.2}x{goal}",
            b.name, gateway.completed, run.completed
        );
        println!(
            "throughput counted at the last answer (Originates accepted/s, medians) against {}: \
             gateway {gateway_accepted:.0}, raw {:.0}: {:.2}x",
            b.name,
            Run::median(&b.runs, accepted).accepted,
            gateway_accepted / Run::median(&b.runs, accepted).accepted
        );
        println!(
            "CPU per call until the calls ended (us, median round), {}: Asterisk {:.0} + client {:.0}",
            b.name, run.cpu_completed[1], run.cpu_completed[2]
        );
    }
}

/// A raw AMI client the gateway's throughput is compared with, and its rounds.
struct Baseline {
    name: &'static str,
    pace: Pace,
    kind: Originates,
    runs: Vec<Run>,
}

impl Baseline {
    fn new(name: &'static str, pace: Pace, kind: Originates) -> Baseline {
        Baseline {
            name,
            pace,
            kind,
            runs: Vec::new(),
        }
    }
}

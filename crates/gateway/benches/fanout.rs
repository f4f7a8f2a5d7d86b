//! Fan-out: one gateway streaming a call's progress to many concurrent SSE subscribers,
//! against one real Asterisk 22 and the release gateway binary.
//!
//!     CLICKDIAL_PBX=../shared/pbx cargo bench -p clickdial-gateway --bench fanout [-- SUBSCRIBERS]
//!
//! (default 10,000 subscribers; the bench process and the gateway it starts each hold one
//! file descriptor per subscriber, so the soft `ulimit -n` must exceed SUBSCRIBERS + 100.)
//!
//! Agent carl's phone (19 in `clickdial_testsupport::DIALPLAN`) rings until something
//! happens. While it rings, SUBSCRIBERS clients open `GET /v1/calls/{id}/events` with carl's
//! token, each on its own TCP connection, and read `queued` and `agent-ringing`. Then the
//! bench answers the agent's phone: an AMI `Redirect` of the ringing `Local/19@agents-…;2`
//! half to an extension that answers. Asterisk's `Newstate` (`ChannelState: 6`) of the
//! originated `;1` channel, seen on a separate AMI connection, is the event that makes the
//! gateway publish `agent-answered`; its arrival time is the start of the measured delay,
//! and each subscriber's reading of `agent-answered` its end.
//!
//! Figures, each next to a baseline measured in the same run:
//! - memory: the gateway's VmRSS before and with the subscribers connected, per subscriber,
//!   against a fresh gateway holding as many idle kept-alive HTTP/1.1 connections that each
//!   got one `GET /healthz` answer (the cost of a connection alone);
//! - delay: p50, p99 and max (the last subscriber) over the subscribers, against the same
//!   step's delay with a single subscriber (several calls, before the fan-out).
//!
//! The clients speak raw HTTP/1.1 over tokio sockets on the one runtime of this process, so
//! each subscriber costs the bench little and owns exactly one connection. Every subscriber
//! must see the whole progress of the call (`queued` to `ended`) in order; anything else is
//! counted as a failure.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/process.rs"]
mod process;
#[path = "support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clickdial_ami::{Action, Client, Config, Value};
use clickdial_testsupport::{DIALPLAN, Pbx, manager_conf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;

use common::{CARL, config_text};
use process::Process;

/// The agent whose phone rings until the bench answers it (carl, extension 19).
const AGENT: &str = "19";

/// How many clients connect at once. The gateway listens with tokio's default backlog of 128:
/// a larger burst overflows its accept queue and the dropped clients retry only after the
/// kernel's 1 s SYN timeout.
const CONNECTING_AT_ONCE: usize = 64;

/// How many single-subscriber calls make the baseline delay.
const SINGLE_RUNS: usize = 5;

/// The longest any subscriber waits for its next bytes.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Every step a subscriber must see, in order: carl's phone rings, the bench answers it,
/// the destination answers and hangs up after 2 s.
const EXPECTED_STATES: [&str; 6] = [
    "queued",
    "agent-ringing",
    "agent-answered",
    "destination-ringing",
    "connected",
    "ended",
];

/// The AMI account the gateway uses (least privilege) and the bench's own, which may also
/// send `Redirect` (write class `call`) to answer the agent's phone.
fn manager() -> String {
    manager_conf(
        "",
        &[
            ("clickdial", "call", "originate"),
            ("bench", "call", "call"),
        ],
    )
}

/// The gateway's VmRSS in KiB, from `/proc/<pid>/status`.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// CPU time process `pid` has used so far, in nanoseconds: the sum over its threads of
/// `/proc/<pid>/task/<tid>/schedstat` (time on a CPU).
fn cpu_ns(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// This process's soft limit on open files (inherited by the gateway it starts).
fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|soft| soft.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Starts the release gateway for the Asterisk on `ami_port`: carl's phone may ring for
/// 110 s (the dialplan gives up at 120 s), and calls are not rate limited for the bench.
fn start_gateway(dir: &std::path::Path, ami_port: u16) -> Process {
    let config = dir.join("gateway.toml");
    let limits = "[limits]\ncalls_per_minute = 1000\nrequest_timeout_secs = 30\n\
                  idempotency_window_secs = 30\n[audit]\npath = \"audit.sqlite\"\n";
    let text = config_text(ami_port, "[http]\nlisten = \"127.0.0.1:0\"", limits)
        .replace("ring_timeout_secs = 5", "ring_timeout_secs = 110");
    std::fs::write(&config, text).unwrap();
    Process::start(&config, "warn,clickdial_gateway=info")
}

/// The gateway's `host:port`, waiting until it is logged in to Asterisk.
async fn ready(gateway: &Process) -> SocketAddr {
    let client = reqwest::Client::new();
    support::wait_ready(&client, &gateway.base).await;
    gateway.base.trim_start_matches("http://").parse().unwrap()
}

/// Asterisk's side of one call of carl's, watched on the bench's own AMI connection.
struct CallWatch {
    /// The ringing `Local/19@agents-…;2` half, to redirect.
    ringing: oneshot::Receiver<String>,
    /// When the originated `;1` channel's `Newstate` Up arrived: the agent answered.
    answered: oneshot::Receiver<Instant>,
}

impl CallWatch {
    /// Subscribes now (before the call is started) and follows carl's next call.
    fn start(watcher: &Client) -> CallWatch {
        let prefix = format!("Local/{AGENT}@agents-");
        let mut events = watcher.events().named(["Newchannel", "Newstate"]);
        let (ringing_tx, ringing) = oneshot::channel();
        let (answered_tx, answered) = oneshot::channel();
        tokio::spawn(async move {
            let mut ringing_tx = Some(ringing_tx);
            loop {
                let event = events.recv().await.expect("the watcher keeps receiving");
                let at = Instant::now();
                let Some(channel) = event.get("Channel").filter(|c| c.starts_with(&prefix)) else {
                    continue;
                };
                if event.name() == "Newchannel" && channel.ends_with(";2") {
                    if let Some(tx) = ringing_tx.take() {
                        let _ = tx.send(channel.to_owned());
                    }
                } else if event.name() == "Newstate"
                    && channel.ends_with(";1")
                    && event.get("ChannelState") == Some("6")
                {
                    let _ = answered_tx.send(at);
                    return;
                }
            }
        });
        CallWatch { ringing, answered }
    }

    /// Answers the agent's phone (the ringing half goes to agent 10's extension, which
    /// answers) and returns when Asterisk reported the originated channel Up.
    async fn answer(self, watcher: &Client) -> Instant {
        let channel = self.ringing.await.expect("carl's channel appeared");
        let redirect = Action::named("Redirect")
            .with("Channel", Value::new(channel).unwrap())
            .with("Context", Value::new("agents").unwrap())
            .with("Exten", Value::new("10").unwrap())
            .with("Priority", Value::new("1").unwrap());
        let response = watcher.send(redirect).await.expect("Redirect answered");
        assert_eq!(response.get("Response"), Some("Success"), "{response:?}");
        tokio::time::timeout(Duration::from_secs(10), self.answered)
            .await
            .expect("the agent's channel went Up")
            .unwrap()
    }
}

/// Starts a call of carl's through `POST /v1/calls` and returns its id.
async fn start_call(client: &reqwest::Client, gateway: SocketAddr, number: &str) -> String {
    let response = client
        .post(format!("http://{gateway}/v1/calls"))
        .bearer_auth(CARL)
        .json(&serde_json::json!({ "to": number }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// The `"state"` values of the progress events in an SSE response read so far.
fn states(received: &[u8]) -> Vec<&str> {
    let text = std::str::from_utf8(received).unwrap_or("");
    text.split("\"state\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// Reads more of `stream` into `received`; an error when the peer closed or went silent.
async fn read_more(stream: &mut TcpStream, received: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 2048];
    match tokio::time::timeout(READ_TIMEOUT, stream.read(&mut chunk)).await {
        Err(_) => Err("no data for 60 s".to_owned()),
        Ok(Err(e)) => Err(format!("read: {e}")),
        Ok(Ok(0)) => Err("closed by the gateway".to_owned()),
        Ok(Ok(n)) => {
            received.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}

/// Fails unless the response in `received` (once its head is complete) is a 200.
fn check_status(received: &[u8]) -> Result<(), String> {
    match received.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(_) if !received.starts_with(b"HTTP/1.1 200 ") => {
            let head = String::from_utf8_lossy(received);
            Err(format!("answered {}", head.lines().next().unwrap_or("")))
        }
        _ => Ok(()),
    }
}

/// One subscriber: opens the call's event stream, says on `connected` (once) that it read
/// `agent-ringing`, and returns when it read `agent-answered` after checking it then read
/// the call's whole progress.
async fn subscribe(
    gateway: SocketAddr,
    id: Arc<str>,
    connected: &mut Option<mpsc::UnboundedSender<bool>>,
    gate: Arc<Semaphore>,
) -> Result<Instant, String> {
    let permit = gate.acquire_owned().await.unwrap();
    let mut stream = TcpStream::connect(gateway)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let request = format!(
        "GET /v1/calls/{id}/events HTTP/1.1\r\nHost: {gateway}\r\n\
         Authorization: Bearer {CARL}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut received = Vec::with_capacity(1024);
    loop {
        read_more(&mut stream, &mut received).await?;
        check_status(&received)?;
        let seen = states(&received);
        if seen.len() > 2 {
            return Err(format!(
                "more than the ringing steps before the fan-out: {seen:?}"
            ));
        }
        if seen == EXPECTED_STATES[..2] {
            if let Some(tx) = connected.take() {
                let _ = tx.send(true);
            }
            drop(permit);
            return read_rest(stream, received).await;
        }
    }
}

/// The rest of a subscriber's stream: when `agent-answered` arrived, checking that every
/// step arrived in order.
async fn read_rest(mut stream: TcpStream, mut received: Vec<u8>) -> Result<Instant, String> {
    let mut answered = None;
    loop {
        let seen = states(&received);
        if seen.len() >= 3 && answered.is_none() {
            return Err(format!("unexpected steps: {seen:?}"));
        }
        if seen.contains(&"ended") {
            return if seen == EXPECTED_STATES {
                answered.ok_or_else(|| "no agent-answered".to_owned())
            } else {
                Err(format!("steps {seen:?}"))
            };
        }
        read_more(&mut stream, &mut received).await?;
        if answered.is_none() && states(&received).contains(&"agent-answered") {
            answered = Some(Instant::now());
        }
    }
}

/// Opens `count` subscribers to call `id`; returns their tasks once each has read
/// `agent-ringing` or failed, with the failures so far.
async fn open_subscribers(
    gateway: SocketAddr,
    id: &str,
    count: usize,
) -> (JoinSet<Result<Instant, String>>, usize) {
    let id: Arc<str> = id.into();
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        let (id, gate) = (id.clone(), gate.clone());
        let mut connected = Some(tx.clone());
        tasks.spawn(async move {
            let result = subscribe(gateway, id, &mut connected, gate).await;
            if let Some(tx) = connected {
                // Failed before it was connected: say so, so nobody waits for it.
                let _ = tx.send(false);
            }
            result
        });
    }
    drop(tx);
    let mut failed = 0;
    for _ in 0..count {
        if !rx.recv().await.expect("every subscriber reports") {
            failed += 1;
        }
    }
    (tasks, failed)
}

/// Opens `count` HTTP/1.1 connections, each sending one `GET /healthz` and reading its
/// answer, and keeps them open and idle; returns them with the number that failed.
async fn open_idle_connections(gateway: SocketAddr, count: usize) -> (Vec<TcpStream>, usize) {
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        let gate = gate.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let mut stream = TcpStream::connect(gateway)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let request = format!("GET /healthz HTTP/1.1\r\nHost: {gateway}\r\n\r\n");
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|e| format!("write: {e}"))?;
            let mut received = Vec::with_capacity(256);
            while !received.ends_with(b"{\"status\":\"ok\"}") {
                read_more(&mut stream, &mut received).await?;
                check_status(&received)?;
            }
            Ok::<_, String>(stream)
        });
    }
    let mut open = Vec::with_capacity(count);
    let mut failed = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(stream) => open.push(stream),
            Err(e) => {
                failed += 1;
                if failed <= 5 {
                    eprintln!("healthz connection failed: {e}");
                }
            }
        }
    }
    (open, failed)
}

/// How many of `connections` are no longer open and idle: the gateway closed them (a read
/// finds end of file or an error) or sent something unasked.
fn closed_by_peer(connections: &[TcpStream]) -> usize {
    let mut byte = [0u8; 1];
    connections
        .iter()
        .filter(|s| {
            !matches!(s.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count()
}

/// The value of the gateway's `sse_subscribers` gauge.
async fn sse_gauge(client: &reqwest::Client, gateway: SocketAddr) -> String {
    let text = support::metrics(client, &format!("http://{gateway}")).await;
    text.lines()
        .find(|l| !l.starts_with('#') && l.contains("sse_subscribers"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or("?")
        .to_owned()
}

/// The value at fraction `p` of ascending `sorted`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Milliseconds from `from` to `to`, negative when `to` came first (the gateway's AMI
/// connection may get an event before the bench's watcher does).
fn signed_ms(to: Instant, from: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(from.duration_since(to).as_secs_f64() * 1000.0),
    }
}

/// Memory figures for one kind of connection: gateway VmRSS before and with them open.
struct Memory {
    before_kib: u64,
    with_kib: u64,
    connections: usize,
}

impl Memory {
    fn per_connection_kib(&self) -> f64 {
        (self.with_kib as f64 - self.before_kib as f64) / self.connections.max(1) as f64
    }
}

/// The baseline memory: a fresh gateway with `count` idle kept-alive `/healthz` connections.
async fn idle_connection_memory(dir: &std::path::Path, ami_port: u16, count: usize) -> Memory {
    let gateway = start_gateway(dir, ami_port);
    let addr = ready(&gateway).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_kib = rss_kib(gateway.child.id());
    let started = Instant::now();
    let (open, failed) = open_idle_connections(addr, count).await;
    let opened_in = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with_kib = rss_kib(gateway.child.id());
    let closed = closed_by_peer(&open);
    println!(
        "baseline: {} idle kept-alive /healthz connections opened in {:.2} s, {failed} failed, \
         {closed} closed by the gateway before the measurement",
        open.len(),
        opened_in.as_secs_f64()
    );
    Memory {
        before_kib,
        with_kib,
        connections: open.len() - closed,
    }
}

#[tokio::main]
async fn main() {
    let subscribers: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let limit = open_files_limit();
    if subscribers as u64 + 100 > limit {
        eprintln!(
            "{subscribers} subscribers need {} open files in this process and in the gateway; \
             the limit is {limit}: raise it first (`ulimit -n {}`, or LimitNOFILE= for systemd)",
            subscribers + 100,
            subscribers + 100
        );
        std::process::exit(2);
    }
    let asterisk = match Pbx::builder()
        .conf("extensions.conf", DIALPLAN)
        .conf("manager.conf", &manager())
        .start()
    {
        Ok(pbx) => pbx,
        Err(e) => {
            eprintln!("this benchmark needs a real Asterisk: {e}");
            std::process::exit(2);
        }
    };
    let watcher = Client::connect(
        Config::new(asterisk.ami_addr().to_string(), "bench", "bench-secret").unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run_started = Instant::now();
    println!(
        "clickdial gateway fan-out: {subscribers} SSE subscribers to one call, Asterisk 22 on \
         loopback, {} CPUs\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Baseline memory: the same number of plain idle connections, on a gateway of its own.
    let idle = idle_connection_memory(dir.path(), asterisk.ami_port(), subscribers).await;

    let gateway = start_gateway(dir.path(), asterisk.ami_port());
    let addr = ready(&gateway).await;
    let client = reqwest::Client::new();

    // Baseline delay: one subscriber per call.
    let mut single = Vec::new();
    for run in 0..SINGLE_RUNS {
        let watch = CallWatch::start(&watcher);
        let id = start_call(&client, addr, &format!("9320090{run:02}")).await;
        let (mut tasks, failed) = open_subscribers(addr, &id, 1).await;
        assert_eq!(failed, 0, "the single subscriber could not connect");
        let event_at = watch.answer(&watcher).await;
        let seen_at = tasks.join_next().await.unwrap().unwrap().unwrap();
        single.push(signed_ms(seen_at, event_at));
    }
    single.sort_by(f64::total_cmp);

    // The fan-out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_kib = rss_kib(gateway.child.id());
    let watch = CallWatch::start(&watcher);
    let id = start_call(&client, addr, "932009100").await;
    let started = Instant::now();
    let (mut tasks, connect_failed) = open_subscribers(addr, &id, subscribers).await;
    let connected_in = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with_kib = rss_kib(gateway.child.id());
    let gauge = sse_gauge(&client, addr).await;
    println!(
        "fan-out: {} subscribers connected and read agent-ringing within {:.2} s, {connect_failed} failed; the gateway's \
         sse_subscribers gauge says {gauge}",
        subscribers - connect_failed,
        connected_in.as_secs_f64()
    );
    let (gateway_cpu, bench_cpu) = (cpu_ns(gateway.child.id()), cpu_ns(std::process::id()));
    let event_at = watch.answer(&watcher).await;
    let mut delays = Vec::with_capacity(subscribers);
    let mut failures: Vec<String> = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(seen_at) => delays.push(signed_ms(seen_at, event_at)),
            Err(e) => failures.push(e),
        }
    }
    delays.sort_by(f64::total_cmp);
    // Four steps (agent-answered to ended) went to every subscriber in this window.
    let deliveries = 4.0 * (subscribers - connect_failed) as f64;
    let gateway_us = (cpu_ns(gateway.child.id()) - gateway_cpu) as f64 / 1000.0 / deliveries;
    let bench_us = (cpu_ns(std::process::id()) - bench_cpu) as f64 / 1000.0 / deliveries;
    let sse = Memory {
        before_kib,
        with_kib,
        connections: subscribers - connect_failed,
    };

    println!();
    println!(
        "{:<44} {:>12} {:>12} {:>14}",
        "gateway memory (VmRSS)", "before KiB", "with KiB", "per conn KiB"
    );
    for (name, m) in [
        (format!("{} SSE subscribers", sse.connections), &sse),
        (
            format!("{} idle kept-alive /healthz (baseline)", idle.connections),
            &idle,
        ),
    ] {
        println!(
            "{name:<44} {:>12} {:>12} {:>14.2}",
            m.before_kib,
            m.with_kib,
            m.per_connection_kib()
        );
    }
    println!(
        "{:<44} {:>41.2}x",
        "ratio SSE subscriber / idle connection",
        sse.per_connection_kib() / idle.per_connection_kib()
    );

    println!();
    println!(
        "{:<44} {:>12} {:>12} {:>14}",
        "Asterisk Newstate Up -> SSE agent-answered", "p50 ms", "p99 ms", "max/last ms"
    );
    let baseline_p50 = percentile(&single, 0.5);
    println!(
        "{:<44} {:>12.2} {:>12.2} {:>14.2}",
        format!("1 subscriber ({SINGLE_RUNS} calls, baseline)"),
        baseline_p50,
        percentile(&single, 0.99),
        single[single.len() - 1]
    );
    if delays.is_empty() {
        println!("no subscriber received agent-answered");
    } else {
        let (p50, p99, last) = (
            percentile(&delays, 0.5),
            percentile(&delays, 0.99),
            delays[delays.len() - 1],
        );
        println!(
            "{:<44} {p50:>12.2} {p99:>12.2} {last:>14.2}",
            format!("{} subscribers, one call", delays.len()),
        );
        println!(
            "{:<44} {:>12.2} {:>12.2} {:>14.2}",
            "minus 1 subscriber's p50 (ms)",
            p50 - baseline_p50,
            p99 - baseline_p50,
            last - baseline_p50
        );
        // A 1-subscriber delay at or below zero is within the two AMI connections' skew.
        if baseline_p50 > 0.0 {
            println!(
                "{:<44} {:>11.1}x {:>11.1}x {:>13.1}x",
                "ratio to 1 subscriber's p50",
                p50 / baseline_p50,
                p99 / baseline_p50,
                last / baseline_p50
            );
        }
        println!(
            "first subscriber {:.2} ms, last {last:.2} ms after Asterisk's event as the bench's own AMI \
             connection saw it (negative: the gateway's connection had it first)",
            delays[0]
        );
    }

    println!(
        "CPU per event delivered to one subscriber (agent-answered to ended, 4 steps): \
         gateway {gateway_us:.1} us, bench clients {bench_us:.1} us"
    );

    println!();
    println!(
        "failures: {} of {subscribers} subscribers ({connect_failed} before connecting)",
        failures.len()
    );
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for f in &failures {
        match kinds.iter_mut().find(|(k, _)| k == f) {
            Some((_, n)) => *n += 1,
            None => kinds.push((f.clone(), 1)),
        }
    }
    for (kind, n) in kinds.iter().take(10) {
        println!("  {n} x {kind}");
    }

    support::stop_and_report(gateway, "the fan-out");
    println!("run took {:.1} s", run_started.elapsed().as_secs_f64());
}

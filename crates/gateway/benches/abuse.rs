//! Does a good agent keep being served while others misbehave? One real Asterisk 22, the
//! release gateway binary, and four phases of the same workload: agent ana makes sequential
//! calls (each with its own number and Idempotency-Key) while, in turn,
//! - nothing else happens (the baseline);
//! - slow clients: stalled connections that sent half a request head, and slowloris bodies
//!   dribbling one byte at a time;
//! - a flood of unauthenticated requests (wrong bearer tokens) from several connections;
//! - oversized bodies (8 MiB) with a valid token.
//!
//!     CLICKDIAL_PBX=../shared/pbx cargo bench -p clickdial-gateway --bench abuse [-- CALLS]
//!
//! Each phase prints one machine-readable line:
//! `case <name> <PASS|FAIL> calls=N ok=N lost=N duplicated=N p50_ms=X p99_ms=X budget_ms=X <details>`
//! where lost = good requests not answered 202 or never dialed, duplicated = numbers Asterisk
//! dialed more than once (its `Newchannel` events on a separate AMI connection).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/process.rs"]
mod process;
#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clickdial_ami::{Client, Config};
use clickdial_testsupport::Pbx;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use common::{ANA, CARL, config_text};
use process::Process;

/// Short calls so hundreds do not pile up; destinations reached with Dial() so each number
/// shows up once as a `Local/<number>@destinations;1` channel.
const DIALPLAN: &str = "\
[agents]
exten => _1X,1,Answer()
 same => n,Wait(1)
 same => n,Hangup()

[extensiones-locales]
exten => _X.,1,Dial(Local/${EXTEN}@destinations,10)
 same => n,Hangup()

[destinations]
exten => _X.,1,Answer()
 same => n,Hangup()
";

/// The good agent's latency budget: p99 of request → 202 under abuse.
const BUDGET: Duration = Duration::from_millis(250);

fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The good agent: `calls` sequential calls to numbers `prefix` + i; the latencies of the
/// 202 answers and the numbers that were not answered 202.
async fn good_agent(base: &str, prefix: &str, calls: usize) -> (Vec<Duration>, Vec<String>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut latencies = Vec::new();
    let mut refused = Vec::new();
    for i in 0..calls {
        let number = format!("{prefix}{i:04}");
        let started = Instant::now();
        let response = client
            .post(format!("{base}/v1/calls"))
            .bearer_auth(ANA)
            .header("Idempotency-Key", format!("k-{number}"))
            .json(&serde_json::json!({ "to": number }))
            .send()
            .await;
        match response {
            Ok(r) if r.status() == 202 => latencies.push(started.elapsed()),
            _ => refused.push(number),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (latencies, refused)
}

struct Phase {
    name: &'static str,
    prefix: &'static str,
    latencies: Vec<Duration>,
    refused: Vec<String>,
    details: String,
    pass_extra: bool,
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let asterisk = match Pbx::builder().conf("extensions.conf", DIALPLAN).start() {
        Ok(pbx) => pbx,
        Err(e) => {
            eprintln!("this benchmark needs a real Asterisk: {e}");
            std::process::exit(2);
        }
    };
    let watcher = Client::connect(
        Config::new(
            asterisk.ami_addr().to_string(),
            "clickdial",
            "clickdial-secret",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let mut events = watcher.events().named(["Newchannel"]);
    let collector = tokio::spawn(async move {
        let mut dialed = HashMap::<String, usize>::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(6), events.recv()).await {
                Ok(Ok(event)) => {
                    let channel = event.get("Channel").unwrap_or("");
                    if channel.contains("@destinations") && channel.ends_with(";1") {
                        *dialed
                            .entry(event.get("Exten").unwrap_or("").to_owned())
                            .or_default() += 1;
                    }
                }
                Ok(Err(e)) => {
                    eprintln!("the watcher missed events: {e}");
                    return None;
                }
                // Keyed by the national number whatever prefix the gateway dialed it with.
                Err(_) => {
                    return Some(
                        dialed
                            .into_iter()
                            .map(|(n, c)| (n[n.len().saturating_sub(9)..].to_owned(), c))
                            .fold(HashMap::<String, usize>::new(), |mut m, (n, c)| {
                                *m.entry(n).or_default() += c;
                                m
                            }),
                    );
                }
            }
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        config_text(
            asterisk.ami_port(),
            "[http]\nlisten = \"127.0.0.1:0\"",
            "[limits]\ncalls_per_minute = 100000\nrequest_timeout_secs = 5\n\
             [audit]\npath = \"audit.sqlite\"\n",
        ),
    )
    .unwrap();
    let mut gateway = Process::start(&config, "warn,clickdial_gateway=info");
    let base = gateway.base.clone();
    let addr = base.trim_start_matches("http://").to_owned();
    let probe = reqwest::Client::new();
    support::wait_ready(&probe, &base).await;
    println!(
        "clickdial gateway under abuse: {calls} good calls per phase, budget p99 <= {} ms\n",
        BUDGET.as_millis()
    );

    let mut phases = Vec::new();

    // Baseline: nothing else.
    let (latencies, refused) = good_agent(&base, "93210", calls).await;
    phases.push(Phase {
        name: "baseline",
        prefix: "93210",
        latencies,
        refused,
        details: String::new(),
        pass_extra: true,
    });

    // Slow clients: 300 stalled request heads and 50 slowloris bodies.
    {
        let stop = Arc::new(AtomicBool::new(false));
        let closed = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        let mut opened = 0;
        for i in 0..350 {
            let Ok(mut stream) = TcpStream::connect(&addr).await else {
                continue;
            };
            opened += 1;
            let (stop, closed) = (stop.clone(), closed.clone());
            tasks.push(tokio::spawn(async move {
                if i < 300 {
                    let _ = stream
                        .write_all(b"POST /v1/calls HTTP/1.1\r\nHost: gw\r\nContent-Type: appl")
                        .await;
                    let mut buf = [0u8; 256];
                    use tokio::io::AsyncReadExt;
                    while !stop.load(Ordering::Relaxed) {
                        match tokio::time::timeout(
                            Duration::from_millis(200),
                            stream.read(&mut buf),
                        )
                        .await
                        {
                            Ok(Ok(0)) | Ok(Err(_)) => {
                                closed.fetch_add(1, Ordering::Relaxed);
                                return;
                            }
                            _ => {}
                        }
                    }
                } else {
                    let head = format!(
                        "POST /v1/calls HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {CARL}\r\n\
                         Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                    );
                    if stream.write_all(head.as_bytes()).await.is_err() {
                        closed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    while !stop.load(Ordering::Relaxed) {
                        if stream.write_all(b" ").await.is_err() {
                            closed.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }));
        }
        let (latencies, refused) = good_agent(&base, "93211", calls).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        phases.push(Phase {
            name: "slow-clients",
            prefix: "93211",
            latencies,
            refused,
            details: format!(
                "slow_connections={opened} closed_by_gateway_during_phase={}",
                closed.load(Ordering::Relaxed)
            ),
            pass_extra: true,
        });
    }

    // Unauthenticated flood: 6 kept-alive connections hammering with wrong tokens.
    {
        let stop = Arc::new(AtomicBool::new(false));
        let statuses = Arc::new(std::sync::Mutex::new(HashMap::<u16, usize>::new()));
        let mut tasks = Vec::new();
        for f in 0..6 {
            let (stop, statuses, base) = (stop.clone(), statuses.clone(), base.clone());
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let status = client
                        .post(format!("{base}/v1/calls"))
                        .bearer_auth(format!("tok-evil-{f}-{n:020}"))
                        .json(&serde_json::json!({ "to": format!("9399{n:04}") }))
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    *statuses.lock().unwrap().entry(status).or_default() += 1;
                }
            }));
        }
        let (latencies, refused) = good_agent(&base, "93212", calls).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let statuses = statuses.lock().unwrap().clone();
        let total: usize = statuses.values().sum();
        let accepted = statuses.get(&202).copied().unwrap_or(0);
        let mut summary: Vec<_> = statuses.iter().map(|(s, n)| format!("{s}:{n}")).collect();
        summary.sort();
        phases.push(Phase {
            name: "unauth-flood",
            prefix: "93212",
            latencies,
            refused,
            details: format!(
                "flood_requests={total} flood_accepted={accepted} statuses={}",
                summary.join(",")
            ),
            pass_extra: accepted == 0,
        });
    }

    // Oversized bodies: 3 connections posting 8 MiB bodies with a valid token.
    {
        let stop = Arc::new(AtomicBool::new(false));
        let statuses = Arc::new(std::sync::Mutex::new(HashMap::<u16, usize>::new()));
        let mut tasks = Vec::new();
        let big = Arc::new(format!(
            "{{\"to\":\"939900001\",\"pad\":\"{}\"}}",
            "x".repeat(8 << 20)
        ));
        for _ in 0..3 {
            let (stop, statuses, base, big) =
                (stop.clone(), statuses.clone(), base.clone(), big.clone());
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let status = client
                        .post(format!("{base}/v1/calls"))
                        .bearer_auth(CARL)
                        .header("Content-Type", "application/json")
                        .body(big.as_str().to_owned())
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    *statuses.lock().unwrap().entry(status).or_default() += 1;
                }
            }));
        }
        let (latencies, refused) = good_agent(&base, "93213", calls).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let statuses = statuses.lock().unwrap().clone();
        let total: usize = statuses.values().sum();
        let accepted = statuses.get(&202).copied().unwrap_or(0);
        let mut summary: Vec<_> = statuses.iter().map(|(s, n)| format!("{s}:{n}")).collect();
        summary.sort();
        phases.push(Phase {
            name: "oversized-bodies",
            prefix: "93213",
            latencies,
            refused,
            details: format!(
                "big_requests={total} big_accepted={accepted} statuses={}",
                summary.join(",")
            ),
            pass_extra: accepted == 0,
        });
    }

    let dialed = collector.await.unwrap();
    let _ = gateway.child.kill();
    let _ = gateway.child.wait();
    let Some(dialed) = dialed else {
        println!("case watcher FAIL the AMI watcher missed events");
        std::process::exit(1);
    };
    let strangers = dialed
        .keys()
        .filter(|n| !phases.iter().any(|p| n.starts_with(p.prefix)))
        .count();
    let mut all_pass = true;
    for p in &phases {
        let not_dialed = (0..calls)
            .map(|i| format!("{}{i:04}", p.prefix))
            .filter(|n| !p.refused.contains(n) && !dialed.contains_key(n))
            .count();
        let duplicated = dialed
            .iter()
            .filter(|(n, c)| n.starts_with(p.prefix) && **c > 1)
            .count();
        let lost = p.refused.len() + not_dialed;
        let p99 = percentile(&p.latencies, 0.99);
        let pass = lost == 0 && duplicated == 0 && p99 <= BUDGET && p.pass_extra;
        all_pass &= pass;
        println!(
            "case {} {} calls={calls} ok={} lost={lost} duplicated={duplicated} p50_ms={} p99_ms={} budget_ms={} {}",
            p.name,
            if pass { "PASS" } else { "FAIL" },
            p.latencies.len(),
            ms(percentile(&p.latencies, 0.5)),
            ms(p99),
            BUDGET.as_millis(),
            p.details
        );
    }
    println!("numbers dialed that no good agent asked for: {strangers}");
    support::stop_and_report(gateway, "the run");
    if !all_pass || strangers > 0 {
        std::process::exit(1);
    }
}

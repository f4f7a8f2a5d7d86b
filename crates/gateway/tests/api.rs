//! The gateway's HTTP API against a real Asterisk 22: calls and their progress, the refusals,
//! idempotency, Asterisk going away and coming back, the legacy URL, TLS and the audit log.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clickdial_gateway::app::App;
use clickdial_gateway::audit::AuditLog;
use clickdial_gateway::config::Config;
use clickdial_gateway::http::router;
use clickdial_gateway::pbx::{Pbx, client_config};
use clickdial_gateway::server;
use clickdial_testsupport::Pbx as Asterisk;
use common::{ANA, BOB, CARL, config_text};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// A running gateway, its Asterisk and its files; everything stops when dropped.
pub struct Gateway {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The real Asterisk behind it.
    pub asterisk: Asterisk,
    /// The app, for its metrics.
    pub app: Arc<App>,
    _dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Gateway {
    /// Starts Asterisk and a gateway with the default `[http]` table and `extra` TOML.
    pub async fn start(extra: &str) -> Gateway {
        Gateway::start_with("[http]\nlisten = \"127.0.0.1:0\"", extra).await
    }

    /// Starts Asterisk and a gateway with its own `[http]` table and `extra` TOML, and waits
    /// until the gateway is logged in.
    pub async fn start_with(http: &str, extra: &str) -> Gateway {
        let gateway = Gateway::start_full(http, extra, true).await;
        gateway.wait_ready().await;
        gateway
    }

    /// Starts Asterisk (killed again before the gateway starts unless `asterisk_up`) and a
    /// gateway; does not wait for the gateway to log in.
    pub async fn start_full(http: &str, extra: &str, asterisk_up: bool) -> Gateway {
        Gateway::start_on(Asterisk::builder(), http, extra, asterisk_up).await
    }

    /// A gateway on an Asterisk from `builder` (with the test dialplan added).
    pub async fn start_on(
        builder: clickdial_testsupport::PbxBuilder,
        http: &str,
        extra: &str,
        asterisk_up: bool,
    ) -> Gateway {
        Gateway::start_configured(builder, asterisk_up, |port| config_text(port, http, extra)).await
    }

    /// A gateway on an Asterisk from `builder` with the configuration `config` makes for the
    /// AMI port.
    pub async fn start_configured(
        builder: clickdial_testsupport::PbxBuilder,
        asterisk_up: bool,
        config: impl FnOnce(u16) -> String,
    ) -> Gateway {
        let mut asterisk = builder
            .conf("extensions.conf", clickdial_testsupport::DIALPLAN)
            .start()
            .expect("Asterisk starts");
        if !asterisk_up {
            asterisk.kill();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config(asterisk.ami_port())).unwrap();
        let config = Config::load(&path).expect("the test configuration is valid");
        let ami = client_config(&config.ami).unwrap();
        let audit = AuditLog::open(&config.audit.path).unwrap();
        let tls = match (&config.http.tls_cert, &config.http.tls_key) {
            (Some(cert), Some(key)) => Some(server::tls_acceptor(cert, key).unwrap()),
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(config.http.listen)
            .await
            .unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let pbx = Pbx::start(config.ami.clone(), ami);
        let app = App::new(config, audit, pbx);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server::serve(listener, tls, router(app.clone()), async {
            let _ = stopped.await;
        }));
        Gateway {
            base: format!("{scheme}://{addr}"),
            asterisk,
            app,
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Waits (up to 15 s) until the gateway is logged in to Asterisk.
    pub async fn wait_ready(&self) {
        for _ in 0..150 {
            if self.app.ready().is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the gateway did not log in to Asterisk within 15 s: {:?}",
            self.app.ready()
        );
    }

    /// `POST /v1/calls` with a token and a JSON body `{"to": to}`.
    pub async fn call(&self, token: &str, to: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/v1/calls", self.base))
            .bearer_auth(token)
            .json(&serde_json::json!({ "to": to }))
            .send()
            .await
            .unwrap()
    }

    /// Reads a call's SSE stream to its end and returns each event's JSON.
    pub async fn events(&self, token: &str, id: &str) -> Vec<serde_json::Value> {
        let response = reqwest::Client::new()
            .get(format!("{}/v1/calls/{id}/events", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "SSE content type"
        );
        let body = tokio::time::timeout(Duration::from_secs(60), response.text())
            .await
            .expect("the stream ends after the call ends")
            .unwrap();
        body.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }

    /// Stops the HTTP server (the Asterisk stops when the gateway is dropped).
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The states of a list of progress events, with the reason and party of the last.
pub fn states(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let mut s = e["state"].as_str().unwrap().to_owned();
            if let Some(reason) = e["reason"].as_str() {
                s = format!("{s}:{reason}");
                if let Some(party) = e["party"].as_str() {
                    s = format!("{s}:{party}");
                }
            }
            s
        })
        .collect()
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text })),
    )
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn answered_call_reports_every_step_and_lands_in_the_audit_log() {
    let gw = Gateway::start("").await;
    let (status, body) = json_of(gw.call(ANA, "Tel.: +34 93 200 90 00").await).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["from"], "10");
    assert_eq!(
        body["to"], "932009000",
        "ES numbers are dialed in national format"
    );
    assert_eq!(body["requested"], "Tel.: +34 93 200 90 00");
    assert_eq!(body["state"], "queued");
    let id = body["id"].as_str().unwrap().to_owned();

    let events = gw.events(ANA, &id).await;
    let seen = states(&events);
    assert_eq!(seen.first().map(String::as_str), Some("queued"), "{seen:?}");
    assert!(seen.contains(&"connected".to_owned()), "{seen:?}");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("ended:answered:destination"),
        "{seen:?}"
    );

    let (status, body) = json_of(
        reqwest::Client::new()
            .get(format!("{}/v1/calls/{id}", gw.base))
            .bearer_auth(ANA)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["state"].as_str(), body["reason"].as_str()),
        (200, Some("ended"), Some("answered"))
    );

    let audit = gw.app.audit();
    let record = audit
        .call(&id)
        .unwrap()
        .expect("the call is in the audit log");
    assert_eq!(record.request.agent, "ana");
    assert_eq!(record.request.client_addr, "127.0.0.1");
    assert_eq!(record.request.dialed.as_deref(), Some("932009000"));
    assert_eq!(record.outcome.as_deref(), Some("answered"));
    assert!(record.ended_ms.unwrap() >= record.request.received_ms);
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn busy_and_unanswered_agents_and_busy_or_congested_destinations_say_so() {
    let gw = Gateway::start("").await;
    let cases = [
        (BOB, "932009000", "ended:busy:agent"),
        (CARL, "932009000", "ended:no-answer:agent"),
    ];
    for (token, to, expected) in cases {
        let (status, body) = json_of(gw.call(token, to).await).await;
        assert_eq!(status, 202, "{body}");
        let events = gw.events(token, body["id"].as_str().unwrap()).await;
        let seen = states(&events);
        assert_eq!(
            seen.last().map(String::as_str),
            Some(expected),
            "{to}: {seen:?}"
        );
    }
    for (to, expected) in [
        ("90001", "ended:busy:destination"),
        ("90011", "ended:congestion:destination"),
        ("932009000", "ended:answered:destination"),
    ] {
        let (status, body) = json_of(gw.call(ANA, to).await).await;
        assert_eq!(status, 202, "{body}");
        let events = gw.events(ANA, body["id"].as_str().unwrap()).await;
        let seen = states(&events);
        assert_eq!(
            seen,
            ["queued", "agent-answered", "destination-ringing"]
                .into_iter()
                .chain((expected == "ended:answered:destination").then_some("connected"))
                .chain([expected])
                .collect::<Vec<_>>(),
            "{to}"
        );
    }
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn refusals_are_json_with_the_documented_status_codes() {
    let gw = Gateway::start("[policy]\ninternational = false\n").await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/calls", gw.base);
    let post = |token: Option<&str>, body: String| {
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { json_of(request.send().await.unwrap()).await }
    };
    let expect = |(status, body): (u16, Value), want: u16, code: &str| {
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (want, Some(code)),
            "{body}"
        );
        body
    };

    expect(
        post(None, json!({"to": "932009000"}).to_string()).await,
        401,
        "unauthorized",
    );
    let nobody = Some("tok-nobody-000000000000000000000");
    expect(
        post(nobody, json!({"to": "1"}).to_string()).await,
        401,
        "unauthorized",
    );
    expect(
        post(Some(ANA), "{\"to\": 93".to_owned()).await,
        400,
        "malformed",
    );
    // A client cannot choose the ringing extension.
    expect(
        post(Some(ANA), json!({"to": "1", "from": "11"}).to_string()).await,
        400,
        "malformed",
    );
    expect(
        post(Some(ANA), json!({"to": "9".repeat(10_000)}).to_string()).await,
        413,
        "too_large",
    );

    expect(
        json_of(gw.call(ANA, "call me maybe").await).await,
        422,
        "not_dialable",
    );
    let body = expect(
        json_of(gw.call(ANA, "+44 20 7946 0018").await).await,
        403,
        "forbidden",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nternational"),
        "{body}"
    );

    // CR/LF cannot smuggle AMI headers: the text is read as a number or refused.
    let (status, body) = json_of(
        gw.call(
            ANA,
            "932009000\r\nAction: Originate\r\nChannel: Local/11@agents",
        )
        .await,
    )
    .await;
    assert!(status == 202 || status == 422, "{status} {body}");
    if status == 202 {
        assert_eq!(body["to"], "932009000");
    }

    let get = |path: &str| client.get(format!("{}{path}", gw.base)).send();
    expect(
        json_of(get("/nowhere").await.unwrap()).await,
        404,
        "not_found",
    );
    let (status, _) = json_of(client.delete(&url).send().await.unwrap()).await;
    assert_eq!(status, 405);
    let (status, _) = json_of(get("/remote/call.php?dst=1").await.unwrap()).await;
    assert_eq!(status, 404, "the legacy URL is off unless enabled");

    let audit = gw.app.audit();
    let refused = audit.calls().unwrap();
    assert!(
        refused
            .iter()
            .any(|c| c.request.requested == "call me maybe" && c.request.refusal.is_some()),
        "refusals are audited"
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn another_agents_call_is_invisible() {
    let gw = Gateway::start("").await;
    let (_, body) = json_of(gw.call(ANA, "932009000").await).await;
    let id = body["id"].as_str().unwrap();
    for path in [format!("/v1/calls/{id}"), format!("/v1/calls/{id}/events")] {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", gw.base))
            .bearer_auth(BOB)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

/// Polls `GET /v1/calls/{id}` until the call is in `state` (or 10 s pass).
async fn wait_for_state(gw: &Gateway, token: &str, id: &str, state: &str) {
    for _ in 0..100 {
        let response = reqwest::Client::new()
            .get(format!("{}/v1/calls/{id}", gw.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let (_, body) = json_of(response).await;
        if body["state"] == state {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("call {id} never reached {state}");
}

/// `DELETE /v1/calls/{id}` as `token`.
async fn hang_up(gw: &Gateway, token: &str, id: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .delete(format!("{}/v1/calls/{id}", gw.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    json_of(response).await
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn hanging_up_needs_the_call_write_class_and_says_so() {
    // The least-privilege account (write = originate) may not hang up.
    let gw = Gateway::start("").await;
    let (status, body) = json_of(gw.call(CARL, "932009000").await).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap();
    wait_for_state(&gw, CARL, id, "agent-ringing").await;
    let (status, body) = hang_up(&gw, BOB, id).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, body) = hang_up(&gw, CARL, id).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "pbx_not_allowed");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("write = originate,call"), "{message}");
    // The call goes on: it ends only at the ring timeout (5 s), unanswered.
    let events = gw.events(CARL, id).await;
    assert_eq!(states(&events).last().unwrap(), "ended:no-answer:agent");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn hanging_up_ends_a_ringing_call_at_once() {
    let manager =
        clickdial_testsupport::manager_conf("", &[("clickdial", "call", "originate,call")]);
    let gw = Gateway::start_on(
        Asterisk::builder().conf("manager.conf", &manager),
        "[http]\nlisten = \"127.0.0.1:0\"",
        "",
        true,
    )
    .await;
    gw.wait_ready().await;
    // Carl's phone rings until the ring timeout (5 s) unless the call is hung up.
    let (status, body) = json_of(gw.call(CARL, "932009000").await).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    wait_for_state(&gw, CARL, &id, "agent-ringing").await;
    let asked = std::time::Instant::now();
    let (status, body) = hang_up(&gw, CARL, &id).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["id"], id.as_str());
    let events = gw.events(CARL, &id).await;
    let ended = asked.elapsed();
    let last = events.last().unwrap();
    assert_eq!(last["state"], "ended", "{events:?}");
    assert!(
        ended < Duration::from_secs(3),
        "the call ended {ended:?} after the hang-up, not at once: {events:?}"
    );
    // Over now: a second hang-up says so.
    let (status, body) = hang_up(&gw, CARL, &id).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("call_ended")),
        "{body}"
    );
    // Asterisk knows the agent's channel by the call's id (its Uniqueid).
    let audit = gw.app.audit();
    let record = audit
        .call(&id)
        .unwrap()
        .expect("the call is in the audit log");
    assert!(record.outcome.is_some(), "{record:?}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn a_double_click_with_one_idempotency_key_rings_once() {
    let gw = Gateway::start("").await;
    let post = |to: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/v1/calls", gw.base))
            .bearer_auth(ANA)
            .header("Idempotency-Key", "crm-click-42")
            .json(&json!({ "to": to }))
            .send()
    };
    let (a, b, c) = tokio::join!(post("932009000"), post("932009000"), post("932009000"));
    let mut ids = Vec::new();
    let mut replayed = 0;
    for r in [a, b, c] {
        let r = r.unwrap();
        assert_eq!(r.status(), 202);
        replayed += usize::from(r.headers().contains_key("idempotent-replayed"));
        ids.push(json_of(r).await.1["id"].as_str().unwrap().to_owned());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(replayed, 2);
    let (status, body) = json_of(post("+34 911 111 111").await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("idempotency_conflict")),
        "{body}"
    );
    let metrics = gw.app.metrics().render();
    assert!(
        metrics.contains("clickdial_gateway_call_requests_total{outcome=\"accepted\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn a_call_that_cannot_get_into_the_originate_window_in_time_is_not_dialed() {
    // The gateway's account is sent no call events (an include filter for another event),
    // so its calls keep their place in a window of one until the setup timeout (2 s).
    let manager = clickdial_testsupport::manager_conf(
        "",
        &[("watcher", "call", ""), ("clickdial", "call", "originate")],
    ) + "eventfilter(action(include),name(FullyBooted)) =\n";
    let gw = Gateway::start_configured(
        Asterisk::builder().conf("manager.conf", &manager),
        true,
        |port| {
            config_text(
                port,
                "[http]\nlisten = \"127.0.0.1:0\"",
                "[limits]\nrequest_timeout_secs = 1\n",
            )
            .replace(
                "ring_timeout_secs = 5",
                "ring_timeout_secs = 5\noriginate_window = 1",
            )
        },
    )
    .await;
    gw.wait_ready().await;
    let watcher = clickdial_ami::Client::connect(
        clickdial_ami::Config::new(
            gw.asterisk.ami_addr().to_string(),
            "watcher",
            "watcher-secret",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let mut agent_channels = watcher.events().named(["Newchannel"]).filter(|e| {
        e.get("Channel")
            .is_some_and(|c| c.starts_with("Local/10@agents-") && c.ends_with(";1"))
    });

    let (status, first) = json_of(gw.call(ANA, "932009000").await).await;
    assert_eq!(status, 202, "{first}");
    let started = std::time::Instant::now();
    let (status, refused) = json_of(gw.call(ANA, "932009001").await).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (503, Some("timeout")),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not dialed")),
        "{refused}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );

    // Once the first call's setup timeout passed, the next call goes out.
    tokio::time::sleep(Duration::from_millis(2200).saturating_sub(started.elapsed())).await;
    let (status, third) = json_of(gw.call(ANA, "932009002").await).await;
    assert_eq!(status, 202, "{third}");

    // Asterisk saw the first and the third call, never the refused one.
    let mut dialed = Vec::new();
    while let Ok(event) = tokio::time::timeout(Duration::from_secs(2), agent_channels.recv()).await
    {
        dialed.push(event.unwrap().get("Uniqueid").unwrap_or("").to_owned());
    }
    assert_eq!(
        dialed,
        [first["id"].as_str().unwrap(), third["id"].as_str().unwrap()],
        "the agent's channels Asterisk created"
    );
    let refused_call = gw
        .app
        .audit()
        .calls()
        .unwrap()
        .into_iter()
        .find(|c| c.request.requested == "932009001")
        .expect("the refused request is in the audit log");
    assert_eq!(
        refused_call.outcome.as_deref(),
        Some("failed"),
        "{refused_call:?}"
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn rate_limit_answers_429() {
    let gw = Gateway::start("[limits]\ncalls_per_minute = 2\n").await;
    assert_eq!(gw.call(ANA, "932009000").await.status(), 202);
    assert_eq!(gw.call(ANA, "932009001").await.status(), 202);
    let limited = gw.call(ANA, "932009002").await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    let (status, body) = json_of(limited).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    assert_eq!(
        gw.call(BOB, "932009000").await.status(),
        202,
        "limits are per agent"
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn asterisk_restart_gives_503_then_service_resumes_by_itself() {
    let mut gw = Gateway::start("").await;
    gw.asterisk.kill();
    let client = reqwest::Client::new();
    let mut saw_503 = false;
    for _ in 0..50 {
        let r = client
            .get(format!("{}/readyz", gw.base))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            saw_503 = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(saw_503, "readyz notices Asterisk is gone");
    let (status, body) = json_of(gw.call(ANA, "932009000").await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("pbx_unavailable")),
        "{body}"
    );

    gw.asterisk.restart().unwrap();
    gw.wait_ready().await;
    let (status, body) = json_of(gw.call(ANA, "932009000").await).await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn gateway_starts_while_asterisk_is_down_and_connects_when_it_comes() {
    let mut gw = Gateway::start_full("[http]\nlisten = \"127.0.0.1:0\"", "", false).await;
    let client = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = json_of(
        client
            .get(format!("{}/readyz", gw.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach AMI"),
        "{body}"
    );
    let (status, _) = json_of(gw.call(ANA, "932009000").await).await;
    assert_eq!(status, 503);

    gw.asterisk.restart().unwrap();
    gw.wait_ready().await;
    let (status, _) = json_of(
        client
            .get(format!("{}/readyz", gw.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(gw.call(ANA, "932009000").await.status(), 202);
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn revoked_tokens_stop_working_at_once() {
    let gw = Gateway::start("").await;
    assert_eq!(gw.call(BOB, "932009000").await.status(), 202);
    let config = Config::parse(&config_text(
        gw.asterisk.ami_port(),
        "[http]\nlisten = \"127.0.0.1:0\"",
        "",
    ))
    .unwrap();
    let without_bob: Vec<_> = config
        .agents
        .into_iter()
        .filter(|a| a.name != "bob")
        .collect();
    gw.app.replace_agents(&without_bob);
    let (status, body) = json_of(gw.call(BOB, "932009000").await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    assert_eq!(
        gw.call(ANA, "932009000").await.status(),
        202,
        "other agents keep working"
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn hostile_bytes_in_any_field_never_reach_asterisk() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let gw = Gateway::start("[legacy]\nenabled = true\n[limits]\ncalls_per_minute = 1000\n").await;
    // A second AMI connection sees every call event Asterisk emits.
    let watcher = clickdial_ami::Client::connect(
        clickdial_ami::Config::new(
            gw.asterisk.ami_addr().to_string(),
            "clickdial",
            "clickdial-secret",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let mut events = watcher.events();

    let hostile = [
        "932009000\r\nAction: Originate\r\nChannel: Local/11@agents\r\nContext: agents\r\nExten: 12",
        "932009000\nChannel: Local/11@agents",
        "93200\u{0}9000",
        "tel:+34932009000%0D%0AAction:%20Originate",
        "932009000\r\n\r\nAction: Originate\r\nChannel: Local/11@agents",
        "\u{202e}932009000\u{7f}",
    ];
    let client = reqwest::Client::new();
    for text in hostile {
        let response = gw.call(ANA, text).await;
        assert!(
            [202, 400, 422].contains(&response.status().as_u16()),
            "{text:?}: {}",
            response.status()
        );
        let legacy = client
            .get(format!("{}/remote/call.php", gw.base))
            .query(&[("src", text), ("dst", text), ("token", ANA), ("key", text)])
            .send()
            .await
            .unwrap();
        assert!(
            [400, 403].contains(&legacy.status().as_u16()),
            "legacy {text:?}: {}",
            legacy.status()
        );
        let legacy = client
            .get(format!("{}/remote/call.php", gw.base))
            .query(&[("dst", text), ("token", ANA)])
            .send()
            .await
            .unwrap();
        assert!(
            [200, 400, 422, 502].contains(&legacy.status().as_u16()),
            "legacy dst {text:?}: {}",
            legacy.status()
        );
    }
    // Raw bytes in headers, which an HTTP library would refuse to send.
    let addr = gw.base.trim_start_matches("http://").to_owned();
    for header in [
        format!("Authorization: Bearer {ANA}\rAction: Originate"),
        format!("Authorization: Bearer {ANA}\r\nIdempotency-Key: a\rChannel: Local/11@agents"),
        format!("Authorization: Bearer {ANA}\r\nIdempotency-Key: k\u{0}1"),
    ] {
        let body = r#"{"to": "932009000"}"#;
        let request = format!(
            "POST /v1/calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{header}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        assert!(
            answer.starts_with("HTTP/1.1 400"),
            "{header:?} answered {answer:?}"
        );
    }

    // Let Asterisk emit whatever those requests caused, then look at every channel it made.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut channels = Vec::new();
    while let Ok(Some(event)) = events.try_recv() {
        if event.name() == "Newchannel" {
            channels.push(format!(
                "{} {}",
                event.get("Channel").unwrap_or(""),
                event.get("Exten").unwrap_or("")
            ));
        }
    }
    assert!(
        !channels.is_empty(),
        "some hostile texts hold a number and were dialed"
    );
    for channel in &channels {
        assert!(
            channel.starts_with("Local/10@agents")
                || channel.starts_with("Local/932009000@destinations"),
            "an unexpected channel appeared in Asterisk: {channel}\nall: {channels:#?}"
        );
        assert!(
            !channel.contains("Action") && !channel.contains("11@"),
            "{channel}"
        );
    }
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn legacy_url_is_authenticated_and_reports_the_outcome() {
    let gw = Gateway::start("[legacy]\nenabled = true\n").await;
    let client = reqwest::Client::new();
    let url = format!("{}/remote/call.php", gw.base);

    let r = client
        .get(&url)
        .query(&[("src", "10"), ("dst", "932009000")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no credentials");
    let r = client
        .get(&url)
        .query(&[("src", "11"), ("dst", "932009000"), ("token", ANA)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "src must be the token's own extension");
    assert!(r.text().await.unwrap().contains("not your extension"));
    let r = client
        .get(&url)
        .query(&[
            ("src", "10\r\nAction: Originate"),
            ("dst", "932009000"),
            ("token", ANA),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "an injected src is just a wrong extension");

    let r = client
        .get(&url)
        .query(&[("src", "10"), ("dst", "932009000")])
        .basic_auth("ana", Some(ANA))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().starts_with("OK "));

    let r = client
        .get(&url)
        .query(&[("dst", "932009000"), ("token", BOB)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let text = r.text().await.unwrap();
    assert!(text.contains("your phone (20) busy"), "{text}");

    // A double click on a CRM link rings once: the same number from the same agent within a
    // few seconds is the same call.
    let click = || {
        client
            .get(&url)
            .query(&[("dst", "932009111"), ("token", ANA)])
            .send()
    };
    let (first, second) = tokio::join!(click(), click());
    let (first, second) = (
        first.unwrap().text().await.unwrap(),
        second.unwrap().text().await.unwrap(),
    );
    let id = |text: &str| text.split(':').next().unwrap().to_owned();
    assert!(first.starts_with("OK "), "{first}");
    assert_eq!(id(&first), id(&second), "{first} / {second}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn allowlist_refuses_other_networks() {
    let gw = Gateway::start_with(
        "[http]\nlisten = \"127.0.0.1:0\"\nallow = [\"10.0.0.0/8\"]",
        "",
    )
    .await;
    let r = reqwest::Client::new()
        .get(format!("{}/healthz", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (_, body) = json_of(r).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "{body}"
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn openapi_metrics_and_health_describe_the_service() {
    let gw = Gateway::start("").await;
    let client = reqwest::Client::new();
    let (status, doc) = json_of(
        client
            .get(format!("{}/openapi.json", gw.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    for path in [
        "/v1/calls",
        "/v1/calls/{id}",
        "/v1/calls/{id}/events",
        "/readyz",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["CallView"].is_object());
    let (status, _) = json_of(
        client
            .get(format!("{}/healthz", gw.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let metrics = client
        .get(format!("{}/metrics", gw.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("clickdial_gateway_ami_up 1"), "{metrics}");
    assert!(
        metrics.contains("route=\"/healthz\",status=\"200\""),
        "{metrics}"
    );
    gw.stop().await;
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn https_when_a_certificate_is_configured() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let http = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"",
        dir.path().join("cert.pem").display(),
        dir.path().join("key.pem").display()
    );
    let gw = Gateway::start_with(&http, "").await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve(
            "localhost",
            gw.base.trim_start_matches("https://").parse().unwrap(),
        )
        .build()
        .unwrap();
    let port = gw.base.rsplit(':').next().unwrap();
    let base = format!("https://localhost:{port}");
    let mut ready = false;
    for _ in 0..150 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "readyz over HTTPS");
    let r = client
        .post(format!("{base}/v1/calls"))
        .bearer_auth(ANA)
        .json(&json!({"to": "932009000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(
        plain.is_err() || plain.unwrap().status() != 200,
        "plain HTTP is not served"
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn asterisk_restarted_during_a_stream_answers_every_request_and_dials_none_twice() {
    let mut gw =
        Gateway::start("[limits]\ncalls_per_minute = 1000\nrequest_timeout_secs = 5\n").await;
    let watcher = clickdial_ami::Client::connect(
        clickdial_ami::Config::new(
            gw.asterisk.ami_addr().to_string(),
            "clickdial",
            "clickdial-secret",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let mut events = watcher.events().named(["Newchannel"]);
    let collector = tokio::spawn(async move {
        let mut dialed = std::collections::HashMap::<String, usize>::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(4), events.recv()).await {
                Ok(Ok(event)) => {
                    let channel = event.get("Channel").unwrap_or("");
                    if channel.contains("@destinations") && channel.ends_with(";1") {
                        *dialed
                            .entry(event.get("Exten").unwrap_or("").to_owned())
                            .or_default() += 1;
                    }
                }
                Ok(Err(e)) => panic!("the watcher missed events: {e}"),
                Err(_) => return dialed,
            }
        }
    });

    // Four CRM clients, each dialing its own numbers one after another; a 503 is retried
    // with the same Idempotency-Key, as a careful client does.
    let base = gw.base.clone();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let base = base.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut answers = Vec::new();
                for n in 0..16 {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    let number = format!("9320{w}{n:04}");
                    loop {
                        let started = std::time::Instant::now();
                        let response = client
                            .post(format!("{base}/v1/calls"))
                            .bearer_auth(ANA)
                            .header("Idempotency-Key", format!("k-{number}"))
                            .json(&json!({ "to": number }))
                            .send()
                            .await
                            .unwrap();
                        let status = response.status().as_u16();
                        answers.push((status, started.elapsed()));
                        if status == 202 {
                            break;
                        }
                        assert_eq!(status, 503, "{:?}", response.text().await);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    gw.asterisk.kill();
    tokio::time::sleep(Duration::from_millis(800)).await;
    gw.asterisk.restart().unwrap();

    let mut answers = Vec::new();
    for worker in workers {
        answers.extend(
            tokio::time::timeout(Duration::from_secs(90), worker)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert!(
        answers.iter().any(|(s, _)| *s == 503),
        "the restart was noticed"
    );
    for (status, took) in &answers {
        assert!(*took < Duration::from_secs(8), "a {status} took {took:?}");
    }

    let dialed = collector.await.unwrap();
    let twice: Vec<_> = dialed.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "dialed more than once: {twice:?}");
    assert!(
        dialed.len() >= 40,
        "most numbers reached their destination: {}",
        dialed.len()
    );

    // The audit log matches what Asterisk saw: every number Asterisk dialed is an audited,
    // accepted call. (The other direction needs a witness that sees through the restart:
    // this watcher's own connection is down for part of it.)
    let calls = gw.app.audit().calls().unwrap();
    for number in dialed.keys() {
        assert!(
            calls
                .iter()
                .any(|c| c.request.dialed.as_deref() == Some(number.as_str())
                    && c.request.refusal.is_none()),
            "Asterisk dialed {number}; the audit log has no accepted call for it"
        );
    }
}

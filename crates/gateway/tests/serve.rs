//! The `clickdial-gateway serve` binary as an operator runs it, against a real Asterisk:
//! acknowledged requests survive SIGKILL (also those only in the audit spool), tokens and secrets never reach logs or the audit,
//! and the whitepaper's manager.conf rights are shown to be too few to originate.

mod common;
#[path = "common/process.rs"]
mod process;

use std::process::Command;
use std::time::Duration;

use clickdial_gateway::audit::AuditLog;
use clickdial_testsupport::{DIALPLAN, Pbx};
use common::{ANA, BOB, CARL, config_text};
use process::Process;

/// Starts Asterisk with the test dialplan (and `manager` as manager.conf, if given) and
/// writes a gateway configuration for it with `extra` TOML; returns the config's path.
fn asterisk_and_config(
    dir: &std::path::Path,
    manager: Option<&str>,
    extra: &str,
) -> (Pbx, std::path::PathBuf) {
    let mut builder = Pbx::builder().conf("extensions.conf", DIALPLAN);
    if let Some(manager) = manager {
        builder = builder.conf("manager.conf", manager);
    }
    let asterisk = builder.start().unwrap();
    let config = dir.join("gateway.toml");
    let http = "[http]\nlisten = \"127.0.0.1:0\"";
    std::fs::write(&config, config_text(asterisk.ami_port(), http, extra)).unwrap();
    (asterisk, config)
}

async fn wait_ready(base: &str) {
    for _ in 0..150 {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} did not become ready");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn acknowledged_requests_survive_sigkill_and_no_secret_is_written_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (_asterisk, config) = asterisk_and_config(
        dir.path(),
        None,
        "[limits]
calls_per_minute = 1000
[audit]
path = \"audit.sqlite\"
",
    );
    // Served by two threads, so the multi-threaded runtime meets concurrent requests too.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("[http]\n", "[http]\nthreads = 2\n")).unwrap();
    let mut gateway = Process::start(&config, "debug");
    wait_ready(&gateway.base).await;
    let workers = std::fs::read_dir(format!("/proc/{}/task", gateway.child.id()))
        .unwrap()
        .filter(|task| {
            let comm = task.as_ref().unwrap().path().join("comm");
            std::fs::read_to_string(comm).is_ok_and(|name| name.trim() == "tokio-rt-worker")
        })
        .count();
    assert_eq!(workers, 2, "[http] threads = 2 runs two runtime workers");

    // A stream of requests from several clients; the gateway is killed with SIGKILL while
    // most of them are still in flight.
    let client = reqwest::Client::new();
    let mut requests: futures_util::stream::FuturesUnordered<_> = (0..120)
        .map(|i| {
            let token = [ANA, BOB, CARL][i % 3];
            client
                .post(format!("{}/v1/calls", gateway.base))
                .bearer_auth(token)
                .json(&serde_json::json!({ "to": format!("93200{:04}", i) }))
                .send()
        })
        .collect();
    let mut acknowledged = Vec::new();
    let mut killed = false;
    while let Some(response) = futures_util::StreamExt::next(&mut requests).await {
        let Ok(response) = response else { continue };
        if response.status() != 202 {
            continue;
        }
        let Ok(body) = response.json::<serde_json::Value>().await else {
            continue;
        };
        acknowledged.push(body["id"].as_str().unwrap().to_owned());
        if acknowledged.len() == 15 && !killed {
            gateway.child.kill().unwrap();
            killed = true;
        }
    }
    gateway.child.wait().unwrap();
    assert!(killed, "the gateway answered fewer than 15 requests");
    assert!(
        acknowledged.len() < 120,
        "the kill came after every request was answered"
    );

    // Everything the killed gateway left: the database, its WAL and the spool.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("audit.sqlite") {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    let stored = String::from_utf8_lossy(&stored);

    let audit = AuditLog::open(&dir.path().join("audit.sqlite")).unwrap();
    for id in &acknowledged {
        let record = audit
            .call(id)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged call {id} is missing from the audit log"));
        assert!(record.request.dialed.is_some());
    }

    let output = gateway.output();
    for secret in [ANA, BOB, CARL, "clickdial-secret"] {
        assert!(
            !output.contains(secret),
            "{secret} appears in the gateway's log:\n{output}"
        );
        assert!(
            !stored.contains(secret),
            "{secret} appears in the audit database"
        );
    }
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn requests_only_in_the_spool_when_the_gateway_is_killed_are_stored_on_its_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (_asterisk, config) =
        asterisk_and_config(dir.path(), None, "[audit]\npath = \"audit.sqlite\"\n");
    let database = dir.path().join("audit.sqlite");
    let mut gateway = Process::start(&config, "info");
    wait_ready(&gateway.base).await;

    // Another program holds the database's write lock: the gateway's writer cannot move
    // anything into SQLite, so what it acknowledges now lives only in the spool.
    let blocker = rusqlite::Connection::open(&database).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    for i in 0..10 {
        let response = client
            .post(format!("{}/v1/calls", gateway.base))
            .bearer_auth(ANA)
            .json(&serde_json::json!({ "to": format!("93201{i:04}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202, "within SQLite's busy wait");
        let body: serde_json::Value = response.json().await.unwrap();
        acknowledged.push(body["id"].as_str().unwrap().to_owned());
    }
    gateway.child.kill().unwrap();
    gateway.child.wait().unwrap();
    blocker.execute_batch("ROLLBACK").unwrap();
    let in_sqlite: i64 = blocker
        .query_row("SELECT count(*) FROM calls", [], |row| row.get(0))
        .unwrap();
    assert_eq!(
        in_sqlite, 0,
        "the test means to kill the gateway before its commit"
    );
    drop(blocker);

    // The restarted gateway stores them before it serves, once each.
    let restarted = Process::start(&config, "info");
    wait_ready(&restarted.base).await;
    let response = client
        .get(format!("{}/v1/calls/{}", restarted.base, acknowledged[0]))
        .bearer_auth(ANA)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the restarted gateway knows the call"
    );
    drop(restarted);
    let audit = AuditLog::open(&database).unwrap();
    let calls = audit.calls().unwrap();
    let ids: Vec<_> = calls.iter().map(|c| c.request.id.clone()).collect();
    assert_eq!(ids, acknowledged);
    assert!(
        calls
            .iter()
            .all(|c| c.request.dialed.is_some() && c.request.agent == "ana")
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn the_whitepapers_manager_rights_cannot_originate_and_the_gateway_says_what_to_fix() {
    let manager =
        clickdial_testsupport::manager_conf("", &[("clickdial", "call", "call,log,verbose")]);
    let dir = tempfile::tempdir().unwrap();
    let (_asterisk, config) = asterisk_and_config(dir.path(), Some(&manager), "");
    let gateway = Process::start(&config, "debug");
    wait_ready(&gateway.base).await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/calls", gateway.base))
        .bearer_auth(ANA)
        .json(&serde_json::json!({ "to": "932009000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let body: serde_json::Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert_eq!(body["error"]["code"], "pbx_refused");
    assert!(
        message.contains("Permission denied") && message.contains("write = originate"),
        "{message}"
    );
}

#[test]
fn serve_refuses_a_broken_configuration_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        config_text(5038, "[http]\nlisten = \"127.0.0.1:0\"", "").replace("{extension}", "10"),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_clickdial-gateway"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("must contain {extension}"), "{stderr}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn sighup_reloads_the_agents_so_a_removed_token_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let (_asterisk, config) = asterisk_and_config(dir.path(), None, "");
    let gateway = Process::start(&config, "debug");
    wait_ready(&gateway.base).await;
    let call = |token: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/v1/calls", gateway.base))
            .bearer_auth(token)
            .json(&serde_json::json!({ "to": "932009000" }))
            .send()
    };
    assert_eq!(call(BOB).await.unwrap().status(), 202);

    // Remove bob's [[agents]] table and tell the gateway.
    let text = std::fs::read_to_string(&config).unwrap();
    let bob_start = text.find("[[agents]]\nname = \"bob\"").unwrap();
    let bob_end = bob_start + text[bob_start..].find("\n\n").unwrap();
    std::fs::write(
        &config,
        format!("{}{}", &text[..bob_start], &text[bob_end..]),
    )
    .unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &gateway.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut revoked = false;
    for _ in 0..50 {
        if call(BOB).await.unwrap().status() == 401 {
            revoked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(revoked, "bob's token still works after SIGHUP");
    assert_eq!(call(ANA).await.unwrap().status(), 202);
}

//! What the gateway benches share beyond the test harness.

use std::time::Duration;

use crate::process::Process;

/// Waits until the gateway at `base` answers `/readyz` with 200 (logged in to Asterisk).
pub async fn wait_ready(client: &reqwest::Client, base: &str) {
    while client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .ok()
        != Some(200)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The gateway's `/metrics` text.
#[allow(
    dead_code,
    reason = "shared by the dial and fanout benches; the abuse bench reads none"
)]
pub async fn metrics(client: &reqwest::Client, base: &str) -> String {
    client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Stops the gateway and prints what it warned about or failed at `during` the run (up to
/// ten lines): anything there makes the figures suspect.
pub fn stop_and_report(mut gateway: Process, during: &str) {
    let _ = gateway.child.kill();
    let _ = gateway.child.wait();
    let complaints: Vec<String> = gateway
        .output()
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .map(str::to_owned)
        .collect();
    println!(
        "gateway warnings and errors during {during}: {}",
        complaints.len()
    );
    for line in complaints.iter().take(10) {
        println!("  {line}");
    }
}

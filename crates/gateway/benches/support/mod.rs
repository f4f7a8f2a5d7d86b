//! What the gateway benches share beyond the test harness.

use crate::process::Process;

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

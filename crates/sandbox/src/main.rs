//! `clickdial-sandbox`: serves the sandbox PBX on a TCP address until killed.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use clickdial_sandbox::{Config, Sandbox};

/// An AMI-speaking PBX that behaves like the Asterisk 22 of ../shared/pbx.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:5038")]
    listen: SocketAddr,
    /// How much faster than real time calls unfold.
    #[arg(long)]
    speed: Option<f64>,
    /// A TOML file with accounts, extensions and speed (defaults mirror ../shared/pbx).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(speed) = args.speed {
        config = config.speed(speed);
    }
    let sandbox = Sandbox::bind(args.listen, config)
        .await
        .with_context(|| format!("starting the sandbox PBX on {}", args.listen))?;
    println!(
        "clickdial-sandbox: AMI listening on {}",
        sandbox.local_addr()
    );
    std::future::pending::<()>().await;
    Ok(())
}

//! The `clickdial-gateway` command line.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use clickdial_gateway::app::App;
use clickdial_gateway::audit::{AuditLog, Durability};
use clickdial_gateway::config::Config;
use clickdial_gateway::http::router;
use clickdial_gateway::pbx::{Pbx, client_config};
use clickdial_gateway::server;
use clickdial_gateway::token::{TokenHash, generate_token};
use tracing_subscriber::EnvFilter;

/// clickdial's central click-to-dial HTTP endpoint for Asterisk.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// The gateway's TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Read an agent's token on stdin and print the `token_hash` to put in the config.
    HashToken {
        /// Make a new random token instead of reading one, and print it with its hash.
        #[arg(long)]
        generate: bool,
    },
    /// Validate a configuration file and explain what it does.
    CheckConfig {
        /// The gateway's TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clickdial-gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
                )
                .init();
            let path = config;
            let config = Config::load(&path)?;
            // One thread (the default) is the cheapest per call: no wake-ups across threads,
            // and the regex caches of the number rules (warmed up on this thread) are taken
            // without a lock.
            let mut runtime = match config.http.threads {
                1 => tokio::runtime::Builder::new_current_thread(),
                n => {
                    let mut multi = tokio::runtime::Builder::new_multi_thread();
                    multi.worker_threads(n);
                    multi
                }
            };
            runtime
                .enable_all()
                .build()
                .context("starting the async runtime")?
                .block_on(serve(path, config))?;
        }
        Command::HashToken { generate: true } => {
            let token = generate_token()?;
            println!("token      = {token}");
            println!("token_hash = \"{}\"", TokenHash::of_new_token(&token)?);
            eprintln!(
                "Give the token to the agent (or their CRM); only the hash goes in the config."
            );
        }
        Command::HashToken { generate: false } => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("Type or paste the token, then press Enter:");
            }
            let mut line = String::new();
            stdin
                .lock()
                .read_line(&mut line)
                .context("reading the token from stdin")?;
            let token = line.trim_end_matches(['\r', '\n']);
            if token.is_empty() {
                bail!("no token on stdin; pipe one in, or use --generate for a new one");
            }
            println!("{}", TokenHash::of_new_token(token)?);
        }
        Command::CheckConfig { config } => {
            let config = Config::load(&config)?;
            print!("{}", config.explain());
            for warning in config.warnings() {
                println!("warning: {warning}");
            }
            println!("The configuration is valid.");
        }
    }
    Ok(())
}

/// Starts everything a configuration describes and serves until SIGINT or SIGTERM; SIGHUP
/// re-reads the file's agents (to add or revoke tokens without dropping calls).
async fn serve(path: PathBuf, config: Config) -> anyhow::Result<()> {
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    // libphonenumber compiles its patterns on first use: pay that now, not on the first call.
    let warmed = clickdial_dial::warm_up(&config.dial, &config.policy);
    tracing::debug!("number rules warmed up with {warmed} example numbers");
    let ami = client_config(&config.ami)?;
    let durability = if config.audit.fsync {
        Durability::PowerLoss
    } else {
        Durability::ProcessCrash
    };
    let audit = AuditLog::open_with(&config.audit.path, durability)?;
    let tls = match (&config.http.tls_cert, &config.http.tls_key) {
        (Some(cert), Some(key)) => Some(server::tls_acceptor(cert, key)?),
        _ => None,
    };
    let listener = server::listen(config.http.listen)
        .with_context(|| format!("cannot listen on {}", config.http.listen))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!("listening on {scheme}://{}", listener.local_addr()?);
    let pbx = Pbx::start(config.ami.clone(), ami);
    let app = App::new(config, audit.clone(), pbx);
    tokio::spawn(reload_agents_on_sighup(path, app.clone()));
    server::serve(listener, tls, router(app), shutdown_signal()).await;
    audit.settle();
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (systemd's stop).
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}

/// On every SIGHUP, re-reads the configuration and replaces the agents when it is valid;
/// other changes take effect at the next start.
async fn reload_agents_on_sighup(path: PathBuf, app: Arc<App>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("cannot watch SIGHUP; agent changes need a restart");
        return;
    };
    while hup.recv().await.is_some() {
        match Config::load(&path) {
            Ok(config) => {
                app.replace_agents(&config.agents);
                tracing::info!(
                    agents = config.agents.len(),
                    "reloaded the agents from {}",
                    path.display()
                );
            }
            Err(e) => tracing::error!("SIGHUP: keeping the current agents: {e}"),
        }
    }
}

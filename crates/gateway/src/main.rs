//! The `clickdial-gateway` command line.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use clickdial_gateway::config::Config;
use clickdial_gateway::token::{TokenHash, generate_token};

/// clickdial's central click-to-dial HTTP endpoint for Asterisk.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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

//! clickdial end to end on a machine without Asterisk: the sandbox PBX and the gateway run
//! in this process, and every number you type is dialed through the gateway's real HTTP API.
//!
//!     cargo run -p clickdial-gateway --example demo -- [--country CC] [--outside-prefix P]
//!                                                      [--extension N] [TEXT...]
//!
//! With TEXT, that one call is made; without, a prompt reads one number (or any text or
//! `tel:` link holding one) per line. The agent's phone is the sandbox's extension 10 (answers),
//! 19 (never answers) or 20 (busy); destinations 9000X are busy and 9001X congested.

use std::io::{BufRead, Write};
use std::sync::Arc;

use anyhow::{Context, bail};
use clickdial_gateway::app::App;
use clickdial_gateway::audit::AuditLog;
use clickdial_gateway::config::Config;
use clickdial_gateway::http::router;
use clickdial_gateway::pbx::{Pbx, client_config};
use clickdial_gateway::server;
use clickdial_gateway::token::{TokenHash, generate_token};
use clickdial_sandbox::Sandbox;
use futures_util::StreamExt;

/// The sandbox runs its calls this many times faster than a real PBX would.
const SPEED: f64 = 4.0;

struct Options {
    country: String,
    outside_prefix: String,
    extension: String,
    text: Option<String>,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        country: "ES".to_owned(),
        outside_prefix: String::new(),
        extension: "10".to_owned(),
        text: None,
    };
    let mut words = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--country" => options.country = value("--country")?,
            "--outside-prefix" => options.outside_prefix = value("--outside-prefix")?,
            "--extension" => options.extension = value("--extension")?,
            "--" => {}
            flag if flag.starts_with("--") => bail!("unknown option {flag}"),
            word => words.push(word.to_owned()),
        }
    }
    if !words.is_empty() {
        options.text = Some(words.join(" "));
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let sandbox = Sandbox::start(clickdial_sandbox::Config::default().speed(SPEED)).await?;
    let dir = tempfile::tempdir()?;
    let token = generate_token()?;
    let config_text = format!(
        r#"
[http]
listen = "127.0.0.1:0"

[ami]
host = "127.0.0.1"
port = {port}
username = "clickdial"
secret = "clickdial-secret"
channel = "Local/{{extension}}@agents"
context = "extensiones-locales"

[dial]
country = "{country}"
outside_prefix = "{outside}"
internal_max_len = 5

[[agents]]
name = "demo"
extension = "{extension}"
token_hash = "{hash}"
"#,
        port = sandbox.local_addr().port(),
        country = options.country,
        outside = options.outside_prefix,
        extension = options.extension,
        hash = TokenHash::of(&token),
    );
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, config_text)?;
    let config = Config::load(&path)?;
    let audit = AuditLog::open(&config.audit.path)?;
    let pbx = Pbx::start(config.ami.clone(), client_config(&config.ami)?);
    let app = App::new(config, audit, pbx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(server::serve(
        listener,
        None,
        router(app.clone()),
        std::future::pending(),
    ));
    wait_ready(&app).await?;

    println!(
        "clickdial demo: no Asterisk needed, a sandbox PBX stands in (calls run {SPEED}x faster)."
    );
    println!("  gateway   {base}  (try {base}/openapi.json)");
    println!("  PBX (AMI) {}", sandbox.local_addr());
    println!(
        "  you are agent 'demo' on extension {}; home country {}{}",
        options.extension,
        options.country,
        match options.outside_prefix.as_str() {
            "" => String::new(),
            p => format!(", outside-line prefix {p}"),
        }
    );
    println!("  the same call from a shell:");
    println!(
        "    curl -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{{\"to\": \"+34 93 200 90 00\"}}' {base}/v1/calls"
    );
    let client = reqwest::Client::new();
    if let Some(text) = options.text {
        return dial(&client, &base, &token, &text).await;
    }
    println!("\nType or paste a number (any format, text around it, or a tel: link); Ctrl-D ends.");
    let stdin = std::io::stdin();
    loop {
        print!("number> ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            println!();
            return Ok(());
        }
        let text = line.trim();
        if !text.is_empty()
            && let Err(e) = dial(&client, &base, &token, text).await
        {
            println!("  error: {e:#}");
        }
    }
}

/// Waits until the gateway is logged in to the sandbox.
async fn wait_ready(app: &Arc<App>) -> anyhow::Result<()> {
    for _ in 0..100 {
        if app.ready().is_ok() {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.ready()
        .context("the gateway did not log in to the sandbox PBX")?;
    Ok(())
}

/// Starts one call through the gateway and prints its progress until it ends.
async fn dial(client: &reqwest::Client, base: &str, token: &str, text: &str) -> anyhow::Result<()> {
    let response = client
        .post(format!("{base}/v1/calls"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "to": text }))
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    if status.as_u16() != 202 {
        println!(
            "  {status}: {}",
            body["error"]["message"].as_str().unwrap_or("?")
        );
        return Ok(());
    }
    println!(
        "  202 Accepted: dialing {} from extension {} (call {})",
        body["to"].as_str().unwrap_or("?"),
        body["from"].as_str().unwrap_or("?"),
        body["id"].as_str().unwrap_or("?")
    );
    let id = body["id"].as_str().context("the answer has no call id")?;
    let mut stream = client
        .get(format!("{base}/v1/calls/{id}/events"))
        .bearer_auth(token)
        .send()
        .await?
        .bytes_stream();
    let mut pending = String::new();
    while let Some(chunk) = stream.next().await {
        pending.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            if let Some(data) = line.trim_end().strip_prefix("data: ") {
                let step: serde_json::Value = serde_json::from_str(data)?;
                let mut words = vec![step["state"].as_str().unwrap_or("?").replace('-', " ")];
                for key in ["reason", "party", "detail"] {
                    if let Some(value) = step[key].as_str() {
                        words.push(format!("{key}: {value}"));
                    }
                }
                println!("    {}", words.join(", "));
            }
        }
    }
    Ok(())
}

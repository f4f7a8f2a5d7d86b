//! Shows what clickdial would dial for a text or link, as one JSON object.
//!
//! ```text
//! cargo run -q -p clickdial-dial --example preview -- --country ES --outside-prefix 0 "+44 (0)20 7946 0018"
//! {"dial":"000442079460018","candidates":[…],"error":null}
//! ```
//!
//! Exits 1 (still printing the JSON, with `dial` null and `error` set) when there is nothing
//! to dial.

use std::process::ExitCode;

use clap::Parser;
use clickdial_dial::{
    Candidates, Country, DEFAULT_INTERNAL_MAX_LEN, DialPrefix, DialRules, Policy, read_input,
};
use serde::Serialize;

/// Command-line arguments: the dial rules and the input.
#[derive(Parser)]
#[command(about = "Show the dial string clickdial would hand Asterisk for a text or link")]
struct Args {
    /// Home country, two letters.
    #[arg(long, default_value = "ES")]
    country: String,
    /// Outside-line prefix (e.g. 0 or 9); none by default.
    #[arg(long, default_value = "")]
    outside_prefix: String,
    /// International call prefix; the home country's own by default.
    #[arg(long)]
    intl_prefix: Option<String>,
    /// Codes of up to this many digits are internal extensions.
    #[arg(long, default_value_t = DEFAULT_INTERNAL_MAX_LEN)]
    internal_max_len: usize,
    /// The text or tel:/callto:/sip: link to read.
    input: String,
}

/// The JSON printed.
#[derive(Serialize)]
struct Preview {
    /// The dial string, or null.
    dial: Option<String>,
    /// The numbers found, best first.
    candidates: Candidates,
    /// Why there is nothing to dial, or null.
    error: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut preview = Preview {
        dial: None,
        candidates: Candidates::default(),
        error: None,
    };
    match run(&args, &mut preview) {
        Ok(dial) => preview.dial = Some(dial),
        Err(error) => preview.error = Some(error),
    }
    println!(
        "{}",
        serde_json::to_string(&preview).expect("the preview serializes")
    );
    if preview.error.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Builds the rules, reads the input and renders its best number; fills in the candidates.
fn run(args: &Args, preview: &mut Preview) -> Result<String, String> {
    let rules = DialRules {
        outside_prefix: DialPrefix::new(&args.outside_prefix).map_err(|e| e.to_string())?,
        international_prefix: args
            .intl_prefix
            .as_deref()
            .map(DialPrefix::new)
            .transpose()
            .map_err(|e| e.to_string())?,
        internal_max_len: args.internal_max_len,
        ..DialRules::new(Country::new(&args.country).map_err(|e| e.to_string())?)
    };
    preview.candidates = read_input(&args.input, rules.country).map_err(|e| e.to_string())?;
    let number = &preview.candidates.best().map_err(|e| e.to_string())?.number;
    let dial = rules.render(number).map_err(|e| e.to_string())?;
    Policy::default()
        .check(number, &dial, rules.country)
        .map_err(|e| e.to_string())?;
    Ok(dial.destination.to_string())
}

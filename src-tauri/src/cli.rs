//! The command line: `clickdial [--demo] [LINK]`, `clickdial dial [--dry-run] …`,
//! `clickdial --version`.

use clap::{Args, Parser, Subcommand};
use clickdial_agent::{Connection, Settings};
use clickdial_dial::{Policy, prepare, read_input};

use crate::instance::Request;

/// clickdial: dial any phone number on your screen through your company's Asterisk.
///
/// Started with no arguments it lives in the tray. A later start hands its request to the
/// running clickdial and exits.
#[derive(Debug, Parser)]
#[command(name = "clickdial", version, about)]
pub struct Cli {
    /// Start in demo mode: a built-in PBX, nothing configured or stored, tray only.
    #[arg(long)]
    pub demo: bool,
    /// Start in the tray without opening any window, even on the first run (autostart, and
    /// a `clickdial-window` that finds no tray).
    #[arg(long, hide = true)]
    pub background: bool,

    /// A `tel:`, `callto:` or `sip:` link to dial (what the desktop passes to a link handler).
    #[arg(value_name = "LINK")]
    pub link: Option<String>,
    /// What to do instead of starting.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dial a number, a link or text holding a number (for scripts and desktop shortcuts).
    Dial(DialArgs),
}

/// `clickdial dial`.
#[derive(Debug, Args)]
pub struct DialArgs {
    /// Print what would be dialed, with the saved dial rules, and dial nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Dial what is on the clipboard.
    #[arg(long, conflicts_with_all = ["selection", "text"])]
    pub clipboard: bool,
    /// Dial the selected text, read as the settings say (X11's PRIMARY selection, or a copy
    /// that puts the clipboard back); `--dry-run` reads PRIMARY.
    #[arg(long, conflicts_with = "text")]
    pub selection: bool,
    /// The number, link or text.
    #[arg(value_name = "TEXT", required_unless_present_any = ["clipboard", "selection"])]
    pub text: Option<String>,
}

impl Cli {
    /// What this start asks of the running app, if anything.
    pub fn request(&self) -> Option<Request> {
        match (&self.command, &self.link) {
            (Some(Command::Dial(dial)), _) if dial.clipboard => Some(Request::DialClipboard),
            (Some(Command::Dial(dial)), _) if dial.selection => Some(Request::DialSelection),
            (Some(Command::Dial(dial)), _) => dial.text.clone().map(|text| Request::Dial { text }),
            (None, Some(link)) => Some(Request::Dial { text: link.clone() }),
            (None, None) => None,
        }
    }
}

/// What `clickdial dial --dry-run` prints for `text` under the saved `settings` (`None`:
/// not set up): the number and the exact dial string, or why there is none.
pub fn dry_run(text: &str, settings: Option<&Settings>) -> Result<String, String> {
    let default = Settings::default();
    let settings = settings.unwrap_or(&default);
    let home = settings.dial.country;
    let found = read_input(text, home).map_err(|e| e.to_string())?;
    let via = match &settings.connection {
        Connection::Ami { host, .. } if host.is_empty() => "Asterisk (not set up yet)".to_owned(),
        Connection::Ami { host, port, .. } => format!("Asterisk at {host}:{port}"),
        Connection::Gateway { url } => format!("the gateway at {url}"),
    };
    match found.best() {
        Ok(best) => {
            let shown = best.number.for_people(home);
            let dial =
                prepare(text, &settings.dial, &Policy::default()).map_err(|e| e.to_string())?;
            let mut out = format!(
                "would dial {} ({shown}) from extension {} through {via}",
                dial.destination.as_str(),
                if settings.extension.is_empty() {
                    "(not set)"
                } else {
                    &settings.extension
                },
            );
            if let Connection::Gateway { .. } = settings.connection {
                out.push_str(" (the gateway applies its own dial rules to it)");
            }
            Ok(out)
        }
        Err(e) => {
            let mut out = e.to_string();
            for candidate in found.as_slice() {
                let shown = candidate.number.for_people(home);
                let dialed = settings
                    .dial
                    .render(&candidate.number)
                    .map(|d| d.destination.as_str().to_owned())
                    .unwrap_or_else(|e| format!("not dialable: {e}"));
                out.push_str(&format!("\n  {shown} -> {dialed}"));
            }
            Err(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("clickdial").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn starts_links_and_dial_commands_become_requests() {
        assert_eq!(parse(&[]).request(), None);
        assert!(parse(&["--demo"]).demo);
        assert_eq!(
            parse(&["tel:+34932009000"]).request(),
            Some(Request::Dial {
                text: "tel:+34932009000".into()
            })
        );
        assert_eq!(
            parse(&["dial", "Tel. 93 200 90 00"]).request(),
            Some(Request::Dial {
                text: "Tel. 93 200 90 00".into()
            })
        );
        assert_eq!(
            parse(&["dial", "--clipboard"]).request(),
            Some(Request::DialClipboard)
        );
        assert_eq!(
            parse(&["dial", "--selection"]).request(),
            Some(Request::DialSelection)
        );
        assert!(Cli::try_parse_from(["clickdial", "dial"]).is_err());
        assert!(Cli::try_parse_from(["clickdial", "dial", "--clipboard", "x"]).is_err());
    }

    #[test]
    fn dry_runs_say_what_would_be_dialed() {
        let mut settings = Settings::from_toml(
            "extension = \"10\"\n[dial]\ncountry = \"ES\"\noutside_prefix = \"0\"\n",
        )
        .unwrap();
        settings.connection = Connection::Gateway {
            url: "https://gw".into(),
        };
        let out = dry_run("Tel.: +34 93 200 90 00", Some(&settings)).unwrap();
        assert_eq!(
            out,
            "would dial 0932009000 (932 00 90 00) from extension 10 through the gateway at \
             https://gw (the gateway applies its own dial rules to it)"
        );
        let several = dry_run("93 200 90 00 or 600 12 34 56", Some(&settings)).unwrap_err();
        assert!(several.contains("932 00 90 00 -> 0932009000"), "{several}");
        assert!(several.contains("600 12 34 56 -> 0600123456"), "{several}");
        assert!(dry_run("no number", Some(&settings)).is_err());
    }
}

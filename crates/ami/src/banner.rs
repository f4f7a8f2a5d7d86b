//! The greeting line an AMI server sends first: `Asterisk Call Manager/11.0.0`.

use std::fmt;

/// The product name every Asterisk AMI banner starts with.
const PRODUCT: &str = "Asterisk Call Manager";

/// A parsed AMI banner: the protocol version the server speaks.
///
/// Asterisk 22 announces AMI version `11.0.0`; the AMI version is not Asterisk's own version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    version: String,
}

/// Why a first line is not an AMI banner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BannerError {
    /// The line does not start with `Asterisk Call Manager/`: the peer is not an AMI server
    /// (a web server, an SSH daemon, a TLS port spoken to in plain text, ...).
    #[error("not an Asterisk Manager Interface: the server greeted with {0:?}")]
    NotAmi(String),
    /// The version after the slash is not dot-separated numbers.
    #[error("AMI banner has a malformed version {0:?}")]
    BadVersion(String),
}

impl Banner {
    /// Parses the banner line, with or without its line ending (`\r\n` or a bare `\n`).
    pub fn parse(line: &str) -> Result<Banner, BannerError> {
        let line = line.trim_end_matches(['\r', '\n']);
        let version = line
            .strip_prefix(PRODUCT)
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(|| BannerError::NotAmi(printable_prefix(line)))?;
        let well_formed = !version.is_empty()
            && version
                .split('.')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        if !well_formed {
            return Err(BannerError::BadVersion(printable_prefix(version)));
        }
        Ok(Banner {
            version: version.to_owned(),
        })
    }

    /// The AMI protocol version, e.g. `"11.0.0"`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The major AMI version (11 for Asterisk 22), for feature checks.
    pub fn major(&self) -> u32 {
        self.version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }
}

impl fmt::Display for Banner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PRODUCT}/{}", self.version)
    }
}

/// The first 64 characters of what the peer sent, for error messages.
fn printable_prefix(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_asterisk_22_banner_with_either_line_ending() {
        for line in [
            "Asterisk Call Manager/11.0.0\r\n",
            "Asterisk Call Manager/11.0.0\n",
            "Asterisk Call Manager/11.0.0",
        ] {
            let banner = Banner::parse(line).unwrap();
            assert_eq!(banner.version(), "11.0.0");
            assert_eq!(banner.major(), 11);
            assert_eq!(banner.to_string(), "Asterisk Call Manager/11.0.0");
        }
        assert_eq!(
            Banner::parse("Asterisk Call Manager/1.1").unwrap().major(),
            1
        );
    }

    #[test]
    fn refuses_what_is_not_ami() {
        assert_eq!(
            Banner::parse("SSH-2.0-OpenSSH_9.2\r\n"),
            Err(BannerError::NotAmi("SSH-2.0-OpenSSH_9.2".into()))
        );
        assert!(matches!(
            Banner::parse("HTTP/1.1 400 Bad Request"),
            Err(BannerError::NotAmi(_))
        ));
        assert!(matches!(Banner::parse(""), Err(BannerError::NotAmi(_))));
        assert!(matches!(
            Banner::parse("Asterisk Call Manager 11"),
            Err(BannerError::NotAmi(_))
        ));
    }

    #[test]
    fn refuses_malformed_versions() {
        for bad in ["", "11..0", "11.0.0 ", "v11", "11.0.0\u{0}"] {
            let line = format!("Asterisk Call Manager/{bad}");
            assert!(
                matches!(Banner::parse(&line), Err(BannerError::BadVersion(_))),
                "{line:?}"
            );
        }
    }
}

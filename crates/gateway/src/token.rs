//! Agent bearer tokens and the hashes the configuration stores instead of them.
//!
//! Tokens are random strings with at least 128 bits of entropy, so a single SHA-256 is the
//! right hash: a slow password hash only helps secrets a person can guess, and would cost
//! every request tens of milliseconds. The configuration holds `sha256:<64 hex digits>`;
//! the token itself is never stored, logged or audited.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The shortest token `hash-token` accepts: 24 characters of a random alphabet are
/// ~128 bits, beyond guessing even at millions of tries per second.
pub const MIN_TOKEN_LEN: usize = 24;

/// The prefix that names the hash algorithm in a stored hash.
const PREFIX: &str = "sha256:";

/// The characters a generated token is made of (URL- and header-safe).
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// How long a generated token is: 43 characters of a 62-letter alphabet are ~256 bits.
const GENERATED_LEN: usize = 43;

/// Why a token cannot be used or a stored hash cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is too short to be unguessable.
    #[error(
        "the token has {0} characters; use at least {MIN_TOKEN_LEN} random ones \
         (`clickdial-gateway hash-token --generate` makes one)"
    )]
    TooShort(usize),
    /// The token holds characters that cannot travel in an `Authorization` header or a URL.
    #[error("the token may only hold ASCII letters, digits, '-', '_', '.' and '~'")]
    BadCharacters,
    /// A stored hash does not have the form `sha256:<64 hex digits>`.
    #[error(
        "a token hash must look like `sha256:` followed by 64 hex digits, as `hash-token` prints it"
    )]
    BadHash,
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

/// The SHA-256 hash of an agent's token, as stored in the configuration.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a presented token, checking that it is long and plain enough to be a token.
    pub fn of_new_token(token: &str) -> Result<TokenHash, TokenError> {
        if !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        {
            return Err(TokenError::BadCharacters);
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err(TokenError::TooShort(token.len()));
        }
        Ok(TokenHash::of(token))
    }

    /// Hashes whatever a client presented, for lookup; no checks, any input maps to a hash.
    pub fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }
}

impl FromStr for TokenHash {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<TokenHash, TokenError> {
        let digits = s.trim().strip_prefix(PREFIX).ok_or(TokenError::BadHash)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| TokenError::BadHash)?;
        Ok(TokenHash(bytes))
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", hex::encode(self.0))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({self})")
    }
}

/// Makes a new random token of ~256 bits from the operating system's generator.
pub fn generate_token() -> Result<String, TokenError> {
    let mut token = String::with_capacity(GENERATED_LEN);
    let mut buf = [0u8; 64];
    while token.len() < GENERATED_LEN {
        getrandom::fill(&mut buf).map_err(|e| TokenError::Random(e.to_string()))?;
        // Rejection sampling keeps every letter equally likely: 248 = 4 × 62.
        token.extend(
            buf.iter()
                .filter(|&&b| b < 248)
                .map(|&b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
                .take(GENERATED_LEN - token.len()),
        );
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trips_through_its_stored_form() {
        let hash = TokenHash::of_new_token("correct-horse-battery-staple-42").unwrap();
        let stored = hash.to_string();
        assert!(
            stored.starts_with("sha256:") && stored.len() == 7 + 64,
            "{stored}"
        );
        assert_eq!(stored.parse::<TokenHash>().unwrap(), hash);
        assert_eq!(TokenHash::of("correct-horse-battery-staple-42"), hash);
        assert_ne!(TokenHash::of("correct-horse-battery-staple-43"), hash);
    }

    #[test]
    fn known_sha256_vector() {
        assert_eq!(
            TokenHash::of("abc").to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn weak_or_odd_tokens_are_refused() {
        assert_eq!(
            TokenHash::of_new_token("secret"),
            Err(TokenError::TooShort(6))
        );
        assert_eq!(
            TokenHash::of_new_token("a token with spaces in it, long enough"),
            Err(TokenError::BadCharacters)
        );
        assert_eq!(
            TokenHash::of_new_token("line\r\nbreak-aaaaaaaaaaaaaaaaaaaaaaaaa"),
            Err(TokenError::BadCharacters)
        );
    }

    #[test]
    fn malformed_stored_hashes_are_refused() {
        for bad in [
            "",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "md5:900150983cd24fb0d6963f7d28e17f72",
            "sha256:ba7816bf",
            "sha256:zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015adff",
            "sha256:ñ7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
        ] {
            assert_eq!(
                bad.parse::<TokenHash>(),
                Err(TokenError::BadHash),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn generated_tokens_are_long_distinct_and_accepted() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.len(), GENERATED_LEN);
        assert_ne!(a, b);
        TokenHash::of_new_token(&a).unwrap();
    }
}

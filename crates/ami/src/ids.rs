//! Unique ActionIDs: a random per-client prefix and a counter, so that IDs stay unique
//! among all the clients whose events (e.g. `OriginateResponse`) one Asterisk broadcasts.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Hands out ActionIDs.
#[derive(Debug)]
pub(crate) struct ActionIds {
    prefix: String,
    next: AtomicU64,
}

impl ActionIds {
    /// A generator with a fresh random prefix.
    pub(crate) fn new() -> ActionIds {
        ActionIds {
            prefix: format!("cd{:016x}", random_u64()),
            next: AtomicU64::new(1),
        }
    }

    /// The next unused ID.
    pub(crate) fn next(&self) -> String {
        format!(
            "{}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// A random number from the standard library's randomly keyed hasher, mixed with the time.
pub(crate) fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_within_and_across_clients() {
        let a = ActionIds::new();
        let b = ActionIds::new();
        let first = a.next();
        assert_ne!(first, a.next());
        assert_ne!(first, b.next());
        assert!(first.ends_with("-1"), "{first}");
    }
}

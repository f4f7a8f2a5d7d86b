//! The per-agent call rate limit (a GCRA token bucket from `governor`): an agent may start
//! `calls_per_minute` calls per minute, in a burst of up to that many.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Limits how fast each agent may start calls. Keys are configured agent names, so memory
/// is bounded by the configuration.
pub struct CallRateLimit {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl CallRateLimit {
    /// A limit of `per_minute` calls per agent per minute.
    pub fn new(per_minute: NonZeroU32) -> CallRateLimit {
        CallRateLimit {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one call from the agent's allowance, or says how long until one is free.
    pub fn check(&self, agent: &str) -> Result<(), Duration> {
        self.limiter
            .check_key(&agent.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_agent_has_its_own_allowance() {
        let limit = CallRateLimit::new(NonZeroU32::new(3).unwrap());
        for _ in 0..3 {
            limit.check("ana").unwrap();
        }
        let wait = limit.check("ana").unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        limit.check("bob").unwrap();
    }
}
